"""Revisions and confirmation: freeze the three sheets, sign off, lock.

A revision stores the canonical JSON of the sheets and the attendees (docs/FINGERPRINT.md)
and its SHA-256. Each present attendee confirms (or objects to) the latest revision once:
the database's UNIQUE(revision_id, attendee_id) decides, so fifty people confirming in the
same second land exactly once each without locks in Python.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.dialects import postgresql, sqlite

import permissions
from accounts.models import User
from core import errors, textfields
from core.extensions import db
from core.timeutil import to_local, utcnow
from minutes import writes
from minutes.models import Attendee, Confirmation, Item, ItemEvent, Meeting, Revision
from tickets.models import Ticket

FORMAT = "sanmai.minutes/1"
METHODS = ("own_device", "in_room", "link")
LINK_SALT = "sanmai.confirm-link"
# Edits are allowed in these states; freezing starts from them too.
OPEN_STATUSES = ("draft", "in_session")


class ConfirmationError(errors.Invalid):
    """A rule was broken; str(error) is a message for the person who asked."""


class AlreadyConfirmed(ConfirmationError):
    def __init__(self, confirmation: Confirmation | None = None):
        super().__init__(_("This attendee has already answered this revision."))
        self.confirmation = confirmation


class FreezeRefused(ConfirmationError):
    def __init__(self, problems: list[Problem]):
        super().__init__(_("Some items still need an answer before the minutes can be frozen."))
        self.problems = problems


class LinkInvalid(ConfirmationError):
    pass


@dataclass(frozen=True)
class Problem:
    """Something that would be dropped if the minutes were frozen now."""

    item_id: int | None
    message: str


def method_label(method: str) -> str:
    return {
        "own_device": _("on own device"),
        "in_room": _("in the room"),
        "link": _("by link"),
    }.get(method, method)


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


def _lock(meeting: Meeting) -> int:
    """Take the meeting's next change_seq: the UPDATE takes the row's write lock (and on SQLite
    starts the write transaction), so what is checked next cannot change under us, and live
    followers see that something happened."""
    return writes.bump_seq(meeting)


def _event(actor: User | None, meeting: Meeting, seq: int, action: str, after: dict) -> None:
    writes.record_event(actor, meeting, seq, action, after=after)


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
    seq = _lock(meeting)
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
    _event(actor, meeting, seq, "freeze", {"revision": number, "fingerprint": revision.fingerprint})
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
    writes.reopen(actor, meeting, _lock(meeting))


# --- confirmation -------------------------------------------------------------------------


def required_attendee_ids(revision: Revision) -> list[int]:
    """Who must confirm `revision`: the attendees present when it was frozen."""
    # Kept on the loaded row: a revision's content never changes.
    cached = revision.__dict__.get("_required_ids")
    if cached is None:
        cached = [a["id"] for a in content_of(revision)["attendees"] if a["present"]]
        revision.__dict__["_required_ids"] = cached
    return cached


def confirmations_by_attendee(revision: Revision) -> dict[int, Confirmation]:
    rows = db.session.scalars(
        sa.select(Confirmation).where(Confirmation.revision_id == revision.id)
    )
    return {c.attendee_id: c for c in rows}


def is_confirmed(revision: Revision) -> bool:
    """Every attendee present at the freeze confirmed it, with no objection standing."""
    required = required_attendee_ids(revision)
    confirmed = db.session.scalar(
        sa.select(sa.func.count(Confirmation.id)).where(
            Confirmation.revision_id == revision.id,
            Confirmation.objection.is_(None),
            Confirmation.attendee_id.in_(required),
        )
    )
    return confirmed == len(required)


def attendee_for(user: User, meeting: Meeting) -> Attendee | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        sa.select(Attendee).where(Attendee.meeting_id == meeting.id, Attendee.user_id == user.id)
    )


def _find_answer(revision: Revision, attendee: Attendee) -> Confirmation | None:
    return db.session.execute(
        sa.select(Confirmation)
        .where(Confirmation.revision_id == revision.id, Confirmation.attendee_id == attendee.id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _answered_once(existing: Confirmation, method: str, objection: str | None) -> bool:
    """An objection may be withdrawn by confirming; anything else is answered once."""
    return existing.objection is None or objection is not None or method == "link"


def _check_can_answer(
    revision: Revision, attendee: Attendee, method: str, objection: str | None
) -> tuple[Meeting, int]:
    """Lock the meeting row, then check the revision is still the one awaiting answers.

    The lock orders concurrent sign-offs (PostgreSQL) or they are serialised anyway (SQLite's
    one writer): the answer that completes the set sees all the others. Someone who already
    answered is told so first, even when their answer completed the set a moment ago.
    """
    meeting = db.session.get(Meeting, revision.meeting_id)
    seq = _lock(meeting)
    if attendee.meeting_id != meeting.id:
        raise ConfirmationError(_("This person is not an attendee of this meeting."))
    existing = _find_answer(revision, attendee)
    if existing is not None and _answered_once(existing, method, objection):
        raise AlreadyConfirmed(existing)
    if meeting.status == "confirmed":
        raise ConfirmationError(_("These minutes are already confirmed."))
    if not awaiting(meeting, revision):
        raise ConfirmationError(
            _("Revision %(n)s is no longer the one to confirm.", n=revision.number)
        )
    if attendee.id not in required_attendee_ids(revision):
        raise ConfirmationError(_("Only attendees present at the meeting confirm the minutes."))
    return meeting, seq


def _insert_answer(values: dict) -> bool:
    """INSERT unless (revision, attendee) is already there; True when this call inserted it."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Confirmation)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["revision_id", "attendee_id"])
    )
    # RETURNING, not rowcount: an ORM-enabled INSERT reports no rowcount on psycopg.
    return db.session.execute(stmt.returning(Confirmation.id)).scalar() is not None


