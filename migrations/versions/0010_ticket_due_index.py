"""ticket list index with the due date: tickets (project_id, status_id, due_date) in place of
(project_id, status_id)

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    # The open tickets of the projects one sees, sorted by due date or counted overdue, are
    # read from this index alone, not each from the table. It starts as the index it
    # replaces did.
    # Plain CREATE INDEX (no batch mode: a table copy would drop the search triggers).
    op.create_index(
        "ix_tickets_project_status_due", "tickets", ["project_id", "status_id", "due_date"]
    )
    op.drop_index("ix_tickets_project_status", table_name="tickets")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ANALYZE tickets")  # plans need the statistics (see app._sqlite_pragmas)


def downgrade():
    op.create_index("ix_tickets_project_status", "tickets", ["project_id", "status_id"])
    op.drop_index("ix_tickets_project_status_due", table_name="tickets")
