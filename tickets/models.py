"""Tickets the Redmine way: trackers, ball-holding statuses, workflows, journals."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import User
from core import generations
from core.extensions import db
from core.timeutil import utcnow
from projects.models import Project

SIDES = ("city", "vendor")


class Tracker(db.Model):
    __tablename__ = "trackers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name_en: Mapped[str | None] = mapped_column(sa.String(60))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)
    default_status_id: Mapped[int | None] = mapped_column(sa.ForeignKey("statuses.id"))


class Status(db.Model):
    __tablename__ = "statuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name_en: Mapped[str | None] = mapped_column(sa.String(60))
    owner_side: Mapped[str] = mapped_column(sa.String(8))  # who holds the ball: city | vendor
    is_closed: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class Transition(db.Model):
    """Workflow: in `tracker`, a member with `role` may move from one status to another."""

    __tablename__ = "transitions"
    __table_args__ = (sa.UniqueConstraint("tracker_id", "role", "from_status_id", "to_status_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tracker_id: Mapped[int] = mapped_column(sa.ForeignKey("trackers.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    from_status_id: Mapped[int] = mapped_column(sa.ForeignKey("statuses.id"))
    to_status_id: Mapped[int] = mapped_column(sa.ForeignKey("statuses.id"))


class Priority(db.Model):
    __tablename__ = "priorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name_en: Mapped[str | None] = mapped_column(sa.String(60))
    position: Mapped[int] = mapped_column(default=0)
    is_default: Mapped[bool] = mapped_column(default=False)


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        # The list of the projects one sees, and its due-date order and overdue count,
        # without reading the rows.
        sa.Index("ix_tickets_project_status_due", "project_id", "status_id", "due_date"),
        sa.Index("ix_tickets_assignee_due", "assignee_id", "due_date"),
        # My page: one's open tickets, soonest due first, and how many, without the rows.
        sa.Index(
            "ix_tickets_assignee_status", "assignee_id", "status_id", "due_date", "project_id"
        ),
        # Reports: done this month, and the weekly trend (open at a time = created, not closed).
        sa.Index("ix_tickets_closed_created", "closed_at", "created_at"),
        # The list filtered by tracker and status, counted without reading the rows.
        sa.Index("ix_tickets_tracker_status", "tracker_id", "status_id", "project_id"),
        # The one search: the tickets a word finds (tens of thousands for two characters),
        # each looked up by id for its project and its newest change, from this index and
        # not from the table's wide rows. The project comes last, so that it is never a
        # second column to seek on (one seek per id and project).
        sa.Index("ix_tickets_id_updated_project", "id", "updated_at", "project_id"),
        # The private tickets, for the visibility rule (permissions.visible_ticket); partial
        # only on PostgreSQL (migration 0021 says why).
        sa.Index(
            "ix_tickets_private",
            "is_private",
            "id",
            "project_id",
            "author_id",
            "assignee_id",
            postgresql_where=sa.text("is_private"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"))  # a business unit
    tracker_id: Mapped[int] = mapped_column(sa.ForeignKey("trackers.id"), index=True)
    status_id: Mapped[int] = mapped_column(sa.ForeignKey("statuses.id"), index=True)
    priority_id: Mapped[int] = mapped_column(sa.ForeignKey("priorities.id"))
    subject: Mapped[str] = mapped_column(sa.String(255))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Homework given to a guest without an account: unassigned, the name kept here.
    guest_name: Mapped[str | None] = mapped_column(sa.String(100))
    start_date: Mapped[date | None]
    due_date: Mapped[date | None] = mapped_column(index=True)
    done_ratio: Mapped[int] = mapped_column(default=0)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # The decision asked for when homework is closed; offered as a result at the next meeting.
    decision: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    closed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)  # optimistic locking
    # Seen only by its author, its assignee, facilitators and managers (permissions.py).
    is_private: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    project: Mapped[Project] = relationship()
    tracker: Mapped[Tracker] = relationship()
    status: Mapped[Status] = relationship()
    priority: Mapped[Priority] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    parent: Mapped[Ticket | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Ticket]] = relationship(back_populates="parent", order_by="Ticket.id")
    journals: Mapped[list[Journal]] = relationship(
        back_populates="ticket", order_by="Journal.id", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Ticket #{self.id} {self.subject!r}>"

    @property
    def is_closed(self) -> bool:
        return self.status.is_closed

    @property
    def who(self) -> str:
        if self.assignee is not None:
            return self.assignee.name
        return self.guest_name or ""


class Journal(db.Model):
    __tablename__ = "journals"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: the system
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    private_notes: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="journals")
    user: Mapped[User | None] = relationship()
    details: Mapped[list[JournalDetail]] = relationship(
        back_populates="journal", order_by="JournalDetail.id", cascade="all, delete-orphan"
    )


class JournalDetail(db.Model):
    """One changed property, as Redmine's: property is attr, attachment, relation (name: the
    relation type as seen from this ticket, the values: the other ticket's id) or cf (name:
    the custom field's id)."""

    __tablename__ = "journal_details"

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_id: Mapped[int] = mapped_column(sa.ForeignKey("journals.id"), index=True)
    property: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(60))
    old_value: Mapped[str | None] = mapped_column(sa.Text)
    new_value: Mapped[str | None] = mapped_column(sa.Text)

    journal: Mapped[Journal] = relationship(back_populates="details")


class Relation(db.Model):
    """Redmine's issue relation, kept in its forward direction: from `ticket_from` the type
    reads as is (blocks, precedes, duplicates, copied_to, relates), from `ticket_to` reversed
    (blocked, follows, duplicated, copied_from)."""

    __tablename__ = "ticket_relations"
    __table_args__ = (sa.UniqueConstraint("ticket_from_id", "ticket_to_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_from_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    ticket_to_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    relation_type: Mapped[str] = mapped_column(sa.String(16))
    delay: Mapped[int | None]  # days between a preceding ticket's end and the next's start


class Watcher(db.Model):
    __tablename__ = "ticket_watchers"
    __table_args__ = (sa.UniqueConstraint("ticket_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("tickets.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship()


class CustomField(db.Model):
    """A ticket field defined in Redmine; its values are kept and shown, not edited."""

    __tablename__ = "custom_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    # Redmine's field_format: string, text, int, float, date, bool, list, user, link, ...
    field_format: Mapped[str] = mapped_column(sa.String(30), default="string")
    is_multiple: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)


class CustomValue(db.Model):
    """One value of a custom field on a ticket; a field with several values has several rows."""

    __tablename__ = "custom_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    custom_field_id: Mapped[int] = mapped_column(
        sa.ForeignKey("custom_fields.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str | None] = mapped_column(sa.Text)

    custom_field: Mapped[CustomField] = relationship()


# What the data generations (core.generations) watch of these models.
generations.watch("directory", Tracker, ["name", "name_en", "position"])
generations.watch("directory", Status, ["name", "name_en", "is_closed", "owner_side", "position"])
generations.watch(
    "homework",
    Ticket,
    [
        "status",
        "status_id",
        "assignee",
        "assignee_id",
        "guest_name",
        "due_date",
        "project",
        "project_id",
        "created_at",
        "closed_at",
        "is_private",
        "author",
        "author_id",
    ],
)
# Any ticket written, whatever changed (the totals of the ticket lists and the API).
generations.watch("tickets", Ticket)
