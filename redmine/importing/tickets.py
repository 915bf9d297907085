"""Issues and journals: tickets and their history, many rows, so written in batches with
Core's executemany (one statement per batch and kind) instead of one service call per row.

The services' rules that matter for an import hold here too: texts are cleaned as
`core.textfields` cleans them, a ticket belongs to a business unit (issues of a fiscal-year
project itself are skipped), and history is Sanmai's journal shape (tickets.history).
A ticket keeps its Redmine id, so "#1234" in old mail and minutes still points right; that
needs an instance without tickets of its own, else new issues are skipped for now.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa

from core import generations, textfields
from core.extensions import db
from redmine.importing import source as redmine
from redmine.importing.models import ImportMap
from tickets.models import Journal, JournalDetail, Ticket

# Redmine's journal attributes Sanmai keeps (tickets.history.LABELS), and for an id which
# kind of imported row it names.
ATTRIBUTES = {
    "project_id": "project",
    "tracker_id": "tracker",
    "status_id": "status",
    "priority_id": "priority",
    "assigned_to_id": "user",
    "parent_id": "issue",
    "subject": None,
    "description": None,
    "start_date": None,
    "due_date": None,
    "done_ratio": None,
}
NOT_IMPORTED = {
    "attachment": "a file's change: files are not imported yet",
    "relation": "a relation's change: relations are not imported yet",
    "cf": "a custom field's change: custom fields are not imported yet",
}

_tickets = Ticket.__table__
_TICKET_UPDATE = (
    sa.update(_tickets)
    .where(_tickets.c.id == sa.bindparam("b_id"))
    .values(
        {
            column: sa.bindparam(f"b_{column}")
            for column in (
                "project_id",
                "tracker_id",
                "status_id",
                "priority_id",
                "subject",
                "description",
                "assignee_id",
                "author_id",
                "start_date",
                "due_date",
                "done_ratio",
                "created_at",
                "updated_at",
                "closed_at",
            )
        }
        # an edit open in someone's browser is now stale
        | {"version": _tickets.c.version + 1}
    )
)


def _tickets_of_its_own() -> int:
    """Tickets this import did not make."""
    imported = sa.select(ImportMap.sanmai_id).where(ImportMap.kind == "issue")
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(Ticket).where(Ticket.id.not_in(imported))
    )


def import_issues(imp) -> None:
    count = imp.counts["issues"]
    keep_ids = _tickets_of_its_own() == 0
    written: set[int] = set()
    for batch in imp.source.batches(redmine.issues, size=imp.batch_size):
        inserts, updates = [], []
        for row in batch:
            count.read += 1
            if imp.is_unchanged("issue", row.id, row.updated_on):
                continue
            values, why = _ticket_values(imp, row)
            if why:
                count.skip(why)
                continue
            known = imp.ids["issue"].get(row.id)
            if known is not None:
                updates.append({f"b_{k}": v for k, v in values.items()} | {"b_id": known})
                count.updated += 1
            elif not keep_ids:
                count.skip(
                    "Sanmai has tickets of its own: Redmine's ids can be kept only in an "
                    "instance without tickets (importing beside them is not built yet)"
                )
                continue
            else:
                known = row.id
                inserts.append(values | {"id": known})
                count.created += 1
            imp.remember("issue", row.id, known, row.updated_on)
            written.add(known)
        if not imp.dry_run and (inserts or updates):
            imp.search.suspend(len(inserts) + len(updates))
            if inserts:
                db.session.execute(sa.insert(_tickets), inserts)
            if updates:
                db.session.execute(_TICKET_UPDATE, updates)
            imp.search.resume()
            _tickets_changed()
        imp.commit()
    _link_parents(imp, written)


def _ticket_values(imp, row) -> tuple[dict, str | None]:
    """The ticket's columns for issue `row`, or why it cannot come over."""
    unit_id = imp.ids["project"].get(row.project_id)
    if unit_id is None:
        return {}, "its project was not imported"
    if imp.roots.get(unit_id) == unit_id:
        return {}, "on a fiscal-year project itself: Sanmai's tickets belong to a business unit"
    if row.is_private:
        # Sanmai shows every ticket to the unit's members: a private issue would be exposed.
        return {}, "private: Sanmai has no private tickets yet"
    tracker_id = imp.ids["tracker"].get(row.tracker_id)
    status_id = imp.ids["status"].get(row.status_id)
    priority_id = imp.ids["priority"].get(row.priority_id)
    if tracker_id is None or status_id is None or priority_id is None:
        return {}, "its tracker, status or priority was not imported"
    closed_at = None
    if status_id in imp.closed_statuses:
        closed_at = row.closed_on or row.updated_on
    return {
        "project_id": unit_id,
        "tracker_id": tracker_id,
        "status_id": status_id,
        "priority_id": priority_id,
        "subject": textfields.clean(row.subject).strip()[: textfields.SUBJECT],
        "description": textfields.clean(row.description, multiline=True),
        "assignee_id": imp.ids["user"].get(row.assigned_to_id),  # a group: unassigned
        "author_id": imp.ids["user"].get(row.author_id),  # Anonymous: none
        "start_date": row.start_date,
        "due_date": row.due_date,
        "done_ratio": row.done_ratio or 0,
        "created_at": row.created_on,
        "updated_at": row.updated_on or row.created_on,
        "closed_at": closed_at,
    }, None


