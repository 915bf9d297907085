"""`flask redmine import` at a city's size: big batches write tickets and journals without the
search triggers and the search index is rebuilt once (redmine/importing/search.py); a Redmine
older than 5.1 (journals without updated_on) is read as well."""

import sqlite3

import pytest
import sqlalchemy as sa

from accounts.models import User
from core.extensions import db
from redmine.importing import search
from redmine.importing.models import ImportMap
from tests.fixtures.redmine_db import counts_of, run_import
from tickets import queries
from tickets.models import Journal

NOTE_WORD = "調査します"  # only in a note of issue 101 (tests/fixtures/redmine_db.py)
SUBJECT_101 = "住民票の写しに旧姓が表示されない"


@pytest.fixture
def big_batches(monkeypatch):
    """Every batch of the small fixture counts as big."""
    monkeypatch.setattr(search, "SUSPEND_FROM", 1)


def found(q: str) -> set[str]:
    admin = db.session.scalar(sa.select(User).where(User.login == "admin"))
    rows, _total = queries.keyword_search(admin, q)
    return {ticket.subject for ticket in rows}


def search_triggers() -> set[str]:
    return {name for name, _detail in search.SearchIndex().triggers}


def marker_rows() -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ImportMap).where(ImportMap.kind == "search")
    )


def assert_documents_intact():
    """The search documents equal what the rows spell now."""
    if db.session.get_bind().dialect.name == "sqlite":
        for name in ("fts_tickets_trigrams", "fts_tickets_bigrams"):
            db.session.execute(
                sa.text(f"INSERT INTO {name}({name}, rank) VALUES ('integrity-check', 1)")
            )
        return
    anew = "fts_tickets_grams(tickets)"
    stale = f"SELECT count(*) FROM tickets WHERE NOT (fts_grams @> {anew} AND fts_grams <@ {anew})"
    assert db.session.scalar(sa.text(stale)) == 0


def test_a_big_import_is_found_by_its_notes_with_the_triggers_back(app, redmine_db, big_batches):
    triggers = search_triggers()
    result = run_import(app, redmine_db)
    assert result.exit_code == 0, result.output
    assert found(NOTE_WORD) == {SUBJECT_101}
    assert_documents_intact()
    assert search_triggers() == triggers and triggers
    assert marker_rows() == 0


def test_a_run_stopped_before_the_rebuild_has_the_next_run_rebuild(
    app, redmine_db, big_batches, monkeypatch
):
    def stop(self):
        raise KeyboardInterrupt

    triggers = search_triggers()
    with monkeypatch.context() as patch:
        patch.setattr(search.SearchIndex, "catch_up", stop)
        assert run_import(app, redmine_db).exit_code != 0
    # Everything is in, with the triggers, but the index is behind and says so.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Journal)) == 6
    assert search_triggers() == triggers
    assert found(NOTE_WORD) == set() and marker_rows() == 1
    result = run_import(app, redmine_db)
    assert result.exit_code == 0, result.output
    assert counts_of(result.output)["journals"][1:3] == (0, 0)  # nothing new to write
    assert found(NOTE_WORD) == {SUBJECT_101}
    assert_documents_intact()
    assert marker_rows() == 0


def test_a_small_batch_keeps_the_triggers_and_needs_no_rebuild(app, redmine_db, monkeypatch):
    monkeypatch.setattr(search.SearchIndex, "catch_up", lambda self: False)  # no rebuild
    assert run_import(app, redmine_db).exit_code == 0
    assert found(NOTE_WORD) == {SUBJECT_101}  # indexed by the triggers as it was written
    assert marker_rows() == 0


def test_a_redmine_without_journals_updated_on_is_read(app, redmine_db):
    """Redmine 4.2 and 5.0 have no journals.updated_on (5.1 added it)."""
    with sqlite3.connect(redmine_db) as conn:
        conn.execute("ALTER TABLE journals DROP COLUMN updated_on")
    conn.close()
    first = run_import(app, redmine_db)
    assert first.exit_code == 0, first.output
    assert counts_of(first.output)["journals"][1] == 6
    assert found(NOTE_WORD) == {SUBJECT_101}
    again = run_import(app, redmine_db)
    assert counts_of(again.output)["journals"][1:3] == (0, 0)


def test_a_run_failing_after_a_big_batch_leaves_the_index_rebuilt(
    app, redmine_db, big_batches, monkeypatch
):
    from redmine.importing import links

    def fail(imp):
        raise RuntimeError("the source went away")

    monkeypatch.setattr(links, "import_watchers", fail)  # after issues, before journals
    assert run_import(app, redmine_db).exit_code != 0
    assert marker_rows() == 0
    assert found("旧姓") >= {SUBJECT_101}
    assert_documents_intact()
    db.session.execute(sa.delete(Journal))  # an edit afterwards meets documents it knows
    db.session.commit()
    assert_documents_intact()
