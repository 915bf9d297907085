"""Who may change a ticket through the minutes: whoever may edit a meeting's minutes
changes the homework tickets of that meeting's own unit (permissions.can_change_ticket with the
meeting), never another project's; and the change is journaled as that person, not the system.
"""

from datetime import date

import pytest
import sqlalchemy as sa

from accounts import services as accounts
from core import errors
from core.extensions import db
from minutes import carry_over
from tickets import services as tickets
from tickets.models import Journal, Ticket

DUE = date(2026, 12, 5)


def journal_count(ticket) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Journal.id)).where(Journal.ticket_id == ticket.id)
    )


def reload(ticket) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


def api_key(user) -> dict:
    token = accounts.api_token(user)
    db.session.commit()
    return {"X-API-Key": token}


# --- another project's homework through one's own meeting ------------------------------------


@pytest.fixture
def two_projects(make_user, make_unit, make_meeting, make_item):
    """加藤 may only view project A, and facilitates project B; A has open homework."""
    kato = make_user(login="kato", name="加藤 由美")
    unit_a = make_unit(members={kato: "viewer", make_user(): "manager"})
    unit_b = make_unit(members={kato: "facilitator"})
    homework = make_item(
        make_meeting(unit=unit_a), "homework", what="住基ネットの切替日程を調整する", due_date=DUE
    )
    meeting_b = make_meeting(unit=unit_b, actor=kato)
    return kato, homework, meeting_b


@pytest.mark.parametrize(
    "form",
    [{"action": "keep", "due": "2027-01-15"}, {"action": "decide", "decision": "切替は1月"}],
)
def test_another_projects_homework_is_not_carried_over_from_ones_own_meeting(
    client, login, two_projects, form
):
    kato, homework, meeting_b = two_projects
    ticket = homework.ticket
    journals = journal_count(ticket)
    login(kato)

    response = client.post(f"/meetings/{meeting_b.id}/carry/{homework.id}", data=form)

    assert response.status_code == 404
    after = reload(ticket)
    assert (after.due_date, after.is_closed) == (DUE, False)
    assert journal_count(after) == journals


def test_a_ticket_is_not_changed_through_another_projects_meeting(two_projects):
    kato, homework, meeting_b = two_projects

    with pytest.raises(errors.Forbidden):
        tickets.update_ticket(
            kato, homework.ticket, {"due_date": date(2027, 1, 15)}, meeting=meeting_b
        )


def test_keep_open_is_for_homework_of_the_meetings_own_unit(two_projects):
    kato, homework, meeting_b = two_projects

    with pytest.raises(errors.Invalid):
        carry_over.keep_open(kato, meeting_b, homework, due_date=date(2027, 1, 15))


# --- a person's change through the minutes is journaled as the person -------------------------


@pytest.fixture
def own_meeting(make_user, make_unit, make_meeting, make_item, make_ticket):
    """山田 may only view the project, and facilitates this meeting of it (so edits its
    minutes); the meeting has a goal backed by a ticket, and homework."""
    yamada = make_user(login="yamada", name="山田 太郎")
    unit = make_unit(members={yamada: "viewer", make_user(): "manager"})
    meeting = make_meeting(unit=unit, facilitator=yamada)
    goal_ticket = make_ticket(unit, subject="住基ネット更改")
    goal = make_item(meeting, "goal", "更改の進め方を決める", ticket=goal_ticket.id)
    homework = make_item(meeting, "homework", what="見積を依頼する", due_date=DUE)
    return yamada, meeting, goal, homework


def _last_journal(ticket) -> Journal:
    return db.session.scalar(
        sa.select(Journal).where(Journal.ticket_id == ticket.id).order_by(Journal.id.desc())
    )


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("PATCH", "/api/v1/items/{hw}", {"due_date": "2027-01-15"}),
        ("POST", "/api/v1/items/{hw}/move", {"kind": "result", "what": "見積は不要と決定"}),
        ("DELETE", "/api/v1/items/{hw}", None),
    ],
    ids=["edit", "decide", "strike"],
)
def test_homework_changed_in_the_minutes_is_journaled_as_the_person(
    client, own_meeting, method, path, body
):
    yamada, _meeting, _goal, homework = own_meeting
    ticket = homework.ticket

    response = client.open(
        path.format(hw=homework.id), method=method, json=body, headers=api_key(yamada)
    )

    assert response.status_code == 200
    assert _last_journal(reload(ticket)).user_id == yamada.id


def test_homework_kept_open_in_a_later_meeting_is_journaled_as_the_person(
    client, login, own_meeting, make_meeting
):
    yamada, meeting, _goal, homework = own_meeting
    later = make_meeting(unit=meeting.unit, facilitator=yamada)
    login(yamada)

    client.post(
        f"/meetings/{later.id}/carry/{homework.id}", data={"action": "keep", "due": "2027-01-15"}
    )

    ticket = reload(homework.ticket)
    assert ticket.due_date == date(2027, 1, 15)
    assert _last_journal(ticket).user_id == yamada.id


def test_homework_under_a_goal_is_journaled_on_the_goals_ticket_as_the_person(client, own_meeting):
    yamada, meeting, goal, _homework = own_meeting

    response = client.post(
        f"/api/v1/meetings/{meeting.id}/items",
        json={
            "kind": "homework",
            "who": "山本",
            "what": "体制図を出す",
            "due_date": "2026-12-20",
            "parent_item_id": goal.id,
        },
        headers=api_key(yamada),
    )

    assert response.status_code == 201
    child = db.session.get(Ticket, response.json["item"]["ticket"]["id"])
    assert (child.author_id, child.parent_id) == (yamada.id, goal.ticket_id)
    assert _last_journal(reload(goal.ticket)).user_id == yamada.id


def test_homework_whose_ticket_left_the_unit_is_not_changed_through_the_minutes(
    client, login, own_meeting, make_unit
):
    yamada, meeting, _goal, homework = own_meeting
    elsewhere = make_unit()
    tickets.update_ticket(None, homework.ticket, {"project_id": elsewhere.id})
    db.session.commit()
    journals = journal_count(homework.ticket)
    login(yamada)

    response = client.post(f"/meetings/{meeting.id}/items/{homework.id}/delete")

    assert response.status_code == 403
    ticket = reload(homework.ticket)
    assert not ticket.is_closed and journal_count(ticket) == journals
    assert db.session.get(type(homework), homework.id).deleted_at is None
