"""tickets.is_private: seen only by its author, its assignee, facilitators and managers

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "tickets",
        sa.Column("is_private", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    # The private tickets, read from the index by the visibility rule. Not a partial index on
    # SQLite: ANALYZE writes no statistics for an empty index, and `PRAGMA optimize` (run as
    # each connection is checked in) would analyse the tickets again after every request.
    op.create_index(
        "ix_tickets_private",
        "tickets",
        ["is_private", "id", "project_id", "author_id", "assignee_id"],
        postgresql_where=sa.text("is_private"),
    )


def downgrade():
    op.drop_index("ix_tickets_private", table_name="tickets")
    # SQLite 3.35+ drops a column in place (no table copy, which foreign keys would refuse).
    op.drop_column("tickets", "is_private")
