"""What a ticket's page shows beside its fields: related tickets, watchers and the values of
custom fields (kept from Redmine, read only).

    relations_of(ticket, user)  → [Related]: each relation as read from this ticket, the other
                                  ticket given only where `user` may see it
    watchers_of(ticket)         → [User]
    custom_values_of(ticket)    → [(field, [values for people])] in the fields' order
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

import permissions
from accounts.models import User
from core import formatting
from core.extensions import db
from tickets.models import CustomField, CustomValue, Relation, Ticket, Watcher

# Redmine's relation types as read from either end: a relation is stored from its first
# ticket (the forward type), the second reads it reversed.
REVERSE = {
    "relates": "relates",
    "duplicates": "duplicated",
    "blocks": "blocked",
    "precedes": "follows",
    "copied_to": "copied_from",
}
FORWARD = {reverse: forward for forward, reverse in REVERSE.items() if forward != reverse}
LABELS = {
    "relates": _l("Related to"),
    "duplicates": _l("Is duplicate of"),
    "duplicated": _l("Has duplicate"),
    "blocks": _l("Blocks"),
    "blocked": _l("Blocked by"),
    "precedes": _l("Precedes"),
    "follows": _l("Follows"),
    "copied_to": _l("Copied to"),
    "copied_from": _l("Copied from"),
}


def relation_label(relation_type: str) -> str:
    return str(LABELS.get(relation_type, relation_type))


@dataclass(frozen=True)
class Related:
    relation: Relation
    relation_type: str  # as read from the ticket shown
    other_id: int
    other: Ticket | None  # None: the reader may not see it

    @property
    def label(self) -> str:
        return relation_label(self.relation_type)


def relations(ticket: Ticket) -> list[Relation]:
    """Both directions, in the order they were made."""
    return list(
        db.session.scalars(
            sa.select(Relation)
            .where(sa.or_(Relation.ticket_from_id == ticket.id, Relation.ticket_to_id == ticket.id))
            .order_by(Relation.id)
        )
    )


def relations_of(ticket: Ticket, user) -> list[Related]:
    found = relations(ticket)
    others = {r.ticket_to_id if r.ticket_from_id == ticket.id else r.ticket_from_id for r in found}
    visible = {}
    if others:
        visible = {
            t.id: t
            for t in db.session.scalars(
                sa.select(Ticket)
                .where(Ticket.id.in_(others), permissions.visible_ticket(user, Ticket))
                .options(joinedload(Ticket.status), joinedload(Ticket.tracker))
            )
        }
    shown = []
    for r in found:
        forward = r.ticket_from_id == ticket.id
        other_id = r.ticket_to_id if forward else r.ticket_from_id
        kind = r.relation_type if forward else REVERSE.get(r.relation_type, r.relation_type)
        shown.append(Related(r, kind, other_id, visible.get(other_id)))
    return shown


def watchers_of(ticket: Ticket) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Watcher, Watcher.user_id == User.id)
            .where(Watcher.ticket_id == ticket.id)
            .order_by(User.name, User.id)
        )
    )


def custom_values_of(ticket: Ticket) -> list[tuple[CustomField, list[str]]]:
    """Each field with a value on the ticket, in the fields' order; empty values left out."""
    rows = db.session.execute(
        sa.select(CustomField, CustomValue.value)
        .join(CustomValue, CustomValue.custom_field_id == CustomField.id)
        .where(CustomValue.ticket_id == ticket.id)
        .order_by(CustomField.position, CustomField.id, CustomValue.id)
    ).all()
    fields: dict[int, tuple[CustomField, list[str]]] = {}
    for field, value in rows:
        entry = fields.setdefault(field.id, (field, []))
        shown = display_value(field, value)
        if shown is not None:
            entry[1].append(shown)
    return [entry for entry in fields.values() if entry[1]]


def display_value(field: CustomField | None, value: str | None) -> str | None:
    """A custom field's stored value for people: yes or no, a date in Japanese style, a
    person's name (a user field holds Sanmai's user id)."""
    if value in (None, ""):
        return None
    kind = field.field_format if field is not None else None
    if kind == "bool":
        return _("Yes") if value == "1" else _("No")
    if kind == "date":
        try:
            return formatting.format_date(date.fromisoformat(value))
        except ValueError:
            return value
    if kind == "user" and value.isdigit():
        user = db.session.get(User, int(value))
        return user.name if user is not None else f"#{value}"
    return value
