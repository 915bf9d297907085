"""the one search's ticket lookups from an index: tickets (id, updated_at, project_id)

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    # A two-character word finds ~26,000 tickets on the bench data; the one search looks each
    # up by id for its project and newest change, from this narrow index rather than the
    # table's wide rows. Plain CREATE INDEX (no batch mode: a table copy would drop the
    # search triggers).
    op.create_index(
        "ix_tickets_id_updated_project", "tickets", ["id", "updated_at", "project_id"]
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ANALYZE tickets")  # plans need the statistics (see app._sqlite_pragmas)


def downgrade():
    op.drop_index("ix_tickets_id_updated_project", table_name="tickets")
