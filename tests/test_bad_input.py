"""Bad input answers a clear 4xx, never 500: ids no row can have (404), numbers too large for
the database in query strings, forms and JSON, JSON of the wrong type (422 naming the field),
unparseable JSON (400: lone surrogates, deep nesting), dates outside 1900–2199, and CSV
exports that fail before their first byte rather than mid-file."""

from datetime import date

import pytest

from accounts import services as accounts
from core import parsing
from core.extensions import db
from minutes.quickentry import parse_date

HUGE = 2**63  # too large for SQLite's INTEGER (and PostgreSQL's BIGINT)
HUGER = 10**30
BEYOND_INT = 2**31  # too large for PostgreSQL's INTEGER, the type of every id column


@pytest.fixture
def world(make_user, make_unit, make_meeting, make_item, make_ticket):
    facilitator = make_user(login="suzuki", name="鈴木 一郎")
    unit = make_unit(members={facilitator: "facilitator"})
    meeting = make_meeting(unit=unit, actor=facilitator)
    goal = make_item(meeting, "goal", "住基の改修範囲を決める", actor=facilitator)
    ticket = make_ticket(unit=unit, actor=facilitator)
    token = accounts.api_token(facilitator)
    db.session.commit()
    return {
        "user": facilitator,
        "unit": unit,
        "meeting": meeting,
        "goal": goal,
        "ticket": ticket,
        "key": {"X-API-Key": token},
    }


def _deep(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


# --- ids in URLs -------------------------------------------------------------------------------


@pytest.mark.parametrize("number", [HUGE, HUGER, BEYOND_INT, 0])
@pytest.mark.parametrize(
    "method, url",
    [
        ("GET", "/meetings/{n}"),
        ("GET", "/meetings/{n}.pdf"),
        ("GET", "/meetings/{meeting}/revisions/{n}.pdf"),
        ("GET", "/meetings/{n}/homework.csv"),
        ("POST", "/meetings/{n}/items"),
        ("POST", "/meetings/{meeting}/items/{n}/delete"),
        ("GET", "/issues/{n}"),
        ("GET", "/issues/{n}.json"),
        ("PUT", "/issues/{n}.json"),
        ("GET", "/attachments/{n}.json"),
        ("GET", "/api/v1/meetings/{n}"),
        ("PATCH", "/api/v1/items/{n}"),
        ("POST", "/decisions/{n}/unsupersede"),
        ("GET", "/admin/users/{n}/edit"),
    ],
)
def test_an_id_no_row_can_have_is_not_found(client, login, world, method, url, number):
    login(world["user"])
    response = client.open(
        url.format(n=number, meeting=world["meeting"].id),
        method=method,
        headers=world["key"],
        json={} if method in ("PUT", "PATCH") else None,
    )
    assert response.status_code == 404


def test_the_id_converter_matches_the_largest_id_and_nothing_beyond(client, login, world):
    login(world["user"])
    assert client.get(f"/meetings/{parsing.MAX_ID}").status_code == 404
    assert client.get(f"/meetings/{world['meeting'].id}").status_code == 200


# --- numbers in query strings ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/issues?page={n}",
        "/issues?offset={n}&limit={n}",
        "/issues?tracker_id={n}",
        "/issues?assigned_to_id={n}|me",
        "/issues.csv?offset={n}",
        "/meetings?page={n}",
        "/dashboard?fy={n}",
        "/dashboard?project={n}",
        "/decisions?page={n}",
        "/api/v1/meetings?page={n}",
        "/api/v1/meetings/{meeting}/changes?since={n}",
        "/meetings/{meeting}/revisions/diff?from={n}&to={n}",
    ],
)
@pytest.mark.parametrize("number", [HUGE, HUGER])
def test_a_huge_number_in_a_query_string_is_not_a_server_error(client, login, world, url, number):
    login(world["user"])
    response = client.get(url.format(n=number, meeting=world["meeting"].id))
    assert response.status_code < 500


@pytest.mark.parametrize("number", [HUGE, HUGER])
def test_redmine_lists_read_a_huge_offset_as_past_the_end(api, world, number):
    for url, key in (
        (f"/issues.json?offset={number}", "issues"),
        (f"/issues.json?page={number}", "issues"),
        (f"/projects.json?offset={number}", "projects"),
        (f"/search.json?q=住基&offset={number}", "results"),
    ):
        response = api.get(url, world["user"])
        assert response.status_code == 200, url
        assert response.json[key] == []
        assert response.json["total_count"] >= 1


