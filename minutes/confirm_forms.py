"""Forms of the confirmation pages: validation only (minutes.revisions decides)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length
from wtforms.widgets import HiddenInput

from core import parsing, textfields


class AnswerForm(FlaskForm):
    """Names the revision the person read, so a newer freeze is never confirmed unread."""

    revision = parsing.IntField(widget=HiddenInput(), validators=[InputRequired()])
    fingerprint = HiddenField(validators=[InputRequired(), Length(min=64, max=64)])


class ObjectionForm(AnswerForm):
    comment = TextAreaField(
        _l("What is wrong?"),
        validators=[
            DataRequired(_l("Please say what is wrong, so the facilitator can fix it.")),
            textfields.length(_l("Objection"), textfields.OBJECTION),
        ],
    )


class SendLinkForm(FlaskForm):
    email = StringField(
        _l("E-mail address"),
        validators=[DataRequired(), Email(_l("Give one valid e-mail address.")), Length(max=200)],
    )
