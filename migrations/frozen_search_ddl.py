"""The search DDL that migrations 0002, 0004, 0007, 0009, 0011 and 0012 run, frozen.

A migration must do what it did when it was written, whatever the app's search code becomes:
this is a copy of the DDL builders as they stood when those migrations were last changed.
Never edit this module. A new migration that needs other DDL writes its statements out or
adds a new frozen module beside this one; the live search code (search/) never imports it.

- `create_index_sql` / `drop_index_sql`: FTS5 trigram tables kept by triggers (SQLite) or
  pg_trgm GIN indexes (PostgreSQL) over a table's text columns (0002, 0004, 0009, 0012).
- `create_bigram_sql` / `drop_bigram_sql` / `drop_bigram_shared_sql`: the bigram side index
  for 1–2 character words; SQLite spells the bigrams in SQL here, as 0007 did (0016 switched
  the views to `fts_bigrams()` with statements of its own) (0007, 0012).
- `create_document_sql` / `drop_document_sql`: SQLite's trigram document per row (0009).
- `create_gram_document_sql` / `drop_gram_document_sql`: PostgreSQL's gram document column
  (0011).
"""

from __future__ import annotations

from dataclasses import dataclass


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
