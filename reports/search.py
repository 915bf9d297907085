"""One search over meetings, goals, results, homework, break/preview items and tickets.

The words are matched by `textsearch` (the same rules as the ticket search: Japanese
substrings of any length, English case-insensitive; every word must occur). Every kind is
restricted by `permissions.visible` on its project column, the chosen project or unit, and
the date (the meeting's day for minutes, the day a ticket was raised), Japan time.

Each text is searched once: one query finds the matching items of every kind, one the
matching tickets (homework or not), one the meetings — each counting its hits per kind and
picking the newest of each kind in SQL, so only the ids shown come back; only those hits are
then loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

import permissions
from core import textsearch, timeutil
from core.extensions import db
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
            out.append(column >= timeutil.local_to_utc(self.date_from))
        if self.date_to:
            out.append(column < timeutil.local_to_utc(self.date_to + timedelta(days=1)))
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


def _ranked(
    stmt: sa.Select, window: tuple[int, int], groups: tuple[str, ...]
) -> dict[str, tuple[int, list[int]]]:
    """{group: (total, ids)} from `stmt`'s (id, group, order key) rows: per group, how many
    and the ids ranked `window` (from, to: 0-based, end excluded) newest first (order key,
    then id, descending). Counted and ranked in SQL over the matches computed once (a CTE
    used several times is materialized), so only the shown ids reach Python (a
    two-character word matches tens of thousands of tickets)."""
    rows = stmt.cte("matches")
    key, group, at = rows.c
    first, last = window
    parts = [
        sa.select(
            sa.cast(sa.null(), key.type), group, sa.func.count(), sa.cast(sa.null(), at.type)
        ).group_by(group)
    ]
    for name in groups:
        top = (
            sa.select(key, group, sa.cast(sa.null(), sa.Integer), at)
            .where(group == name)
            .order_by(at.desc(), key.desc())
            .offset(first)
            .limit(last - first)
            .subquery()
        )
        parts.append(sa.select(*top.c))
    out = {name: (0, []) for name in groups}
    shown = []
    for row_id, name, total, when in db.session.execute(sa.union_all(*parts)).all():
        if row_id is None:
            out[name] = (total, out[name][1])
        else:
            shown.append((when, row_id, name))
    for _when, row_id, name in sorted(shown, reverse=True):
        out[name][1].append(row_id)
    return out


def _item_ids(user, f: SearchFilters, window) -> dict[str, tuple[int, list[int]]]:
    """Matching goals, results, break and preview items by group, newest meeting first."""
    group = sa.case(
        *((Item.kind == kind, name) for kind, name in GROUP_OF_ITEM.items()), else_=Item.kind
    )
    return _ranked(
        sa.select(Item.id, group, Meeting.starts_at)
        .join(Meeting, Meeting.id == Item.meeting_id)
        .where(
            Item.kind.in_(list(GROUP_OF_ITEM)),
            Item.deleted_at.is_(None),
            permissions.visible(user, Meeting.unit_id),
            queries.in_scope(Meeting.unit_id, f.project),
            *f.day_range(Meeting.starts_at),
            textsearch.matches_all(f.q, Item.id, ITEM_SOURCES),
        ),
        window,
        ("result", "goal", "sheet3"),
    )


def ticket_matches(user, f: SearchFilters) -> sa.Select:
    """(id, "homework" or "ticket", order key) of every matching ticket. Without dates it
    reads only columns of the index ix_tickets_id_updated_project."""
    kind = sa.case((queries.is_homework(), "homework"), else_="ticket")
    return sa.select(Ticket.id, kind, Ticket.updated_at).where(
        permissions.visible_ticket(user, Ticket),
        queries.in_scope(Ticket.project_id, f.project),
        *f.day_range(Ticket.created_at),
        ticket_queries.keyword_clause(f.q),
    )


def _ticket_ids(user, f: SearchFilters, window) -> dict[str, tuple[int, list[int]]]:
    """Matching tickets, newest change first: homework tickets and the other tickets."""
    return _ranked(ticket_matches(user, f), window, ("homework", "ticket"))


def _meeting_ids(user, f: SearchFilters, window) -> dict[str, tuple[int, list[int]]]:
    return _ranked(
        sa.select(Meeting.id, sa.literal("meeting"), Meeting.starts_at).where(
            permissions.visible(user, Meeting.unit_id),
            queries.in_scope(Meeting.unit_id, f.project),
            *f.day_range(Meeting.starts_at),
            textsearch.matches_all(f.q, Meeting.id, MEETING_SOURCES),
        ),
        window,
        ("meeting",),
    )


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
    if kind in KINDS:
        start = (max(page, 1) - 1) * PAGE_SIZE
        window = (start, start + PAGE_SIZE)
    else:
        window = (0, GROUP_SIZE)
    found: dict[str, tuple[int, list[int]]] = {}
    if "meeting" in wanted:
        found.update(_meeting_ids(user, f, window))
    if {"result", "goal", "sheet3"} & set(wanted):
        found.update(_item_ids(user, f, window))
    if {"homework", "ticket"} & set(wanted):
        found.update(_ticket_ids(user, f, window))
    groups = []
    for name in wanted:
        total, ids = found.get(name, (0, []))
        groups.append(Group(name, total, _load(user, name, ids)))
    return groups
