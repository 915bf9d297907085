"""Keyword search that finds Japanese substrings of any length, on SQLite and PostgreSQL.

A query is split into words (half- or full-width spaces); every word must match.

- SQLite: an FTS5 table with the trigram tokenizer (external content, kept in step by
  triggers) answers words of 3+ characters through its index. Trigrams match nothing shorter,
  so 1–2 character words (宿題, 住基, 課) use LIKE on the base table's columns — never on the
  FTS table, whose LIKE is broken on SQLite 3.40.
  A table whose text is spread over child rows (a ticket's notes) has one trigram document
  per row instead (`fts_<table>_trigrams`, migration 0009): a word common in notes finds
  its tickets in one lookup, not by reading every matching note for its ticket.
- PostgreSQL: ILIKE on the base columns, served by pg_trgm GIN indexes for 3+ characters.
  A table whose rows are found through their children's text too (tickets through their
  notes) holds its own gram document instead (`fts_grams`, migration 0011): the distinct
  characters, bigrams and trigrams of its texts and its children's, lower-cased, kept by
  triggers, in a GIN index. A word is then one lookup there, ANDed in the index with the
  other conditions (the open tickets): exact for a word of up to 3 characters without case,
  re-checked on the texts for longer or English ones.
- 1–2 character words (both databases, for sources with a `bigram_table`): a bigram side index
  finds the candidate rows, and the word's LIKE/instr/ILIKE condition is still checked on
  them, so the rows are exactly those of the plain scan. SQLite: an FTS5 table
  `fts_<table>_bigrams` (tokenizer `ascii`, `detail=none`, external content: the view
  `fts_<table>_bigram_text`, which spells each text as its space-separated bigrams with
  `fts_bigrams()`, a function each connection registers (`register_sqlite_functions`), in
  time linear in the text's length (migration 0016); triggers keep it in step). A
  2-character word is one token, a 1-character word a prefix query.
  PostgreSQL: GIN indexes `bigram_<table>_<column>` over `search_grams(column)`, the array
  of the lower-cased text's distinct characters and bigrams (an immutable SQL function).

Both are case-insensitive for English. A domain describes where to look with `Source`s and
asks `matches_all(q, key, sources)` for a WHERE clause; its migration creates the indexes
with `create_index_sql` / `drop_index_sql`.

The index objects are named `fts_<table>…` (SQLite tables, views and triggers) and
`trgm_<table>_<column>` / `bigram_<table>_<column>` (PostgreSQL indexes); `include_name` hides
them from Alembic's model comparison, since they are not part of the models' metadata.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from extensions import db

MIN_TRIGRAM = 3
MAX_BIGRAM = 2
# SQLite's bigram index uses FTS5's `ascii` tokenizer: ASCII letters and digits and every
# non-ASCII character are token characters, other ASCII characters separate tokens. A word
# with such a character cannot be one token, so it is scanned instead (rare: "%", "a-").
_ASCII_SEPARATOR = re.compile(r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]")
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
    # The bigram side index (migration 0007) for 1–2 character words. SQLite: the FTS5 table
    # whose rowids are this source's `key` values and whose documents hold its `columns`
    # (with `where` applied); sources sharing one are looked up once. PostgreSQL: the GIN
    # indexes over search_grams() of the columns exist.
    bigram_table: str | None = None
    # SQLite: the trigram document table (create_document_sql) whose rowids are this
    # source's `key` values and whose documents hold its `columns` (with `where` applied);
    # for 3+ character words it replaces `fts_table`, and sources sharing one are looked up
    # once.
    document: str | None = None
    # PostgreSQL: the gram document column of the key's table (create_gram_document_sql,
    # "tickets.fts_grams") holding this source's `columns` (with `where` applied); sources
    # sharing one are looked up once.
    grams: str | None = None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def words(q: str | None) -> list[str]:
    """The distinct words of a query, in order. Control characters (NUL …) separate words:
    no text holds them, and PostgreSQL cannot take NUL in a parameter."""
    seen: list[str] = []
    for word in _SPACES.split(_CONTROL.sub(" ", q or "").strip()):
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


def _fts_rowids(table: str, query: str) -> sa.Select:
    return (
        sa.select(sa.literal_column("rowid"))
        .select_from(sa.table(table))
        .where(sa.literal_column(table).op("MATCH")(query))
    )


def bigram_query(term: str) -> str | None:
    """The FTS5 query of a 1–2 character word in SQLite's bigram index, or None when the
    index cannot answer it (longer, or an ASCII separator in it)."""
    if not 1 <= len(term) <= MAX_BIGRAM or _ASCII_SEPARATOR.search(term):
        return None
    return fts_phrase(term) + (" *" if len(term) == 1 else "")


def _pg_bigram_candidates(source: Source, term: str):
    """PostgreSQL: rows whose columns' search_grams() hold the lower-cased word (a superset:
    the caller still checks the word's LIKE/ILIKE condition)."""
    wanted = postgresql.array([sa.func.lower(sa.literal(term, sa.Text))])
    return sa.or_(*(sa.func.search_grams(c).op("@>")(wanted) for c in source.columns))


