"""Homework and its ticket: who / what / by-when live on the ticket only (assignee or guest_name,
subject, due_date), so the minutes and the ticket cannot drift.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from accounts.models import User
from core import errors, textfields
from core.extensions import db
from minutes import writes
from minutes.models import Item, Meeting
from projects.models import Project
from tickets import services as tickets
from tickets.models import Status, Ticket, Tracker

HOMEWORK_TRACKER = "問い合わせ管理"


def add_homework(
    actor: User | None,
    meeting: Meeting,
    who: User | str | None,
    what: str,
    due_date: date | None,
    goal=None,
    origin=None,
    description: str = "",
) -> Item:
    """Homework with who / what / by-when, backed by a new ticket in the meeting's unit."""
    seq = writes.begin_write(actor, meeting)
    goal = writes.goal_of(meeting, goal)
    ticket = create_homework_ticket(actor, meeting, who, what, due_date, goal, description)
    item = Item(
        meeting_id=meeting.id,
        kind="homework",
        text="",
        position=writes.next_position(meeting.id, "homework"),
        parent_item_id=goal.id if goal is not None else None,
        ticket_id=ticket.id,
        origin_item_id=writes.id_of(origin),
        created_by_id=actor.id if actor is not None else None,
    )
    return writes.insert_item(actor, meeting, seq, item)


def edit_homework(
    actor: User | None,
    item: Item,
    who=None,
    what: str | None = None,
    due_date: date | None = None,
    expected_version: int | None = None,
) -> Item:
    """Change who / what / by-when: written to the ticket (journaled), never to the item."""
    meeting = item.meeting
    seq = writes.begin_write(actor, meeting)
    writes.check_version(item, expected_version)
    writes.check_alive(item)
    if item.kind != "homework" or item.ticket is None:
        raise errors.Invalid(_("This item is not homework."), "kind")
    before = writes.snapshot(item)
    ticket = item.ticket
    fields = _homework_fields(
        meeting,
        who if who is not None else (ticket.assignee or ticket.guest_name),
        what if what is not None else ticket.subject,
        due_date if due_date is not None else ticket.due_date,
    )
    tickets.update_ticket(actor, ticket, fields, meeting=meeting)
    return writes.finish_edit(actor, item, seq, "edit", before)


def _who(meeting: Meeting, who) -> dict:
    if isinstance(who, User):
        return {"assignee_id": who.id, "guest_name": None}
    if isinstance(who, int):
        user = db.session.get(User, who)
        if user is None:
            raise errors.Invalid(_("Say who will do it."), "who")
        return {"assignee_id": user.id, "guest_name": None}
    name = writes.checked_text(who, "who", _("Who"), textfields.NAME)
    if not name:
        raise errors.Invalid(_("Say who will do it."), "who")
    return {"assignee_id": None, "guest_name": name}


def _homework_fields(meeting, who, what, due_date) -> dict:
    what = writes.checked_text(what, "what", _("What"), textfields.SUBJECT)
    if not what:
        raise errors.Invalid(_("Say what is to be done."), "what")
    if not isinstance(due_date, date):
        raise errors.Invalid(_("Give a date by which it is to be done."), "due_date")
    return {"subject": what, "due_date": due_date, **_who(meeting, who)}


def homework_tracker(unit: Project) -> Tracker:
    chosen = unit.homework_tracker_id or unit.root.homework_tracker_id
    tracker = db.session.get(Tracker, chosen) if chosen else None
    return (
        tracker
        or db.session.scalar(sa.select(Tracker).where(Tracker.name == HOMEWORK_TRACKER))
        or tickets.default_tracker()
    )


def create_homework_ticket(actor, meeting, who, what, due_date, goal, description) -> Ticket:
    """The ticket behind new homework, in the meeting's unit (under the goal's ticket, if any)."""
    fields = _homework_fields(meeting, who, what, due_date)
    note = _("Homework from the meeting “%(title)s” (#%(id)s).", title=meeting.title, id=meeting.id)
    fields.update(
        tracker_id=homework_tracker(meeting.unit).id,
        parent_id=goal.ticket_id if goal is not None and goal.ticket_id else None,
        description=(description.strip() + "\n\n" if description.strip() else "") + note,
        author_id=actor.id if actor is not None else None,
    )
    try:
        return tickets.create_ticket(actor, meeting.unit, fields, meeting=meeting)
    except errors.Invalid as error:  # a goal's ticket the actor may not change
        raise errors.Invalid(str(error), "parent_item_id") from None


def close_with_decision(actor, ticket: Ticket, decision: str, meeting: Meeting) -> None:
    """Homework decided in a meeting: its ticket is closed with the decision."""
    if ticket.is_closed:
        return
    done = tickets.done_status()
    note = _("Decided in the meeting “%(title)s” (#%(id)s).", title=meeting.title, id=meeting.id)
    changes = {"status_id": done.id, "decision": decision}
    tickets.update_ticket(actor, ticket, changes, notes=note, meeting=meeting)


def reject_ticket(actor, ticket: Ticket, meeting: Meeting) -> None:
    """Homework struck from the minutes: its ticket says so and stops counting as open."""
    rejected = db.session.scalar(
        sa.select(Status)
        .where(Status.is_closed.is_(True))
        .order_by(Status.position.desc())
        .limit(1)
    )
    note = _(
        "Struck from the minutes of the meeting “%(title)s” (#%(id)s).",
        title=meeting.title,
        id=meeting.id,
    )
    tickets.update_ticket(actor, ticket, {"status_id": rejected.id}, notes=note, meeting=meeting)
