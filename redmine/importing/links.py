"""Custom fields and their values, relations and watchers of issues, and the journal details
that name what this import brings beside tickets (files, relations, custom fields).

These Redmine rows have no updated time, so each run compares what Redmine has with what the
import made of it (remembered in redmine_import_map by Redmine's id): a row new in Redmine
is created, one that differs is updated, and one gone from Redmine since (a relation
removed, a watcher who stopped watching), or no longer brought over, is removed here too
(counted as updated). Nothing else is written, so a second run writes nothing.

Relations are kept in Redmine's forward direction (a "follows" row is stored as the other
issue's "precedes", as Redmine itself saves them); a custom field's value is kept as Redmine
stores it, except a user field's (Sanmai's user id) and a key/value list's (its name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from attachments import files as attachment_files
from core import textfields
from core.extensions import db
from redmine.importing import source as redmine
from tickets.links import FORWARD
from tickets.models import CustomField, CustomValue, Relation, Ticket, Watcher


@dataclass(frozen=True)
class Kind:
    map_kind: str  # in redmine_import_map
    count: str  # in the counts table
    model: type
    columns: tuple[str, ...]  # what is written and compared


CUSTOM_FIELDS = Kind(
    "custom_field",
    "custom_fields",
    CustomField,
    ("name", "field_format", "is_multiple", "position"),
)
CUSTOM_VALUES = Kind(
    "custom_value", "custom_values", CustomValue, ("ticket_id", "custom_field_id", "value")
)
RELATIONS = Kind(
    "relation",
    "relations",
    Relation,
    ("ticket_from_id", "ticket_to_id", "relation_type", "delay"),
)
WATCHERS = Kind("watcher", "watchers", Watcher, ("ticket_id", "user_id"))


def tickets_present(imp) -> set[int]:
    """The ids of the tickets the import's rows may point at: those still in Sanmai (one
    deleted here since is not brought back), or in a dry run those it would make."""
    if imp.dry_run:
        return set(imp.ids["issue"].values())
    return set(db.session.scalars(sa.select(Ticket.id)))


# --- custom fields ---------------------------------------------------------------------------


def import_custom_fields(imp) -> None:
    table = redmine.custom_fields
    rows = imp.source.rows(
        sa.select(table)
        .where(table.c.type == "IssueCustomField")
        .order_by(table.c.position, table.c.id)
    )
    for row in rows:
        imp.field_formats[row.id] = row.field_format or "string"
    enumerations = redmine.custom_field_enumerations
    imp.enumerations.update(
        (row.id, row.name)
        for row in imp.source.rows(sa.select(enumerations.c.id, enumerations.c.name))
    )

    def values_of(row):
        name = textfields.clean(row.name).strip()[:255]
        if not name:
            return None, "no name"
        return {
            "name": name,
            "field_format": (row.field_format or "string")[:30],
            "is_multiple": bool(row.multiple),
            "position": row.position or 0,
        }, None

    _sync(imp, CUSTOM_FIELDS, [rows], values_of, [row.id for row in rows])


def field_value(imp, redmine_field_id: int, value: str | None) -> tuple[str | None, str | None]:
    """A custom field's value as Sanmai keeps it, or why it cannot be kept."""
    kind = imp.field_formats.get(redmine_field_id)
    if value in (None, "") or kind not in ("user", "enumeration"):
        return value, None
    if not value.strip().isdigit():
        return value, None
    if kind == "enumeration":
        return imp.enumerations.get(int(value), value), None
    user_id = imp.ids["user"].get(int(value))
    if user_id is None:
        return None, "names a user who was not imported (a group or Anonymous)"
    return str(user_id), None


def import_custom_values(imp) -> None:
    table = redmine.custom_values
    where = table.c.customized_type == "Issue"
    present = tickets_present(imp)

    def values_of(row):
        field_id = imp.ids["custom_field"].get(row.custom_field_id)
        if field_id is None:
            return None, "its custom field was not imported"
        ticket_id = imp.ids["issue"].get(row.customized_id)
        if ticket_id is None or ticket_id not in present:
            return None, "its issue was not imported"
        value, why = field_value(imp, row.custom_field_id, row.value)
        if why:
            return None, why
        if value is not None:
            value = textfields.clean(value, multiline=True)
        return {"ticket_id": ticket_id, "custom_field_id": field_id, "value": value}, None

    ids = [row.id for row in imp.source.rows(sa.select(table.c.id).where(where))]
    _sync(imp, CUSTOM_VALUES, imp.source.batches(table, where, imp.batch_size), values_of, ids)


# --- relations and watchers ------------------------------------------------------------------


def import_relations(imp) -> None:
    table = redmine.issue_relations
    present = tickets_present(imp)
    pairs: set[tuple[int, int]] = set()

    def values_of(row):
        kind, first, second = row.relation_type or "relates", row.issue_from_id, row.issue_to_id
        if kind in FORWARD:
            kind, first, second = FORWARD[kind], second, first
        ticket_from, ticket_to = imp.ids["issue"].get(first), imp.ids["issue"].get(second)
        if ticket_from not in present or ticket_to not in present:
            return None, "an issue it links was not imported"
        if (ticket_from, ticket_to) in pairs or (ticket_to, ticket_from) in pairs:
            return None, "a second relation between the same two issues"
        pairs.add((ticket_from, ticket_to))
        return {
            "ticket_from_id": ticket_from,
            "ticket_to_id": ticket_to,
            "relation_type": kind[:16],
            "delay": row.delay,
        }, None

    ids = [row.id for row in imp.source.rows(sa.select(table.c.id))]
    _sync(imp, RELATIONS, imp.source.batches(table, size=imp.batch_size), values_of, ids)


