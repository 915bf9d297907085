from flask import Blueprint

bp = Blueprint("exports", __name__)

from exports import views  # noqa: E402,F401
