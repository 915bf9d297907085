"""A ticket's journals for people: "Status: 起票 → 受付" rather than "status_id 1 → 2"."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from accounts.models import User
from core import formatting
from core.extensions import db
from core.rows import plain_rows
from projects.models import Project
from tickets import links
from tickets.models import (
    CustomField,
    Journal,
    JournalDetail,
    Priority,
    Status,
    Ticket,
    Tracker,
)

LABELS = {
    "project_id": _l("Business unit"),
    "tracker_id": _l("Tracker"),
    "status_id": _l("Status"),
    "priority_id": _l("Priority"),
    "subject": _l("Subject"),
    "description": _l("Description"),
    "assigned_to_id": _l("Assignee"),
    "guest_name": _l("Assignee (guest)"),
    "start_date": _l("Start date"),
    "due_date": _l("Due date"),
    "done_ratio": _l("Progress"),
    "parent_id": _l("Parent ticket"),
    "child_id": _l("Child ticket"),
    "decision": _l("Decision"),
    "is_private": _l("Private"),
}
LONG_TEXT = {"description", "decision"}


@dataclass
class Change:
    label: str
    old: str | None
    new: str | None
    long: bool = False  # long text: shown folded, old and new in full
    kind: str = "attr"  # attr | attachment | relation
    attachment_id: int | None = None


def journals_of(ticket: Ticket) -> list[Journal]:
    """The ticket's journals with their details and users, in one query (a second query for
    the details, as selectinload makes, cost more than the few rows it saves)."""
    return list(
        db.session.scalars(
            sa.select(Journal)
            .where(Journal.ticket_id == ticket.id)
            .options(joinedload(Journal.details), joinedload(Journal.user))
            .order_by(Journal.id)
        ).unique()
    )


def journal_rows(ticket_id: int) -> list:
    """The ticket's journals as plain rows, one per detail (a journal without details: one row
    with detail_id None), with the writer's name, in the order of journals_of; for answers
    that only show them (no ORM objects to build)."""
    return plain_rows(_journal_rows_statement(), {"ticket_id": ticket_id}).all()


@functools.cache
def _journal_rows_statement() -> sa.Select:
    """Built once: building it costs about what running it does."""
    return (
        sa.select(
            Journal.id,
            Journal.user_id,
            User.name.label("user_name"),
            Journal.notes,
            Journal.created_at,
            Journal.private_notes,
            JournalDetail.id.label("detail_id"),
            JournalDetail.property,
            JournalDetail.name,
            JournalDetail.old_value,
            JournalDetail.new_value,
        )
        .outerjoin(User, User.id == Journal.user_id)
        .outerjoin(JournalDetail, JournalDetail.journal_id == Journal.id)
        .where(Journal.ticket_id == sa.bindparam("ticket_id"))
        .order_by(Journal.id, JournalDetail.id)
    )


def describe(journals: list[Journal]) -> dict[int, list[Change]]:
    """{journal id: [Change]}; names for ids are looked up once for all journals."""
    details = [d for j in journals for d in j.details]
    names = _names(details)
    out: dict[int, list[Change]] = {}
    for journal in journals:
        out[journal.id] = [_change(d, names) for d in journal.details]
    return out


def _names(details: list[JournalDetail]) -> dict[str, dict[str, str]]:
    wanted: dict[str, set[int]] = {}
    for d in details:
        if (
            d.property == "attr"
            and d.name.endswith("_id")
            and d.name not in ("parent_id", "child_id")
        ):
            for value in (d.old_value, d.new_value):
                if value and value.isdigit():
                    wanted.setdefault(d.name, set()).add(int(value))
    models = {
        "project_id": (Project, Project.name),
        "tracker_id": (Tracker, Tracker.name),
        "status_id": (Status, Status.name),
        "priority_id": (Priority, Priority.name),
        "assigned_to_id": (User, User.name),
    }
    names: dict[str, dict] = {}
    fields = {int(d.name) for d in details if d.property == "cf" and d.name.isdigit()}
    if fields:
        names["cf"] = {
            str(f.id): f
            for f in db.session.scalars(sa.select(CustomField).where(CustomField.id.in_(fields)))
        }
    for field, ids in wanted.items():
        if field not in models:
            continue
        model, column = models[field]
        rows = db.session.execute(sa.select(model.id, column).where(model.id.in_(ids)))
        names[field] = {str(i): n for i, n in rows}
    return names


def _value(name: str, value: str | None, names) -> str | None:
    if value in (None, ""):
        return None
    if name in names:
        return names[name].get(value, f"#{value}")
    if name in ("parent_id", "child_id"):
        return f"#{value}"
    if name in ("due_date", "start_date"):
        from datetime import date

        try:
            return formatting.format_date(date.fromisoformat(value))
        except ValueError:
            return value
    if name == "is_private":
        return _("Yes") if value == "1" else _("No")
    if name == "done_ratio":
        return f"{value} %"
    return value


def _change(d: JournalDetail, names) -> Change:
    if d.property == "attachment":
        return Change(
            label=_("File"),
            old=d.old_value,
            new=d.new_value,
            kind="attachment",
            attachment_id=int(d.name) if d.name.isdigit() else None,
        )
    if d.property == "relation":
        return Change(
            label=links.relation_label(d.name),
            old=f"#{d.old_value}" if d.old_value else None,
            new=f"#{d.new_value}" if d.new_value else None,
            kind="relation",
        )
    if d.property == "cf":
        field = names.get("cf", {}).get(d.name)
        return Change(
            label=field.name if field is not None else _("Custom field"),
            old=links.display_value(field, d.old_value),
            new=links.display_value(field, d.new_value),
            long=field is not None and field.field_format == "text",
        )
    label = str(LABELS.get(d.name, d.name))
    return Change(
        label=label,
        old=_value(d.name, d.old_value, names),
        new=_value(d.name, d.new_value, names),
        long=d.name in LONG_TEXT,
    )
