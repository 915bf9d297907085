"""The items of the three sheets: add, edit, move, reorder, delete and restore, and reading
them back (sheets, history, events since a seq, kind labels).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import permissions
from accounts.models import User
from core import errors
from core.extensions import db
from core.timeutil import utcnow
from minutes import homework, writes
from minutes.models import ITEM_KINDS, Item, ItemEvent, Meeting
from tickets.models import Ticket

# Moves between sheets the talk describes (same meeting), in the order the projector offers
# them; other targets are refused.
MOVES = {
    "preview": ("result", "homework", "goal", "break"),
    "break": ("result", "homework", "goal", "preview"),
    "homework": ("result",),
    "goal": ("preview", "break"),
    "result": ("preview", "break", "homework"),
}
KIND_LABELS = {
    "goal": _l("Goal"),
    "result": _l("Result"),
    "homework": _l("Homework"),
    "break": _l("Break"),
    "preview": _l("Preview item"),
}


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind)  # one translation looked up, not five
    return str(label) if label is not None else kind


def _linked_ticket(meeting: Meeting, ticket, actor=None) -> Ticket | None:
    """A ticket a goal points at: any ticket of the same fiscal-year project that `actor`
    (None: the system) may see."""
    if ticket in (None, "", 0):
        return None
    ticket = ticket if isinstance(ticket, Ticket) else db.session.get(Ticket, int(ticket))
    if (
        ticket is None
        or ticket.project.root.id != meeting.unit.root.id
        or (actor is not None and not permissions.can_view_ticket(actor, ticket))
    ):
        raise errors.Invalid(_("There is no such ticket in this project."), "ticket_id")
    return ticket


# --- writing ---------------------------------------------------------------------------------


def add_item(
    actor: User | None,
    meeting: Meeting,
    kind: str,
    text: str,
    parent=None,
    ticket=None,
    origin=None,
) -> Item:
    """A goal, result, break or preview item (homework: homework.add_homework)."""
    if kind not in ITEM_KINDS or kind == "homework":
        raise errors.Invalid(_("Unknown kind of item."), "kind")
    text = writes.check_item_text(text, kind)
    seq = writes.begin_write(actor, meeting)
    item = Item(
        meeting_id=meeting.id,
        kind=kind,
        text=text,
        position=writes.next_position(meeting.id, kind),
        parent_item_id=writes.goal_of(meeting, parent).id if kind == "result" and parent else None,
        ticket_id=writes.id_of(_linked_ticket(meeting, ticket, actor)) if kind == "goal" else None,
        origin_item_id=writes.id_of(origin),
        created_by_id=actor.id if actor is not None else None,
    )
    return writes.insert_item(actor, meeting, seq, item)


def edit_item(
    actor: User | None,
    item: Item,
    text: str | None = None,
    expected_version: int | None = None,
    ticket=False,
    parent=False,
) -> Item:
    """Change a goal's, result's or sheet ③ item's text (and a goal's ticket, a result's goal)."""
    meeting = item.meeting
    if text is not None:
        text = writes.check_item_text(text, item.kind)
    seq = writes.begin_write(actor, meeting)
    writes.check_version(item, expected_version)
    writes.check_alive(item)
    if item.kind == "homework":
        raise errors.Invalid(_("Edit homework through who, what and by when."), "kind")
    before = writes.snapshot(item)
    if text is not None:
        item.text = text
    if ticket is not False and item.kind == "goal":
        item.ticket_id = writes.id_of(_linked_ticket(meeting, ticket, actor))
    if parent is not False and item.kind == "result":
        item.parent_item_id = writes.goal_of(meeting, parent).id if parent else None
    return writes.finish_edit(actor, item, seq, "edit", before)


def move_item(
    actor: User | None,
    item: Item,
    kind: str,
    expected_version: int | None = None,
    parent=None,
    who=None,
    what: str | None = None,
    due_date: date | None = None,
) -> Item:
    """Move an item to another sheet of the same meeting; the item (and its history) stays one.

    preview → result / homework (who, what, by-when required) / goal; homework → result
    (decided in this meeting: its ticket is closed with the decision). A preview taken into a
    later meeting as a goal: carry_over.pull_as_goal.
    """
    meeting = item.meeting
    seq = writes.begin_write(actor, meeting)
    writes.check_version(item, expected_version)
    writes.check_alive(item)
    if kind not in MOVES.get(item.kind, ()):
        raise errors.Invalid(
            _(
                "An item cannot be moved from %(a)s to %(b)s.",
                a=kind_label(item.kind),
                b=kind_label(kind),
            ),
            "kind",
        )
    before = writes.snapshot(item)
    old_kind = item.kind
    if kind == "homework":
        goal = writes.goal_of(meeting, parent)
        ticket = homework.create_homework_ticket(
            actor, meeting, who, what or _first_line(item.text), due_date, goal, item.text
        )
        item.ticket_id = ticket.id
        item.parent_item_id = goal.id if goal is not None else None
        item.text = ""
    elif old_kind == "homework":
        decision = writes.check_item_text(what or item.ticket.subject, kind)
        homework.close_with_decision(actor, item.ticket, decision, meeting)
        item.text = decision
        item.ticket_id = None
        item.parent_item_id = writes.goal_of(meeting, parent).id if parent else item.parent_item_id
    else:
        item.ticket_id = item.ticket_id if kind == "goal" else None
        item.parent_item_id = (
            writes.goal_of(meeting, parent).id if kind == "result" and parent else None
        )
    item.kind = kind
    item.position = writes.next_position(meeting.id, kind)
    # The ticket of homework turned result stays reachable through the history (before).
    return writes.finish_edit(actor, item, seq, "move", before)


