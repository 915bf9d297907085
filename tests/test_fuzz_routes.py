"""Hypothesis-made requests to the Redmine-compatible API and the main HTML pages and forms:
query strings, JSON bodies and form fields full of what breaks parsers (numbers of 2^31
and 2^63 and more, negative and non-ASCII digits, wrong JSON types, deep nesting, NUL and other
control characters, lone surrogates, odd Unicode, impossible dates). Whatever is sent, the
answer is never a server error.

The seed is fixed (derandomize) and the examples bounded. The database is wiped per test,
not per example: examples share one small world and may meet what earlier ones wrote.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services as accounts
from core import parsing
from core.extensions import db

FUZZ = settings(
    deadline=None,
    derandomize=True,
    max_examples=100,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- what is sent ------------------------------------------------------------------------------

BIG_NUMBERS = [
    2**31 - 1,
    2**31,
    2**63 - 1,
    2**63,
    2**64,
    10**30,
    -(2**63) - 1,
    0,
    -1,
]
numbers = st.one_of(st.sampled_from(BIG_NUMBERS), st.integers())
number_text = st.one_of(
    numbers.map(str),
    st.sampled_from(["１２", "²", "١٢", "1e3", " 7 ", "0x10", "1_000", "+5", "-0", "9" * 40]),
)
odd_text = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=30),
    st.sampled_from(
        ["\x00", "住基\x00帳票", "\x1b[31m", "\u202e逆", "𠮷野家", "\ufeff", "=1+1", "\r\n", "ｱｲｳ"]
    ),
)
date_text = st.one_of(
    st.dates().map(str),
    st.sampled_from(["0001-01-01", "9999-12-31", "2026-02-30", "1899-12-31", "2200-01-01"]),
    st.sampled_from([">=9999-12-31", "<=0001-01-01", "><2026-01-01|9999-12-31", "><|"]),
)
query_value = st.one_of(number_text, odd_text, date_text, st.sampled_from(["*", "!*", "me", "o"]))
lone_surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3)
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    st.floats(allow_nan=False),
    odd_text,
    number_text,
    date_text,
    lone_surrogates,
)
json_value = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


raw_bodies = st.one_of(
    st.integers(1, 5000).map(nested),
    st.integers(1, 100).map(lambda n: '{"issue":' * n + "{}" + "}" * n),
    lone_surrogates.map(lambda s: json.dumps({"issue": {"subject": s}})),
    st.binary(max_size=20),
    st.text(max_size=20),
)


def _odd_for(name: str):
    """What most often breaks a parameter of this name, and sometimes anything."""
    if name.endswith(("id", "offset", "limit", "page", "fy", "from", "to", "version")):
        likely = number_text
    elif name.endswith(("_on", "date", "day", "_from", "_to", "due")):
        likely = date_text
    else:
        likely = odd_text
    return st.one_of(likely, query_value)


def _some(names: list[str], value_for, most: int = 3):
    """A few of `names` (one odd value stops a request early: many would hide the rest)."""
    keys = st.lists(st.sampled_from(names), max_size=most, unique=True)
    return keys.flatmap(lambda chosen: st.fixed_dictionaries({k: value_for(k) for k in chosen}))


def query(names: list[str]):
    """A query string of a few parameters, each with an odd value for its kind."""
    return _some(names, _odd_for)


def form(valid: dict[str, list[str]]):
    """Form fields: every field plausible, except a few odd ones for their kind."""
    plausible = st.fixed_dictionaries({k: st.sampled_from(v) for k, v in valid.items()})
    odd = _some(list(valid), _odd_for)
    return st.builds(lambda base, changed: {**base, **changed}, plausible, odd)


def _attribute(name: str):
    """A JSON value for a Redmine issue attribute: often one of its kind, sometimes any."""
    if name.endswith(("_id", "ratio", "version")):
        return st.one_of(numbers, number_text, json_value)
    if name.endswith("date"):
        return st.one_of(date_text, json_value)
    return json_value


def assert_no_server_error(response, what) -> None:
    assert response.status_code < 500, (response.status_code, what)


# --- the world they are sent to ----------------------------------------------------------------


@pytest.fixture
def world(make_user, make_project, make_meeting, make_item, make_ticket, login, client):
    manager = make_user(login="kanri", name="管理 花子")
    member = make_user(login="tanaka", name="田中 太郎")
    project = make_project(members={manager: "manager", member: "member"})
    unit = project.units[0]
    meeting = make_meeting(unit=unit, actor=manager, attendees=[manager, member])
    later = make_meeting(unit=unit, actor=manager)
    goal = make_item(meeting, "goal", "住基の改修範囲を決める", actor=manager)
    homework = make_item(meeting, "homework", who=member, what="見積を出す", actor=manager)
    ticket = make_ticket(unit=unit, actor=manager, description="帳票の件")
    token = accounts.api_token(manager)
    db.session.commit()
    login(manager)
    return {
        "manager": manager,
        "member": member,
        "project": project,
        "unit": unit,
        "meeting": meeting,
        "later": later,
        "goal": goal,
        "homework": homework,
        "ticket": ticket,
        "key": {"X-Redmine-API-Key": token},
    }


def _fill(path: str, world) -> str:
    return path.format(
        unit=world["unit"].identifier,
        project=world["project"].identifier,
        meeting=world["meeting"].id,
        goal=world["goal"].id,
        homework=world["homework"].id,
        ticket=world["ticket"].id,
    )


def _send(client, method, path, **kwargs):
    response = client.open(path, method=method, **kwargs)
    db.session.rollback()  # the next example reads what this one committed
    return response


# --- the Redmine-compatible API ------------------------------------------------------------------

REDMINE_LISTS = [
    "/issues.json",
    "/projects/{unit}/issues.json",
    "/projects/{project}/issues.json",
    "/projects.json",
    "/search.json",
    "/projects/{unit}/search.json",
]
REDMINE_PARAMS = [
    "offset",
    "limit",
    "page",
    "project_id",
    "subproject_id",
    "tracker_id",
    "status_id",
    "assigned_to_id",
    "author_id",
    "parent_id",
    "created_on",
    "updated_on",
    "due_date",
    "due_date_from",
    "created_on_to",
    "overdue",
    "sort",
    "q",
    "include",
    "scope",
    "all_words",
    "titles_only",
    "open_issues",
    "issues",
    "projects",
]
ISSUE_ATTRIBUTES = [
    "project_id",
    "tracker_id",
    "status_id",
    "priority_id",
    "subject",
    "description",
    "assigned_to_id",
    "parent_issue_id",
    "start_date",
    "due_date",
    "done_ratio",
    "notes",
    "private_notes",
    "lock_version",
    "uploads",
]


@FUZZ
@given(path=st.sampled_from(REDMINE_LISTS), params=query(REDMINE_PARAMS))
def test_redmine_lists_never_fail(client, world, path, params):
    response = _send(client, "GET", _fill(path, world), query_string=params, headers=world["key"])
    assert_no_server_error(response, params)


@FUZZ
@given(
    target=st.sampled_from(
        [
            ("POST", "/issues.json"),
            ("POST", "/projects/{unit}/issues.json"),
            ("PUT", "/issues/{ticket}.json"),
        ]
    ),
    attrs=st.builds(
        lambda base, odd: {**base, **odd},
        st.just({"subject": "住基の帳票が出ない"}),
        _some(ISSUE_ATTRIBUTES, _attribute),
    ),
)
def test_redmine_issue_writes_never_fail(client, world, target, attrs):
    method, path = target
    body = json.dumps({"issue": attrs})  # ASCII escapes: lone surrogates arrive as \ud800
    response = _send(
        client,
        method,
        _fill(path, world),
        data=body,
        content_type="application/json",
        headers=world["key"],
    )
    assert_no_server_error(response, body)


@FUZZ
@given(
    target=st.sampled_from([("POST", "/issues.json"), ("PUT", "/issues/{ticket}.json")]),
    body=raw_bodies,
)
def test_redmine_unparseable_bodies_are_refused(client, world, target, body):
    method, path = target
    response = _send(
        client,
        method,
        _fill(path, world),
        data=body,
        content_type="application/json",
        headers=world["key"],
    )
    assert_no_server_error(response, body)


@FUZZ
@given(
    method=st.sampled_from(["GET", "PUT", "DELETE"]),
    path=st.sampled_from(
        [
            "/issues/{n}.json",
            "/attachments/{n}.json",
            "/projects/{n}.json",
            "/projects/{n}/issues.json",
        ]
    ),
    n=numbers,
)
def test_redmine_ids_in_urls_never_fail(client, world, method, path, n):
    if method == "DELETE" and 0 < n < 2**31:
        n += 2**20  # a small id may be the world’s ticket: keep it for the other examples
    response = _send(client, method, path.format(n=n), json={}, headers=world["key"])
    assert_no_server_error(response, (method, n))
    if n > parsing.MAX_ID and (method == "GET" or path.startswith("/issues/")):
        assert response.status_code == 404  # a row that cannot exist, whatever the method


@FUZZ
@given(filename=odd_text, data=st.binary(max_size=64))
def test_redmine_uploads_never_fail(client, world, filename, data):
    response = _send(
        client,
        "POST",
        "/uploads.json",
        query_string={"filename": filename},
        data=data,
        content_type="application/octet-stream",
        headers=world["key"],
    )
    assert_no_server_error(response, filename)


# --- HTML pages and forms ------------------------------------------------------------------------

HTML_LISTS = [
    "/issues",
    "/projects/{unit}/issues",
    "/issues.csv",
    "/projects/{project}/issues.csv",
    "/projects/{unit}/homework.csv",
    "/meetings",
    "/projects/{unit}/meetings",
    "/meetings/{meeting}/revisions/diff",
    "/decisions",
    "/dashboard",
    "/dashboard/homework",
    "/search",
    "/my/page",
    "/projects/{unit}/issues/new",
]
HTML_PARAMS = [
    *REDMINE_PARAMS,
    "per_page",
    "search",
    "fy",
    "project",
    "id",
    "state",
    "assignee",
    "guest",
    "side",
    "org",
    "kind",
    "date_from",
    "date_to",
    "from",
    "to",
    "status",
    "parent_id",
]


@FUZZ
@given(path=st.sampled_from(HTML_LISTS), params=query(HTML_PARAMS))
def test_html_lists_never_fail(client, world, path, params):
    response = _send(client, "GET", _fill(path, world), query_string=params)
    assert_no_server_error(response, (path, params))


def ticket_fields(world) -> dict[str, list[str]]:
    t = world["ticket"]
    return {
        "project_id": [str(t.project_id)],
        "tracker_id": [str(t.tracker_id)],
        "subject": ["住基の帳票が出ない"],
        "description": ["再現手順: …"],
        "status_id": [str(t.status_id)],
        "priority_id": [str(t.priority_id)],
        "assignee_id": ["0", str(world["member"].id)],
        "start_date": ["2026-12-01"],
        "due_date": ["2026-12-05"],
        "parent_id": ["", str(t.id)],
        "done_ratio": ["0", "50"],
        "decision": [""],
        "notes": ["確認しました"],
        "private_notes": ["y"],
        "version": [str(t.version)],
    }


@FUZZ
@given(data=st.data(), path=st.sampled_from(["/projects/{unit}/issues/new", "/issues/{ticket}"]))
def test_ticket_forms_never_fail(client, world, data, path):
    fields = data.draw(form(ticket_fields(world)))
    response = _send(client, "POST", _fill(path, world), data=fields)
    assert_no_server_error(response, (path, fields))


MEETING_FIELDS = {
    "title": ["住民記録 定例会"],
    "day": ["2026-12-10"],
    "start_time": ["10:00"],
    "end_time": ["11:00"],
    "place": ["本庁舎 5階"],
    "facilitator_id": ["", "1"],
    "attendee_ids": ["1", "2"],
    "guests": ["山本 翔, 上州システムサービス"],
    "version": ["1"],
    "status": ["draft", "in_session", "awaiting_confirmation"],
    "att-user_id": ["2"],
    "att-guest_name": ["山本"],
    "att-guest_organisation": ["上州システムサービス"],
}


@FUZZ
@given(
    fields=form(MEETING_FIELDS),
    path=st.sampled_from(
        [
            "/projects/{unit}/meetings/new",
            "/meetings/{meeting}/edit",
            "/meetings/{meeting}/attendees",
            "/meetings/{meeting}/copy",
        ]
    ),
)
def test_meeting_forms_never_fail(client, world, fields, path):
    response = _send(client, "POST", _fill(path, world), data=fields)
    assert_no_server_error(response, (path, fields))


ITEM_FIELDS = {
    "item-kind": ["goal", "result", "break", "preview"],
    "item-text": ["目標"],
    "item-parent_item_id": ["", "1"],
    "item-ticket_id": ["", "1"],
    "hw-who_id": ["", "2"],
    "hw-guest_name": ["山本"],
    "hw-what": ["見積を出す"],
    "hw-due": ["12/5", "来週金曜", "2026-12-05"],
    "hw-parent_item_id": ["", "1"],
    "edit-text": ["目標（改）"],
    "edit-who_id": ["2"],
    "edit-what": ["見積"],
    "edit-due": ["12/12"],
    "edit-ticket_id": ["1"],
    "edit-parent_item_id": ["1"],
    "edit-version": ["1"],
    "move-kind": ["goal", "result", "homework", "break", "preview"],
    "move-parent_item_id": ["1"],
    "move-who_id": ["2"],
    "move-what": ["決定"],
    "move-due": ["12/5"],
    "move-version": ["1"],
    "later-meeting_id": ["2"],
    "direction": ["up", "down"],
    "version": ["1"],
}


@FUZZ
@given(
    fields=form(ITEM_FIELDS),
    path=st.sampled_from(
        [
            "/meetings/{meeting}/items",
            "/meetings/{meeting}/homework",
            "/meetings/{meeting}/items/{goal}",
            "/meetings/{meeting}/items/{homework}",
            "/meetings/{meeting}/items/{goal}/move",
            "/meetings/{meeting}/items/{goal}/later",
            "/meetings/{meeting}/items/{goal}/reorder",
        ]
    ),
)
def test_item_forms_never_fail(client, world, fields, path):
    response = _send(client, "POST", _fill(path, world), data=fields)
    assert_no_server_error(response, (path, fields))


@FUZZ
@given(
    body=st.one_of(json_value.map(json.dumps), raw_bodies),
    path=st.sampled_from(
        [
            "/meetings/{meeting}/items",
            "/meetings/{meeting}/edit",
            "/projects/{unit}/issues/new",
            "/issues/{ticket}",
            "/issues/preview",
        ]
    ),
)
def test_json_sent_to_html_forms_never_fails(client, world, body, path):
    response = _send(client, "POST", _fill(path, world), data=body, content_type="application/json")
    assert_no_server_error(response, (path, body))
