"""Meetings and their attendees: create, edit, status, and the next meeting of a series."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import permissions
from accounts.models import User
from core import errors, textfields
from core.extensions import db
from minutes import carry_over, items, writes
from minutes.models import MEETING_STATUSES, Attendee, Meeting
from projects.models import Project

STATUS_LABELS = {
    "draft": _l("Draft"),
    "in_session": _l("In session"),
    "awaiting_confirmation": _l("Awaiting confirmation"),
    "confirmed": _l("Confirmed"),
}


def status_label(status: str) -> str:
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status


def create_meeting(actor: User | None, unit: Project, data: dict) -> Meeting:
    """A draft meeting in a business unit; `data`: title, starts_at, ends_at, place, facilitator."""
    if not unit.is_unit:
        raise errors.Invalid(_("Meetings belong to a business unit."), "unit")
    if actor is not None and not permissions.can_create_meeting(actor, unit):
        raise errors.Forbidden("create meeting")
    meeting = Meeting(
        unit=unit,
        title=_meeting_title(data.get("title")),
        starts_at=data["starts_at"],
        ends_at=data.get("ends_at"),
        place=writes.checked_text(data.get("place"), "place", _("Place"), textfields.TITLE),
        facilitator_id=_facilitator_id(data.get("facilitator", data.get("facilitator_id")))
        or (actor.id if actor is not None else None),
        status="draft",
        previous_id=writes.id_of(data.get("previous")),
        created_by_id=actor.id if actor is not None else None,
        change_seq=1,
    )
    _check_times(meeting.starts_at, meeting.ends_at)
    db.session.add(meeting)
    db.session.flush()
    writes.record_event(actor, meeting, 1, "create_meeting", after={"title": meeting.title})
    db.session.flush()
    return meeting


def _meeting_title(title) -> str:
    title = writes.checked_text(title, "title", _("Title"), textfields.TITLE)
    if not title:
        raise errors.Invalid(_("The title cannot be blank."), "title")
    return title


def _check_times(starts_at: datetime, ends_at: datetime | None) -> None:
    if ends_at is not None and ends_at < starts_at:
        raise errors.Invalid(_("The meeting cannot end before it starts."), "ends_at")


def _facilitator_id(value) -> int | None:
    """The id of an existing user (a User or an id), or None for nobody."""
    value = writes.id_of(value)
    if value in (None, "", 0):
        return None
    if not isinstance(value, int) or db.session.get(User, value) is None:
        raise errors.Invalid(_("There is no such user."), "facilitator_id")
    return value


def update_meeting(
    actor: User | None, meeting: Meeting, data: dict, expected_version: int | None = None
) -> Meeting:
    seq = writes.begin_write(actor, meeting)
    db.session.refresh(meeting)
    if expected_version is not None and int(expected_version) != meeting.version:
        raise errors.Invalid(
            _("Someone else changed this meeting in the meantime. Reload and try again."),
            "version",
        )
    before, after = {}, {}
    for key in ("title", "starts_at", "ends_at", "place", "facilitator_id"):
        if key not in data:
            continue
        value = data[key]
        if key == "title":
            value = _meeting_title(value)
        elif key == "place":
            value = writes.checked_text(value, "place", _("Place"), textfields.TITLE)
        elif key == "facilitator_id":
            value = _facilitator_id(value)
        if value != getattr(meeting, key):
            before[key], after[key] = _plain(getattr(meeting, key)), _plain(value)
            setattr(meeting, key, value)
    _check_times(meeting.starts_at, meeting.ends_at)
    meeting.version += 1
    writes.record_event(actor, meeting, seq, "edit_meeting", before=before, after=after)
    db.session.flush()
    return meeting


def _plain(value):
    return value.isoformat() if isinstance(value, date | datetime) else value


def set_status(actor: User | None, meeting: Meeting, status: str) -> Meeting:
    """draft → in_session → awaiting_confirmation; `confirmed` is set by the confirmation."""
    if status not in MEETING_STATUSES:
        raise errors.Invalid(_("Unknown meeting status."), "status")
    if actor is not None and not permissions.can_run_meeting(actor, meeting):
        raise errors.Forbidden("run meeting")
    # Not writes.begin_write: a status change is not an edit of the text (and may leave confirmed).
    seq = writes.bump_seq(meeting)
    before = meeting.status
    meeting.status = status
    writes.record_event(
        actor, meeting, seq, "status", before={"status": before}, after={"status": status}
    )
    db.session.flush()
    return meeting


def touch(actor: User | None, meeting: Meeting, action: str, data: dict | None = None) -> int:
    """Bump change_seq for a change made elsewhere (e.g. a revision frozen or confirmed), so
    live viewers refresh; works on confirmed minutes too (it changes no minutes text)."""
    seq = writes.bump_seq(meeting)
    writes.record_event(actor, meeting, seq, action, after=data)
    db.session.flush()
    return seq


# --- attendees -------------------------------------------------------------------------------


def add_attendee(
    actor: User | None,
    meeting: Meeting,
    user: User | None = None,
    guest_name: str | None = None,
    guest_organisation: str | None = None,
    present: bool = True,
    guest_email: str | None = None,
) -> Attendee:
    if user is None:
        guest_name = writes.checked_text(guest_name, "guest_name", _("Guest name"), textfields.NAME)
        guest_organisation = writes.checked_text(
            guest_organisation, "guest_organisation", _("Organisation"), textfields.NAME
        )
        guest_email = writes.checked_text(guest_email, "guest_email", _("E-mail"), textfields.EMAIL)
    seq = writes.begin_write(actor, meeting)
    if user is None:
        if not guest_name:
            raise errors.Invalid(_("Choose a member or give the guest's name."), "guest_name")
    elif any(a.user_id == user.id for a in meeting.attendees):
        raise errors.Invalid(_("%(name)s is already an attendee.", name=user.name), "user_id")
    attendee = Attendee(
        meeting=meeting,
        user=user,
        guest_name=None if user is not None else guest_name,
        guest_organisation=None if user is not None else guest_organisation,
        guest_email=None if user is not None else (guest_email or None),
        present=present,
        position=len(meeting.attendees),
    )
    db.session.add(attendee)
    db.session.flush()
    writes.record_event(
        actor, meeting, seq, "add_attendee", after={"name": attendee.name, "present": present}
    )
    db.session.flush()
    return attendee


def set_presence(actor: User | None, attendee: Attendee, present: bool) -> Attendee:
    meeting = attendee.meeting
    seq = writes.begin_write(actor, meeting)
    attendee.present = bool(present)
    writes.record_event(
        actor, meeting, seq, "presence", after={"name": attendee.name, "present": present}
    )
    db.session.flush()
    return attendee


def remove_attendee(actor: User | None, attendee: Attendee) -> None:
    meeting = attendee.meeting
    seq = writes.begin_write(actor, meeting)
    writes.record_event(actor, meeting, seq, "remove_attendee", before={"name": attendee.name})
    meeting.attendees.remove(attendee)
    db.session.flush()


# --- series ----------------------------------------------------------------------------------


def copy_as_next(actor: User | None, meeting: Meeting, starts_at: datetime, **data) -> Meeting:
    """The next meeting of a series: same unit, attendees and the goals not yet reached."""
    duration = (meeting.ends_at - meeting.starts_at) if meeting.ends_at else None
    nxt = create_meeting(
        actor,
        meeting.unit,
        {
            "title": data.get("title") or meeting.title,
            "starts_at": starts_at,
            "ends_at": starts_at + duration if duration else None,
            "place": data.get("place", meeting.place),
            "facilitator_id": meeting.facilitator_id,
            "previous": meeting,
        },
    )
    for a in meeting.attendees:
        add_attendee(actor, nxt, a.user, a.guest_name, a.guest_organisation, True, a.guest_email)
    for goal in carry_over.unfinished_goals(meeting):
        items.add_item(actor, nxt, "goal", goal.text, ticket=goal.ticket_id, origin=goal)
    return nxt
