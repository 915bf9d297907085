"""The import, kind by kind in the order their references need, each kind counted.

Every Redmine row brought over is remembered in `redmine_import_map` with Redmine's
updated_on, in the same transaction as the rows written for it; a later run leaves a row
whose updated_on is unchanged alone, so running again changes only what changed in Redmine
since, and a run that stopped half-way resumes after its last committed batch. A dry run
reads and decides the same way but writes nothing: what it would create gets a placeholder
id (negative) so that the kinds after it can be decided too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from core.extensions import db
from redmine.importing import files, links, mapfile, people, reference, search, tickets
from redmine.importing.models import ImportMap
from redmine.importing.source import Source

KINDS = (
    "users",
    "organisations",
    "projects",
    "memberships",
    "statuses",
    "trackers",
    "workflows",
    "priorities",
    "issues",
    "custom_fields",
    "custom_values",
    "attachments",
    "relations",
    "watchers",
    "journals",
    "details",
)


@dataclass
class Count:
    read: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    reasons: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)  # the reasons that are errors

    def skip(self, why: str, *, error: bool = False) -> None:
        """One row left out; `error`: by something wrong (in the source or in Sanmai) that
        someone should mend, not by a rule of the import."""
        self.skipped += 1
        self.reasons[why] += 1
        if error:
            self.errors[why] += 1


class Importer:
    """One run: the source, what is known of earlier runs, and the counts."""

    def __init__(
        self,
        source: Source,
        *,
        dry_run: bool = False,
        actor=None,
        batch_size=1000,
        rules: mapfile.MapFile | None = None,
        files: Path | None = None,
        progress: Callable[[str, int], None] | None = None,
    ):
        self.source = source
        self.files = files  # Redmine's files/ directory; None: attachments are not brought
        self.progress = progress  # progress(kind, rows read) after each batch
        self.kind = KINDS[0]  # the kind being imported
        self.dry_run = dry_run
        self.mapfile = rules or mapfile.MapFile()
        self.actor = actor  # None: the system
        self.batch_size = batch_size
        self.counts = {kind: Count() for kind in KINDS}
        # {kind: {Redmine id: Sanmai id}} and {kind: {Redmine id: Redmine updated_on}}
        self.ids: dict[str, dict[int, int]] = defaultdict(dict)
        self.stamps: dict[str, dict[int, datetime | None]] = defaultdict(dict)
        # Sanmai project or unit id → its fiscal-year project's id (memberships are held there)
        self.roots: dict[int, int] = {}
        self.closed_statuses: set[int] = set()  # Sanmai ids
        self.organisations: dict[str, int | None] = {}  # name → id, as found or made
        # Redmine's issue custom fields' formats, and its key/value lists' names, by id
        self.field_formats: dict[int, str] = {}
        self.enumerations: dict[int, str] = {}
        self._new_rows: list[dict] = []
        self._changed_rows: list[dict] = []
        self._gone: list[dict] = []
        self._placeholders = 0
        # Core rows, one at a time: a city's map has hundreds of thousands of them.
        known = sa.select(
            ImportMap.kind, ImportMap.redmine_id, ImportMap.sanmai_id, ImportMap.source_updated_at
        )
        for kind, redmine_id, sanmai_id, updated_at in db.session.connection().execute(known):
            self.ids[kind][redmine_id] = sanmai_id
            self.stamps[kind][redmine_id] = updated_at
        self.search = search.SearchIndex()  # big batches write without the search triggers

    def run(self) -> dict[str, Count]:
        """Import every kind; a mapping file that does not fit the source stops it first
        (MapFileError), before anything is written."""
        mapfile.check_against(self.mapfile, self.source)
        for step in (
            people.import_users,
            people.import_projects,
            people.import_memberships,
            reference.import_statuses,  # before trackers: a new tracker's default status
            reference.import_trackers,
            reference.import_workflows,
            reference.import_priorities,
            tickets.import_issues,
            links.import_custom_fields,
            links.import_custom_values,
            files.import_attachments,
            links.import_relations,
            links.import_watchers,
            # after the kinds its details name (files, relations, custom fields)
            tickets.import_journals,
        ):
            self.kind = step.__name__.removeprefix("import_")
            if self.progress is not None:
                self.progress(self.kind, 0)  # the step's rate counts from here
            try:
                step(self)
                self.commit()
            except BaseException:
                # The search index must not stay behind rows written without its triggers:
                # an edit in Sanmai before the next run would meet a document it never had.
                db.session.rollback()
                self._catch_up()
                raise
        self._catch_up()
        return self.counts

    def _catch_up(self) -> None:
        if not self.dry_run and self.search.catch_up():
            self.commit()

    def is_unchanged(self, kind: str, redmine_id: int, updated_on) -> bool:
        return redmine_id in self.ids[kind] and self.stamps[kind].get(redmine_id) == updated_on

    def placeholder(self) -> int:
        """An id for what a dry run would create."""
        self._placeholders -= 1
        return self._placeholders

    def remember(self, kind: str, redmine_id: int, sanmai_id: int, updated_on=None) -> None:
        """Redmine's `kind` row `redmine_id` is Sanmai's `sanmai_id`; written with the batch."""
        row = {
            "kind": kind,
            "redmine_id": redmine_id,
            "sanmai_id": sanmai_id,
            "source_updated_at": updated_on,
        }
        known = redmine_id in self.ids[kind]
        self.ids[kind][redmine_id] = sanmai_id
        self.stamps[kind][redmine_id] = updated_on
        if not self.dry_run:
            (self._changed_rows if known else self._new_rows).append(row)

    def forget(self, kind: str, redmine_id: int) -> None:
        """Redmine's `kind` row `redmine_id` is gone, and so is what it became in Sanmai."""
        self.ids[kind].pop(redmine_id, None)
        self.stamps[kind].pop(redmine_id, None)
        if not self.dry_run:
            self._gone.append({"b_kind": kind, "b_redmine_id": redmine_id})

    def commit(self) -> None:
        """End a batch: its rows and what they came from are committed together."""
        if self.progress is not None and self.kind in self.counts:
            self.progress(self.kind, self.counts[self.kind].read)
        if self.dry_run:
            db.session.rollback()  # nothing was written; ends the read transaction
            return
        if self._new_rows:
            db.session.execute(sa.insert(ImportMap), self._new_rows)
        if self._changed_rows:
            db.session.execute(sa.update(ImportMap), self._changed_rows)
        if self._gone:
            table = ImportMap.__table__
            db.session.execute(
                sa.delete(table).where(
                    table.c.kind == sa.bindparam("b_kind"),
                    table.c.redmine_id == sa.bindparam("b_redmine_id"),
                ),
                self._gone,
            )
        self._new_rows, self._changed_rows, self._gone = [], [], []
        db.session.commit()


