"""The Redmine-compatible REST API (Redmine 5.0's paths, JSON shapes and status codes).

Token-authenticated JSON: exempt from CSRF tokens, and a session cookie alone never
authorises a state-changing call (see redmine/auth.py). docs/REDMINE_API.md lists what
is covered and where Sanmai answers differently.
"""

from flask import Blueprint

from core.extensions import csrf
from redmine.auth import identify_caller

bp = Blueprint("redmine", __name__)
csrf.exempt(bp)
bp.before_request(identify_caller)

from redmine import api, issues  # noqa: E402,F401