@pytest.mark.parametrize("number", [HUGE, HUGER])
def test_redmine_lists_read_a_huge_filter_id_as_matching_nothing(api, world, number):
    for name in ("tracker_id", "parent_id", "author_id", "status_id"):
        response = api.get(f"/issues.json?{name}={number}", world["user"])
        assert response.status_code == 200, name
        assert response.json["total_count"] == 0


def test_a_project_id_no_project_can_have_is_not_found(api, client, login, world):
    login(world["user"])
    assert api.get(f"/issues.json?project_id={HUGE}", world["user"]).status_code == 404
    assert api.get(f"/projects/{HUGE}.json", world["user"]).status_code == 404
    assert client.get(f"/projects/{HUGE}/issues.csv").status_code == 404
    assert client.get("/projects/²/meetings").status_code == 404


def test_an_issue_list_csv_runs_its_query_before_the_first_byte(client, login, world):
    login(world["user"])
    response = client.get(f"/issues.csv?tracker_id={HUGE}")
    assert response.status_code == 200
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 1  # the header: no ticket has that tracker


def test_an_issue_list_csv_with_a_bad_filter_is_422_naming_it_before_any_byte(client, login, world):
    login(world["user"])
    response = client.get("/issues.csv?created_on=>=9999-12-31")
    assert response.status_code == 422
    assert "created_on" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


# --- JSON bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        (
            {"unit": "u", "title": "会議", "starts_at": "2026-12-01T10:00", "facilitator_id": "x"},
            "facilitator_id",
        ),
        ({"unit": "u", "title": ["会議"], "starts_at": "2026-12-01T10:00"}, "title"),
        ({"unit": "u", "title": "会議", "starts_at": 20261201}, "starts_at"),
        ({"unit": {"id": 1}, "title": "会議", "starts_at": "2026-12-01T10:00"}, "unit"),
        ({"unit": "u", "title": "会議", "starts_at": "2026-12-01T10:00", "place": 5}, "place"),
        (
            {"unit": "u", "title": "会議", "starts_at": "2026-12-01T10:00", "facilitator_id": HUGE},
            "facilitator_id",
        ),
        ({"unit": "u", "title": "会議"}, "starts_at"),
        ({"unit": "u", "title": "会議", "starts_at": "0001-01-01T00:00"}, "starts_at"),
        ({"unit": "u", "title": "会議", "starts_at": "9999-12-31T23:59:59+14:00"}, "starts_at"),
    ],
)
def test_api_create_meeting_with_a_wrong_value_is_422_naming_the_field(client, world, body, field):
    body = {**body, "unit": world["unit"].identifier} if body["unit"] == "u" else body
    response = client.post("/api/v1/meetings", json=body, headers=world["key"])
    assert response.status_code == 422
    assert response.json["field"] == field
    assert response.json["errors"]


def test_api_a_facilitator_who_is_no_user_is_422(client, world):
    body = {
        "unit": world["unit"].identifier,
        "title": "会議",
        "starts_at": "2026-12-01T10:00",
        "facilitator_id": 987654,
    }
    response = client.post("/api/v1/meetings", json=body, headers=world["key"])
    assert response.status_code == 422
    assert response.json["field"] == "facilitator_id"


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/v1/meetings/{meeting}/items", {"kind": "goal", "text": {"a": 1}}, "text"),
        ("/api/v1/meetings/{meeting}/items", {"kind": 3, "text": "目標"}, "kind"),
        (
            "/api/v1/meetings/{meeting}/items",
            {"kind": "result", "text": "決定", "parent_item_id": "1"},
            "parent_item_id",
        ),
        (
            "/api/v1/meetings/{meeting}/items",
            {"kind": "goal", "text": "目標", "ticket_id": HUGE},
            "ticket_id",
        ),
        ("/api/v1/items/{goal}/reorder", {"position": "1"}, "position"),
        ("/api/v1/items/{goal}/reorder", {"position": HUGE}, "position"),
        ("/api/v1/items/{goal}/reorder", {}, "position"),
        ("/api/v1/items/{goal}/move", {"meeting_id": "x"}, "meeting_id"),
        ("/api/v1/items/{goal}/move", {"kind": "result", "version": True}, "version"),
    ],
)
def test_api_items_with_a_wrong_value_are_422_naming_the_field(client, world, path, body, field):
    url = path.format(meeting=world["meeting"].id, goal=world["goal"].id)
    response = client.post(url, json=body, headers=world["key"])
    assert response.status_code == 422
    assert response.json["field"] == field


