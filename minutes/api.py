"""JSON API for meetings and their items, under /api/v1/ (documented in minutes/openapi.json).

Clients authenticate with their API token in X-API-Key (accounts.views.load_user_from_request);
the projector view's JavaScript uses the same routes with its login session, and then sends
the CSRF token in X-CSRFToken. Access rules are the pages' (load → 404, check → 403).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

import permissions
from accounts import public
from accounts import services as accounts
from core import errors, parsing
from core.extensions import csrf, db
from core.timeutil import local_today
from minutes import carry_over, homework, writes
from minutes import items as minutes_items
from minutes import meetings as minutes_meetings
from minutes.api_io import (
    ApiError,
    datetime_value,
    due_value,
    item_json,
    json_body,
    local_iso,
    meeting_json,
    version_value,
    who_value,
)
from minutes.live import live_etag
from minutes.loading import CHECKS, load_meeting, meeting_view
from minutes.models import Item, Meeting
from minutes.quickentry import parse_homework
from projects.services import members_of

bp = Blueprint("minutes_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
OPENAPI = Path(__file__).with_name("openapi.json")
PER_PAGE = 100


@bp.before_request
def _csrf_for_sessions():
    """A request signed by an API key cannot be forged by another site; a session one can."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if accounts.user_by_api_token(request.headers.get("X-API-Key")) is not None:
        return
    csrf.protect()


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return jsonify(errors=[str(error)], **error.extra), error.status


@bp.errorhandler(errors.DomainError)
def _domain_error(error: errors.DomainError):
    """One JSON shape: `errors` with the message, plus what the client needs to recover."""
    db.session.rollback()
    if isinstance(error, errors.Forbidden):
        return jsonify(errors=[_("You are not allowed to do this.")]), 403
    if isinstance(error, errors.NotFound):
        return (
            jsonify(
                errors=[_("The page you are looking for does not exist, or is not yours to see.")]
            ),
            404,
        )
    if isinstance(error, writes.StaleItem):
        return jsonify(errors=[str(error)], item=item_json(error.item)), 409
    if isinstance(error, errors.Locked):
        return jsonify(errors=[str(error)], locked=True), 409
    return jsonify(errors=[str(error)], field=error.field), error.status


