from flask import Blueprint

bp = Blueprint("tickets", __name__)

import permissions  # noqa: E402
from attachments import files  # noqa: E402
from tickets import admin_views, list_views, services, views  # noqa: E402,F401
from tickets.models import Ticket  # noqa: E402


def _register_hooks(state) -> None:
    # Files hang on tickets through attachments, a lower layer that does not import tickets.
    files.register_container(
        "ticket",
        Ticket,
        Ticket.project_id,
        services.attach_file,
        visible=lambda user: permissions.visible_ticket(user, Ticket),
    )


bp.record_once(_register_hooks)
