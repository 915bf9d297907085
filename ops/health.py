"""What a load balancer asks: /healthz (this process answers) and /readyz (this server can
serve: the database answers, its schema is at the newest migration, file storage takes
writes). Both are public, cheap and plain text; not ready is a 503 with a one-line reason."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app

from accounts.auth import public
from core import storage
from core.extensions import db

bp = Blueprint("health", __name__)

MIGRATIONS = Path(__file__).parent.parent / "migrations"


@cache
def newest_migrations() -> frozenset[str]:
    """The head revisions of this code's migrations (read once per process)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def _plain(text: str, status: int):
    headers = {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}
    return text + "\n", status, headers


@bp.get("/healthz")
@public
def healthz():
    """public: the process answers; nothing else is touched."""
    return _plain("ok", 200)


@bp.get("/readyz")
@public
def readyz():
    """public: a load balancer sends requests here only while this answers 200."""
    reason = _database_problem() or _storage_problem()
    if reason:
        current_app.logger.warning("not ready: %s", reason)
        return _plain(f"not ready: {reason}", 503)
    return _plain("ready", 200)


def _database_problem() -> str | None:
    try:
        stored = set(db.session.scalars(sa.text("SELECT version_num FROM alembic_version")))
    except sa.exc.ProgrammingError:
        db.session.rollback()
        return "database schema missing (run flask db upgrade)"
    except sa.exc.OperationalError as error:
        db.session.rollback()
        if "no such table" in str(error.orig):  # SQLite says so for a missing table
            return "database schema missing (run flask db upgrade)"
        return "database unreachable"
    except sa.exc.DBAPIError:
        db.session.rollback()
        return "database unreachable"
    finally:
        db.session.close()
    newest = newest_migrations()
    if stored != newest:
        return (
            f"database schema at {', '.join(sorted(stored)) or 'nothing'}, "
            f"this code needs {', '.join(sorted(newest))} (run flask db upgrade)"
        )
    return None


def _storage_problem() -> str | None:
    return storage.backend().problem()
