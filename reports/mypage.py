"""My page (as in Redmine): my open homework and tickets by due date, the meetings I attend
next, the minutes awaiting my confirmation, and my business units (with last year's page)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

import permissions
from core import timeutil
from core.extensions import db
from core.rows import plain_rows
from minutes.models import Attendee, Confirmation, Item, Meeting, Revision
from projects.models import Project
from reports import queries
from tickets import queries as ticket_queries
from tickets.models import Status, Ticket

# Rows of my open tickets shown on my page; the rest are one click away in the ticket list
# (as Redmine's "Issues assigned to me" block), so the page stays light for a person
# holding hundreds of tickets.
MY_PAGE_ROWS = 20


class Named(NamedTuple):
    """A status's or project's names (the `named` filter picks one by language)."""

    name: str
    name_en: str | None


class StatusRef(NamedTuple):
    name: str
    name_en: str | None
    owner_side: str


class UnitRef(NamedTuple):
    name: str
    name_en: str | None
    parent: Named | None


class MeetingRef(NamedTuple):
    id: int
    title: str


class TicketLine(NamedTuple):
    """A row of my open tickets as plain values: its HTML is kept by content (KeptRows)."""

    id: int
    subject: str
    due_date: date | None
    overdue: bool
    status: StatusRef
    unit: UnitRef
    meeting: MeetingRef | None  # of the homework item the ticket came from, if any


@dataclass
class OpenTickets:
    lines: list[TicketLine]
    total: int  # all my open tickets, of which `lines` are the soonest due

    @property
    def more(self) -> int:
        return self.total - len(self.lines)


def my_open_tickets(user, today: date, limit: int = MY_PAGE_ROWS) -> OpenTickets:
    """My open tickets, soonest due first (no due date last), at most `limit` of them, and
    how many there are; homework carries the meeting it came from. The ids and the count
    come from one statement over the index ix_tickets_assignee_status, without reading the
    tickets; then the columns shown of those rows alone (plain values, no ORM objects)."""
    found = db.session.execute(
        _open_ids_statement(limit),
        {"open_ids": ticket_queries.open_status_ids(), **permissions.bound_user(user)},
    ).all()
    ids = [ticket_id for ticket_id, _total in found]
    rows = {r.id: r for r in plain_rows(_lines_statement(), {"ids": ids})} if ids else {}
    meetings = _homework_meetings(user, ids)
    lines = [
        TicketLine(
            r.id,
            r.subject,
            r.due_date,
            r.due_date is not None and r.due_date < today,
            StatusRef(r.status, r.status_en, r.owner_side),
            UnitRef(
                r.unit,
                r.unit_en,
                Named(r.parent, r.parent_en) if r.parent_id is not None else None,
            ),
            meetings.get(r.id),
        )
        for r in (rows[i] for i in ids if i in rows)
    ]
    return OpenTickets(lines, found[0][1] if found else 0)


# The statements of my page are built once, the user and dates bound at execution
# (permissions.bound_user): building them cost more than running them.


@functools.cache
def _open_ids_statement(limit: int) -> sa.Select:
    return (
        sa.select(Ticket.id, sa.func.count().over())
        .where(
            Ticket.assignee_id == sa.bindparam("viewer_id"),
            Ticket.status_id.in_(sa.bindparam("open_ids", expanding=True)),
            permissions.visible_ticket_to_bound_user(Ticket),
        )
        .order_by(Ticket.due_date.is_(None), Ticket.due_date, Ticket.id)
        .limit(limit)
    )


@functools.cache
def _lines_statement() -> sa.Select:
    """The columns a line shows, for the tickets `ids`; built once."""
    parent = aliased(Project)
    return (
        sa.select(
            Ticket.id,
            Ticket.subject,
            Ticket.due_date,
            Status.name.label("status"),
            Status.name_en.label("status_en"),
            Status.owner_side,
            Project.name.label("unit"),
            Project.name_en.label("unit_en"),
            Project.parent_id,
            parent.name.label("parent"),
            parent.name_en.label("parent_en"),
        )
        .join(Status, Status.id == Ticket.status_id)
        .join(Project, Project.id == Ticket.project_id)
        .outerjoin(parent, parent.id == Project.parent_id)
        .where(Ticket.id.in_(sa.bindparam("ids", expanding=True)))
    )


def _homework_meetings(user, ticket_ids: list[int]) -> dict[int, MeetingRef]:
    """{ticket id: the meeting of its first homework item}, meetings `user` may not see left
    out (as queries.with_items)."""
    if not ticket_ids:
        return {}
    found: dict[int, MeetingRef] = {}
    params = {"ids": ticket_ids, **permissions.bound_user(user)}
    for ticket_id, meeting_id, title in plain_rows(_homework_statement(), params):
        found.setdefault(ticket_id, MeetingRef(meeting_id, title))
    return found


@functools.cache
def _homework_statement() -> sa.Select:
    return (
        sa.select(Item.ticket_id, Meeting.id, Meeting.title)
        .join(Meeting, Meeting.id == Item.meeting_id)
        .where(
            Item.ticket_id.in_(sa.bindparam("ids", expanding=True)),
            Item.kind == "homework",
            Item.deleted_at.is_(None),
            permissions.visible_to_bound_user(Meeting.unit_id),
        )
        .order_by(Item.id)
    )


def next_meetings(user, clock: queries.Clock, limit: int = 10) -> list[Meeting]:
    """Meetings from today on (Japan time) that I am an attendee of."""
    since = timeutil.local_to_utc(clock.today)
    params = {"since": since, **permissions.bound_user(user)}
    return list(db.session.scalars(_next_meetings_statement(limit), params))


@functools.cache
def _next_meetings_statement(limit: int) -> sa.Select:
    return (
        sa.select(Meeting)
        .join(Attendee, Attendee.meeting_id == Meeting.id)
        .where(
            Attendee.user_id == sa.bindparam("viewer_id"),
            Meeting.starts_at >= sa.bindparam("since"),
            permissions.visible_to_bound_user(Meeting.unit_id),
        )
        .order_by(Meeting.starts_at, Meeting.id)
        .limit(limit)
        .options(joinedload(Meeting.unit).joinedload(Project.parent))
    )


@dataclass
class Awaiting:
    meeting: Meeting
    revision: Revision


def awaiting_my_confirmation(user) -> list[Awaiting]:
    """Frozen minutes whose latest revision I (present) have not answered yet."""
    rows = db.session.execute(_awaiting_statement(), permissions.bound_user(user)).all()
    return [Awaiting(meeting, revision) for meeting, revision in rows]


@functools.cache
def _awaiting_statement() -> sa.Select:
    latest = (
        sa.select(sa.func.max(Revision.number))
        .where(Revision.meeting_id == Meeting.id)
        .correlate(Meeting)
        .scalar_subquery()
    )
    answered = (
        sa.select(Confirmation.id)
        .where(Confirmation.revision_id == Revision.id, Confirmation.attendee_id == Attendee.id)
        .correlate(Revision, Attendee)
        .exists()
    )
    return (
        sa.select(Meeting, Revision)
        .join(Attendee, Attendee.meeting_id == Meeting.id)
        .join(Revision, sa.and_(Revision.meeting_id == Meeting.id, Revision.number == latest))
        .where(
            Attendee.user_id == sa.bindparam("viewer_id"),
            Attendee.present.is_(True),
            Meeting.status == "awaiting_confirmation",
            permissions.visible_to_bound_user(Meeting.unit_id),
            ~answered,
        )
        .order_by(Revision.frozen_at)
        .options(joinedload(Meeting.unit).joinedload(Project.parent))
    )


class UnitLink(NamedTuple):
    id: int
    identifier: str
    name: str
    name_en: str | None


class YearUnits(NamedTuple):
    """A fiscal year's project and its units that are not archived, as plain values: its
    block's HTML is kept by content (KeptRows)."""

    name: str
    name_en: str | None
    units: tuple[UnitLink, ...]


