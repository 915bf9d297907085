"""Tickets: create, change (journaled, workflow-checked, optimistic locking), parent rules.

Every change is a Journal with JournalDetails (Redmine's shape: property "attr", name as in
Redmine's API — status_id, assigned_to_id, due_date …, old and new value as text).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

import permissions
from accounts.models import User
from attachments.models import Attachment
from core import errors, textfields
from core.extensions import db
from core.timeutil import utcnow
from projects.models import Project
from tickets import hooks
from tickets.models import (
    Journal,
    JournalDetail,
    Priority,
    Status,
    Ticket,
    Tracker,
    Transition,
)


class StaleTicket(errors.StaleVersion):
    """Someone saved the ticket after the caller loaded it (optimistic locking)."""

    def __init__(self, ticket: Ticket):
        super().__init__(
            _("Ticket #%(id)s was changed by someone else in the meantime.", id=ticket.id), ticket
        )
        self.ticket = ticket


# Ticket attribute → the name Redmine's API and journals use for it.
JOURNALED = {
    "project_id": "project_id",
    "tracker_id": "tracker_id",
    "status_id": "status_id",
    "priority_id": "priority_id",
    "subject": "subject",
    "description": "description",
    "assignee_id": "assigned_to_id",
    "guest_name": "guest_name",
    "start_date": "start_date",
    "due_date": "due_date",
    "done_ratio": "done_ratio",
    "parent_id": "parent_id",
    "decision": "decision",
    "is_private": "is_private",
}


def default_priority() -> Priority:
    return db.session.scalar(
        sa.select(Priority).order_by(Priority.is_default.desc(), Priority.position)
    )


def default_tracker() -> Tracker:
    return db.session.scalar(sa.select(Tracker).order_by(Tracker.position))


def done_status() -> Status:
    """The closed status an automatic close uses (完了)."""
    return db.session.scalar(
        sa.select(Status).where(Status.is_closed.is_(True)).order_by(Status.position)
    )


def _as_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):  # as Redmine's journal keeps is_private
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _id(value):
    return value.id if hasattr(value, "id") else value


def _normalise(data: dict) -> dict:
    """Accept objects or ids for the relations (tracker, status, assignee, parent …)."""
    out = dict(data)
    for key, column in (
        ("tracker", "tracker_id"),
        ("status", "status_id"),
        ("priority", "priority_id"),
        ("assignee", "assignee_id"),
        ("parent", "parent_id"),
        ("project", "project_id"),
    ):
        if key in out:
            out[column] = _id(out.pop(key))
    if "is_private" in out:
        out["is_private"] = bool(out["is_private"])
    for field, (label, limit, multiline) in _TEXTS.items():
        if field in out and (out[field] is not None or field == "subject"):
            out[field] = textfields.checked(
                out[field],
                field=field,
                label=label(),
                limit=limit,
                error=errors.Invalid,
                multiline=multiline,
                strip=not multiline,
            )
    return out


# Text attributes: (label in Redmine's words, longest length, multi-line).
_TEXTS = {
    "subject": (lambda: _("Subject"), textfields.SUBJECT, False),
    "description": (lambda: _("Description"), textfields.LONG_TEXT, True),
    "guest_name": (lambda: _("Assignee (guest)"), textfields.NAME, False),
    "decision": (lambda: _("Decision"), textfields.LONG_TEXT, True),
}


def _checked_notes(notes: str | None) -> str:
    return textfields.checked(
        notes,
        field="notes",
        label=_("Notes"),
        limit=textfields.LONG_TEXT,
        error=errors.Invalid,
        multiline=True,
        strip=False,
    )


def _check_subject(subject: str) -> None:
    if not subject:
        raise errors.Invalid(_("Subject cannot be blank."), "subject")


def _check_parent(ticket: Ticket | None, parent_id: int | None, actor=None, meeting=None) -> None:
    if parent_id is None:
        return
    parent = db.session.get(Ticket, parent_id)
    # A child is journaled on its parent and closes or re-opens it: linking one changes the
    # parent, so seeing it is not enough.
    if parent is None or (
        actor is not None
        and not (
            permissions.can_view_ticket(actor, parent)
            and permissions.can_change_ticket(actor, parent, meeting)
        )
    ):
        raise errors.Invalid(_("Parent task is invalid."), "parent_id")
    node = parent
    while node is not None:  # a ticket can never become its own ancestor
        if ticket is not None and node.id == ticket.id:
            raise errors.Invalid(
                _("Parent task is invalid (it would be its own ancestor)."), "parent_id"
            )
        node = node.parent


def create_ticket(
    actor: User | None,
    unit: Project,
    data: dict,
    attachments: list[Attachment] = (),
    meeting=None,
) -> Ticket:
    """A new ticket in `unit`. `actor` None means the system (scheduled jobs, imports, test
    builders); a person's ticket carries the person.

    `attachments` (from attachments.files.store_upload) are attached to it. `meeting`: made
    through those minutes (homework), so the minutes rule counts (permissions.can_add_ticket).
    """
    if actor is not None and not permissions.can_add_ticket(actor, unit, meeting):
        raise errors.Forbidden("add ticket")
    data = _normalise(data)
    _check_subject(data.get("subject", ""))
    is_private = bool(data.get("is_private"))
    if is_private and actor is not None and not permissions.can_set_ticket_private(actor, unit):
        raise errors.Forbidden("set ticket private")
    tracker = db.session.get(Tracker, data.get("tracker_id") or 0) or default_tracker()
    status_id = data.get("status_id") or tracker.default_status_id
    _check_parent(None, data.get("parent_id"), actor, meeting)
    now = utcnow()
    ticket = Ticket(
        project_id=unit.id,
        tracker_id=tracker.id,
        status_id=status_id,
        priority_id=data.get("priority_id") or default_priority().id,
        subject=data["subject"],
        description=data.get("description") or "",
        assignee_id=data.get("assignee_id"),
        guest_name=data.get("guest_name") or None,
        start_date=data.get("start_date"),
        due_date=data.get("due_date"),
        done_ratio=data.get("done_ratio") or 0,
        parent_id=data.get("parent_id"),
        is_private=is_private,
        author_id=actor.id if actor is not None else data.get("author_id"),
        created_at=now,
        updated_at=now,
    )
    db.session.add(ticket)
    db.session.flush()
    if ticket.status.is_closed:
        ticket.closed_at = now
    for attachment in attachments:
        _link(attachment, ticket)
    if ticket.parent_id is not None:
        _journal(ticket.parent, actor, "", [("attr", "child_id", None, str(ticket.id))])
        _propagate_to_parent(ticket)
    db.session.flush()
    return ticket


def _allowed_statuses() -> sa.Select:
    """The status `status_id` and those the workflow lets `role` move a ticket of `tracker_id`
    to from there; built once, as it is read for every ticket page shown."""
    status_id = sa.bindparam("status_id", type_=sa.Integer)
    targets = sa.select(Transition.to_status_id).where(
        Transition.tracker_id == sa.bindparam("tracker_id", type_=sa.Integer),
        Transition.role == sa.bindparam("role", type_=sa.String),
        Transition.from_status_id == status_id,
    )
    return (
        sa.select(Status)
        .where(sa.or_(Status.id == status_id, Status.id.in_(targets)))
        .order_by(Status.position)
    )


_ALLOWED_STATUSES = _allowed_statuses()


def allowed_statuses(actor: User | None, ticket: Ticket) -> list[Status]:
    """The ticket's status and those the workflow lets `actor` move it to."""
    role = "manager" if actor is None else permissions.role_in(actor, ticket.project)
    if role is None or role == "viewer":
        return [ticket.status]
    params = {"status_id": ticket.status_id, "tracker_id": ticket.tracker_id, "role": role}
    return list(db.session.scalars(_ALLOWED_STATUSES, params))


