"""Revisions: the canonical content of the minutes and its fingerprint, the nothing-dropped
check, freezing the minutes as a revision and re-opening them for the next one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _

import permissions
from accounts.models import User
from core import errors
from core.extensions import db
from core.timeutil import to_local, utcnow
from minutes import writes
from minutes.models import Attendee, Item, ItemEvent, Meeting, Revision
from tickets.models import Ticket

FORMAT = "sanmai.minutes/1"
# Edits are allowed in these states; freezing starts from them too.
OPEN_STATUSES = ("draft", "in_session")


class ConfirmationError(errors.Invalid):
    """A rule was broken; str(error) is a message for the person who asked."""


class FreezeRefused(ConfirmationError):
    def __init__(self, problems: list[Problem]):
        super().__init__(_("Some items still need an answer before the minutes can be frozen."))
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    """Something that would be dropped if the minutes were frozen now."""

    item_id: int | None
    message: str


# --- canonical content --------------------------------------------------------------------


def canonical_json(content: dict) -> str:
    """Keys sorted, no whitespace, non-ASCII as is: the bytes the fingerprint is taken of."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fingerprint_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _local_iso(value: datetime | None) -> str | None:
    return None if value is None else to_local(value).isoformat()


def _live_items(meeting: Meeting) -> list[Item]:
    """The live items with their tickets' assignees and statuses, in a few queries whatever
    their number (no query per row). The attendees' users and organisations are read into
    the session at the same time, so that `attendee.user.organisation` needs no query."""
    db.session.scalars(
        sa.select(User)
        .where(User.id.in_(sa.select(Attendee.user_id).where(Attendee.meeting_id == meeting.id)))
        .options(sa.orm.joinedload(User.organisation))
    ).all()
    ticket = sa.orm.selectinload(Item.ticket)
    return list(
        db.session.scalars(
            sa.select(Item)
            .where(Item.meeting_id == meeting.id, Item.deleted_at.is_(None))
            .order_by(Item.position, Item.id)
            .options(ticket.selectinload(Ticket.assignee), ticket.joinedload(Ticket.status))
        )
    )


def snapshot(meeting: Meeting, number: int | None = None) -> dict:
    """The content of the minutes as they stand (the working draft when `number` is None)."""
    items = _live_items(meeting)

    def of(kind):
        return [i for i in items if i.kind == kind]

    def homework(item: Item) -> dict:
        ticket = item.ticket
        return {
            "id": item.id,
            "goal": item.parent_item_id,
            "ticket": item.ticket_id,
            "who": ticket.who if ticket is not None else "",
            "what": ticket.subject if ticket is not None else "",
            "due_date": ticket.due_date.isoformat() if ticket and ticket.due_date else None,
            "status": ticket.status.name if ticket is not None else "",
        }

    unit = meeting.unit
    return {
        "format": FORMAT,
        "revision": number,
        "meeting": {
            "id": meeting.id,
            "title": meeting.title,
            "project": unit.root.name,
            "unit": unit.name,
            "starts_at": _local_iso(meeting.starts_at),
            "ends_at": _local_iso(meeting.ends_at),
            "place": meeting.place or "",
            "facilitator": meeting.facilitator.name if meeting.facilitator else "",
        },
        "attendees": [
            {
                "id": a.id,
                "name": a.name,
                "organisation": a.organisation_name,
                "present": bool(a.present),
                "guest": a.user_id is None,
            }
            for a in meeting.attendees
        ],
        "goals": [
            {
                "id": i.id,
                "text": i.text,
                "ticket": i.ticket_id,
                "not_discussed": bool(i.not_discussed),
            }
            for i in of("goal")
        ],
        "results": [{"id": i.id, "goal": i.parent_item_id, "text": i.text} for i in of("result")],
        "homework": [homework(i) for i in of("homework")],
        "breaks": [{"id": i.id, "text": i.text} for i in of("break")],
        "previews": [{"id": i.id, "text": i.text} for i in of("preview")],
    }


def content_of(revision: Revision) -> dict:
    return json.loads(revision.content)


def readable(content: dict) -> dict:
    """The content arranged for reading (revision page, PDF): times as Japan-time datetimes,
    attendees grouped by organisation, results and homework under the goal they answer."""
    meeting = content["meeting"]
    groups: dict[str, list[dict]] = {}
    for a in content["attendees"]:
        groups.setdefault(a["organisation"], []).append(a)
    goal_ids = {g["id"] for g in content["goals"]}
    homework = [
        {**h, "due": date.fromisoformat(h["due_date"]) if h["due_date"] else None}
        for h in content["homework"]
    ]
    return {
        **content,
        "starts": datetime.fromisoformat(meeting["starts_at"]) if meeting["starts_at"] else None,
        "ends": datetime.fromisoformat(meeting["ends_at"]) if meeting["ends_at"] else None,
        "attendee_groups": list(groups.items()),
        "goal_rows": [
            (
                g,
                [r for r in content["results"] if r["goal"] == g["id"]],
                [h for h in homework if h["goal"] == g["id"]],
            )
            for g in content["goals"]
        ],
        "loose_results": [r for r in content["results"] if r["goal"] not in goal_ids],
        "homework": homework,
        "goal_text": {g["id"]: g["text"] for g in content["goals"]},
    }


# --- nothing dropped ----------------------------------------------------------------------