def _answer(
    actor: User | None,
    revision: Revision,
    attendee: Attendee,
    method: str,
    objection: str | None,
) -> Confirmation:
    if method not in METHODS:
        raise ConfirmationError(f"method {method!r}")
    meeting, seq = _check_can_answer(revision, attendee, method, objection)
    now = utcnow()
    values = {
        "revision_id": revision.id,
        "attendee_id": attendee.id,
        "user_id": attendee.user_id,
        "name": attendee.name,
        "organisation": attendee.organisation_name,
        "method": method,
        "recorded_by_id": actor.id if actor is not None and method == "in_room" else None,
        "fingerprint": revision.fingerprint,
        "objection": objection,
        "at": now,
    }
    # The unique constraint is the last word: a concurrent answer makes this insert a no-op.
    if not _insert_answer(values):
        existing = _find_answer(revision, attendee)
        if _answered_once(existing, method, objection):
            raise AlreadyConfirmed(existing)
        changed = db.session.execute(
            sa.update(Confirmation)
            .where(Confirmation.id == existing.id, Confirmation.objection.is_not(None))
            .values(
                objection=None,
                method=method,
                recorded_by_id=values["recorded_by_id"],
                at=now,
            )
            .returning(Confirmation.id),
            execution_options={"synchronize_session": False},
        ).scalar()
        if changed is None:
            raise AlreadyConfirmed(existing)
    confirmation = _find_answer(revision, attendee)
    answer = {"revision": revision.number, "attendee": attendee.id, "method": method}
    if objection is not None:
        _event(actor, meeting, seq, "objection", {**answer, "objection": objection})
    else:
        _event(actor, meeting, seq, "confirmation", answer)
        if is_confirmed(revision):
            meeting.status = "confirmed"
            meeting.version += 1
    db.session.flush()
    return confirmation


def confirm(actor: User, revision: Revision, attendee: Attendee) -> Confirmation:
    """The attendee confirms on their own device (logged in as themselves)."""
    if not permissions.can_confirm_as(actor, attendee):
        raise errors.Forbidden("confirm for someone else")
    return _answer(actor, revision, attendee, "own_device", None)


def object_to(actor: User, revision: Revision, attendee: Attendee, comment: str) -> Confirmation:
    """The attendee objects with a comment instead of confirming; the facilitator sees it."""
    if not permissions.can_confirm_as(actor, attendee):
        raise errors.Forbidden("object for someone else")
    return _answer(actor, revision, attendee, "own_device", _objection_text(comment))


def record_in_room(facilitator: User, revision: Revision, attendee: Attendee) -> Confirmation:
    """The facilitator records an attendee's sign-off given in the room."""
    meeting = db.session.get(Meeting, revision.meeting_id)
    if not permissions.can_run_meeting(facilitator, meeting):
        raise errors.Forbidden("record confirmation")
    return _answer(facilitator, revision, attendee, "in_room", None)


def _objection_text(comment: str) -> str:
    comment = textfields.clean(comment, multiline=True).strip()
    if not comment:
        raise ConfirmationError(_("Please say what is wrong, so the facilitator can fix it."))
    if len(comment) > textfields.OBJECTION:
        raise ConfirmationError(textfields.too_long_message(_("Objection"), textfields.OBJECTION))
    return comment


