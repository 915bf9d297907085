from flask import Blueprint

bp = Blueprint("minutes", __name__)

from minutes import confirm_views, hooks, item_views, live, revision_views, views  # noqa: E402,F401

# Tickets and attachments learn about minutes here (they sit below it and do not import it).
bp.record_once(hooks.register)
