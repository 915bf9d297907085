"""Minutes: meetings, their attendees and the items of the three sheets, with history."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User
from core import generations
from core.extensions import db
from core.timeutil import utcnow
from projects.models import Project
from tickets.models import Ticket

MEETING_STATUSES = ("draft", "in_session", "awaiting_confirmation", "confirmed")
# Sheet ① holds goal and result, sheet ② homework, sheet ③ break and preview.
ITEM_KINDS = ("goal", "result", "homework", "break", "preview")
SHEET_OF_KIND = {"goal": 1, "result": 1, "homework": 2, "break": 3, "preview": 3}


class Meeting(db.Model):
    __tablename__ = "meetings"
    __table_args__ = (sa.Index("ix_meetings_unit_starts", "unit_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime] = mapped_column(index=True)  # naive UTC, as every datetime
    ends_at: Mapped[datetime | None]
    place: Mapped[str] = mapped_column(sa.String(200), default="")
    facilitator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(24), default="draft")
    # The meeting this one follows in a series (copied attendees and unfinished goals).
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meetings.id"))
    # Bumped by every write to the meeting or its items: live viewers ask "after seq N?".
    change_seq: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Project] = relationship()
    facilitator: Mapped[User | None] = relationship(foreign_keys=[facilitator_id])
    previous: Mapped[Meeting | None] = relationship(remote_side=[id])
    attendees: Mapped[list[Attendee]] = relationship(
        back_populates="meeting",
        order_by="Attendee.position, Attendee.id",
        cascade="all, delete-orphan",
    )
    items: Mapped[list[Item]] = relationship(
        back_populates="meeting",
        order_by="Item.position, Item.id",
        foreign_keys="Item.meeting_id",
    )
    revisions: Mapped[list[Revision]] = relationship(
        back_populates="meeting", order_by="Revision.number"
    )

    def __repr__(self) -> str:
        return f"<Meeting {self.id} {self.title!r}>"

    @property
    def is_confirmed(self) -> bool:
        return self.status == "confirmed"


class Attendee(db.Model):
    __tablename__ = "attendees"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    guest_name: Mapped[str | None] = mapped_column(sa.String(100))
    guest_organisation: Mapped[str | None] = mapped_column(sa.String(100))
    guest_email: Mapped[str | None] = mapped_column(sa.String(200))
    present: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    meeting: Mapped[Meeting] = relationship(back_populates="attendees")
    user: Mapped[User | None] = relationship()

    @property
    def name(self) -> str:
        return self.user.name if self.user is not None else (self.guest_name or "")

    @property
    def organisation_name(self) -> str:
        if self.user is not None:
            org = self.user.organisation
            return org.name if org is not None else ""
        return self.guest_organisation or ""


class Item(db.Model):
    """One line of a sheet. Homework's who / what / by-when live on its ticket."""

    __tablename__ = "items"
    __table_args__ = (
        sa.Index("ix_items_meeting_kind", "meeting_id", "kind", "position"),
        # "Is this ticket homework?" answered from the index alone (dashboard, reminders).
        sa.Index("ix_items_ticket_kind", "ticket_id", "kind", "deleted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"))
    kind: Mapped[str] = mapped_column(sa.String(16))  # one of ITEM_KINDS
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.Text, default="")  # Markdown, sanitised on render
    # A result (or homework) hangs under the goal it answers.
    parent_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("items.id"), index=True)
    # Where this item came from when it was moved or carried over (keeps one history).
    origin_item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("items.id"), index=True)
    # A goal's linked ticket, or the ticket that backs a homework item.
    ticket_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    not_discussed: Mapped[bool] = mapped_column(default=False)  # goal explicitly not discussed
    # Decision register: a later result that supersedes this one (both stay).
    superseded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("items.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]  # deleting marks, never removes
    version: Mapped[int] = mapped_column(default=1)

    meeting: Mapped[Meeting] = relationship(back_populates="items", foreign_keys=[meeting_id])
    parent_item: Mapped[Item | None] = relationship(remote_side=[id], foreign_keys=[parent_item_id])
    origin_item: Mapped[Item | None] = relationship(remote_side=[id], foreign_keys=[origin_item_id])
    superseded_by: Mapped[Item | None] = relationship(
        remote_side=[id], foreign_keys=[superseded_by_id]
    )
    ticket: Mapped[Ticket | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def sheet(self) -> int:
        return SHEET_OF_KIND[self.kind]

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class ItemEvent(db.Model):
    """History of every add, edit, move, reorder and delete of an item (and meeting edits)."""

    __tablename__ = "item_events"
    __table_args__ = (sa.Index("ix_item_events_meeting_seq", "meeting_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"))
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("items.id"), index=True)
    seq: Mapped[int]  # the meeting's change_seq this change produced
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(24))
    before: Mapped[dict | None] = mapped_column(sa.JSON)
    after: Mapped[dict | None] = mapped_column(sa.JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship()


class Revision(db.Model):
    """A frozen state of the minutes; `content` is canonical JSON, fingerprint its SHA-256."""

    __tablename__ = "revisions"
    __table_args__ = (sa.UniqueConstraint("meeting_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(sa.ForeignKey("meetings.id"), index=True)
    number: Mapped[int]
    content: Mapped[str] = mapped_column(sa.Text)
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    frozen_at: Mapped[datetime] = mapped_column(default=utcnow)
    frozen_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    meeting: Mapped[Meeting] = relationship(back_populates="revisions")
    frozen_by: Mapped[User | None] = relationship()
    confirmations: Mapped[list[Confirmation]] = relationship(
        back_populates="revision", order_by="Confirmation.at"
    )


class Confirmation(db.Model):
    """An attendee's sign-off (or objection) on one revision; at most one per attendee."""

    __tablename__ = "confirmations"
    __table_args__ = (sa.UniqueConstraint("revision_id", "attendee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(sa.ForeignKey("revisions.id"))
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendees.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    organisation: Mapped[str] = mapped_column(sa.String(100), default="")
    method: Mapped[str] = mapped_column(sa.String(16))  # own_device | in_room | link
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    objection: Mapped[str | None] = mapped_column(sa.Text)  # set: an objection, not a sign-off
    at: Mapped[datetime] = mapped_column(default=utcnow)

    revision: Mapped[Revision] = relationship(back_populates="confirmations")
    attendee: Mapped[Attendee] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


# What the data generations (core.generations) watch of these models.
generations.watch(
    "homework",
    Item,
    ["kind", "ticket", "ticket_id", "deleted_at", "meeting", "meeting_id"],
    rows=lambda item: item.kind == "homework",
)