# --- one-time links for guests ------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=LINK_SALT)


def link_max_age() -> int:
    return int(current_app.config.get("SANMAI_CONFIRM_LINK_HOURS", 72)) * 3600


def make_link_token(actor: User, revision: Revision, attendee: Attendee) -> str:
    """A signed token naming (revision, attendee): it expires, and its one use is the answer."""
    meeting = db.session.get(Meeting, revision.meeting_id)
    if not permissions.can_run_meeting(actor, meeting):
        raise errors.Forbidden("make confirmation link")
    if attendee.meeting_id != meeting.id:
        raise ConfirmationError(_("This person is not an attendee of this meeting."))
    return _serializer().dumps({"r": revision.id, "a": attendee.id})


def read_link_token(token: str) -> tuple[Revision, Attendee]:
    try:
        data = _serializer().loads(token, max_age=link_max_age())
    except SignatureExpired as error:
        raise LinkInvalid(_("This confirmation link has expired. Ask for a new one.")) from error
    except BadSignature as error:
        raise LinkInvalid(_("This confirmation link is not valid.")) from error
    revision = db.session.get(Revision, data.get("r"))
    attendee = db.session.get(Attendee, data.get("a"))
    if revision is None or attendee is None or attendee.meeting_id != revision.meeting_id:
        raise LinkInvalid(_("This confirmation link is not valid."))
    return revision, attendee


def send_link(actor: User, revision: Revision, attendee: Attendee, address: str, url: str) -> None:
    """E-mail a one-time link (`url`, made by the caller from make_link_token) to `address`."""
    from core.mail import Mailer, MailError, build_message

    meeting = db.session.get(Meeting, revision.meeting_id)
    if not permissions.can_run_meeting(actor, meeting):
        raise errors.Forbidden("send confirmation link")
    address = (address or "").strip()
    if "@" not in address or any(c in address for c in "\r\n,;<> "):
        raise ConfirmationError(_("Give one valid e-mail address."))
    subject = _("Please confirm the minutes: %(title)s", title=meeting.title)
    body = _(
        "%(name)s,\n\nplease read the minutes of “%(title)s” (revision %(n)s) and confirm "
        "them, or say what is wrong, through this link. It works once, without logging in, "
        "for %(hours)s hours:\n\n%(url)s\n\n%(facilitator)s",
        name=attendee.name,
        title=meeting.title,
        n=revision.number,
        hours=link_max_age() // 3600,
        url=url,
        facilitator=actor.name,
    )
    config = current_app.config
    try:
        with Mailer(config) as mailer:
            mailer.send(build_message(config, address, subject, body))
    except MailError as error:
        raise ConfirmationError(
            _("The e-mail could not be sent: %(error)s", error=error)
        ) from error


def answer_by_link(token: str, objection: str | None = None) -> Confirmation:
    """A guest confirms (or objects) through their link; the stored answer is the link's use."""
    revision, attendee = read_link_token(token)
    if objection is not None:
        objection = _objection_text(objection)
    return _answer(None, revision, attendee, "link", objection)


# --- what the projector and the pages show -------------------------------------------------


def confirmation_state(meeting: Meeting) -> dict:
    """Who has answered the latest revision: the projector's live count."""
    revision = latest_revision(meeting)
    state = {
        "meeting": meeting.id,
        "status": meeting.status,
        "revision": None,
        "fingerprint": None,
        "required": 0,
        "confirmed": 0,
        "objections": 0,
        "attendees": [],
    }
    if revision is None:
        return state
    content = content_of(revision)
    answers = confirmations_by_attendee(revision)
    rows = []
    for a in content["attendees"]:
        if not a["present"]:
            continue
        answer = answers.get(a["id"])
        if answer is None:
            kind = "pending"
        elif answer.objection is not None:
            kind = "objected"
        else:
            kind = "confirmed"
        rows.append(
            {
                "attendee": a["id"],
                "name": a["name"],
                "organisation": a["organisation"],
                "state": kind,
                "method": answer.method if answer is not None else None,
                "at": answer.at.isoformat() + "Z" if answer is not None else None,
                "objection": answer.objection if answer is not None else None,
            }
        )
    state.update(
        revision=revision.number,
        fingerprint=revision.fingerprint,
        required=len(rows),
        confirmed=sum(r["state"] == "confirmed" for r in rows),
        objections=sum(r["state"] == "objected" for r in rows),
        attendees=rows,
    )
    return state