def my_units(user, clock: queries.Clock) -> list[YearUnits]:
    """The current fiscal year's projects I see, with their units (links to last year)."""
    params = {"year": clock.fiscal_year, **permissions.bound_user(user)}
    years: dict[int, tuple] = {}
    for r in plain_rows(_units_statement(), params):
        name, name_en, units = years.setdefault(r.id, (r.name, r.name_en, []))
        if r.unit_id is not None:
            units.append(UnitLink(r.unit_id, r.identifier, r.unit, r.unit_en))
    return [YearUnits(name, name_en, tuple(units)) for name, name_en, units in years.values()]


@functools.cache
def _units_statement() -> sa.Select:
    unit = aliased(Project)
    return (
        sa.select(
            Project.id,
            Project.name,
            Project.name_en,
            unit.id.label("unit_id"),
            unit.identifier,
            unit.name.label("unit"),
            unit.name_en.label("unit_en"),
        )
        .outerjoin(unit, sa.and_(unit.parent_id == Project.id, unit.is_archived.is_(False)))
        .where(
            Project.parent_id.is_(None),
            Project.fiscal_year == sa.bindparam("year"),
            Project.is_archived.is_(False),
            permissions.visible_to_bound_user(Project.id),
        )
        .order_by(Project.position, Project.name, Project.id, unit.position, unit.id)
    )
