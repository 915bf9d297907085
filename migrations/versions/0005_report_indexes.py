"""indexes for the reports: tickets (closed_at, created_at), items (ticket_id, kind, deleted_at),
items.superseded_by_id (what a decision supersedes)

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    # Plain CREATE INDEX (no batch mode: a table copy would drop the search triggers).
    op.create_index("ix_tickets_closed_created", "tickets", ["closed_at", "created_at"])
    op.create_index("ix_items_ticket_kind", "items", ["ticket_id", "kind", "deleted_at"])
    op.create_index("ix_items_superseded_by_id", "items", ["superseded_by_id"])


def downgrade():
    op.drop_index("ix_items_superseded_by_id", table_name="items")
    op.drop_index("ix_items_ticket_kind", table_name="items")
    op.drop_index("ix_tickets_closed_created", table_name="tickets")
