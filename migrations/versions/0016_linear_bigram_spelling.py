"""SQLite: the bigram documents spell their texts with fts_bigrams() (a function the app
registers on each connection) in place of SQL that walked each text from its start for every
character; the index is rebuilt with it. PostgreSQL: nothing

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The statements are written out here (not made by textsearch's helpers), so this migration
# does what it did when it was written. fts_bigrams(t) spells t as its bigrams joined by
# spaces, the last character alone, as the SQL of 0007 (kept below for the way down) did in
# time growing with the square of the text's length.
NOTES = (
    "(SELECT group_concat({spell}, ' ') FROM journals "
    "WHERE journals.ticket_id = tickets.id AND (NOT journals.private_notes))"
)
VIEWS = {
    "tickets": ("id", ["tickets.subject", "tickets.description"], "journals.notes"),
    "items": ("id", ["items.text"], None),
    "meetings": ("id", ["meetings.title", "meetings.place"], None),
}


def _walked(expr: str) -> str:
    """0007's spelling: the characters at 1 + a*10^6 + b*10^3 + c, a, b, c from fts_digits."""
    n = f"length({expr}) - 1"
    return (
        f"(SELECT group_concat(substr({expr}, 1 + a.n * 1000000 + b.n * 1000 + c.n, 2), ' ') "
        f"FROM fts_digits a CROSS JOIN fts_digits b CROSS JOIN fts_digits c "
        f"WHERE a.n <= ({n}) / 1000000 AND b.n <= min(999, ({n}) / 1000 - a.n * 1000) "
        f"AND c.n <= min(999, {n} - a.n * 1000000 - b.n * 1000))"
    )


def _function(expr: str) -> str:
    return f"fts_bigrams({expr})"


def _recreate(spell) -> None:
    for table, (pk, columns, notes) in VIEWS.items():
        spelled = [f"{spell(c)} AS {c.partition('.')[2]}" for c in columns]
        if notes:
            spelled.append(f"{NOTES.format(spell=spell(notes))} AS notes")
        view, fts = f"fts_{table}_bigram_text", f"fts_{table}_bigrams"
        # The triggers and the FTS5 table name the view, so they follow the new one.
        op.execute(f"DROP VIEW {view}")
        op.execute(
            f"CREATE VIEW {view} AS SELECT {table}.{pk} AS {pk}, {', '.join(spelled)} FROM {table}"
        )
        # The same tokens as before for every text SQLite's length() counts whole; rebuilt
        # all the same, so a text the two spell apart (one holding NUL) stays consistent.
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _recreate(_function)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _recreate(_walked)
