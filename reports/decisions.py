"""The decision register: every result (成果) the user may see, newest first, with where it
came from — meeting, date, goal, business unit, the homework or preview it came from, and
the confirmed revision it belongs to — and what superseded it."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import aliased, joinedload

import permissions
from core import generations, textsearch, timeutil
from core.extensions import db
from core.rows import plain_rows
from minutes.models import Confirmation, Item, ItemEvent, Meeting, Revision
from projects.models import Project
from reports import queries, search, trend_queries
from tickets import queries as ticket_queries
from tickets.models import Ticket

PAGE_SIZE = 50

ITEM_SOURCES = search.ITEM_SOURCES  # the items' trigram and bigram indexes


@dataclass
class DecisionFilters:
    project: Project | None = None
    date_from: date | None = None  # meeting date, Japan time
    date_to: date | None = None
    q: str = ""
    item_id: int | None = None  # one decision (a link from the one it superseded)

    def clauses(self) -> list:
        out = [queries.in_scope(Meeting.unit_id, self.project)]
        if self.item_id is not None:
            out.append(Item.id == self.item_id)
        if self.date_from:
            out.append(Meeting.starts_at >= timeutil.local_to_utc(self.date_from))
        if self.date_to:
            end = timeutil.local_to_utc(self.date_to + timedelta(days=1))
            out.append(Meeting.starts_at < end)
        keyword = textsearch.matches_all(self.q, Item.id, ITEM_SOURCES)
        if keyword is not None:
            out.append(keyword)
        return out

    def args(self) -> dict:
        out = {}
        if self.project is not None:
            out["project"] = self.project.id
        if self.date_from:
            out["date_from"] = self.date_from.isoformat()
        if self.date_to:
            out["date_to"] = self.date_to.isoformat()
        if self.q:
            out["q"] = self.q
        if self.item_id is not None:
            out["id"] = self.item_id
        return out


class MeetingRef(NamedTuple):
    id: int
    title: str
    starts_at: datetime


class UnitRef(NamedTuple):
    id: int
    parent_id: int | None
    name: str
    name_en: str | None
    parent: UnitRef | None  # the fiscal-year project of a business unit


class ItemRef(NamedTuple):
    """A decision that superseded this one, or one this one superseded."""

    id: int
    text: str
    meeting: MeetingRef


class Origin(NamedTuple):
    """The homework or preview of an earlier meeting that this result came from."""

    id: int
    kind: str
    text: str
    meeting: MeetingRef
    ticket_id: int | None
    ticket_subject: str | None


class RevisionRef(NamedTuple):
    id: int
    number: int
    fingerprint: str


@dataclass(slots=True)
class Decision:
    """One row of the register, as plain values: a page of 50 is rendered on every visit,
    and ORM objects for each row and its provenance cost more than the rest of the page."""

    id: int
    text: str
    meeting: MeetingRef
    unit: UnitRef
    goal: str | None  # the text of the goal it answers
    origin: Origin | None
    superseded_by_id: int | None
    moved_from: str | None = None  # the kind it was before it was moved to the results
    revision: RevisionRef | None = None  # the latest confirmed revision that holds it
    supersedes: list[ItemRef] = field(default_factory=list)  # earlier ones the user may see
    successor: ItemRef | None = None  # what superseded it, when the user may see that
    can_supersede: bool = False

    @property
    def is_superseded(self) -> bool:
        return self.superseded_by_id is not None

    def key(self) -> tuple:
        """Every field, hashable: everything the row shows (views.decision_html keeps its
        HTML under this, so a field added later is part of it too)."""
        return tuple(
            tuple(value) if isinstance(value, list) else value
            for value in (getattr(self, f.name) for f in fields(self))
        )


def results_where(user) -> list:
    return [
        Item.kind == "result",
        Item.deleted_at.is_(None),
        permissions.visible(user, Meeting.unit_id),
    ]


def decisions(
    user, filters: DecisionFilters | None = None, page: int = 1
) -> tuple[list[Decision], bool]:
    """One page of the register, newest meeting first, and whether a next page exists.

    No total count: counting every visible result would read them all, while a page read in
    meeting-date order stops after PAGE_SIZE + 1 rows.
    """
    filters = filters or DecisionFilters()
    where = [*results_where(user), *filters.clauses()]
    if filters.project is None and trend_queries.sees_many_units(user):
        # Across many units, walk the meetings newest first (index on starts_at) and stop at
        # a page; unit by unit ("+ 0" turns that index off) would sort every meeting first.
        where[2] = permissions.visible(user, Meeting.unit_id + 0)
    ids = list(
        db.session.scalars(
            sa.select(Item.id)
            .join(Meeting, Meeting.id == Item.meeting_id)
            .where(*where)
            .order_by(Meeting.starts_at.desc(), Meeting.id.desc(), Item.position, Item.id)
            .offset((max(page, 1) - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    has_next = len(ids) > PAGE_SIZE
    return with_provenance(user, _rows(ids[:PAGE_SIZE])), has_next


def _rows(ids: list[int]) -> list[Decision]:
    """The page's results with their meeting, unit, goal and origin, in the order of `ids`."""
    if not ids:
        return []
    rows = plain_rows(_rows_statement(), {"ids": ids})
    by_id = {}
    for (
        item_id, text, superseded_by_id, meeting_id, title, starts_at,
        unit_id, parent_id, unit_name, unit_name_en, parent_name, parent_name_en,
        goal_text, origin_id, origin_kind, origin_text, om_id, om_title, om_starts_at,
        ticket_id, ticket_subject,
    ) in rows:  # fmt: skip
        up = (
            UnitRef(parent_id, None, parent_name, parent_name_en, None)
            if parent_id is not None
            else None
        )
        by_id[item_id] = Decision(
            id=item_id,
            text=text,
            meeting=MeetingRef(meeting_id, title, starts_at),
            unit=UnitRef(unit_id, parent_id, unit_name, unit_name_en, up),
            goal=goal_text,
            origin=Origin(
                origin_id,
                origin_kind,
                origin_text,
                MeetingRef(om_id, om_title, om_starts_at),
                ticket_id,
                ticket_subject,
            )
            if origin_id is not None
            else None,
            superseded_by_id=superseded_by_id,
        )
    return [by_id[i] for i in ids if i in by_id]


