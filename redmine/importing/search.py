"""The tickets' search index while an import writes tickets and journals by the thousand.

Sanmai keeps one search document per ticket (core.textsearch_schema): on SQLite FTS5 tables
fed by triggers on tickets and journals, on PostgreSQL a gram column (`fts_grams`) fed
likewise. Those triggers spell a ticket's whole document again for every journal added, which
for a city's hundreds of thousands of journals costs several times the rest of the import. So
a batch that writes many rows writes them with those triggers off, and the index is rebuilt
once at the end of the run:

- the triggers are switched off and on again inside the batch's own transaction (SQLite:
  dropped and re-created from their SQL; PostgreSQL: ALTER TABLE … DISABLE/ENABLE TRIGGER),
  so every committed state has them, and a failed batch rolls back with them in place;
- a marker row in redmine_import_map (kind "search") is written with the first such batch
  and removed by the rebuild, so when a run stops before its end the next run rebuilds.

A batch of few rows (a second run bringing a handful of changes) keeps the triggers: it
costs less than a rebuild. Until the rebuild, search results lag behind the imported rows.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from core.extensions import db
from core.textsearch import GRAMS_COLUMN
from core.textsearch_schema import gram_document_fill_sql
from redmine.importing.models import ImportMap
from tickets.models import Ticket

# A batch writing at least this many tickets or journals does so with the triggers off.
SUSPEND_FROM = 200
MARKER = {"kind": "search", "redmine_id": 0}
TABLES = ("tickets", "journals")
# PostgreSQL's rebuild runs on this many connections at once (SearchIndex._fill_grams).
FILL_PARTS = 2


class SearchIndex:
    """The search triggers of tickets and journals, found once per run."""

    def __init__(self, session=None):
        self.session = session or db.session
        self.dialect = self.session.get_bind().dialect.name
        self.suspended = False
        self.behind = self._marker_exists()  # an earlier run stopped before rebuilding
        if self.dialect == "sqlite":
            self.triggers = self._rows(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('tickets', 'journals') AND name LIKE 'fts%' ORDER BY name"
            )
        elif self.dialect == "postgresql":
            self.triggers = self._rows(
                "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c "
                "ON c.oid = t.tgrelid WHERE NOT t.tgisinternal AND t.tgname LIKE 'fts%' "
                "AND c.relname IN ('tickets', 'journals') AND c.relnamespace = "
                "to_regnamespace(current_schema()) ORDER BY t.tgname"
            )
        else:
            self.triggers = []

    def _rows(self, sql: str) -> list[tuple[str, str]]:
        return [tuple(row) for row in self.session.execute(sa.text(sql))]

    def _marker_exists(self) -> bool:
        return (
            self.session.scalar(
                sa.select(sa.func.count())
                .select_from(ImportMap)
                .where(ImportMap.kind == MARKER["kind"])
            )
            > 0
        )

    def suspend(self, rows: int) -> None:
        """Switch the triggers off for this batch if it writes `rows` ≥ SUSPEND_FROM."""
        if rows < SUSPEND_FROM or not self.triggers or self.suspended:
            return
        # First a write: it opens the transaction (Python's sqlite3 runs DDL outside one
        # otherwise), and the marker is committed with the batch.
        if not self.behind:
            self.session.execute(sa.insert(ImportMap), [MARKER | {"sanmai_id": 0}])
            self.behind = True
        else:
            self.session.execute(
                sa.update(ImportMap)
                .where(ImportMap.kind == MARKER["kind"])
                .values(sanmai_id=ImportMap.sanmai_id)
            )
        for name, detail in self.triggers:
            if self.dialect == "sqlite":
                self.session.execute(sa.text(f'DROP TRIGGER "{name}"'))
            else:
                self.session.execute(sa.text(f'ALTER TABLE "{detail}" DISABLE TRIGGER "{name}"'))
        self.suspended = True

    def resume(self) -> None:
        """Switch the triggers on again, before the batch commits."""
        if not self.suspended:
            return
        for name, detail in self.triggers:
            if self.dialect == "sqlite":
                self.session.execute(sa.text(detail))
            else:
                self.session.execute(sa.text(f'ALTER TABLE "{detail}" ENABLE TRIGGER "{name}"'))
        self.suspended = False

    def catch_up(self) -> bool:
        """Rebuild the tickets' search documents if a batch wrote without the triggers (in
        this run or one that stopped); True if it did. The caller commits."""
        if not self.behind:
            return False
        if self.dialect == "sqlite":
            for (name,) in self.session.execute(
                sa.text(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name LIKE 'fts_tickets%' AND sql LIKE 'CREATE VIRTUAL TABLE%' "
                    "ORDER BY name"
                )
            ):
                self.session.execute(sa.text(f"INSERT INTO {name}({name}) VALUES ('rebuild')"))
        elif self.dialect == "postgresql" and GRAMS_COLUMN in {
            c["name"] for c in sa.inspect(self.session.connection()).get_columns("tickets")
        }:
            self._fill_grams()
        self.session.execute(sa.delete(ImportMap).where(ImportMap.kind == MARKER["kind"]))
        self.behind = False
        return True

    def _fill_grams(self) -> None:
        """PostgreSQL: every ticket's gram document anew, the tickets split by id between
        FILL_PARTS connections. Computing the grams is the server's CPU work; one statement
        keeps one of its cores busy. Each part commits on its own: if one fails, the marker
        stays and the next run fills them all again."""
        low, high = self.session.execute(
            sa.select(sa.func.min(Ticket.id), sa.func.max(Ticket.id))
        ).one()
        if low is None:
            return
        self.session.commit()  # nothing of this session's may wait on the parts' locks
        step = (high - low) // FILL_PARTS + 1
        fill = sa.text(gram_document_fill_sql("tickets") + " WHERE id >= :low AND id < :high")
        engine = self.session.get_bind()

        def part(start: int) -> None:
            with engine.begin() as connection:
                connection.execute(fill, {"low": start, "high": start + step})

        with ThreadPoolExecutor(FILL_PARTS) as pool:
            for done in [pool.submit(part, start) for start in range(low, high + 1, step)]:
                done.result()