def _scanned(source: Source, term: str, dialect: str):
    """The condition on a row of `source`'s table that its text contains `term`, where no
    FTS5 table answers (PostgreSQL, or SQLite's LIKE fallback)."""
    if dialect == "postgresql" and source.bigram_table and len(term) <= MAX_BIGRAM:
        # The word's own test on the candidates, on `column || ''` so the planner does not
        # also ask the pg_trgm index (which reads all of itself for a pattern under three
        # characters).
        says = sa.and_(
            _pg_bigram_candidates(source, term),
            sa.or_(*(contains(c.concat(""), term, dialect) for c in source.columns)),
        )
    else:
        says = sa.or_(*(contains(c, term, dialect) for c in source.columns))
    return says if source.where is None else sa.and_(says, source.where)


def source_matches(source: Source, term: str, dialect: str | None = None):
    """A SELECT of `source.key` values whose text contains `term`."""
    dialect = dialect or _dialect()
    if dialect == "sqlite" and source.document and len(term) >= MIN_TRIGRAM:
        return _fts_rowids(source.document, fts_phrase(term))  # exact, as the trigram tables
    if dialect == "sqlite" and source.fts_table and len(term) >= MIN_TRIGRAM:
        hits = _fts_rowids(source.fts_table, fts_phrase(term))
        if source.key is source.rowid and source.where is None:
            return hits  # the FTS rowids are the keys: no need to read the rows
        stmt = sa.select(source.key).where(source.rowid.in_(hits))
        return stmt if source.where is None else stmt.where(source.where)
    if dialect == "sqlite" and source.bigram_table and bigram_query(term):
        # Exact, no check on the text needed: a 2-character word is one token of the ascii
        # tokenizer, equal to a text's bigram up to ASCII case (as SQLite's LIKE; a caseless
        # word has no ASCII letter, so it is equal as instr() wants); a 1-character word
        # prefixes exactly the tokens starting with it (the last character stands alone).
        return _fts_rowids(source.bigram_table, bigram_query(term))
    return sa.select(source.key).where(_scanned(source, term, dialect))


def _pg_document_match(sources: list[Source], key: sa.ColumnElement, term: str):
    """PostgreSQL: the rows of `key` whose gram document holds `term` (the sources share it).

    The document holds every character, bigram and trigram of the lower-cased texts, each
    text apart: a caseless word of up to 3 characters is in it exactly when a text contains
    the word. A longer word needs all its grams there (few rows have them all without the
    word) and is then checked on the row's texts; so is a word with case, which the texts
    match by ILIKE.
    """
    grams = sa.literal_column(sources[0].grams, postgresql.ARRAY(sa.Text))
    # The word's longest grams (its shorter ones are in the document with them): the planner
    # estimates one gram's rows from the column's statistics, and ANDs the index with the
    # other conditions' only when it knows the word is common. Lower-cased as the document,
    # character by character; written into the statement, so they are constants the planner
    # sees (a parameter of a statement prepared for any word would be planned blind).
    longest = (
        [term] if len(term) <= MIN_TRIGRAM else [term[i : i + 3] for i in range(len(term) - 2)]
    )
    wanted = postgresql.array(
        [
            sa.func.lower(sa.bindparam(None, g, type_=sa.Text, literal_execute=True))
            for g in dict.fromkeys(longest)
        ]
    )
    held = grams.op("@>")(wanted)
    if len(term) <= MIN_TRIGRAM and term.lower() == term.upper():
        return held
    table = sources[0].grams.partition(".")[0]
    checks = []
    for source in sources:
        says = sa.or_(*(contains(c, term, "postgresql") for c in source.columns))
        if source.where is not None:
            says = sa.and_(says, source.where)
        if source.columns[0].expression.table.name == table:
            checks.append(says)
        else:
            # A child's text, read for this row only. (EXISTS would let the planner read every
            # child matching the word first, tens of thousands of notes for a common one.)
            first = sa.select(sa.literal(1)).where(source.key == key, says).limit(1)
            checks.append(first.scalar_subquery().is_not(None))
    return sa.and_(held, sa.or_(*checks))


