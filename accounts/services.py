"""Accounts: the rules and the writes. Callers pass the actor; nothing reads the request."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from accounts import directory
from accounts.models import DirectorySource, LoginThrottle, Organisation, User
from extensions import db
from timeutil import utcnow


class AccountError(ValueError):
    """A rule was broken; the message is for the person who asked."""


class TooManyAttempts(AccountError):
    def __init__(self, wait_seconds: int):
        super().__init__(wait_seconds)
        self.wait_seconds = wait_seconds


def find_user(login: str) -> User | None:
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.login) == login.lower()))


def authenticate(login: str, password: str) -> User | None:
    """The user for these credentials, or None; raises TooManyAttempts while locked out.

    Failures are counted per login name whether or not it exists, so the answer never
    tells a guesser which logins are real.
    """
    key = login.strip().lower()[:60]
    throttle = db.session.get(LoginThrottle, key)
    limit = current_app.config["SANMAI_LOGIN_MAX_FAILURES"]
    lock = timedelta(seconds=current_app.config["SANMAI_LOGIN_LOCK_SECONDS"])
    now = utcnow()
    if throttle is not None and throttle.failures >= limit:
        remaining = throttle.last_failed_at + lock - now
        if remaining > timedelta(0):
            raise TooManyAttempts(int(remaining.total_seconds()) + 1)
    user = find_user(key)
    if user is None or user.directory_source_id is not None:
        # Raises DirectoryUnavailable (nothing counted) when the directory cannot answer.
        user = directory.sign_in(key, password, user)
    elif not user.check_password(password):
        user = None
    if user is not None and user.is_active:
        if throttle is not None:
            db.session.delete(throttle)
        user.last_login_at = now
        db.session.flush()
        return user
    if throttle is None:
        throttle = LoginThrottle(key=key, failures=0)
        db.session.add(throttle)
    if throttle.failures >= limit:  # the lock expired: one more try before locking again
        throttle.failures = limit - 1
    throttle.failures += 1
    throttle.last_failed_at = now
    db.session.flush()
    return None


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
    if find_user(login) is not None:
        raise AccountError(f"login {login!r} is taken")
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
    login = data.get("login", user.login)
    other = find_user(login)
    if other is not None and other.id != user.id:
        raise AccountError(f"login {login!r} is taken")
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
    db.session.flush()
    return user


def change_password(user: User, current: str, new: str) -> None:
    if user.directory_source_id is not None:
        raise AccountError("the password is the directory's")
    if not user.check_password(current):
        raise AccountError("current password is wrong")
    user.set_password(new)
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
    user = db.session.scalar(sa.select(User).where(User.api_token == token))
    return user if user is not None and user.is_active else None


def save_organisation(organisation: Organisation | None, data: dict) -> Organisation:
    if organisation is None:
        organisation = Organisation()
        db.session.add(organisation)
    organisation.name = data["name"]
    organisation.name_en = data.get("name_en") or None
    organisation.kind = data["kind"]
    db.session.flush()
    return organisation


def organisation_by_name(name: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
