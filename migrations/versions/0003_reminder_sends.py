"""reminder digests sent: one per person per Japan-time day

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reminder_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reminder_sends_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_sends")),
        sa.UniqueConstraint("user_id", "day", name=op.f("uq_reminder_sends_user_id")),
    )


def downgrade():
    op.drop_table("reminder_sends")
