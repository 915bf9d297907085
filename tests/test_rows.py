"""core.rows.plain_rows: a select of columns read on the session's connection, in the
session's transaction, seeing what the session has pending as session.execute() would."""

from __future__ import annotations

import sqlalchemy as sa

from core.extensions import db
from core.generations import DataGeneration
from core.rows import plain_rows

TOKENS = sa.select(DataGeneration.name, DataGeneration.token).where(
    DataGeneration.name.like(sa.bindparam("prefix") + "%")
)


def _read(prefix: str) -> dict[str, str]:
    return {r.name: r.token for r in plain_rows(TOKENS, {"prefix": prefix})}


def test_pending_changes_are_flushed_first_as_the_session_would():
    db.session.add(DataGeneration(name="rows-new", token="one"))
    assert _read("rows-") == {"rows-new": "one"}
    assert _read("rows-") == {
        r.name: r.token for r in db.session.execute(TOKENS, {"prefix": "rows-"})
    }
    kept = db.session.get(DataGeneration, "rows-new")
    kept.token = "two"
    assert _read("rows-") == {"rows-new": "two"}
    db.session.delete(kept)
    assert _read("rows-") == {}


def test_nothing_is_flushed_where_the_session_does_not_autoflush():
    with db.session.no_autoflush:
        db.session.add(DataGeneration(name="rows-held", token="one"))
        assert _read("rows-") == {}
    assert _read("rows-") == {"rows-held": "one"}


def test_the_rows_are_those_of_the_session_s_transaction():
    db.session.add(DataGeneration(name="rows-undone", token="one"))
    db.session.flush()
    assert _read("rows-") == {"rows-undone": "one"}
    db.session.rollback()
    assert _read("rows-") == {}
