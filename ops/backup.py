"""`flask backup FILE` and `flask restore FILE`: one archive with a consistent snapshot of the
database and every stored file, and a manifest of counts and SHA-256s to check it against.

The archive is a gzip'd tar:

    manifest.json       format, time, engine, schema revision, rows per table, the database
                        file's and every stored file's SHA-256 and size
    database.sqlite3    SQLite's online backup (the app keeps serving writes meanwhile), or
    database.pgdump     pg_dump's custom format, taken in the snapshot the row counts read
    files/ab/cd/<sha>   the uploads, named by their SHA-256 as in SANMAI_UPLOAD_DIR (with
                        SANMAI_FILE_STORAGE=database they are in the database itself)

Stored files are never changed or deleted once written, and their bytes are written before
the row naming them commits: files listed after the database snapshot hold every file the
snapshot names. The PDF cache is not kept (it is made again on demand).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from core import storage
from core.extensions import db
from ops import health

FORMAT = "sanmai-backup/1"
CHUNK = 1024 * 1024
_STORED = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")


class BackupError(Exception):
    """A backup or restore that cannot go on; str(error) says why, for the operator."""


@dataclass
class Restored:
    tables: dict[str, int]
    files: int
    file_bytes: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _upload_dir() -> Path:
    return Path(current_app.config["SANMAI_UPLOAD_DIR"])


def _libpq_url(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tables() -> list[str]:
    return sorted(table.name for table in db.metadata.sorted_tables)


def _counts(connection) -> dict[str, int]:
    present = set(sa.inspect(connection).get_table_names())
    return {
        name: connection.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
        for name in _tables()
        if name in present
    }


def _revision(connection) -> list[str]:
    return sorted(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


# --- the database snapshot -------------------------------------------------------------------


def _snapshot_sqlite(url: sa.URL, target: Path) -> dict:
    """SQLite's online backup API: a consistent copy while other connections keep writing."""
    source = sqlite3.connect(url.database)
    try:
        with sqlite3.connect(target) as copy:
            source.backup(copy, pages=1024)  # in steps, so writers get the lock in between
        copy.close()
    finally:
        source.close()
    engine = sa.create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            return {"tables": _counts(connection), "schema": _revision(connection)}
    finally:
        engine.dispose()


