"""One search over meetings, goals, results, homework, break/preview items and tickets.

The words are matched by `textsearch` (the same rules as the ticket search: Japanese
substrings of any length, English case-insensitive; every word must occur). Every kind is
restricted by `permissions.visible` on its project column, the chosen project or unit, and
the date (the meeting's day for minutes, the day a ticket was raised), Japan time.

Each text is searched once: one query finds the matching items of every kind, one the
matching tickets (homework or not), one the meetings — each returning only ids and an order
key; the counts per kind come from those, and only the hits shown are then loaded.
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
from tickets import queries as ticket_queries
from tickets.models import Ticket

ITEM_SOURCES = [
    textsearch.Source(
        key=Item.id,
        columns=(Item.text,),
        fts_table="fts_items",
        rowid=Item.id,
        bigram_table="fts_items_bigrams",
    )
]
MEETING_SOURCES = [
    textsearch.Source(
        key=Meeting.id,
        columns=(Meeting.title, Meeting.place),
        fts_table="fts_meetings",
        rowid=Meeting.id,
        bigram_table="fts_meetings_bigrams",
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
GROUP_OF_ITEM = {"result": "result", "goal": "goal", "break": "sheet3", "preview": "sheet3"}
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


def _newest_first(rows) -> list[int]:
    """Ids of (id, order key) rows, newest first; the key is compared raw (ISO text on
    SQLite), so no date is parsed per row."""
    return [row[0] for row in sorted(rows, key=lambda row: (row[1], row[0]), reverse=True)]


def _item_ids(user, f: SearchFilters) -> dict[str, list[int]]:
    """Matching goals, results, break and preview items by group, newest meeting first."""
    rows = db.session.execute(
        sa.select(Item.id, sa.type_coerce(Meeting.starts_at, sa.String), Item.kind)
        .join(Meeting, Meeting.id == Item.meeting_id)
        .where(
            Item.kind.in_(list(GROUP_OF_ITEM)),
            Item.deleted_at.is_(None),
            permissions.visible(user, Meeting.unit_id),
            queries.in_scope(Meeting.unit_id, f.project),
            *f.day_range(Meeting.starts_at),
            textsearch.matches_all(f.q, Item.id, ITEM_SOURCES),
        )
    ).all()
    out = {"result": [], "goal": [], "sheet3": []}
    for group in out:
        out[group] = _newest_first(r for r in rows if GROUP_OF_ITEM[r[2]] == group)
    return out


def _ticket_ids(user, f: SearchFilters) -> tuple[list[int], list[int]]:
    """Matching tickets, newest change first: (homework tickets, other tickets)."""
    rows = db.session.execute(
        sa.select(
            Ticket.id,
            sa.type_coerce(Ticket.updated_at, sa.String),
            queries.is_homework().label("homework"),
        ).where(
            permissions.visible(user, Ticket.project_id),
            queries.in_scope(Ticket.project_id, f.project),
            *f.day_range(Ticket.created_at),
            ticket_queries.keyword_clause(f.q),
        )
    ).all()
    return (
        _newest_first(r for r in rows if r[2]),
        _newest_first(r for r in rows if not r[2]),
    )


def _meeting_ids(user, f: SearchFilters) -> list[int]:
    rows = db.session.execute(
        sa.select(Meeting.id, sa.type_coerce(Meeting.starts_at, sa.String)).where(
            permissions.visible(user, Meeting.unit_id),
            queries.in_scope(Meeting.unit_id, f.project),
            *f.day_range(Meeting.starts_at),
            textsearch.matches_all(f.q, Meeting.id, MEETING_SOURCES),
        )
    ).all()
    return _newest_first(rows)


def _load(user, kind: str, ids: list[int]) -> list:
    """The hits to show, in the order of `ids`, with what their lines show loaded."""
    if not ids:
        return []
    if kind == "meeting":
        stmt = sa.select(Meeting).where(Meeting.id.in_(ids))
        loads = (joinedload(Meeting.unit).joinedload(Project.parent),)
    elif kind == "ticket":
        stmt = sa.select(Ticket).where(Ticket.id.in_(ids))
        loads = (
            joinedload(Ticket.project).joinedload(Project.parent),
            joinedload(Ticket.status),
            joinedload(Ticket.tracker),
            joinedload(Ticket.assignee),
        )
    elif kind == "homework":  # ids are ticket ids: show each ticket's homework item
        rows = db.session.scalars(
            sa.select(Item)
            .join(Meeting, Meeting.id == Item.meeting_id)
            .where(
                Item.ticket_id.in_(ids),
                Item.kind == "homework",
                Item.deleted_at.is_(None),
                permissions.visible(user, Meeting.unit_id),
            )
            .order_by(Item.id)
            .options(
                joinedload(Item.meeting).joinedload(Meeting.unit).joinedload(Project.parent),
                joinedload(Item.ticket).joinedload(Ticket.status),
                joinedload(Item.ticket).joinedload(Ticket.assignee),
            )
        ).unique()
        by_ticket = {}
        for item in rows:
            by_ticket.setdefault(item.ticket_id, item)
        return [by_ticket[i] for i in ids if i in by_ticket]
    else:
        stmt = sa.select(Item).where(Item.id.in_(ids))
        loads = (
            joinedload(Item.meeting).joinedload(Meeting.unit).joinedload(Project.parent),
            joinedload(Item.parent_item),
        )
    found = {obj.id: obj for obj in db.session.scalars(stmt.options(*loads)).unique()}
    return [found[i] for i in ids if i in found]


def search(user, f: SearchFilters, kind: str | None = None, page: int = 1) -> list[Group]:
    """The groups of hits: every kind (the first GROUP_SIZE of each), or one kind, paged."""
    if not textsearch.words(f.q):
        return []
    wanted = [kind] if kind in KINDS else list(KINDS)
    ids: dict[str, list[int]] = {}
    if "meeting" in wanted:
        ids["meeting"] = _meeting_ids(user, f)
    if {"result", "goal", "sheet3"} & set(wanted):
        ids.update(_item_ids(user, f))
    if {"homework", "ticket"} & set(wanted):
        ids["homework"], ids["ticket"] = _ticket_ids(user, f)
    if kind in KINDS:
        start = (max(page, 1) - 1) * PAGE_SIZE
        return [
            Group(kind, len(ids[kind]), _load(user, kind, ids[kind][start : start + PAGE_SIZE]))
        ]
    return [
        Group(name, len(ids[name]), _load(user, name, ids[name][:GROUP_SIZE])) for name in KINDS
    ]
