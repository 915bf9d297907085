"""What minutes tells the lower layers it builds on, which do not import it: tickets learn which
minutes point at a ticket (tickets/hooks.py), attachments learn that files hang on meetings
(attachments/files.py). register() runs when the minutes blueprint is registered."""

from __future__ import annotations

import sqlalchemy as sa

import permissions
from attachments import files
from core import errors
from core.extensions import db
from minutes.models import Item, Meeting
from tickets import hooks as ticket_hooks
from tickets.models import Ticket


def register(state=None) -> None:
    ticket_hooks.register_minutes(references=references, links=links)
    files.register_container("meeting", Meeting, Meeting.unit_id, attach_to_meeting)


def references(ticket: Ticket) -> bool:
    """A ticket that minutes name cannot be deleted, not even through a deleted item."""
    return (
        db.session.scalar(sa.select(Item.id).where(Item.ticket_id == ticket.id).limit(1))
        is not None
    )


def links(ticket: Ticket) -> list[ticket_hooks.MinutesLink]:
    items = db.session.scalars(
        sa.select(Item)
        .where(Item.ticket_id == ticket.id, Item.deleted_at.is_(None))
        .options(sa.orm.joinedload(Item.meeting))
        .order_by(Item.id)
    ).all()
    return [
        ticket_hooks.MinutesLink(
            kind=item.kind,
            item_id=item.id,
            meeting_id=item.meeting.id,
            meeting_title=item.meeting.title,
            meeting_starts_at=item.meeting.starts_at,
        )
        for item in items
    ]


def attach_to_meeting(actor, attachment, meeting: Meeting, notes: str = "") -> None:
    """Members add files to a meeting; unlike a ticket's, the change is not journaled."""
    if actor is not None and not permissions.can_attach_to_meeting(actor, meeting):
        raise errors.Forbidden("attach to meeting")
    files.hang(attachment, meeting)
