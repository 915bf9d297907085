"""ticket list index: tickets (tracker_id, status_id, project_id)

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # The list filtered by tracker and status (and the count of it) reads only the matching
    # entries of this index, project included, instead of every ticket of the tracker.
    # Plain CREATE INDEX (no batch mode: a table copy would drop the search triggers).
    op.create_index(
        "ix_tickets_tracker_status", "tickets", ["tracker_id", "status_id", "project_id"]
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ANALYZE tickets")  # plans need the statistics (see app._sqlite_pragmas)


def downgrade():
    op.drop_index("ix_tickets_tracker_status", table_name="tickets")