def import_database(
    source: Source,
    *,
    dry_run: bool = False,
    actor=None,
    rules: mapfile.MapFile | None = None,
    files: Path | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Count]:
    """Import everything this importer knows from `source` (with the mapping file's `rules`;
    attachments' bytes from `files`, Redmine's files/ directory); the counts per kind."""
    return Importer(
        source, dry_run=dry_run, actor=actor, rules=rules, files=files, progress=progress
    ).run()


def errors(counts: dict[str, Count]) -> int:
    """How many rows were skipped for an error."""
    return sum(sum(c.errors.values()) for c in counts.values())


def counts_table(counts: dict[str, Count]) -> list[str]:
    """The counts as lines of a plain table, then each reason for a skip."""
    lines = [f"{'kind':<14}{'read':>9}{'created':>9}{'updated':>9}{'skipped':>9}"]
    for kind, c in counts.items():
        lines.append(f"{kind:<14}{c.read:>9}{c.created:>9}{c.updated:>9}{c.skipped:>9}")
    reasons = [
        f"  {kind}: {n} {'error: ' if why in c.errors else ''}{why}"
        for kind, c in counts.items()
        for why, n in sorted(c.reasons.items(), key=lambda item: -item[1])
    ]
    if reasons:
        lines.append("skipped:")
        lines.extend(reasons)
    return lines