def matches_all(q: str | None, key: sa.ColumnElement, sources: list[Source]):
    """WHERE clause: every word of `q` occurs in at least one source of the row `key`.

    Returns None for an empty query (no restriction).
    """
    terms = words(q)
    if not terms:
        return None
    dialect = _dialect()

    def shared(source: Source, term: str) -> str | None:
        """SQLite: the per-key document that answers `term` for `source`, if any."""
        if dialect != "sqlite":
            return None
        if source.bigram_table and bigram_query(term):
            return source.bigram_table
        return source.document if len(term) >= MIN_TRIGRAM else None

    def one_word(term: str):
        found, parts, seen, rest = [], [], set(), sources
        if dialect == "postgresql":  # gram documents first, one lookup per document
            documents = dict.fromkeys(s.grams for s in sources if s.grams)
            found = [
                _pg_document_match([s for s in sources if s.grams == g], key, term)
                for g in documents
            ]
            rest = [s for s in sources if not s.grams]
            # A source on the very rows asked for (items found by their own text) is a
            # condition on them, not a sub-select of the same table: PostgreSQL joined the
            # two and looked every match up again by primary key (9,709 for 住基 in items).
            found += [_scanned(s, term, dialect) for s in rest if s.key is key]
            rest = [s for s in rest if s.key is not key]
        for source in rest:
            document = shared(source, term)
            if document:
                if document in seen:
                    continue  # one document holds all the sources of this table
                seen.add(document)
            parts.append(source_matches(source, term, dialect))
        if dialect == "postgresql" and len(parts) > 1:
            # The keys of the union as one array, computed once. PostgreSQL cannot estimate
            # how many rows a union yields (it assumes 200): with IN (union) it walks a whole
            # table in index order to join them; an array it looks up key by key. (An OR
            # of INs is a filter on every row.) One source's IN it estimates well.
            matches = sa.union_all(*parts).scalar_subquery()
            return sa.or_(*found, key == sa.any_(sa.func.array(matches)))
        return sa.or_(*found, *(key.in_(part) for part in parts))

    return sa.and_(*(one_word(term) for term in terms))


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


# The bigram side index (migration 0007). SQLite spells a text as its bigrams in SQL: the
# characters at positions 1 + a*10^6 + b*10^3 + c (a, b, c from the table fts_digits, 0–999,
# each walked as a range), so any text SQLite can hold is covered; the last character stands
# alone, so a 1-character prefix query finds it too.
DIGITS = "fts_digits"
GRAMS_FUNCTION = "search_grams"  # PostgreSQL


@dataclass(frozen=True)
class Children:
    """Rows of another table whose text belongs to the parent's bigram document (a ticket's
    journal notes): `table`.`column` where `fk` = the parent's key and `where` holds."""

    table: str
    fk: str
    column: str
    where: str = "1"  # SQL over the child row, its columns written {row}name
    watch: tuple[str, ...] = ()  # the other columns `where` reads


def bigram_text_sql(expr: str) -> str:
    """SQLite: `expr`'s bigrams joined by spaces (NULL for NULL or empty text)."""
    n = f"length({expr}) - 1"
    return (
        f"(SELECT group_concat(substr({expr}, 1 + a.n * 1000000 + b.n * 1000 + c.n, 2), ' ') "
        f"FROM {DIGITS} a CROSS JOIN {DIGITS} b CROSS JOIN {DIGITS} c "
        f"WHERE a.n <= ({n}) / 1000000 AND b.n <= min(999, ({n}) / 1000 - a.n * 1000) "
        f"AND c.n <= min(999, {n} - a.n * 1000000 - b.n * 1000))"
    )


