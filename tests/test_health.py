"""/healthz, /readyz and the request id: what a load balancer and an operator rely on."""

from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa

from app import create_app
from core.extensions import db
from ops import health


def _other_app(app, tmp_path, **overrides):
    """A second app (as a second server would be), by default on the same database."""
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "SANMAI_UPLOAD_DIR": str(tmp_path / "files"),
            "SANMAI_CACHE_DIR": str(tmp_path / "cache"),
            **overrides,
        }
    )


def test_healthz_answers_without_login_or_database(client, app, tmp_path):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok\n"
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    # A server whose database is gone is still alive (only not ready).
    lost = _other_app(app, tmp_path, SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent/dir/x.db")
    assert lost.test_client().get("/healthz").status_code == 200


def test_readyz_is_ready_on_a_migrated_database_with_writable_files(client, app):
    response = client.get("/readyz")
    assert (response.status_code, response.text) == (200, "ready\n")
    assert "Set-Cookie" not in response.headers
    folder = app.config["SANMAI_UPLOAD_DIR"]
    assert not [p for p in __import__("os").listdir(folder) if p.startswith(".ready-")]


def test_readyz_refuses_a_schema_behind_the_code(client):
    (stored,) = db.session.scalars(sa.text("SELECT version_num FROM alembic_version")).all()
    assert {stored} == health.newest_migrations()
    db.session.execute(sa.text("UPDATE alembic_version SET version_num = '0001_old'"))
    db.session.commit()
    try:
        response = client.get("/readyz")
    finally:
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": stored})
        db.session.commit()
    assert response.status_code == 503
    assert response.text == (
        f"not ready: database schema at 0001_old, this code needs {stored} (run flask db upgrade)\n"
    )
    assert client.get("/readyz").status_code == 200


def test_readyz_names_an_unreachable_database(app, tmp_path):
    lost = _other_app(app, tmp_path, SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent/dir/x.db")
    response = lost.test_client().get("/readyz")
    assert (response.status_code, response.text) == (503, "not ready: database unreachable\n")
    closed = _other_app(
        app, tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none"
    )
    response = closed.test_client().get("/readyz")
    assert (response.status_code, response.text) == (503, "not ready: database unreachable\n")


def test_readyz_names_a_database_without_schema(app, tmp_path):
    empty = _other_app(app, tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/empty.db")
    response = empty.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.text == "not ready: database schema missing (run flask db upgrade)\n"


def test_readyz_names_file_storage_that_takes_no_writes(client, app, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setitem(app.config, "SANMAI_UPLOAD_DIR", str(blocker / "files"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.text.startswith("not ready: file storage not writable (")


def test_every_answer_carries_a_request_id_and_a_sane_incoming_one_is_kept(client):
    made = client.get("/projects")  # a redirect to the login page
    assert made.status_code == 302
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-Id"])
    assert client.get("/healthz").headers["X-Request-Id"] != made.headers["X-Request-Id"]
    kept = client.get("/healthz", headers={"X-Request-Id": "nginx-3f2a9c"})
    assert kept.headers["X-Request-Id"] == "nginx-3f2a9c"
    for forged in ("a b", "x" * 129, "<script>", "id\u3042"):
        answer = client.get("/healthz", headers={"X-Request-Id": forged})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-Id"])


def test_json_logs_carry_the_request_id_and_one_line_per_request(app, tmp_path, make_user):
    user = make_user(login="json-log")
    db.session.commit()
    served = _other_app(app, tmp_path, SANMAI_LOG_FORMAT="json")
    (handler,) = served.logger.handlers
    out = io.StringIO()
    handler.setStream(out)
    client = served.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
    client.get("/healthz", headers={"X-Request-Id": "req-1"})
    client.get("/projects", headers={"X-Request-Id": "req-2"})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(line["message"], line["request_id"], line["path"]) for line in lines] == [
        ("request", "req-1", "/healthz"),
        ("request", "req-2", "/projects"),
    ]
    assert lines[1]["status"] == 200 and lines[1]["user_id"] == user.id
    assert lines[1]["method"] == "GET" and lines[1]["level"] == "INFO"
    assert isinstance(lines[1]["duration_ms"], float)


def test_an_unknown_log_format_is_refused_at_start(app, tmp_path):
    with pytest.raises(RuntimeError, match="SANMAI_LOG_FORMAT must be text or json"):
        _other_app(app, tmp_path, SANMAI_LOG_FORMAT="JSONL")
