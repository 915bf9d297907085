"""Minutes: meetings, attendees and the items of the three sheets.

Every write goes through `_begin_write`, which bumps the meeting's `change_seq` with one SQL
UPDATE (so it takes the row's write lock first: writers to one meeting are serialised and the
version checks below see the latest committed state) and `_event` writes the ItemEvent for that
seq. Live viewers ask "anything after seq N?" (see docs/LIVE.md).

Homework keeps who / what / by-when on its ticket only (assignee or guest_name, subject,
due_date): the item points at the ticket, so the minutes and the ticket cannot drift.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.attributes import set_committed_value

import permissions
from accounts.models import User
from core import errors, textfields
from core.extensions import db
from core.timeutil import utcnow
from minutes.models import ITEM_KINDS, MEETING_STATUSES, Attendee, Item, ItemEvent, Meeting
from projects.models import Project
from tickets import services as tickets
from tickets.models import Status, Ticket, Tracker

HOMEWORK_TRACKER = "問い合わせ管理"
# Items that share one ordering: results are ordered among results, sheet ③ as one list.
ORDER_GROUP = {"goal": ("goal",), "result": ("result",), "homework": ("homework",)}
ORDER_GROUP["break"] = ORDER_GROUP["preview"] = ("break", "preview")
# Moves between sheets the talk describes (same meeting), in the order the projector offers
# them; other targets are refused.
MOVES = {
    "preview": ("result", "homework", "goal", "break"),
    "break": ("result", "homework", "goal", "preview"),
    "homework": ("result",),
    "goal": ("preview", "break"),
    "result": ("preview", "break", "homework"),
}
# Kinds a later meeting can take over as a goal (pull_as_goal).
TAKEN_OVER_AS_GOAL = ("preview", "break")


class StaleItem(errors.StaleVersion):
    """Someone saved the item after the caller loaded it; `item` is the current state."""

    def __init__(self, item: Item):
        super().__init__(
            _("Someone else saved this item in the meantime. Its current text is shown."), item
        )
        self.item = item


# --- helpers ---------------------------------------------------------------------------------


def _bump(meeting: Meeting) -> int:
    """Take the meeting's next change_seq in SQL: the UPDATE takes the row's write lock first,
    so writers to one meeting are serialised and read the latest committed state after it."""
    seq = db.session.execute(
        sa.update(Meeting)
        .where(Meeting.id == meeting.id)
        .values(change_seq=Meeting.change_seq + 1)
        .returning(Meeting.change_seq),
        execution_options={"synchronize_session": False},
    ).scalar_one()
    set_committed_value(meeting, "change_seq", seq)
    db.session.refresh(meeting, ["status", "version"])
    return seq


def _begin_write(actor: User | None, meeting: Meeting) -> int:
    """Check the rules and take the next change_seq (and the meeting row's write lock)."""
    permissions.require_edit_minutes(actor, meeting)
    seq = _bump(meeting)
    permissions.require_unlocked(meeting)  # confirmed while we were waiting for the lock
    if meeting.status == "awaiting_confirmation":  # edited after freezing: revision N+1 next
        from minutes import revisions

        revisions.start_new_revision(actor, meeting, seq)
    return seq


def _event(actor, meeting, seq, action, item=None, before=None, after=None) -> ItemEvent:
    event = ItemEvent(
        meeting_id=meeting.id,
        item_id=item.id if item is not None else None,
        seq=seq,
        actor_id=actor.id if actor is not None else None,
        action=action,
        before=before,
        after=after,
        at=utcnow(),
    )
    db.session.add(event)
    return event


def _check_version(item: Item, expected_version: int | None) -> None:
    if expected_version is None:
        return
    db.session.refresh(item)
    if item.ticket is not None:
        db.session.refresh(item.ticket)
    if int(expected_version) != item.version:
        raise StaleItem(item)


def _check_text(text: str | None, kind: str) -> str:
    text = _text(text, "text", _("Text"), textfields.ITEM_TEXT, multiline=True)
    if not text:
        raise errors.Invalid(_("The text cannot be blank."), "text")
    return text


def _text(value, field: str, label: str, limit: int, multiline: bool = False) -> str:
    """`value` cleaned and stripped (textfields), or errors.Invalid naming `field`."""
    return textfields.checked(
        value, field=field, label=label, limit=limit, error=errors.Invalid, multiline=multiline
    )


def _id(value):
    return value.id if hasattr(value, "id") else value


def _facilitator_id(value) -> int | None:
    """The id of an existing user (a User or an id), or None for nobody."""
    value = _id(value)
    if value in (None, "", 0):
        return None
    if not isinstance(value, int) or db.session.get(User, value) is None:
        raise errors.Invalid(_("There is no such user."), "facilitator_id")
    return value


def snapshot(item: Item) -> dict:
    """What an item says, for ItemEvent before/after and the API (homework from its ticket)."""
    data = {
        "kind": item.kind,
        "text": item.text,
        "position": item.position,
        "meeting_id": item.meeting_id,
        "parent_item_id": item.parent_item_id,
        "ticket_id": item.ticket_id,
    }
    if item.kind == "homework" and item.ticket is not None:
        t = item.ticket
        data.update(
            who=t.who,
            assignee_id=t.assignee_id,
            what=t.subject,
            due_date=t.due_date.isoformat() if t.due_date else None,
        )
    return data


def group_items(meeting_id: int, kind: str) -> list[Item]:
    """The live items `kind` is ordered among, in order."""
    return list(
        db.session.scalars(
            sa.select(Item)
            .where(
                Item.meeting_id == meeting_id,
                Item.kind.in_(ORDER_GROUP[kind]),
                Item.deleted_at.is_(None),
            )
            .order_by(Item.position, Item.id)
        )
    )


def _next_position(meeting_id: int, kind: str) -> int:
    top = db.session.scalar(
        sa.select(sa.func.max(Item.position)).where(
            Item.meeting_id == meeting_id, Item.kind.in_(ORDER_GROUP[kind])
        )
    )
    return 0 if top is None else top + 1


def _goal(meeting: Meeting, goal) -> Item | None:
    if goal is None:
        return None
    goal = goal if isinstance(goal, Item) else db.session.get(Item, int(goal))
    if goal is None or goal.meeting_id != meeting.id or goal.kind != "goal" or goal.is_deleted:
        raise errors.Invalid(_("Choose a goal of this meeting."), "parent_item_id")
    return goal


def _linked_ticket(meeting: Meeting, ticket) -> Ticket | None:
    """A ticket a goal points at: any ticket of the same fiscal-year project."""
    if ticket in (None, "", 0):
        return None
    ticket = ticket if isinstance(ticket, Ticket) else db.session.get(Ticket, int(ticket))
    if ticket is None or ticket.project.root.id != meeting.unit.root.id:
        raise errors.Invalid(_("There is no such ticket in this project."), "ticket_id")
    return ticket


# --- meetings --------------------------------------------------------------------------------


def create_meeting(actor: User | None, unit: Project, data: dict) -> Meeting:
    """A draft meeting in a business unit; `data`: title, starts_at, ends_at, place, facilitator."""
    if not unit.is_unit:
        raise errors.Invalid(_("Meetings belong to a business unit."), "unit")
    if actor is not None and not permissions.can_create_meeting(actor, unit):
        raise errors.Forbidden("create meeting")
    meeting = Meeting(
        unit=unit,
        title=_meeting_title(data.get("title")),
        starts_at=data["starts_at"],
        ends_at=data.get("ends_at"),
        place=_text(data.get("place"), "place", _("Place"), textfields.TITLE),
        facilitator_id=_facilitator_id(data.get("facilitator", data.get("facilitator_id")))
        or (actor.id if actor is not None else None),
        status="draft",
        previous_id=_id(data.get("previous")),
        created_by_id=actor.id if actor is not None else None,
        change_seq=1,
    )
    _check_times(meeting.starts_at, meeting.ends_at)
    db.session.add(meeting)
    db.session.flush()
    _event(actor, meeting, 1, "create_meeting", after={"title": meeting.title})
    db.session.flush()
    return meeting


def _meeting_title(title) -> str:
    title = _text(title, "title", _("Title"), textfields.TITLE)
    if not title:
        raise errors.Invalid(_("The title cannot be blank."), "title")
    return title


def _check_times(starts_at: datetime, ends_at: datetime | None) -> None:
    if ends_at is not None and ends_at < starts_at:
        raise errors.Invalid(_("The meeting cannot end before it starts."), "ends_at")


def update_meeting(
    actor: User | None, meeting: Meeting, data: dict, expected_version: int | None = None
) -> Meeting:
    seq = _begin_write(actor, meeting)
    db.session.refresh(meeting)
    if expected_version is not None and int(expected_version) != meeting.version:
        raise errors.Invalid(
            _("Someone else changed this meeting in the meantime. Reload and try again."),
            "version",
        )
    before, after = {}, {}
    for key in ("title", "starts_at", "ends_at", "place", "facilitator_id"):
        if key not in data:
            continue
        value = data[key]
        if key == "title":
            value = _meeting_title(value)
        elif key == "place":
            value = _text(value, "place", _("Place"), textfields.TITLE)
        elif key == "facilitator_id":
            value = _facilitator_id(value)
        if value != getattr(meeting, key):
            before[key], after[key] = _plain(getattr(meeting, key)), _plain(value)
            setattr(meeting, key, value)
    _check_times(meeting.starts_at, meeting.ends_at)
    meeting.version += 1
    _event(actor, meeting, seq, "edit_meeting", before=before, after=after)
    db.session.flush()
    return meeting


def _plain(value):
    return value.isoformat() if isinstance(value, date | datetime) else value


def set_status(actor: User | None, meeting: Meeting, status: str) -> Meeting:
    """draft → in_session → awaiting_confirmation; `confirmed` is set by the confirmation."""
    if status not in MEETING_STATUSES:
        raise errors.Invalid(_("Unknown meeting status."), "status")
    if actor is not None and not permissions.can_run_meeting(actor, meeting):
        raise errors.Forbidden("run meeting")
    # Not _begin_write: a status change is not an edit of the text (and may leave confirmed).
    seq = _bump(meeting)
    before = meeting.status
    meeting.status = status
    _event(actor, meeting, seq, "status", before={"status": before}, after={"status": status})
    db.session.flush()
    return meeting


def touch(actor: User | None, meeting: Meeting, action: str, data: dict | None = None) -> int:
    """Bump change_seq for a change made elsewhere (e.g. a revision frozen or confirmed), so
    live viewers refresh; works on confirmed minutes too (it changes no minutes text)."""
    seq = _bump(meeting)
    _event(actor, meeting, seq, action, after=data)
    db.session.flush()
    return seq


# --- attendees -------------------------------------------------------------------------------


def add_attendee(
    actor: User | None,
    meeting: Meeting,
    user: User | None = None,
    guest_name: str | None = None,
    guest_organisation: str | None = None,
    present: bool = True,
    guest_email: str | None = None,
) -> Attendee:
    if user is None:
        guest_name = _text(guest_name, "guest_name", _("Guest name"), textfields.NAME)
        guest_organisation = _text(
            guest_organisation, "guest_organisation", _("Organisation"), textfields.NAME
        )
        guest_email = _text(guest_email, "guest_email", _("E-mail"), textfields.EMAIL)
    seq = _begin_write(actor, meeting)
    if user is None:
        if not guest_name:
            raise errors.Invalid(_("Choose a member or give the guest's name."), "guest_name")
    elif any(a.user_id == user.id for a in meeting.attendees):
        raise errors.Invalid(_("%(name)s is already an attendee.", name=user.name), "user_id")
    attendee = Attendee(
        meeting=meeting,
        user=user,
        guest_name=None if user is not None else guest_name,
        guest_organisation=None if user is not None else guest_organisation,
        guest_email=None if user is not None else (guest_email or None),
        present=present,
        position=len(meeting.attendees),
    )
    db.session.add(attendee)
    db.session.flush()
    _event(actor, meeting, seq, "add_attendee", after={"name": attendee.name, "present": present})
    db.session.flush()
    return attendee


def set_presence(actor: User | None, attendee: Attendee, present: bool) -> Attendee:
    meeting = attendee.meeting
    seq = _begin_write(actor, meeting)
    attendee.present = bool(present)
    _event(actor, meeting, seq, "presence", after={"name": attendee.name, "present": present})
    db.session.flush()
    return attendee


def remove_attendee(actor: User | None, attendee: Attendee) -> None:
    meeting = attendee.meeting
    seq = _begin_write(actor, meeting)
    _event(actor, meeting, seq, "remove_attendee", before={"name": attendee.name})
    meeting.attendees.remove(attendee)
    db.session.flush()


# --- items -----------------------------------------------------------------------------------


def add_item(
    actor: User | None,
    meeting: Meeting,
    kind: str,
    text: str,
    parent=None,
    ticket=None,
    origin=None,
) -> Item:
    """A goal, result, break or preview item (homework: add_homework)."""
    if kind not in ITEM_KINDS or kind == "homework":
        raise errors.Invalid(_("Unknown kind of item."), "kind")
    text = _check_text(text, kind)
    seq = _begin_write(actor, meeting)
    item = Item(
        meeting_id=meeting.id,
        kind=kind,
        text=text,
        position=_next_position(meeting.id, kind),
        parent_item_id=_goal(meeting, parent).id if kind == "result" and parent else None,
        ticket_id=_id(_linked_ticket(meeting, ticket)) if kind == "goal" else None,
        origin_item_id=_id(origin),
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(item)
    db.session.flush()
    _event(actor, meeting, seq, "add", item, after=snapshot(item))
    db.session.flush()
    return item


def add_homework(
    actor: User | None,
    meeting: Meeting,
    who: User | str | None,
    what: str,
    due_date: date | None,
    goal=None,
    origin=None,
    description: str = "",
) -> Item:
    """Homework with who / what / by-when, backed by a new ticket in the meeting's unit."""
    seq = _begin_write(actor, meeting)
    goal = _goal(meeting, goal)
    ticket = _create_homework_ticket(actor, meeting, who, what, due_date, goal, description)
    item = Item(
        meeting_id=meeting.id,
        kind="homework",
        text="",
        position=_next_position(meeting.id, "homework"),
        parent_item_id=goal.id if goal is not None else None,
        ticket_id=ticket.id,
        origin_item_id=_id(origin),
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(item)
    db.session.flush()
    _event(actor, meeting, seq, "add", item, after=snapshot(item))
    db.session.flush()
    return item


def _who(meeting: Meeting, who) -> dict:
    if isinstance(who, User):
        return {"assignee_id": who.id, "guest_name": None}
    if isinstance(who, int):
        user = db.session.get(User, who)
        if user is None:
            raise errors.Invalid(_("Say who will do it."), "who")
        return {"assignee_id": user.id, "guest_name": None}
    name = _text(who, "who", _("Who"), textfields.NAME)
    if not name:
        raise errors.Invalid(_("Say who will do it."), "who")
    return {"assignee_id": None, "guest_name": name}


def _homework_fields(meeting, who, what, due_date) -> dict:
    what = _text(what, "what", _("What"), textfields.SUBJECT)
    if not what:
        raise errors.Invalid(_("Say what is to be done."), "what")
    if not isinstance(due_date, date):
        raise errors.Invalid(_("Give a date by which it is to be done."), "due_date")
    return {"subject": what, "due_date": due_date, **_who(meeting, who)}


def homework_tracker(unit: Project) -> Tracker:
    chosen = unit.homework_tracker_id or unit.root.homework_tracker_id
    tracker = db.session.get(Tracker, chosen) if chosen else None
    return (
        tracker
        or db.session.scalar(sa.select(Tracker).where(Tracker.name == HOMEWORK_TRACKER))
        or tickets.default_tracker()
    )


def _create_homework_ticket(actor, meeting, who, what, due_date, goal, description) -> Ticket:
    fields = _homework_fields(meeting, who, what, due_date)
    note = _("Homework from the meeting “%(title)s” (#%(id)s).", title=meeting.title, id=meeting.id)
    fields.update(
        tracker_id=homework_tracker(meeting.unit).id,
        parent_id=goal.ticket_id if goal is not None and goal.ticket_id else None,
        description=(description.strip() + "\n\n" if description.strip() else "") + note,
        author_id=actor.id if actor is not None else None,
    )
    try:
        return tickets.create_ticket(actor, meeting.unit, fields, meeting=meeting)
    except errors.Invalid as error:  # a goal's ticket the actor may not change
        raise errors.Invalid(str(error), "parent_item_id") from None


def edit_item(
    actor: User | None,
    item: Item,
    text: str | None = None,
    expected_version: int | None = None,
    ticket=False,
    parent=False,
) -> Item:
    """Change a goal's, result's or sheet ③ item's text (and a goal's ticket, a result's goal)."""
    meeting = item.meeting
    if text is not None:
        text = _check_text(text, item.kind)
    seq = _begin_write(actor, meeting)
    _check_version(item, expected_version)
    _check_alive(item)
    if item.kind == "homework":
        raise errors.Invalid(_("Edit homework through who, what and by when."), "kind")
    before = snapshot(item)
    if text is not None:
        item.text = text
    if ticket is not False and item.kind == "goal":
        item.ticket_id = _id(_linked_ticket(meeting, ticket))
    if parent is not False and item.kind == "result":
        item.parent_item_id = _goal(meeting, parent).id if parent else None
    return _finish(actor, item, seq, "edit", before)


def edit_homework(
    actor: User | None,
    item: Item,
    who=None,
    what: str | None = None,
    due_date: date | None = None,
    expected_version: int | None = None,
) -> Item:
    """Change who / what / by-when: written to the ticket (journaled), never to the item."""
    meeting = item.meeting
    seq = _begin_write(actor, meeting)
    _check_version(item, expected_version)
    _check_alive(item)
    if item.kind != "homework" or item.ticket is None:
        raise errors.Invalid(_("This item is not homework."), "kind")
    before = snapshot(item)
    ticket = item.ticket
    fields = _homework_fields(
        meeting,
        who if who is not None else (ticket.assignee or ticket.guest_name),
        what if what is not None else ticket.subject,
        due_date if due_date is not None else ticket.due_date,
    )
    tickets.update_ticket(actor, ticket, fields, meeting=meeting)
    return _finish(actor, item, seq, "edit", before)


def _check_alive(item: Item) -> None:
    if item.is_deleted:
        raise errors.Invalid(_("This item was deleted."), "deleted")


def _finish(actor, item: Item, seq: int, action: str, before: dict) -> Item:
    item.version += 1
    item.updated_at = utcnow()
    db.session.flush()
    db.session.refresh(item)
    _event(actor, item.meeting, seq, action, item, before=before, after=snapshot(item))
    db.session.flush()
    return item


def move_item(
    actor: User | None,
    item: Item,
    kind: str,
    expected_version: int | None = None,
    parent=None,
    who=None,
    what: str | None = None,
    due_date: date | None = None,
) -> Item:
    """Move an item to another sheet of the same meeting; the item (and its history) stays one.

    preview → result / homework (who, what, by-when required) / goal; homework → result
    (decided in this meeting: its ticket is closed with the decision). A preview taken into a
    later meeting as a goal: pull_as_goal.
    """
    meeting = item.meeting
    seq = _begin_write(actor, meeting)
    _check_version(item, expected_version)
    _check_alive(item)
    if kind not in MOVES.get(item.kind, ()):
        raise errors.Invalid(
            _(
                "An item cannot be moved from %(a)s to %(b)s.",
                a=kind_label(item.kind),
                b=kind_label(kind),
            ),
            "kind",
        )
    before = snapshot(item)
    old_kind = item.kind
    if kind == "homework":
        goal = _goal(meeting, parent)
        ticket = _create_homework_ticket(
            actor, meeting, who, what or _first_line(item.text), due_date, goal, item.text
        )
        item.ticket_id = ticket.id
        item.parent_item_id = goal.id if goal is not None else None
        item.text = ""
    elif old_kind == "homework":
        decision = _check_text(what or item.ticket.subject, kind)
        _close_with_decision(actor, item.ticket, decision, meeting)
        item.text = decision
        item.ticket_id = None
        item.parent_item_id = _goal(meeting, parent).id if parent else item.parent_item_id
    else:
        item.ticket_id = item.ticket_id if kind == "goal" else None
        item.parent_item_id = _goal(meeting, parent).id if kind == "result" and parent else None
    item.kind = kind
    item.position = _next_position(meeting.id, kind)
    # The ticket of homework turned result stays reachable through the history (before).
    return _finish(actor, item, seq, "move", before)


def _first_line(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line.lstrip("#-* ").strip()[:255]


def _close_with_decision(actor, ticket: Ticket, decision: str, meeting: Meeting) -> None:
    if ticket.is_closed:
        return
    done = tickets.done_status()
    note = _("Decided in the meeting “%(title)s” (#%(id)s).", title=meeting.title, id=meeting.id)
    changes = {"status_id": done.id, "decision": decision}
    tickets.update_ticket(actor, ticket, changes, notes=note, meeting=meeting)


def reorder_item(
    actor: User | None, item: Item, position: int, expected_version: int | None = None
) -> Item:
    """Put `item` at index `position` (0-based) of its sheet's list; the others close up."""
    meeting = item.meeting
    seq = _begin_write(actor, meeting)
    _check_version(item, expected_version)
    _check_alive(item)
    group = group_items(meeting.id, item.kind)
    old_index = group.index(item)
    position = max(0, min(int(position), len(group) - 1))
    before = {"index": old_index}
    group.insert(position, group.pop(old_index))
    for index, other in enumerate(group):
        other.position = index
    return _finish(actor, item, seq, "reorder", {**snapshot(item), **before})


def delete_item(actor: User | None, item: Item, expected_version: int | None = None) -> Item:
    """Mark as deleted (kept, with its history); refused on confirmed minutes."""
    meeting = item.meeting
    seq = _begin_write(actor, meeting)
    _check_version(item, expected_version)
    _check_alive(item)
    before = snapshot(item)
    item.deleted_at = utcnow()
    # Results under a deleted goal become unattached rather than hidden.
    for child in db.session.scalars(sa.select(Item).where(Item.parent_item_id == item.id)):
        if child.meeting_id == meeting.id:
            child.parent_item_id = None
    if item.kind == "homework" and item.ticket is not None and not item.ticket.is_closed:
        _reject_ticket(actor, item.ticket, meeting)
    return _finish(actor, item, seq, "delete", before)


def _reject_ticket(actor, ticket: Ticket, meeting: Meeting) -> None:
    """Homework struck from the minutes: its ticket says so and stops counting as open."""
    rejected = db.session.scalar(
        sa.select(Status)
        .where(Status.is_closed.is_(True))
        .order_by(Status.position.desc())
        .limit(1)
    )
    note = _(
        "Struck from the minutes of the meeting “%(title)s” (#%(id)s).",
        title=meeting.title,
        id=meeting.id,
    )
    tickets.update_ticket(actor, ticket, {"status_id": rejected.id}, notes=note, meeting=meeting)


def restore_item(actor: User | None, item: Item) -> Item:
    meeting = item.meeting
    seq = _begin_write(actor, meeting)
    before = snapshot(item)
    item.deleted_at = None
    return _finish(actor, item, seq, "restore", before)


# --- carry-over and series -------------------------------------------------------------------


def earlier_open_homework(meeting: Meeting) -> list[Item]:
    """Open homework of earlier meetings of the same business unit (前回までの宿題), and
    homework whose ticket was closed with a decision not yet recorded as a result (いずれは成果へ):
    that decision is offered as a result of this meeting."""
    # NOT EXISTS per row (the origin_item_id index), not NOT IN: that reads every item
    # with an origin in the database (tens of ms at city scale).
    result = sa.orm.aliased(Item)
    recorded = (
        sa.exists()
        .where(
            result.origin_item_id == Item.id,
            result.kind == "result",
            result.deleted_at.is_(None),
        )
        .correlate(Item)
    )
    decided_elsewhere = sa.and_(Ticket.decision.is_not(None), Ticket.decision != "", ~recorded)
    return list(
        db.session.scalars(
            sa.select(Item)
            .join(Meeting, Meeting.id == Item.meeting_id)
            .join(Ticket, Ticket.id == Item.ticket_id)
            .join(Status, Status.id == Ticket.status_id)
            .where(
                Meeting.unit_id == meeting.unit_id,
                Meeting.starts_at < meeting.starts_at,
                Item.kind == "homework",
                Item.deleted_at.is_(None),
                sa.or_(Status.is_closed.is_(False), decided_elsewhere),
            )
            .order_by(Ticket.due_date, Item.id)
            .options(
                sa.orm.contains_eager(Item.meeting),
                sa.orm.contains_eager(Item.ticket).contains_eager(Ticket.status),
                sa.orm.contains_eager(Item.ticket).selectinload(Ticket.assignee),
            )
        ).unique()
    )


def earlier_previews(meeting: Meeting, limit: int = 50) -> list[Item]:
    """Preview items of earlier meetings of the unit not yet taken up as a goal elsewhere."""
    later = sa.orm.aliased(Item)
    taken = (
        sa.exists()
        .where(later.origin_item_id == Item.id, later.deleted_at.is_(None))
        .correlate(Item)
    )
    return list(
        db.session.scalars(
            sa.select(Item)
            .join(Meeting, Meeting.id == Item.meeting_id)
            .where(
                Meeting.unit_id == meeting.unit_id,
                Meeting.starts_at < meeting.starts_at,
                Item.kind == "preview",
                Item.deleted_at.is_(None),
                ~taken,
            )
            .order_by(Meeting.starts_at.desc(), Item.position)
            .limit(limit)
            .options(sa.orm.contains_eager(Item.meeting))
        )
    )


def carry_over(
    actor: User | None, meeting: Meeting, homework: Item, decision: str | None = None, goal=None
) -> Item:
    """Earlier homework decided today: a result of `meeting` linked back (origin) to it; its
    ticket is closed with the decision. The earlier minutes themselves stay as they were."""
    if homework.kind != "homework" or homework.ticket is None:
        raise errors.Invalid(_("This item is not homework."), "kind")
    if homework.meeting_id == meeting.id:
        return move_item(actor, homework, "result", what=decision, parent=goal)
    if homework.meeting.unit_id != meeting.unit_id:
        raise errors.Invalid(_("Only homework of this business unit can be carried over."), "unit")
    ticket = homework.ticket
    text = _check_text(decision or ticket.decision or ticket.subject, "result")
    result = add_item(actor, meeting, "result", text, parent=goal, origin=homework)
    if not ticket.status.is_closed:  # closed on the ticket page: its decision is what we record
        _close_with_decision(actor, ticket, text, meeting)
    db.session.flush()
    return result


def keep_open(actor: User | None, meeting: Meeting, homework: Item, due_date=None) -> Item:
    """Reviewed and kept open (optionally with a new by-when): recorded on this meeting."""
    if homework.kind != "homework" or homework.ticket is None:
        raise errors.Invalid(_("This item is not homework."), "kind")
    if homework.meeting.unit_id != meeting.unit_id:
        raise errors.Invalid(_("Only homework of this business unit can be carried over."), "unit")
    seq = _begin_write(actor, meeting)
    ticket = homework.ticket
    before = snapshot(homework)
    if due_date is not None and due_date != ticket.due_date:
        note = _("Kept open in the meeting “%(title)s”.", title=meeting.title)
        tickets.update_ticket(actor, ticket, {"due_date": due_date}, note, meeting=meeting)
    _event(actor, meeting, seq, "keep_open", homework, before=before, after=snapshot(homework))
    db.session.flush()
    return homework


def pull_as_goal(actor: User | None, meeting: Meeting, preview: Item) -> Item:
    """A preview (さきどり) of an earlier meeting becomes a goal of this later one."""
    if preview.kind not in TAKEN_OVER_AS_GOAL:
        raise errors.Invalid(_("Only preview items can become a goal of a later meeting."), "kind")
    if preview.meeting.unit.root.id != meeting.unit.root.id:
        raise errors.Invalid(_("Only items of this project can be taken over."), "unit")
    if preview.meeting.starts_at > meeting.starts_at or preview.meeting_id == meeting.id:
        raise errors.Invalid(_("Choose a later meeting."), "meeting_id")
    return add_item(actor, meeting, "goal", preview.text, origin=preview)


def copy_as_next(actor: User | None, meeting: Meeting, starts_at: datetime, **data) -> Meeting:
    """The next meeting of a series: same unit, attendees and the goals not yet reached."""
    duration = (meeting.ends_at - meeting.starts_at) if meeting.ends_at else None
    nxt = create_meeting(
        actor,
        meeting.unit,
        {
            "title": data.get("title") or meeting.title,
            "starts_at": starts_at,
            "ends_at": starts_at + duration if duration else None,
            "place": data.get("place", meeting.place),
            "facilitator_id": meeting.facilitator_id,
            "previous": meeting,
        },
    )
    for a in meeting.attendees:
        add_attendee(actor, nxt, a.user, a.guest_name, a.guest_organisation, True, a.guest_email)
    for goal in unfinished_goals(meeting):
        add_item(actor, nxt, "goal", goal.text, ticket=goal.ticket_id, origin=goal)
    return nxt


def unfinished_goals(meeting: Meeting) -> list[Item]:
    """Goals without a result under them (or explicitly not discussed)."""
    items = [i for i in meeting.items if not i.is_deleted]
    answered = {i.parent_item_id for i in items if i.kind == "result"}
    return [i for i in items if i.kind == "goal" and (i.id not in answered or i.not_discussed)]


# --- reading ---------------------------------------------------------------------------------


def sheets(meeting: Meeting) -> dict:
    """The live items by sheet: goals with their results, unattached results, homework, sheet ③."""
    items = list(
        db.session.scalars(
            sa.select(Item)
            .where(Item.meeting_id == meeting.id, Item.deleted_at.is_(None))
            .order_by(Item.position, Item.id)
            .options(
                sa.orm.selectinload(Item.ticket).selectinload(Ticket.status),
                sa.orm.selectinload(Item.ticket).selectinload(Ticket.assignee),
                sa.orm.selectinload(Item.origin_item).selectinload(Item.meeting),
            )
        )
    )
    goals = [i for i in items if i.kind == "goal"]
    goal_ids = {g.id for g in goals}
    results = [i for i in items if i.kind == "result"]
    homework = [i for i in items if i.kind == "homework"]
    third = [i for i in items if i.kind in ("break", "preview")]
    # Each item's place in its ordering group (what reorder_item's position counts).
    index = {i.id: n for group in (goals, results, homework, third) for n, i in enumerate(group)}
    return {
        "index": index,
        "goals": [(g, [r for r in results if r.parent_item_id == g.id]) for g in goals],
        "loose_results": [r for r in results if r.parent_item_id not in goal_ids],
        "results": results,
        "homework": homework,
        "third": third,
        "all": items,
    }


def history(item: Item) -> list[ItemEvent]:
    """Events of this item and of the items it came from (one history across moves)."""
    chain, node = [], item
    while node is not None and node.id not in chain:
        chain.append(node.id)
        node = node.origin_item
    return list(
        db.session.scalars(
            sa.select(ItemEvent).where(ItemEvent.item_id.in_(chain)).order_by(ItemEvent.id)
        )
    )


def events_since(meeting: Meeting, seq: int) -> list[ItemEvent]:
    return list(
        db.session.scalars(
            sa.select(ItemEvent)
            .where(ItemEvent.meeting_id == meeting.id, ItemEvent.seq > seq)
            .order_by(ItemEvent.seq, ItemEvent.id)
        )
    )


KIND_LABELS = {
    "goal": _l("Goal"),
    "result": _l("Result"),
    "homework": _l("Homework"),
    "break": _l("Break"),
    "preview": _l("Preview item"),
}
STATUS_LABELS = {
    "draft": _l("Draft"),
    "in_session": _l("In session"),
    "awaiting_confirmation": _l("Awaiting confirmation"),
    "confirmed": _l("Confirmed"),
}


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind)  # one translation looked up, not five
    return str(label) if label is not None else kind


def status_label(status: str) -> str:
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status