def update_ticket(
    actor: User | None,
    ticket: Ticket,
    changes: dict,
    notes: str = "",
    expected_version: int | None = None,
    private_notes: bool = False,
    attachments: list[Attachment] = (),
    meeting=None,
) -> Journal | None:
    """Apply `changes`, journal them with `notes` as `actor` (None: the system, never a
    person's change); returns the journal (None if nothing changed).

    `attachments` (unattached uploads) are attached and journaled in the same entry.
    `meeting`: the change is made through those minutes (homework kept open, decided, struck):
    the minutes rule counts (permissions.can_change_ticket) and the minutes decide the status,
    so the workflow does not apply."""
    if actor is not None and not permissions.can_change_ticket(actor, ticket, meeting):
        raise errors.Forbidden("edit ticket")
    if expected_version is not None and expected_version != ticket.version:
        raise StaleTicket(ticket)
    notes = _checked_notes(notes)
    changes = _normalise(changes)
    if "subject" in changes:
        _check_subject(changes["subject"])
    if "project_id" in changes and changes["project_id"] != ticket.project_id:
        target = db.session.get(Project, changes["project_id"] or 0)
        if target is None or (
            actor is not None and not permissions.can_add_ticket(actor, target, meeting)
        ):
            raise errors.Forbidden("move ticket")
    if "parent_id" in changes and changes["parent_id"] != ticket.parent_id:
        old = ticket.parent  # it loses a child, and may close or re-open: it changes too
        if (
            old is not None
            and actor is not None
            and not permissions.can_change_ticket(actor, old, meeting)
        ):
            raise errors.Invalid(_("Parent task is invalid."), "parent_id")
        _check_parent(ticket, changes["parent_id"], actor, meeting)
    if (
        "is_private" in changes
        and bool(changes["is_private"]) != ticket.is_private
        and actor is not None
        and not permissions.can_set_ticket_private(actor, ticket.project)
    ):
        raise errors.Forbidden("set ticket private")
    if meeting is None and "status_id" in changes and changes["status_id"] != ticket.status_id:
        allowed = {s.id for s in allowed_statuses(actor, ticket)}
        if changes["status_id"] not in allowed:
            target = db.session.get(Status, changes["status_id"])
            raise errors.Invalid(
                _(
                    "The workflow does not allow moving from %(old)s to %(new)s.",
                    old=ticket.status.name,
                    new=target.name if target else changes["status_id"],
                ),
                "status_id",
            )
    details = []
    old_parent = ticket.parent
    was_closed = ticket.status.is_closed
    for attr, name in JOURNALED.items():
        if attr in changes and changes[attr] != getattr(ticket, attr):
            details.append(("attr", name, _as_text(getattr(ticket, attr)), _as_text(changes[attr])))
            setattr(ticket, attr, changes[attr])
    for attachment in attachments:
        _link(attachment, ticket)
        details.append(("attachment", str(attachment.id), None, attachment.filename))
    if not details and not notes:
        return None
    db.session.flush()
    db.session.refresh(ticket, ["status", "parent"])
    now_closed = ticket.status.is_closed
    if now_closed and not was_closed:
        ticket.closed_at = utcnow()
    elif was_closed and not now_closed:
        ticket.closed_at = None
    journal = _journal(ticket, actor, notes, details, private_notes=private_notes)
    if old_parent is not None and old_parent is not ticket.parent:
        _propagate_to_parent_of(old_parent, actor=None)
    if now_closed != was_closed or ticket.parent is not old_parent:
        _propagate_to_parent(ticket)
    return journal


