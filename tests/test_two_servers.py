"""Two app servers on one PostgreSQL database behind Debian's nginx, as deploy/ sets them up:
files uploaded on one are served by the other, a write on one is seen by the other's caches,
and stopping one loses no request."""

from __future__ import annotations

import re
import threading
import time

import pytest
import requests
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from core.extensions import db
from minutes import revisions
from minutes.models import Confirmation, Meeting
from projects import services as projects
from tests.test_confirm_load import logged_in

DRAFT = "二台目で読む議事録ドラフト\n".encode() * 500
PASSWORD = "pw-for-load"


@pytest.fixture
def world(rm_world, token_of):
    db.session.commit()
    return {**rm_world, "key": lambda role: {"X-Redmine-API-Key": token_of(rm_world[role])}}


def _served_by_each(call, want: set[str], tries: int = 8) -> dict[str, requests.Response]:
    """Repeat `call` through nginx until each server in `want` has answered once."""
    answers: dict[str, requests.Response] = {}
    for _ in range(tries):
        response = call()
        answers.setdefault(response.headers["X-Served-By"], response)
        if want <= answers.keys():
            break
    return answers


def test_a_file_uploaded_on_one_server_is_served_by_the_other(cluster, world):
    base, key = cluster["url"], world["key"]("member")
    upload = requests.post(
        f"{base}/uploads.json?filename=議事録.txt",
        data=DRAFT,
        headers={**key, "Content-Type": "application/octet-stream"},
        timeout=10,
    )
    assert upload.status_code == 201, upload.text
    uploaded_by = upload.headers["X-Served-By"]
    created = requests.post(
        f"{base}/issues.json",
        json={
            "issue": {
                "project_id": world["unit"].id,
                "subject": "議事録を二台目で確かめる",
                "uploads": [{"token": upload.json()["upload"]["token"], "filename": "議事録.txt"}],
            }
        },
        headers=key,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    issue = requests.get(
        f"{base}/issues/{created.json()['issue']['id']}.json?include=attachments",
        headers=key,
        timeout=10,
    ).json()["issue"]
    content_url = issue["attachments"][0]["content_url"]
    path = content_url.split("://", 1)[1].split("/", 1)[1]
    answers = _served_by_each(
        lambda: requests.get(f"{base}/{path}", headers=key, timeout=10), {"app1", "app2"}
    )
    other = answers[({"app1", "app2"} - {uploaded_by}).pop()]
    assert other.status_code == 200 and other.content == DRAFT


def test_a_write_on_one_server_changes_the_counts_on_the_other(cluster, world):
    first, second = (server.url for server in cluster["servers"])
    key = world["key"]("member")
    query = f"/issues.json?project_id={world['unit'].id}&limit=1"
    before = [requests.get(f"{s}{query}", headers=key, timeout=10) for s in (first, second)]
    assert [r.json()["total_count"] for r in before] == [0, 0]  # both have it cached now
    made = requests.post(
        f"{first}/issues.json",
        json={"issue": {"project_id": world["unit"].id, "subject": "一台目で起票"}},
        headers=key,
        timeout=10,
    )
    assert made.status_code == 201 and made.headers["X-Served-By"] == "app1"
    after = requests.get(f"{second}{query}", headers=key, timeout=10)
    assert after.headers["X-Served-By"] == "app2"
    assert after.json()["total_count"] == 1


def _open_homework(base: str, key: dict) -> int:
    page = requests.get(f"{base}/dashboard", headers=key, timeout=10).text
    return int(re.search(r'data-state="open"[^>]*>\s*<span class="value">(\d+)<', page)[1])


def test_the_dashboard_on_each_server_follows_a_write_on_the_other(
    cluster, world, make_homework, status_named
):
    ticket_id = make_homework(unit=world["unit"]).ticket.id
    make_homework(unit=world["unit"])
    db.session.commit()
    first, second = (server.url for server in cluster["servers"])
    key = world["key"]("manager")
    assert [_open_homework(first, key), _open_homework(second, key)] == [2, 2]  # now cached
    closed = requests.put(
        f"{first}/issues/{ticket_id}.json",
        json={"issue": {"status_id": status_named("完了").id, "notes": "一台目で完了"}},
        headers=key,
        timeout=10,
    )
    assert closed.status_code == 204, closed.text
    assert _open_homework(second, key) == 1
    assert _open_homework(first, key) == 1


def test_twenty_sign_offs_spread_over_both_servers_are_each_recorded_once(
    cluster, make_user, make_unit, make_meeting, make_item
):
    facilitator = make_user(name="鈴木 一郎")
    unit = make_unit(members={facilitator: "facilitator"})
    quick = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    people = []
    for n in range(20):
        user = make_user(login=f"pair{n:02d}", name=f"出席者 {n:02d}")
        user.password_hash = quick
        projects.set_membership(unit.parent, user, "member")
        people.append(user)
    db.session.commit()
    meeting = make_meeting(unit=unit, facilitator=facilitator, attendees=people)
    goal = make_item(meeting, "goal", "二台で確認する")
    make_item(meeting, "result", "どちらの台で確認しても一度だけ記録される", parent=goal)
    revision = revisions.freeze(facilitator, meeting)
    db.session.commit()
    sessions = [logged_in(cluster["url"], user, PASSWORD) for user in people]
    form = {"revision": revision.number, "fingerprint": revision.fingerprint}
    url = f"{cluster['url']}/meetings/{meeting.id}/confirm"  # plain values for the threads
    revision_id, meeting_id = revision.id, meeting.id
    barrier, answers = threading.Barrier(len(sessions) * 2), []

    def send(session, csrf):
        barrier.wait(timeout=30)
        response = session.post(
            url,
            data={**form, "csrf_token": csrf},
            headers={"Accept": "application/json", "X-CSRFToken": csrf},
            allow_redirects=False,
            timeout=60,
        )
        answers.append((response.status_code, response.headers.get("X-Served-By")))

    # Each attendee taps twice at once: the two taps may land on different servers.
    threads = [threading.Thread(target=send, args=pair) for pair in sessions for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert [code for code, _ in answers] == [200] * 40
    assert {server for _, server in answers} == {"app1", "app2"}
    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(Confirmation).where(Confirmation.revision_id == revision_id)
    ).all()
    assert sorted(c.user_id for c in rows) == sorted(u.id for u in people)
    assert db.session.get(Meeting, meeting_id).status == "confirmed"


def test_stopping_one_server_loses_no_request(cluster, world):
    base, key = cluster["url"], world["key"]("viewer")
    statuses, served, stop = [], [], threading.Event()

    def ask():
        while not stop.is_set():
            response = requests.get(f"{base}/issues.json?limit=5", headers=key, timeout=30)
            statuses.append(response.status_code)
            served.append(response.headers.get("X-Served-By"))

    clients = [threading.Thread(target=ask) for _ in range(3)]
    for client in clients:
        client.start()
    try:
        while len(statuses) < 30:
            time.sleep(0.05)
        cluster["servers"][0].stop()
        stopped_at = len(statuses)
        while len(statuses) < stopped_at + 60:
            time.sleep(0.05)
    finally:
        stop.set()
        for client in clients:
            client.join()
    assert set(statuses) == {200}, [s for s in statuses if s != 200]
    assert {"app1", "app2"} <= set(served[:stopped_at])
    assert set(served[stopped_at + 10 :]) == {"app2"}
    with db.engine.connect() as connection:  # the database is untouched by the stop
        assert connection.execute(sa.text("SELECT 1")).scalar() == 1
