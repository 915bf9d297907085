"""Redmine's database, read only, through SQLAlchemy Core.

The tables and columns read are listed here as Redmine 5 names them, so that nothing else
of the source's schema matters and one list serves SQLite, PostgreSQL and MySQL/MariaDB
(`open_source` takes any SQLAlchemy URL whose driver is installed). A SQLite file is opened
in read-only mode, a PostgreSQL session is made read-only; only SELECTs are sent.

Failures of the source (`SourceError`, one line for the person running the import): a URL
that is not one, a missing driver, a server or file that cannot be reached, a database
without Redmine's tables, a Redmine older than 4.2 or newer than 6.x.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

# A database is taken for Redmine's when it has all of these.
REDMINE_TABLES = ("issues", "projects", "schema_migrations")
# Redmine's version is read from its newest migration (db/migrate). 4.2 brought
# 20200826153401_add_twofa_scheme_to_user (4.1's newest is 20190620135549); migrations dated
# after 6.1 was branched off (September 2025) belong to a Redmine after 6.x.
FIRST_OF_4_2 = 20200826153401
FIRST_AFTER_6 = 20251001000000


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
col = sa.Column  # short: the tables below name a hundred columns


def _table(name: str, *columns: sa.Column) -> sa.Table:
    return sa.Table(name, metadata, col("id", sa.Integer, primary_key=True), *columns)


users = _table(
    "users",
    col("login", sa.String),
    col("hashed_password", sa.String),
    col("salt", sa.String),
    col("firstname", sa.String),
    col("lastname", sa.String),
    col("admin", Flag),
    col("status", sa.Integer),  # 1 active, 2 registered, 3 locked
    col("language", sa.String),
    col("auth_source_id", sa.Integer),
    col("type", sa.String),  # User, Group, AnonymousUser, GroupAnonymous, GroupNonMember
    col("created_on", sa.DateTime),
    col("updated_on", sa.DateTime),
)
email_addresses = _table(
    "email_addresses",
    col("user_id", sa.Integer),
    col("address", sa.String),
    col("is_default", Flag),
)
projects = _table(
    "projects",
    col("name", sa.String),
    col("identifier", sa.String),
    col("description", sa.Text),
    col("parent_id", sa.Integer),
    col("status", sa.Integer),  # 1 active, 5 closed, 9 archived
    col("lft", sa.Integer),
    col("created_on", sa.DateTime),
    col("updated_on", sa.DateTime),
)
# Redmine's groups are users rows of type Group (their name in lastname); no id column here.
groups_users = sa.Table(
    "groups_users", metadata, col("group_id", sa.Integer), col("user_id", sa.Integer)
)
members = _table("members", col("user_id", sa.Integer), col("project_id", sa.Integer))
member_roles = _table("member_roles", col("member_id", sa.Integer), col("role_id", sa.Integer))
roles = _table(
    "roles",
    col("name", sa.String),
    col("builtin", sa.Integer),
    col("permissions", sa.Text),  # YAML list of symbols
)
trackers = _table(
    "trackers",
    col("name", sa.String),
    col("position", sa.Integer),
    col("default_status_id", sa.Integer),
)
issue_statuses = _table(
    "issue_statuses",
    col("name", sa.String),
    col("is_closed", Flag),
    col("position", sa.Integer),
)
workflows = _table(
    "workflows",
    col("tracker_id", sa.Integer),
    col("role_id", sa.Integer),
    col("old_status_id", sa.Integer),  # 0: the status a new issue may start in
    col("new_status_id", sa.Integer),
    col("author", Flag),  # allowed only to the issue's author
    col("assignee", Flag),  # allowed only to the issue's assignee
    col("type", sa.String),  # WorkflowTransition; WorkflowPermission (field rules) is not read
)
enumerations = _table(
    "enumerations",
    col("name", sa.String),
    col("position", sa.Integer),
    col("is_default", Flag),
    col("type", sa.String),  # IssuePriority, TimeEntryActivity, DocumentCategory
    col("project_id", sa.Integer),
    col("parent_id", sa.Integer),  # a project's own copy of a shared value
)
issues = _table(
    "issues",
    col("tracker_id", sa.Integer),
    col("project_id", sa.Integer),
    col("subject", sa.String),
    col("description", sa.Text),
    col("due_date", sa.Date),
    col("status_id", sa.Integer),
    col("assigned_to_id", sa.Integer),
    col("priority_id", sa.Integer),
    col("author_id", sa.Integer),
    col("created_on", sa.DateTime),
    col("updated_on", sa.DateTime),
    col("start_date", sa.Date),
    col("done_ratio", sa.Integer),
    col("parent_id", sa.Integer),
    col("is_private", Flag),
    col("closed_on", sa.DateTime),
)
journals = _table(
    "journals",
    col("journalized_id", sa.Integer),
    col("journalized_type", sa.String),
    col("user_id", sa.Integer),
    col("notes", sa.Text),
    col("created_on", sa.DateTime),
    col("private_notes", Flag),
    col("updated_on", sa.DateTime),  # set when the notes were edited (Redmine 5.1 and later)
)
journal_details = _table(
    "journal_details",
    col("journal_id", sa.Integer),
    col("property", sa.String),  # attr, cf, attachment, relation
    col("prop_key", sa.String),
    col("old_value", sa.Text),
    col("value", sa.Text),
)
settings = _table("settings", col("name", sa.String), col("value", sa.Text))

attachments = _table(
    "attachments",
    col("container_id", sa.Integer),
    col("container_type", sa.String),  # Issue, Project, WikiPage, Journal, ...
    col("filename", sa.String),
    col("disk_filename", sa.String),
    col("disk_directory", sa.String),  # "2024/03"; NULL for files of old Redmines
    col("filesize", sa.BigInteger),
    col("content_type", sa.String),
    col("digest", sa.String),  # SHA-256 hex since Redmine 4, MD5 before
    col("author_id", sa.Integer),
    col("created_on", sa.DateTime),
    col("description", sa.String),
)
issue_relations = _table(
    "issue_relations",
    col("issue_from_id", sa.Integer),
    col("issue_to_id", sa.Integer),
    col("relation_type", sa.String),
    col("delay", sa.Integer),
)
watchers = _table(
    "watchers",
    col("watchable_type", sa.String),
    col("watchable_id", sa.Integer),
    col("user_id", sa.Integer),
)
custom_fields = _table(
    "custom_fields",
    col("type", sa.String),  # IssueCustomField, ProjectCustomField, UserCustomField, ...
    col("name", sa.String),
    col("field_format", sa.String),
    col("position", sa.Integer),
    col("multiple", Flag),
)
custom_field_enumerations = _table(
    "custom_field_enumerations",
    col("custom_field_id", sa.Integer),
    col("name", sa.String),
)
custom_values = _table(
    "custom_values",
    col("customized_type", sa.String),
    col("customized_id", sa.Integer),
    col("custom_field_id", sa.Integer),
    col("value", sa.Text),
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
            missing_columns = {
                table.name: {c.name for c in table.columns}
                - {c["name"] for c in inspector.get_columns(table.name)}
                for table in metadata.tables.values()
                if table.name in names
            }
            newest = 0
            if "schema_migrations" in names:
                versions = conn.execute(sa.text("SELECT version FROM schema_migrations"))
                newest = max((int(v) for (v,) in versions if str(v).isdigit()), default=0)
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
    if newest < FIRST_OF_4_2 or newest >= FIRST_AFTER_6:
        engine.dispose()
        which, what_to_do = (
            ("older than 4.2", "upgrade Redmine first")
            if newest < FIRST_OF_4_2
            else ("newer than 6.x", "import through its REST API (--url, --key) instead")
        )
        raise SourceError(
            f"{shown} is a Redmine {which} (newest migration {newest}): the import reads "
            f"Redmine 4.2 to 6.x; {what_to_do}"
        )
    return Source(engine, missing_columns)


class Source:
    """An open Redmine database; `rows` and `batches` read it. A column an older Redmine
    does not have (journals.updated_on before 5.1) is read as NULL by `batches`."""

    def __init__(self, engine: Engine, missing_columns: dict[str, set[str]] | None = None):
        self.engine = engine
        self.missing_columns = missing_columns or {}

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
            missing = self.missing_columns.get(table.name, set())
            columns = [sa.null().label(c.name) if c.name in missing else c for c in table.columns]
            statement = (
                sa.select(*columns)
                .select_from(table)
                .where(table.c.id > last)
                .order_by(table.c.id)
                .limit(size)
            )
            if where is not None:
                statement = statement.where(where)
            batch = self.rows(statement)
            if not batch:
                return
            yield batch
            last = batch[-1].id

    def text_formatting(self) -> str:
        """Redmine's `text_formatting` setting: 'textile', 'markdown', 'common_mark' or ''
        (plain). Without the row (before Redmine 5.1 stored it) it is Textile, the default."""
        if not sa.inspect(self.engine).has_table("settings"):
            return "textile"
        value = self.rows(sa.select(settings.c.value).where(settings.c.name == "text_formatting"))
        return "textile" if not value or value[0].value is None else value[0].value.strip()

    def details_of(self, journal_ids: list[int]) -> list[sa.Row]:
        table = journal_details
        return self.rows(
            sa.select(table).where(table.c.journal_id.in_(journal_ids)).order_by(table.c.id)
        )