# SQLite spells the bigrams in Python since migration 0016: a function every connection of
# the app registers (app._sqlite_pragmas). SQL could only reach the k-th character by walking
# the text from its start, so spelling a text cost time in the square of its length. Its
# output is part of the index (FTS5 deletes a document by the tokens it spells again), so it
# must never change: it spells exactly what bigram_text_sql spells.
BIGRAMS_FUNCTION = "fts_bigrams"


def bigram_text(text: str | None) -> str | None:
    """`text`'s bigrams joined by spaces, the last character alone (None for None or '')."""
    if not text:
        return None
    return " ".join([text[i : i + 2] for i in range(len(text))])


def register_sqlite_functions(dbapi_connection) -> None:
    """Make the search's SQL functions known on a new SQLite connection (its views and
    triggers call them)."""
    dbapi_connection.create_function(BIGRAMS_FUNCTION, 1, bigram_text, deterministic=True)


def _grams_function_sql() -> str:
    # The characters and bigrams of the lower-cased text (duplicates kept: GIN drops them).
    # PL/pgSQL: about 15× faster than a set-returning SQL function, which matters when the
    # index is built over hundreds of thousands of rows.
    return (
        f"CREATE OR REPLACE FUNCTION {GRAMS_FUNCTION}(t text) RETURNS text[] "
        "LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$ "
        "DECLARE c text[] := string_to_array(lower(t), NULL); grams text[] := c; "
        "BEGIN FOR i IN 1 .. cardinality(c) - 1 LOOP grams := grams || (c[i] || c[i + 1]); "
        "END LOOP; RETURN grams; END $$"
    )


def _document_view(table: str, name: str) -> str:
    """The view a document table reads its content from (0007 named the bigram one so)."""
    return f"fts_{table}_bigram_text" if name == "bigrams" else f"fts_{table}_{name}_text"


