"""Ticket lists: Redmine's filter parameters → one SQLAlchemy select, restricted by access.

The same parameters serve the HTML list (/issues), the Redmine-compatible API
(/issues.json) and the CSV export, so a bookmarked URL means the same everywhere:

    project_id      id or identifier; a fiscal-year project includes its units
                    unless subproject_id=!*
    tracker_id      id, or ids joined by | (as Redmine: 1|3)
    status_id       open (default, also "o") | closed ("c") | * | id | 1|5
    assigned_to_id  id | me | * (anyone) | !* (nobody) | 1|me
    author_id       id | me | 1|2
    parent_id       id | * (has a parent) | !* (top-level)
    created_on, updated_on, due_date
                    Redmine's operators: 2026-04-01, >=2026-04-01, <=2026-04-30,
                    ><2026-04-01|2026-04-30; or plain dates in <name>_from / <name>_to
    overdue         1: open and due before today (Japan time)
    q / search      keywords: every word must occur in subject, description or a note
    sort            e.g. updated_on:desc,id (Redmine's column names)
    offset, limit   or page (1-based) with limit

`ticket_query(user, params)` parses them (QueryError on a bad value, 404 for a project the
user cannot see) and returns a TicketQuery: `.page()` gives rows and the total count with
everything a list shows loaded up front; `.select()` is the ordered statement for exports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased, joinedload
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.visitors import replacement_traverse

import permissions
from accounts.models import User
from core import errors, generations, parsing, textsearch
from core.extensions import db
from core.timeutil import local_to_utc, local_today
from projects.models import Project
from tickets.models import Journal, Priority, Status, Ticket, Tracker

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
DEFAULT_SORT = [("id", True)]
# SQLite: the index that lists the tickets in a sort's order, its entries ending with the id (the
# tie-break), walked by a search with many hits until its page is full (see search_page_ids).
WALK_INDEXES = {"created_on": "ix_tickets_created_at", "updated_on": "ix_tickets_updated_at"}

# Redmine's column names → what to order by (some need a join, see _order).
SORTABLE = (
    "id",
    "project",
    "tracker",
    "status",
    "priority",
    "subject",
    "assigned_to",
    "author",
    "start_date",
    "due_date",
    "done_ratio",
    "parent",
    "created_on",
    "updated_on",
    "closed_on",
)
NULLABLE_SORT = {"assigned_to", "author", "start_date", "due_date", "parent", "closed_on"}
DATE_FILTERS = {
    "created_on": Ticket.created_at,
    "updated_on": Ticket.updated_at,
    "due_date": Ticket.due_date,
}

# A ticket's documents hold its subject, description and the notes that are not private,
# so a word is one lookup in one of them. SQLite: the bigram and trigram documents
# (migrations 0007, 0009); PostgreSQL: the gram document column (migration 0011).
TICKET_SOURCES = [
    textsearch.Source(
        key=Ticket.id,
        columns=(Ticket.subject, Ticket.description),
        bigram_table="fts_tickets_bigrams",
        document="fts_tickets_trigrams",
        grams=f"tickets.{textsearch.GRAMS_COLUMN}",
    ),
    textsearch.Source(
        key=Journal.ticket_id,
        columns=(Journal.notes,),
        where=Journal.private_notes.is_(False),  # private notes never reveal a ticket
        bigram_table="fts_tickets_bigrams",
        document="fts_tickets_trigrams",
        grams=f"tickets.{textsearch.GRAMS_COLUMN}",
    ),
]


class QueryError(errors.Invalid):
    """A filter value that cannot be understood; str(error) says which."""


def keyword_clause(q: str | None, *, narrow: bool = False):
    """Tickets whose subject, description or a journal note contains every word of `q`.

    `narrow`: the other conditions leave a small share of the tickets (the open ones, one
    project's), readable from an index. SQLite then walks those index entries and checks
    each id against the words' hits, instead of looking up every hit's row to test the
    conditions (a common word hits tens of thousands of tickets: 3× slower that way).
    """
    key = Ticket.id
    if narrow and db.session.get_bind().dialect.name == "sqlite":
        key = Ticket.id + 0  # an expression: SQLite does not drive the query from the ids
    return textsearch.matches_all(q, key, TICKET_SOURCES)


@dataclass
class TicketQuery:
    user: User
    where: list = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=lambda: list(DEFAULT_SORT))
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    # The understood parameters, normalised (for forms, links and the API's echo).
    params: dict[str, str] = field(default_factory=dict)
    project: Project | None = None
    # Set by ticket_query: a key for the conditions its parameters made, and those conditions.
    count_key: tuple | None = None
    keyed_where: tuple = ()
    # The keywords' condition in `where`, if any (a search walking an index narrows it).
    keyword: sa.ColumnElement | None = None

    def count(self) -> int:
        """The total. Kept in this process under the tickets' data generation while the
        conditions are still the ones `count_key` names (a caller that adds one, such as the
        Redmine search, counts anew): every ticket written, and any change of who sees what,
        gives the generation a new token."""

        def counted() -> int:
            # count(*), not count(tickets.id): PostgreSQL can then count from an index alone.
            return db.session.scalar(
                sa.select(sa.func.count()).select_from(Ticket).where(*self.where)
            )

        if self.count_key is None or [*map(id, self.where)] != [*map(id, self.keyed_where)]:
            return counted()
        return _COUNTS.get_or_compute("tickets", self.count_key, counted)

    def select(self) -> sa.Select:
        """All matching tickets, ordered, with the list's relations loaded (no paging)."""
        return _with_list_relations(_order(sa.select(Ticket).where(*self.where), self.sort))

    def page(self, author: bool = True) -> tuple[list[Ticket], int]:
        """One page of tickets and the total count, in two or three queries whatever the page.

        The ids of the page are found first with only what the order needs (SQLite then
        walks an index and stops after `limit` rows); the rows and what a list shows are
        loaded for those ids only. With keywords, which may have to scan text, the ids and
        the total come from one statement, so the text is read once.
        """
        ids, total = self.page_ids()
        return _rows(ids, author), total

    def search_page(self) -> tuple[list[Ticket], int, bool]:
        """A search's page of tickets and its count, bounded: see `search_page_ids`."""
        ids, total, more = self.search_page_ids()
        if not ids:
            return [], total, more
        # A hit shows its tracker and status only: the list's other relations are left out.
        stmt = sa.select(Ticket).where(Ticket.id.in_(ids))
        stmt = stmt.options(joinedload(Ticket.tracker), joinedload(Ticket.status))
        by_id = {t.id: t for t in db.session.scalars(stmt).unique()}
        return [by_id[i] for i in ids if i in by_id], total, more

    def search_page_ids(self) -> tuple[list[int], int, bool]:
        """The ids of one page of a search and (n, more): exactly n hits, or, when `more`,
        more than n. The hits are counted up to COUNT_BOUND or the page's end, whichever is
        further, so a next page is known to exist whenever there is one.

        Few hits are found from the words' index and sorted. When there are more, the
        tickets are walked in the sort's order (SQLite: the index in WALK_INDEXES) and each
        is tested until the page is full: a common word fills it within a few rows, where
        sorting would read every hit (tens of thousands).
        """
        shown = max(textsearch.COUNT_BOUND, self.offset + self.limit)
        found = textsearch.count_upto(sa.select(Ticket.id).where(*self.where), shown + 1)
        if found <= shown:
            if found <= self.offset:
                return [], found, False
            return [row[0] for row in db.session.execute(self._counted_page())], found, False
        stmt = sa.select(Ticket.id).where(*self.where)
        index = WALK_INDEXES.get(self.sort[0][0]) if len(self.sort) <= 2 else None
        if (
            db.session.get_bind().dialect.name == "sqlite"
            and index is not None
            and all(desc == self.sort[0][1] for _name, desc in self.sort)
            and [name for name, _desc in self.sort[1:]] in ([], ["id"])
        ):
            where = (
                [
                    keyword_clause(self.params["q"], narrow=True) if c is self.keyword else c
                    for c in self.where
                ]
                if self.keyword is not None
                else self.where
            )
            stmt = (
                sa.select(Ticket.id)
                .where(*where)
                .with_hint(Ticket, f"INDEXED BY {index}", "sqlite")
            )
        ids = db.session.scalars(_order(stmt, self.sort).offset(self.offset).limit(self.limit))
        return list(ids), shown, True

    def page_ids(self) -> tuple[list[int], int]:
        """The ids of one page, in order, and the total count (see `page`)."""
        if "q" in self.params:
            found = db.session.execute(self._counted_page()).all()
            total = found[0][1] if found else (self.count() if self.offset else 0)
            return [row[0] for row in found], total
        total = self.count()
        if total == 0 or self.offset >= total:
            return [], total
        where = _unindexed(self.where) if self._walks_ids(total) else self.where
        ids_stmt = _order(sa.select(Ticket.id).where(*where), self.sort)
        return list(db.session.scalars(ids_stmt.offset(self.offset).limit(self.limit))), total

    def _walks_ids(self, total: int) -> bool:
        """Whether SQLite should find a page in id order by walking the tickets by id and
        testing each, rather than read every match from a filter's index and sort them all.
        When the matches are many (every ticket, the open ones) the walk meets a page after
        a few hundred tickets, where the index path sorts tens of thousands; without table
        statistics for the projects and memberships (`PRAGMA optimize` may never make them)
        SQLite takes the index path. The walk reads about (offset + limit) × tickets / total
        rows, each costing about what a match costs the index path: it is taken when that
        is fewer than the matches. PostgreSQL's planner weighs this itself."""
        if [name for name, _desc in self.sort] != ["id"]:
            return False
        if db.session.get_bind().dialect.name != "sqlite":
            return False
        tickets = db.session.scalar(sa.select(sa.func.max(Ticket.id))) or 0
        return (self.offset + self.limit) * tickets <= total * total

    def _counted_page(self) -> sa.Select:
        """The ids of one page with the total beside each (keywords: the text is read once)."""
        if db.session.get_bind().dialect.name == "postgresql":
            # count(*) OVER () needs every match before the first row, but PostgreSQL 15
            # costs a LIMIT above it as if it could stop early: it may walk the tickets in
            # the order's index, testing each (a second for a common word). Counted in a
            # subquery, the matches come from the plan cheapest for all of them.
            total = sa.func.count().over().label("total")
            matches = sa.select(Ticket.id, total).where(*self.where).subquery()
            stmt = sa.select(Ticket.id, matches.c.total).join(matches, matches.c.id == Ticket.id)
        else:
            stmt = sa.select(Ticket.id, sa.func.count().over()).where(*self.where)
        return _order(stmt, self.sort).offset(self.offset).limit(self.limit)

    @property
    def page_number(self) -> int:
        return self.offset // self.limit + 1 if self.limit else 1

    def sort_param(self) -> str:
        return ",".join(f"{name}:desc" if desc else name for name, desc in self.sort)


def _rows(ids: list[int], author: bool = True) -> list[Ticket]:
    """The tickets `ids`, in that order, with what a list shows loaded."""
    if not ids:
        return []
    stmt = _with_list_relations(sa.select(Ticket).where(Ticket.id.in_(ids)), author)
    by_id = {t.id: t for t in db.session.scalars(stmt).unique()}
    return [by_id[i] for i in ids if i in by_id]


def _unindexed(where: list) -> list:
    """`where` with each column of the tickets table as `+column`: the same values, but SQLite
    answers no such term from an index, so it walks the table in the order asked for (by
    id) and stops after the page. Aliases of the table (the visibility rule's sub-select of
    private tickets) keep their indexes."""
    table = Ticket.__table__

    def unary_plus(element):
        if isinstance(element, sa.Column) and element.table is table:
            return UnaryExpression(element, operator=operators.custom_op("+"), type_=element.type)
        if isinstance(element, sa.Select):
            return element  # a sub-select's terms never choose the outer table's index
        return None

    return [replacement_traverse(clause, {}, unary_plus) for clause in where]


def _with_list_relations(stmt: sa.Select, author: bool = True) -> sa.Select:
    """What a list shows; `author=False` for the HTML list, which has no author column (one
    join of the users table fewer: on PostgreSQL a hash of every user)."""
    loads = [
        joinedload(Ticket.project),
        joinedload(Ticket.tracker),
        joinedload(Ticket.status),
        joinedload(Ticket.priority),
        joinedload(Ticket.assignee),
    ]
    return stmt.options(*loads, *([joinedload(Ticket.author)] if author else []))


def ticket_query(user: User, params, *, default_status: str = "open") -> TicketQuery:
    """Parse Redmine-style `params` (a dict or request.args) into a TicketQuery for `user`."""
    get = params.get
    query = TicketQuery(user=user, where=[permissions.visible_ticket(user, Ticket)])
    where, kept = query.where, query.params

    project_key = (get("project_id") or "").strip()
    if project_key:
        project = permissions.load_project(user, project_key)  # 404 when not visible
        query.project = project
        kept["project_id"] = project.identifier
        if get("subproject_id") == "!*" or project.is_unit:
            if get("subproject_id") == "!*":
                kept["subproject_id"] = "!*"
            where.append(Ticket.project_id == project.id)
        else:
            units = sa.select(Project.id).where(Project.parent_id == project.id)
            where.append(sa.or_(Ticket.project_id == project.id, Ticket.project_id.in_(units)))

    tracker = (get("tracker_id") or "").strip()
    if tracker:
        where.append(Ticket.tracker_id.in_(_ids(tracker, "tracker_id")))
        kept["tracker_id"] = tracker

    status = (get("status_id") or default_status or "").strip()
    kept["status_id"] = status
    if status in ("open", "o"):
        where.append(Ticket.status_id.in_(_status_ids(closed=False)))
    elif status in ("closed", "c"):
        where.append(Ticket.status_id.in_(_status_ids(closed=True)))
    elif status not in ("*", ""):
        where.append(Ticket.status_id.in_(_ids(status, "status_id")))

    for name, column in (("assigned_to_id", Ticket.assignee_id), ("author_id", Ticket.author_id)):
        value = (get(name) or "").strip()
        if not value:
            continue
        kept[name] = value
        if value == "*":
            where.append(column.is_not(None))
        elif value == "!*":
            where.append(column.is_(None))
        else:
            ids = [user.id if v == "me" else v for v in value.split("|")]
            where.append(column.in_(_ids("|".join(map(str, ids)), name)))

    parent = (get("parent_id") or "").strip()
    if parent:
        kept["parent_id"] = parent
        if parent == "*":
            where.append(Ticket.parent_id.is_not(None))
        elif parent == "!*":
            where.append(Ticket.parent_id.is_(None))
        else:
            where.append(Ticket.parent_id.in_(_ids(parent, "parent_id")))

    for name, column in DATE_FILTERS.items():
        low, high = _date_range(name, get)
        if low is not None:
            where.append(column >= _bound(column, low))
            kept[f"{name}_from"] = low.isoformat()
        if high is not None:
            if column is Ticket.due_date:
                where.append(column <= high)
            else:  # a datetime: up to the end of that day (stored UTC, compared by date)
                where.append(column < _bound(column, high + timedelta(days=1)))
            kept[f"{name}_to"] = high.isoformat()

    if (get("overdue") or "").lower() in ("1", "true", "on", "yes"):
        kept["overdue"] = "1"
        where.append(Ticket.due_date < local_today())
        where.append(Ticket.status_id.in_(_status_ids(closed=False)))

    words = get("q") or get("search") or ""
    if words.strip():
        kept["q"] = words.strip()
        narrow = status in ("open", "o") or "overdue" in kept or query.project is not None
        query.keyword = keyword_clause(words, narrow=narrow)
        where.append(query.keyword)

    sort = (get("sort") or "").strip()
    if sort:
        query.sort = _parse_sort(sort)
        kept["sort"] = query.sort_param()

    query.limit = parsing.clamp(
        _int(get("limit") or get("per_page"), DEFAULT_LIMIT, "limit"), 1, MAX_LIMIT
    )
    # Past the last ticket a page is empty, however far: kept within what SQL can take.
    if get("offset") not in (None, ""):
        query.offset = parsing.clamp(_int(get("offset"), 0, "offset"), 0, parsing.MAX_INT)
    elif get("page") not in (None, ""):
        page = parsing.clamp(_int(get("page"), 1, "page"), 1, parsing.MAX_PAGE)
        query.offset = (page - 1) * query.limit
    if query.limit != DEFAULT_LIMIT:
        kept["limit"] = str(query.limit)
    if "q" not in kept:  # totals of keywords are not kept: there is no end to words
        named = tuple(sorted((k, v) for k, v in kept.items() if k not in ("sort", "limit")))
        query.count_key = (user.id, local_today(), named)
        query.keyed_where = tuple(where)
    return query


def unseen_ticket_ids(user, ids) -> set[int]:
    """Of the tickets `ids`, those `user` may not see (permissions.visible_ticket): for
    pages that show tickets through something else (homework in minutes, a decision's
    origin), which leave out or blank what is not seen. One query, none when `ids` is empty."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return set()
    seen = db.session.scalars(
        sa.select(Ticket.id).where(Ticket.id.in_(ids), permissions.visible_ticket(user, Ticket))
    )
    return ids - set(seen)


def keyword_search(user: User, q: str, offset: int = 0, limit: int = DEFAULT_LIMIT):
    """Tickets `user` may see matching every word of `q`, newest change first: (rows, total)."""
    query = ticket_query(
        user, {"q": q, "status_id": "*", "sort": "updated_on:desc,id:desc"}, default_status="*"
    )
    query.offset, query.limit = max(offset, 0), min(max(limit, 1), MAX_LIMIT)
    if not textsearch.words(q):
        return [], 0
    return query.page()


# --- parsing ---------------------------------------------------------------------------------


def _ids(value: str, name: str) -> list[int]:
    """Ids joined by |. A number no row can have (0, 2^31 and more) matches nothing, as an
    id of a deleted row does; text that is not a number is an error."""
    ids = []
    for part in (v for v in value.split("|") if v.strip()):
        if not _NUMBER.fullmatch(part.strip()):
            raise QueryError(_("Invalid value for %(name)s: %(value)s", name=name, value=value))
        number = parsing.id_or_none(part)
        if number is not None:
            ids.append(number)
    return ids


_NUMBER = re.compile(r"[+-]?[0-9]+")


def _int(value, default: int, name: str) -> int:
    """offset, limit, page: a number (any size: the caller bounds it), else QueryError."""
    if value in (None, ""):
        return default
    if not isinstance(value, str) or not _NUMBER.fullmatch(value.strip()) or len(value) > 40:
        raise QueryError(_("Invalid value for %(name)s: %(value)s", name=name, value=value))
    return int(value)


_STATUSES = generations.Cache(size=4)
_COUNTS = generations.Cache(size=512)


def open_status_ids() -> list[int]:
    """The statuses of open tickets, as values (see _status_ids)."""
    return _status_ids(closed=False)


def _status_ids(closed: bool) -> list[int]:
    """The open (or closed) statuses as values, not a sub-select: PostgreSQL's planner then
    knows from its statistics that open tickets are few and reads them from an index,
    instead of scanning every ticket (a sub-select's rows are a guess to it)."""
    return _STATUSES.get_or_compute(
        "directory",
        ("closed" if closed else "open",),
        lambda: list(db.session.scalars(sa.select(Status.id).where(Status.is_closed.is_(closed)))),
    )


def _date(value: str, name: str) -> date:
    """An ISO date within parsing.EARLIEST … LATEST (a time after it is ignored)."""
    day = parsing.date_or_none(value.strip()[:10])
    if day is None:
        raise QueryError(_("Invalid date for %(name)s: %(value)s", name=name, value=value))
    return day


_OPERATOR = re.compile(r"^(><|>=|<=|=)?(.*)$")


def _date_range(name: str, get) -> tuple[date | None, date | None]:
    """Redmine's `name=>=2026-04-01` … or the form's `name_from` / `name_to`."""
    low = high = None
    value = (get(name) or "").strip()
    if value:
        op, rest = _OPERATOR.match(value).groups()
        if op == "><":
            first, _sep, second = rest.partition("|")
            low, high = _date(first, name), _date(second, name)
        elif op == ">=":
            low = _date(rest, name)
        elif op == "<=":
            high = _date(rest, name)
        else:
            low = high = _date(rest, name)
    if get(f"{name}_from"):
        low = _date(get(f"{name}_from"), name)
    if get(f"{name}_to"):
        high = _date(get(f"{name}_to"), name)
    return low, high


def _bound(column, day: date):
    """Stored times are naive UTC; a day in Japan time starts at 15:00 UTC the day before."""
    return day if column is Ticket.due_date else local_to_utc(day)


def _parse_sort(value: str) -> list[tuple[str, bool]]:
    sort = []
    for part in value.split(","):
        name, _sep, direction = part.strip().partition(":")
        if not name:
            continue
        if name not in SORTABLE:
            raise QueryError(_("Cannot sort by %(name)s.", name=name))
        if name not in [n for n, _d in sort]:
            sort.append((name, direction.strip().lower() == "desc"))
    return sort or list(DEFAULT_SORT)


def _order(stmt: sa.Select, sort: list[tuple[str, bool]]) -> sa.Select:
    columns = []
    for name, desc in sort:
        if name == "project":
            alias = aliased(Project)
            stmt = stmt.join(alias, alias.id == Ticket.project_id)
            column = alias.name
        elif name == "tracker":
            alias = aliased(Tracker)
            stmt = stmt.join(alias, alias.id == Ticket.tracker_id)
            column = alias.position
        elif name == "status":
            alias = aliased(Status)
            stmt = stmt.join(alias, alias.id == Ticket.status_id)
            column = alias.position
        elif name == "priority":
            alias = aliased(Priority)
            stmt = stmt.join(alias, alias.id == Ticket.priority_id)
            column = alias.position
        elif name in ("assigned_to", "author"):
            alias = aliased(User)
            key = Ticket.assignee_id if name == "assigned_to" else Ticket.author_id
            stmt = stmt.outerjoin(alias, alias.id == key)
            column = alias.name
        else:
            column = {
                "id": Ticket.id,
                "subject": Ticket.subject,
                "start_date": Ticket.start_date,
                "due_date": Ticket.due_date,
                "done_ratio": Ticket.done_ratio,
                "parent": Ticket.parent_id,
                "created_on": Ticket.created_at,
                "updated_on": Ticket.updated_at,
                "closed_on": Ticket.closed_at,
            }[name]
        ordered = column.desc() if desc else column.asc()
        if name in NULLABLE_SORT:
            ordered = ordered.nulls_last()  # empty values last either way, as Redmine does
        columns.append(ordered)
    if "id" not in [n for n, _d in sort]:
        columns.append(Ticket.id.desc())
    return stmt.order_by(*columns)
