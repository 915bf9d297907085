"""Homework numbers for the dashboard and its lists: grouped aggregates, never a query per row.

Homework is a ticket that a live homework item of the minutes points at; who holds it is the
ticket's assignee (or guest name), the ball is with the side its status names (city or
vendor). Every query is restricted by `permissions.visible(user, Ticket.project_id)`.
"Today", "this week" and "this month" are Japan time; stored datetimes are naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

import permissions
from accounts.models import Organisation, User
from extensions import db
from minutes.models import Item
from projects.models import Project
from tickets.models import Status, Ticket
from timeutil import JST, fiscal_year_bounds, fiscal_year_of, to_local, utcnow, week_start

STATES = ("open", "overdue", "week", "done_month", "all")
PAGE_SIZE = 50


def utc_of_local_midnight(day: date) -> datetime:
    """The naive UTC moment at which `day` begins in Japan."""
    return datetime.combine(day, time(), tzinfo=JST).astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Clock:
    """Today, this week and this month in Japan, for one moment (tests pass their own)."""

    now: datetime  # naive UTC

    @classmethod
    def at(cls, now: datetime | None = None) -> Clock:
        return cls(now or utcnow())

    @property
    def today(self) -> date:
        return to_local(self.now).date()

    @property
    def week(self) -> tuple[date, date]:
        start = week_start(self.today)
        return start, start + timedelta(days=6)

    @property
    def month_start(self) -> date:
        return self.today.replace(day=1)

    @property
    def next_month_start(self) -> date:
        first = self.month_start
        return (
            first.replace(year=first.year + 1, month=1)
            if first.month == 12
            else first.replace(month=first.month + 1)
        )

    @property
    def fiscal_year(self) -> int:
        return fiscal_year_of(self.today)


def in_scope(column, project: Project | None):
    """`column` (a project id) lies in `project`: the unit itself, or a fiscal year and its units."""
    if project is None:
        return sa.true()
    if project.is_unit:
        return column == project.id
    return column.in_(
        sa.select(Project.id).where(
            sa.or_(Project.id == project.id, Project.parent_id == project.id)
        )
    )


def is_homework():
    """The ticket backs a live homework item (served by ix_items_ticket_id)."""
    return (
        sa.exists()
        .where(Item.ticket_id == Ticket.id, Item.kind == "homework", Item.deleted_at.is_(None))
        .correlate(Ticket)
    )


def homework_where(user, project: Project | None = None) -> list:
    return [
        permissions.visible(user, Ticket.project_id),
        in_scope(Ticket.project_id, project),
        is_homework(),
    ]


def _state_clause(state: str, clock: Clock):
    week_from, week_to = clock.week
    is_open = Status.is_closed.is_(False)
    return {
        "open": is_open,
        "overdue": sa.and_(is_open, Ticket.due_date < clock.today),
        # Due from today to Sunday: not yet overdue, so the numbers do not overlap.
        "week": sa.and_(
            is_open, Ticket.due_date >= max(clock.today, week_from), Ticket.due_date <= week_to
        ),
        "done_month": sa.and_(
            Status.is_closed.is_(True),
            Ticket.closed_at >= utc_of_local_midnight(clock.month_start),
            Ticket.closed_at < utc_of_local_midnight(clock.next_month_start),
        ),
        "all": sa.true(),
    }[state]


def _count(clause):
    return sa.func.coalesce(sa.func.sum(sa.case((clause, 1), else_=0)), 0)


def headline(user, project: Project | None = None, clock: Clock | None = None) -> dict[str, int]:
    """{open, overdue, week, done_month} in one aggregate query."""
    clock = clock or Clock.at()
    states = ("open", "overdue", "week", "done_month")
    row = db.session.execute(
        sa.select(*(_count(_state_clause(s, clock)).label(s) for s in states))
        .select_from(Ticket)
        .join(Status, Status.id == Ticket.status_id)
        .where(*homework_where(user, project))
    ).one()
    return {s: int(getattr(row, s)) for s in states}


def _grouped(user, project, clock, *keys):
    """Open / overdue / due-this-week counts of open homework grouped by `keys`."""
    return db.session.execute(
        sa.select(
            *keys,
            sa.func.count().label("open"),
            _count(_state_clause("overdue", clock)).label("overdue"),
            _count(_state_clause("week", clock)).label("week"),
        )
        .select_from(Ticket)
        .join(Status, Status.id == Ticket.status_id)
        .outerjoin(User, User.id == Ticket.assignee_id)
        .where(*homework_where(user, project), Status.is_closed.is_(False))
        .group_by(*keys)
    ).all()


@dataclass
class Row:
    """One line of a breakdown: what it is about, its counts and the list filters behind it."""

    label: str
    open: int
    overdue: int
    week: int
    filters: dict
    subject: object = None


def _sorted(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: (-r.overdue, -r.open, r.label))


def by_unit(user, project=None, clock=None) -> list[Row]:
    clock = clock or Clock.at()
    rows = _grouped(user, project, clock, Ticket.project_id)
    units = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Project)
            .where(Project.id.in_([r.project_id for r in rows]))
            .options(joinedload(Project.parent))
        )
    }
    out = []
    for r in rows:
        unit = units[r.project_id]
        label = f"{unit.parent.name} › {unit.name}" if unit.parent else unit.name
        out.append(Row(label, r.open, r.overdue, r.week, {"project": unit.id}, unit))
    return _sorted(out)


def by_person(user, project=None, clock=None) -> list[Row]:
    clock = clock or Clock.at()
    rows = _grouped(user, project, clock, Ticket.assignee_id, Ticket.guest_name)
    users = {
        u.id: u
        for u in db.session.scalars(
            sa.select(User)
            .where(User.id.in_([r.assignee_id for r in rows if r.assignee_id]))
            .options(joinedload(User.organisation))
        )
    }
    out = []
    for r in rows:
        if r.assignee_id is not None:
            person = users[r.assignee_id]
            out.append(Row(person.name, r.open, r.overdue, r.week, {"assignee": person.id}, person))
        elif r.guest_name:
            out.append(Row(r.guest_name, r.open, r.overdue, r.week, {"guest": r.guest_name}))
        else:
            out.append(Row("", r.open, r.overdue, r.week, {"assignee": "none"}))
    return _sorted(out)


def by_side(user, project=None, clock=None) -> list[Row]:
    """Who holds the ball, from the status of each open homework ticket."""
    clock = clock or Clock.at()
    rows = {r.owner_side: r for r in _grouped(user, project, clock, Status.owner_side)}
    return [
        Row(side, rows[side].open, rows[side].overdue, rows[side].week, {"side": side})
        for side in ("city", "vendor")
        if side in rows
    ]


def by_organisation(user, project=None, clock=None) -> list[Row]:
    """The assignee's organisation (guests and unassigned homework: one row without a name)."""
    clock = clock or Clock.at()
    rows = _grouped(user, project, clock, User.organisation_id)
    orgs = {
        o.id: o
        for o in db.session.scalars(
            sa.select(Organisation).where(
                Organisation.id.in_([r.organisation_id for r in rows if r.organisation_id])
            )
        )
    }
    out = []
    for r in rows:
        org = orgs.get(r.organisation_id)
        filters = {"org": org.id} if org else {"org": "none"}
        out.append(Row(org.name if org else "", r.open, r.overdue, r.week, filters, org))
    return _sorted(out)