def _document_sql(
    table: str,
    columns: list[str],
    pk: str,
    children: Children | None,
    *,
    name: str,
    spell,
    join: str,
    options: str,
) -> list[str]:
    """SQLite: one FTS5 document per row of `table` (rowid = `pk`) over `columns` and its
    `children`'s texts, external content = a view `fts_<table>_<name>_text`… spelling each
    text with `spell` (the children's joined by `join`). The triggers keep "document = the
    view's row now": a write that changes a document deletes it BEFORE (the view still shows
    what was indexed) and inserts it AFTER."""
    fts = f"fts_{table}_{name}"
    view = _document_view(table, name)
    names = list(columns)
    spelled = [f"{spell(f'{table}.{c}')} AS {c}" for c in columns]
    if children:
        ch = children
        names.append(ch.column)
        spelled.append(
            f"(SELECT group_concat({spell(f'{ch.table}.{ch.column}')}, {join}) "
            f"FROM {ch.table} WHERE {ch.table}.{ch.fk} = {table}.{pk} "
            f"AND ({ch.where.format(row=ch.table + '.')})) "
            f"AS {ch.column}"
        )
    cols = ", ".join(names)

    def delete(ids: str) -> str:
        return (
            f"INSERT INTO {fts}({fts}, rowid, {cols}) SELECT 'delete', {pk}, {cols} "
            f"FROM {view} WHERE {pk} IN ({ids});"
        )

    def insert(ids: str) -> str:
        return f"INSERT INTO {fts}(rowid, {cols}) SELECT {pk}, {cols} FROM {view} WHERE {pk} IN ({ids});"

    own = ", ".join(columns)
    out = [
        f"CREATE VIEW {view} AS SELECT {table}.{pk} AS {pk}, {', '.join(spelled)} FROM {table}",
        f"CREATE VIRTUAL TABLE {fts} USING fts5({cols}, content='{view}', "
        f"content_rowid='{pk}', {options})",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {insert(f'new.{pk}')} END",
        f"CREATE TRIGGER {fts}_bu BEFORE UPDATE OF {own} ON {table} "
        f"BEGIN {delete(f'old.{pk}')} END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {own} ON {table} BEGIN {insert(f'new.{pk}')} END",
        f"CREATE TRIGGER {fts}_bd BEFORE DELETE ON {table} BEGIN {delete(f'old.{pk}')} END",
    ]
    if children:
        ch, c = children, f"{fts}_{children.table}"
        # A child that adds no text (an empty note, a private one) leaves the document as is.
        adds = f"coalesce(new.{ch.column}, '') <> '' AND ({ch.where.format(row='new.')})"
        drops = f"coalesce(old.{ch.column}, '') <> '' AND ({ch.where.format(row='old.')})"
        both = f"old.{ch.fk}, new.{ch.fk}"
        watched = ", ".join(dict.fromkeys([ch.column, ch.fk, *ch.watch]))
        out += [
            f"CREATE TRIGGER {c}_bi BEFORE INSERT ON {ch.table} WHEN {adds} "
            f"BEGIN {delete(f'new.{ch.fk}')} END",
            f"CREATE TRIGGER {c}_ai AFTER INSERT ON {ch.table} WHEN {adds} "
            f"BEGIN {insert(f'new.{ch.fk}')} END",
            f"CREATE TRIGGER {c}_bu BEFORE UPDATE OF {watched} ON {ch.table} "
            f"BEGIN {delete(both)} END",
            f"CREATE TRIGGER {c}_au AFTER UPDATE OF {watched} ON {ch.table} "
            f"BEGIN {insert(both)} END",
            f"CREATE TRIGGER {c}_bd BEFORE DELETE ON {ch.table} WHEN {drops} "
            f"BEGIN {delete(f'old.{ch.fk}')} END",
            f"CREATE TRIGGER {c}_ad AFTER DELETE ON {ch.table} WHEN {drops} "
            f"BEGIN {insert(f'old.{ch.fk}')} END",
        ]
    return out + [f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"]


def _drop_document_sql(table: str, name: str, children: Children | None) -> list[str]:
    fts = f"fts_{table}_{name}"
    view = _document_view(table, name)
    triggers = [f"{fts}_{t}" for t in ("ai", "bu", "au", "bd")]
    if children:
        triggers += [f"{fts}_{children.table}_{t}" for t in ("bi", "ai", "bu", "au", "bd", "ad")]
    return [f"DROP TRIGGER IF EXISTS {t}" for t in triggers] + [
        f"DROP TABLE IF EXISTS {fts}",
        f"DROP VIEW IF EXISTS {view}",
    ]


def create_bigram_sql(
    dialect: str,
    table: str,
    columns: list[str],
    pk: str = "id",
    children: Children | None = None,
) -> list[str]:
    """DDL for the bigram side index of `table`'s text `columns` (and its `children`'s).

    SQLite: one FTS5 document per row of `table` (`_document_sql`), its texts spelled as
    space-separated bigrams, tokenizer `ascii`, detail=none. PostgreSQL: a GIN index per
    column (the children's on their table).
    """
    if dialect == "postgresql":
        indexed = [(table, c) for c in columns]
        if children:
            indexed.append((children.table, children.column))
        return [_grams_function_sql()] + [
            f"CREATE INDEX IF NOT EXISTS bigram_{t}_{c} ON {t} USING gin ({GRAMS_FUNCTION}({c}))"
            for t, c in indexed
        ]
    if dialect != "sqlite":
        return []
    return [
        f"CREATE TABLE IF NOT EXISTS {DIGITS} (n INTEGER PRIMARY KEY)",
        f"INSERT OR IGNORE INTO {DIGITS}(n) WITH RECURSIVE d(n) AS "
        "(SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < 999) SELECT n FROM d",
    ] + _document_sql(
        table,
        columns,
        pk,
        children,
        name="bigrams",
        spell=bigram_text_sql,
        join="' '",
        options="tokenize='ascii', detail=none",
    )


def drop_bigram_sql(
    dialect: str, table: str, columns: list[str], children: Children | None = None
) -> list[str]:
    """The reverse of create_bigram_sql, except the shared fts_digits table and PostgreSQL
    function (drop_bigram_shared_sql, once every index is gone)."""
    if dialect == "postgresql":
        indexed = [(table, c) for c in columns]
        if children:
            indexed.append((children.table, children.column))
        return [f"DROP INDEX IF EXISTS bigram_{t}_{c}" for t, c in indexed]
    if dialect != "sqlite":
        return []
    return _drop_document_sql(table, "bigrams", children)


def create_document_sql(
    dialect: str,
    table: str,
    columns: list[str],
    pk: str = "id",
    children: Children | None = None,
) -> list[str]:
    """SQLite: a trigram document per row of `table` (FTS5 table `fts_<table>_trigrams`)
    holding its `columns` and its `children`'s texts, so a word of 3+ characters finds the
    rows in one lookup, however many children hold it. Each text is a column of its own or
    a line of the children's column: a match never spans two texts, since a word holds no
    space. PostgreSQL: nothing (its pg_trgm indexes serve each column)."""
    if dialect != "sqlite":
        return []
    return _document_sql(
        table,
        columns,
        pk,
        children,
        name="trigrams",
        spell=lambda expr: f"nullif({expr}, '')",  # an empty note adds no line
        join="char(10)",
        options="tokenize='trigram'",
    )


def drop_document_sql(dialect: str, table: str, children: Children | None = None) -> list[str]:
    return _drop_document_sql(table, "trigrams", children) if dialect == "sqlite" else []


# PostgreSQL gram documents (migration 0011).
DOCUMENT_GRAMS_FUNCTION = "document_grams"
GRAMS_COLUMN = "fts_grams"


def _document_grams_function_sql() -> str:
    # The characters, bigrams and trigrams of the lower-cased text (see _grams_function_sql).
    return (
        f"CREATE OR REPLACE FUNCTION {DOCUMENT_GRAMS_FUNCTION}(t text) RETURNS text[] "
        "LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$ "
        "DECLARE c text[] := string_to_array(lower(t), NULL); n int := cardinality(c); "
        "grams text[] := c; "
        "BEGIN FOR i IN 1 .. n - 1 LOOP grams := grams || (c[i] || c[i + 1]); END LOOP; "
        "FOR i IN 1 .. n - 2 LOOP grams := grams || (c[i] || c[i + 1] || c[i + 2]); END LOOP; "
        "RETURN grams; END $$"
    )


def gram_document_fill_sql(table: str) -> str:
    """PostgreSQL: every row's gram document computed anew (after a load without triggers)."""
    return f"UPDATE {table} SET {GRAMS_COLUMN} = fts_{table}_grams({table})"


def create_gram_document_sql(
    dialect: str, table: str, columns: list[str], pk: str = "id", children: Children | None = None
) -> list[str]:
    """PostgreSQL: a column `fts_grams` on `table` holding the distinct grams
    (document_grams) of its `columns` and its `children`'s texts, each text apart, so a word
    never matches across two; a GIN index over it; triggers that compute it when a row is
    written and when a child's text is added, changed, hidden or removed. SQLite: nothing
    (its FTS5 documents, create_document_sql)."""
    if dialect != "postgresql":
        return []
    fn = f"fts_{table}_grams"
    own = " || ".join(f"{DOCUMENT_GRAMS_FUNCTION}(r.{c})" for c in columns)
    if children:
        ch = children
        own += (
            f" || coalesce((SELECT array_agg(g) FROM {ch.table} ch, "
            f"unnest({DOCUMENT_GRAMS_FUNCTION}(ch.{ch.column})) g "
            f"WHERE ch.{ch.fk} = r.{pk} AND ({ch.where.format(row='ch.')})), '{{}}')"
        )
    out = [
        _document_grams_function_sql(),
        f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {GRAMS_COLUMN} text[]",
        # The row type as argument: the same function serves the trigger (NEW, not yet
        # written) and the fill.
        f"CREATE OR REPLACE FUNCTION {fn}(r {table}) RETURNS text[] LANGUAGE sql STABLE AS "
        f"$$ SELECT array(SELECT DISTINCT g FROM unnest({own}) g) $$",
        f"CREATE OR REPLACE FUNCTION {fn}_row() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN NEW.{GRAMS_COLUMN} := {fn}(NEW); RETURN NEW; END $$",
        f"CREATE TRIGGER {fn}_biu BEFORE INSERT OR UPDATE OF {', '.join(columns)} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {fn}_row()",
    ]
    if children:
        ch = children
        update = f"UPDATE {table} r SET {GRAMS_COLUMN} = {fn}(r) WHERE r.{pk} = "
        adds = f"coalesce(NEW.{ch.column}, '') <> '' AND ({ch.where.format(row='NEW.')})"
        drops = f"coalesce(OLD.{ch.column}, '') <> '' AND ({ch.where.format(row='OLD.')})"
        watched = list(dict.fromkeys([ch.column, ch.fk, *ch.watch]))
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watched)
        # A child added only adds grams: merged into the document, without reading the
        # row's other children (a ticket may have hundreds of notes). A change or removal
        # may take grams away: the document is computed anew.
        added = (
            f"UPDATE {table} r SET {GRAMS_COLUMN} = array(SELECT DISTINCT g FROM "
            f"unnest(r.{GRAMS_COLUMN} || {DOCUMENT_GRAMS_FUNCTION}(NEW.{ch.column})) g) "
            f"WHERE r.{pk} = NEW.{ch.fk}"
        )
        out += [
            f"CREATE OR REPLACE FUNCTION {fn}_{ch.table}() RETURNS trigger LANGUAGE plpgsql "
            f"AS $$ BEGIN "
            f"IF TG_OP = 'INSERT' THEN {added}; RETURN NULL; END IF; "
            f"{update}OLD.{ch.fk}; "
            f"IF TG_OP = 'UPDATE' AND NEW.{ch.fk} <> OLD.{ch.fk} THEN {update}NEW.{ch.fk}; END IF; "
            f"RETURN NULL; END $$",
            f"CREATE TRIGGER {fn}_{ch.table}_ai AFTER INSERT ON {ch.table} "
            f"FOR EACH ROW WHEN ({adds}) EXECUTE FUNCTION {fn}_{ch.table}()",
            f"CREATE TRIGGER {fn}_{ch.table}_au AFTER UPDATE OF {', '.join(watched)} "
            f"ON {ch.table} FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {fn}_{ch.table}()",
            f"CREATE TRIGGER {fn}_{ch.table}_ad AFTER DELETE ON {ch.table} "
            f"FOR EACH ROW WHEN ({drops}) EXECUTE FUNCTION {fn}_{ch.table}()",
        ]
    return out + [
        gram_document_fill_sql(table),
        f"CREATE INDEX IF NOT EXISTS {fn} ON {table} USING gin ({GRAMS_COLUMN})",
    ]