def check_nothing_dropped(meeting: Meeting) -> list[Problem]:
    """What must be answered before freezing: the talk's rule, never drop an undecided thing."""
    items = _live_items(meeting)
    answered = {i.parent_item_id for i in items if i.kind in ("result", "homework")}
    problems = []
    if not any(a.present for a in meeting.attendees):
        problems.append(Problem(None, _("Nobody is marked present: who is to confirm?")))
    for goal in (i for i in items if i.kind == "goal"):
        if goal.id not in answered and not goal.not_discussed:
            problems.append(
                Problem(
                    goal.id,
                    _(
                        "Goal “%(text)s” has no result and no homework. Record what was "
                        "decided, keep it as homework, or mark it as not discussed.",
                        text=_short(goal.text),
                    ),
                )
            )
    for item in (i for i in items if i.kind == "homework"):
        ticket = item.ticket
        missing = []
        if ticket is None or not ticket.who:
            missing.append(_("who"))
        if not (ticket.subject if ticket is not None else item.text).strip():
            missing.append(_("what"))
        if ticket is None or ticket.due_date is None:
            missing.append(_("by when"))
        if missing:
            problems.append(
                Problem(
                    item.id,
                    _(
                        "Homework “%(text)s” lacks %(missing)s.",
                        text=_short(item.text or (ticket.subject if ticket else "")),
                        missing=" / ".join(missing),
                    ),
                )
            )
    return problems


def _short(text: str, limit: int = 40) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def mark_not_discussed(actor: User | None, goal: Item, not_discussed: bool = True) -> Item:
    """The facilitator's explicit answer for a goal that got no result or homework."""
    if goal.kind != "goal":
        raise ConfirmationError(_("Only a goal can be marked as not discussed."))
    meeting = goal.meeting
    seq = writes.begin_write(actor, meeting)
    before = {"not_discussed": goal.not_discussed}
    goal.not_discussed = bool(not_discussed)
    goal.version += 1
    goal.updated_at = utcnow()
    writes.record_event(
        actor,
        meeting,
        seq,
        "not_discussed",
        goal,
        before=before,
        after={"not_discussed": goal.not_discussed},
    )
    db.session.flush()
    return goal


# --- freezing and re-opening --------------------------------------------------------------


def latest_revision(meeting: Meeting) -> Revision | None:
    return db.session.scalar(
        sa.select(Revision)
        .where(Revision.meeting_id == meeting.id)
        .order_by(Revision.number.desc())
        .limit(1)
    )


def get_revision(meeting: Meeting, number: int) -> Revision | None:
    return db.session.scalar(
        sa.select(Revision).where(Revision.meeting_id == meeting.id, Revision.number == number)
    )


# History entries that do not change the text of the minutes.
NOT_EDITS = ("confirmation", "objection", "status", "freeze")


def changed_since_freeze(meeting: Meeting) -> bool:
    """True when the minutes were edited after the latest freeze (or never frozen).

    Edits of minutes awaiting confirmation already send them back in session; this also
    catches a status set back to "awaiting confirmation" by hand after edits.
    """
    frozen_seq = db.session.scalar(
        sa.select(sa.func.max(ItemEvent.seq)).where(
            ItemEvent.meeting_id == meeting.id, ItemEvent.action == "freeze"
        )
    )
    if frozen_seq is None:
        return True
    edited = db.session.scalar(
        sa.select(ItemEvent.id)
        .where(
            ItemEvent.meeting_id == meeting.id,
            ItemEvent.seq > frozen_seq,
            ItemEvent.action.not_in(NOT_EDITS),
        )
        .limit(1)
    )
    return edited is not None


def can_be_frozen(meeting: Meeting) -> bool:
    if meeting.status in OPEN_STATUSES:
        return True
    return meeting.status == "awaiting_confirmation" and changed_since_freeze(meeting)


def awaiting(meeting: Meeting, revision: Revision | None) -> bool:
    """Whether `revision` is the one attendees are asked to confirm now."""
    if revision is None or meeting.status != "awaiting_confirmation":
        return False
    latest = latest_revision(meeting)
    return latest is not None and latest.id == revision.id and not changed_since_freeze(meeting)


def freeze(actor: User, meeting: Meeting) -> Revision:
    """Freeze the minutes as the next revision; the meeting then awaits confirmation."""
    if not permissions.can_run_meeting(actor, meeting):
        raise errors.Forbidden("freeze")
    # The row's write lock (on SQLite, the write transaction) first: what is checked next cannot
    # change under us, and live followers see that something happened.
    seq = writes.bump_seq(meeting)
    if not can_be_frozen(meeting):
        raise ConfirmationError(_("These minutes are already frozen."))
    db.session.expire(meeting, ["items", "attendees"])
    problems = check_nothing_dropped(meeting)
    if problems:
        raise FreezeRefused(problems)
    previous = latest_revision(meeting)
    number = (previous.number if previous is not None else 0) + 1
    text = canonical_json(snapshot(meeting, number))
    revision = Revision(
        meeting_id=meeting.id,
        number=number,
        content=text,
        fingerprint=fingerprint_of(text),
        frozen_at=utcnow(),
        frozen_by_id=actor.id,
    )
    db.session.add(revision)
    meeting.status = "awaiting_confirmation"
    meeting.version += 1
    after = {"revision": number, "fingerprint": revision.fingerprint}
    writes.record_event(actor, meeting, seq, "freeze", after=after)
    db.session.flush()
    return revision


def start_new_revision(actor: User | None, meeting: Meeting) -> None:
    """The facilitator corrects frozen or confirmed minutes: back to in session, so the next
    freeze makes revision N+1 (an edit of frozen minutes does the same in writes.begin_write).
    Revision N and its confirmations are left untouched.
    """
    if meeting.status not in ("awaiting_confirmation", "confirmed"):
        return
    if meeting.status == "confirmed" and (
        actor is None or not permissions.can_run_meeting(actor, meeting)
    ):
        raise errors.Forbidden("correct confirmed minutes")
    writes.reopen(actor, meeting, writes.bump_seq(meeting))
