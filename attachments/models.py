"""A file on a ticket or a meeting: one row per attachment, the bytes in core.storage."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User
from core.extensions import db
from core.timeutil import utcnow


class Attachment(db.Model):
    """A file on a ticket or a meeting; its bytes live in core.storage under their SHA-256."""

    __tablename__ = "attachments"
    __table_args__ = (sa.Index("ix_attachments_container", "container_type", "container_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    container_type: Mapped[str | None] = mapped_column(sa.String(16))  # ticket | meeting
    container_id: Mapped[int | None]  # None until an uploaded file is attached
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(255), default="application/octet-stream")
    filesize: Mapped[int]
    digest: Mapped[str] = mapped_column(sa.String(64), index=True)  # SHA-256 hex
    description: Mapped[str] = mapped_column(sa.String(255), default="")
    # Redmine's upload token ("id.hex"), used to attach a file uploaded through /uploads.json.
    token: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()
