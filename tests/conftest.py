"""Test set-up: one app per run, the schema made by the migrations, a clean database per test.

DATABASE_URL=postgresql+psycopg://... runs the same suite on PostgreSQL: each run creates a
database of its own on that server and drops it at the end.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import uuid
from itertools import count
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import make_server

from app import create_app
from core.extensions import db


def _sleep_without_clock_nanosleep(seconds: float) -> None:
    select.select([], [], [], seconds)


# Under Debian's libfaketime (CI's shifted-clock runs, with FAKETIME_DONT_FAKE_MONOTONIC so
# timed waits on locks and events keep working), clock_nanosleep is handed a shifted
# monotonic deadline and fails with EINVAL, so time.sleep sleeps through select() instead.
# Child processes (renderers, servers) get the real clock: the shifted one is this process's.
if "libfaketime" in os.environ.get("LD_PRELOAD", ""):
    time.sleep = _sleep_without_clock_nanosleep
    os.environ.pop("LD_PRELOAD")

pytest_plugins = [
    "tests.fixtures.accounts",
    "tests.fixtures.tickets",
    "tests.fixtures.minutes",
    "tests.fixtures.revisions",
    "tests.fixtures.reports",
    "tests.fixtures.redmine",
    "tests.fixtures.redmine_db",
    "tests.fixtures.real_redmine",
    "tests.fixtures.mariadb",
    "tests.fixtures.queries",
    "tests.fixtures.directory",
    "tests.fixtures.servers",
]


def _database_url(tmp_path_factory) -> tuple[str, callable]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        path = tmp_path_factory.mktemp("db") / "test.db"
        return f"sqlite:///{path}", lambda: None
    name = f"sanmai_test_{uuid.uuid4().hex[:10]}"
    server = sa.engine.make_url(url)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


class Client(FlaskClient):
    """Each request sees the database afresh, as a real request with its own session would."""

    def open(self, *args, **kwargs):
        _forget_loaded_state()
        try:
            return super().open(*args, **kwargs)
        finally:
            _forget_loaded_state()


def _forget_loaded_state():
    # Requests share the test's app context (so tests see what requests wrote); clear what a
    # real request would not inherit: g (Flask-Login's user, Babel's locale) and loaded rows.
    from flask import g

    g.__dict__.clear()
    db.session.expire_all()
    for obj in list(db.session.identity_map.values()):
        obj.__dict__.pop("_roles_by_root", None)


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url, drop = _database_url(tmp_path_factory)
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_DIR": str(instance),
            "SANMAI_UPLOAD_DIR": str(instance / "files"),
            "SANMAI_CACHE_DIR": str(instance / "cache"),
            "SANMAI_PDF_WARM": "0",  # a meeting page does not start a PDF renderer here
            "WTF_CSRF_ENABLED": False,
            "SERVER_NAME": None,
        }
    )
    app.test_client_class = Client
    with app.app_context():
        upgrade()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop()


def _wipe(app) -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(sa.text("PRAGMA defer_foreign_keys=ON"))
            for name in tables:
                conn.execute(sa.text(f"DELETE FROM {name}"))
            has_seq = conn.execute(
                sa.text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")
            ).first()
            if has_seq:
                conn.execute(sa.text("DELETE FROM sqlite_sequence"))


@pytest.fixture(autouse=True)
def _app_context(app):
    """Every test runs inside the app context, on an empty database with reference data."""
    from tickets.defaults import ensure_defaults

    with app.app_context():
        ensure_defaults()
        db.session.commit()
        yield
        db.session.remove()
        _wipe(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def live_server(app):
    """Base URL of a threaded server running the session's app, on the same database: data
    the builders made (and committed) is what HTTP clients (a browser, python-redmine) see."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture
def csrf_enabled(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def seq():
    """Unique numbers for names and identifiers within a test."""
    return count(1)


@pytest.fixture
def artifacts() -> Path:
    """Where files for a person to look at are written (test-artifacts/, see README); the
    browser tests' fixture of the same name writes to the same place."""
    path = Path(__file__).resolve().parents[1] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
