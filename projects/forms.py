from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from core import textfields

IDENTIFIER_VALIDATORS = [
    DataRequired(),
    Length(max=100),
    Regexp(
        r"^[a-z][a-z0-9_-]*$",
        message=_l("Lower-case letters, digits, - and _, starting with a letter."),
    ),
]


class ProjectForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), textfields.length(_l("Name"), textfields.TITLE)]
    )
    name_en = StringField(
        _l("Name (English)"),
        validators=[Optional(), textfields.length(_l("Name (English)"), textfields.TITLE)],
    )
    identifier = StringField(_l("Identifier"), validators=IDENTIFIER_VALIDATORS)
    fiscal_year = IntegerField(
        _l("Fiscal year (April to March)"), validators=[DataRequired(), NumberRange(2000, 2100)]
    )
    owner_organisation_id = SelectField(_l("Owner (city or council)"), coerce=int, choices=[])
    description = TextAreaField(
        _l("Description"),
        validators=[Optional(), textfields.length(_l("Description"), textfields.LONG_TEXT)],
    )


class UnitForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(), textfields.length(_l("Name"), textfields.TITLE)]
    )
    name_en = StringField(
        _l("Name (English)"),
        validators=[Optional(), textfields.length(_l("Name (English)"), textfields.TITLE)],
    )
    identifier = StringField(_l("Identifier"), validators=IDENTIFIER_VALIDATORS)


class MemberForm(FlaskForm):
    user_id = SelectField(_l("User"), coerce=int, choices=[])
    role = SelectField(
        _l("Role"),
        choices=[
            ("manager", _l("Manager")),
            ("facilitator", _l("Facilitator")),
            ("member", _l("Member")),
            ("viewer", _l("Viewer")),
        ],
    )
