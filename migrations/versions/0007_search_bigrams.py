"""keyword search, 1–2 character words: bigram side indexes (FTS5 over spelled bigrams on
SQLite, GIN over search_grams() on PostgreSQL) for tickets with their notes, items, meetings

Revision ID: 0007
Revises: 0006
"""

from alembic import op

from migrations.frozen_search_ddl import (
    Children,
    create_bigram_sql,
    drop_bigram_shared_sql,
    drop_bigram_sql,
)

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# SQLite: one document per ticket holds its subject, description and every note that is not
# private (a private note never reveals a ticket), so a word finds ticket ids in one lookup.
NOTES = Children("journals", "ticket_id", "notes", "NOT {row}private_notes", ("private_notes",))
INDEXED = [
    ("tickets", ["subject", "description"], NOTES),
    ("items", ["text"], None),
    ("meetings", ["title", "place"], None),
]


def upgrade():
    dialect = op.get_bind().dialect.name
    for table, columns, children in INDEXED:
        for statement in create_bigram_sql(dialect, table, columns, children=children):
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for table, columns, children in INDEXED:
        for statement in drop_bigram_sql(dialect, table, columns, children=children):
            op.execute(statement)
    for statement in drop_bigram_shared_sql(dialect):
        op.execute(statement)