def add_note(actor: User, ticket: Ticket, notes: str, private: bool = False) -> Journal:
    if not permissions.can_comment_ticket(actor, ticket):
        raise errors.Forbidden("comment")
    notes = _checked_notes(notes)
    if not notes.strip():
        raise errors.Invalid(_("Notes cannot be blank."), "notes")
    return _journal(ticket, actor, notes, [], private_notes=private)


def journal_change(actor: User | None, ticket: Ticket, notes: str, details: list) -> Journal:
    """Record a change made elsewhere (e.g. an attachment): details are
    (property, name, old value, new value) tuples, as JournalDetail holds them."""
    if actor is not None and not permissions.can_change_ticket(actor, ticket):
        raise errors.Forbidden("edit ticket")
    return _journal(ticket, actor, _checked_notes(notes), details)


def _link(attachment: Attachment, ticket: Ticket) -> None:
    if attachment.container_id is not None:
        raise errors.Invalid(_("This file is already attached elsewhere."), "attachments")
    attachment.container_type, attachment.container_id = "ticket", ticket.id


def attach_file(actor: User | None, attachment: Attachment, ticket: Ticket, notes: str = ""):
    """A file hung on a ticket after the fact (attachments.files.attach): a journaled update,
    as Redmine records it."""
    return update_ticket(actor, ticket, {}, notes, attachments=[attachment])


