"""A write that meets another transaction's lock waits a bounded time (SANMAI_DB_LOCK_WAIT),
then answers 503 "busy, nothing lost, try again" with Retry-After, never 500: on the HTML
forms, /api/v1 and the Redmine API. Once the lock is gone the same write succeeds."""

import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from core.extensions import db
from minutes.models import Item
from tickets.models import Journal


@pytest.fixture
def member(make_user):
    return make_user(language="en")


@pytest.fixture
def unit(make_unit, member):
    return make_unit(members={member: "facilitator"})


@contextmanager
def locked_by_another_connection(ticket, meeting):
    """Another connection in a transaction that holds the write lock: on SQLite the
    database's, on PostgreSQL the rows of `ticket` and `meeting` (every write to them waits)."""
    with db.engine.connect() as other:
        if other.dialect.name == "sqlite":
            other.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            other.execute(
                sa.text("SELECT 1 FROM tickets WHERE id = :id FOR UPDATE"), {"id": ticket.id}
            )
            other.execute(
                sa.text("SELECT 1 FROM meetings WHERE id = :id FOR UPDATE"), {"id": meeting.id}
            )
        try:
            yield
        finally:
            other.rollback()


def _count(model, **where) -> int:
    db.session.rollback()
    query = sa.select(sa.func.count()).select_from(model).filter_by(**where)
    return db.session.scalar(query)


def _requests(client, api, login, token_of, member, ticket, meeting):
    """The same kind of write through each path: (name, send, succeeded status)."""
    key = {"X-API-Key": token_of(member)}
    login(member)
    form = {
        "project_id": ticket.project_id,
        "tracker_id": ticket.tracker_id,
        "subject": ticket.subject,
        "description": "",
        "status_id": ticket.status_id,
        "priority_id": ticket.priority_id,
        "assignee_id": 0,
        "done_ratio": 0,
        "notes": "窓口で確認しました",
    }
    return [
        (
            "redmine",
            lambda: api(
                "PUT", f"/issues/{ticket.id}.json", member, json={"issue": {"notes": "確認済み"}}
            ),
            204,
        ),
        (
            "api_v1",
            lambda: client.post(
                f"/api/v1/meetings/{meeting.id}/items",
                json={"kind": "goal", "text": "帳票の確認"},
                headers=key,
            ),
            201,
        ),
        (
            "html",
            lambda: client.post(
                f"/issues/{ticket.id}",
                data={**form, "version": db.session.get(type(ticket), ticket.id).version},
            ),
            302,
        ),
    ]


def test_a_write_meeting_another_lock_answers_503_then_succeeds_once_it_is_gone(
    app, client, api, login, token_of, member, unit, make_ticket, make_meeting
):
    ticket = make_ticket(unit, member)
    meeting = make_meeting(unit=unit, actor=member)
    requests = _requests(client, api, login, token_of, member, ticket, meeting)
    wait = app.config["SANMAI_DB_LOCK_WAIT"]
    with locked_by_another_connection(ticket, meeting):
        for name, send, _ok in requests:
            started = time.monotonic()
            response = send()
            waited = time.monotonic() - started
            assert response.status_code == 503, name
            assert response.headers["Retry-After"] == "2", name
            assert waited < wait + 2, name  # bounded: the lock wait, then the answer
            text = response.get_data(as_text=True)
            assert "nothing was lost" in text, name
            if name != "html":
                assert response.is_json and len(response.json["errors"]) == 1, name
        assert _count(Journal, ticket_id=ticket.id) == 0
        assert _count(Item, meeting_id=meeting.id) == 0
    for name, send, ok in requests:
        assert send().status_code == ok, name
    assert _count(Journal, ticket_id=ticket.id) == 2
    assert _count(Item, meeting_id=meeting.id) == 1


def test_another_database_error_is_not_taken_for_busy(app):
    from core import transactions

    with pytest.raises(sa.exc.DBAPIError) as failed:
        db.session.execute(sa.text("SELECT * FROM no_such_table"))
    db.session.rollback()
    assert not transactions.is_busy(failed.value)
