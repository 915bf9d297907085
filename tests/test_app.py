import sqlite3

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import app as app_module
from app import create_app
from core.extensions import db
from core.textsearch_schema import include_name


def test_migrations_match_the_models():
    """The schema comes from the migrations; the models must not drift from them."""
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"include_name": include_name}), db.metadata
        )
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        # A writer waits a bounded time for another's lock, then answers 503.
        wait_ms = app.config["SANMAI_DB_LOCK_WAIT"] * 1000
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == wait_ms


def test_a_connection_runs_pragma_optimize_at_check_in_at_most_every_ten_minutes():
    # Once per request would analyse a table with no statistics (an empty one) every time.
    class Connection:
        def __init__(self):
            self.ran, self.busy = 0, False

        def execute(self, sql):
            assert sql == "PRAGMA optimize"
            if self.busy:
                raise sqlite3.OperationalError("database is locked")
            self.ran += 1

    class Record:
        info = {}

    connection, record, now = Connection(), Record(), [1000.0]

    def check_in():
        app_module._sqlite_optimize(connection, record, clock=lambda: now[0])

    check_in()
    now[0] += 1
    check_in()
    assert connection.ran == 1  # the first check-in, not the next request's
    now[0] += app_module.OPTIMIZE_EVERY
    connection.busy = True
    check_in()
    connection.busy = False
    now[0] += 1
    check_in()  # busy the last time: tried again at once
    assert connection.ran == 2
    check_in()
    assert connection.ran == 2


def test_postgresql_waits_for_a_lock_a_bounded_time(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    with db.engine.connect() as conn:
        wait_ms = int(app.config["SANMAI_DB_LOCK_WAIT"] * 1000)
        assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == f"{wait_ms // 1000}s"


def test_production_refuses_the_development_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("SANMAI_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("SANMAI_INSTANCE_DIR", str(tmp_path))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-of-our-own")
    assert create_app().config["SECRET_KEY"] == "a-real-secret-of-our-own"


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SANMAI_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("SANMAI_MAX_ATTACHMENT_MB", "5")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/other.db")
    monkeypatch.setenv("SANMAI_LOGIN_MAX_FAILURES_PER_ADDRESS", "200")
    app = create_app()
    assert app.config["SANMAI_MAX_ATTACHMENT_MB"] == 5
    assert app.config["SANMAI_LOGIN_MAX_FAILURES_PER_ADDRESS"] == 200
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("other.db")


def test_demo_load_is_idempotent(app):
    from accounts.models import User
    from projects.models import Project

    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    projects = db.session.scalar(sa.select(sa.func.count()).select_from(Project))
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0 and "already there" in second.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users >= 10
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Project)) == projects
    names = set(db.session.scalars(sa.select(Project.name)))
    assert any("住民記録" in n for n in names) and any("固定資産税" in n for n in names)
    assert any("三市協議会" in n for n in names)
