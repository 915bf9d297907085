"""users.session_generation: raised to end every login session of an account

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    # Sessions made before this revision hold a bare user id, which no longer matches: each
    # person logs in once more.
    op.add_column(
        "users",
        sa.Column("session_generation", sa.Integer(), server_default="0", nullable=False),
    )


def downgrade():
    # SQLite 3.35+ drops a column in place (no table copy, which foreign keys would refuse).
    op.drop_column("users", "session_generation")
