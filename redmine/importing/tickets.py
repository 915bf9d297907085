"""Issues and journals: tickets and their history, many rows, so written in batches with
Core's executemany (one statement per batch and kind) instead of one service call per row.

The services' rules that matter for an import hold here too: texts are cleaned as
`core.textfields` cleans them, a ticket belongs to a business unit (issues of a fiscal-year
project itself are skipped), and history is Sanmai's journal shape (tickets.history).
Texts come as Sanmai's Markdown (texts.py converts Redmine's Textile).

Ids. Whether tickets keep Redmine's ids is decided once, at the first run, and remembered
(map kind "issue_ids"): they are kept when Sanmai has no tickets then, so "#1234" in old mail
and minutes still points right; later runs keep the id of each new issue whose id is still
free, too. An issue whose id is taken (every issue, when Sanmai had tickets at the first run)
gets the next free id above all tickets. A run plans the ids of the issues it brings before
it writes any (map kind "planned_issue"; on PostgreSQL the ticket id sequence is moved past
them), so an interrupted run resumes with the same ids. References `#123` in descriptions
and notes to an issue whose id changed are rewritten to its Sanmai id; those to issues not
brought over stay as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from core import generations, textfields
from core.extensions import db
from redmine.importing import links, texts
from redmine.importing import source as redmine
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
    "is_private": None,  # "0" / "1", as Sanmai's journal keeps it
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
                "is_private",
            )
        }
        # an edit open in someone's browser is now stale
        | {"version": _tickets.c.version + 1}
    )
)


def import_issues(imp) -> None:
    count = imp.counts["issues"]
    formatting = imp.source.text_formatting()
    planned = _plan_ids(imp)
    moved = _moved(imp.ids["issue"] | planned)
    written: set[int] = set()

    def descriptions(batch) -> dict[int, str]:
        return {
            row.id: _text(row.description, formatting, moved)
            for row in batch
            if not imp.is_unchanged("issue", row.id, row.updated_on)
        }

    batches = imp.source.batches(redmine.issues, size=imp.batch_size)
    for batch, description in _with_texts(batches, descriptions):
        inserts, updates = [], []
        for row in batch:
            count.read += 1
            if imp.is_unchanged("issue", row.id, row.updated_on):
                continue
            values, why = _ticket_values(imp, row)
            if why:
                count.skip(why)
                continue
            values["description"] = description[row.id]
            known = imp.ids["issue"].get(row.id)
            if known is not None:
                updates.append({f"b_{k}": v for k, v in values.items()} | {"b_id": known})
                count.updated += 1
            else:
                known = planned[row.id]
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


def _with_texts(batches: Iterator[list], convert) -> Iterator[tuple[list, dict]]:
    """Each batch with `convert(batch)` (its texts as Markdown), the next batch converted on a
    thread while the caller writes this one: converting is the import's own CPU work, writing
    mostly waits on the database, and the two overlap (the wait frees the GIL)."""
    with ThreadPoolExecutor(1) as pool:
        pending = None
        for batch in batches:
            ahead = (batch, pool.submit(convert, batch))
            if pending is not None:
                yield pending[0], pending[1].result()
            pending = ahead
        if pending is not None:
            yield pending[0], pending[1].result()


def _keeps_ids(imp) -> bool:
    """Whether Redmine's ids are kept: decided at the first run, then remembered."""
    choice = imp.ids["issue_ids"].get(0)
    if choice is None:
        # an import made before the choice was remembered kept the ids
        had_tickets = db.session.scalar(sa.select(sa.func.count(Ticket.id))) > 0
        choice = int(bool(imp.ids["issue"]) or not had_tickets)
        imp.remember("issue_ids", 0, choice)
    return choice == 1


def _plan_ids(imp) -> dict[int, int]:
    """Sanmai's id for each issue that comes over for the first time now."""
    keep = _keeps_ids(imp)
    reserved = imp.ids["planned_issue"]
    table = redmine.issues
    columns = ("id", "project_id", "tracker_id", "status_id", "priority_id")
    new = [
        row.id
        for row in imp.source.rows(
            sa.select(*(table.c[name] for name in columns)).order_by(table.c.id)
        )
        if row.id not in imp.ids["issue"] and _why_not(imp, row) is None
    ]
    taken = set(db.session.scalars(sa.select(Ticket.id)))
    others = set(reserved.values())
    planned = {}
    for redmine_id in new:
        if (sanmai_id := reserved.get(redmine_id)) is not None and sanmai_id not in taken:
            planned[redmine_id] = sanmai_id  # planned by a run that stopped
        elif keep and redmine_id not in taken and redmine_id not in others:
            planned[redmine_id] = redmine_id
    next_id = max(taken | others | set(planned.values()), default=0) + 1
    for redmine_id in new:
        if redmine_id not in planned:
            planned[redmine_id], next_id = next_id, next_id + 1
    for redmine_id, sanmai_id in planned.items():
        if reserved.get(redmine_id) != sanmai_id:
            imp.remember("planned_issue", redmine_id, sanmai_id)
    if planned and not imp.dry_run and db.session.get_bind().dialect.name == "postgresql":
        # A ticket made in Sanmai meanwhile (after a run that stopped) takes none of them.
        db.session.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('tickets', 'id'), "
                "greatest(:top, (SELECT coalesce(max(id), 0) FROM tickets)) + 1, false)"
            ),
            {"top": max(planned.values())},
        )
    imp.commit()
    return planned


