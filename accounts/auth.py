"""Login is required everywhere except on views marked @public."""

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from core.extensions import login_manager


def public(view):
    """Mark a view as reachable without logging in (login page, signed guest links, feeds)."""
    view.is_public = True
    return view


def require_login():
    if request.endpoint is None or request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "is_public", False) or current_user.is_authenticated:
        return None
    if request.path.startswith("/api/") or request.path.endswith(".json"):
        return jsonify(errors=[_("Authentication required.")]), 401
    return login_manager.unauthorized()
