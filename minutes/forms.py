"""Forms of the minutes pages: validation only (the services decide)."""

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from core import parsing, textfields
from core.extensions import db
from minutes.models import Item, Meeting
from projects.services import members_of

KIND_CHOICES = [
    ("goal", _l("Goal")),
    ("result", _l("Result")),
    ("homework", _l("Homework")),
    ("break", _l("Break")),
    ("preview", _l("Preview item")),
]


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MeetingForm(FlaskForm):
    title = StringField(
        _l("Title"), validators=[DataRequired(), textfields.length(_l("Title"), textfields.TITLE)]
    )
    day = DateField(
        _l("Date"),
        validators=[
            InputRequired(message=_l("Give a valid date.")),
            parsing.in_date_range_field,
        ],
    )
    start_time = TimeField(_l("Starts"), validators=[InputRequired()])
    end_time = TimeField(_l("Ends"), validators=[Optional()])
    place = StringField(_l("Place"), validators=[textfields.length(_l("Place"), textfields.TITLE)])
    facilitator_id = SelectField(
        _l("Facilitator"), coerce=parsing.coerce_id_or_none, validate_choice=False
    )
    attendee_ids = CheckboxList(
        _l("Attendees (members)"), coerce=parsing.coerce_id, validate_choice=False
    )
    guests = TextAreaField(
        _l("Guests"),
        description=_l("One per line: name, organisation (e.g. 山本 翔, 上州システムサービス)"),
    )
    version = parsing.IntField(widget=HiddenInput(), validators=[Optional()], low=0)


class CopyForm(FlaskForm):
    day = DateField(
        _l("Date"),
        validators=[
            InputRequired(message=_l("Give a valid date.")),
            parsing.in_date_range_field,
        ],
    )
    start_time = TimeField(_l("Starts"), validators=[InputRequired()])


class AttendeeForm(FlaskForm):
    user_id = SelectField(_l("Member"), coerce=parsing.coerce_id_or_none, validate_choice=False)
    guest_name = StringField(
        _l("Guest name"), validators=[textfields.length(_l("Guest name"), textfields.NAME)]
    )
    guest_organisation = StringField(
        _l("Organisation"), validators=[textfields.length(_l("Organisation"), textfields.NAME)]
    )


class PresenceForm(FlaskForm):
    present = BooleanField(_l("Present"))


class StatusForm(FlaskForm):
    status = SelectField(
        _l("Status"),
        choices=[
            ("draft", _l("Draft")),
            ("in_session", _l("In session")),
            ("awaiting_confirmation", _l("Awaiting confirmation")),
        ],
    )


class ItemForm(FlaskForm):
    """Add a goal, result, break or preview item."""

    kind = SelectField(_l("Kind"), choices=[c for c in KIND_CHOICES if c[0] != "homework"])
    text = TextAreaField(
        _l("Text"), validators=[DataRequired(), textfields.length(_l("Text"), textfields.ITEM_TEXT)]
    )
    parent_item_id = SelectField(
        _l("Under goal"), coerce=parsing.coerce_id_or_none, validate_choice=False
    )
    ticket_id = parsing.IntField(_l("Ticket #"), validators=[Optional()])


class HomeworkForm(FlaskForm):
    """Who, what and by when; `who` is a member or a guest's name."""

    who_id = SelectField(_l("Who"), coerce=parsing.coerce_id_or_none, validate_choice=False)
    guest_name = StringField(
        _l("or a guest's name"), validators=[textfields.length(_l("Who"), textfields.NAME)]
    )
    what = StringField(
        _l("What"),
        validators=[
            DataRequired(message=_l("Say what is to be done.")),
            textfields.length(_l("What"), textfields.SUBJECT),
        ],
    )
    due = StringField(
        _l("By when"),
        validators=[DataRequired(message=_l("Give a date by which it is to be done, e.g. 12/5."))],
        description=_l("e.g. 2026-12-05, 12/5, 来週金曜"),
    )
    parent_item_id = SelectField(
        _l("Under goal"), coerce=parsing.coerce_id_or_none, validate_choice=False
    )
    version = parsing.IntField(widget=HiddenInput(), validators=[Optional()], low=0)


class EditItemForm(FlaskForm):
    text = TextAreaField(
        _l("Text"), validators=[DataRequired(), textfields.length(_l("Text"), textfields.ITEM_TEXT)]
    )
    parent_item_id = SelectField(
        _l("Under goal"), coerce=parsing.coerce_id_or_none, validate_choice=False
    )
    ticket_id = parsing.IntField(_l("Ticket #"), validators=[Optional()])
    version = parsing.IntField(widget=HiddenInput(), validators=[Optional()], low=0)


class MoveForm(FlaskForm):
    kind = SelectField(_l("Move to"), choices=KIND_CHOICES)
    parent_item_id = SelectField(
        _l("Under goal"), coerce=parsing.coerce_id_or_none, validate_choice=False
    )
    # Only for a move to homework, or the decision of homework becoming a result:
    who_id = SelectField(_l("Who"), coerce=parsing.coerce_id_or_none, validate_choice=False)
    guest_name = StringField(
        _l("or a guest's name"), validators=[textfields.length(_l("Who"), textfields.NAME)]
    )
    what = StringField(
        _l("What / decision"), validators=[textfields.length(_l("What"), textfields.SUBJECT)]
    )
    due = StringField(_l("By when"))
    version = parsing.IntField(widget=HiddenInput(), validators=[Optional()], low=0)


class LaterMeetingForm(FlaskForm):
    meeting_id = SelectField(
        _l("Goal of the later meeting"), coerce=parsing.coerce_id, validate_choice=False
    )


class ReorderForm(FlaskForm):
    direction = HiddenField()
    version = parsing.IntField(widget=HiddenInput(), validators=[Optional()], low=0)


class CarryForm(FlaskForm):
    decision = StringField(
        _l("Decision"), validators=[textfields.length(_l("Decision"), textfields.ITEM_TEXT)]
    )
    due = StringField(_l("New by-when"))


# --- choices and the meeting page's add forms ------------------------------------------------


def goal_choices(meeting: Meeting, goals=None) -> list:
    if goals is None:
        goals = db.session.scalars(
            sa.select(Item)
            .where(Item.meeting_id == meeting.id, Item.kind == "goal", Item.deleted_at.is_(None))
            .order_by(Item.position, Item.id)
        )
    return [(0, "—")] + [(g.id, f"{i}. {_short(g.text)}") for i, g in enumerate(goals, 1)]


def _short(text: str, n: int = 40) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def who_choices(meeting: Meeting) -> list:
    return [(0, "—")] + [(u.id, u.name) for u in members_of(meeting.unit)]


def add_forms(meeting: Meeting, context: dict) -> dict:
    if not context.get("editable"):
        return {}
    sheets = context.get("sheets")  # the page's goals, already loaded in the same order
    goals = goal_choices(meeting, [g for g, _results in sheets["goals"]] if sheets else None)
    item_form = ItemForm(prefix="item")
    item_form.parent_item_id.choices = goals
    homework_form = HomeworkForm(prefix="hw")
    homework_form.parent_item_id.choices = goals
    homework_form.who_id.choices = who_choices(meeting)
    return {"item_form": item_form, "homework_form": homework_form}
