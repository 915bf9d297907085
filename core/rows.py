"""Plain rows of a select of columns, without the ORM's result machinery.

`Session.execute()` takes every statement through the ORM's execution and loading steps, even
a select of plain columns; on the hot read paths (one ticket, its journals, the caller's
roles, a page of a list) those steps cost more than the database's answer. `plain_rows()` runs the
statement on the session's own connection, so it reads in the same transaction; pending
changes are flushed first, as the session's autoflush would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from core.extensions import db


def plain_rows(
    statement: sa.Executable, params: Mapping[str, Any] | None = None
) -> sa.CursorResult:
    """The result of a select of columns (not of ORM entities: those stay with the session)."""
    session = db.session()
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()
    return session.connection().execute(statement, params)