def _moved(ids: dict[int, int]) -> dict[int, int]:
    """Redmine's id → Sanmai's for the issues whose id changed: the references to rewrite."""
    return {
        redmine_id: sanmai_id for redmine_id, sanmai_id in ids.items() if redmine_id != sanmai_id
    }


def _text(value, formatting: str, moved: dict[int, int]) -> str:
    """A description or note as Sanmai keeps it: cleaned, Markdown, references rewritten."""
    text = texts.to_markdown(textfields.clean(value, multiline=True), formatting)
    was_textile = formatting not in texts.MARKDOWN_FORMATS
    return texts.rewrite_references(text, moved, was_textile=was_textile)


def _why_not(imp, row) -> str | None:
    """Why issue `row` cannot come over, if it cannot."""
    unit_id = imp.ids["project"].get(row.project_id)
    if unit_id is None:
        return "its project was not imported"
    if imp.roots.get(unit_id) == unit_id:
        return "on a fiscal-year project itself: Sanmai's tickets belong to a business unit"
    if any(
        imp.ids[kind].get(value) is None
        for kind, value in (
            ("tracker", row.tracker_id),
            ("status", row.status_id),
            ("priority", row.priority_id),
        )
    ):
        return "its tracker, status or priority was not imported"
    return None


def _ticket_values(imp, row) -> tuple[dict, str | None]:
    """The ticket's columns for issue `row`, or why it cannot come over."""
    if why := _why_not(imp, row):
        return {}, why
    unit_id = imp.ids["project"][row.project_id]
    tracker_id = imp.ids["tracker"][row.tracker_id]
    status_id = imp.ids["status"][row.status_id]
    priority_id = imp.ids["priority"][row.priority_id]
    closed_at = None
    if status_id in imp.closed_statuses:
        closed_at = row.closed_on or row.updated_on
    return {
        "project_id": unit_id,
        "tracker_id": tracker_id,
        "status_id": status_id,
        "priority_id": priority_id,
        "subject": textfields.clean(row.subject).strip()[: textfields.SUBJECT],
        "description": None,  # import_issues: converted, references rewritten
        "assignee_id": imp.ids["user"].get(row.assigned_to_id),  # a group: unassigned
        "author_id": imp.ids["user"].get(row.author_id),  # Anonymous: none
        "start_date": row.start_date,
        "due_date": row.due_date,
        "done_ratio": row.done_ratio or 0,
        "created_at": row.created_on,
        "updated_at": row.updated_on or row.created_on,
        "closed_at": closed_at,
        # Seen by its author, assignee, facilitators and managers (permissions.visible_ticket).
        "is_private": bool(row.is_private),
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
    formatting, moved = imp.source.text_formatting(), _moved(imp.ids["issue"])

    def text(value) -> str:
        return _text(value, formatting, moved)

    def notes_of(batch) -> dict[int, str]:
        return {
            row.id: text(row.notes)
            for row in batch
            if not imp.is_unchanged("journal", row.id, row.updated_on or row.created_on)
        }

    batches = imp.source.batches(
        table, where=table.c.journalized_type == "Issue", size=imp.batch_size
    )
    for batch, notes in _with_texts(batches, notes_of):
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
                    "b_notes": notes[row.id],
                    "b_private_notes": bool(row.private_notes),
                }
            )
            imp.remember("journal", row.id, known, stamp)
            count.updated += 1
        imp.search.suspend(0 if imp.dry_run else len(new) + len(changed))
        _add_journals(imp, new, notes, text)
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


def _add_journals(imp, new: list, notes_of: dict[int, str], text) -> None:
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
                continue
            if change["name"] == "description":  # Redmine keeps both whole texts
                change["old_value"], change["new_value"] = (
                    text(change["old_value"]) if change["old_value"] is not None else None,
                    text(change["new_value"]) if change["new_value"] is not None else None,
                )
            changes.append(change)
        notes = notes_of[row.id]
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
    if detail.property in ("attachment", "relation", "cf"):
        return links.journal_detail(imp, detail)
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
