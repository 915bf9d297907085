"""Redmine's database, read only, through SQLAlchemy Core.

The tables and columns read are listed here as Redmine 5 names them, so that nothing else
of the source's schema matters and one list serves SQLite, PostgreSQL and MySQL/MariaDB
(`open_source` takes any SQLAlchemy URL whose driver is installed). A SQLite file is opened
in read-only mode, a PostgreSQL session is made read-only; only SELECTs are sent.

Failures of the source (`SourceError`, one line for the person running the import): a URL
that is not one, a missing driver, a server or file that cannot be reached, a database
without Redmine's tables.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

# A database is taken for Redmine's when it has all of these.
REDMINE_TABLES = ("issues", "projects", "schema_migrations")
# Columns that came with a later Redmine: read as NULL where the database has none
# (journals.updated_on is Redmine 5.1's; 4.2 and 5.0 never edit a note's time).
LATER_COLUMNS = {("journals", "updated_on")}


class SourceError(Exception):
    """The source cannot be read; str(error) says which and what to do."""


class Flag(sa.types.TypeDecorator):
    """Redmine's booleans: 1/0 (Rails 6 on SQLite, MySQL), 't'/'f' (older SQLite files),
    true/false (PostgreSQL)."""

    impl = sa.String
    cache_ok = True

    def process_result_value(self, value, dialect) -> bool:
        return value in (True, 1, "1", "t", "true")


metadata = sa.MetaData()
_ = sa.Column


def _table(name: str, *columns: sa.Column) -> sa.Table:
    return sa.Table(name, metadata, _("id", sa.Integer, primary_key=True), *columns)


users = _table(
    "users",
    _("login", sa.String),
    _("hashed_password", sa.String),
    _("salt", sa.String),
    _("firstname", sa.String),
    _("lastname", sa.String),
    _("admin", Flag),
    _("status", sa.Integer),  # 1 active, 2 registered, 3 locked
    _("language", sa.String),
    _("auth_source_id", sa.Integer),
    _("type", sa.String),  # User, Group, AnonymousUser, GroupAnonymous, GroupNonMember
    _("created_on", sa.DateTime),
    _("updated_on", sa.DateTime),
)
email_addresses = _table(
    "email_addresses",
    _("user_id", sa.Integer),
    _("address", sa.String),
    _("is_default", Flag),
)
projects = _table(
    "projects",
    _("name", sa.String),
    _("identifier", sa.String),
    _("description", sa.Text),
    _("parent_id", sa.Integer),
    _("status", sa.Integer),  # 1 active, 5 closed, 9 archived
    _("lft", sa.Integer),
    _("created_on", sa.DateTime),
    _("updated_on", sa.DateTime),
)
members = _table("members", _("user_id", sa.Integer), _("project_id", sa.Integer))
member_roles = _table("member_roles", _("member_id", sa.Integer), _("role_id", sa.Integer))
roles = _table(
    "roles",
    _("name", sa.String),
    _("builtin", sa.Integer),
    _("permissions", sa.Text),  # YAML list of symbols
)
trackers = _table("trackers", _("name", sa.String), _("position", sa.Integer))
issue_statuses = _table(
    "issue_statuses",
    _("name", sa.String),
    _("is_closed", Flag),
    _("position", sa.Integer),
)
enumerations = _table(
    "enumerations",
    _("name", sa.String),
    _("position", sa.Integer),
    _("is_default", Flag),
    _("type", sa.String),  # IssuePriority, TimeEntryActivity, DocumentCategory
    _("project_id", sa.Integer),
    _("parent_id", sa.Integer),  # a project's own copy of a shared value
)
issues = _table(
    "issues",
    _("tracker_id", sa.Integer),
    _("project_id", sa.Integer),
    _("subject", sa.String),
    _("description", sa.Text),
    _("due_date", sa.Date),
    _("status_id", sa.Integer),
    _("assigned_to_id", sa.Integer),
    _("priority_id", sa.Integer),
    _("author_id", sa.Integer),
    _("created_on", sa.DateTime),
    _("updated_on", sa.DateTime),
    _("start_date", sa.Date),
    _("done_ratio", sa.Integer),
    _("parent_id", sa.Integer),
    _("is_private", Flag),
    _("closed_on", sa.DateTime),
)
journals = _table(
    "journals",
    _("journalized_id", sa.Integer),
    _("journalized_type", sa.String),
    _("user_id", sa.Integer),
    _("notes", sa.Text),
    _("created_on", sa.DateTime),
    _("private_notes", Flag),
    _("updated_on", sa.DateTime),  # set when the notes were edited
)
journal_details = _table(
    "journal_details",
    _("journal_id", sa.Integer),
    _("property", sa.String),  # attr, cf, attachment, relation
    _("prop_key", sa.String),
    _("old_value", sa.Text),
    _("value", sa.Text),
)


def _read_only(url: URL) -> tuple[URL, dict]:
    """The URL and engine arguments that open the source for reading only."""
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if path and path != ":memory:" and not path.startswith("file:"):
            # mode=ro: a missing file is an error, not a new empty database
            return url.set(database=f"file:{path}", query={"mode": "ro", "uri": "true"}), {}
        return url, {}
    if url.get_backend_name() == "postgresql":
        return url, {"connect_args": {"options": "-c default_transaction_read_only=on"}}
    return url, {}


def open_source(text: str) -> Source:
    """The Redmine database at URL `text`, checked to be reachable and Redmine's."""
    try:
        url = sa.engine.make_url(text)
    except sa.exc.ArgumentError:
        raise SourceError(
            f"{text!r} is not a database URL (for example sqlite:////var/lib/redmine/db.sqlite3 "
            "or postgresql+psycopg://redmine@dbhost/redmine)"
        ) from None
    shown = url.render_as_string(hide_password=True)
    url, arguments = _read_only(url)
    try:
        engine = sa.create_engine(url, **arguments)
    except (sa.exc.NoSuchModuleError, ModuleNotFoundError) as error:
        raise SourceError(f"no database driver for {shown}: {error}") from None
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            names = set(inspector.get_table_names())
            absent = {
                (table, column)
                for table, column in LATER_COLUMNS
                if table in names
                and column not in {c["name"] for c in inspector.get_columns(table)}
            }
    except sa.exc.DBAPIError as error:
        engine.dispose()
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise SourceError(f"cannot reach the Redmine database {shown}: {reason}") from None
    missing = [name for name in REDMINE_TABLES if name not in names]
    if missing:
        engine.dispose()
        raise SourceError(
            f"{shown} is not a Redmine database: it has no {', '.join(missing)} table"
        )
    return Source(engine, absent)


