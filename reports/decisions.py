"""The decision register: every result (成果) the user may see, newest first, with where it
came from — meeting, date, goal, business unit, the homework or preview it came from, and
the confirmed revision it belongs to — and what superseded it."""

from __future__ import annotations

import json
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import defer, joinedload

import permissions
import textsearch
from extensions import db
from minutes.models import Confirmation, Item, ItemEvent, Meeting, Revision
from projects.models import Project
from reports import queries, search
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
            out.append(Meeting.starts_at >= queries.utc_of_local_midnight(self.date_from))
        if self.date_to:
            end = queries.utc_of_local_midnight(self.date_to + timedelta(days=1))
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


@dataclass
class Decision:
    item: Item
    moved_from: str | None = None  # the kind it was before it was moved to the results
    revision: Revision | None = None  # the latest confirmed revision that holds it
    supersedes: list[Item] = field(default_factory=list)  # earlier ones the user may see
    successor: Item | None = None  # what superseded it, when the user may see that

    @property
    def is_superseded(self) -> bool:
        return self.item.superseded_by_id is not None

    @property
    def meeting(self) -> Meeting:
        return self.item.meeting


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
    if filters.project is None and queries.sees_many_units(user):
        # Across many units, walk the meetings newest first (index on starts_at) and stop at
        # a page; unit by unit ("+ 0" turns that index off) would sort every meeting first.
        where[2] = permissions.visible(user, Meeting.unit_id + 0)
    items = list(
        db.session.scalars(
            sa.select(Item)
            .join(Meeting, Meeting.id == Item.meeting_id)
            .where(*where)
            .order_by(Meeting.starts_at.desc(), Meeting.id.desc(), Item.position, Item.id)
            .offset((max(page, 1) - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
            .options(*decision_loads())
        ).unique()
    )
    return with_provenance(user, items[:PAGE_SIZE]), len(items) > PAGE_SIZE


def decision_loads():
    return (
        joinedload(Item.meeting).joinedload(Meeting.unit).joinedload(Project.parent),
        joinedload(Item.parent_item),
        joinedload(Item.origin_item).joinedload(Item.meeting),
        joinedload(Item.origin_item).joinedload(Item.ticket).joinedload(Ticket.status),
        joinedload(Item.superseded_by).joinedload(Item.meeting),
    )


def with_provenance(user, items: list[Item]) -> list[Decision]:
    """Moves, revisions and superseding for a page: a few queries, not per row. A decision
    in a project the user may not see is never shown, even as the one that superseded."""
    if not items:
        return []
    ids = [i.id for i in items]
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
    for old in db.session.scalars(
        sa.select(Item)
        .join(Meeting, Meeting.id == Item.meeting_id)
        .where(
            Item.superseded_by_id.in_(ids),
            Item.deleted_at.is_(None),
            permissions.visible(user, Meeting.unit_id),
        )
        .options(joinedload(Item.meeting))
    ):
        supersedes[old.superseded_by_id].append(old)
    successors = {i.superseded_by_id for i in items if i.superseded_by_id}
    visible_successors = (
        set(
            db.session.scalars(
                sa.select(Item.id)
                .join(Meeting, Meeting.id == Item.meeting_id)
                .where(Item.id.in_(successors), permissions.visible(user, Meeting.unit_id))
            )
        )
        if successors
        else set()
    )
    confirmed = confirmed_revisions({i.meeting_id for i in items})
    out = []
    for item in items:
        revision = next(
            (
                rev
                for rev, result_ids in confirmed.get(item.meeting_id, [])
                if item.id in result_ids
            ),
            None,
        )
        successor = item.superseded_by if item.superseded_by_id in visible_successors else None
        out.append(Decision(item, moved.get(item.id), revision, supersedes[item.id], successor))
    return out


def confirmed_revisions(meeting_ids) -> dict[int, list[tuple[Revision, set[int]]]]:
    """{meeting id: [(confirmed revision, ids of the results it holds)], newest first}.

    Confirmed: every attendee present at the freeze signed it off with no objection (the
    rule of minutes.revisions), computed for all the meetings at once.
    """
    if not meeting_ids:
        return {}
    revs = list(
        db.session.scalars(
            sa.select(Revision)
            .where(Revision.meeting_id.in_(list(meeting_ids)))
            .order_by(Revision.meeting_id, Revision.number.desc())
            .options(defer(Revision.content))
        )
    )
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
            out[rev.meeting_id].append((rev, results))
    return out


# What a revision's content says (who was present, which results it holds), per revision id
# and fingerprint: a revision never changes, so its JSON is parsed once per process.
_FACTS: OrderedDict[tuple[int, str], tuple[tuple[int, ...], frozenset[int]]] = OrderedDict()
FACTS_SIZE = 20_000


def _revision_facts(revs: list[Revision]) -> dict:
    missing = [r.id for r in revs if (r.id, r.fingerprint) not in _FACTS]
    if missing:
        for rev_id, fingerprint, text in db.session.execute(
            sa.select(Revision.id, Revision.fingerprint, Revision.content).where(
                Revision.id.in_(missing)
            )
        ):
            content = json.loads(text)
            _FACTS[rev_id, fingerprint] = (
                tuple(a["id"] for a in content["attendees"] if a["present"]),
                frozenset(r["id"] for r in content.get("results", [])),
            )
        while len(_FACTS) > FACTS_SIZE:
            _FACTS.popitem(last=False)
    return {(r.id, r.fingerprint): _FACTS[r.id, r.fingerprint] for r in revs}


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
