"""minutes keyword search: items' text and meetings' title and place (FTS5 trigram on
SQLite, pg_trgm on PostgreSQL), for the one search and the decision register

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from migrations.frozen_search_ddl import create_index_sql, drop_index_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEXED = {"items": ["text"], "meetings": ["title", "place"]}


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
