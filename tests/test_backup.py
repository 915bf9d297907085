"""flask backup / flask restore: one archive, every hash checked, only into an empty instance."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from accounts.models import Organisation
from app import create_app
from attachments import files as attachments
from attachments.models import Attachment
from core.extensions import db
from tickets.models import Ticket

SCREENSHOT = "画面の写し".encode() * 200


@pytest.fixture
def empty_instance(app, tmp_path):
    """A second instance with a new, empty database of the same kind and no files."""
    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    dropped = lambda: None  # noqa: E731
    if url.get_backend_name() == "postgresql":
        name = f"sanmai_restore_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

        def dropped():
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        target = url.set(database=name).render_as_string(hide_password=False)
    else:
        target = f"sqlite:///{tmp_path}/restored/sanmai.db"
    restored = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": target,
            "INSTANCE_DIR": str(tmp_path / "restored"),
            "SANMAI_UPLOAD_DIR": str(tmp_path / "restored" / "files"),
            "SANMAI_CACHE_DIR": str(tmp_path / "restored" / "cache"),
        }
    )
    yield restored
    with restored.app_context():
        db.engine.dispose()
    dropped()


@pytest.fixture
def ticket_with_file(make_ticket, make_user):
    ticket = make_ticket(subject="住民票の写しの交付 ①")
    member = make_user()
    stored = attachments.store_upload(
        member, FileStorage(io.BytesIO(SCREENSHOT), filename="画面.png", content_type="image/png")
    )
    stored.container_type, stored.container_id = "ticket", ticket.id
    db.session.commit()
    return ticket.id


def _restore(instance, archive: Path):
    with instance.app_context():
        return instance.test_cli_runner().invoke(args=["restore", str(archive)])


def _backup(app, archive: Path):
    return app.test_cli_runner().invoke(args=["backup", str(archive)])


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_a_backup_restores_into_an_empty_instance_with_every_hash_checked(
    app, tmp_path, ticket_with_file, empty_instance
):
    archive = tmp_path / "nightly" / "sanmai.tar.gz"
    result = _backup(app, archive)
    assert result.exit_code == 0, result.output
    members = _members(archive)
    manifest = json.loads(members["manifest.json"])
    digest = hashlib.sha256(SCREENSHOT).hexdigest()
    assert manifest["format"] == "sanmai-backup/1"
    assert manifest["tables"]["tickets"] == db.session.scalar(sa.func.count(Ticket.id))
    assert manifest["tables"]["attachments"] >= 1
    entry = next(f for f in manifest["files"] if f["sha256"] == digest)
    assert members[f"files/{entry['path']}"] == SCREENSHOT and entry["bytes"] == len(SCREENSHOT)
    database = members[manifest["database"]["name"]]
    assert hashlib.sha256(database).hexdigest() == manifest["database"]["sha256"]
    assert f"{manifest['counts']['files']} files" in result.output

    result = _restore(empty_instance, archive)
    assert result.exit_code == 0, result.output
    assert "all hashes checked" in result.output
    assert f"  tickets: {manifest['tables']['tickets']}" in result.output
    with empty_instance.app_context():
        ticket = db.session.get(Ticket, ticket_with_file)
        assert ticket.subject == "住民票の写しの交付 ①"
        stored = db.session.scalars(sa.select(Attachment).filter_by(digest=digest)).first()
        assert attachments.read_bytes(stored) == SCREENSHOT
        assert empty_instance.test_client().get("/readyz").status_code == 200


def test_restore_refuses_an_instance_that_is_not_empty(app, tmp_path, ticket_with_file):
    archive = tmp_path / "sanmai.tar.gz"
    assert _backup(app, archive).exit_code == 0
    result = app.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 1
    assert "is not empty" in result.output and "restore only into a new, empty database" in (
        result.output
    )
    assert db.session.get(Ticket, ticket_with_file).subject == "住民票の写しの交付 ①"


def test_a_damaged_archive_restores_nothing(app, tmp_path, ticket_with_file, empty_instance):
    archive = tmp_path / "sanmai.tar.gz"
    assert _backup(app, archive).exit_code == 0
    members = _members(archive)
    name = next(n for n in members if n.startswith("files/"))
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(damaged, "w:gz") as tar:
        for member, data in members.items():
            if member == name:
                data = data[:-1] + bytes([data[-1] ^ 1])
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    result = _restore(empty_instance, damaged)
    assert result.exit_code == 1
    assert f"{name} is damaged: its SHA-256 differs from the manifest" in result.output
    files = Path(empty_instance.config["SANMAI_UPLOAD_DIR"])
    assert not files.exists() or not any(files.iterdir())
    with empty_instance.app_context():
        assert sa.inspect(db.engine).get_table_names() == []


def test_a_file_that_is_not_a_backup_is_refused(empty_instance, tmp_path):
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        info = tarfile.TarInfo("notes.txt")
        tar.addfile(info, io.BytesIO(b""))
    result = _restore(empty_instance, other)
    assert result.exit_code == 1
    assert "not a Sanmai backup" in result.output


def test_the_snapshot_is_consistent_while_writes_go_on(app, tmp_path, empty_instance):
    stop, errors, written = threading.Event(), [], []

    def write():
        with app.app_context():  # a session of its own, as another request would have
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    db.session.add(Organisation(name=f"書き込み中{n}", kind="vendor"))
                    db.session.commit()
                    written.append(n)
                except Exception as error:  # noqa: BLE001 - any failure fails the test
                    errors.append(error)
                    db.session.rollback()
                    return

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 20 and writer.is_alive():
            threading.Event().wait(0.01)
        archive = tmp_path / "busy.tar.gz"
        result = _backup(app, archive)
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert errors == []
    manifest = json.loads(_members(archive)["manifest.json"])
    assert 20 <= manifest["tables"]["organisations"] <= len(written)
    result = _restore(empty_instance, archive)
    assert result.exit_code == 0, result.output
    with empty_instance.app_context():
        restored = db.session.scalar(sa.func.count(Organisation.id))
    assert restored == manifest["tables"]["organisations"]
    assert os.path.exists(archive) and not os.path.exists(f"{archive}.partial")
