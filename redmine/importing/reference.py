"""Statuses, trackers, workflows and priorities: matched to Sanmai's by name (or by the name
the mapping file gives), created where missing (after Sanmai's own, in Redmine's order).
What exists in Sanmai is kept; the one change is the side holding the ball, when the
mapping file sets it for a status brought over for the first time.

Workflows: Redmine's transitions per tracker and role become Sanmai's per tracker and the
Sanmai role each Redmine role maps to (mapping.sanmai_role). A tracker the import creates
has Redmine's workflow in place of Sanmai's default one; a tracker Sanmai had keeps its own
and gains Redmine's transitions. Each transition is remembered, so one an administrator
removes later does not come back.
"""

from __future__ import annotations

import sqlalchemy as sa

from core import textfields
from core.extensions import db
from redmine.importing import mapping
from redmine.importing import source as redmine
from tickets import reference
from tickets.models import Priority, Status, Tracker, Transition


def import_statuses(imp) -> None:
    table = redmine.issue_statuses
    rows = imp.source.rows(sa.select(table).order_by(table.c.position, table.c.id))
    _match_or_create(imp, "status", rows, Status, _create_status, imp.mapfile.statuses)
    closed = {row.id for row in rows if row.is_closed}
    sanmai_closed = set(db.session.scalars(sa.select(Status.id).where(Status.is_closed)))
    for redmine_id, sanmai_id in imp.ids["status"].items():
        # Sanmai's own flag where the status exists; Redmine's for one a dry run would make
        if sanmai_id in sanmai_closed or (sanmai_id < 0 and redmine_id in closed):
            imp.closed_statuses.add(sanmai_id)


def import_trackers(imp) -> None:
    table = redmine.trackers
    rows = imp.source.rows(sa.select(table).order_by(table.c.position, table.c.id))
    _match_or_create(imp, "tracker", rows, Tracker, _create_tracker, imp.mapfile.trackers)


def import_priorities(imp) -> None:
    table = redmine.enumerations
    rows = imp.source.rows(
        sa.select(table)
        .where(table.c.type == "IssuePriority")
        .order_by(table.c.position, table.c.id)
    )
    shared = [row for row in rows if row.parent_id is None]
    _match_or_create(imp, "priority", shared, Priority, _create_priority, {})
    for row in rows:
        # A project's own copy of a shared priority is that priority.
        if row.parent_id is not None and row.parent_id in imp.ids["priority"]:
            imp.ids["priority"][row.id] = imp.ids["priority"][row.parent_id]


_COUNTS = {"tracker": "trackers", "status": "statuses", "priority": "priorities"}


def _match_or_create(imp, kind: str, rows, model, create, rules: dict) -> None:
    count = imp.counts[_COUNTS[kind]]
    for row in rows:
        count.read += 1
        if row.id in imp.ids[kind]:
            continue
        rule = rules.get((row.name or "").strip())
        name = (rule and rule.name) or textfields.clean(row.name).strip()
        same = db.session.scalar(sa.select(model.id).where(model.name == name))
        if same is not None:
            imp.remember(kind, row.id, same)
            if kind == "status" and rule and rule.ball:
                _set_ball(imp, same, rule.ball)
            continue
        if imp.dry_run:
            imp.remember(kind, row.id, imp.placeholder())
            count.created += 1
            continue
        try:
            made = create(imp, row, name, rule)
        except reference.ReferenceDataError as error:
            count.skip(f"not valid in Sanmai: {error}", error=True)
            continue
        imp.remember(kind, row.id, made.id)
        count.created += 1


def _set_ball(imp, status_id: int, side: str) -> None:
    status = db.session.get(Status, status_id)
    if status.owner_side == side:
        return
    if not imp.dry_run:
        status.owner_side = side
        db.session.flush()
    imp.counts["statuses"].updated += 1