def test_api_patch_with_a_wrong_type_is_422(client, world):
    response = client.patch(
        f"/api/v1/items/{world['goal'].id}", json={"text": 42}, headers=world["key"]
    )
    assert response.status_code == 422
    assert response.json["field"] == "text"


def test_api_delete_with_a_body_that_is_not_an_object_still_works(client, world):
    response = client.delete(f"/api/v1/items/{world['goal'].id}", json=[1, 2], headers=world["key"])
    assert response.status_code == 200


@pytest.mark.parametrize(
    "raw",
    [
        '{"unit": "u", "title": "\\ud800", "starts_at": "2026-12-01T10:00"}',
        '{"unit": "u", "title": "会議", "starts_at": "2026-12-01T10:00", "\\udfff": 1}',
        _deep(5000),
        _deep(parsing.MAX_JSON_DEPTH + 1),
        "[" * 100000,
        '{"title": "会議"',
        "\xff\xfe",
    ],
)
def test_api_unparseable_json_is_400(client, world, raw):
    response = client.post(
        "/api/v1/meetings", data=raw, content_type="application/json", headers=world["key"]
    )
    assert response.status_code == 400
    assert response.json["errors"]


def test_json_nested_up_to_the_limit_is_read(app):
    assert app.json.loads(_deep(parsing.MAX_JSON_DEPTH)) is not None
    with pytest.raises(ValueError):
        app.json.loads(_deep(parsing.MAX_JSON_DEPTH + 1))


