from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, Regexp

from core import textfields

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
    # 0: the Sanmai password; otherwise the directory source that checks the password.
    directory_source_id = SelectField(_l("Signs in with"), coerce=int, choices=[], default=0)


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=textfields.NAME)])
    name_en = StringField(
        _l("Name (English)"), validators=[Optional(), Length(max=textfields.NAME)]
    )
    kind = SelectField(
        _l("Kind"),
        choices=[("city", _l("City")), ("vendor", _l("Vendor")), ("council", _l("Council"))],
    )


def _attribute(label):
    return StringField(label, validators=[Optional(), Length(max=60)])


class DirectorySourceForm(FlaskForm):
    """An LDAP / Active Directory source; empty attribute names take the type's defaults."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    kind = SelectField(
        _l("Directory type"), choices=[("ad", "Active Directory"), ("openldap", "OpenLDAP")]
    )
    host = StringField(_l("Host"), validators=[DataRequired(), Length(max=255)])
    port = IntegerField(_l("Port"), validators=[Optional(), NumberRange(min=1, max=65535)])
    encryption = SelectField(
        _l("Encryption"),
        choices=[
            ("starttls", "StartTLS"),
            ("ldaps", "LDAPS"),
            ("none", _l("None (passwords cross the network in clear)")),
        ],
    )
    ca_file = StringField(_l("CA certificate file"), validators=[Optional(), Length(max=500)])
    check_certificate = BooleanField(_l("Check the server's certificate"), default=True)
    bind_dn = StringField(_l("Bind account (DN)"), validators=[Optional(), Length(max=500)])
    bind_password = PasswordField(_l("Bind password"), validators=[Optional(), Length(max=500)])
    base_dn = StringField(_l("Base DN"), validators=[DataRequired(), Length(max=500)])
    user_filter = StringField(_l("User filter"), validators=[Optional(), Length(max=1000)])
    attr_login = _attribute(_l("Login attribute"))
    attr_firstname = _attribute(_l("First name attribute"))
    attr_lastname = _attribute(_l("Last name attribute"))
    attr_mail = _attribute(_l("E-mail attribute"))
    attr_display_name = _attribute(_l("Display name attribute"))
    organisation_id = SelectField(_l("Organisation"), coerce=int, choices=[])
    create_users = BooleanField(_l("Create users on first sign-in"))
    group_dn = StringField(
        _l("Only members of group (DN)"), validators=[Optional(), Length(max=500)]
    )


class DirectoryCheckForm(FlaskForm):
    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=60)])
    password = PasswordField(_l("Password (optional)"), validators=[Optional(), Length(max=200)])
