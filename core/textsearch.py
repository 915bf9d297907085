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
  finds the rows, exactly those of the plain scan (on PostgreSQL a word with case is still
  checked by ILIKE on them). SQLite: an FTS5 table
  `fts_<table>_bigrams` (tokenizer `ascii`, `detail=none`, external content: the view
  `fts_<table>_bigram_text`, which spells each text as its space-separated bigrams with
  `fts_bigrams()`, a function each connection registers (`register_sqlite_functions`), in
  time linear in the text's length (migration 0016); triggers keep it in step). A
  2-character word is one token, a 1-character word a prefix query.
  PostgreSQL: GIN indexes `bigram_<table>_<column>` over `search_grams(column)`, the array
  of the lower-cased text's distinct characters and bigrams (an immutable SQL function).

Both are case-insensitive for English. A domain describes where to look with `Source`s and
asks `matches_all(q, key, sources)` for a WHERE clause. A search counts its hits up to
COUNT_BOUND (`count_upto`) and says "more than" past it. The indexes themselves are made by
the migrations (textsearch_schema describes them); each SQLite connection registers the
functions their views and triggers call (`register_sqlite_functions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db

MIN_TRIGRAM = 3
MAX_BIGRAM = 2
GRAMS_COLUMN = "fts_grams"  # PostgreSQL: a table's gram document (textsearch_schema)
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
    """PostgreSQL: rows whose columns' search_grams() hold the lower-cased word: exactly those
    containing it for a caseless word, a superset (to check by ILIKE) for one with case."""
    wanted = postgresql.array([sa.func.lower(sa.literal(term, sa.Text))])
    return sa.or_(*(sa.func.search_grams(c).op("@>")(wanted) for c in source.columns))


def _scanned(source: Source, term: str, dialect: str):
    """The condition on a row of `source`'s table that its text contains `term`, where no
    FTS5 table answers (PostgreSQL, or SQLite's LIKE fallback)."""
    if dialect == "postgresql" and source.bigram_table and len(term) <= MAX_BIGRAM:
        says = _pg_bigram_candidates(source, term)
        if term.lower() != term.upper():
            # A word with case: its ILIKE on the candidates, on `column || ''` so the
            # planner does not also ask the pg_trgm index (which reads all of itself for a
            # pattern under three characters). A caseless word is exact in the grams (as in
            # the gram documents), and without a test on the text the planner estimates its
            # rows from the index's statistics.
            says = sa.and_(
                says, sa.or_(*(contains(c.concat(""), term, dialect) for c in source.columns))
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


# SQLite spells the bigrams in Python since migration 0016: a function every connection of
# the app registers (app._sqlite_pragmas). SQL could only reach the k-th character by walking
# the text from its start, so spelling a text cost time in the square of its length. Its
# output is part of the index (FTS5 deletes a document by the tokens it spells again), so it
# must never change: it spells exactly what textsearch_schema.bigram_text_sql spells.
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


# A search counts its hits up to this many; past it the count says "more than", as a search
# engine's does: counting every hit of a common word would read every one of them.
COUNT_BOUND = 1000


def count_upto_column(stmt: sa.Select, cap: int) -> sa.ScalarSelect:
    """How many rows `stmt` yields, counted no further than `cap` (the database stops
    there), as a scalar sub-select."""
    capped = stmt.limit(cap).subquery()
    return sa.select(sa.func.count()).select_from(capped).scalar_subquery()


def count_upto(stmt: sa.Select, cap: int) -> int:
    """How many rows `stmt` yields, counted no further than `cap`."""
    return db.session.scalar(sa.select(count_upto_column(stmt, cap)))


class SQLiteCompiler(sqlite.base.SQLiteCompiler):
    """SQLite's compiler, writing a select's table hints (`INDEXED BY ix_…`) after the table's
    name: a search with many hits walks the index of its order (SQLAlchemy's own SQLite
    compiler leaves hints out). The app sets it on its SQLite engine."""

    def get_from_hint_text(self, table, text):
        return text
