"""Private tickets (Redmine's is_private): seen only by admins, their author, their assignee
and the project's facilitators and managers (permissions.visible_ticket); to anyone else a
private ticket is 404 and is left out of every list, count, search, feed and export."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

import permissions
from accounts import services as accounts
from attachments import files as attachments
from core import errors
from core.extensions import db
from core.timeutil import local_today
from exports import ical as icals
from minutes.models import Item
from reports import queries as report_queries
from tests.fixtures.tickets import edit_data
from tickets import services
from tickets.models import JournalDetail, Relation, Ticket

SECRET = "税額計算の誤り（個人情報あり）"
SEES = ("author", "assignee", "facilitator", "manager", "admin")
DOES_NOT_SEE = ("member", "viewer")


@pytest.fixture
def private(make_user, make_project, make_meeting, make_item, make_ticket):
    """A unit with one person of each kind; the private ticket is homework of a meeting, a
    child of a public ticket, related to another, with a file."""
    people = {
        kind: make_user(login=kind, is_admin=kind == "admin")
        for kind in ("author", "assignee", "facilitator", "manager", "member", "viewer", "admin")
    }
    roles = {
        "author": "member",
        "assignee": "member",
        "facilitator": "facilitator",
        "manager": "manager",
        "member": "member",
        "viewer": "viewer",
    }
    project = make_project(members={people[k]: role for k, role in roles.items()})
    unit = project.units[0]
    # The author runs the meeting and so files its homework (through the minutes).
    meeting = make_meeting(unit=unit, facilitator=people["author"])
    item = make_item(
        meeting,
        kind="homework",
        actor=people["author"],
        who=people["assignee"],
        what=SECRET,
        due_date=local_today() + timedelta(days=14),
    )
    parent = make_ticket(unit, people["author"], subject="税務システムの改修")
    related = make_ticket(unit, people["author"], subject="税額通知書の文言")
    ticket = item.ticket
    services.update_ticket(people["author"], ticket, {"is_private": True, "parent_id": parent.id})
    db.session.add(
        Relation(ticket_from_id=related.id, ticket_to_id=ticket.id, relation_type="relates")
    )
    upload = FileStorage(io.BytesIO(b"secret"), filename="内訳.txt")
    file = attachments.store_upload(people["author"], upload)
    attachments.attach(people["author"], file, ticket)
    db.session.commit()
    return {
        **people,
        "project": project,
        "unit": unit,
        "meeting": meeting,
        "ticket": ticket,
        "parent": parent,
        "related": related,
        "file": file,
    }


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


EVERYONE = SEES + DOES_NOT_SEE


def sees(who: str) -> bool:
    return who in SEES


def test_the_ticket_page_is_404_to_all_but_author_assignee_facilitators_managers_admins(
    client, login, private
):
    for who in EVERYONE:
        login(private[who])
        response = client.get(f"/issues/{private['ticket'].id}")
        assert response.status_code == (200 if sees(who) else 404), who


def test_the_rule_for_one_ticket_and_as_sql_agree(private):
    ticket = private["ticket"]
    for who in EVERYONE:
        user = private[who]
        found = db.session.scalar(
            sa.select(Ticket.id).where(
                Ticket.id == ticket.id, permissions.visible_ticket(user, Ticket)
            )
        )
        assert permissions.can_view_ticket(user, ticket) == sees(who), who
        assert (found is not None) == sees(who), who


def test_the_api_shows_it_only_to_those_who_see_it(api, private):
    for who in EVERYONE:
        response = api.get(f"/issues/{private['ticket'].id}.json", private[who])
        assert response.status_code == (200 if sees(who) else 404), who
        if sees(who):
            assert response.json["issue"]["is_private"] is True


def test_its_files_are_downloaded_only_by_those_who_see_it(client, login, api, private):
    file = private["file"]
    for who in ("assignee", "member", "viewer"):
        login(private[who])
        response = client.get(f"/attachments/download/{file.id}/{file.filename}")
        assert response.status_code == (200 if sees(who) else 404), who
        response = api.get(f"/attachments/{file.id}.json", private[who])
        assert response.status_code == (200 if sees(who) else 404), who


def test_the_units_list_leaves_it_out_for_others(client, login, private):
    for who in ("facilitator", "member"):
        login(private[who])
        html = text_of(client.get(f"/projects/{private['unit'].identifier}/issues?status_id=*"))
        assert (SECRET in html) == sees(who), who


def test_issues_json_and_its_total_count_leave_it_out(api, private):
    for who in ("manager", "member", "viewer"):
        page = api.get("/issues.json?status_id=*", private[who]).json
        ids = {issue["id"] for issue in page["issues"]}
        assert (private["ticket"].id in ids) == sees(who), who
        # With the parent and the related ticket.
        assert page["total_count"] == (3 if sees(who) else 2), who


def test_search_finds_it_only_for_those_who_see_it(client, login, api, private):
    for who in ("assignee", "member"):
        login(private[who])
        # The page marks the words found: the rest of the subject tells the hit.
        html = text_of(client.get("/search?q=税額計算"))
        assert ("個人情報あり" in html) == sees(who), who
        found = api.get("/search.json?q=税額計算", private[who]).json
        assert (found["total_count"] == 1) == sees(who), who


def test_homework_counts_and_lists_leave_it_out(client, login, private):
    for who in ("facilitator", "member"):
        assert report_queries.headline(private[who])["open"] == (1 if sees(who) else 0), who
        login(private[who])
        assert (SECRET in text_of(client.get("/dashboard/homework"))) == sees(who), who


def test_the_project_calendar_feed_leaves_it_out(client, private):
    project = private["project"].identifier
    for who in ("manager", "member"):
        token = icals.ensure_feed_token(private[who])
        db.session.commit()
        response = client.get(f"/feeds/{token}/projects/{project}/homework.ics")
        assert (SECRET in text_of(response)) == sees(who), who


def test_csv_exports_leave_it_out(client, login, private):
    urls = [
        f"/projects/{private['unit'].identifier}/issues.csv?status_id=*",
        f"/meetings/{private['meeting'].id}/homework.csv",
        f"/projects/{private['project'].identifier}/homework.csv",
    ]
    for who in ("facilitator", "member"):
        login(private[who])
        for url in urls:
            rows = list(csv.reader(io.StringIO(text_of(client.get(url)).lstrip("\ufeff"))))
            assert any(SECRET in cell for row in rows for cell in row) == sees(who), (who, url)


def test_the_minutes_show_its_homework_only_to_those_who_see_it(client, login, private):
    meeting = private["meeting"].id
    item = db.session.scalar(
        sa.select(Item.id).where(Item.ticket_id == private["ticket"].id, Item.kind == "homework")
    )
    for who in ("facilitator", "assignee", "member", "viewer"):
        login(private[who])
        assert (SECRET in text_of(client.get(f"/meetings/{meeting}"))) == sees(who), who
        html = text_of(client.get(f"/meetings/{meeting}/present"))
        assert (SECRET in html) == sees(who), who
        response = client.get(f"/meetings/{meeting}/items/{item}")
        assert response.status_code == (200 if sees(who) else 404), who


def test_the_minutes_api_leaves_its_homework_out_for_others(client, private):
    meeting = private["meeting"].id
    item = db.session.scalar(
        sa.select(Item.id).where(Item.ticket_id == private["ticket"].id, Item.kind == "homework")
    )
    for who in ("facilitator", "member"):
        headers = {"X-API-Key": accounts.api_token(private[who])}
        db.session.commit()
        listed = client.get(f"/api/v1/meetings/{meeting}/items", headers=headers).json
        assert (item in {i["id"] for i in listed["items"]}) == sees(who), who
        shown = client.get(f"/api/v1/meetings/{meeting}", headers=headers).json
        assert (item in {i["id"] for i in shown["meeting"].get("items", [])}) == sees(who), who
        response = client.get(f"/api/v1/items/{item}", headers=headers)
        assert response.status_code == (200 if sees(who) else 404), who
        changes = client.get(f"/api/v1/meetings/{meeting}/changes", headers=headers).json
        assert (SECRET in json.dumps(changes, ensure_ascii=False)) == sees(who), who


def test_its_parent_and_related_tickets_do_not_show_it(client, login, api, private):
    parent, related = private["parent"].id, private["related"].id
    for who in ("manager", "member"):
        login(private[who])
        for other in (parent, related):
            assert (SECRET in text_of(client.get(f"/issues/{other}"))) == sees(who), who
        issue = api.get(f"/issues/{parent}.json?include=children", private[who]).json["issue"]
        assert ("children" in issue) == sees(who), who
        issue = api.get(f"/issues/{related}.json?include=relations", private[who]).json["issue"]
        assert ("relations" in issue) == sees(who), who


def test_a_member_sets_it_private_in_the_form_and_it_is_journaled(client, login, private):
    ticket = private["related"]
    login(private["member"])
    assert 'name="is_private"' in text_of(client.get(f"/issues/{ticket.id}"))
    new = f"/projects/{private['unit'].identifier}/issues/new"
    assert 'name="is_private"' in text_of(client.get(new))
    response = client.post(f"/issues/{ticket.id}", data=edit_data(ticket, is_private="y"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).is_private
    detail = db.session.scalar(
        sa.select(JournalDetail)
        .where(JournalDetail.name == "is_private")
        .order_by(JournalDetail.id.desc())
    )
    assert (detail.old_value, detail.new_value) == ("0", "1")
    # The member is neither its author nor its assignee: it is gone for them now.
    assert client.get(f"/issues/{ticket.id}").status_code == 404
    login(private["author"])
    page = text_of(client.get(f"/issues/{ticket.id}"))
    assert "非公開" in page and 'class="badge private-ticket"' in page


def test_leaving_the_checkbox_out_makes_it_public_again(client, login, private):
    ticket = private["ticket"]
    login(private["member"])
    assert client.get(f"/issues/{ticket.id}").status_code == 404
    login(private["author"])
    response = client.post(f"/issues/{ticket.id}", data=edit_data(ticket))
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Ticket, ticket.id).is_private
    login(private["member"])
    assert client.get(f"/issues/{ticket.id}").status_code == 200


def test_a_viewer_cannot_make_a_ticket_private(private):
    with pytest.raises(errors.Forbidden):
        services.update_ticket(private["viewer"], private["related"], {"is_private": True})


def test_the_api_sets_it_on_update_and_on_create(api, private):
    ticket = private["related"]
    response = api.put(
        f"/issues/{ticket.id}.json", private["member"], json={"issue": {"is_private": True}}
    )
    assert response.status_code == 204
    assert db.session.get(Ticket, ticket.id).is_private
    assert api.get(f"/issues/{ticket.id}.json", private["member"]).status_code == 404
    unit = private["unit"]
    created = api.post(
        "/issues.json",
        private["member"],
        json={
            "issue": {"project_id": unit.identifier, "subject": "内部の確認", "is_private": True}
        },
    )
    assert created.status_code == 201 and created.json["issue"]["is_private"] is True
    assert (
        api.get(f"/issues/{created.json['issue']['id']}.json", private["viewer"]).status_code == 404
    )


@pytest.mark.parametrize("value", ["maybe", [], {"a": 1}, 2, None])
def test_the_api_refuses_a_value_that_is_not_a_boolean(api, private, value):
    ticket = private["related"]
    response = api.put(
        f"/issues/{ticket.id}.json", private["member"], json={"issue": {"is_private": value}}
    )
    assert response.status_code == 422
    assert response.json["errors"]
    assert not db.session.get(Ticket, ticket.id).is_private


def test_a_member_files_a_private_ticket_in_the_new_form(client, login, private):
    unit = private["unit"]
    login(private["member"])
    response = client.post(
        f"/projects/{unit.identifier}/issues/new",
        data={
            "project_id": unit.id,
            "tracker_id": private["related"].tracker_id,
            "subject": "職員の個人情報を含む照会",
            "description": "",
            "status_id": private["related"].status_id,
            "priority_id": private["related"].priority_id,
            "assignee_id": 0,
            "done_ratio": 0,
            "is_private": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    ticket = db.session.scalar(
        sa.select(Ticket).where(Ticket.subject == "職員の個人情報を含む照会")
    )
    assert ticket.is_private and ticket.author_id == private["member"].id
    assert client.get(f"/issues/{ticket.id}").status_code == 200  # its author
    login(private["viewer"])
    assert client.get(f"/issues/{ticket.id}").status_code == 404


def test_a_goal_links_it_only_for_those_who_see_it(client, login, private, make_item):
    ticket = private["ticket"]
    make_item(private["meeting"], kind="goal", text="税額の再計算方針", actor=private["author"],
              ticket=ticket.id)  # fmt: skip
    link = f'href="/issues/{ticket.id}"'
    for who in ("facilitator", "member"):
        login(private[who])
        html = text_of(client.get(f"/meetings/{private['meeting'].id}"))
        assert "税額の再計算方針" in html  # the goal itself is part of the minutes
        assert (link in html) == sees(who), who


def test_a_goal_cannot_be_linked_to_a_ticket_one_does_not_see(private, make_meeting):
    from minutes import items

    meeting = make_meeting(unit=private["unit"], facilitator=private["member"])
    with pytest.raises(errors.Invalid):
        items.add_item(private["member"], meeting, "goal", "方針", ticket=private["ticket"].id)


def test_analyze_leaves_no_index_of_tickets_without_statistics(app, make_unit, make_ticket):
    # SQLite writes no statistics for an empty index (a partial one over no private ticket),
    # and `PRAGMA optimize`, run as each connection is checked in, would then analyse the
    # tickets again after every request.
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's statistics")
    unit = make_unit()
    for n in range(3):
        make_ticket(unit=unit, subject=f"公開 {n}")
    db.session.commit()
    db.session.execute(sa.text("ANALYZE tickets"))
    indexes = {row[1] for row in db.session.execute(sa.text("PRAGMA index_list('tickets')"))}
    analysed = set(
        db.session.scalars(sa.text("SELECT idx FROM sqlite_stat1 WHERE tbl = 'tickets'"))
    )
    assert "ix_tickets_private" in indexes and indexes <= analysed


def test_the_minutes_find_hidden_homework_from_the_private_tickets_index(private):
    """PostgreSQL's index of private tickets is partial (`WHERE is_private`): a statement that
    asks `is_private IS true` cannot use it and reads every ticket on each meeting page."""
    from minutes import items

    statements = []
    capture = lambda conn, cursor, stmt, params, context, many: statements.append(  # noqa: E731
        (stmt, params)
    )
    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert items.unseen_homework(private["member"], private["meeting"]) == {
            private["ticket"].id
        }
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    if db.engine.dialect.name != "postgresql":
        return
    stmt, params = next(s for s in statements if "is_private" in s[0])
    with db.engine.connect() as conn:
        # As at city scale, where reading every ticket or joining by loop costs most.
        conn.exec_driver_sql("SET enable_seqscan = off")
        conn.exec_driver_sql("SET enable_nestloop = off")
        plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {stmt}", params)]
    assert any(re.search(r"ix_tickets_private on tickets  ", line) for line in plan), plan