def _link_parents(imp, written: set[int]) -> None:
    """Parents are set once all issues are in: a parent may have a higher id than its child,
    or have come in a batch after an interrupted run. Set for the tickets written now, and for
    imported tickets without a parent yet (one set in Sanmai since is left alone)."""
    if imp.dry_run:
        return
    table = redmine.issues
    parent_of = {
        ticket_id: imp.ids["issue"].get(row.parent_id)
        for row in imp.source.rows(sa.select(table.c.id, table.c.parent_id))
        if (ticket_id := imp.ids["issue"].get(row.id)) is not None
    }
    rows = [
        {"b_id": ticket_id, "b_parent_id": parent_of[ticket_id]}
        for ticket_id, parent_id in db.session.execute(sa.select(Ticket.id, Ticket.parent_id))
        if ticket_id in parent_of
        and parent_of[ticket_id] != parent_id
        and (ticket_id in written or parent_id is None)
    ]
    statement = (
        sa.update(_tickets)
        .where(_tickets.c.id == sa.bindparam("b_id"))
        .values(parent_id=sa.bindparam("b_parent_id"))
    )
    for start in range(0, len(rows), imp.batch_size):
        db.session.execute(statement, rows[start : start + imp.batch_size])
        _tickets_changed()
        imp.commit()
    if db.session.get_bind().dialect.name == "postgresql":
        # Ids were given, not drawn: the next ticket made in Sanmai comes after them.
        db.session.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('tickets', 'id'), "
                "(SELECT coalesce(max(id), 0) + 1 FROM tickets), false)"
            )
        )
        imp.commit()


def _tickets_changed() -> None:
    # Core statements pass the flush that bumps the data generations (core.generations).
    for name in ("tickets", "homework"):
        generations.bump(db.session, name)


def import_journals(imp) -> None:
    count = imp.counts["journals"]
    table = redmine.journals
    for batch in imp.source.batches(
        table, where=table.c.journalized_type == "Issue", size=imp.batch_size
    ):
        new, changed = [], []
        for row in batch:
            count.read += 1
            ticket_id = imp.ids["issue"].get(row.journalized_id)
            if ticket_id is None:
                count.skip("its issue was not imported")
                continue
            stamp = row.updated_on or row.created_on
            if imp.is_unchanged("journal", row.id, stamp):
                continue
            known = imp.ids["journal"].get(row.id)
            if known is None:
                new.append((row, ticket_id, stamp))
                continue
            # Redmine lets notes be edited; the changes a journal records never change.
            changed.append(
                {
                    "b_id": known,
                    "b_notes": textfields.clean(row.notes, multiline=True),
                    "b_private_notes": bool(row.private_notes),
                }
            )
            imp.remember("journal", row.id, known, stamp)
            count.updated += 1
        imp.search.suspend(0 if imp.dry_run else len(new) + len(changed))
        _add_journals(imp, new)
        if changed and not imp.dry_run:
            journals = Journal.__table__
            db.session.execute(
                sa.update(journals)
                .where(journals.c.id == sa.bindparam("b_id"))
                .values(
                    notes=sa.bindparam("b_notes"), private_notes=sa.bindparam("b_private_notes")
                ),
                changed,
            )
            _tickets_changed()
        imp.search.resume()
        imp.commit()


def _add_journals(imp, new: list) -> None:
    count, details_count = imp.counts["journals"], imp.counts["details"]
    details = defaultdict(list)
    if new:
        for detail in imp.source.details_of([row.id for row, _t, _s in new]):
            details[detail.journal_id].append(detail)
    rows, kept = [], []
    for row, ticket_id, stamp in new:
        changes = []
        for detail in details[row.id]:
            details_count.read += 1
            change, why = _detail(imp, detail)
            if why:
                details_count.skip(why)
            else:
                changes.append(change)
        notes = textfields.clean(row.notes, multiline=True)
        if not notes.strip() and not changes:
            count.skip("no notes and no change Sanmai keeps")
            continue
        rows.append(
            {
                "ticket_id": ticket_id,
                "user_id": imp.ids["user"].get(row.user_id),  # none: shown as the system's
                "notes": notes,
                "private_notes": bool(row.private_notes),
                "created_at": row.created_on,
            }
        )
        kept.append((row, stamp, changes))
        count.created += 1
        details_count.created += len(changes)
    if imp.dry_run or not rows:
        for row, stamp, _changes in kept:
            imp.remember("journal", row.id, imp.placeholder(), stamp)
        return
    journals = Journal.__table__
    ids = db.session.scalars(
        sa.insert(journals).returning(journals.c.id, sort_by_parameter_order=True), rows
    ).all()
    detail_rows = []
    for journal_id, (row, stamp, changes) in zip(ids, kept, strict=True):
        imp.remember("journal", row.id, journal_id, stamp)
        detail_rows.extend(change | {"journal_id": journal_id} for change in changes)
    if detail_rows:
        db.session.execute(sa.insert(JournalDetail.__table__), detail_rows)
    _tickets_changed()


def _detail(imp, detail) -> tuple[dict, str | None]:
    """Sanmai's journal detail for Redmine's `detail`, or why it is not kept."""
    if detail.property in NOT_IMPORTED:
        return {}, NOT_IMPORTED[detail.property]
    if detail.property != "attr" or detail.prop_key not in ATTRIBUTES:
        return {}, f"{detail.property} {detail.prop_key}: Sanmai has no such field"
    kind = ATTRIBUTES[detail.prop_key]
    old, new = detail.old_value, detail.value
    if kind is not None:
        # Redmine's id → Sanmai's; one not imported (a group, a skipped issue) is left empty
        old, new = (_sanmai_id(imp, kind, value) for value in (old, new))
    return {"property": "attr", "name": detail.prop_key, "old_value": old, "new_value": new}, None


def _sanmai_id(imp, kind: str, value: str | None) -> str | None:
    if value is None or not value.strip().isdigit():
        return None
    sanmai_id = imp.ids[kind].get(int(value))
    return None if sanmai_id is None else str(sanmai_id)
