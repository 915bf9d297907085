"""Loading a meeting through the visibility filter and checking what the current user may do:
the route decorator of the meeting pages (views, item_views, confirm_views) and the JSON API."""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask import url_for
from flask_login import current_user

import permissions
from core import errors
from core.extensions import db
from minutes import items
from minutes.models import Attendee, Item, Meeting


def load_meeting(meeting_id: int, user=None) -> Meeting:
    """The meeting if `user` may see it, else NotFound (404)."""
    meeting = db.session.scalar(
        sa.select(Meeting).where(
            Meeting.id == meeting_id,
            permissions.visible(user or current_user, Meeting.unit_id),
        )
    )
    if meeting is None:
        raise errors.NotFound("meeting")
    return meeting


def _require_run(meeting: Meeting) -> None:
    if not permissions.can_run_meeting(current_user, meeting):
        raise errors.Forbidden("run meeting")


def _require_create(meeting: Meeting) -> None:
    if not permissions.can_create_meeting(current_user, meeting.unit):
        raise errors.Forbidden("create meeting")


# What a route may ask of the current user, checked in the order given.
CHECKS = {
    "unlocked": permissions.require_unlocked,  # Locked: 409 with the reason
    "edit": lambda meeting: permissions.require_edit_minutes(current_user, meeting),
    "run": _require_run,
    "create": _require_create,
}


def _part(model, meeting: Meeting, part_id: int):
    """An item or attendee of `meeting` (404 when it belongs to another meeting)."""
    part = db.session.get(model, part_id)
    if part is None or part.meeting_id != meeting.id:
        raise errors.NotFound(model.__name__.lower())
    if model is Item and items.is_unseen_homework(current_user, part):
        raise errors.NotFound("item")  # homework of a private ticket the user may not see
    return part


def meeting_view(*checks: str, back=None, item: bool = False, attendee: bool = False):
    """Route decorator: load the meeting of `meeting_id` through the visibility filter (404),
    apply `checks` (CHECKS: 403, or 409 when locked), and call the view with `meeting` in
    place of `meeting_id` — and, with `item` or `attendee`, with that part of the meeting in
    place of `item_id` or `attendee_id` (404 when it is not this meeting's). When a service
    then refuses the input, the person is sent back with the message to
    `back(meeting, **view_args)` (the ids), by default the meeting page."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(meeting_id, **view_args):
            meeting = load_meeting(meeting_id)
            for check in checks:
                CHECKS[check](meeting)
            if back is None:
                errors.return_to(url_for("minutes.show", meeting_id=meeting.id))
            else:
                errors.return_to(back(meeting, **view_args))
            loaded = dict(view_args)
            if item:
                loaded["item"] = _part(Item, meeting, loaded.pop("item_id"))
            if attendee:
                loaded["attendee"] = _part(Attendee, meeting, loaded.pop("attendee_id"))
            return view(meeting, **loaded)

        return wrapper

    return decorate
