"""Who is calling the Redmine-compatible API.

Redmine's ways of passing credentials: the `X-Redmine-API-Key` header, the `key` query
parameter, or HTTP Basic with the API key as user name (any password) or with login and
password. Sanmai's own `X-API-Key` header is accepted too. A wrong key makes the caller
anonymous, as in Redmine (lists answer empty, everything else 401). An administrator may act
as another user with `X-Redmine-Switch-User: <login>` (python-redmine's `impersonate`).

A browser session counts only for reading (GET/HEAD): a state-changing call must bring its
own credentials, so a session cookie alone can never change anything through the API
(the blueprint is exempt from CSRF tokens because of this).
"""

from __future__ import annotations

from flask import abort, g, make_response, request
from flask_babel import gettext as _
from flask_login import current_user

from accounts import services as accounts
from accounts.models import User
from core.extensions import db, login_manager

SAFE_METHODS = ("GET", "HEAD")


def _user_from_credentials() -> tuple[User | None, bool]:
    """(the user, whether credentials were sent at all)."""
    key = (
        request.headers.get("X-Redmine-API-Key")
        or request.headers.get("X-API-Key")
        or request.args.get("key")
    )
    if key:
        return accounts.user_by_api_token(key), True
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        # The key first: trying it as a login would count failures against it.
        user = accounts.user_by_api_token(auth.username)
        if user is None and auth.password:
            try:
                user = accounts.authenticate(auth.username, auth.password, request.remote_addr)
            except accounts.TooManyAttempts as locked:
                db.session.commit()
                response = make_response(
                    {"errors": [_("Too many attempts. Please wait a moment and try again.")]},
                    429,
                )
                response.headers["Retry-After"] = str(locked.wait_seconds)
                abort(response)
            db.session.commit()  # the failure count or the last login time
        return user, True
    return None, False


def _switched(user: User | None) -> User | None:
    """Redmine's X-Redmine-Switch-User: an administrator acts as another (active) user;
    412 when there is no such user. Ignored for everyone else, as in Redmine."""
    login = request.headers.get("X-Redmine-Switch-User", "").strip()
    if user is None or not user.is_admin or not login:
        return user
    other = accounts.find_user(login)
    if other is None or not other.is_active:
        abort(empty(412))
    return other


def identify_caller() -> None:
    """before_request of the API blueprint: decide who the caller is, once."""
    user, sent = _user_from_credentials()
    user = _switched(user)
    if (
        user is None
        and not sent
        and request.method in SAFE_METHODS
        and current_user.is_authenticated
    ):
        user = current_user._get_current_object()
    g.redmine_user = user
    # Flask-Login's current_user (and with it the locale of error messages) follows the
    # API caller for this request only; nothing is written to the session.
    g._login_user = user if user is not None else login_manager.anonymous_user()


def caller() -> User | None:
    return g.get("redmine_user")


def empty(status: int):
    """Redmine's bare error answer: a status, no body."""
    response = make_response("", status)
    response.headers["Content-Type"] = "application/json"
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="Redmine API"'
    return response


def require_caller() -> User:
    user = caller()
    if user is None:
        abort(empty(401))
    return user


def not_found():
    """What a caller gets for anything it may not see: 401 when anonymous, else 404."""
    abort(empty(401 if caller() is None else 404))


def forbidden():
    """Visible, but the caller may not do this (Redmine's 403)."""
    abort(empty(403))