def children_done(ticket: Ticket) -> tuple[int, int]:
    """(closed children, all children) of `ticket`."""
    closed, total = db.session.execute(
        sa.select(
            sa.func.count(Status.id).filter(Status.is_closed.is_(True)), sa.func.count(Ticket.id)
        )
        .select_from(Ticket)
        .join(Status, Status.id == Ticket.status_id)
        .where(Ticket.parent_id == ticket.id)
    ).one()
    return closed, total


def _journal(ticket, actor, notes, details, private_notes=False) -> Journal:
    journal = Journal(
        ticket=ticket,
        user_id=actor.id if actor is not None else None,
        notes=notes or "",
        private_notes=private_notes,
        created_at=utcnow(),
    )
    for prop, name, old, new in details:
        journal.details.append(
            JournalDetail(property=prop, name=name, old_value=old, new_value=new)
        )
    db.session.add(journal)
    ticket.version += 1
    ticket.updated_at = journal.created_at
    db.session.flush()
    return journal


def _propagate_to_parent(child: Ticket) -> None:
    if child.parent is not None:
        _propagate_to_parent_of(child.parent, actor=None)


def _propagate_to_parent_of(parent: Ticket, actor) -> None:
    """All children closed → close the parent; an open child under a closed parent → re-open.

    The change is journaled by the system (user None) with a note saying why, and walks up.
    """
    children = db.session.scalars(sa.select(Ticket).where(Ticket.parent_id == parent.id)).all()
    if not children:
        return
    all_closed = all(c.status.is_closed for c in children)
    if all_closed and not parent.status.is_closed:
        target = done_status()
        note = _("Closed automatically: all %(n)s child tickets are closed.", n=len(children))
    elif not all_closed and parent.status.is_closed:
        target = _reopen_status(parent)
        note = _("Re-opened automatically: a child ticket was re-opened.")
    else:
        return
    details = [("attr", "status_id", str(parent.status_id), str(target.id))]
    parent.status_id = target.id
    parent.closed_at = utcnow() if target.is_closed else None
    db.session.flush()
    db.session.refresh(parent, ["status"])
    _journal(parent, actor, note, details)
    _propagate_to_parent(parent)


def _reopen_status(ticket: Ticket) -> Status:
    """The open status the ticket had before it was closed, else its tracker's default."""
    last_open = db.session.scalar(
        sa.select(JournalDetail.old_value)
        .join(Journal, Journal.id == JournalDetail.journal_id)
        .join(Status, Status.id == sa.cast(JournalDetail.old_value, sa.Integer))
        .where(
            Journal.ticket_id == ticket.id,
            JournalDetail.name == "status_id",
            Status.is_closed.is_(False),
        )
        .order_by(Journal.id.desc())
        .limit(1)
    )
    status = db.session.get(Status, int(last_open)) if last_open else None
    return status or db.session.get(Status, ticket.tracker.default_status_id)


def delete_ticket(actor: User, ticket: Ticket) -> None:
    """Delete a ticket, never silently: refused while minutes or children depend on it, and
    recorded on the parent's history (Redmine's child_id detail, with the subject in the note)."""
    if not permissions.can_delete_ticket(actor, ticket):
        raise errors.Forbidden("delete ticket")
    if ticket.parent is not None and not permissions.can_change_ticket(actor, ticket.parent):
        raise errors.Forbidden("change parent ticket")  # its history records the deletion
    if hooks.referenced_by_minutes(ticket):
        raise errors.Invalid(
            _(
                "Ticket #%(id)s belongs to the minutes of a meeting and cannot be deleted.",
                id=ticket.id,
            )
        )
    if db.session.scalar(sa.select(Ticket.id).where(Ticket.parent_id == ticket.id).limit(1)):
        raise errors.Invalid(
            _("Ticket #%(id)s has child tickets: delete or move them first.", id=ticket.id)
        )
    parent = ticket.parent
    db.session.execute(
        sa.delete(Attachment).where(
            Attachment.container_type == "ticket", Attachment.container_id == ticket.id
        )
    )
    db.session.delete(ticket)
    db.session.flush()
    if parent is not None:
        note = _(
            "Child ticket #%(id)s “%(subject)s” was deleted.", id=ticket.id, subject=ticket.subject
        )
        _journal(parent, actor, note, [("attr", "child_id", str(ticket.id), None)])
        _propagate_to_parent_of(parent, actor=None)