def item_view(*checks: str):
    """Route decorator: load the item of `item_id` (404 unless its meeting is visible), apply
    `checks` to its meeting (CHECKS of minutes.loading) and call the view with `item`."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(item_id, **view_args):
            item = db.session.get(Item, item_id)
            if item is None:
                raise errors.NotFound("item")
            load_meeting(item.meeting_id)
            if minutes_items.is_unseen_homework(current_user, item):
                raise errors.NotFound("item")
            for check in checks:
                CHECKS[check](item.meeting)
            return view(item, **view_args)

        return wrapper

    return decorate


# --- meetings --------------------------------------------------------------------------------


@bp.get("/meetings")
def meetings():
    query = sa.select(Meeting).where(permissions.visible(current_user, Meeting.unit_id))
    if request.args.get("unit"):
        unit = permissions.load_project(current_user, request.args["unit"])
        query = query.where(Meeting.unit_id == unit.id)
    if request.args.get("status"):
        query = query.where(Meeting.status == request.args["status"])
    page = parsing.arg_int(request.args, "page", 1, low=1, high=parsing.MAX_PAGE)
    rows = db.session.scalars(
        query.order_by(Meeting.starts_at.desc(), Meeting.id.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    return jsonify(meetings=[meeting_json(m) for m in rows], page=page, per_page=PER_PAGE)


@bp.post("/meetings")
def create_meeting():
    data = json_body()
    unit = permissions.load_project(current_user, data.get("unit") or data.get("unit_id") or 0)
    if not permissions.can_create_meeting(current_user, unit):
        raise errors.Forbidden
    starts = datetime_value(data.get("starts_at"), "starts_at")
    if starts is None:
        raise errors.Invalid(_("Give a date and time like 2026-12-01T10:00."), "starts_at")
    meeting = minutes_meetings.create_meeting(
        current_user,
        unit,
        {
            "title": data.get("title"),
            "starts_at": starts,
            "ends_at": datetime_value(data.get("ends_at"), "ends_at"),
            "place": data.get("place"),
            "facilitator_id": data.get("facilitator_id"),
        },
    )
    db.session.commit()
    return jsonify(meeting=meeting_json(meeting, with_items=True)), 201


@bp.get("/meetings/<id:meeting_id>")
@meeting_view()
def meeting(meeting):
    return jsonify(meeting=meeting_json(meeting, with_items=True))


@bp.patch("/meetings/<id:meeting_id>")
@meeting_view()
def update_meeting(meeting):
    data = json_body()
    changes = {k: data[k] for k in ("title", "place", "facilitator_id") if k in data}
    for key in ("starts_at", "ends_at"):
        if key in data:
            changes[key] = datetime_value(data[key], key)
    if changes:
        permissions.require_edit_minutes(current_user, meeting)
        minutes_meetings.update_meeting(current_user, meeting, changes, version_value(data))
    if "status" in data and data["status"] != meeting.status:
        if data["status"] == "confirmed":
            raise errors.Invalid(_("Minutes are confirmed by their attendees."), "status")
        if not permissions.can_run_meeting(current_user, meeting):
            raise errors.Forbidden
        permissions.require_unlocked(meeting)
        minutes_meetings.set_status(current_user, meeting, data["status"])
    db.session.commit()
    return jsonify(meeting=meeting_json(meeting, with_items=True))


@bp.get("/meetings/<id:meeting_id>/changes")
@meeting_view()
def changes(meeting):
    """Live following: 304 while nothing changed (ETag), else the events after `since`."""
    etag = live_etag(meeting)
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        since = parsing.arg_int(request.args, "since", 0)
        unseen = minutes_items.unseen_homework(current_user, meeting)
        response = jsonify(
            seq=meeting.change_seq,
            events=[
                {
                    "seq": e.seq,
                    "action": e.action,
                    "item_id": e.item_id,
                    "at": local_iso(e.at),
                    "before": e.before,
                    "after": e.after,
                }
                for e in minutes_items.events_since(meeting, since)
                if not _about(e, unseen)
            ],
        )
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _about(event, tickets: frozenset[int]) -> bool:
    """The event is about homework of one of `tickets` (its snapshots name the ticket)."""
    return bool(tickets) and any(
        (snapshot or {}).get("ticket_id") in tickets for snapshot in (event.before, event.after)
    )


# --- items -----------------------------------------------------------------------------------


@bp.get("/meetings/<id:meeting_id>/items")
@meeting_view()
def items(meeting):
    unseen = minutes_items.unseen_homework(current_user, meeting)
    return jsonify(items=[item_json(i) for i in minutes_items.sheets(meeting, unseen)["all"]])


@bp.post("/meetings/<id:meeting_id>/items")
@meeting_view("edit")
def create_item(meeting):
    data = json_body()
    kind = data.get("kind")
    if kind == "homework":
        if data.get("line"):
            item = _homework_from_line(meeting, data)
        else:
            item = homework.add_homework(
                current_user,
                meeting,
                who_value(meeting, data.get("who")),
                data.get("what"),
                due_value(data.get("due_date")),
                goal=data.get("parent_item_id"),
            )
    else:
        item = minutes_items.add_item(
            current_user,
            meeting,
            kind,
            data.get("text"),
            parent=data.get("parent_item_id"),
            ticket=data.get("ticket_id"),
        )
    db.session.commit()
    return jsonify(item=item_json(item), seq=meeting.change_seq), 201


def _parse_line(meeting: Meeting, line: str, also: str | None = None):
    """`@who what by-when`; `also` is a guest name the item already has (not an attendee)."""
    guests = [a.guest_name for a in meeting.attendees if a.user_id is None and a.guest_name]
    guests += [also] if also and also not in guests else []
    return parse_homework(line, members_of(meeting.unit), guests, local_today())


def _homework_from_line(meeting: Meeting, data: dict) -> Item:
    hw = _parse_line(meeting, data["line"])
    return homework.add_homework(
        current_user, meeting, hw.who, hw.what, hw.due_date, goal=data.get("parent_item_id")
    )


@bp.get("/items/<id:item_id>")
@item_view()
def item(item):
    return jsonify(item=item_json(item))


@bp.patch("/items/<id:item_id>")
@item_view("edit")
def update_item(item):
    data = json_body()
    if item.kind == "homework" and data.get("line"):
        hw = _parse_line(
            item.meeting, data["line"], item.ticket.guest_name if item.ticket else None
        )
        homework.edit_homework(
            current_user, item, hw.who, hw.what, hw.due_date, expected_version=version_value(data)
        )
    elif item.kind == "homework":
        homework.edit_homework(
            current_user,
            item,
            who=who_value(item.meeting, data.get("who")),
            what=data.get("what"),
            due_date=due_value(data["due_date"]) if data.get("due_date") else None,
            expected_version=version_value(data),
        )
    else:
        minutes_items.edit_item(
            current_user,
            item,
            data.get("text"),
            expected_version=version_value(data),
            ticket=data.get("ticket_id", False),
            parent=data.get("parent_item_id", False),
        )
    db.session.commit()
    return jsonify(item=item_json(item), seq=item.meeting.change_seq)


@bp.delete("/items/<id:item_id>")
@item_view("edit")
def delete_item(item):
    data = request.get_json(silent=True)  # optional: the version may come in the query
    minutes_items.delete_item(
        current_user, item, version_value(data if isinstance(data, dict) else {})
    )
    db.session.commit()
    return jsonify(item=item_json(item), seq=item.meeting.change_seq)


@bp.post("/items/<id:item_id>/move")
@item_view()
def move_item(item):
    """To another sheet of its meeting; with meeting_id (a preview), a goal of a later meeting."""
    data = json_body()
    if data.get("meeting_id") not in (None, item.meeting_id):
        target = load_meeting(data["meeting_id"])
        permissions.require_edit_minutes(current_user, target)
        moved = carry_over.pull_as_goal(current_user, target, item)
        db.session.commit()
        return jsonify(item=item_json(moved), seq=target.change_seq)
    permissions.require_edit_minutes(current_user, item.meeting)
    kind = data.get("kind")
    if kind == "homework" and data.get("line"):
        hw = _parse_line(item.meeting, data["line"])
        who, what, due = hw.who, hw.what, hw.due_date
    else:
        who = who_value(item.meeting, data.get("who"))
        what = data.get("what")
        due = due_value(data["due_date"]) if kind == "homework" else None
    minutes_items.move_item(
        current_user,
        item,
        kind,
        expected_version=version_value(data),
        parent=data.get("parent_item_id"),
        who=who,
        what=what,
        due_date=due,
    )
    db.session.commit()
    return jsonify(item=item_json(item), seq=item.meeting.change_seq)


@bp.post("/items/<id:item_id>/reorder")
@item_view("edit")
def reorder_item(item):
    data = json_body()
    minutes_items.reorder_item(current_user, item, data["position"], version_value(data))
    db.session.commit()
    return jsonify(item=item_json(item), seq=item.meeting.change_seq)


# --- the description -------------------------------------------------------------------------


@bp.get("/openapi.json")
@public
def openapi():
    return current_app.response_class(
        OPENAPI.read_text(encoding="utf-8"), mimetype="application/json"
    )


def openapi_paths() -> dict:
    return json.loads(OPENAPI.read_text(encoding="utf-8"))["paths"]
