"""Trackers, statuses and priorities: matched to Sanmai's by name, created where missing
(after Sanmai's own, in Redmine's order). What exists in Sanmai is never changed."""

from __future__ import annotations

import sqlalchemy as sa

from core import textfields
from core.extensions import db
from redmine.importing import source as redmine
from tickets import reference
from tickets.models import Priority, Status, Tracker


def import_trackers(imp) -> None:
    table = redmine.trackers
    rows = imp.source.rows(sa.select(table).order_by(table.c.position, table.c.id))
    _match_or_create(imp, "tracker", rows, Tracker, _create_tracker)


def import_statuses(imp) -> None:
    table = redmine.issue_statuses
    rows = imp.source.rows(sa.select(table).order_by(table.c.position, table.c.id))
    _match_or_create(imp, "status", rows, Status, _create_status)
    closed = {row.id for row in rows if row.is_closed}
    sanmai_closed = set(db.session.scalars(sa.select(Status.id).where(Status.is_closed)))
    for redmine_id, sanmai_id in imp.ids["status"].items():
        # Sanmai's own flag where the status exists; Redmine's for one a dry run would make
        if sanmai_id in sanmai_closed or (sanmai_id < 0 and redmine_id in closed):
            imp.closed_statuses.add(sanmai_id)


def import_priorities(imp) -> None:
    table = redmine.enumerations
    rows = imp.source.rows(
        sa.select(table)
        .where(table.c.type == "IssuePriority")
        .order_by(table.c.position, table.c.id)
    )
    shared = [row for row in rows if row.parent_id is None]
    _match_or_create(imp, "priority", shared, Priority, _create_priority)
    for row in rows:
        # A project's own copy of a shared priority is that priority.
        if row.parent_id is not None and row.parent_id in imp.ids["priority"]:
            imp.ids["priority"][row.id] = imp.ids["priority"][row.parent_id]


def _match_or_create(imp, kind: str, rows, model, create) -> None:
    count = imp.counts[{"tracker": "trackers", "status": "statuses"}.get(kind, "priorities")]
    for row in rows:
        count.read += 1
        if row.id in imp.ids[kind]:
            continue
        name = textfields.clean(row.name).strip()
        same = db.session.scalar(sa.select(model.id).where(model.name == name))
        if same is not None:
            imp.remember(kind, row.id, same)
            continue
        if imp.dry_run:
            imp.remember(kind, row.id, imp.placeholder())
            count.created += 1
            continue
        try:
            made = create(imp, row, name)
        except reference.ReferenceDataError as error:
            count.skip(f"not valid in Sanmai: {error}")
            continue
        imp.remember(kind, row.id, made.id)
        count.created += 1


def _create_tracker(imp, row, name: str) -> Tracker:
    return reference.save_tracker(imp.actor, None, {"name": name})


def _create_status(imp, row, name: str) -> Status:
    # Who holds the ball is Sanmai's idea: a closed ticket is back with the city, an open one
    # waits for the vendor (as 起票 does) until an administrator says otherwise.
    side = "city" if row.is_closed else "vendor"
    return reference.save_status(
        imp.actor, None, {"name": name, "owner_side": side, "is_closed": row.is_closed}
    )


def _create_priority(imp, row, name: str) -> Priority:
    if not name or len(name) > textfields.REFERENCE_NAME:
        raise reference.ReferenceDataError(f"name {name!r}", "name")
    last = db.session.scalar(sa.select(sa.func.max(Priority.position))) or 0
    priority = Priority(name=name, position=last + 1, is_default=False)
    db.session.add(priority)
    db.session.flush()
    return priority
