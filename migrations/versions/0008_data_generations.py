"""data generations: the token caches are keyed by (generations.py)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_generations",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("token", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_generations")),
    )


def downgrade():
    op.drop_table("data_generations")
