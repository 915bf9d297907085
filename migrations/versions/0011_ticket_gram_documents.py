"""keyword search on PostgreSQL: one gram document per ticket (the characters, bigrams and
trigrams of its subject, description and every note that is not private) in a GIN index

Revision ID: 0011
Revises: 0010
"""

from alembic import op

from migrations.frozen_search_ddl import (
    Children,
    create_gram_document_sql,
    drop_gram_document_sql,
)

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# A ticket found by a word in its notes is one lookup in its own row, and the open tickets'
# rows are ANDed with it in the index (the pg_trgm indexes found every note holding the
# word, then its ticket: 2.9–5.6× SQLite's time on the bench data). SQLite: nothing, its
# FTS5 documents (0007, 0009) already do this.
NOTES = Children("journals", "ticket_id", "notes", "NOT {row}private_notes", ("private_notes",))


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in create_gram_document_sql(
        dialect, "tickets", ["subject", "description"], children=NOTES
    ):
        op.execute(statement)
    if dialect == "postgresql":
        op.execute("ANALYZE tickets")  # the planner's word frequencies for the new column


def downgrade():
    for statement in drop_gram_document_sql(op.get_bind().dialect.name, "tickets", NOTES):
        op.execute(statement)
