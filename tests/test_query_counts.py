"""No query per row: each page the benchmark measures issues the same number of SQL
statements whether it shows 10 rows or 100."""

from datetime import date, datetime, timedelta
from itertools import count

import pytest

from core.extensions import db
from projects import services as projects


@pytest.fixture
def viewer(make_user, login):
    return login(make_user())


def test_project_list(client, viewer, make_project, assert_constant_queries):
    def grow(k):
        for _ in range(k):
            make_project(members={viewer: "member"}, units=("住民記録", "税務"))

    assert_constant_queries(lambda: client.get("/projects"), grow)


def test_fiscal_year_page_with_units_and_members(
    client, viewer, make_project, make_user, assert_constant_queries
):
    project = make_project(members={viewer: "manager"}, units=())
    n = count(1)

    def grow(k):
        for _ in range(k):
            i = next(n)
            projects.create_unit(project, f"業務単位{i}", f"{project.identifier}-u{i}")
            projects.set_membership(project, make_user(), "member")
        db.session.commit()

    assert_constant_queries(lambda: client.get(f"/projects/{project.identifier}"), grow)


def test_unit_page_with_meetings_and_tickets(
    client, viewer, make_unit, make_meeting, make_ticket, assert_constant_queries
):
    unit = make_unit(members={viewer: "manager"})

    def grow(k):
        for _ in range(k):
            make_meeting(unit=unit)
            make_ticket(unit=unit, assignee=viewer)

    assert_constant_queries(lambda: client.get(f"/projects/{unit.identifier}"), grow)


def test_homework_dashboard_over_units_and_people(
    client, viewer, make_project, make_user, make_homework, assert_constant_queries
):
    project = make_project(members={viewer: "manager"}, units=())
    n = count(1)

    def grow(k):
        for _ in range(k):
            i = next(n)
            unit = projects.create_unit(project, f"業務単位{i}", f"{project.identifier}-u{i}")
            who = make_user()
            projects.set_membership(project, who, "member")
            db.session.commit()
            make_homework(unit, who=who, due_date=date(2026, 11, 1) + timedelta(days=i % 60))

    assert_constant_queries(lambda: client.get("/dashboard"), grow)
    assert_constant_queries(lambda: client.get("/dashboard"), lambda k: grow(k), warm=False)


def test_ticket_list(client, viewer, make_unit, make_ticket, assert_constant_queries):
    unit = make_unit(members={viewer: "member"})

    def grow(k):
        for _ in range(k):
            make_ticket(unit=unit, assignee=viewer, author_id=viewer.id)

    assert_constant_queries(lambda: client.get("/issues?status_id=*&limit=100"), grow)


def test_redmine_issue_list(client, viewer, make_unit, make_ticket, assert_constant_queries):
    unit = make_unit(members={viewer: "member"})

    def grow(k):
        for _ in range(k):
            make_ticket(unit=unit, assignee=viewer)

    assert_constant_queries(lambda: client.get("/issues.json?limit=100"), grow)


def test_meeting_page_with_items_of_every_sheet(
    client, viewer, make_user, make_unit, make_meeting, make_item, assert_constant_queries
):
    unit = make_unit(members={viewer: "facilitator"})
    earlier = make_meeting(unit=unit, starts_at=datetime(2026, 10, 1, 1, 0))
    meeting = make_meeting(unit=unit, attendees=[viewer])
    kinds = count()

    def grow(k):
        for _ in range(k):
            kind = ("goal", "result", "homework", "preview", "break")[next(kinds) % 5]
            person = make_user()  # each item by, or for, someone else, as in a real meeting
            projects.set_membership(unit.parent, person, "facilitator")
            db.session.commit()
            if kind == "homework":
                make_item(meeting, "homework", actor=person, who=person)
            else:
                make_item(meeting, kind, actor=person)
            make_item(earlier, "homework", who=person)  # open: listed for carry-over

    assert_constant_queries(lambda: client.get(f"/meetings/{meeting.id}"), grow)


@pytest.mark.parametrize("term", ["納付書", "住基"])  # trigram index; 2 characters: bigrams
def test_ticket_keyword_search(
    client, viewer, make_unit, make_ticket, make_user, assert_constant_queries, term
):
    unit = make_unit(members={viewer: "member"})

    def grow(k):
        for i in range(k):
            who = make_user()
            projects.set_membership(unit.parent, who, "member")
            make_ticket(unit=unit, subject=f"{term}の件 {i}", assignee_id=who.id)

    assert_constant_queries(lambda: client.get(f"/issues?q={term}&limit=100"), grow)


def test_one_search_over_all_kinds(
    client, viewer, make_unit, make_meeting, make_item, make_ticket, assert_constant_queries
):
    unit = make_unit(members={viewer: "member"})

    def grow(k):
        for i in range(k):
            meeting = make_meeting(unit=unit, title=f"納付書 定例会 {i}")
            make_item(meeting, "goal", text=f"納付書の様式 {i}")
            make_item(meeting, "result", text=f"納付書は新様式で決定 {i}")
            make_ticket(unit=unit, subject=f"納付書の印字 {i}")

    assert_constant_queries(lambda: client.get("/search?q=納付書"), grow)


def test_decision_register(
    client, viewer, make_user, make_unit, make_meeting, make_item, assert_constant_queries
):
    unit = make_unit(members={viewer: "facilitator"})
    meetings = count()

    def grow(k):
        for _ in range(k):
            n = next(meetings)
            meeting = make_meeting(unit=unit, starts_at=datetime(2026, 4, 1, 1) + timedelta(n))
            goal = make_item(meeting, "goal")
            make_item(meeting, "result", parent=goal)
            preview = make_item(meeting, "preview")
            make_item(meeting, "result")
            make_item(meeting, "homework", who=make_user())
            del preview

    assert_constant_queries(lambda: client.get("/decisions"), grow, sizes=(10, 60))


def test_live_update_request(
    client, viewer, make_user, make_unit, make_meeting, make_item, assert_constant_queries
):
    unit = make_unit(members={viewer: "member"})
    meeting = make_meeting(unit=unit, attendees=[viewer])

    def grow(k):
        for _ in range(k):
            make_item(meeting, "goal")
            make_item(meeting, "homework", who=make_user())

    live = f"/meetings/{meeting.id}/live"
    assert_constant_queries(lambda: client.get(live), grow, warm=False)
    etag = client.get(live).headers["ETag"].strip('"')

    def unchanged():
        response = client.get(live, headers={"If-None-Match": f'"{etag}"'})
        assert response.status_code == 304
        return type("Answered", (), {"status_code": 200})  # counted like a page

    assert_constant_queries(unchanged, lambda k: None)


def test_minutes_pdf(
    client, viewer, make_user, make_unit, make_meeting, make_item, assert_constant_queries
):
    unit = make_unit(members={viewer: "member"})
    meeting = make_meeting(unit=unit, attendees=[viewer])
    kinds = count()

    def grow(k):
        for _ in range(k):
            kind = ("goal", "result", "homework", "preview", "break")[next(kinds) % 5]
            if kind == "homework":
                make_item(meeting, "homework", who=make_user())
            else:
                make_item(meeting, kind)

    assert_constant_queries(
        lambda: client.get(f"/meetings/{meeting.id}.pdf"), grow, sizes=(10, 40), warm=False
    )
