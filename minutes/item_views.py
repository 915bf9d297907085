"""The sheet items' routes for pages without JavaScript: add, edit, move, reorder, delete,
carry over. The projector view does the same through the JSON API (minutes/api.py)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

import permissions
from accounts.models import User
from core import errors
from core.extensions import db
from core.timeutil import local_today
from minutes import bp, carry_over, items, writes
from minutes import homework as minutes_homework
from minutes.forms import (
    CarryForm,
    EditItemForm,
    HomeworkForm,
    ItemForm,
    LaterMeetingForm,
    MoveForm,
    ReorderForm,
    goal_choices,
    who_choices,
)
from minutes.loading import load_meeting, meeting_view
from minutes.models import Item, Meeting
from minutes.quickentry import parse_date


def _back(meeting: Meeting, item: Item | None = None):
    anchor = f"#item-{item.id}" if item is not None else ""
    return redirect(url_for("minutes.show", meeting_id=meeting.id) + anchor)


def _who(form) -> User | str | None:
    if form.who_id.data:
        return db.session.get(User, form.who_id.data)
    return form.guest_name.data or None


def _due(text: str | None):
    due = parse_date(text or "", local_today())
    if due is None:
        raise errors.Invalid(_("Give a date by which it is to be done, e.g. 12/5."), "due_date")
    return due


def _require_valid(form) -> None:
    """A form that does not validate is refused as a service refuses input: Invalid with
    the first problem, which the error handler flashes on the page the form came from."""
    if not form.validate_on_submit():
        problems = [
            (name, message) for name, messages in form.errors.items() for message in messages
        ]
        name, message = problems[0] if problems else (None, _("The text cannot be blank."))
        raise errors.Invalid(message, name)


def _at_item(meeting: Meeting, item_id: int, **_view_args) -> str:
    return url_for("minutes.show", meeting_id=meeting.id) + f"#item-{item_id}"


def _item_page(meeting: Meeting, item_id: int) -> str:
    return url_for("minutes.item", meeting_id=meeting.id, item_id=item_id)


def _carry_list(meeting: Meeting, **_view_args) -> str:
    return url_for("minutes.show", meeting_id=meeting.id) + "#carry"


@bp.route("/meetings/<id:meeting_id>/items", methods=["POST"])
@meeting_view("edit")
def add_item(meeting):
    form = ItemForm(prefix="item")
    form.parent_item_id.choices = goal_choices(meeting)
    _require_valid(form)
    item = items.add_item(
        current_user,
        meeting,
        form.kind.data,
        form.text.data,
        parent=form.parent_item_id.data,
        ticket=form.ticket_id.data,
    )
    db.session.commit()
    return _back(meeting, item)


@bp.route("/meetings/<id:meeting_id>/homework", methods=["POST"])
@meeting_view("edit")
def add_homework(meeting):
    form = HomeworkForm(prefix="hw")
    _require_valid(form)
    item = minutes_homework.add_homework(
        current_user,
        meeting,
        _who(form),
        form.what.data,
        _due(form.due.data),
        goal=form.parent_item_id.data,
    )
    db.session.commit()
    return _back(meeting, item)


def _edit_forms(meeting: Meeting, item: Item, formdata=None) -> dict:
    goals = goal_choices(meeting)
    who = who_choices(meeting)
    if item.kind == "homework":
        edit = HomeworkForm(formdata=formdata, prefix="edit")
        edit.who_id.choices = who
        edit.parent_item_id.choices = goals
        if formdata is None and item.ticket is not None:
            edit.who_id.data = item.ticket.assignee_id or 0
            edit.guest_name.data = item.ticket.guest_name or ""
            edit.what.data = item.ticket.subject
            edit.due.data = item.ticket.due_date.isoformat() if item.ticket.due_date else ""
    else:
        edit = EditItemForm(formdata=formdata, prefix="edit", obj=item)
        edit.parent_item_id.choices = goals
    if formdata is None:
        edit.version.data = item.version
    move = MoveForm(formdata=None, prefix="move")
    move.kind.choices = [c for c in move.kind.choices if c[0] in items.MOVES.get(item.kind, ())]
    move.parent_item_id.choices = goals
    move.who_id.choices = who
    move.version.data = item.version
    later = LaterMeetingForm(formdata=None, prefix="later")
    later.meeting_id.choices = [
        (m.id, f"{m.starts_at:%Y-%m-%d} {m.title}") for m in _later_meetings(meeting)
    ]
    return {"edit_form": edit, "move_form": move, "later_form": later}


def _later_meetings(meeting: Meeting) -> list[Meeting]:
    return list(
        db.session.scalars(
            sa.select(Meeting)
            .where(
                Meeting.unit_id == meeting.unit_id,
                Meeting.starts_at > meeting.starts_at,
                Meeting.status != "confirmed",
            )
            .order_by(Meeting.starts_at)
            .limit(20)
        )
    )


def _render_item(meeting, item, forms, conflict=None):
    return render_template(
        "minutes/item.html",
        meeting=meeting,
        item=item,
        history=items.history(item),
        editable=permissions.can_edit_minutes(current_user, meeting),
        conflict=conflict,
        **forms,
    )


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>", methods=["GET", "POST"])
@meeting_view(item=True)
def item(meeting, item):
    if request.method == "GET":
        return _render_item(meeting, item, _edit_forms(meeting, item))
    permissions.require_edit_minutes(current_user, meeting)
    forms = _edit_forms(meeting, item, formdata=request.form)
    form = forms["edit_form"]
    if not form.validate():
        return _render_item(meeting, item, forms), 422

    def conflict(stale):
        # The form again with what this person typed, beside the text saved meanwhile.
        form.version.data = stale.item.version
        current = writes.snapshot(stale.item)
        return _render_item(meeting, item, forms, conflict={"message": str(stale), **current})

    errors.form_page(form, lambda: _render_item(meeting, item, forms), stale=conflict)
    if item.kind == "homework":
        minutes_homework.edit_homework(
            current_user,
            item,
            who=_who(form),
            what=form.what.data,
            due_date=_due(form.due.data),
            expected_version=form.version.data or None,
        )
    else:
        items.edit_item(
            current_user,
            item,
            form.text.data,
            expected_version=form.version.data or None,
            ticket=form.ticket_id.data if item.kind == "goal" else False,
            parent=form.parent_item_id.data if item.kind == "result" else False,
        )
    db.session.commit()
    flash(_("The item was saved."), "success")
    return _back(meeting, item)


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>/move", methods=["POST"])
@meeting_view("edit", back=_item_page, item=True)
def move(meeting, item):
    form = MoveForm(prefix="move")
    _require_valid(form)
    items.move_item(
        current_user,
        item,
        form.kind.data,
        expected_version=form.version.data or None,
        parent=form.parent_item_id.data,
        who=_who(form),
        what=form.what.data or None,
        due_date=_due(form.due.data) if form.kind.data == "homework" else None,
    )
    db.session.commit()
    return _back(meeting, item)


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>/later", methods=["POST"])
@meeting_view(back=_at_item, item=True)
def to_later(meeting, item):
    """A preview item becomes a goal of a chosen later meeting of the unit."""
    form = LaterMeetingForm(prefix="later")
    if not form.validate_on_submit():
        abort(404)  # no meeting can have that id
    target = load_meeting(form.meeting_id.data)
    permissions.require_edit_minutes(current_user, target)
    goal = carry_over.pull_as_goal(current_user, target, item)
    db.session.commit()
    flash(_("The item is now a goal of “%(title)s”.", title=target.title), "success")
    return _back(target, goal)


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>/reorder", methods=["POST"])
@meeting_view("edit", back=_at_item, item=True)
def reorder(meeting, item):
    form = ReorderForm()
    _require_valid(form)
    step = -1 if form.direction.data == "up" else 1
    group = writes.group_items(meeting.id, item.kind)
    index = group.index(item) if item in group else 0
    items.reorder_item(current_user, item, index + step, form.version.data or None)
    db.session.commit()
    return _back(meeting, item)


@bp.route("/meetings/<id:meeting_id>/items/<id:item_id>/delete", methods=["POST"])
@meeting_view("edit", item=True)
def delete(meeting, item):
    items.delete_item(current_user, item, request.form.get("version") or None)
    db.session.commit()
    flash(_("The item was deleted (it stays in the history)."), "success")
    return _back(meeting)


def _earlier_item(meeting: Meeting, item_id: int, same_unit: bool = False) -> Item:
    item = db.session.get(Item, item_id)
    if item is None or (same_unit and item.meeting.unit_id != meeting.unit_id):
        abort(404)  # homework is carried over only within its unit
    load_meeting(item.meeting_id)  # 404 unless visible
    if items.is_unseen_homework(current_user, item):
        abort(404)
    return item


@bp.route("/meetings/<id:meeting_id>/carry/<id:item_id>", methods=["POST"])
@meeting_view("edit", back=_carry_list)
def carry(meeting, item_id):
    """Earlier homework: decided today (a result here) or kept open (maybe a new by-when)."""
    homework = _earlier_item(meeting, item_id, same_unit=True)
    form = CarryForm()
    _require_valid(form)
    if request.form.get("action") == "keep":
        due = _due(form.due.data) if (form.due.data or "").strip() else None
        carry_over.keep_open(current_user, meeting, homework, due_date=due)
        message = _("Kept open.")
    else:
        carry_over.carry_over(current_user, meeting, homework, decision=form.decision.data)
        message = _("Recorded as a result of this meeting; its ticket was closed.")
    db.session.commit()
    flash(message, "success")
    return redirect(_carry_list(meeting))


@bp.route("/meetings/<id:meeting_id>/pull/<id:item_id>", methods=["POST"])
@meeting_view("edit")
def pull(meeting, item_id):
    """A preview item of an earlier meeting becomes a goal of this one."""
    preview = _earlier_item(meeting, item_id)
    goal = carry_over.pull_as_goal(current_user, meeting, preview)
    db.session.commit()
    return _back(meeting, goal)
