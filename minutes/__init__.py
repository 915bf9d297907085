from flask import Blueprint

bp = Blueprint("minutes", __name__)

from minutes import confirm_views, item_views, live, revision_views, views  # noqa: E402,F401
