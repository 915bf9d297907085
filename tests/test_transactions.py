"""PostgreSQL: a GET reads in autocommit and keeps its prepared statements; a write made while
answering it still runs in one transaction (transactions.py); sessions run without JIT.

Each probe request runs in an app of its own on the test database, so it has its own session,
as a request in a real server does (the suite's client shares the test's session)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from flask import jsonify

from accounts.auth import public
from app import create_app
from core.extensions import db
from core.generations import DataGeneration

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="PostgreSQL only: on SQLite a transaction costs no round trip, and is left as it is",
)


@pytest.fixture
def probe(app):
    probe = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "INSTANCE_DIR": app.config["INSTANCE_DIR"],
            "WTF_CSRF_ENABLED": False,
        }
    )

    def driver():
        return db.session.connection().connection.dbapi_connection

    @public
    def state():
        db.session.scalar(sa.select(DataGeneration.token).where(DataGeneration.name == "none"))
        return jsonify(status=driver().info.transaction_status.name)

    @public
    def prepared():
        return jsonify(
            count=db.session.scalar(sa.text("SELECT count(*) FROM pg_prepared_statements"))
        )

    @public
    def write_twice():
        db.session.add(DataGeneration(name="probe", token="first"))
        db.session.flush()
        # The same key again: the second INSERT fails, the request ends in an error.
        db.session.execute(sa.insert(DataGeneration).values(name="probe", token="second"))
        return "unreachable"

    @public
    def write_and_commit():
        db.session.add(DataGeneration(name="probe", token="kept"))
        db.session.commit()
        return "committed"

    for name, view in (
        ("state", state),
        ("prepared", prepared),
        ("write-twice", write_twice),
        ("write-and-commit", write_and_commit),
    ):
        probe.add_url_rule(f"/probe/{name}", name, view, methods=["GET", "POST"])
    yield probe
    with probe.app_context():
        db.engine.dispose()


def committed_tokens(app) -> dict[str, str]:
    """What another connection sees: only what was committed."""
    with db.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT name, token FROM data_generations")).all())


def test_a_get_reads_outside_a_transaction_and_a_post_inside_one(probe):
    client = probe.test_client()
    assert client.get("/probe/state").json == {"status": "IDLE"}
    assert client.post("/probe/state").json == {"status": "INTRANS"}


def test_a_connection_keeps_its_prepared_statements_from_one_get_to_the_next(probe):
    client = probe.test_client()
    for _ in range(6):  # psycopg prepares a statement on its fifth execution
        client.get("/probe/state")
    assert client.get("/probe/prepared").json["count"] >= 1


def test_a_write_in_a_get_is_one_transaction_rolled_back_as_a_whole(app, probe):
    client = probe.test_client()
    with pytest.raises(sa.exc.IntegrityError):
        client.get("/probe/write-twice")
    assert "probe" not in committed_tokens(app)  # the first INSERT went with the second


def test_a_write_in_a_get_is_committed_by_its_handler(app, probe):
    client = probe.test_client()
    assert client.get("/probe/write-and-commit").status_code == 200
    assert committed_tokens(app)["probe"] == "kept"


def test_a_static_file_takes_no_connection(probe):
    checkouts = []
    with probe.app_context():
        engine = db.engine
    sa.event.listen(engine, "checkout", lambda *args: checkouts.append(1))
    client = probe.test_client()
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    response.close()
    assert checkouts == []
    client.get("/probe/state")
    assert checkouts == [1]  # the listener does count a request that reads


def test_sessions_run_without_jit_after_the_pool_rolls_back(probe):
    """A common word's search passes jit_above_cost; compiling cost more than it saved. A
    small statement gets no parallel workers."""

    @public
    def jit():
        settings = ("jit", "parallel_setup_cost")
        return jsonify({name: db.session.scalar(sa.text(f"SHOW {name}")) for name in settings})

    probe.add_url_rule("/probe/jit", "jit", jit, methods=["GET", "POST"])
    client = probe.test_client()
    expected = {"jit": "off", "parallel_setup_cost": "10000"}
    assert client.post("/probe/jit").json == expected  # in a transaction, rolled back
    assert client.get("/probe/jit").json == expected  # the same connection, autocommit
