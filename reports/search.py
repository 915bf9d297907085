"""One search over meetings, goals, results, homework, break/preview items and tickets.

The words are matched by `textsearch` (the same rules as the ticket search: Japanese
substrings of any length, English case-insensitive; every word must occur). Every kind is
restricted by `permissions.visible` on its project column, the chosen project or unit, and
the date (the meeting's day for minutes, the day a ticket was raised), Japan time.

Each kind's hits are counted up to textsearch.COUNT_BOUND in one query (per group: goals,
results, break and preview; homework tickets and the others; meetings), and the newest of each
group picked in SQL (`_ranked`), so only the ids shown come back; only those hits are then
loaded. Past the bound a group is "more than" its count, and its page is found by walking
the hits in their order rather than by sorting them all.
"""

from __future__ import annotations

from collections.abc import Callable
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
    total: int  # the hits counted; more than that when `more`
    hits: list = field(default_factory=list)
    more: bool = False

    @property
    def label(self) -> str:
        return str(KINDS[self.kind])


# (group, walk) → SELECT (id, order key) of that group's hits. `walk`: the select is to be read
# in its order until a page is full (many hits), rather than found from the words' indexes.
Matches = Callable[[str, bool], sa.Select]


def _ranked(matches: Matches, window: tuple[int, int], groups: tuple[str, ...]) -> dict:
    """{group: (total, more, ids)}: per group, how many hits (exactly, or more than `total`
    when `more`) and the ids ranked `window` (from, to: 0-based, end excluded) newest first
    (order key, then id, descending). Only the shown ids reach Python.

    One statement reads each group's hits from the words' indexes up to COUNT_BOUND (or the
    window's end) and no further, each group's once (a materialized CTE): a word with tens
    of thousands of hits is not read whole. A group with no more hits than that is counted
    and ranked there. A group with more is then walked in its order until the window is
    full, where sorting would read every hit.
    """
    first, last = window
    shown = max(textsearch.COUNT_BOUND, last)
    no_id = sa.cast(sa.null(), sa.Integer)
    parts = []
    for name in groups:
        hits = matches(name, False).limit(shown + 1).cte(f"hits_{name}")
        hits = hits.prefix_with("MATERIALIZED")
        key, at = hits.c
        top = sa.select(key, at).order_by(at.desc(), key.desc()).offset(first).limit(last - first)
        top = top.subquery()
        no_at = sa.cast(sa.null(), at.type)
        parts.append(sa.select(sa.literal(name), no_id, no_at, sa.func.count()).select_from(hits))
        parts.append(sa.select(sa.literal(name), *top.c, no_id))
    found = {name: 0 for name in groups}
    shown_rows = {name: [] for name in groups}
    for name, row_id, when, count in db.session.execute(sa.union_all(*parts)):
        if row_id is None:
            found[name] = count
        else:
            shown_rows[name].append((when, row_id))
    ranked = {
        name: [i for _w, i in sorted(rows, reverse=True)] for name, rows in shown_rows.items()
    }
    out = {}
    for name in groups:
        more = found[name] > shown
        ids = ranked[name]
        if more and first < found[name]:
            stmt = matches(name, True)
            key, at = stmt.selected_columns
            walked = stmt.order_by(at.desc(), key.desc()).offset(first).limit(last - first)
            ids = [row[0] for row in db.session.execute(walked)]
        out[name] = (shown if more else found[name], more, ids)
    return out


def _walks() -> bool:
    """SQLite walks an index named in the statement (the planner cannot tell how many rows the
    words' index yields, and drives from the projects seen); PostgreSQL plans from its
    statistics."""
    return db.session.get_bind().dialect.name == "sqlite"


