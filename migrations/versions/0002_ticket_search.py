"""ticket keyword search: FTS5 trigram tables (SQLite) or pg_trgm indexes (PostgreSQL)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from migrations.frozen_search_ddl import create_index_sql, drop_index_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXED = {"tickets": ["subject", "description"], "journals": ["notes"]}


def upgrade():
    dialect = op.get_bind().dialect.name
    for table, columns in INDEXED.items():
        for statement in create_index_sql(dialect, table, columns):
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for table, columns in INDEXED.items():
        for statement in drop_index_sql(dialect, table, columns):
            op.execute(statement)
