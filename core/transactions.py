"""PostgreSQL: a GET reads in autocommit; its first write, if any, opens a real transaction.

Why. Under READ COMMITTED (the default) every statement takes its own snapshot even inside a
transaction, so reading in autocommit sees exactly what it saw before. What it saves is per
request, and it dominates the small requests people make most (the live poll, a page's handful
of statements):
- the BEGIN and the ROLLBACK, two round trips to the server;
- planning every statement anew: psycopg keeps a connection's prepared statements across
  requests, but drops them all on every ROLLBACK, and every GET ended with one.

Writes keep their guarantees. A GET seldom writes (a feed or API token made on first use), but
when it does, the flush or an INSERT/UPDATE/DELETE statement first turns autocommit off on the
connection, so what follows runs in one transaction that the handler commits or that is rolled
back at the end of the request, as before. SQLAlchemy calls the driver's commit and rollback in
either mode, and resets the connection's isolation level when it goes back to the pool.

SQLite is left as it is: its transactions cost no round trip.

Waiting for a lock is bounded on both databases (`SANMAI_DB_LOCK_WAIT`: SQLite's busy
timeout, PostgreSQL's lock_timeout, set on each new connection by app.py). A write that
cannot get its lock in that time fails; `is_busy` tells such a failure from others, and the
app answers it with 503 "busy, nothing lost, try again" (its transaction was rolled back
whole), never with a 500.
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa
from flask import request
from sqlalchemy.orm import Session

from core.extensions import db

SAFE_METHODS = ("GET", "HEAD")
# PostgreSQL: lock_not_available (lock_timeout), serialization_failure, deadlock_detected.
BUSY_SQLSTATES = {"55P03", "40001", "40P01"}


def is_busy(error: sa.exc.DBAPIError) -> bool:
    """The statement failed for want of a lock another transaction held: trying again later
    can succeed, and nothing of the failed transaction was kept."""
    cause = error.orig
    if isinstance(cause, sqlite3.OperationalError):
        # SQLITE_BUSY (another connection writes) and SQLITE_LOCKED (the same connection's
        # other statement) both read "... is locked".
        return "is locked" in str(cause) or "database is busy" in str(cause)
    return getattr(cause, "sqlstate", None) in BUSY_SQLSTATES


def reads_in_autocommit() -> None:
    """before_request (PostgreSQL only): a GET's session starts on an autocommit connection."""
    if request.method not in SAFE_METHODS:
        return
    if request.endpoint == "static" or request.blueprint == "health":
        return  # a static file needs no connection; a health check handles its own failures
    session = db.session()
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _open_transaction(session: Session) -> None:
    connection = session.connection()
    if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        return
    driver = connection.connection.dbapi_connection
    if driver.autocommit:
        driver.autocommit = False  # psycopg sends BEGIN before the next statement


# First among the listeners: the data generations write their token during the flush too.
@sa.event.listens_for(Session, "before_flush", insert=True)
def _before_flush(session: Session, _context, _instances) -> None:
    _open_transaction(session)


@sa.event.listens_for(Session, "do_orm_execute", insert=True)
def _before_write_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _open_transaction(state.session)
