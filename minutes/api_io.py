"""What the JSON API reads and answers: its error, request bodies and values checked against
openapi.json, and the JSON shapes of an item and a meeting.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from accounts.models import User
from core import errors, parsing
from core.markup import render_markdown
from core.timeutil import JST, local_today, to_local
from minutes import bodies, items
from minutes.models import Item, Meeting
from minutes.quickentry import parse_date
from projects.services import members_of


class ApiError(Exception):
    """An answer other than success: its status, message and extra JSON fields."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status, self.extra = status, extra


# --- JSON shapes -----------------------------------------------------------------------------


def local_iso(value: datetime | None) -> str | None:
    return None if value is None else to_local(value).isoformat()


def _user(user: User | None) -> dict | None:
    return None if user is None else {"id": user.id, "login": user.login, "name": user.name}


def item_json(item: Item) -> dict:
    data = {
        "id": item.id,
        "meeting_id": item.meeting_id,
        "kind": item.kind,
        "sheet": item.sheet,
        "position": item.position,
        "text": item.text,
        "html": str(render_markdown(item.text)),
        "parent_item_id": item.parent_item_id,
        "origin_item_id": item.origin_item_id,
        "version": item.version,
        "deleted": item.is_deleted,
        "ticket": None,
    }
    if item.ticket is not None:
        t = item.ticket
        data["ticket"] = {
            "id": t.id,
            "subject": t.subject,
            "status": t.status.name,
            "is_closed": t.status.is_closed,
            "assignee": _user(t.assignee),
            "guest_name": t.guest_name,
            "due_date": t.due_date.isoformat() if t.due_date else None,
        }
        if item.kind == "homework":
            data.update(who=t.who, what=t.subject, due_date=data["ticket"]["due_date"])
    return data


def meeting_json(meeting: Meeting, with_items: bool = False) -> dict:
    data = {
        "id": meeting.id,
        "unit": {
            "id": meeting.unit.id,
            "identifier": meeting.unit.identifier,
            "name": meeting.unit.name,
        },
        "title": meeting.title,
        "starts_at": local_iso(meeting.starts_at),
        "ends_at": local_iso(meeting.ends_at),
        "place": meeting.place,
        "facilitator": _user(meeting.facilitator),
        "status": meeting.status,
        "previous_id": meeting.previous_id,
        "change_seq": meeting.change_seq,
        "version": meeting.version,
        "url": url_for("minutes.show", meeting_id=meeting.id, _external=True),
        "attendees": [
            {
                "id": a.id,
                "user": _user(a.user),
                "name": a.name,
                "organisation": a.organisation_name,
                "present": a.present,
            }
            for a in meeting.attendees
        ],
    }
    if with_items:
        unseen = items.unseen_homework(current_user, meeting)
        data["items"] = [item_json(i) for i in items.sheets(meeting, unseen)["all"]]
    return data


# --- input -----------------------------------------------------------------------------------


def json_body() -> dict:
    """The JSON object sent, checked against its operation's request schema in openapi.json
    (minutes/bodies.py): 400 when it is not a JSON object (parsing.JSONProvider refuses deep
    nesting and lone surrogates), 422 naming the first field of a wrong type or range."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiError(400, _("Send a JSON object."))
    schema = bodies.request_schema(
        _OPERATION_PATH.sub(r"{\1}", request.url_rule.rule), request.method
    )
    return bodies.check(data, schema) if schema else data


_OPERATION_PATH = re.compile(r"<(?:\w+:)?(\w+)>")  # /items/<id:item_id> → /items/{item_id}


def datetime_value(value, field: str) -> datetime | None:
    """ISO 8601 within parsing.EARLIEST … LATEST; without an offset the time is Japan time.
    Stored as naive UTC."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise errors.Invalid(_("Give a date and time like 2026-12-01T10:00."), field) from None
    if not parsing.in_date_range(parsed):
        raise errors.Invalid(parsing.date_range_message(), field)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=JST)
    return parsed.astimezone(UTC).replace(tzinfo=None)


def due_value(value) -> date:
    due = parse_date(str(value or ""), local_today())
    if due is None:
        raise errors.Invalid(_("Give a date by which it is to be done, e.g. 12/5."), "due_date")
    return due


def who_value(meeting: Meeting, value) -> User | str | None:
    """A member's id or login; anything else is a guest's name."""
    if value in (None, ""):
        return None
    members = members_of(meeting.unit)
    if isinstance(value, int):
        return next((u for u in members if u.id == value), None) or str(value)
    login = str(value).lstrip("@")
    return next((u for u in members if u.login == login), None) or str(value)


def version_value(data: dict):
    value = data.get("version", request.args.get("version"))
    if value in (None, ""):
        return None
    number = parsing.to_int(value)
    if number is None:
        raise errors.Invalid(_("The version must be a number."), "version")
    return number