def _first_line(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line.lstrip("#-* ").strip()[:255]


def reorder_item(
    actor: User | None, item: Item, position: int, expected_version: int | None = None
) -> Item:
    """Put `item` at index `position` (0-based) of its sheet's list; the others close up."""
    meeting = item.meeting
    seq = writes.begin_write(actor, meeting)
    writes.check_version(item, expected_version)
    writes.check_alive(item)
    group = writes.group_items(meeting.id, item.kind)
    old_index = group.index(item)
    position = max(0, min(int(position), len(group) - 1))
    before = {"index": old_index}
    group.insert(position, group.pop(old_index))
    for index, other in enumerate(group):
        other.position = index
    return writes.finish_edit(actor, item, seq, "reorder", {**writes.snapshot(item), **before})


def delete_item(actor: User | None, item: Item, expected_version: int | None = None) -> Item:
    """Mark as deleted (kept, with its history); refused on confirmed minutes."""
    meeting = item.meeting
    seq = writes.begin_write(actor, meeting)
    writes.check_version(item, expected_version)
    writes.check_alive(item)
    before = writes.snapshot(item)
    item.deleted_at = utcnow()
    # Results under a deleted goal become unattached rather than hidden.
    for child in db.session.scalars(sa.select(Item).where(Item.parent_item_id == item.id)):
        if child.meeting_id == meeting.id:
            child.parent_item_id = None
    if item.kind == "homework" and item.ticket is not None and not item.ticket.is_closed:
        homework.reject_ticket(actor, item.ticket, meeting)
    return writes.finish_edit(actor, item, seq, "delete", before)


def restore_item(actor: User | None, item: Item) -> Item:
    meeting = item.meeting
    seq = writes.begin_write(actor, meeting)
    before = writes.snapshot(item)
    item.deleted_at = None
    return writes.finish_edit(actor, item, seq, "restore", before)


# --- reading ---------------------------------------------------------------------------------


def unseen_homework(user, meeting: Meeting) -> frozenset[int]:
    """The private tickets `user` may not see (permissions.visible_ticket) behind the items of
    `meeting` (homework, goals' linked tickets) and the homework of the earlier meetings of
    its unit (the carry-over list): their homework is left out of what `user` is shown, a
    goal shows no link to them. Usually empty, from the partial index."""
    if permissions.can_administer(user):
        return frozenset()
    earlier = sa.select(Meeting.id).where(
        Meeting.unit_id == meeting.unit_id, Meeting.starts_at < meeting.starts_at
    )
    return frozenset(
        db.session.scalars(
            sa.select(Ticket.id)
            .join(Item, Item.ticket_id == Ticket.id)
            .where(
                Ticket.is_private,  # as the partial index says it on PostgreSQL
                sa.or_(
                    Item.meeting_id == meeting.id,
                    sa.and_(Item.kind == "homework", Item.meeting_id.in_(earlier)),
                ),
                ~permissions.visible_ticket(user, Ticket),
            )
        )
    )


def is_unseen_homework(user, item: Item) -> bool:
    """One homework item whose private ticket `user` may not see (unseen_homework)."""
    return (
        item.kind == "homework"
        and item.ticket is not None
        and item.ticket.is_private
        and not permissions.can_view_ticket(user, item.ticket)
    )


def sheets(meeting: Meeting, unseen: frozenset[int] = frozenset()) -> dict:
    """The live items by sheet: goals with their results, unattached results, homework, sheet ③.
    `unseen`: tickets whose homework is left out (unseen_homework)."""
    items = list(
        db.session.scalars(
            sa.select(Item)
            .where(Item.meeting_id == meeting.id, Item.deleted_at.is_(None))
            .order_by(Item.position, Item.id)
            .options(
                sa.orm.selectinload(Item.ticket).selectinload(Ticket.status),
                sa.orm.selectinload(Item.ticket).selectinload(Ticket.assignee),
                sa.orm.selectinload(Item.origin_item).selectinload(Item.meeting),
            )
        )
    )
    if unseen:
        items = [i for i in items if not (i.kind == "homework" and i.ticket_id in unseen)]
    goals = [i for i in items if i.kind == "goal"]
    goal_ids = {g.id for g in goals}
    results = [i for i in items if i.kind == "result"]
    homework_items = [i for i in items if i.kind == "homework"]
    third = [i for i in items if i.kind in ("break", "preview")]
    # Each item's place in its ordering group (what reorder_item's position counts).
    index = {
        i.id: n for group in (goals, results, homework_items, third) for n, i in enumerate(group)
    }
    return {
        "index": index,
        "goals": [(g, [r for r in results if r.parent_item_id == g.id]) for g in goals],
        "loose_results": [r for r in results if r.parent_item_id not in goal_ids],
        "results": results,
        "homework": homework_items,
        "third": third,
        "all": items,
    }


def history(item: Item) -> list[ItemEvent]:
    """Events of this item and of the items it came from (one history across moves)."""
    chain, node = [], item
    while node is not None and node.id not in chain:
        chain.append(node.id)
        node = node.origin_item
    return list(
        db.session.scalars(
            sa.select(ItemEvent).where(ItemEvent.item_id.in_(chain)).order_by(ItemEvent.id)
        )
    )


def events_since(meeting: Meeting, seq: int) -> list[ItemEvent]:
    return list(
        db.session.scalars(
            sa.select(ItemEvent)
            .where(ItemEvent.meeting_id == meeting.id, ItemEvent.seq > seq)
            .order_by(ItemEvent.seq, ItemEvent.id)
        )
    )
