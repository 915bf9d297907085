from flask import Blueprint

bp = Blueprint("tickets", __name__)

from tickets import admin_views, attachment_views, list_views, views  # noqa: E402,F401
