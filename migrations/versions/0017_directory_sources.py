"""directory sign-in: LDAP / Active Directory sources, and users bound to one

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "directory_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("encryption", sa.String(length=16), nullable=False),
        sa.Column("ca_file", sa.String(length=500), nullable=True),
        sa.Column("check_certificate", sa.Boolean(), nullable=False),
        sa.Column("bind_dn", sa.String(length=500), nullable=True),
        sa.Column("bind_password_sealed", sa.Text(), nullable=True),
        sa.Column("base_dn", sa.String(length=500), nullable=False),
        sa.Column("user_filter", sa.String(length=1000), nullable=True),
        sa.Column("attr_login", sa.String(length=60), nullable=False),
        sa.Column("attr_firstname", sa.String(length=60), nullable=False),
        sa.Column("attr_lastname", sa.String(length=60), nullable=False),
        sa.Column("attr_mail", sa.String(length=60), nullable=False),
        sa.Column("attr_display_name", sa.String(length=60), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("create_users", sa.Boolean(), nullable=False),
        sa.Column("group_dn", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_directory_sources_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_directory_sources_name")),
    )
    # Plain ADD COLUMN, no batch copy of users (every other table references it): SQLite
    # accepts a foreign key on a new nullable column, written out as Alembic does not.
    fk_name = op.f("fk_users_directory_source_id_directory_sources")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            f"ALTER TABLE users ADD COLUMN directory_source_id INTEGER "
            f"CONSTRAINT {fk_name} REFERENCES directory_sources (id)"
        )
    else:
        op.add_column("users", sa.Column("directory_source_id", sa.Integer(), nullable=True))
        op.create_foreign_key(fk_name, "users", "directory_sources", ["directory_source_id"], ["id"])
    op.create_index(op.f("ix_users_directory_source_id"), "users", ["directory_source_id"])


def downgrade():
    op.drop_index(op.f("ix_users_directory_source_id"), table_name="users")
    fk_name = op.f("fk_users_directory_source_id_directory_sources")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(fk_name, "users", type_="foreignkey")
        op.drop_column("users", "directory_source_id")
    else:
        # SQLite drops a column that a foreign key names only by copying the table, and the
        # copy drops users, which other tables reference: foreign keys are off meanwhile.
        op.execute("PRAGMA foreign_keys=OFF")
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.drop_column("directory_source_id")
        op.execute("PRAGMA foreign_keys=ON")
    op.drop_table("directory_sources")
