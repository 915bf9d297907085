"""Fifty attendees confirm the same revision in the same second, through a real gunicorn with
four worker processes on a loopback port: each is recorded exactly once, nobody gets an error.

Each attendee sends its confirmation twice at once (a double tap), so the database's
UNIQUE(revision_id, attendee_id) is exercised under contention too: the second answer is
"already confirmed", never a 500. Runs on SQLite and, with DATABASE_URL, on PostgreSQL.
"""

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from core.extensions import db
from minutes import revisions
from minutes.models import Confirmation, Meeting
from projects import services as projects
from tests.fixtures.ports import free_port

ATTENDEES = 50
PASSWORD = "pw-for-load"
ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"

pytestmark = pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn not installed")


@pytest.fixture
def gunicorn(app, tmp_path):
    """Base URL of `gunicorn -w 4 app:app` on the test database; stopped (bounded) after."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": secrets.token_hex(16),
        "SANMAI_INSTANCE_DIR": str(tmp_path / "instance"),
        "SANMAI_ENV": "development",
    }
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        # --preload: the app is built once and forked into the four workers (quicker start).
        [
            str(GUNICORN),
            "-w",
            "4",
            "--preload",
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "app:app",
        ],  # fmt: skip
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/login", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "gunicorn.log").read_text()[-3000:])
            time.sleep(0.1)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
        log.close()
        server_log = (tmp_path / "gunicorn.log").read_text(errors="replace")
        assert "Traceback" not in server_log, server_log[-3000:]


@pytest.fixture
def crowded_meeting(make_user, make_org, make_unit, make_meeting, make_item):
    """A frozen revision of a meeting with 50 attendees, all present and able to log in."""
    city = make_org("前橋市")
    facilitator = make_user(name="鈴木 一郎", organisation=city)
    unit = make_unit(members={facilitator: "facilitator"})
    # A one-round hash: fifty real scrypt logins would take the test ten seconds.
    quick = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
    people = []
    for n in range(ATTENDEES):
        user = make_user(login=f"load{n:02d}", name=f"出席者 {n:02d}", organisation=city)
        user.password_hash = quick
        projects.set_membership(unit.parent, user, "member")
        people.append(user)
    db.session.commit()
    meeting = make_meeting(unit=unit, facilitator=facilitator, attendees=people)
    goal = make_item(meeting, "goal", "窓口の受付時間を決める")
    make_item(meeting, "result", "平日8時30分から17時15分とする", parent=goal)
    revision = revisions.freeze(facilitator, meeting)
    db.session.commit()
    return meeting, revision, people


def logged_in(base: str, user, password: str = PASSWORD) -> tuple[requests.Session, str]:
    """A session logged in through the real login form; returns it and a CSRF token."""
    session = requests.Session()
    form = session.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    token = token or re.search(r'name="csrf_token" value="([^"]+)"', form)
    response = session.post(
        f"{base}/login",
        data={"login": user.login, "password": password, "csrf_token": token.group(1)},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text[:500]
    page = session.get(f"{base}/", timeout=10).text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    return session, csrf


def test_fifty_attendees_confirming_in_the_same_second_are_each_recorded_once(
    gunicorn, crowded_meeting, artifacts
):
    meeting, revision, people = crowded_meeting
    sessions = [logged_in(gunicorn, user) for user in people]
    url = f"{gunicorn}/meetings/{meeting.id}/confirm"
    form = {"revision": revision.number, "fingerprint": revision.fingerprint}
    # Two requests per attendee (a double tap), all released together.
    jobs = [(i, s) for i, s in enumerate(sessions) for _ in range(2)]
    barrier = threading.Barrier(len(jobs))
    results: list[tuple[int, int, dict, float]] = []
    lock = threading.Lock()
    finished: list[float] = []

    def send(index, session_and_csrf):
        session, csrf = session_and_csrf
        barrier.wait(timeout=30)
        started = time.monotonic()
        response = session.post(
            url,
            data={**form, "csrf_token": csrf},
            headers={"Accept": "application/json", "X-CSRFToken": csrf},
            allow_redirects=False,
            timeout=60,
        )
        body = (
            response.json()
            if response.headers.get("Content-Type", "").startswith("application/json")
            else {"text": response.text[:300]}
        )
        with lock:
            results.append((index, response.status_code, body, started))
            finished.append(time.monotonic())

    threads = [threading.Thread(target=send, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert len(results) == len(jobs)
    starts = [r[3] for r in results]
    # The requests were in flight together; how close together depends on the
    # machine's load, so no wall-clock bound is asserted.
    assert sorted(starts)[1] < min(finished)
    dialect = db.engine.dialect.name
    (artifacts / f"confirm-load-{dialect}.txt").write_text(
        f"{len(jobs)} confirmations ({ATTENDEES} attendees x 2) through gunicorn -w 4 on "
        f"{dialect}: all answered in {max(finished) - min(starts):.2f} s\n"
    )
    errors = [(i, code, body) for i, code, body, _ in results if code != 200 or not body.get("ok")]
    assert errors == []

    db.session.expire_all()
    rows = db.session.scalars(
        sa.select(Confirmation).where(Confirmation.revision_id == revision.id)
    ).all()
    assert len(rows) == ATTENDEES
    assert sorted(c.user_id for c in rows) == sorted(u.id for u in people)
    assert {c.fingerprint for c in rows} == {revision.fingerprint}
    assert {c.method for c in rows} == {"own_device"}
    assert db.session.get(Meeting, meeting.id).status == "confirmed"
    # The second tap of each attendee was told "already", not refused with an error.
    already = [b for _, _, b, _ in results if "回答済み" in b.get("message", "")]
    assert len(already) == ATTENDEES
