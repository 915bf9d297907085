"""Administrators' services for the reference data: trackers, statuses, workflows.

Nothing here deletes: a tracker or status in use by tickets stays (rename it instead), so
journals keep pointing at something that exists.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

import permissions
from core import errors, textfields
from core.extensions import db
from projects.models import ROLES
from tickets.models import SIDES, Status, Tracker, Transition

WORKFLOW_ROLES = tuple(r for r in ROLES if r != "viewer")  # viewers change nothing


class ReferenceDataError(errors.Invalid):
    """A rule was broken; str(error) is a message for the administrator."""


def _require_admin(actor) -> None:
    if actor is not None and not permissions.can_administer(actor):
        raise errors.Forbidden("administer")


def _clean_name(value: str | None, field: str = "name") -> str:
    value = textfields.checked(
        value,
        field=field,
        label=_("Name"),
        limit=textfields.REFERENCE_NAME,
        error=ReferenceDataError,
    )
    if not value:
        raise ReferenceDataError(_("Name cannot be blank."), field)
    return value


def _english_name(value: str | None) -> str | None:
    return (
        textfields.checked(
            value,
            field="name_en",
            label=_("English name"),
            limit=textfields.REFERENCE_NAME,
            error=ReferenceDataError,
        )
        or None
    )


def _unique(model, name: str, own_id: int | None) -> None:
    clash = db.session.scalar(
        sa.select(model.id).where(model.name == name, model.id != (own_id or 0))
    )
    if clash is not None:
        raise ReferenceDataError(_("This name is already taken."), "name")


def save_tracker(actor, tracker: Tracker | None, data: dict) -> Tracker:
    """Add a tracker (with the default workflow copied in) or rename / reorder one."""
    _require_admin(actor)
    name = _clean_name(data.get("name"))
    _unique(Tracker, name, tracker.id if tracker else None)
    is_new = tracker is None
    if is_new:
        last = db.session.scalar(sa.select(sa.func.max(Tracker.position))) or 0
        first_status = db.session.scalar(sa.select(Status).order_by(Status.position))
        tracker = Tracker(
            position=last + 1, default_status_id=first_status.id if first_status else None
        )
        db.session.add(tracker)
    tracker.name = name
    tracker.name_en = _english_name(data.get("name_en"))
    tracker.description = (data.get("description") or "").strip()
    if data.get("default_status_id"):
        tracker.default_status_id = int(data["default_status_id"])
    if data.get("position") not in (None, ""):
        tracker.position = int(data["position"])
    db.session.flush()
    if is_new:
        from tickets.defaults import add_default_workflow

        add_default_workflow(tracker)
        db.session.flush()
    return tracker


def save_status(actor, status: Status | None, data: dict) -> Status:
    """Add a status or change its name, owner side (who holds the ball), closed flag, order."""
    _require_admin(actor)
    name = _clean_name(data.get("name"))
    _unique(Status, name, status.id if status else None)
    side = data.get("owner_side")
    if side not in SIDES:
        raise ReferenceDataError(_("Choose who holds the ball."), "owner_side")
    if status is None:
        last = db.session.scalar(sa.select(sa.func.max(Status.position))) or 0
        status = Status(position=last + 1)
        db.session.add(status)
    status.name = name
    status.name_en = _english_name(data.get("name_en"))
    status.owner_side = side
    status.is_closed = bool(data.get("is_closed"))
    if data.get("position") not in (None, ""):
        status.position = int(data["position"])
    db.session.flush()
    return status


def workflow(tracker: Tracker, role: str) -> set[tuple[int, int]]:
    """{(from status id, to status id)} allowed for `role` in `tracker`."""
    rows = db.session.execute(
        sa.select(Transition.from_status_id, Transition.to_status_id).where(
            Transition.tracker_id == tracker.id, Transition.role == role
        )
    )
    return {(a, b) for a, b in rows}


def set_workflow(actor, tracker: Tracker, role: str, allowed: set[tuple[int, int]]) -> None:
    """Replace the transitions of `role` in `tracker` with `allowed`."""
    _require_admin(actor)
    if role not in WORKFLOW_ROLES:
        raise ReferenceDataError(_("Unknown role."), "role")
    status_ids = set(db.session.scalars(sa.select(Status.id)))
    allowed = {(a, b) for a, b in allowed if a != b and a in status_ids and b in status_ids}
    current = workflow(tracker, role)
    for a, b in current - allowed:
        db.session.execute(
            sa.delete(Transition).where(
                Transition.tracker_id == tracker.id,
                Transition.role == role,
                Transition.from_status_id == a,
                Transition.to_status_id == b,
            )
        )
    for a, b in sorted(allowed - current):
        db.session.add(
            Transition(tracker_id=tracker.id, role=role, from_status_id=a, to_status_id=b)
        )
    db.session.flush()
