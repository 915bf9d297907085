"""One search over meetings, goals, results, homework, break/preview items and tickets.

The words are matched by `textsearch` (the same rules as the ticket search: Japanese
substrings of any length, English case-insensitive; every word must occur). Every kind is
restricted by `permissions.visible` on its project column, the chosen project or unit, and
the date (the meeting's day for minutes, the day a ticket was raised), Japan time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

import permissions
import textsearch
from extensions import db
from minutes.models import Item, Meeting
from projects.models import Project
from reports import queries
from reports.decisions import ITEM_SOURCES
from tickets import queries as ticket_queries
from tickets.models import Ticket

MEETING_SOURCES = [
    textsearch.Source(
        key=Meeting.id,
        columns=(Meeting.title, Meeting.place),
        fts_table="fts_meetings",
        rowid=Meeting.id,
    )
]

# kind → heading; the order is the order of the groups on the page.
KINDS = {
    "meeting": _l("Meetings"),
    "result": _l("Results"),
    "goal": _l("Goals"),
    "homework": _l("Homework"),
    "sheet3": _l("Break and preview"),
    "ticket": _l("Tickets"),
}
ITEM_KINDS = {"result": ("result",), "goal": ("goal",), "sheet3": ("break", "preview")}
GROUP_SIZE = 10
PAGE_SIZE = 50


@dataclass
class SearchFilters:
    q: str = ""
    project: Project | None = None
    date_from: date | None = None
    date_to: date | None = None

    def day_range(self, column) -> list:
        out = []
        if self.date_from:
            out.append(column >= queries.utc_of_local_midnight(self.date_from))
        if self.date_to:
            out.append(column < queries.utc_of_local_midnight(self.date_to + timedelta(days=1)))
        return out

    def args(self) -> dict:
        out = {"q": self.q}
        if self.project is not None:
            out["project"] = self.project.id
        if self.date_from:
            out["date_from"] = self.date_from.isoformat()
        if self.date_to:
            out["date_to"] = self.date_to.isoformat()
        return out


@dataclass
class Group:
    kind: str
    total: int
    hits: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return str(KINDS[self.kind])


def _meetings(user, f: SearchFilters) -> tuple:
    stmt = sa.select(Meeting).where(
        permissions.visible(user, Meeting.unit_id),
        queries.in_scope(Meeting.unit_id, f.project),
        *f.day_range(Meeting.starts_at),
        textsearch.matches_all(f.q, Meeting.id, MEETING_SOURCES),
    )
    order = [Meeting.starts_at.desc(), Meeting.id.desc()]
    return stmt, order, (joinedload(Meeting.unit).joinedload(Project.parent),)


def _items(user, f: SearchFilters, kinds) -> tuple:
    stmt = (
        sa.select(Item)
        .join(Meeting, Meeting.id == Item.meeting_id)
        .where(
            Item.kind.in_(kinds),
            Item.deleted_at.is_(None),
            permissions.visible(user, Meeting.unit_id),
            queries.in_scope(Meeting.unit_id, f.project),
            *f.day_range(Meeting.starts_at),
            textsearch.matches_all(f.q, Item.id, ITEM_SOURCES),
        )
    )
    order = [Meeting.starts_at.desc(), Item.position, Item.id]
    loads = (
        joinedload(Item.meeting).joinedload(Meeting.unit).joinedload(Project.parent),
        joinedload(Item.parent_item),
        joinedload(Item.superseded_by),
    )
    return stmt, order, loads


def _homework(user, f: SearchFilters) -> tuple:
    """Homework's who/what/by-when live on its ticket: the ticket's words find the item."""
    stmt = (
        sa.select(Item)
        .join(Meeting, Meeting.id == Item.meeting_id)
        .join(Ticket, Ticket.id == Item.ticket_id)
        .where(
            Item.kind == "homework",
            Item.deleted_at.is_(None),
            permissions.visible(user, Meeting.unit_id),
            permissions.visible(user, Ticket.project_id),
            queries.in_scope(Meeting.unit_id, f.project),
            *f.day_range(Meeting.starts_at),
            ticket_queries.keyword_clause(f.q),
        )
    )
    order = [Meeting.starts_at.desc(), Item.position, Item.id]
    loads = (
        joinedload(Item.meeting).joinedload(Meeting.unit).joinedload(Project.parent),
        joinedload(Item.ticket).joinedload(Ticket.status),
        joinedload(Item.ticket).joinedload(Ticket.assignee),
    )
    return stmt, order, loads


def _tickets(user, f: SearchFilters) -> tuple:
    """Tickets other than homework (homework is its own group, with its meeting)."""
    stmt = sa.select(Ticket).where(
        permissions.visible(user, Ticket.project_id),
        queries.in_scope(Ticket.project_id, f.project),
        *f.day_range(Ticket.created_at),
        ticket_queries.keyword_clause(f.q),
        ~queries.is_homework(),
    )
    order = [Ticket.updated_at.desc(), Ticket.id.desc()]
    loads = (
        joinedload(Ticket.project).joinedload(Project.parent),
        joinedload(Ticket.status),
        joinedload(Ticket.tracker),
        joinedload(Ticket.assignee),
    )
    return stmt, order, loads


def _query(user, kind: str, f: SearchFilters):
    if kind == "meeting":
        return _meetings(user, f)
    if kind == "homework":
        return _homework(user, f)
    if kind == "ticket":
        return _tickets(user, f)
    return _items(user, f, ITEM_KINDS[kind])


def search(user, f: SearchFilters, kind: str | None = None, page: int = 1) -> list[Group]:
    """The groups of hits: every kind (the first GROUP_SIZE of each), or one kind, paged."""
    if not textsearch.words(f.q):
        return []
    groups = []
    for name in [kind] if kind in KINDS else list(KINDS):
        stmt, order, loads = _query(user, name, f)
        total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
        group = Group(name, total)
        if total:
            size = PAGE_SIZE if kind else GROUP_SIZE
            offset = (max(page, 1) - 1) * size if kind else 0
            group.hits = list(
                db.session.scalars(
                    stmt.order_by(*order).offset(offset).limit(size).options(*loads)
                ).unique()
            )
        groups.append(group)
    return groups