def _create_status(imp, row, name: str, rule) -> Status:
    # Who holds the ball is Sanmai's idea: unless the mapping file says, a closed ticket is
    # back with the city, an open one waits for the vendor (as 起票 does).
    side = (rule and rule.ball) or ("city" if row.is_closed else "vendor")
    return reference.save_status(
        imp.actor, None, {"name": name, "owner_side": side, "is_closed": row.is_closed}
    )


def _create_tracker(imp, row, name: str, rule) -> Tracker:
    data = {"name": name}
    default_status = imp.ids["status"].get(row.default_status_id)
    if default_status is not None and default_status > 0:
        data["default_status_id"] = default_status
    tracker = reference.save_tracker(imp.actor, None, data)
    table = redmine.workflows
    has_workflow = imp.source.rows(
        sa.select(table.c.id)
        .where(table.c.tracker_id == row.id, table.c.type == "WorkflowTransition")
        .limit(1)
    )
    if has_workflow:  # Redmine's own workflow comes in its place (import_workflows)
        db.session.execute(sa.delete(Transition).where(Transition.tracker_id == tracker.id))
    return tracker


def _create_priority(imp, row, name: str, rule) -> Priority:
    if not name or len(name) > textfields.REFERENCE_NAME:
        raise reference.ReferenceDataError(f"name {name!r}", "name")
    last = db.session.scalar(sa.select(sa.func.max(Priority.position))) or 0
    priority = Priority(name=name, position=last + 1, is_default=False)
    db.session.add(priority)
    db.session.flush()
    return priority


def import_workflows(imp) -> None:
    count = imp.counts["workflows"]
    table, roles = redmine.workflows, redmine.roles
    rows = imp.source.rows(
        sa.select(table, roles.c.builtin, roles.c.permissions)
        .join(roles, roles.c.id == table.c.role_id)
        .where(table.c.type == "WorkflowTransition")
        .order_by(table.c.id)
    )
    existing = {
        (t.tracker_id, t.role, t.from_status_id, t.to_status_id): t.id
        for t in db.session.scalars(sa.select(Transition))
    }
    for row in rows:
        count.read += 1
        if row.id in imp.ids["workflow"]:
            continue
        key, why = _transition(imp, row)
        if why:
            count.skip(why)
            continue
        if key not in existing:
            existing[key] = imp.placeholder() if imp.dry_run else _add_transition(key)
            count.created += 1
        imp.remember("workflow", row.id, existing[key])


def _transition(imp, row) -> tuple[tuple, str | None]:
    """(tracker id, role, from status id, to status id) in Sanmai for Redmine's workflow
    `row`, or why it does not come over."""
    if row.old_status_id == 0:
        return (), "a new issue's first status: Sanmai starts a ticket in its tracker's default"
    if row.author or row.assignee:
        # Sanmai's workflows have no such condition; allowing it to everyone would widen it.
        return (), "allowed only to the issue's author or assignee: Sanmai has no such rule"
    if row.builtin:
        return (), "for non-members or anonymous users: Sanmai's workflows are for members"
    role = mapping.sanmai_role(mapping.permissions_of(row.permissions))
    if role not in reference.WORKFLOW_ROLES:
        return (), "a role Sanmai maps to viewer: viewers change nothing"
    ids = (
        imp.ids["tracker"].get(row.tracker_id),
        imp.ids["status"].get(row.old_status_id),
        imp.ids["status"].get(row.new_status_id),
    )
    if None in ids:
        return (), "its tracker or a status was not imported"
    tracker_id, old, new = ids
    if old == new:
        return (), "from a status to itself (two Redmine statuses mapped to one)"
    return (tracker_id, role, old, new), None


def _add_transition(key: tuple) -> int:
    tracker_id, role, old, new = key
    transition = Transition(tracker_id=tracker_id, role=role, from_status_id=old, to_status_id=new)
    db.session.add(transition)
    db.session.flush()
    return transition.id
