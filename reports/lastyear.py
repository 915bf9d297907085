"""This time last year (昨年の今頃): what happened in a business unit in the same weeks one fiscal
year earlier — meetings, results, homework and tickets — so a newcomer sees what is coming.

The previous year's unit is the unit of the same name (or identifier) in the previous fiscal
year's project of the same identifier or owner organisation, among the projects the user may
open directly (permissions.readable_previous_years): nothing else is shown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

import permissions
from core import timeutil
from core.extensions import db
from core.timeutil import week_start
from minutes.models import Item, Meeting
from projects.models import Project
from reports import queries
from tickets import queries as ticket_queries
from tickets.models import Ticket

WEEKS_BEFORE, WEEKS_AFTER = 1, 4  # the week before, this week and the three after


def one_year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def counterpart(user, project: Project) -> Project | None:
    """The same project or unit one fiscal year earlier (same identifier or owner), among those
    the user may open (permissions.readable_previous_years); the units of such a project are
    readable with it."""
    root = project.root
    if root.fiscal_year is None:
        return None
    previous_year = root.fiscal_year - 1
    roots = list(
        db.session.scalars(
            sa.select(Project)
            .where(
                Project.parent_id.is_(None),
                Project.fiscal_year == previous_year,
                permissions.readable_previous_years(user, Project.id),
            )
            .options(selectinload(Project.units))
            .order_by(Project.id)
        )
    )
    old_ident = root.identifier.replace(str(root.fiscal_year), str(previous_year))
    previous_root = next((r for r in roots if r.identifier == old_ident), None) or next(
        (
            r
            for r in roots
            if root.owner_organisation_id is not None
            and r.owner_organisation_id == root.owner_organisation_id
        ),
        None,
    )
    if previous_root is None or not project.is_unit:
        return previous_root
    unit_ident = project.identifier.replace(str(root.fiscal_year), str(previous_year))
    units = previous_root.units
    return (
        next((u for u in units if u.name == project.name), None)
        or next((u for u in units if u.identifier == unit_ident), None)
        or next((u for u in units if project.name_en and u.name_en == project.name_en), None)
    )


@dataclass
class MeetingDigest:
    meeting: Meeting
    results: list[Item] = field(default_factory=list)
    homework: list[Item] = field(default_factory=list)
    previews: list[Item] = field(default_factory=list)


@dataclass
class WeekDigest:
    start: date  # Monday, last year
    this_year: date  # the Monday of the matching week this year
    meetings: list[MeetingDigest] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.meetings or self.tickets)


@dataclass
class LastYear:
    project: Project  # this year's
    previous: Project | None  # last year's counterpart
    weeks: list[WeekDigest]
    homework_tickets: set[int] = field(default_factory=set)  # tickets that are homework

    @property
    def is_empty(self) -> bool:
        return all(w.is_empty for w in self.weeks)

    @property
    def last_day(self) -> date:
        return self.weeks[-1].start + timedelta(days=6)


def last_year(user, project: Project, clock: queries.Clock) -> LastYear:
    previous = counterpart(user, project)
    first = week_start(one_year_before(clock.today)) - timedelta(weeks=WEEKS_BEFORE)
    this_first = week_start(clock.today) - timedelta(weeks=WEEKS_BEFORE)
    weeks = [
        WeekDigest(first + timedelta(weeks=k), this_first + timedelta(weeks=k))
        for k in range(WEEKS_BEFORE + WEEKS_AFTER)
    ]
    if previous is None:
        return LastYear(project, None, weeks)
    start = timeutil.local_to_utc(first)
    end = timeutil.local_to_utc(first + timedelta(weeks=len(weeks)))

    def week_of(moment) -> WeekDigest:
        return weeks[min((moment - start).days // 7, len(weeks) - 1)]

    meetings = list(
        db.session.scalars(
            sa.select(Meeting)
            .where(
                queries.in_scope(Meeting.unit_id, previous),  # counterpart() checked access
                Meeting.starts_at >= start,
                Meeting.starts_at < end,
            )
            .order_by(Meeting.starts_at, Meeting.id)
            .options(joinedload(Meeting.unit))
        )
    )
    digests = {m.id: MeetingDigest(m) for m in meetings}
    homework_tickets = set()
    if meetings:
        items = db.session.scalars(
            sa.select(Item)
            .where(
                Item.meeting_id.in_(list(digests)),
                Item.kind.in_(("result", "homework", "preview")),
                Item.deleted_at.is_(None),
            )
            .order_by(Item.position, Item.id)
            .options(
                joinedload(Item.parent_item),
                joinedload(Item.ticket).joinedload(Ticket.status),
                joinedload(Item.ticket).joinedload(Ticket.assignee),
            )
        ).unique()
        items = list(items)
        unseen = ticket_queries.unseen_ticket_ids(user, (i.ticket_id for i in items))
        by_kind = {"result": "results", "homework": "homework", "preview": "previews"}
        for item in items:
            if item.kind == "homework" and item.ticket_id in unseen:  # a private ticket
                continue
            getattr(digests[item.meeting_id], by_kind[item.kind]).append(item)
            if item.ticket_id:
                homework_tickets.add(item.ticket_id)
    for m in meetings:
        week_of(m.starts_at).meetings.append(digests[m.id])

    local_first, local_end = first, first + timedelta(weeks=len(weeks))
    tickets = db.session.scalars(
        sa.select(Ticket)
        .where(
            queries.in_scope(Ticket.project_id, previous),
            permissions.visible_ticket(user, Ticket),
            sa.or_(
                sa.and_(Ticket.created_at >= start, Ticket.created_at < end),
                sa.and_(Ticket.due_date >= local_first, Ticket.due_date < local_end),
            ),
            Ticket.id.not_in(homework_tickets) if homework_tickets else sa.true(),
        )
        .order_by(Ticket.created_at, Ticket.id)
        .limit(200)
        .options(joinedload(Ticket.status), joinedload(Ticket.tracker), joinedload(Ticket.assignee))
    ).unique()
    by_week = defaultdict(list)
    for t in tickets:
        if start <= t.created_at < end:
            by_week[id(week_of(t.created_at))].append(t)
        else:  # due in the window, raised earlier
            by_week[id(weeks[(t.due_date - local_first).days // 7])].append(t)
    for w in weeks:
        w.tickets = by_week[id(w)]
    shown = [t.id for w in weeks for t in w.tickets]
    homework_ids = (
        set(
            db.session.scalars(
                sa.select(Item.ticket_id).where(
                    Item.ticket_id.in_(shown), Item.kind == "homework", Item.deleted_at.is_(None)
                )
            )
        )
        if shown
        else set()
    )
    return LastYear(project, previous, weeks, homework_ids)
