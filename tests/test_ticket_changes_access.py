"""Who may change a ticket, on the ticket pages and the Redmine API: one rule
(permissions.can_change_ticket), checked inside tickets.services. A parent link changes the
parent (its history records the child, and it closes or re-opens with its children), so
seeing a ticket is not enough to link under it, unlink from it or delete its child.
"""

import pytest
import sqlalchemy as sa

import permissions
from core import errors
from core.extensions import db
from tickets import services as tickets
from tickets.models import Journal, Ticket


def journal_count(ticket) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Journal.id)).where(Journal.ticket_id == ticket.id)
    )


def reload(ticket) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket.id)


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role,through,allowed",
    [
        ("member", None, True),
        ("viewer", None, False),
        ("viewer", "own_meeting", True),  # facilitates a meeting of the ticket's unit
        ("viewer", "other_project_meeting", False),
        (None, "other_project_meeting", False),
    ],
)
def test_who_may_change_a_ticket(
    make_user, make_unit, make_meeting, make_ticket, role, through, allowed
):
    person = make_user()
    unit = make_unit(members={person: role} if role else None)
    meetings = {
        None: None,
        "own_meeting": make_meeting(unit=unit, facilitator=person),
        "other_project_meeting": make_meeting(
            unit=make_unit(members={person: "facilitator"}), facilitator=person
        ),
    }
    ticket = make_ticket(unit)

    assert permissions.can_change_ticket(person, ticket, meetings[through]) is allowed


# --- parent links: a ticket one may only view is not linked, unlinked or journaled ------------


@pytest.fixture
def viewed_parent(make_user, make_unit, make_ticket):
    """佐藤 manages project A and may only view project B, which has an open ticket."""
    sato = make_user(login="sato", name="佐藤 花子")
    unit_a = make_unit(members={sato: "manager"})
    unit_b = make_unit(members={sato: "viewer", make_user(): "manager"})
    return sato, unit_a, make_ticket(unit_b, subject="B の親チケット")


def test_a_ticket_is_not_linked_under_one_only_viewed_from_the_ticket_page(
    client, login, viewed_parent, make_ticket
):
    sato, unit_a, parent = viewed_parent
    mine = make_ticket(unit_a, sato)
    journals = journal_count(parent)
    login(sato)
    form = {
        "project_id": mine.project_id,
        "tracker_id": mine.tracker_id,
        "subject": mine.subject,
        "status_id": mine.status_id,
        "priority_id": mine.priority_id,
        "assignee_id": 0,
        "done_ratio": 0,
        "version": mine.version,
        "parent_id": parent.id,
    }

    response = client.post(f"/issues/{mine.id}", data=form)

    assert response.status_code == 422
    assert reload(mine).parent_id is None and journal_count(parent) == journals


@pytest.mark.parametrize("via", ["create", "update"])
def test_a_ticket_is_not_linked_under_one_only_viewed_through_the_redmine_api(
    api, viewed_parent, make_ticket, via
):
    sato, unit_a, parent = viewed_parent
    mine = make_ticket(unit_a, sato)
    journals = journal_count(parent)

    if via == "create":
        body = {"issue": {"subject": "子チケット", "parent_issue_id": parent.id}}
        response = api.post(f"/projects/{unit_a.identifier}/issues.json", sato, json=body)
    else:
        body = {"issue": {"parent_issue_id": parent.id}}
        response = api.put(f"/issues/{mine.id}.json", sato, json=body)

    assert response.status_code == 422
    assert reload(mine).parent_id is None
    assert journal_count(parent) == journals
    assert db.session.scalar(sa.select(Ticket).where(Ticket.parent_id == parent.id)) is None


def test_a_ticket_is_not_unlinked_from_a_parent_only_viewed(api, viewed_parent, make_ticket):
    sato, unit_a, parent = viewed_parent
    mine = make_ticket(unit_a, None, parent=parent)

    response = api.put(f"/issues/{mine.id}.json", sato, json={"issue": {"parent_issue_id": ""}})

    assert response.status_code == 422
    assert reload(mine).parent_id == parent.id


def test_a_child_of_a_parent_only_viewed_is_not_deleted(api, viewed_parent, make_ticket):
    sato, unit_a, parent = viewed_parent
    mine = make_ticket(unit_a, None, parent=parent)
    journals = journal_count(parent)

    response = api.delete(f"/issues/{mine.id}.json", sato)

    assert response.status_code == 403
    assert db.session.get(Ticket, mine.id) is not None and journal_count(parent) == journals


def test_a_ticket_is_not_moved_into_a_project_only_viewed(viewed_parent, make_ticket):
    sato, unit_a, parent = viewed_parent
    mine = make_ticket(unit_a, sato)

    with pytest.raises(errors.Forbidden):
        tickets.update_ticket(sato, mine, {"project_id": parent.project_id})


def test_a_change_recorded_elsewhere_needs_the_right_to_change_the_ticket(viewed_parent):
    sato, _unit_a, parent = viewed_parent

    with pytest.raises(errors.Forbidden):
        tickets.journal_change(sato, parent, "", [("attr", "due_date", None, "2027-01-15")])
