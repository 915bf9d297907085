"""tickets: relations, watchers, custom fields and their values

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def _ticket_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["tickets.id"], name=op.f(f"fk_{table}_{column}_tickets"), ondelete="CASCADE"
    )


def upgrade():
    op.create_table(
        "ticket_relations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_from_id", sa.Integer(), nullable=False),
        sa.Column("ticket_to_id", sa.Integer(), nullable=False),
        sa.Column("relation_type", sa.String(length=16), nullable=False),
        sa.Column("delay", sa.Integer(), nullable=True),
        _ticket_fk("ticket_relations", "ticket_from_id"),
        _ticket_fk("ticket_relations", "ticket_to_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_relations")),
        sa.UniqueConstraint(
            "ticket_from_id", "ticket_to_id", name=op.f("uq_ticket_relations_ticket_from_id")
        ),
    )
    op.create_index(op.f("ix_ticket_relations_ticket_to_id"), "ticket_relations", ["ticket_to_id"])
    op.create_table(
        "ticket_watchers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _ticket_fk("ticket_watchers", "ticket_id"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_ticket_watchers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_watchers")),
        sa.UniqueConstraint("ticket_id", "user_id", name=op.f("uq_ticket_watchers_ticket_id")),
    )
    op.create_index(op.f("ix_ticket_watchers_user_id"), "ticket_watchers", ["user_id"])
    op.create_table(
        "custom_fields",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("field_format", sa.String(length=30), nullable=False),
        sa.Column("is_multiple", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_fields")),
        sa.UniqueConstraint("name", name=op.f("uq_custom_fields_name")),
    )
    op.create_table(
        "custom_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("custom_field_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        _ticket_fk("custom_values", "ticket_id"),
        sa.ForeignKeyConstraint(
            ["custom_field_id"],
            ["custom_fields.id"],
            name=op.f("fk_custom_values_custom_field_id_custom_fields"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custom_values")),
    )
    op.create_index(op.f("ix_custom_values_ticket_id"), "custom_values", ["ticket_id"])
    op.create_index(op.f("ix_custom_values_custom_field_id"), "custom_values", ["custom_field_id"])


def downgrade():
    op.drop_table("custom_values")
    op.drop_table("custom_fields")
    op.drop_table("ticket_watchers")
    op.drop_table("ticket_relations")
