"""redmine import: which Sanmai row each imported Redmine row became

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "redmine_import_map",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("redmine_id", sa.Integer(), nullable=False),
        sa.Column("sanmai_id", sa.Integer(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kind", "redmine_id", name=op.f("pk_redmine_import_map")),
    )


def downgrade():
    op.drop_table("redmine_import_map")