def _snapshot_postgresql(url: sa.URL, target: Path) -> dict:
    """pg_dump in the same snapshot as the row counts (exported from a repeatable-read
    transaction), so the manifest counts exactly what the dump holds."""
    engine = sa.create_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            facts = {"tables": _counts(conn), "schema": _revision(conn)}
            done = subprocess.run(
                ["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot}", f"--file={target}", _libpq_url(url)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            conn.rollback()
    finally:
        engine.dispose()
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    return facts


def _engine_name(url: sa.URL) -> str:
    name = url.get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups handle SQLite and PostgreSQL, not {name}")
    return name


def _database_file(engine: str) -> str:
    return "database.sqlite3" if engine == "sqlite" else "database.pgdump"


# --- backup ----------------------------------------------------------------------------------


def make_backup(archive: Path) -> dict:
    """Write the archive; returns its manifest."""
    url = db.engine.url
    engine = _engine_name(url)
    db.session.remove()
    with tempfile.TemporaryDirectory(prefix="sanmai-backup-") as work:
        dump = Path(work) / _database_file(engine)
        if engine == "sqlite":
            facts = _snapshot_sqlite(url, dump)
        else:
            facts = _snapshot_postgresql(url, dump)
        root = _upload_dir()
        stored = sorted(
            path for path in root.glob("*/*/*")
            if path.is_file() and _STORED.fullmatch(path.relative_to(root).as_posix())
        )  # fmt: skip
        files = []
        for path in stored:
            digest = sha256_of(path)
            if digest != path.name:
                raise BackupError(f"stored file {path} does not hold the bytes its name says")
            files.append({"path": path.relative_to(root).as_posix(), "sha256": digest,
                          "bytes": path.stat().st_size})  # fmt: skip
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "engine": engine,
            "file_storage": storage.kind(),  # with "database", the files are in the dump
            "schema": facts["schema"],
            "tables": facts["tables"],
            "database": {
                "name": dump.name,
                "sha256": sha256_of(dump),
                "bytes": dump.stat().st_size,
            },
            "files": files,
            "counts": {
                "rows": sum(facts["tables"].values()),
                "files": len(files),
                "file_bytes": sum(f["bytes"] for f in files),
            },
        }
        archive.parent.mkdir(parents=True, exist_ok=True)
        partial = archive.with_name(archive.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size, info.mtime = len(data), int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
            tar.add(dump, arcname=dump.name)
            for entry, path in zip(files, stored, strict=True):
                tar.add(path, arcname=f"files/{entry['path']}")
        os.replace(partial, archive)  # a half-written archive never has the final name
    return manifest


# --- restore ---------------------------------------------------------------------------------


def _read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.getmember("manifest.json")
        manifest = json.load(tar.extractfile(member))
    except (KeyError, ValueError) as error:
        raise BackupError("not a Sanmai backup: manifest.json is missing or unreadable") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r}")
    return manifest


def _check_empty(engine: str, url: sa.URL) -> None:
    if engine == "sqlite" and not Path(url.database).exists():
        return
    target = sa.create_engine(url)
    try:
        with target.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
    finally:
        target.dispose()
    if tables:
        raise BackupError(
            f"the database {url.render_as_string()} is not empty ({len(tables)} tables): "
            "restore only into a new, empty database"
        )


def _extract_checked(tar: tarfile.TarFile, name: str, sha256: str, target: Path) -> int:
    """Copy one member to `target` while hashing it; refuse it if the hash differs."""
    try:
        source = tar.extractfile(tar.getmember(name))
    except KeyError as error:
        raise BackupError(f"{name} is missing from the archive") from error
    digest, size = hashlib.sha256(), 0
    with target.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        raise BackupError(f"{name} is damaged: its SHA-256 differs from the manifest")
    return size


def restore_backup(archive: Path) -> Restored:
    """Restore into this instance's empty database and upload folder, checking every hash
    before anything is put in place; returns the counts found after the restore."""
    url = db.engine.url
    engine = _engine_name(url)
    db.session.remove()
    db.engine.dispose()
    root = _upload_dir()
    with (
        tarfile.open(archive, "r:gz") as tar,
        tempfile.TemporaryDirectory(
            prefix="sanmai-restore-", dir=root.parent if root.parent.exists() else None
        ) as work,
    ):
        manifest = _read_manifest(tar)
        if manifest["engine"] != engine:
            raise BackupError(
                f"this backup is of a {manifest['engine']} database; this instance uses {engine}"
            )
        if manifest.get("file_storage", "local") != storage.kind():
            raise BackupError(
                f"this backup keeps its files in {manifest['file_storage']} storage; set "
                f"SANMAI_FILE_STORAGE={manifest['file_storage']} to restore it (then flask files "
                "migrate to change)"
            )
        if manifest["schema"] != sorted(health.newest_migrations()):
            raise BackupError(
                f"this backup's schema is {', '.join(manifest['schema'])}; this code's is "
                f"{', '.join(sorted(health.newest_migrations()))}: restore with the version "
                "that made it, then upgrade"
            )
        _check_empty(engine, url)
        if root.exists() and any(root.iterdir()):
            raise BackupError(f"the upload folder {root} is not empty")
        work = Path(work)
        dump = work / manifest["database"]["name"]
        _extract_checked(tar, dump.name, manifest["database"]["sha256"], dump)
        staged = work / "files"
        for entry in manifest["files"]:
            if not _STORED.fullmatch(entry["path"]) or not entry["path"].endswith(entry["sha256"]):
                raise BackupError(f"unexpected file name in the manifest: {entry['path']!r}")
            target = staged / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            _extract_checked(tar, f"files/{entry['path']}", entry["sha256"], target)
        # Every byte checked: put the database, then the files, in place.
        if engine == "sqlite":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dump, Path(url.database))
        else:
            done = subprocess.run(
                ["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
                 f"--dbname={_libpq_url(url)}", str(dump)],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
        root.mkdir(parents=True, exist_ok=True)
        for entry in manifest["files"]:
            target = root / entry["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(staged / entry["path"], target)
    with db.engine.connect() as connection:
        tables = _counts(connection)
    if tables != manifest["tables"]:
        differ = sorted(k for k in manifest["tables"] if tables.get(k) != manifest["tables"][k])
        raise BackupError(f"restored row counts differ from the manifest in: {', '.join(differ)}")
    return Restored(tables, len(manifest["files"]), manifest["counts"]["file_bytes"])


# --- commands --------------------------------------------------------------------------------


@click.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(archive: Path):
    """Write ARCHIVE: the database (a consistent snapshot) and every stored file."""
    try:
        manifest = make_backup(archive)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    counts = manifest["counts"]
    click.echo(
        f"backup {archive}: {manifest['engine']} at {', '.join(manifest['schema'])}, "
        f"{counts['rows']} rows in {len(manifest['tables'])} tables, "
        f"{counts['files']} files ({counts['file_bytes']} bytes)"
    )


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(archive: Path):
    """Restore ARCHIVE into this instance's empty database and upload folder."""
    try:
        restored = restore_backup(archive)
    except (BackupError, tarfile.TarError, OSError) as error:
        raise click.ClickException(str(error)) from error
    for name, count in restored.tables.items():
        click.echo(f"  {name}: {count}")
    click.echo(
        f"restored {archive}: {sum(restored.tables.values())} rows, all hashes checked, "
        f"{restored.files} files ({restored.file_bytes} bytes)"
    )
