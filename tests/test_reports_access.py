"""Access to the report pages as one matrix: every route against every role and a non-member."""

from datetime import datetime

import pytest

ROLES = ["manager", "facilitator", "member", "viewer", "nonmember", "anonymous"]
SCOPED = {"nonmember": 404, "anonymous": 302, "*": 200}

# (method, url template, {role: expected status}); {unit} is the unit's id, {result} a result.
ROUTES = [
    ("GET", "/dashboard", {"anonymous": 302, "*": 200}),
    ("GET", "/dashboard?project={unit}", SCOPED),
    ("GET", "/dashboard/homework?state=overdue&project={unit}", SCOPED),
    ("GET", "/my/page", {"anonymous": 302, "*": 200}),
    ("GET", "/projects/{unit}/last-year", SCOPED),
    ("GET", "/decisions?project={unit}", SCOPED),
    ("GET", "/search?q=住基&project={unit}", SCOPED),
    (
        "GET",
        "/decisions/{result}/supersede",
        {"manager": 200, "facilitator": 200, "nonmember": 404, "anonymous": 302, "*": 403},
    ),
    (
        "POST",
        "/decisions/{result}/unsupersede",
        {"manager": 302, "facilitator": 302, "nonmember": 404, "anonymous": 302, "*": 403},
    ),
]


@pytest.fixture
def world(make_user, make_unit, make_meeting, make_item):
    users = {role: make_user(login=role) for role in ROLES if role != "anonymous"}
    unit = make_unit(members={users[r]: r for r in ("manager", "facilitator", "member", "viewer")})
    meeting = make_meeting(unit=unit, starts_at=datetime(2026, 6, 1, 1, 0))
    result = make_item(meeting, "result", "住基ネットの切替日を決定")
    return users, unit, result


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,url,expected", ROUTES)
def test_report_routes(client, login, world, role, method, url, expected):
    users, unit, result = world
    if role != "anonymous":
        login(users[role])
    target = url.format(unit=unit.id, result=result.id)

    response = client.open(target, method=method, data={})

    assert response.status_code == expected.get(role, expected["*"]), target


def test_a_non_members_register_does_not_show_a_foreign_decision(client, login, world):
    users, _unit, _result = world
    login(users["nonmember"])

    html = client.get("/decisions").get_data(as_text=True)

    assert "住基ネットの切替日を決定" not in html


def test_a_forged_supersede_form_is_refused(client, login, world, csrf_enabled):
    users, _unit, result = world
    login(users["facilitator"])

    response = client.post(f"/decisions/{result.id}/supersede", data={"new_id": result.id})

    assert response.status_code == 400


def test_pages_speak_english_on_request(client, login, make_user, make_unit):
    user = make_user(language="en")
    make_unit(members={user: "manager"})
    login(user)

    for url, heading in [
        ("/dashboard", "Homework dashboard"),
        ("/my/page", "My page"),
        ("/decisions", "Decision register"),
        ("/search", "Search"),
    ]:
        assert heading in client.get(url).get_data(as_text=True), url
