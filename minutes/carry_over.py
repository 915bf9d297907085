"""What a meeting takes over from the earlier ones of its unit: open homework (decided or kept
open), preview items pulled in as goals, and the goals not yet reached.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from accounts.models import User
from core import errors
from core.extensions import db
from minutes import items, writes
from minutes.homework import close_with_decision
from minutes.models import Item, Meeting
from tickets import services as tickets
from tickets.models import Status, Ticket

# Kinds a later meeting can take over as a goal (pull_as_goal).
TAKEN_OVER_AS_GOAL = ("preview", "break")


def earlier_open_homework(meeting: Meeting, unseen: frozenset[int] = frozenset()) -> list[Item]:
    """Open homework of earlier meetings of the same business unit (前回までの宿題), and
    homework whose ticket was closed with a decision not yet recorded as a result (いずれは成果へ):
    that decision is offered as a result of this meeting. `unseen`: tickets whose homework is
    left out (items.unseen_homework)."""
    # NOT EXISTS per row (the origin_item_id index), not NOT IN: that reads every item
    # with an origin in the database.
    result = sa.orm.aliased(Item)
    recorded = (
        sa.exists()
        .where(
            result.origin_item_id == Item.id,
            result.kind == "result",
            result.deleted_at.is_(None),
        )
        .correlate(Item)
    )
    decided_elsewhere = sa.and_(Ticket.decision.is_not(None), Ticket.decision != "", ~recorded)
    found = list(
        db.session.scalars(
            sa.select(Item)
            .join(Meeting, Meeting.id == Item.meeting_id)
            .join(Ticket, Ticket.id == Item.ticket_id)
            .join(Status, Status.id == Ticket.status_id)
            .where(
                Meeting.unit_id == meeting.unit_id,
                Meeting.starts_at < meeting.starts_at,
                Item.kind == "homework",
                Item.deleted_at.is_(None),
                sa.or_(Status.is_closed.is_(False), decided_elsewhere),
            )
            .order_by(Ticket.due_date, Item.id)
            .options(
                sa.orm.contains_eager(Item.meeting),
                sa.orm.contains_eager(Item.ticket).contains_eager(Ticket.status),
                sa.orm.contains_eager(Item.ticket).selectinload(Ticket.assignee),
            )
        ).unique()
    )
    return [i for i in found if i.ticket_id not in unseen] if unseen else found


def earlier_previews(meeting: Meeting, limit: int = 50) -> list[Item]:
    """Preview items of earlier meetings of the unit not yet taken up as a goal elsewhere."""
    later = sa.orm.aliased(Item)
    taken = (
        sa.exists()
        .where(later.origin_item_id == Item.id, later.deleted_at.is_(None))
        .correlate(Item)
    )
    return list(
        db.session.scalars(
            sa.select(Item)
            .join(Meeting, Meeting.id == Item.meeting_id)
            .where(
                Meeting.unit_id == meeting.unit_id,
                Meeting.starts_at < meeting.starts_at,
                Item.kind == "preview",
                Item.deleted_at.is_(None),
                ~taken,
            )
            .order_by(Meeting.starts_at.desc(), Item.position)
            .limit(limit)
            .options(sa.orm.contains_eager(Item.meeting))
        )
    )


def carry_over(
    actor: User | None, meeting: Meeting, homework: Item, decision: str | None = None, goal=None
) -> Item:
    """Earlier homework decided today: a result of `meeting` linked back (origin) to it; its
    ticket is closed with the decision. The earlier minutes themselves stay as they were."""
    if homework.kind != "homework" or homework.ticket is None:
        raise errors.Invalid(_("This item is not homework."), "kind")
    if homework.meeting_id == meeting.id:
        return items.move_item(actor, homework, "result", what=decision, parent=goal)
    if homework.meeting.unit_id != meeting.unit_id:
        raise errors.Invalid(_("Only homework of this business unit can be carried over."), "unit")
    ticket = homework.ticket
    text = writes.check_item_text(decision or ticket.decision or ticket.subject, "result")
    result = items.add_item(actor, meeting, "result", text, parent=goal, origin=homework)
    if not ticket.status.is_closed:  # closed on the ticket page: its decision is what we record
        close_with_decision(actor, ticket, text, meeting)
    db.session.flush()
    return result


def keep_open(actor: User | None, meeting: Meeting, homework: Item, due_date=None) -> Item:
    """Reviewed and kept open (optionally with a new by-when): recorded on this meeting."""
    if homework.kind != "homework" or homework.ticket is None:
        raise errors.Invalid(_("This item is not homework."), "kind")
    if homework.meeting.unit_id != meeting.unit_id:
        raise errors.Invalid(_("Only homework of this business unit can be carried over."), "unit")
    seq = writes.begin_write(actor, meeting)
    ticket = homework.ticket
    before = writes.snapshot(homework)
    if due_date is not None and due_date != ticket.due_date:
        note = _("Kept open in the meeting “%(title)s”.", title=meeting.title)
        tickets.update_ticket(actor, ticket, {"due_date": due_date}, note, meeting=meeting)
    after = writes.snapshot(homework)
    writes.record_event(actor, meeting, seq, "keep_open", homework, before=before, after=after)
    db.session.flush()
    return homework


def pull_as_goal(actor: User | None, meeting: Meeting, preview: Item) -> Item:
    """A preview (さきどり) of an earlier meeting becomes a goal of this later one."""
    if preview.kind not in TAKEN_OVER_AS_GOAL:
        raise errors.Invalid(_("Only preview items can become a goal of a later meeting."), "kind")
    if preview.meeting.unit.root.id != meeting.unit.root.id:
        raise errors.Invalid(_("Only items of this project can be taken over."), "unit")
    if preview.meeting.starts_at > meeting.starts_at or preview.meeting_id == meeting.id:
        raise errors.Invalid(_("Choose a later meeting."), "meeting_id")
    return items.add_item(actor, meeting, "goal", preview.text, origin=preview)


def unfinished_goals(meeting: Meeting) -> list[Item]:
    """Goals without a result under them (or explicitly not discussed)."""
    live = [i for i in meeting.items if not i.is_deleted]
    answered = {i.parent_item_id for i in live if i.kind == "result"}
    return [i for i in live if i.kind == "goal" and (i.id not in answered or i.not_discussed)]
