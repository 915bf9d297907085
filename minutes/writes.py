"""The write protocol every change to a meeting follows (change_seq, ItemEvent, reopening),
and the checks and snapshots the writing modules share.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm.attributes import set_committed_value

import permissions
from accounts.models import User
from core import errors, textfields
from core.extensions import db
from core.timeutil import utcnow
from minutes.models import Item, ItemEvent, Meeting, Revision

# Items that share one ordering: results are ordered among results, sheet ③ as one list.
ORDER_GROUP = {"goal": ("goal",), "result": ("result",), "homework": ("homework",)}
ORDER_GROUP["break"] = ORDER_GROUP["preview"] = ("break", "preview")


class StaleItem(errors.StaleVersion):
    """Someone saved the item after the caller loaded it; `item` is the current state."""

    def __init__(self, item: Item):
        super().__init__(
            _("Someone else saved this item in the meantime. Its current text is shown."), item
        )
        self.item = item


def bump_seq(meeting: Meeting) -> int:
    """Take the meeting's next change_seq in SQL: the UPDATE takes the row's write lock first,
    so writers to one meeting are serialised and read the latest committed state after it."""
    seq = db.session.execute(
        sa.update(Meeting)
        .where(Meeting.id == meeting.id)
        .values(change_seq=Meeting.change_seq + 1)
        .returning(Meeting.change_seq),
        execution_options={"synchronize_session": False},
    ).scalar_one()
    set_committed_value(meeting, "change_seq", seq)
    db.session.refresh(meeting, ["status", "version"])
    return seq


def begin_write(actor: User | None, meeting: Meeting) -> int:
    """Check the rules and take the next change_seq (and the meeting row's write lock)."""
    permissions.require_edit_minutes(actor, meeting)
    seq = bump_seq(meeting)
    permissions.require_unlocked(meeting)  # confirmed while we were waiting for the lock
    if meeting.status == "awaiting_confirmation":  # edited after freezing: revision N+1 next
        reopen(actor, meeting, seq)
    return seq


def reopen(actor: User | None, meeting: Meeting, seq: int) -> None:
    """Back to in session after a freeze, under the caller's seq: the next freeze makes
    revision N+1, and revision N and its confirmations stay as they are."""
    latest = db.session.scalar(
        sa.select(sa.func.max(Revision.number)).where(Revision.meeting_id == meeting.id)
    )
    record_event(actor, meeting, seq, "reopen", after={"after_revision": latest})
    meeting.status = "in_session"
    meeting.version += 1
    db.session.flush()


def record_event(actor, meeting, seq, action, item=None, before=None, after=None) -> ItemEvent:
    """The history entry of one change; live viewers ask for the events after their seq."""
    event = ItemEvent(
        meeting_id=meeting.id,
        item_id=item.id if item is not None else None,
        seq=seq,
        actor_id=actor.id if actor is not None else None,
        action=action,
        before=before,
        after=after,
        at=utcnow(),
    )
    db.session.add(event)
    return event


def insert_item(actor, meeting, seq, item: Item) -> Item:
    """A new item written, with its "add" event (the item's id is needed first)."""
    db.session.add(item)
    db.session.flush()
    record_event(actor, meeting, seq, "add", item, after=snapshot(item))
    db.session.flush()
    return item


def check_version(item: Item, expected_version: int | None) -> None:
    if expected_version is None:
        return
    db.session.refresh(item)
    if item.ticket is not None:
        db.session.refresh(item.ticket)
    if int(expected_version) != item.version:
        raise StaleItem(item)


def check_alive(item: Item) -> None:
    if item.is_deleted:
        raise errors.Invalid(_("This item was deleted."), "deleted")


def finish_edit(actor, item: Item, seq: int, action: str, before: dict) -> Item:
    """Count the item's new version and record the change with its before and after."""
    item.version += 1
    item.updated_at = utcnow()
    db.session.flush()
    db.session.refresh(item)
    record_event(actor, item.meeting, seq, action, item, before=before, after=snapshot(item))
    db.session.flush()
    return item


def check_item_text(text: str | None, kind: str) -> str:
    text = checked_text(text, "text", _("Text"), textfields.ITEM_TEXT, multiline=True)
    if not text:
        raise errors.Invalid(_("The text cannot be blank."), "text")
    return text


def checked_text(value, field: str, label: str, limit: int, multiline: bool = False) -> str:
    """`value` cleaned and stripped (textfields), or errors.Invalid naming `field`."""
    return textfields.checked(
        value, field=field, label=label, limit=limit, error=errors.Invalid, multiline=multiline
    )


def id_of(value):
    """The id of an object, or the value itself when it is already an id."""
    return value.id if hasattr(value, "id") else value


def goal_of(meeting: Meeting, goal) -> Item | None:
    """A live goal of `meeting` (an Item or an id), or None for no goal."""
    if goal is None:
        return None
    goal = goal if isinstance(goal, Item) else db.session.get(Item, int(goal))
    if goal is None or goal.meeting_id != meeting.id or goal.kind != "goal" or goal.is_deleted:
        raise errors.Invalid(_("Choose a goal of this meeting."), "parent_item_id")
    return goal


def group_items(meeting_id: int, kind: str) -> list[Item]:
    """The live items `kind` is ordered among, in order."""
    return list(
        db.session.scalars(
            sa.select(Item)
            .where(
                Item.meeting_id == meeting_id,
                Item.kind.in_(ORDER_GROUP[kind]),
                Item.deleted_at.is_(None),
            )
            .order_by(Item.position, Item.id)
        )
    )


def next_position(meeting_id: int, kind: str) -> int:
    """The position after the last of `kind`'s ordering group, deleted items included."""
    top = db.session.scalar(
        sa.select(sa.func.max(Item.position)).where(
            Item.meeting_id == meeting_id, Item.kind.in_(ORDER_GROUP[kind])
        )
    )
    return 0 if top is None else top + 1


def snapshot(item: Item) -> dict:
    """What an item says, for ItemEvent before/after and the API (homework from its ticket)."""
    data = {
        "kind": item.kind,
        "text": item.text,
        "position": item.position,
        "meeting_id": item.meeting_id,
        "parent_item_id": item.parent_item_id,
        "ticket_id": item.ticket_id,
    }
    if item.kind == "homework" and item.ticket is not None:
        t = item.ticket
        data.update(
            who=t.who,
            assignee_id=t.assignee_id,
            what=t.subject,
            due_date=t.due_date.isoformat() if t.due_date else None,
        )
    return data
