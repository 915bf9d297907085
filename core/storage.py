"""Where uploaded files' bytes live, by SHA-256: a local directory or the database.

    SANMAI_FILE_STORAGE=local      <SANMAI_UPLOAD_DIR>/<ab>/<cd>/<sha256> (the default; also
                                   right for a file system the servers share)
    SANMAI_FILE_STORAGE=database   tables stored_files and stored_file_chunks, written in the
                                   caller's transaction (an upload that is rolled back leaves
                                   nothing), read back in chunks

Bytes are stored once per content and never changed; `flask files migrate --to ...` moves
them from one backend to the other and checks every hash.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.timeutil import utcnow

CHUNK = 256 * 1024
KINDS = ("local", "database")


class TooLarge(Exception):
    """The stream held more bytes than the caller allows; nothing was stored."""


class StoredFile(db.Model):
    __tablename__ = "stored_files"

    digest: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredChunk(db.Model):
    __tablename__ = "stored_file_chunks"

    digest: Mapped[str] = mapped_column(
        sa.ForeignKey("stored_files.digest", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


def _spool(stream: BinaryIO, folder: Path | None, max_bytes: int | None) -> tuple[str, int, str]:
    """Copy `stream` to a temporary file while hashing it: (digest, size, temporary path)."""
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".upload-")
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise TooLarge
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        os.unlink(tmp)
        raise
    return digest.hexdigest(), size, tmp


class LocalStorage:
    kind = "local"

    def __init__(self, root: Path):
        self.root = root

    def path(self, digest: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / digest

    def save(self, stream: BinaryIO, max_bytes: int | None = None) -> tuple[str, int]:
        digest, size, tmp = _spool(stream, self.root, max_bytes)
        target = self.path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # the same bytes are stored already: keep one copy
            os.unlink(tmp)
        else:
            os.replace(tmp, target)
        return digest, size

    def exists(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def open(self, digest: str) -> BinaryIO:
        return self.path(digest).open("rb")

    def digests(self) -> Iterator[str]:
        for path in sorted(self.root.glob("??/??/*")):
            if path.is_file() and len(path.name) == 64 and not path.name.startswith("."):
                yield path.name

    def delete(self, digest: str) -> None:
        self.path(digest).unlink(missing_ok=True)

    def problem(self) -> str | None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".ready-") as probe:
                probe.write(b"ready")
                probe.flush()
        except OSError as error:
            return f"file storage not writable ({error.strerror or error})"
        return None


class DatabaseStorage:
    kind = "database"

    def save(self, stream: BinaryIO, max_bytes: int | None = None) -> tuple[str, int]:
        digest, size, tmp = _spool(stream, None, max_bytes)
        try:
            connection = db.session.connection()
            insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
            table = StoredFile.__table__
            added = connection.execute(
                insert(table)
                .values(digest=digest, size=size, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["digest"])
                .returning(table.c.digest)
            ).first()
            if added:  # a concurrent upload of the same bytes waits here for the first one
                with open(tmp, "rb") as source:
                    seq = 0
                    while chunk := source.read(CHUNK):
                        connection.execute(
                            sa.insert(StoredChunk.__table__).values(
                                digest=digest, seq=seq, data=chunk
                            )
                        )
                        seq += 1
        finally:
            os.unlink(tmp)
        return digest, size

    def exists(self, digest: str) -> bool:
        return db.session.get(StoredFile, digest) is not None

    def open(self, digest: str) -> BinaryIO:
        """The bytes in a seekable file (kept in memory up to 1 MB), read chunk by chunk."""
        if not self.exists(digest):
            raise FileNotFoundError(digest)
        out = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - the caller closes it
        # One chunk per statement: no server-side cursor, which PostgreSQL allows only inside
        # a transaction (GETs read in autocommit), and one chunk in memory at a time.
        seq = 0
        while (
            data := db.session.scalar(
                sa.select(StoredChunk.data).where(
                    StoredChunk.digest == digest, StoredChunk.seq == seq
                )
            )
        ) is not None:
            out.write(data)
            seq += 1
        out.seek(0)
        return out

    def digests(self) -> Iterator[str]:
        yield from db.session.scalars(sa.select(StoredFile.digest).order_by(StoredFile.digest))

    def delete(self, digest: str) -> None:
        db.session.execute(sa.delete(StoredChunk).where(StoredChunk.digest == digest))
        db.session.execute(sa.delete(StoredFile).where(StoredFile.digest == digest))

    def problem(self) -> str | None:
        return None  # the database's own readiness is checked beside this


def kind() -> str:
    value = current_app.config.get("SANMAI_FILE_STORAGE", "local")
    if value not in KINDS:
        raise RuntimeError(f"SANMAI_FILE_STORAGE must be local or database, not {value!r}")
    return value


def backend(name: str | None = None) -> LocalStorage | DatabaseStorage:
    """The configured storage, or the one named."""
    if (name or kind()) == "database":
        return DatabaseStorage()
    return LocalStorage(Path(current_app.config["SANMAI_UPLOAD_DIR"]))


def sha256_of(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
