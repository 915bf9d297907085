"""Confirmation of a revision: each present attendee's sign-off or objection, guests' one-time
links, and the live count of who has answered.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.dialects import postgresql, sqlite

import permissions
from accounts.models import User
from core import errors, textfields
from core.extensions import db
from core.timeutil import utcnow
from minutes import revisions, writes
from minutes.models import Attendee, Confirmation, Meeting, Revision
from minutes.revisions import ConfirmationError

METHODS = ("own_device", "in_room", "link")
LINK_SALT = "sanmai.confirm-link"


class AlreadyConfirmed(ConfirmationError):
    def __init__(self, confirmation: Confirmation | None = None):
        super().__init__(_("This attendee has already answered this revision."))
        self.confirmation = confirmation


class LinkInvalid(ConfirmationError):
    pass


def method_label(method: str) -> str:
    return {
        "own_device": _("on own device"),
        "in_room": _("in the room"),
        "link": _("by link"),
    }.get(method, method)


# --- confirmation -------------------------------------------------------------------------


def required_attendee_ids(revision: Revision) -> list[int]:
    """Who must confirm `revision`: the attendees present when it was frozen."""
    # Kept on the loaded row: a revision's content never changes.
    cached = revision.__dict__.get("_required_ids")
    if cached is None:
        cached = [a["id"] for a in revisions.content_of(revision)["attendees"] if a["present"]]
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
    seq = writes.bump_seq(meeting)
    if attendee.meeting_id != meeting.id:
        raise ConfirmationError(_("This person is not an attendee of this meeting."))
    existing = _find_answer(revision, attendee)
    if existing is not None and _answered_once(existing, method, objection):
        raise AlreadyConfirmed(existing)
    if meeting.status == "confirmed":
        raise ConfirmationError(_("These minutes are already confirmed."))
    if not revisions.awaiting(meeting, revision):
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
        writes.record_event(
            actor, meeting, seq, "objection", after={**answer, "objection": objection}
        )
    else:
        writes.record_event(actor, meeting, seq, "confirmation", after=answer)
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
    revision = revisions.latest_revision(meeting)
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
    content = revisions.content_of(revision)
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
