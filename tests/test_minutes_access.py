"""Access to the minutes pages and API as one matrix: every route against every role."""

import pytest

from accounts import services as accounts
from core.extensions import db

ROLES = ["manager", "facilitator", "member", "viewer", "nonmember", "anonymous"]
READ = {"nonmember": 404, "anonymous": 302, "*": 200}
EDIT = {"manager": 302, "facilitator": 302, "nonmember": 404, "anonymous": 302, "*": 403}
API_READ = {"nonmember": 404, "anonymous": 401, "*": 200}
API_EDIT = {"manager": 201, "facilitator": 201, "nonmember": 404, "anonymous": 401, "*": 403}

ROUTES = [
    ("GET", "/meetings/{m}", None, READ),
    ("GET", "/meetings/{m}/present", None, READ),
    ("GET", "/meetings/{m}/live", None, READ),
    ("GET", "/meetings/{m}/items/{i}", None, READ),
    ("GET", "/projects/{unit}/meetings", None, READ),
    ("GET", "/projects/{unit}/meetings/new", None, {**EDIT, "manager": 200, "facilitator": 200}),
    ("GET", "/meetings/{m}/edit", None, {**EDIT, "manager": 200, "facilitator": 200}),
    ("POST", "/meetings/{m}/items", {"item-kind": "goal", "item-text": "x"}, EDIT),
    ("POST", "/meetings/{m}/items/{i}", {"edit-text": "x"}, EDIT),
    ("POST", "/meetings/{m}/items/{i}/reorder", {"direction": "up"}, EDIT),
    ("POST", "/meetings/{m}/items/{i}/delete", {}, EDIT),
    ("POST", "/meetings/{m}/status", {"status": "in_session"}, EDIT),
    ("GET", "/api/v1/meetings/{m}", None, API_READ),
    ("GET", "/api/v1/items/{i}", None, API_READ),
    ("POST", "/api/v1/meetings/{m}/items", {"kind": "goal", "text": "x"}, API_EDIT),
]


@pytest.fixture
def world(make_user, make_project, make_meeting, make_item):
    users = {role: make_user(login=role) for role in ROLES if role != "anonymous"}
    project = make_project(
        members={users[r]: r for r in ("manager", "facilitator", "member", "viewer")}
    )
    meeting = make_meeting(unit=project.units[0])
    item = make_item(meeting, "break", "項目")
    return users, project.units[0], meeting, item


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,url,data,expected", ROUTES)
def test_minutes_routes(client, login, world, role, method, url, data, expected):
    users, unit, meeting, item = world
    target = url.format(m=meeting.id, i=item.id, unit=unit.identifier)
    headers = {}
    if role != "anonymous":
        if target.startswith("/api/"):
            headers["X-API-Key"] = accounts.api_token(users[role])
            db.session.commit()
        else:
            login(users[role])
    if target.startswith("/api/") and method == "POST":
        response = client.open(target, method=method, json=data, headers=headers)
    else:
        response = client.open(target, method=method, data=data, headers=headers)
    assert response.status_code == expected.get(role, expected["*"]), target
