"""Accounts: the rules and the writes. Callers pass the actor; nothing reads the request."""

from __future__ import annotations

import functools
import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from accounts import directory
from accounts.models import DirectorySource, LoginThrottle, Organisation, User
from core import errors, textfields
from core.extensions import db
from core.timeutil import utcnow


class AccountError(errors.Invalid):
    """A rule was broken; the message is for the person who asked, `field` the form field
    it is about."""


def _name(value, field: str = "name", label=None) -> str:
    """A person's or organisation's name, cleaned and checked (textfields)."""
    return textfields.checked(
        value,
        field=field,
        label=label or _("Name"),
        limit=textfields.NAME,
        error=AccountError,
    )


class TooManyAttempts(Exception):
    """The login slow-down holds: not a broken rule but a wait, which the sign-in pages
    answer themselves (429)."""

    def __init__(self, wait_seconds: int):
        super().__init__(wait_seconds)
        self.wait_seconds = wait_seconds


def find_user(login: str) -> User | None:
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.login) == login.lower()))


def authenticate(login: str, password: str, address: str | None) -> User | None:
    """The user for these credentials sent from client `address`, or None; raises
    TooManyAttempts while that login is locked at that address, or the address is.

    Failures are counted per login name whether or not it exists, so the answer never
    tells a guesser which logins are real; and per (login, address), per address and per
    login, so that a stranger's failures lock the stranger, not the owner (the policy:
    README, "Logins and sessions"). A success clears only its (login, address) count: a
    guesser may own an account, so it must not clear the address's.
    """
    name = login.strip().lower()[:60]
    address = (address or "unknown")[:64]
    now = utcnow()
    wait = _seconds_locked(name, address, now)
    if wait:
        raise TooManyAttempts(wait)
    user = find_user(name)
    if user is None or user.directory_source_id is not None:
        # Raises DirectoryUnavailable (nothing counted) when the directory cannot answer.
        user = directory.sign_in(name, password, user)
    elif not user.check_password(password):
        user = None
    if user is not None and user.is_active:
        if user.has_redmine_password:
            user.set_password(password)  # Sanmai's own hash from now on
        db.session.execute(
            sa.delete(LoginThrottle).where(
                LoginThrottle.login == name, LoginThrottle.address == address
            )
        )
        user.last_login_at = now
        db.session.flush()
        return user
    _count_failure(name, address, now)
    return None


def _seconds_locked(name: str, address: str, now: datetime) -> int:
    """0, or how long the login is still locked at this address. A count at its limit locks
    for SANMAI_LOGIN_LOCK_SECONDS after its last failure; while the login's own count (from
    all addresses) is at its limit, one failure at an address is enough."""
    config = current_app.config
    lock = timedelta(seconds=config["SANMAI_LOGIN_LOCK_SECONDS"])
    keys = [(name, address), ("", address), (name, "")]
    counts = {
        (row.login, row.address): row
        for row in db.session.scalars(
            sa.select(LoginThrottle).where(
                sa.tuple_(LoginThrottle.login, LoginThrottle.address).in_(keys)
            )
        )
    }

    def locked_for(key: tuple[str, str], limit: int) -> timedelta:
        row = counts.get(key)
        if row is None or row.failures < limit:
            return timedelta(0)
        return max(row.last_failed_at + lock - now, timedelta(0))

    under_attack = locked_for((name, ""), config["SANMAI_LOGIN_MAX_FAILURES_PER_LOGIN"])
    per_address = 1 if under_attack else config["SANMAI_LOGIN_MAX_FAILURES"]
    remaining = max(
        locked_for((name, address), per_address),
        locked_for(("", address), config["SANMAI_LOGIN_MAX_FAILURES_PER_ADDRESS"]),
    )
    return math.ceil(remaining.total_seconds())


