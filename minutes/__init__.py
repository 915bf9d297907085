from flask import Blueprint

bp = Blueprint("minutes", __name__)

from minutes import views  # noqa: E402,F401