@cache
def _rows_statement() -> sa.Select:
    # Built once: a select over five aliases takes longer to build than to run.
    goal, origin, origin_meeting = aliased(Item), aliased(Item), aliased(Meeting)
    unit, parent = aliased(Project), aliased(Project)
    return (
        sa.select(
            Item.id,
            Item.text,
            Item.superseded_by_id,
            Meeting.id,
            Meeting.title,
            Meeting.starts_at,
            unit.id,
            unit.parent_id,
            unit.name,
            unit.name_en,
            parent.name,
            parent.name_en,
            goal.text,
            origin.id,
            origin.kind,
            origin.text,
            origin_meeting.id,
            origin_meeting.title,
            origin_meeting.starts_at,
            Ticket.id,
            Ticket.subject,
        )
        .join(Meeting, Meeting.id == Item.meeting_id)
        .join(unit, unit.id == Meeting.unit_id)
        .outerjoin(parent, parent.id == unit.parent_id)
        .outerjoin(goal, goal.id == Item.parent_item_id)
        .outerjoin(origin, origin.id == Item.origin_item_id)
        .outerjoin(origin_meeting, origin_meeting.id == origin.meeting_id)
        .outerjoin(Ticket, Ticket.id == origin.ticket_id)
        .where(Item.id.in_(sa.bindparam("ids", expanding=True)))
    )


def decision_loads():
    """Eager loads for one result shown with its provenance (the supersede page)."""
    return (joinedload(Item.meeting).joinedload(Meeting.unit).joinedload(Project.parent),)


def _hide_unseen_tickets(user, rows: list[Decision]) -> None:
    """An origin's ticket (the homework a result came from) the user may not see, a private
    one, is shown as neither number nor subject."""
    unseen = ticket_queries.unseen_ticket_ids(user, (r.origin.ticket_id for r in rows if r.origin))
    for row in rows:
        if row.origin and row.origin.ticket_id in unseen:
            row.origin = row.origin._replace(ticket_id=None, ticket_subject=None)


def with_provenance(user, rows: list[Decision]) -> list[Decision]:
    """Moves, revisions, superseding and the right to supersede for a page: a few queries,
    not per row. A decision in a project the user may not see is never shown, even as the
    one that superseded."""
    if not rows:
        return []
    _hide_unseen_tickets(user, rows)
    ids = [row.id for row in rows]
    moved = {}
    for item_id, before in db.session.execute(
        sa.select(ItemEvent.item_id, ItemEvent.before)
        .where(ItemEvent.item_id.in_(ids), ItemEvent.action == "move")
        .order_by(ItemEvent.id)
    ):
        kind = (before or {}).get("kind")
        if kind and kind != "result":
            moved[item_id] = kind  # the last move into the results wins
    supersedes = defaultdict(list)
    for later_id, ref in _item_refs(user, Item.superseded_by_id.in_(ids)):
        supersedes[later_id].append(ref)
    successor_ids = {row.superseded_by_id for row in rows if row.superseded_by_id}
    successors = (
        {ref.id: ref for _, ref in _item_refs(user, Item.id.in_(successor_ids))}
        if successor_ids
        else {}
    )
    confirmed = confirmed_revisions({row.meeting.id for row in rows})
    may_supersede = {}
    for row in rows:
        row.moved_from = moved.get(row.id)
        row.revision = next(
            (rev for rev, held in confirmed.get(row.meeting.id, []) if row.id in held), None
        )
        row.supersedes = supersedes[row.id]
        row.successor = successors.get(row.superseded_by_id)
        if row.unit.id not in may_supersede:
            may_supersede[row.unit.id] = permissions.can_supersede_in(user, row.unit)
        row.can_supersede = may_supersede[row.unit.id]
    return rows