def _count_failure(name: str, address: str, now: datetime) -> None:
    """One failure more on each count, in one statement: requests on other servers count
    at the same time, and an increment read and written back would lose some."""
    window = timedelta(seconds=current_app.config["SANMAI_LOGIN_WINDOW_SECONDS"])
    table = LoginThrottle.__table__
    insert = (
        postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    keys = dict.fromkeys([(name, address), ("", address), (name, "")])  # distinct, in order
    stmt = insert(table).values(
        [
            {"login": login, "address": addr, "failures": 1, "first_failed_at": now,
             "last_failed_at": now}
            for login, addr in keys
        ]
    )  # fmt: skip
    started_over = table.c.first_failed_at <= now - window
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.login, table.c.address],
        set_={
            "failures": sa.case((started_over, 1), else_=table.c.failures + 1),
            "first_failed_at": sa.case((started_over, now), else_=table.c.first_failed_at),
            "last_failed_at": now,
        },
    )
    db.session.execute(stmt)


def user_for_session(session_id: str) -> User | None:
    """The user a login session names (`User.get_id`), while that session is current: the
    account is active and its session generation has not been raised since the login."""
    user_id, _, generation = session_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or generation != str(user.session_generation):
        return None
    return user


def end_sessions(user: User) -> None:
    """Refuse every session of `user` made so far, on every device and server."""
    user.session_generation += 1
    db.session.flush()


def create_user(
    login: str,
    name: str,
    password: str | None = None,
    *,
    email: str | None = None,
    organisation: Organisation | None = None,
    language: str = "ja",
    is_admin: bool = False,
) -> User:
    name = _name(name)
    if find_user(login) is not None:
        raise AccountError(_("This login is already taken."), "login")
    user = User(
        login=login,
        name=name,
        email=email or None,
        organisation=organisation,
        language=language,
        is_admin=is_admin,
    )
    if password:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, data: dict) -> User:
    if "name" in data:
        data = {**data, "name": _name(data["name"])}
    login = data.get("login", user.login)
    other = find_user(login)
    if other is not None and other.id != user.id:
        raise AccountError(_("This login is already taken."), "login")
    locked = user.is_active_account and data.get("is_active_account") is False
    for field in ("login", "name", "language", "is_admin", "is_active_account"):
        if field in data:
            setattr(user, field, data[field])
    if "email" in data:
        user.email = data["email"] or None
    if "organisation_id" in data:
        user.organisation_id = data["organisation_id"] or None
    if "directory_source_id" in data:
        source = db.session.get(DirectorySource, data["directory_source_id"] or 0)
        if source is not user.directory_source:
            directory.bind_user(user, source)
    if data.get("password") and user.directory_source is None:
        user.set_password(data["password"])
    if locked or data.get("password"):
        end_sessions(user)  # none may outlive the password, nor come back with an unlock
    db.session.flush()
    return user


def change_password(user: User, current: str, new: str) -> None:
    if user.directory_source_id is not None:
        raise AccountError(
            _("This account signs in with the directory's password."), "current_password"
        )
    if not user.check_password(current):
        raise AccountError(_("The current password is wrong."), "current_password")
    user.set_password(new)
    end_sessions(user)  # a stolen session must not outlive the password it came from
    db.session.flush()


def set_language(user: User, language: str) -> None:
    user.language = language
    db.session.flush()


def api_token(user: User) -> str:
    token = user.ensure_api_token()
    db.session.flush()
    return token


def user_by_api_token(token: str | None) -> User | None:
    if not token:
        return None
    user = db.session.scalar(_by_api_token(), {"token": token})
    return user if user is not None and user.is_active else None


@functools.cache
def _by_api_token() -> sa.Select:
    """Built once: building it cost about what running it does, on every API request."""
    return sa.select(User).where(User.api_token == sa.bindparam("token"))


def save_organisation(organisation: Organisation | None, data: dict) -> Organisation:
    # Checked before a new one joins the session: a refused name leaves nothing to flush.
    name = _name(data["name"])
    name_en = _name(data.get("name_en"), "name_en", _("Name (English)")) or None
    if organisation is None:
        organisation = Organisation()
        db.session.add(organisation)
    organisation.name = name
    organisation.name_en = name_en
    organisation.kind = data["kind"]
    db.session.flush()
    return organisation


def organisation_by_name(name: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
