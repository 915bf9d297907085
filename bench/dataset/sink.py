"""Where the data set goes: the schema from the migrations, a bulk writer (executemany on
SQLite, COPY on PostgreSQL), and the indexes and search documents dropped before the load
and made again after it."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from bench.dataset.scale import ANCHOR
from core.textsearch import GRAMS_COLUMN, register_sqlite_functions
from core.textsearch_schema import gram_document_fill_sql

ROOT = Path(__file__).resolve().parent.parent.parent
BATCH = 20_000


class Sink:
    """Bulk writer: executemany on SQLite, COPY on PostgreSQL, with each table's missing
    NOT NULL columns filled from the model's scalar default (robust to added columns)."""

    def __init__(self, engine: sa.Engine, metadata: sa.MetaData):
        self.engine = engine
        self.metadata = metadata
        self.sqlite = engine.dialect.name == "sqlite"
        self.raw = engine.raw_connection()
        if self.sqlite:  # the FTS5 rebuild reads views that call them
            register_sqlite_functions(self.raw.driver_connection)
        self.counts: dict[str, int] = {}

    def _plan(self, table: sa.Table, columns: list[str]):
        extra_cols, extra_vals = [], []
        for col in table.columns:
            if col.name in columns or col.nullable or col.primary_key:
                continue
            if col.server_default is not None:
                continue
            default = col.default
            if default is None:
                raise RuntimeError(f"{table.name}.{col.name}: NOT NULL without a default")
            value = ANCHOR if default.is_callable else default.arg
            extra_cols.append(col.name)
            extra_vals.append(value)
        convert = []
        for name in columns + extra_cols:
            ctype = table.columns[name].type
            convert.append(self._converter(ctype))
        return extra_cols, tuple(extra_vals), convert

    def _converter(self, ctype):
        if isinstance(ctype, sa.JSON):
            return lambda v: None if v is None else json.dumps(v, ensure_ascii=False)
        if not self.sqlite:
            return None
        if isinstance(ctype, sa.DateTime):
            return lambda v: None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(ctype, sa.Date):
            return lambda v: None if v is None else v.isoformat()
        return None

    def insert(self, table_name: str, columns: list[str], rows) -> int:
        table = self.metadata.tables[table_name]
        extra_cols, extra_vals, convert = self._plan(table, columns)
        all_cols = columns + extra_cols
        active = [(i, f) for i, f in enumerate(convert) if f is not None]
        n = 0
        batch = []
        for row in rows:
            row = tuple(row) + extra_vals
            if active:
                row = list(row)
                for i, f in active:
                    row[i] = f(row[i])
            batch.append(row)
            if len(batch) >= BATCH:
                self._write(table_name, all_cols, batch)
                n += len(batch)
                batch = []
        if batch:
            self._write(table_name, all_cols, batch)
            n += len(batch)
        self.counts[table_name] = self.counts.get(table_name, 0) + n
        return n

    def _write(self, table: str, columns: list[str], batch: list) -> None:
        cur = self.raw.cursor()
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)
        else:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row(row)
        cur.close()

    def execute(self, sql: str) -> list:
        cur = self.raw.cursor()
        cur.execute(sql)
        rows = cur.fetchall() if cur.description else []
        cur.close()
        return rows

    def commit(self) -> None:
        self.raw.commit()


# --- database set-up ---------------------------------------------------------------------------


def prepare(url: str):
    """Schema by the migrations and the reference data, on an app of its own."""
    from flask_migrate import upgrade

    from app import create_app
    from core.extensions import db
    from tickets.defaults import ensure_defaults

    instance = ROOT / "bench" / "data" / "instance"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(instance),
                      "SANMAI_CACHE_DIR": str(instance / "cache"),
                      "SANMAI_UPLOAD_DIR": str(instance / "files")})  # fmt: skip
    with app.app_context():
        upgrade()
        ensure_defaults()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return db.metadata


def postgres_url(server_url: str, name: str) -> str:
    server = sa.engine.make_url(server_url)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_search_and_indexes(sink: Sink) -> list[str]:
    """Secondary indexes and search triggers slow a bulk load down: drop them, return the SQL
    that puts them back (after the load, with the FTS indexes rebuilt in one go)."""
    restore = []
    if sink.sqlite:
        rows = sink.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND type IN ('index', 'trigger') ORDER BY type, name"
        )
        for kind, name, sql in rows:
            sink.execute(f"DROP {kind.upper()} {name}")
            restore.append(sql)
        fts = sink.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND sql LIKE '%USING fts5%' "
            "ORDER BY name"
        )
        restore += [f"INSERT INTO {n}({n}) VALUES ('rebuild')" for (n,) in fts]
    else:
        rows = sink.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) "
            "ORDER BY i.indexname"
        )
        for name, sql in rows:
            sink.execute(f'DROP INDEX "{name}"')
            restore.append(sql)
    sink.commit()
    return restore


def finish(sink: Sink, restore: list[str], metadata: sa.MetaData) -> None:
    if not sink.sqlite:  # the GIN indexes (trigram, bigram) are built in memory
        sink.execute("SET maintenance_work_mem = '256MB'")
    grams = [sql for sql in restore if f"({GRAMS_COLUMN})" in sql]  # the gram index, if any
    for sql in restore:
        if sql not in grams:
            sink.execute(sql)
    if grams:
        # The tickets' gram documents, which the triggers off during the load did not write:
        # filled once the other indexes are back (each document reads its ticket's notes by
        # ticket_id), and their own index built from them in one go.
        sink.execute(gram_document_fill_sql("tickets"))
        for sql in grams:
            sink.execute(sql)
    if not sink.sqlite:
        for table in metadata.sorted_tables:
            if "id" in table.columns and table.columns["id"].autoincrement is not False:
                sink.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                )
    if not sink.sqlite:
        sink.execute("SET session_replication_role = DEFAULT")
    sink.commit()
    if sink.sqlite:
        sink.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        sink.execute("VACUUM")
        # Statistics for the query planner: without them SQLite walks the wrong indexes.
        sink.execute("ANALYZE")
        sink.commit()
    else:
        sink.raw.driver_connection.autocommit = True
        if grams:  # the fill left a dead version of every ticket: 145 MB where 110 are live
            sink.execute("VACUUM FULL tickets")
        sink.execute("VACUUM ANALYZE")
