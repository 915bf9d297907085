from flask import Blueprint

bp = Blueprint("projects", __name__)

from projects import views  # noqa: E402,F401
