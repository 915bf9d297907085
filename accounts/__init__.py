from flask import Blueprint

from accounts.auth import public, require_login

bp = Blueprint("accounts", __name__)
bp.before_app_request(require_login)

from accounts import directory_views, views  # noqa: E402,F401

__all__ = ["bp", "public"]