def _item_refs(user, where) -> list[tuple[int | None, ItemRef]]:
    """(superseded_by_id, reference) of the live results matching `where` that `user` sees."""
    return [
        (later_id, ItemRef(item_id, text, MeetingRef(meeting_id, title, starts_at)))
        for item_id, later_id, text, meeting_id, title, starts_at in db.session.execute(
            sa.select(
                Item.id,
                Item.superseded_by_id,
                Item.text,
                Meeting.id,
                Meeting.title,
                Meeting.starts_at,
            )
            .join(Meeting, Meeting.id == Item.meeting_id)
            .where(where, Item.deleted_at.is_(None), permissions.visible(user, Meeting.unit_id))
            .order_by(Meeting.starts_at, Item.id)
        )
    ]


def confirmed_revisions(meeting_ids) -> dict[int, list[tuple[RevisionRef, frozenset[int]]]]:
    """{meeting id: [(confirmed revision, ids of the results it holds)], newest first}.

    Confirmed: every attendee present at the freeze signed it off with no objection (the
    rule of minutes.revisions), computed for all the meetings at once.
    """
    if not meeting_ids:
        return {}
    revs = db.session.execute(
        sa.select(Revision.id, Revision.meeting_id, Revision.number, Revision.fingerprint)
        .where(Revision.meeting_id.in_(list(meeting_ids)))
        .order_by(Revision.meeting_id, Revision.number.desc())
    ).all()
    answers = defaultdict(dict)
    if revs:
        for revision_id, attendee_id, objection in db.session.execute(
            sa.select(
                Confirmation.revision_id, Confirmation.attendee_id, Confirmation.objection
            ).where(Confirmation.revision_id.in_([r.id for r in revs]))
        ):
            answers[revision_id][attendee_id] = objection
    facts = _revision_facts(revs)
    out = defaultdict(list)
    for rev in revs:
        required, results = facts[rev.id, rev.fingerprint]
        given = answers[rev.id]
        if all(a in given and given[a] is None for a in required):
            out[rev.meeting_id].append((RevisionRef(rev.id, rev.number, rev.fingerprint), results))
    return out


# What a revision's content says (who was present, which results it holds), per revision id
# and fingerprint: a revision never changes, so its JSON is parsed once per process.
_FACTS = generations.Cache(size=20_000)


def _revision_facts(revs) -> dict:
    return _FACTS.get_many([(r.id, r.fingerprint) for r in revs], _read_revision_facts)


def _read_revision_facts(keys: list[tuple[int, str]]) -> dict:
    rows = db.session.execute(
        sa.select(Revision.id, Revision.fingerprint, Revision.content).where(
            Revision.id.in_([rev_id for rev_id, _fingerprint in keys])
        )
    )
    facts = {}
    for rev_id, fingerprint, text in rows:
        content = json.loads(text)
        facts[rev_id, fingerprint] = (
            tuple(a["id"] for a in content["attendees"] if a["present"]),
            frozenset(r["id"] for r in content.get("results", [])),
        )
    return facts


def chain(item: Item) -> list[Item]:
    """The decision and every later one that superseded it, in order (A → B → C)."""
    out, seen, node = [], set(), item
    while node is not None and node.id not in seen:
        out.append(node)
        seen.add(node.id)
        node = node.superseded_by
    return out


def later_results(user, old: Item, project: Project | None, q: str = "", limit: int = 30):
    """Results that may supersede `old`: visible, later than it, newest first."""
    later = sa.or_(
        Meeting.starts_at > old.meeting.starts_at,
        sa.and_(Meeting.starts_at == old.meeting.starts_at, Item.id > old.id),
    )
    clauses = [
        *results_where(user),
        later,
        Item.id != old.id,
        queries.in_scope(Meeting.unit_id, project),
    ]
    keyword = textsearch.matches_all(q, Item.id, ITEM_SOURCES)
    if keyword is not None:
        clauses.append(keyword)
    return list(
        db.session.scalars(
            sa.select(Item)
            .join(Meeting, Meeting.id == Item.meeting_id)
            .where(*clauses)
            .order_by(Meeting.starts_at.desc(), Item.id.desc())
            .limit(limit)
            .options(joinedload(Item.meeting).joinedload(Meeting.unit))
        ).unique()
    )
