"""What minutes, a higher layer, tells tickets about a ticket, so that tickets never import it.

Minutes registers its functions when its blueprint is registered (minutes/hooks.py); until then
no ticket is referenced by minutes.

    referenced_by_minutes(ticket)  → True while an item of some minutes points at it
    minutes_links(ticket)          → the homework and goals it backs, for the ticket's page
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tickets.models import Ticket


@dataclass(frozen=True)
class MinutesLink:
    """An item of a meeting's minutes that a ticket backs."""

    kind: str  # homework | goal
    item_id: int
    meeting_id: int
    meeting_title: str
    meeting_starts_at: datetime


@dataclass(frozen=True)
class MinutesHooks:
    # Any item, deleted ones included: their history still names the ticket.
    references: Callable[[Ticket], bool]
    # Items not deleted, in the order they were made.
    links: Callable[[Ticket], list[MinutesLink]]


_hooks = MinutesHooks(references=lambda ticket: False, links=lambda ticket: [])


def register_minutes(references: Callable[[Ticket], bool], links: Callable) -> None:
    global _hooks
    _hooks = MinutesHooks(references, links)


def referenced_by_minutes(ticket: Ticket) -> bool:
    return _hooks.references(ticket)


def minutes_links(ticket: Ticket) -> list[MinutesLink]:
    return _hooks.links(ticket)


def is_homework(ticket: Ticket) -> bool:
    return any(link.kind == "homework" for link in minutes_links(ticket))
