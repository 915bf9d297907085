"""Redmine's issue attributes (as a client sends them) → the changes tickets.services takes.

Like Redmine, attributes Sanmai has no use for (category_id, fixed_version_id,
estimated_hours, custom_fields, watcher_user_ids …) are ignored, as is is_private from a
caller who may not set it (permissions.can_set_ticket_private), and a status the caller may
not give a new issue falls back to the tracker's default. Invalid values are
collected as messages for the caller (422), in the caller's language.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

import permissions
from accounts.models import User
from core import parsing
from core.extensions import db
from projects.models import Project
from projects.services import IDENTIFIER_RE
from tickets import services
from tickets.models import Priority, Status, Ticket, Tracker


class Invalid(ValueError):
    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_int(value) -> int | None:
    """A number given as a JSON number or text, within ±MAX_INT (what the database compares);
    else None, which the caller reports as not included in the list."""
    return parsing.to_int(value, low=-parsing.MAX_INT, high=parsing.MAX_INT)


def text(value) -> str | None:
    """A text attribute: text, or a number or null as Rails would take it; None for a list,
    an object or true/false, which Redmine refuses."""
    if value is None:
        return ""
    if isinstance(value, bool | list | dict):
        return None
    return str(value)


def as_bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def as_date(value) -> date | None:
    """An ISO date within parsing.EARLIEST … LATEST; ValueError otherwise."""
    day = parsing.date_or_none(value)
    if day is None:
        raise ValueError(value)
    return day


def target_project(user: User, key) -> Project | None:
    """A project (id or identifier) the caller may file issues in, else None."""
    if _blank(key):
        return None
    key = str(key).strip()
    if key.isdigit():
        column, value = Project.id, parsing.id_or_none(key)
        if value is None:  # an id no project can have
            return None
    elif IDENTIFIER_RE.match(key):
        column, value = Project.identifier, key
    else:  # no identifier looks like this (NUL, spaces …)
        return None
    project = db.session.scalar(
        sa.select(Project).where(column == value, permissions.visible(user, Project.id))
    )
    if project is None or not permissions.can_add_ticket(user, project):
        return None
    return project


def unit_problem(project: Project) -> str | None:
    """Tickets belong to a business unit (a sub-project), never to the fiscal year itself."""
    if project.is_unit:
        return None
    units = ", ".join(u.identifier for u in project.units)
    return _(
        "%(project)s is a fiscal year: file the issue in one of its business units (%(units)s).",
        project=project.name,
        units=units or "—",
    )


def issue_changes(
    user: User, attrs: dict, project: Project | None, ticket: Ticket | None = None
) -> dict:
    """Validated changes for tickets.services (create when `ticket` is None, else update).

    Raises Invalid with every problem found.
    """
    errors: list[str] = []
    changes: dict = {}
    unit = project if project is not None else (ticket.project if ticket else None)

    for name, message in (
        ("subject", _("Subject is invalid.")),
        ("description", _("Description is invalid.")),
    ):
        if name in attrs:
            value = text(attrs[name])
            if value is None:
                errors.append(message)
            else:
                changes[name] = value

    if ticket is not None and "project_id" in attrs:
        target = target_project(user, attrs["project_id"])
        if target is None or not target.is_unit:
            errors.append(_("Project is not included in the list."))
        else:
            changes["project_id"] = target.id
            unit = target

    if "tracker_id" in attrs:
        tracker = db.session.get(Tracker, as_int(attrs["tracker_id"]) or 0)
        if tracker is None:
            errors.append(_("Tracker is not included in the list."))
        else:
            changes["tracker_id"] = tracker.id

    if "priority_id" in attrs:
        priority = db.session.get(Priority, as_int(attrs["priority_id"]) or 0)
        if priority is None:
            errors.append(_("Priority is not included in the list."))
        else:
            changes["priority_id"] = priority.id

    if "status_id" in attrs:
        status = db.session.get(Status, as_int(attrs["status_id"]) or 0)
        if status is None:
            errors.append(_("Status is not included in the list."))
        elif ticket is not None:
            changes["status_id"] = status.id  # the workflow check is the service's
        elif unit is not None and status.id in _new_issue_statuses(user, unit, changes):
            changes["status_id"] = status.id

    if "assigned_to_id" in attrs:
        value = attrs["assigned_to_id"]
        if _blank(value):
            changes["assignee_id"] = None
        else:
            assignee = db.session.get(User, as_int(value) or 0)
            if (
                assignee is None
                or not assignee.is_active
                or unit is None
                or permissions.role_in(assignee, unit) is None
            ):
                errors.append(_("Assignee is invalid."))
            else:
                changes["assignee_id"] = assignee.id

    if "parent_issue_id" in attrs:
        value = attrs["parent_issue_id"]
        if _blank(value):
            changes["parent_id"] = None
        else:
            parent = db.session.scalar(
                sa.select(Ticket).where(
                    Ticket.id == (as_int(value) or 0),
                    permissions.visible_ticket(user, Ticket),
                )
            )
            if parent is None:
                errors.append(_("Parent task is invalid."))
            else:
                changes["parent_id"] = parent.id

    for name, message in (
        ("start_date", _("Start date is not a valid date.")),
        ("due_date", _("Due date is not a valid date.")),
    ):
        if name in attrs:
            if _blank(attrs[name]):
                changes[name] = None
            else:
                try:
                    changes[name] = as_date(attrs[name])
                except ValueError:
                    errors.append(message)
    start = changes.get("start_date", ticket.start_date if ticket else None)
    due = changes.get("due_date", ticket.due_date if ticket else None)
    if start and due and due < start and ("start_date" in changes or "due_date" in changes):
        errors.append(_("Due date must be greater than start date."))

    if "done_ratio" in attrs:
        ratio = as_int(attrs["done_ratio"])
        if ratio is None or not 0 <= ratio <= 100:
            errors.append(_("% Done is not included in the list."))
        else:
            changes["done_ratio"] = ratio

    if "is_private" in attrs:
        flag = as_flag(attrs["is_private"])
        if flag is None:
            errors.append(_("Private is invalid."))
        elif unit is not None and permissions.can_set_ticket_private(user, unit):
            changes["is_private"] = flag
        # else: left as it is, as Redmine ignores an attribute the caller may not set

    if errors:
        raise Invalid(errors)
    return changes


_FLAGS = {"1": True, "true": True, "0": False, "false": False}


def as_flag(value) -> bool | None:
    """A JSON boolean, or what Redmine also takes for one (0 / 1, "0" / "1", "true" /
    "false"); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        return _FLAGS.get(value.strip().lower())
    return None


def _new_issue_statuses(user: User, unit: Project, changes: dict) -> set[int]:
    """Statuses a new issue may start in: the tracker's default and the open statuses the
    workflow lets the caller move it to from there (the rule asked of existing tickets)."""
    tracker = db.session.get(Tracker, changes.get("tracker_id") or 0) or services.default_tracker()
    draft = Ticket(
        project=unit,
        tracker_id=tracker.id,
        status_id=tracker.default_status_id,
        status=db.session.get(Status, tracker.default_status_id),
    )
    try:
        return {s.id for s in services.allowed_statuses(user, draft) if not s.is_closed}
    finally:
        if draft in db.session:
            db.session.expunge(draft)
