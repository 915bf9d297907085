"""Reports: the homework dashboard, my page, the decision register, one search, reminders."""

from flask import Blueprint

bp = Blueprint("reports", __name__)

from reports import views  # noqa: E402,F401
