"""The dashboard's homework lists: their filters, a page of homework and the oldest open
(see reports/queries.py for what homework is)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from accounts.models import User
from core import parsing
from core.extensions import db
from reports.queries import (
    PAGE_SIZE,
    STATES,
    Clock,
    HomeworkLine,
    OpenHomework,
    homework_where,
    state_clause,
    ticket_loads,
    with_items,
)
from tickets.models import Status, Ticket

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
            return parsing.id_or_none(value)

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
        out = [state_clause(self.state, clock)]
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
            .options(*ticket_loads())
        ).unique()
    )
    return with_items(user, tickets), total


def oldest_open(user, project=None) -> list[HomeworkLine]:
    return OpenHomework(user, project).oldest(user)
