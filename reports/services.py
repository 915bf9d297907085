"""Decision register writes: a later decision supersedes an earlier one (both stay).

The change is recorded as an ItemEvent on the earlier decision's meeting (its history), and
bumps the meeting's change_seq so live viewers refresh. It does not touch the minutes' text,
so it is allowed on confirmed minutes too — superseding is what happens to confirmed
decisions.
"""

from __future__ import annotations

from flask_babel import gettext as _

import permissions
from accounts.models import User
from core import errors
from core.extensions import db
from minutes import writes
from minutes.models import Item


class DecisionError(errors.Invalid):
    """A rule was broken; str(error) is a message for the person who asked."""


def _is_later(new: Item, old: Item) -> bool:
    return (new.meeting.starts_at, new.id) > (old.meeting.starts_at, old.id)


def _record(actor: User | None, item: Item, before, after) -> None:
    seq = writes.bump_seq(item.meeting)
    writes.record_event(
        actor,
        item.meeting,
        seq,
        "supersede",
        item,
        before={"superseded_by_id": before},
        after={"superseded_by_id": after},
    )
    item.version += 1
    db.session.flush()


def mark_superseded(actor: User | None, old: Item, new: Item) -> Item:
    """`new` (a later decision) supersedes `old`; `old` is kept, marked and linked."""
    if actor is not None and not (
        permissions.can_supersede_decision(actor, old)
        and permissions.can_view_project(actor, new.meeting.unit)
    ):
        raise errors.Forbidden("supersede decision")
    for item in (old, new):
        if item.kind != "result" or item.is_deleted:
            raise DecisionError(_("Only decisions (results) can supersede one another."))
    if old.id == new.id:
        raise DecisionError(_("A decision cannot supersede itself."))
    if not _is_later(new, old):
        raise DecisionError(_("A decision can only be superseded by a later one."))
    if old.superseded_by_id is not None:
        if old.superseded_by_id == new.id:
            return old
        raise DecisionError(
            _("This decision is already superseded. Undo that first to link another one.")
        )
    before = old.superseded_by_id
    old.superseded_by_id = new.id
    _record(actor, old, before, new.id)
    return old


def clear_superseded(actor: User | None, old: Item) -> Item:
    """Undo a mistaken link: `old` stands again."""
    if actor is not None and not permissions.can_supersede_decision(actor, old):
        raise errors.Forbidden("supersede decision")
    if old.superseded_by_id is None:
        return old
    before = old.superseded_by_id
    old.superseded_by_id = None
    _record(actor, old, before, None)
    return old
