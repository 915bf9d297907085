"""JSON API /api/v1/: meetings and items with X-API-Key, the pages' access rules, 409 on a
stale version, CSRF for session callers, and the OpenAPI file matching the routes."""

import re
from datetime import date, datetime

import pytest

from accounts import services as accounts
from core.extensions import db
from minutes import items, meetings
from minutes.api import openapi_paths


@pytest.fixture
def facilitator(make_user):
    return make_user(login="suzuki", name="鈴木 一郎")


@pytest.fixture
def viewer(make_user):
    return make_user(login="kobayashi")


@pytest.fixture
def unit(make_unit, facilitator, viewer):
    return make_unit(members={facilitator: "facilitator", viewer: "viewer"})


@pytest.fixture
def meeting(make_meeting, unit, facilitator):
    return make_meeting(unit=unit, actor=facilitator)


def key(user):
    token = accounts.api_token(user)
    db.session.commit()
    return {"X-API-Key": token}


def test_every_api_route_is_in_the_openapi_file_and_back(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method.lower()))
    documented = {
        (path, method)
        for path, ops in openapi_paths().items()
        for method in ops
        if method in ("get", "post", "patch", "put", "delete")
    }
    assert routes == documented


def test_openapi_is_served(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert spec["paths"] == openapi_paths()  # the file the fuzz tests read (test_fuzz_api)


def test_without_a_key_the_api_answers_401(client, meeting):
    assert client.get(f"/api/v1/meetings/{meeting.id}").status_code == 401


def test_list_and_read_with_a_key(client, meeting, make_item, viewer, make_meeting):
    make_item(meeting, "goal", "目標A")
    foreign = make_meeting()
    listed = client.get("/api/v1/meetings", headers=key(viewer)).json["meetings"]
    assert [m["id"] for m in listed] == [meeting.id]
    got = client.get(f"/api/v1/meetings/{meeting.id}", headers=key(viewer)).json["meeting"]
    assert got["items"][0]["text"] == "目標A"
    assert client.get(f"/api/v1/meetings/{foreign.id}", headers=key(viewer)).status_code == 404


def test_create_meeting_and_items(client, unit, facilitator):
    headers = key(facilitator)
    response = client.post(
        "/api/v1/meetings",
        json={"unit": unit.identifier, "title": "API会議", "starts_at": "2026-12-01T10:00"},
        headers=headers,
    )
    assert response.status_code == 201
    meeting = response.json["meeting"]
    assert meeting["starts_at"] == "2026-12-01T10:00:00+09:00"
    url = f"/api/v1/meetings/{meeting['id']}/items"
    goal = client.post(url, json={"kind": "goal", "text": "目標"}, headers=headers).json["item"]
    result = client.post(
        url, json={"kind": "result", "text": "成果", "parent_item_id": goal["id"]}, headers=headers
    )
    assert result.status_code == 201 and result.json["item"]["parent_item_id"] == goal["id"]
    hw = client.post(
        url,
        json={"kind": "homework", "who": "suzuki", "what": "確認", "due_date": "2026-12-05"},
        headers=headers,
    ).json["item"]
    assert (hw["who"], hw["what"], hw["due_date"]) == ("鈴木 一郎", "確認", "2026-12-05")
    line = client.post(
        url, json={"kind": "homework", "line": "@suzuki 仕様を確認 12/5"}, headers=headers
    ).json["item"]
    assert line["what"] == "仕様を確認" and line["ticket"]["id"]


def test_a_viewer_may_read_but_not_write(client, meeting, viewer):
    response = client.post(
        f"/api/v1/meetings/{meeting.id}/items",
        json={"kind": "goal", "text": "x"},
        headers=key(viewer),
    )
    assert response.status_code == 403


def test_update_with_a_stale_version_answers_409_with_the_current_item(
    client, meeting, make_item, facilitator
):
    item = make_item(meeting, "break", "元の文")
    headers = key(facilitator)
    ok = client.patch(f"/api/v1/items/{item.id}", json={"text": "A", "version": 1}, headers=headers)
    stale = client.patch(
        f"/api/v1/items/{item.id}", json={"text": "B", "version": 1}, headers=headers
    )
    assert ok.status_code == 200
    assert stale.status_code == 409
    assert stale.json["item"]["text"] == "A" and stale.json["item"]["version"] == 2


def test_move_and_reorder(client, meeting, make_item, facilitator):
    headers = key(facilitator)
    a = make_item(meeting, "goal", "一")
    b = make_item(meeting, "goal", "二")
    preview = make_item(meeting, "preview", "さきどり")
    moved = client.post(
        f"/api/v1/items/{preview.id}/move",
        json={"kind": "result", "parent_item_id": a.id},
        headers=headers,
    )
    assert moved.json["item"]["kind"] == "result"
    client.post(f"/api/v1/items/{b.id}/reorder", json={"position": 0}, headers=headers)
    assert [g.text for g, _ in items.sheets(meeting)["goals"]] == ["二", "一"]


def test_move_preview_to_homework_in_one_line(client, meeting, make_item, facilitator):
    preview = make_item(meeting, "preview", "文字コード")
    response = client.post(
        f"/api/v1/items/{preview.id}/move",
        json={"kind": "homework", "line": "@suzuki 文字コードを調べる 12/5"},
        headers=key(facilitator),
    )
    assert response.json["item"]["what"] == "文字コードを調べる"


def test_move_preview_to_a_goal_of_a_later_meeting(
    client, make_meeting, make_item, unit, facilitator
):
    first = make_meeting(unit=unit, starts_at=datetime(2026, 11, 1, 1))
    later = make_meeting(unit=unit, starts_at=datetime(2026, 11, 8, 1))
    preview = make_item(first, "preview", "次回検討")
    response = client.post(
        f"/api/v1/items/{preview.id}/move", json={"meeting_id": later.id}, headers=key(facilitator)
    )
    assert response.json["item"]["meeting_id"] == later.id
    assert response.json["item"]["origin_item_id"] == preview.id


def test_edit_homework_through_the_api_changes_the_ticket(client, meeting, make_item, facilitator):
    hw = make_item(meeting, "homework", what="旧", due_date=date(2026, 12, 5))
    client.patch(
        f"/api/v1/items/{hw.id}",
        json={"what": "新", "due_date": "2026-12-10"},
        headers=key(facilitator),
    )
    db.session.refresh(hw.ticket)
    assert (hw.ticket.subject, hw.ticket.due_date) == ("新", date(2026, 12, 10))


def test_edit_a_guests_homework_in_one_line(client, meeting, make_item, facilitator):
    hw = make_item(meeting, "homework", who="山本（上州）", what="見積", due_date=date(2026, 12, 5))
    response = client.patch(
        f"/api/v1/items/{hw.id}",
        json={"line": "@山本（上州） 見積を再提出 2026-12-20", "version": 1},
        headers=key(facilitator),
    )
    assert response.status_code == 200
    assert (response.json["item"]["who"], response.json["item"]["what"]) == (
        "山本（上州）",
        "見積を再提出",
    )


def test_delete_and_locked_minutes(client, meeting, make_item, facilitator):
    item = make_item(meeting, "break", "消す")
    headers = key(facilitator)
    assert client.delete(f"/api/v1/items/{item.id}", headers=headers).json["item"]["deleted"]
    other = make_item(meeting, "break", "残す")
    meetings.set_status(None, meeting, "confirmed")
    db.session.commit()
    locked = client.patch(f"/api/v1/items/{other.id}", json={"text": "x"}, headers=headers)
    assert locked.status_code == 409 and locked.json["locked"] is True


def test_changes_since_with_etag(client, meeting, make_item, viewer):
    headers = key(viewer)
    first = client.get(f"/api/v1/meetings/{meeting.id}/changes", headers=headers)
    seq, etag = first.json["seq"], first.headers["ETag"]
    unchanged = client.get(
        f"/api/v1/meetings/{meeting.id}/changes?since={seq}",
        headers={**headers, "If-None-Match": etag},
    )
    assert unchanged.status_code == 304
    make_item(meeting, "goal", "目標")
    changed = client.get(
        f"/api/v1/meetings/{meeting.id}/changes?since={seq}",
        headers={**headers, "If-None-Match": etag},
    )
    assert [e["action"] for e in changed.json["events"]] == ["add"]


def test_session_callers_need_the_csrf_header(client, login, meeting, facilitator, csrf_enabled):
    login(facilitator)
    url = f"/api/v1/meetings/{meeting.id}/items"
    assert client.post(url, json={"kind": "goal", "text": "x"}).status_code == 400
    with client.session_transaction():
        pass
    page = client.get(f"/meetings/{meeting.id}/present").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)[1]
    response = client.post(url, json={"kind": "goal", "text": "x"}, headers={"X-CSRFToken": token})
    assert response.status_code == 201


def test_api_key_callers_need_no_csrf_token(client, meeting, facilitator, csrf_enabled):
    response = client.post(
        f"/api/v1/meetings/{meeting.id}/items",
        json={"kind": "goal", "text": "x"},
        headers=key(facilitator),
    )
    assert response.status_code == 201