def drop_gram_document_sql(dialect: str, table: str, children: Children | None = None) -> list[str]:
    if dialect != "postgresql":
        return []
    fn = f"fts_{table}_grams"
    out = [f"DROP TRIGGER IF EXISTS {fn}_biu ON {table}"]
    if children:
        out += [
            f"DROP TRIGGER IF EXISTS {fn}_{children.table}_{t} ON {children.table}"
            for t in ("ai", "au", "ad")
        ]
        out.append(f"DROP FUNCTION IF EXISTS {fn}_{children.table}()")
    return out + [
        f"DROP INDEX IF EXISTS {fn}",
        f"ALTER TABLE {table} DROP COLUMN IF EXISTS {GRAMS_COLUMN}",
        f"DROP FUNCTION IF EXISTS {fn}_row()",
        f"DROP FUNCTION IF EXISTS {fn}({table})",
        f"DROP FUNCTION IF EXISTS {DOCUMENT_GRAMS_FUNCTION}(text)",
    ]


def drop_bigram_shared_sql(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP FUNCTION IF EXISTS {GRAMS_FUNCTION}(text)"]
    if dialect == "sqlite":
        return [f"DROP TABLE IF EXISTS {DIGITS}"]
    return []


def include_name(name, type_, parent_names) -> bool:
    """Alembic filter: the search indexes (and PostgreSQL's gram document column) are not in
    the models' metadata; ignore them."""
    prefixes = {"table": ("fts_",), "index": ("trgm_", "bigram_", "fts_"), "column": ("fts_",)}
    prefixes = prefixes.get(type_)
    return not (prefixes and name and name.startswith(prefixes))
