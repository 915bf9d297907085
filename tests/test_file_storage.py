"""File storage in the database (SANMAI_FILE_STORAGE=database) and flask files migrate."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from app import create_app
from attachments import files as attachments
from core import storage
from core.extensions import db
from core.storage import StoredChunk, StoredFile

# Several chunks, and different in each test run's data so earlier tests' files do not count.
SCAN = os.urandom(storage.CHUNK * 2 + 1234)


def upload(data: bytes, name: str = "住民票の写し.pdf") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type="application/pdf")


@pytest.fixture
def in_database(app, monkeypatch):
    monkeypatch.setitem(app.config, "SANMAI_FILE_STORAGE", "database")


@pytest.fixture
def member_ticket(make_user, make_unit, make_ticket):
    member = make_user()
    unit = make_unit(members={member: "member"})
    return member, make_ticket(unit, member)


def _local_files(app) -> set[str]:
    return set(storage.LocalStorage(storage.Path(app.config["SANMAI_UPLOAD_DIR"])).digests())


def test_uploads_go_to_the_database_in_chunks_and_download_whole(
    app, client, login, in_database, member_ticket
):
    member, ticket = member_ticket
    before = _local_files(app)
    stored = attachments.store_upload(member, upload(SCAN))
    attachments.attach(member, stored, ticket)
    again = attachments.store_upload(member, upload(SCAN, "同じ中身.pdf"))
    db.session.commit()
    digest = hashlib.sha256(SCAN).hexdigest()
    assert stored.digest == again.digest == digest
    assert db.session.scalar(sa.select(sa.func.count()).where(StoredFile.digest == digest)) == 1
    chunks = db.session.scalars(
        sa.select(sa.func.length(StoredChunk.data)).where(StoredChunk.digest == digest)
    ).all()
    assert sorted(chunks) == sorted([storage.CHUNK, storage.CHUNK, 1234])
    assert _local_files(app) == before  # nothing on this server's disk
    login(member)
    response = client.get(f"/attachments/download/{stored.id}")
    assert response.status_code == 200 and response.data == SCAN
    assert response.headers["ETag"] == f'"{digest}"'
    assert client.get("/readyz").status_code == 200


def test_a_rolled_back_or_too_large_upload_leaves_nothing_in_the_database(
    app, in_database, member_ticket, monkeypatch
):
    member, _ticket = member_ticket
    attachments.store_upload(member, upload(SCAN + b"rolled back"))
    db.session.rollback()
    monkeypatch.setitem(app.config, "SANMAI_MAX_ATTACHMENT_MB", 0.1)
    with pytest.raises(attachments.AttachmentError):
        attachments.store_upload(member, upload(SCAN + b"too large"))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 0


def test_files_migrate_moves_every_file_and_checks_it(app, client, login, member_ticket):
    member, ticket = member_ticket
    stored = attachments.store_upload(member, upload(SCAN))
    attachments.attach(member, stored, ticket)
    db.session.commit()
    digest = stored.digest
    assert digest in _local_files(app)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["files", "migrate", "--to", "database"])
    assert result.exit_code == 0, result.output
    assert "every hash checked" in result.output
    assert _local_files(app) == set()
    assert db.session.get(StoredFile, digest).size == len(SCAN)
    app.config["SANMAI_FILE_STORAGE"] = "database"
    try:
        login(member)
        assert client.get(f"/attachments/download/{stored.id}").data == SCAN
        result = runner.invoke(args=["files", "migrate", "--to", "local"])
    finally:
        app.config["SANMAI_FILE_STORAGE"] = "local"
    assert result.exit_code == 0, result.output
    assert digest in _local_files(app)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 0
    assert client.get(f"/attachments/download/{stored.id}").data == SCAN


def test_files_migrate_keeps_the_originals_when_an_attachment_has_no_bytes(app, member_ticket):
    member, ticket = member_ticket
    stored = attachments.store_upload(member, upload(SCAN))
    attachments.attach(member, stored, ticket)
    db.session.commit()
    storage.backend("local").delete(stored.digest)  # the disk lost it
    other = attachments.store_upload(member, upload(b"%PDF-1.4 kept"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["files", "migrate", "--to", "database"])
    assert result.exit_code == 1
    assert "1 attachments have no bytes in database storage" in result.output
    assert other.digest in _local_files(app)


def test_an_unknown_file_storage_is_refused_at_start(app, tmp_path):
    with pytest.raises(RuntimeError, match="SANMAI_FILE_STORAGE must be local or database"):
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "INSTANCE_DIR": str(tmp_path),
                "SANMAI_FILE_STORAGE": "s3",
            }
        )
