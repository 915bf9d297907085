"""Homework numbers for the dashboard and its lists: grouped aggregates, never a query per row.

Homework is a ticket that a live homework item of the minutes points at; who holds it is the
ticket's assignee (or guest name), the ball is with the side its status names (city or
vendor). Every query is restricted by `permissions.visible_ticket(user, Ticket)`.
"Today", "this week" and "this month" are Japan time; stored datetimes are naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload

import permissions
from accounts.models import Organisation, User
from core import generations
from core.extensions import db
from core.timeutil import (
    fiscal_year_of,
    local_to_utc,
    to_local,
    utcnow,
    week_start,
)
from minutes.models import Item, Meeting
from projects.models import Project
from tickets.models import Status, Ticket

# The dashboard's numbers per (user, scope, day, …), until the homework data changes. The
# user's id is enough: who sees which project is homework data (memberships) as well.
CACHE = generations.Cache(size=64)

STATES = ("open", "overdue", "week", "done_month", "all")
PAGE_SIZE = 50


@dataclass(frozen=True)
class Clock:
    """Today, this week and this month in Japan, for one moment (tests pass their own)."""

    now: datetime  # naive UTC

    @classmethod
    def at(cls, now: datetime | None = None) -> Clock:
        return cls(now or utcnow())

    @cached_property
    def today(self) -> date:
        return to_local(self.now).date()

    @cached_property
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
    """The ticket backs a live homework item (answered by the index ix_items_ticket_kind
    alone: the sub-select asks for items.id, which the index holds, not for *)."""
    return (
        sa.select(Item.id)
        .where(Item.ticket_id == Ticket.id, Item.kind == "homework", Item.deleted_at.is_(None))
        .correlate(Ticket)
        .exists()
    )


def homework_where(user, project: Project | None = None) -> list:
    return [
        permissions.visible_ticket(user, Ticket),
        in_scope(Ticket.project_id, project),
        is_homework(),
    ]


def state_clause(state: str, clock: Clock):
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
            Ticket.closed_at >= local_to_utc(clock.month_start),
            Ticket.closed_at < local_to_utc(clock.next_month_start),
        ),
        "all": sa.true(),
    }[state]


@dataclass(frozen=True)
class Named:
    """A unit, person or organisation in the rows of a breakdown: plain values, so that the
    numbers can be cached across requests (no ORM object outlives its session)."""

    id: int
    name: str
    name_en: str | None = None
    parent: Named | None = None
    organisation: Named | None = None


class OpenHomework:
    """The open homework a user may see, read once and counted every way at once.

    One indexed query (open statuses, visibility, the covering items index for "is
    homework") returns a few columns of each open homework ticket; one pass over those rows
    counts the headline numbers and every breakdown (unit, person, side, organisation), so
    the tickets are read once instead of once per breakdown. The result holds plain values
    only: `cached()` keeps it per (user, scope, day) until the homework data changes.
    """

    def __init__(self, user, project: Project | None = None, clock: Clock | None = None):
        clock = clock or Clock.at()
        sides, open_ids = {}, []
        for status_id, side, closed in db.session.execute(
            sa.select(Status.id, Status.owner_side, Status.is_closed)
        ):
            sides[status_id] = side
            if not closed:
                open_ids.append(status_id)
        today, sunday = clock.today, clock.week[1]
        flag = lambda clause: sa.case((clause, 1), else_=0)  # noqa: E731
        # Plain values only (no date parsing per row): the flags are computed by the database,
        # created_at only orders the oldest, so its raw (ISO text on SQLite) value will do.
        rows = db.session.execute(
            sa.select(
                Ticket.id,
                Ticket.project_id,
                Ticket.assignee_id,
                Ticket.guest_name,
                Ticket.status_id,
                flag(Ticket.due_date < today).label("late"),
                flag(sa.and_(Ticket.due_date >= today, Ticket.due_date <= sunday)).label("soon"),
                sa.type_coerce(Ticket.created_at, sa.String).label("created"),
            ).where(Ticket.status_id.in_(open_ids), *homework_where(user, project))
        ).all()  # unpacked by position: named access on 10,000 rows would cost more than the SQL
        counts = {"unit": {}, "person": {}, "side": {}, "org": {}}
        people = _people({row[2] for row in rows if row[2]})
        by_unit, by_person, by_side, by_org = counts.values()
        for _id, unit_id, assignee_id, guest, status_id, late, soon, _created in rows:
            person = people.get(assignee_id)
            for table, key in (
                (by_unit, unit_id),
                (by_person, (assignee_id, None if assignee_id else guest)),
                (by_side, sides[status_id]),
                (by_org, person.organisation.id if person and person.organisation else None),
            ):
                tally = table.get(key) or table.setdefault(key, [0, 0, 0])
                tally[0] += 1
                tally[1] += late
                tally[2] += soon
        self.counts = {
            "open": len(rows),
            "overdue": sum(row[5] for row in rows),
            "week": sum(row[6] for row in rows),  # due this week: from today to Sunday
            "done_month": done_this_month(user, project, clock),
        }
        self.oldest_ids = [row[0] for row in sorted(rows, key=lambda row: (row[7], row[0]))[:10]]
        self.rows = {
            "unit": _unit_rows(by_unit),
            "person": _person_rows(by_person, people),
            "side": [
                Row(side, *by_side[side], {"side": side})
                for side in ("city", "vendor")
                if side in by_side
            ],
            "org": _org_rows(by_org, people),
        }

    @classmethod
    def cached(cls, user, project: Project | None = None, clock: Clock | None = None):
        """The same, reused until the homework data changes (or the day does)."""
        clock = clock or Clock.at()
        key = ("open", user.id, project.id if project else None, clock.today)
        return CACHE.get_or_compute("homework", key, lambda: cls(user, project, clock))

    def headline(self) -> dict[str, int]:
        return dict(self.counts)

    def by_unit(self) -> list[Row]:
        return self.rows["unit"]

    def by_person(self) -> list[Row]:
        return self.rows["person"]

    def by_side(self) -> list[Row]:
        """Who holds the ball, from the status of each open homework ticket."""
        return self.rows["side"]

    def by_organisation(self) -> list[Row]:
        """The assignee's organisation (guests and unassigned homework: one row without a name)."""
        return self.rows["org"]

    def oldest(self, user) -> list[HomeworkLine]:
        if not self.oldest_ids:
            return []
        tickets = {
            t.id: t
            for t in db.session.scalars(
                sa.select(Ticket).where(Ticket.id.in_(self.oldest_ids)).options(*ticket_loads())
            ).unique()
        }
        return with_items(user, [tickets[i] for i in self.oldest_ids if i in tickets])


def _people(ids: set[int]) -> dict[int, Named]:
    """The assignees with their organisations, as plain values (one query)."""
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(User.id, User.name, Organisation.id, Organisation.name, Organisation.name_en)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(User.id.in_(ids))
    )
    return {
        uid: Named(uid, name, organisation=Named(oid, oname, oname_en) if oid else None)
        for uid, name, oid, oname, oname_en in rows
    }