@pytest.mark.parametrize(
    "raw",
    ['{"issue": {"subject": "\\udc00"}}', _deep(5000), '{"issue": ' + "[" * 50000],
)
def test_redmine_unparseable_json_is_400(api, world, raw):
    response = api.post("/issues.json", world["user"], data=raw, content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize(
    "attrs",
    [
        {"subject": ["件名"]},
        {"subject": "件名", "description": {"a": 1}},
        {"subject": "件名", "tracker_id": HUGE},
        {"subject": "件名", "priority_id": HUGER},
        {"subject": "件名", "assigned_to_id": HUGE},
        {"subject": "件名", "parent_issue_id": str(HUGER)},
        {"subject": "件名", "due_date": "9999-12-31"},
        {"subject": "件名", "start_date": "0001-01-01"},
    ],
)
def test_redmine_a_wrong_value_is_422_with_errors(api, world, attrs):
    body = {"issue": {"project_id": world["unit"].id, **attrs}}
    response = api.post("/issues.json", world["user"], json=body)
    assert response.status_code == 422
    assert response.json["errors"]


def test_redmine_notes_of_the_wrong_type_are_422(api, world):
    response = api.put(
        f"/issues/{world['ticket'].id}.json", world["user"], json={"issue": {"notes": [1]}}
    )
    assert response.status_code == 422
    assert response.json["errors"]


# --- forms ---------------------------------------------------------------------------------------


def test_a_huge_ticket_number_in_the_item_form_is_refused(client, login, world):
    login(world["user"])
    meeting = world["meeting"]
    response = client.post(
        f"/meetings/{meeting.id}/items",
        data={"item-kind": "goal", "item-text": "目標", "item-ticket_id": str(HUGE)},
    )
    assert response.status_code == 302
    assert [i.text for i in meeting.items if i.kind == "goal"] == ["住基の改修範囲を決める"]


@pytest.mark.parametrize("version", ["abc", str(HUGER), "-1"])
def test_an_unreadable_version_in_the_item_form_is_not_a_server_error(
    client, login, world, version
):
    login(world["user"])
    meeting, goal = world["meeting"], world["goal"]
    response = client.post(
        f"/meetings/{meeting.id}/items/{goal.id}/reorder", data={"version": version}
    )
    assert response.status_code == 302


def test_a_huge_later_meeting_id_in_the_move_form_is_not_found(client, login, world):
    login(world["user"])
    meeting, goal = world["meeting"], world["goal"]
    response = client.post(
        f"/meetings/{meeting.id}/items/{goal.id}/later", data={"later-meeting_id": str(HUGE)}
    )
    assert response.status_code == 404


def test_a_ticket_form_due_date_outside_the_range_is_a_form_error(client, login, world):
    login(world["user"])
    ticket = world["ticket"]
    response = client.post(
        f"/issues/{ticket.id}",
        data={
            "project_id": ticket.project_id,
            "tracker_id": ticket.tracker_id,
            "subject": ticket.subject,
            "status_id": ticket.status_id,
            "priority_id": ticket.priority_id,
            "assignee_id": 0,
            "done_ratio": 0,
            "due_date": "9999-12-31",
            "version": ticket.version,
        },
    )
    assert response.status_code == 422
    db.session.refresh(ticket)
    assert ticket.due_date is None


def test_a_meeting_form_date_outside_the_range_is_a_form_error(client, login, world):
    login(world["user"])
    meeting = world["meeting"]
    response = client.post(
        f"/meetings/{meeting.id}/edit",
        data={"title": meeting.title, "day": "0001-01-01", "start_time": "10:00"},
    )
    assert response.status_code in (200, 422)
    db.session.refresh(meeting)
    assert meeting.starts_at.year == 2026


# --- dates ---------------------------------------------------------------------------------------


def test_dates_are_kept_between_1900_and_2199():
    today = date(2026, 11, 25)
    assert parse_date("2199-12-31", today) == date(2199, 12, 31)
    assert parse_date("2200-01-01", today) is None
    assert parse_date("1899-12-31", today) is None
    assert parsing.date_or_none("1900-01-01") == date(1900, 1, 1)
    assert parsing.date_or_none("9999-12-31") is None


def test_a_ticket_list_date_filter_outside_the_range_is_refused(api, world):
    response = api.get("/issues.json?due_date=><2026-01-01|9999-12-31", world["user"])
    assert response.status_code == 422
    assert "due_date" in response.json["errors"][0]


# --- text that names nothing ---------------------------------------------------------------------


def test_a_project_key_no_identifier_can_be_is_not_found(api, client, login, world):
    """PostgreSQL refuses NUL in a parameter: such a key is never looked up."""
    login(world["user"])
    assert client.get("/projects/a%00b/meetings").status_code == 404
    assert client.get("/api/v1/meetings?unit=%00", headers=world["key"]).status_code == 404
    body = {"issue": {"project_id": "p\x00", "subject": "件名"}}
    assert api.post("/issues.json", world["user"], json=body).status_code == 422


def test_control_characters_in_a_search_separate_words(client, login, world):
    login(world["user"])
    assert client.get("/search?q=住基%00帳票").status_code == 200
    assert client.get("/issues?q=%00%1b").status_code == 200


def test_a_parent_number_in_another_script_leaves_the_new_ticket_form_empty(client, login, world):
    login(world["user"])
    response = client.get(f"/projects/{world['unit'].identifier}/issues/new?parent_id=²")
    assert response.status_code == 200


def test_redmine_upload_details_of_the_wrong_type_are_not_a_server_error(api, world):
    uploaded = api.post(
        "/uploads.json?filename=memo.txt",
        world["user"],
        data=b"memo",
        content_type="application/octet-stream",
    )
    token = uploaded.json["upload"]["token"]
    upload = {"token": token, "filename": ["a"], "content_type": {"a": 1}, "description": 5}
    body = {"issue": {"project_id": world["unit"].id, "subject": "添付", "uploads": [upload]}}
    response = api.post("/issues.json", world["user"], json=body)
    assert response.status_code == 201


def test_a_workflow_box_named_with_other_digits_is_ignored(client, login, make_user):
    login(make_user(is_admin=True))
    response = client.post("/admin/workflows?role=member", data={"t-²-1": "on", "t-1-١": "on"})
    assert response.status_code == 302


@pytest.mark.parametrize("body", ["[1, 2]", '"x"', "5", '{"item-text": [1, {"a": 2}]}', "null"])
def test_json_sent_to_an_html_form_is_415(client, login, world, body):
    """Flask-WTF would read it as the form's fields; only the JSON APIs take JSON."""
    login(world["user"])
    for path in (
        f"/meetings/{world['meeting'].id}/items",
        f"/meetings/{world['meeting'].id}/edit",
        f"/projects/{world['unit'].identifier}/issues/new",
    ):
        response = client.post(path, data=body, content_type="application/json")
        assert response.status_code == 415