def import_watchers(imp) -> None:
    table = redmine.watchers
    where = table.c.watchable_type == "Issue"
    present = tickets_present(imp)
    pairs: set[tuple[int, int]] = set()

    def values_of(row):
        ticket_id = imp.ids["issue"].get(row.watchable_id)
        if ticket_id is None or ticket_id not in present:
            return None, "its issue was not imported"
        user_id = imp.ids["user"].get(row.user_id)
        if user_id is None:
            return None, "its user was not imported (a group or Anonymous)"
        if (ticket_id, user_id) in pairs:
            return None, "the same person watching twice"
        pairs.add((ticket_id, user_id))
        return {"ticket_id": ticket_id, "user_id": user_id}, None

    ids = [row.id for row in imp.source.rows(sa.select(table.c.id).where(where))]
    _sync(imp, WATCHERS, imp.source.batches(table, where, imp.batch_size), values_of, ids)


# --- journal details -------------------------------------------------------------------------


def journal_detail(imp, detail) -> tuple[dict, str | None]:
    """Sanmai's journal detail for Redmine's attachment, relation or cf `detail`."""
    old, new = detail.old_value, detail.value
    key = (detail.prop_key or "").strip()
    if detail.property == "attachment":
        # The file's name is the history's; a file not brought over is named without a link.
        attachment_id = imp.ids["attachment"].get(int(key)) if key.isdigit() else None
        name = str(attachment_id) if attachment_id is not None and attachment_id > 0 else ""
        # the name as the file's row has it (Sanmai's own file details name it so)
        old, new = (None if v is None else attachment_files.safe_filename(v) for v in (old, new))
        return {"property": "attachment", "name": name, "old_value": old, "new_value": new}, None
    if detail.property == "relation":
        old, new = (_issue_id(imp, value) for value in (old, new))
        if old is None and new is None:
            return {}, "a relation's change naming an issue that was not imported"
        return {"property": "relation", "name": key[:60], "old_value": old, "new_value": new}, None
    field_id = imp.ids["custom_field"].get(int(key)) if key.isdigit() else None
    if field_id is None:
        return {}, "a change of a custom field that was not imported"
    (old, old_why), (new, new_why) = (field_value(imp, int(key), v) for v in (old, new))
    if old is None and new is None and (old_why or new_why):
        return {}, f"a custom field's change that {old_why or new_why}"
    return {"property": "cf", "name": str(field_id), "old_value": old, "new_value": new}, None


def _issue_id(imp, value: str | None) -> str | None:
    if value is None or not value.strip().isdigit():
        return None
    ticket_id = imp.ids["issue"].get(int(value))
    return None if ticket_id is None else str(ticket_id)


# --- the comparison --------------------------------------------------------------------------


def _sync(
    imp,
    kind: Kind,
    batches: Iterable[list],
    values_of: Callable,
    source_ids: list[int],
) -> None:
    """Bring Redmine's rows of `kind` over: create, update what differs, remove what is gone."""
    count = imp.counts[kind.count]
    # Gone from Redmine first: a row made again there (a watcher who watches again) may take
    # the place of its old self under a unique constraint.
    in_source = set(source_ids)
    _remove(imp, kind, [rid for rid in imp.ids[kind.map_kind] if rid not in in_source])
    kept: set[int] = set()
    for batch in batches:
        mapped = imp.ids[kind.map_kind]
        current = _current(kind, [mapped[row.id] for row in batch if row.id in mapped])
        new, changed = [], []
        for row in batch:
            count.read += 1
            values, why = values_of(row)
            if why:
                count.skip(why)
                continue
            kept.add(row.id)
            known = mapped.get(row.id)
            if known is not None and (known < 0 or known in current):
                if known > 0 and current[known] != values:
                    changed.append({f"b_{k}": v for k, v in values.items()} | {"b_id": known})
                    count.updated += 1
                continue
            new.append((row.id, values))  # new, or its row was deleted in Sanmai since
            count.created += 1
        _write(imp, kind, new, changed)
        imp.commit()
    _remove(imp, kind, [rid for rid in imp.ids[kind.map_kind] if rid not in kept])


def _current(kind: Kind, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    table = kind.model.__table__
    columns = [table.c[name] for name in kind.columns]
    rows = db.session.execute(sa.select(table.c.id, *columns).where(table.c.id.in_(ids)))
    return {row[0]: dict(zip(kind.columns, row[1:], strict=True)) for row in rows}


def _write(imp, kind: Kind, new: list, changed: list) -> None:
    if imp.dry_run:
        for redmine_id, _values in new:
            imp.remember(kind.map_kind, redmine_id, imp.placeholder())
        return
    table = kind.model.__table__
    if new:
        ids = db.session.scalars(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [values for _id, values in new],
        ).all()
        for sanmai_id, (redmine_id, _values) in zip(ids, new, strict=True):
            imp.remember(kind.map_kind, redmine_id, sanmai_id)
    if changed:
        db.session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values({name: sa.bindparam(f"b_{name}") for name in kind.columns}),
            changed,
        )


def _remove(imp, kind: Kind, redmine_ids: list[int]) -> None:
    if not redmine_ids:
        return
    table = kind.model.__table__
    sanmai_ids = [imp.ids[kind.map_kind][rid] for rid in redmine_ids]
    if not imp.dry_run:
        for start in range(0, len(sanmai_ids), imp.batch_size):
            chunk = sanmai_ids[start : start + imp.batch_size]
            db.session.execute(sa.delete(table).where(table.c.id.in_(chunk)))
    for redmine_id in redmine_ids:
        imp.forget(kind.map_kind, redmine_id)
    imp.counts[kind.count].updated += len(redmine_ids)
    imp.commit()