def _unit_rows(counts: dict) -> list[Row]:
    parent = sa.orm.aliased(Project)
    units = {
        uid: Named(uid, name, name_en, Named(pid, pname, pname_en) if pid else None)
        for uid, name, name_en, pid, pname, pname_en in db.session.execute(
            sa.select(
                Project.id, Project.name, Project.name_en, parent.id, parent.name, parent.name_en
            )
            .outerjoin(parent, parent.id == Project.parent_id)
            .where(Project.id.in_(list(counts)))
        )
    }
    rows = []
    for unit_id, (open_, overdue, week) in counts.items():
        unit = units[unit_id]
        label = f"{unit.parent.name} › {unit.name}" if unit.parent else unit.name
        rows.append(Row(label, open_, overdue, week, {"project": unit.id}, unit))
    return _sorted(rows)


def _person_rows(counts: dict, people: dict[int, Named]) -> list[Row]:
    rows = []
    for (assignee_id, guest), (open_, overdue, week) in counts.items():
        if assignee_id is not None:
            person = people[assignee_id]
            rows.append(Row(person.name, open_, overdue, week, {"assignee": person.id}, person))
        elif guest:
            rows.append(Row(guest, open_, overdue, week, {"guest": guest}))
        else:
            rows.append(Row("", open_, overdue, week, {"assignee": "none"}))
    return _sorted(rows)


def _org_rows(counts: dict, people: dict[int, Named]) -> list[Row]:
    orgs = {p.organisation.id: p.organisation for p in people.values() if p.organisation}
    rows = []
    for org_id, (open_, overdue, week) in counts.items():
        org = orgs.get(org_id)
        filters = {"org": org.id} if org else {"org": "none"}
        rows.append(Row(org.name if org else "", open_, overdue, week, filters, org))
    return _sorted(rows)


def done_this_month(user, project=None, clock: Clock | None = None) -> int:
    clock = clock or Clock.at()
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Ticket)
        .join(Status, Status.id == Ticket.status_id)
        .where(state_clause("done_month", clock), *homework_where(user, project))
    )


def headline(user, project: Project | None = None, clock: Clock | None = None) -> dict[str, int]:
    """{open, overdue, week, done_month}."""
    return OpenHomework(user, project, clock).headline()


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
    return OpenHomework(user, project, clock).by_unit()


def by_person(user, project=None, clock=None) -> list[Row]:
    return OpenHomework(user, project, clock).by_person()


def by_side(user, project=None, clock=None) -> list[Row]:
    return OpenHomework(user, project, clock).by_side()


def by_organisation(user, project=None, clock=None) -> list[Row]:
    return OpenHomework(user, project, clock).by_organisation()


# --- homework lines --------------------------------------------------------------------------


@dataclass
class HomeworkLine:
    ticket: Ticket
    item: Item | None  # the first homework item that points at the ticket (its meeting)


def with_items(user, tickets: list[Ticket]) -> list[HomeworkLine]:
    """Attach each ticket's first homework item and its meeting (one query for the page);
    a meeting the user may not see (a ticket moved to another unit) is left out."""
    items = {}
    if tickets:
        for item in db.session.scalars(
            sa.select(Item)
            .join(Meeting, Meeting.id == Item.meeting_id)
            .where(
                Item.ticket_id.in_([t.id for t in tickets]),
                Item.kind == "homework",
                Item.deleted_at.is_(None),
                permissions.visible(user, Meeting.unit_id),
            )
            .order_by(Item.id)
            .options(contains_eager(Item.meeting))
        ):
            items.setdefault(item.ticket_id, item)
    return [HomeworkLine(t, items.get(t.id)) for t in tickets]


def ticket_loads():
    return (
        joinedload(Ticket.status),
        joinedload(Ticket.assignee).joinedload(User.organisation),
        joinedload(Ticket.project).joinedload(Project.parent),
    )