def _item_ids(user, f: SearchFilters, window) -> dict:
    """Matching goals, results, break and preview items by group, newest meeting first."""
    kinds = {"result": ("result",), "goal": ("goal",), "sheet3": ("break", "preview")}

    def matches(group: str, walk: bool) -> sa.Select:
        key = Item.id + 0 if walk and _walks() else Item.id
        stmt = sa.select(Item.id, Meeting.starts_at)
        if walk and _walks():  # meetings newest first, each meeting's items
            stmt = stmt.select_from(Meeting).join(Item, Meeting.id == Item.meeting_id)
            stmt = stmt.with_hint(Meeting, "INDEXED BY ix_meetings_starts_at", "sqlite")
        else:
            stmt = stmt.join(Meeting, Meeting.id == Item.meeting_id)
        return stmt.where(
            Item.kind.in_(kinds[group]),
            Item.deleted_at.is_(None),
            permissions.visible(user, Meeting.unit_id),
            queries.in_scope(Meeting.unit_id, f.project),
            *f.day_range(Meeting.starts_at),
            textsearch.matches_all(f.q, key, ITEM_SOURCES),
        )

    return _ranked(matches, window, tuple(kinds))


def ticket_matches(user, f: SearchFilters, group: str | None = None, walk: bool = False, seen=None):
    """(id, order key) of the matching tickets: the homework tickets, or the others (`group`
    "homework" or "ticket"; None: both). Without dates it reads only columns of the index
    ix_tickets_id_updated_project; `walk` (SQLite): newest change first through
    ix_tickets_updated_at. `seen`: permissions.visible_ticket(user, Ticket), if made already."""
    walk = walk and _walks()
    stmt = sa.select(Ticket.id, Ticket.updated_at).where(
        permissions.visible_ticket(user, Ticket) if seen is None else seen,
        queries.in_scope(Ticket.project_id, f.project),
        *f.day_range(Ticket.created_at),
        ticket_queries.keyword_clause(f.q, narrow=walk),
    )
    if group is not None:
        # The homework item's id, 0 for none, compared with > and <: PostgreSQL estimates
        # that each keeps a third of the rows. (IS NULL it estimates to keep almost none, and
        # then joins the projects seen first, reading every hit before the first is counted.)
        item = sa.func.coalesce(_homework_item(), 0)
        stmt = stmt.where(item > 0 if group == "homework" else item < 1)
    if walk:
        stmt = stmt.with_hint(Ticket, "INDEXED BY ix_tickets_updated_at", "sqlite")
    return stmt


def _homework_item() -> sa.ScalarSelect:
    """The ticket's live homework item, if any, looked up for that ticket alone. (As EXISTS,
    PostgreSQL joins the homework items in ticket id order and reads the tickets in that
    order too, testing each one's gram document, instead of taking the word's from its
    index.)"""
    return (
        sa.select(Item.id)
        .where(Item.ticket_id == Ticket.id, Item.kind == "homework", Item.deleted_at.is_(None))
        .correlate(Ticket)
        .limit(1)
        .scalar_subquery()
    )


def _ticket_ids(user, f: SearchFilters, window) -> dict:
    """Matching tickets, newest change first: homework tickets and the other tickets."""
    seen = permissions.visible_ticket(user, Ticket)  # made once: a dozen sub-selects
    return _ranked(
        lambda group, walk: ticket_matches(user, f, group, walk, seen),
        window,
        ("homework", "ticket"),
    )


def _meeting_ids(user, f: SearchFilters, window) -> dict:
    def matches(_group: str, walk: bool) -> sa.Select:
        walk = walk and _walks()
        stmt = sa.select(Meeting.id, Meeting.starts_at).where(
            permissions.visible(user, Meeting.unit_id),
            queries.in_scope(Meeting.unit_id, f.project),
            *f.day_range(Meeting.starts_at),
            textsearch.matches_all(f.q, Meeting.id + 0 if walk else Meeting.id, MEETING_SOURCES),
        )
        return (
            stmt.with_hint(Meeting, "INDEXED BY ix_meetings_starts_at", "sqlite") if walk else stmt
        )

    return _ranked(matches, window, ("meeting",))


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
    found: dict[str, tuple[int, bool, list[int]]] = {}
    if "meeting" in wanted:
        found.update(_meeting_ids(user, f, window))
    if {"result", "goal", "sheet3"} & set(wanted):
        found.update(_item_ids(user, f, window))
    if {"homework", "ticket"} & set(wanted):
        found.update(_ticket_ids(user, f, window))
    groups = []
    for name in wanted:
        total, more, ids = found.get(name, (0, False, []))
        groups.append(Group(name, total, _load(user, name, ids), more))
    return groups
