"""The dashboard's weekly trend of homework over a fiscal year (see reports/queries.py for
what homework is)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

import permissions
from core.extensions import db
from core.timeutil import (
    fiscal_year_bounds,
    local_to_utc,
    week_start,
)
from projects.models import Project
from reports.queries import (
    CACHE,
    Clock,
    homework_where,
)
from tickets.models import Ticket

# --- the weekly trend ------------------------------------------------------------------------


@dataclass
class Week:
    start: date
    open: int  # open homework at the end of the week
    closed: int  # homework closed during the week
    new: int  # homework raised during the week


def fiscal_weeks(year: int, clock: Clock) -> list[date]:
    """Monday of every week of fiscal `year`, up to the current week."""
    first, last = fiscal_year_bounds(year)
    last = min(last, clock.today)
    weeks, day = [], week_start(first)
    while day <= last:
        weeks.append(day)
        day += timedelta(days=7)
    return weeks


def _week_index(column, fy_start: datetime, monday: datetime):
    """SQL: -1 before the fiscal year, else the number of whole weeks since `monday` (UTC)."""
    if db.session.get_bind().dialect.name == "postgresql":
        weeks = sa.func.floor(sa.extract("epoch", column - monday) / (7 * 86400))
    else:
        weeks = (sa.func.julianday(column) - sa.func.julianday(monday)) / 7
    return sa.case((column < fy_start, -1), else_=sa.cast(weeks, sa.Integer))


def sees_many_units(user, many: int = 20) -> bool:
    """More than `many` projects and units visible: then a date index beats a unit index."""
    visible = sa.select(Project.id).where(permissions.visible(user, Project.id)).limit(many + 1)
    return CACHE.get_or_compute(
        "directory",
        ("many", user.id, many),
        lambda: (
            db.session.scalar(sa.select(sa.func.count()).select_from(visible.subquery())) > many
        ),
    )


def weekly_trend(user, project=None, year: int | None = None, clock=None) -> list[Week]:
    """Open vs. closed homework per week of the fiscal year (Japan-time weeks, from April).

    Open at the end of week k = raised before its end and not closed by then. Only homework
    still open at the start of the year or raised during it matters; one GROUP BY over
    (week raised, week closed) reads those rows from the index (closed_at, created_at).
    """
    clock = clock or Clock.at()
    year = year or clock.fiscal_year
    weeks = fiscal_weeks(year, clock)
    if not weeks:
        return []
    first, _last = fiscal_year_bounds(year)
    fy_start = local_to_utc(first)
    monday = local_to_utc(weeks[0])
    end = local_to_utc(weeks[-1] + timedelta(days=7))
    where = homework_where(user, project)
    if project is None and sees_many_units(user):
        # Across many units the year's rows are fewer than all the units' tickets: read them
        # by date (index on closed_at, created_at), not unit by unit ("+ 0": no unit index).
        where[0] = permissions.visible_ticket(user, Ticket, Ticket.project_id + 0)
    raised = _week_index(Ticket.created_at, fy_start, monday).label("raised")
    closed = _week_index(Ticket.closed_at, fy_start, monday).label("closed")
    rows = db.session.execute(
        sa.select(raised, closed, sa.func.count())
        .where(
            sa.or_(Ticket.closed_at.is_(None), Ticket.closed_at >= fy_start),
            Ticket.created_at < end,
            *where,
        )
        .group_by(raised, closed)
    )
    n = len(weeks)
    new, done = [0] * (n + 1), [0] * (n + 1)  # index 0: before the year; k + 1: week k
    for raised_week, closed_week, count in rows:
        new[max(raised_week, -1) + 1] += count
        if closed_week is not None and closed_week < n:
            done[max(closed_week, -1) + 1] += count
    out, open_now = [], new[0] - done[0]
    for k, week in enumerate(weeks, start=1):
        open_now += new[k] - done[k]
        out.append(Week(week, open_now, done[k], new[k]))
    return out


def cached_weekly_trend(user, project=None, year: int | None = None, clock=None) -> list[Week]:
    """weekly_trend, reused until the homework data changes (or the day does)."""
    clock = clock or Clock.at()
    year = year or clock.fiscal_year
    key = ("trend", user.id, project.id if project else None, year, clock.today)
    return CACHE.get_or_compute("homework", key, lambda: weekly_trend(user, project, year, clock))
