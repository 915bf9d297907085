"""keyword search, 3+ character words on SQLite: one trigram document per ticket (subject,
description and every note that is not private) in place of the trigram tables of tickets and
of journals; PostgreSQL keeps its pg_trgm indexes per column

Revision ID: 0009
Revises: 0008
"""

from alembic import op

from migrations.frozen_search_ddl import (
    Children,
    create_document_sql,
    create_index_sql,
    drop_document_sql,
    drop_index_sql,
)

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As in 0007: a private note never reveals a ticket.
NOTES = Children("journals", "ticket_id", "notes", "NOT {row}private_notes", ("private_notes",))
REPLACED = {"tickets": ["subject", "description"], "journals": ["notes"]}  # from 0002


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in create_document_sql(
        "sqlite", "tickets", ["subject", "description"], children=NOTES
    ):
        op.execute(statement)
    for table, columns in REPLACED.items():
        for statement in drop_index_sql("sqlite", table, columns):
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in REPLACED.items():
        for statement in create_index_sql("sqlite", table, columns):
            op.execute(statement)
    for statement in drop_document_sql("sqlite", "tickets", children=NOTES):
        op.execute(statement)
