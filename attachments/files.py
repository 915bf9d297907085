"""Attachments: files on tickets and meetings, stored once by SHA-256 outside the web root.

    store_upload(actor, file)          → an Attachment not yet attached (with an upload token,
                                         as Redmine's POST /uploads.json gives)
    attach(actor, attachment, target)  → hang it on a ticket (journaled) or a meeting
    upload_by_token(actor, token)      → the caller's own unattached upload, for the API

Files hang on things of higher layers (tickets, meetings), which this package does not import:
each owner registers its kind with register_container (tickets/__init__.py, minutes/hooks.py).

Bytes live in core.storage by SHA-256 (a directory or the database); the name a person gave is kept only
in the row, so a path-like name ("../../etc/passwd") is just text.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

import permissions
from attachments.models import Attachment
from core import errors, storage
from core.extensions import db
from core.timeutil import utcnow

CHUNK = 64 * 1024


class AttachmentError(errors.Invalid):
    """An upload that cannot be accepted; str(error) is a message for the person."""

    def __init__(self, message: str, field: str | None = "attachments"):
        super().__init__(message, field)


def max_bytes() -> int:
    return int(float(current_app.config.get("SANMAI_MAX_ATTACHMENT_MB", 2)) * 1024 * 1024)


def max_label() -> str:
    mb = float(current_app.config.get("SANMAI_MAX_ATTACHMENT_MB", 2))
    return f"{mb:g} MB"


def read_bytes(attachment: Attachment) -> bytes:
    with storage.backend().open(attachment.digest) as stream:
        return stream.read()


def safe_filename(name: str | None) -> str:
    """The last path component, without control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 250 - len(ext)] + dot + ext) if dot and len(ext) < 16 else name[:255]
    return name or "file"


def content_type_for(filename: str, given: str | None = None) -> str:
    guessed, _encoding = mimetypes.guess_type(filename)
    if guessed:
        return guessed
    given = (given or "").split(";")[0].strip().lower()
    return given if given and "/" in given else "application/octet-stream"


def size_of(file_storage) -> int:
    """The upload's size in bytes, without reading it into memory."""
    stream = file_storage.stream
    position = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


def check_upload(file_storage) -> None:
    """Refuse an oversized or empty file before anything is written."""
    name = safe_filename(file_storage.filename)
    size = size_of(file_storage)
    if size > max_bytes():
        raise AttachmentError(
            _(
                "%(name)s is too large (%(size)s); each file may be at most %(max)s.",
                name=name,
                size=f"{size / 1024 / 1024:.1f} MB",
                max=max_label(),
            )
        )
    if size == 0:
        raise AttachmentError(_("%(name)s is empty.", name=name))


def _write(file_storage) -> tuple[str, int]:
    """Store the bytes (core.storage: by SHA-256, once per content); (digest, size)."""
    file_storage.stream.seek(0)
    try:
        return storage.backend().save(file_storage.stream, max_bytes())
    except storage.TooLarge:
        raise AttachmentError(
            _("The file is too large; each file may be at most %(max)s.", max=max_label())
        ) from None


def store_upload(actor, file_storage, description: str = "") -> Attachment:
    """Store an uploaded file (werkzeug FileStorage); returns an unattached Attachment."""
    check_upload(file_storage)
    filename = safe_filename(file_storage.filename)
    digest, size = _write(file_storage)
    attachment = Attachment(
        filename=filename,
        content_type=content_type_for(filename, file_storage.mimetype),
        filesize=size,
        digest=digest,
        description=(description or "")[:255],
        author_id=actor.id if actor is not None else None,
        created_at=utcnow(),
    )
    db.session.add(attachment)
    db.session.flush()
    attachment.token = f"{attachment.id}.{secrets.token_hex(16)}"
    db.session.flush()
    return attachment


def attach(actor, attachment: Attachment, container, notes: str = ""):
    """Hang `attachment` on a ticket (journaled, as Redmine does) or on a meeting: what that
    means is the container's owner's (register_container); returns what its attach returns."""
    if attachment.container_id is not None:
        raise AttachmentError(_("This file is already attached elsewhere."))
    return CONTAINERS[kind_of(container)].attach(actor, attachment, container, notes)


def hang(attachment: Attachment, container) -> None:
    """Point an unattached file at its container; the owner's attach has checked the rest."""
    attachment.container_type, attachment.container_id = kind_of(container), container.id
    db.session.flush()


def upload_by_token(actor, token: str) -> Attachment | None:
    """An unattached upload made by `actor`, by its token (None when unknown or not theirs)."""
    attachment = db.session.scalar(sa.select(Attachment).where(Attachment.token == token))
    if attachment is None or attachment.container_id is not None:
        return None
    if actor is not None and attachment.author_id != actor.id:
        return None
    return attachment


def attachments_of(container) -> list[Attachment]:
    return list(
        db.session.scalars(
            sa.select(Attachment)
            .where(
                Attachment.container_type == kind_of(container),
                Attachment.container_id == container.id,
            )
            .options(sa.orm.joinedload(Attachment.author))
            .order_by(Attachment.id)
        )
    )


# --- containers: what files hang on, told by the packages that own them --------------------


@dataclass(frozen=True)
class Container:
    model: type
    # The column holding the project (or unit) whose members may see the container's files.
    project_column: sa.orm.InstrumentedAttribute
    # attach(actor, attachment, container, notes): the owner's rules and record of the change.
    attach: Callable
    # visible(user): a WHERE clause on `model` of the containers `user` may see (and so their
    # files); None: those of the projects `user` may see.
    visible: Callable | None = None

    def visible_to(self, user) -> sa.ColumnElement[bool]:
        if self.visible is not None:
            return self.visible(user)
        return permissions.visible(user, self.project_column)


CONTAINERS: dict[str, Container] = {}


def register_container(
    kind: str, model: type, project_column, attach: Callable, visible: Callable | None = None
) -> None:
    CONTAINERS[kind] = Container(model, project_column, attach, visible)


def kind_of(container) -> str:
    for kind, registered in CONTAINERS.items():
        if isinstance(container, registered.model):
            return kind
    raise TypeError(f"files do not hang on {type(container).__name__}")


def container_of(attachment: Attachment):
    """The ticket or meeting an attachment hangs on (None while unattached)."""
    registered = CONTAINERS.get(attachment.container_type)
    return db.session.get(registered.model, attachment.container_id) if registered else None


def visible_container(kind: str, container_id: int, user):
    """The `kind` container with this id if `user` may see it, else None."""
    registered = CONTAINERS.get(kind)
    if registered is None:
        return None
    model = registered.model
    return db.session.scalar(
        sa.select(model).where(model.id == container_id, registered.visible_to(user))
    )


def project_id_of(container) -> int:
    return getattr(container, CONTAINERS[kind_of(container)].project_column.key)
