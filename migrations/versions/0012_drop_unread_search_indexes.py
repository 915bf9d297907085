"""PostgreSQL: drop the per-column search indexes of ticket descriptions and notes (and the
bigram one of subjects), which the gram documents of 0011 replaced; SQLite: nothing

Revision ID: 0012
Revises: 0011
"""

from alembic import op

from migrations.frozen_search_ddl import Children, create_bigram_sql, create_index_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NOTES = Children("journals", "ticket_id", "notes", "NOT {row}private_notes", ("private_notes",))
# Every ticket search reads the gram document now; only the Redmine search in titles alone
# still reads a column's index (trgm_tickets_subject, kept). The others cost each note and
# ticket written four GIN updates for nothing.
UNREAD = [
    "trgm_tickets_description",
    "trgm_journals_notes",
    "bigram_tickets_subject",
    "bigram_tickets_description",
    "bigram_journals_notes",
]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for name in UNREAD:
            op.execute(f"DROP INDEX IF EXISTS {name}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    statements = create_index_sql("postgresql", "tickets", ["description"])
    statements += create_index_sql("postgresql", "journals", ["notes"])
    statements += create_bigram_sql(
        "postgresql", "tickets", ["subject", "description"], children=NOTES
    )
    for statement in statements:
        op.execute(statement)
