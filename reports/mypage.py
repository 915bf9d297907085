"""My page (as in Redmine): my open homework and tickets by due date, the meetings I attend
next, the minutes awaiting my confirmation, and my business units (with last year's page)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

import permissions
from core import timeutil
from core.extensions import db
from minutes.models import Attendee, Confirmation, Meeting, Revision
from projects.models import Project
from reports import queries
from tickets.models import Status, Ticket

# Rows of my open tickets shown on my page; the rest are one click away in the ticket list
# (as Redmine's "Issues assigned to me" block), so the page stays light for a person
# holding hundreds of tickets.
MY_PAGE_ROWS = 20


@dataclass
class OpenTickets:
    lines: list[queries.HomeworkLine]
    total: int  # all my open tickets, of which `lines` are the soonest due

    @property
    def more(self) -> int:
        return self.total - len(self.lines)


def my_open_tickets(user, limit: int = MY_PAGE_ROWS) -> OpenTickets:
    """My open tickets, soonest due first (no due date last), at most `limit` of them, and
    how many there are; homework carries the item (and so the meeting) it came from."""
    mine = (
        Ticket.assignee_id == user.id,
        Status.is_closed.is_(False),
        permissions.visible_ticket(user, Ticket),
    )
    tickets = list(
        db.session.scalars(
            sa.select(Ticket)
            .join(Status, Status.id == Ticket.status_id)
            .where(*mine)
            .order_by(Ticket.due_date.is_(None), Ticket.due_date, Ticket.id)
            .limit(limit)
            .options(*queries.ticket_loads())
        ).unique()
    )
    total = len(tickets)
    if total == limit:
        total = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Ticket)
            .join(Status, Status.id == Ticket.status_id)
            .where(*mine)
        )
    return OpenTickets(queries.with_items(user, tickets), total)


def next_meetings(user, clock: queries.Clock, limit: int = 10) -> list[Meeting]:
    """Meetings from today on (Japan time) that I am an attendee of."""
    return list(
        db.session.scalars(
            sa.select(Meeting)
            .join(Attendee, Attendee.meeting_id == Meeting.id)
            .where(
                Attendee.user_id == user.id,
                Meeting.starts_at >= timeutil.local_to_utc(clock.today),
                permissions.visible(user, Meeting.unit_id),
            )
            .order_by(Meeting.starts_at, Meeting.id)
            .limit(limit)
            .options(joinedload(Meeting.unit).joinedload(Project.parent))
        )
    )


@dataclass
class Awaiting:
    meeting: Meeting
    revision: Revision


def awaiting_my_confirmation(user) -> list[Awaiting]:
    """Frozen minutes whose latest revision I (present) have not answered yet."""
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
    rows = db.session.execute(
        sa.select(Meeting, Revision)
        .join(Attendee, Attendee.meeting_id == Meeting.id)
        .join(Revision, sa.and_(Revision.meeting_id == Meeting.id, Revision.number == latest))
        .where(
            Attendee.user_id == user.id,
            Attendee.present.is_(True),
            Meeting.status == "awaiting_confirmation",
            permissions.visible(user, Meeting.unit_id),
            ~answered,
        )
        .order_by(Revision.frozen_at)
        .options(joinedload(Meeting.unit).joinedload(Project.parent))
    ).all()
    return [Awaiting(meeting, revision) for meeting, revision in rows]


def my_units(user, clock: queries.Clock) -> list[Project]:
    """The current fiscal year's projects I see, with their units (links to last year)."""
    return list(
        db.session.scalars(
            sa.select(Project)
            .where(
                Project.parent_id.is_(None),
                Project.fiscal_year == clock.fiscal_year,
                Project.is_archived.is_(False),
                permissions.visible(user, Project.id),
            )
            .order_by(Project.position, Project.name)
            .options(selectinload(Project.units))
        )
    )