# --- lists -----------------------------------------------------------------------------------


@dataclass
class HomeworkFilters:
    state: str = "open"
    assignee: int | str | None = None  # a user id, or "none" (a guest or nobody)
    guest: str | None = None
    side: str | None = None
    org: int | str | None = None  # an organisation id, or "none"

    @classmethod
    def from_args(cls, args) -> HomeworkFilters:
        def number_or_none(name):
            value = (args.get(name) or "").strip()
            if value == "none":
                return "none"
            return int(value) if value.isdigit() else None

        state = args.get("state", "open")
        side = args.get("side")
        return cls(
            state=state if state in STATES else "open",
            assignee=number_or_none("assignee"),
            guest=(args.get("guest") or "").strip() or None,
            side=side if side in ("city", "vendor") else None,
            org=number_or_none("org"),
        )

    def clauses(self, clock: Clock) -> list:
        out = [_state_clause(self.state, clock)]
        if self.assignee == "none":
            out.append(Ticket.assignee_id.is_(None))
        elif self.assignee is not None:
            out.append(Ticket.assignee_id == self.assignee)
        if self.guest:
            out.append(Ticket.guest_name == self.guest)
        if self.side:
            out.append(Status.owner_side == self.side)
        if self.org == "none":
            out.append(
                sa.or_(
                    Ticket.assignee_id.is_(None),
                    Ticket.assignee_id.in_(
                        sa.select(User.id).where(User.organisation_id.is_(None))
                    ),
                )
            )
        elif self.org is not None:
            out.append(
                Ticket.assignee_id.in_(sa.select(User.id).where(User.organisation_id == self.org))
            )
        return out

    def args(self) -> dict:
        """The query-string arguments that select this list again."""
        out = {"state": self.state}
        for name in ("assignee", "guest", "side", "org"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass
class HomeworkLine:
    ticket: Ticket
    item: Item | None  # the first homework item that points at the ticket (its meeting)


def _with_items(tickets: list[Ticket]) -> list[HomeworkLine]:
    """Attach each ticket's first homework item and meeting: one query for the whole page."""
    items = {}
    if tickets:
        for item in db.session.scalars(
            sa.select(Item)
            .where(
                Item.ticket_id.in_([t.id for t in tickets]),
                Item.kind == "homework",
                Item.deleted_at.is_(None),
            )
            .order_by(Item.id.desc())
            .options(joinedload(Item.meeting))
        ):
            items[item.ticket_id] = item  # ordered newest first: the first one wins
    return [HomeworkLine(t, items.get(t.id)) for t in tickets]


def _ticket_loads():
    return (
        joinedload(Ticket.status),
        joinedload(Ticket.assignee).joinedload(User.organisation),
        joinedload(Ticket.project).joinedload(Project.parent),
    )


def homework_list(
    user, project=None, filters: HomeworkFilters | None = None, page: int = 1, clock=None
) -> tuple[list[HomeworkLine], int]:
    """One page of homework, most urgent first, and the total number."""
    clock = clock or Clock.at()
    filters = filters or HomeworkFilters()
    where = [*homework_where(user, project), *filters.clauses(clock)]
    total = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Ticket)
        .join(Status, Status.id == Ticket.status_id)
        .where(*where)
    )
    order = (
        [Ticket.closed_at.desc(), Ticket.id.desc()]
        if filters.state == "done_month"
        else [Ticket.due_date.is_(None), Ticket.due_date, Ticket.id]
    )
    tickets = list(
        db.session.scalars(
            sa.select(Ticket)
            .join(Status, Status.id == Ticket.status_id)
            .where(*where)
            .order_by(*order)
            .offset((max(page, 1) - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
            .options(*_ticket_loads())
        ).unique()
    )
    return _with_items(tickets), total


def oldest_open(user, project=None, limit: int = 10) -> list[HomeworkLine]:
    tickets = list(
        db.session.scalars(
            sa.select(Ticket)
            .join(Status, Status.id == Ticket.status_id)
            .where(*homework_where(user, project), Status.is_closed.is_(False))
            .order_by(Ticket.created_at, Ticket.id)
            .limit(limit)
            .options(*_ticket_loads())
        ).unique()
    )
    return _with_items(tickets)


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


def _histogram(column, edges: list[datetime], where: list) -> list[int]:
    """How many rows have `column` in each interval: bucket 0 is before edges[0], bucket k is
    [edges[k-1], edges[k]). One GROUP BY over a CASE, the same SQL on SQLite and PostgreSQL."""
    bucket = sa.case(*((column < edge, i) for i, edge in enumerate(edges)), else_=len(edges))
    counts = [0] * (len(edges) + 1)
    rows = db.session.execute(
        sa.select(bucket.label("bucket"), sa.func.count())
        .select_from(Ticket)
        .where(*where, column.is_not(None), column < edges[-1])
        .group_by(bucket)
    )
    for index, n in rows:
        counts[index] = n
    return counts[: len(edges)]


def weekly_trend(user, project=None, year: int | None = None, clock=None) -> list[Week]:
    """Open vs. closed homework per week of the fiscal year (Japan-time weeks, from April)."""
    clock = clock or Clock.at()
    year = year or clock.fiscal_year
    weeks = fiscal_weeks(year, clock)
    if not weeks:
        return []
    first, _last = fiscal_year_bounds(year)
    # edges[0] = the start of the fiscal year; edges[k] = the end of week k-1.
    starts = [first, *(w + timedelta(days=7) for w in weeks)]
    edges = [utc_of_local_midnight(d) for d in starts]
    where = homework_where(user, project)
    created = _histogram(Ticket.created_at, edges, where)
    closed = _histogram(Ticket.closed_at, edges, where)
    out, raised, done = [], created[0], closed[0]
    for k, monday in enumerate(weeks, start=1):
        raised += created[k]
        done += closed[k]
        out.append(Week(monday, raised - done, closed[k], created[k]))
    return out
