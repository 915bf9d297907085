"""Ticket forms: validation only (choices are filled in by the views)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    MultipleFileField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import Select, html_params

from core import parsing, textfields

DONE_RATIOS = [(n, f"{n} %") for n in range(0, 101, 10)]


class PairsSelect(Select):
    """wtforms' Select, the same HTML, for choices given as (value, label) pairs: each option
    is one formatted string. The assignee choice lists every member of a fiscal year (a few
    hundred) and the unit choice every unit; wtforms' general path (a choice object and an
    attribute map per option) cost several milliseconds of each ticket page."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        for flag in self.validation_attrs:
            if flag not in kwargs and getattr(field.flags, flag, False):
                kwargs[flag] = getattr(field.flags, flag)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for value, label in field.choices or ():
            selected = "selected " if field.coerce(value) == field.data else ""
            label = escape(label or value)
            html.append(f'<option {selected}value="{escape(value)}">{label}</option>')
        html.append("</select>")
        return Markup("".join(html))


class TicketForm(FlaskForm):
    project_id = SelectField(_l("Business unit"), coerce=int, widget=PairsSelect())
    tracker_id = SelectField(_l("Tracker"), coerce=int, widget=PairsSelect())
    subject = StringField(
        _l("Subject"),
        validators=[
            DataRequired(_l("Subject cannot be blank.")),
            textfields.length(_l("Subject"), textfields.SUBJECT),
        ],
    )
    description = TextAreaField(
        _l("Description"),
        validators=[textfields.length(_l("Description"), textfields.LONG_TEXT)],
        render_kw={"rows": 10},
    )
    status_id = SelectField(_l("Status"), coerce=int, widget=PairsSelect())
    priority_id = SelectField(_l("Priority"), coerce=int, widget=PairsSelect())
    assignee_id = SelectField(_l("Assignee"), coerce=int, widget=PairsSelect())
    start_date = DateField(
        _l("Start date"),
        validators=[Optional(), parsing.in_date_range_field],
        format="%Y-%m-%d",
        render_kw={"type": "date"},
    )
    due_date = DateField(
        _l("Due date"),
        validators=[Optional(), parsing.in_date_range_field],
        format="%Y-%m-%d",
        render_kw={"type": "date"},
    )
    parent_id = parsing.IntField(
        _l("Parent ticket"),
        validators=[Optional(), NumberRange(min=1, message=_l("Enter a ticket number."))],
        render_kw={"inputmode": "numeric", "placeholder": "#"},
    )
    done_ratio = SelectField(
        _l("Progress"), coerce=int, choices=DONE_RATIOS, default=0, widget=PairsSelect()
    )
    decision = TextAreaField(
        _l("Decision"),
        validators=[textfields.length(_l("Decision"), textfields.LONG_TEXT)],
        render_kw={"rows": 3},
    )
    is_private = BooleanField(_l("Private"))
    attachments = MultipleFileField(_l("Files"))


class TicketEditForm(TicketForm):
    notes = TextAreaField(
        _l("Notes"),
        validators=[textfields.length(_l("Notes"), textfields.LONG_TEXT)],
        render_kw={"rows": 5},
    )
    private_notes = BooleanField(_l("Private notes"))
    # A label of its own (never shown): without one, wtforms loads its message catalogue on
    # every page view to translate the label it would make up.
    version = HiddenField("version")


class TrackerForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=textfields.REFERENCE_NAME)]
    )
    name_en = StringField(
        _l("English name"), validators=[Optional(), Length(max=textfields.REFERENCE_NAME)]
    )
    default_status_id = SelectField(_l("Default status"), coerce=int)
    position = parsing.IntField(
        _l("Order"), validators=[Optional()], low=-parsing.MAX_INT, high=parsing.MAX_INT
    )


class StatusForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), Length(max=textfields.REFERENCE_NAME)]
    )
    name_en = StringField(
        _l("English name"), validators=[Optional(), Length(max=textfields.REFERENCE_NAME)]
    )
    owner_side = SelectField(
        _l("Ball with"), choices=[("city", _l("City")), ("vendor", _l("Vendor"))]
    )
    is_closed = BooleanField(_l("Closed"))
    position = parsing.IntField(
        _l("Order"), validators=[Optional()], low=-parsing.MAX_INT, high=parsing.MAX_INT
    )
