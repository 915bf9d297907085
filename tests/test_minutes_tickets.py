"""One source of truth for homework: who / what / by-when live on the
ticket only, so an edit on either side shows on the other and they can never drift."""

from datetime import date

import pytest

from core.extensions import db
from minutes import homework as minutes_homework
from minutes import writes
from tickets import services as tickets


@pytest.fixture
def facilitator(make_user):
    return make_user(login="suzuki", name="鈴木 一郎")


@pytest.fixture
def sato(make_user):
    return make_user(login="sato", name="佐藤 花子")


@pytest.fixture
def homework(make_meeting, make_item, make_unit, facilitator, sato):
    unit = make_unit(members={facilitator: "facilitator", sato: "member"})
    meeting = make_meeting(unit=unit, actor=facilitator)
    return make_item(
        meeting,
        "homework",
        actor=facilitator,
        who=facilitator,
        what="仕様を確認",
        due_date=date(2026, 12, 5),
    )


def shown(client, item):
    """What the meeting page, the projector and the API say about the homework."""
    page = client.get(f"/meetings/{item.meeting_id}").get_data(as_text=True)
    present = client.get(f"/meetings/{item.meeting_id}/present").get_data(as_text=True)
    api = client.get(f"/api/v1/items/{item.id}").json["item"]
    return page, present, api


@pytest.mark.parametrize(
    "changes,expect",
    [
        ({"subject": "仕様書を改訂して共有"}, ("what", "仕様書を改訂して共有")),
        ({"due_date": date(2027, 1, 15)}, ("due_date", "2027-01-15")),
        ({"assignee": "sato"}, ("who", "佐藤 花子")),
    ],
)
def test_an_edit_on_the_ticket_shows_in_the_minutes(
    client, login, homework, facilitator, sato, changes, expect
):
    if changes.get("assignee") == "sato":
        changes = {"assignee": sato}
    tickets.update_ticket(sato, homework.ticket, changes)
    db.session.commit()
    login(facilitator)
    page, present, api = shown(client, homework)
    field, value = expect
    assert api[field] == value
    text = {"due_date": "2027年1月15日"}.get(field, value)
    assert text in page and text in present


def test_an_edit_in_the_minutes_is_a_journaled_ticket_change(homework, facilitator, sato):
    minutes_homework.edit_homework(
        facilitator, homework, who=sato, what="帳票を確認", due_date=date(2027, 2, 1)
    )
    db.session.commit()
    ticket = homework.ticket
    assert (ticket.assignee_id, ticket.subject, ticket.due_date) == (
        sato.id,
        "帳票を確認",
        date(2027, 2, 1),
    )
    names = {d.name for d in ticket.journals[-1].details}
    assert {"assigned_to_id", "subject", "due_date"} <= names
    assert ticket.journals[-1].user_id == facilitator.id


def test_the_item_keeps_no_copy_that_could_drift(homework):
    assert homework.text == ""
    assert writes.snapshot(homework)["what"] == homework.ticket.subject


def test_a_closed_ticket_shows_as_closed_in_the_minutes(client, login, homework, facilitator):
    tickets.update_ticket(None, homework.ticket, {"status": tickets.done_status()})
    db.session.commit()
    login(facilitator)
    _page, _present, api = shown(client, homework)
    assert api["ticket"]["is_closed"] is True and api["ticket"]["status"] == "完了"
