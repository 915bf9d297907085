"""Keyword search that finds Japanese substrings of any length, on SQLite and PostgreSQL.

A query is split into words (half- or full-width spaces); every word must match.

- SQLite: an FTS5 table with the trigram tokenizer (external content, kept in step by
  triggers) answers words of 3+ characters through its index. Trigrams match nothing shorter,
  so 1–2 character words (宿題, 住基, 課) use LIKE on the base table's columns — never on the
  FTS table, whose LIKE is broken on SQLite 3.40.
- PostgreSQL: ILIKE on the base columns, served by pg_trgm GIN indexes for 3+ characters.

Both are case-insensitive for English. A domain describes where to look with `Source`s and
asks `matches_all(q, key, sources)` for a WHERE clause; its migration creates the indexes
with `create_index_sql` / `drop_index_sql`.

The index objects are named `fts_<table>…` (SQLite tables and triggers) and
`trgm_<table>_<column>` (PostgreSQL indexes); `include_name` hides them from Alembic's
model comparison, since they are not part of the models' metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa

from extensions import db

MIN_TRIGRAM = 3
_SPACES = re.compile(r"[\s\u3000]+")


@dataclass(frozen=True)
class Source:
    """Text `columns` of one table, searched for the ids in `key`.

    `key` is the column whose values the search yields (Ticket.id, or Journal.ticket_id to
    find tickets through their notes). `fts_table` is the SQLite FTS5 table indexing
    `columns` with rowid = `rowid` (the table's primary key).
    """

    key: sa.ColumnElement
    columns: tuple[sa.ColumnElement, ...]
    fts_table: str | None = None
    rowid: sa.ColumnElement | None = None
    where: sa.ColumnElement | None = None  # only rows meeting this count (e.g. not private)


def words(q: str | None) -> list[str]:
    """The distinct words of a query, in order."""
    seen: list[str] = []
    for word in _SPACES.split((q or "").strip()):
        if word and word not in seen:
            seen.append(word)
    return seen


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def fts_phrase(term: str) -> str:
    """A term as an FTS5 phrase, so '-', ':', '*' are text, not query syntax."""
    return '"' + term.replace('"', '""') + '"'


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def contains(column: sa.ColumnElement, term: str, dialect: str | None = None):
    """`column` contains `term` (case-insensitive for English)."""
    pattern = f"%{escape_like(term)}%"
    dialect = dialect or _dialect()
    cased = term.lower() != term.upper()
    # ILIKE lower-cases every row: about 4× slower than LIKE on Japanese text, so it is used
    # only for words that have a case (English); pg_trgm's GIN index serves both.
    if dialect == "postgresql" and cased:
        return column.ilike(pattern, escape="\\")
    if dialect == "sqlite" and not cased:
        # The same rows as LIKE for a word without case (Japanese), about 1.5× faster.
        return sa.func.instr(column, term) > 0
    return column.like(pattern, escape="\\")  # SQLite LIKE ignores ASCII case


def source_matches(source: Source, term: str, dialect: str | None = None):
    """A SELECT of `source.key` values whose text contains `term`."""
    dialect = dialect or _dialect()
    if dialect == "sqlite" and source.fts_table and len(term) >= MIN_TRIGRAM:
        fts = sa.table(source.fts_table)
        hits = (
            sa.select(sa.literal_column("rowid"))
            .select_from(fts)
            .where(sa.literal_column(source.fts_table).op("MATCH")(fts_phrase(term)))
        )
        stmt = sa.select(source.key).where(source.rowid.in_(hits))
    else:
        stmt = sa.select(source.key).where(
            sa.or_(*(contains(c, term, dialect) for c in source.columns))
        )
    return stmt if source.where is None else stmt.where(source.where)


def matches_all(q: str | None, key: sa.ColumnElement, sources: list[Source]):
    """WHERE clause: every word of `q` occurs in at least one source of the row `key`.

    Returns None for an empty query (no restriction).
    """
    terms = words(q)
    if not terms:
        return None
    dialect = _dialect()
    return sa.and_(
        *(sa.or_(*(key.in_(source_matches(s, term, dialect)) for s in sources)) for term in terms)
    )


# --- schema (used by migrations) -------------------------------------------------------------
# Migrations call these; change them only compatibly (or add new ones), since a changed
# helper changes what old migrations do.


def create_index_sql(dialect: str, table: str, columns: list[str], pk: str = "id") -> list[str]:
    """DDL for the search index of `table`'s text `columns` on `dialect`."""
    if dialect == "postgresql":
        return ["CREATE EXTENSION IF NOT EXISTS pg_trgm"] + [
            f"CREATE INDEX IF NOT EXISTS trgm_{table}_{col} ON {table} "
            f"USING gin ({col} gin_trgm_ops)"
            for col in columns
        ]
    if dialect != "sqlite":
        return []
    fts = f"fts_{table}"
    cols = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    delete = f"INSERT INTO {fts}({fts}, rowid, {cols}) VALUES ('delete', old.{pk}, {old});"
    insert = f"INSERT INTO {fts}(rowid, {cols}) VALUES (new.{pk}, {new});"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{table}', "
        f"content_rowid='{pk}', tokenize='trigram')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {delete} END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {cols} ON {table} BEGIN {delete} {insert} END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


def drop_index_sql(dialect: str, table: str, columns: list[str]) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP INDEX IF EXISTS trgm_{table}_{col}" for col in columns]
    if dialect != "sqlite":
        return []
    fts = f"fts_{table}"
    return [f"DROP TRIGGER IF EXISTS {fts}_{t}" for t in ("ai", "ad", "au")] + [
        f"DROP TABLE IF EXISTS {fts}"
    ]


def include_name(name, type_, parent_names) -> bool:
    """Alembic filter: the search indexes are not in the models' metadata; ignore them."""
    prefix = {"table": "fts_", "index": "trgm_"}.get(type_)
    return not (prefix and name and name.startswith(prefix))
