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
    # The few private tickets, read whole from the index by the visibility rule.
    op.create_index(
        "ix_tickets_private",
        "tickets",
        ["id", "project_id", "author_id", "assignee_id"],
        sqlite_where=sa.text("is_private = 1"),  # as SQLAlchemy writes the test
        postgresql_where=sa.text("is_private"),
    )


def downgrade():
    op.drop_index("ix_tickets_private", table_name="tickets")
    # SQLite 3.35+ drops a column in place (no table copy, which foreign keys would refuse).
    op.drop_column("tickets", "is_private")