class Source:
    """An open Redmine database; `rows` and `batches` read it."""

    def __init__(self, engine: Engine, absent: set[tuple[str, str]] = frozenset()):
        self.engine = engine
        self.absent = absent  # (table, column) of LATER_COLUMNS this database lacks

    def select(self, table: sa.Table) -> sa.Select:
        """SELECT of all of `table`'s columns, NULL for those this database lacks."""
        return sa.select(
            *(
                sa.null().label(c.name) if (table.name, c.name) in self.absent else c
                for c in table.columns
            )
        )

    def close(self) -> None:
        self.engine.dispose()

    def rows(self, statement: sa.Select) -> list[sa.Row]:
        with self.engine.connect() as conn:
            return list(conn.execute(statement))

    def batches(self, table: sa.Table, where=None, size: int = 1000) -> Iterator[list[sa.Row]]:
        """All rows of `table` (matching `where`) in id order, `size` at a time: each batch is
        one short query (keyset on id), so no read stays open while the batch is written."""
        last = 0
        while True:
            statement = self.select(table).where(table.c.id > last).order_by(table.c.id).limit(size)
            if where is not None:
                statement = statement.where(where)
            batch = self.rows(statement)
            if not batch:
                return
            yield batch
            last = batch[-1].id

    def details_of(self, journal_ids: list[int]) -> list[sa.Row]:
        table = journal_details
        return self.rows(
            sa.select(table).where(table.c.journal_id.in_(journal_ids)).order_by(table.c.id)
        )
