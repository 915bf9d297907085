"""Index tickets by assignee and status: one's open tickets and their count from the index

Revision ID: 0022
Revises: 0021
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_tickets_assignee_status",
        "tickets",
        ["assignee_id", "status_id", "due_date", "project_id"],
    )


def downgrade():
    op.drop_index("ix_tickets_assignee_status", table_name="tickets")
