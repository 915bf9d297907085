"""Who: organisations (cities, vendors, the council) and their users."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from core import generations
from core.extensions import db
from core.timeutil import utcnow

ORGANISATION_KINDS = ("city", "vendor", "council")
LANGUAGES = ("ja", "en")
DIRECTORY_KINDS = ("ad", "openldap")
DIRECTORY_ENCRYPTIONS = ("none", "starttls", "ldaps")
# A password hash brought over from Redmine: "redmine-sha1$<salt>$<SHA1(salt + SHA1(password))>".
# It is checked Redmine's way until its owner's first sign-in replaces it with Sanmai's own.
REDMINE_HASH_PREFIX = "redmine-sha1$"


class Organisation(db.Model):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name_en: Mapped[str | None] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(16))  # one of ORGANISATION_KINDS
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id"), index=True
    )
    language: Mapped[str] = mapped_column(sa.String(8), default="ja")
    password_hash: Mapped[str] = mapped_column(sa.String(256), default="")
    # Shown again by `flask user token`, as Redmine does; unique so lookup is one index read.
    api_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Secret for the personal iCalendar feed URL; renewable without touching the API token.
    feed_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    # Part of the id a login session holds (get_id): raising it ends every session of the
    # account made before (logout, a new password, a lock), whichever server checks it.
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set: the password is checked by the directory only (accounts/directory.py).
    directory_source_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("directory_sources.id"), index=True
    )

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")
    directory_source: Mapped[DirectorySource | None] = relationship(back_populates="users")

    def __repr__(self) -> str:
        return f"<User {self.login}>"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    def get_id(self) -> str:  # Flask-Login: what the session (and a remember cookie) holds
        return f"{self.id}:{self.session_generation}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        if self.has_redmine_password:
            return _check_redmine_hash(self.password_hash, password)
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def set_redmine_password(self, hashed_password: str, salt: str) -> None:
        """Keep a Redmine account's password hash (users.hashed_password and users.salt)."""
        self.password_hash = f"{REDMINE_HASH_PREFIX}{salt}${hashed_password.lower()}"

    @property
    def has_redmine_password(self) -> bool:
        return self.password_hash.startswith(REDMINE_HASH_PREFIX)

    def ensure_api_token(self) -> str:
        if not self.api_token:
            self.api_token = secrets.token_hex(20)
        return self.api_token

    @property
    def side(self) -> str | None:
        """'vendor' or 'city' (the council counts as the cities' side)."""
        if self.organisation is None:
            return None
        return "vendor" if self.organisation.kind == "vendor" else "city"


def _check_redmine_hash(stored: str, password: str) -> bool:
    salt, _, hashed = stored.removeprefix(REDMINE_HASH_PREFIX).rpartition("$")
    inner = hashlib.sha1(password.encode()).hexdigest()
    # SHA-1 is Redmine's; it is kept only until the first sign-in, never made anew.
    computed = hashlib.sha1((salt + inner).encode()).hexdigest()
    return hmac.compare_digest(computed, hashed)


class LoginThrottle(db.Model):
    """Failed logins, to slow down password guessing, counted three ways: one login name
    (known or not) from one address, one address over all logins (address only, login ""),
    one login from all addresses (login only, address ""). The rules: accounts.services."""

    __tablename__ = "login_throttles"

    login: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failed_at: Mapped[datetime] = mapped_column(default=utcnow)  # the count's window
    last_failed_at: Mapped[datetime] = mapped_column(default=utcnow)


class DirectorySource(db.Model):
    """An LDAP or Active Directory server its users sign in through (Redmine's auth source)."""

    __tablename__ = "directory_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default="ad")  # one of DIRECTORY_KINDS
    host: Mapped[str] = mapped_column(sa.String(255))
    port: Mapped[int]
    encryption: Mapped[str] = mapped_column(sa.String(16))  # one of DIRECTORY_ENCRYPTIONS
    # PEM file of the CA that signed the server's certificate; empty: the system's CAs.
    ca_file: Mapped[str | None] = mapped_column(sa.String(500))
    check_certificate: Mapped[bool] = mapped_column(default=True)
    bind_dn: Mapped[str | None] = mapped_column(sa.String(500))
    # Fernet token (secretbox.py), never the password in clear.
    bind_password_sealed: Mapped[str | None] = mapped_column(sa.Text)
    base_dn: Mapped[str] = mapped_column(sa.String(500))
    user_filter: Mapped[str | None] = mapped_column(sa.String(1000))
    attr_login: Mapped[str] = mapped_column(sa.String(60))
    attr_firstname: Mapped[str] = mapped_column(sa.String(60))
    attr_lastname: Mapped[str] = mapped_column(sa.String(60))
    attr_mail: Mapped[str] = mapped_column(sa.String(60))
    attr_display_name: Mapped[str] = mapped_column(sa.String(60))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    create_users: Mapped[bool] = mapped_column(default=False)
    # Only members of this group (nested groups included on Active Directory) may sign in.
    group_dn: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation | None] = relationship()
    users: Mapped[list[User]] = relationship(back_populates="directory_source")

    def __repr__(self) -> str:
        return f"<DirectorySource {self.name}>"


# What the data generations (core.generations) watch of these models.
generations.watch(
    "directory", User, ["name", "organisation", "organisation_id", "is_admin", "is_active_account"]
)
generations.watch("directory", Organisation, ["name", "name_en"])
