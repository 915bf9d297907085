from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

import textfields

LANGUAGE_CHOICES = [("ja", "日本語"), ("en", "English")]


class LoginForm(FlaskForm):
    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=8, max=200)]
    )
    confirm = PasswordField(
        _l("Confirm new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("Passwords differ."))],
    )


class PreferencesForm(FlaskForm):
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)


class UserForm(FlaskForm):
    login = StringField(
        _l("Login"),
        validators=[
            DataRequired(),
            Length(max=60),
            Regexp(r"^[A-Za-z0-9_.@-]+$", message=_l("Letters, digits and _ . @ - only.")),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=textfields.NAME)])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=200)])
    organisation_id = SelectField(_l("Organisation"), coerce=int, choices=[])
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=8, max=200)])
    is_admin = BooleanField(_l("Administrator"))
    is_active_account = BooleanField(_l("Active"), default=True)


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=textfields.NAME)])
    name_en = StringField(
        _l("Name (English)"), validators=[Optional(), Length(max=textfields.NAME)]
    )
    kind = SelectField(
        _l("Kind"),
        choices=[("city", _l("City")), ("vendor", _l("Vendor")), ("council", _l("Council"))],
    )
