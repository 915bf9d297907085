"""Links to pages other packages own (a ticket, a meeting), whatever their id argument is
called (ticket_id, meeting_id …); None while such a page does not exist."""

from __future__ import annotations

from flask import current_app, url_for


def object_url(endpoint: str, object_id: int, external: bool = False) -> str | None:
    rules = current_app.url_map._rules_by_endpoint.get(endpoint)
    if not rules or len(rules[0].arguments) != 1:
        return None
    (name,) = rules[0].arguments
    return url_for(endpoint, _external=external, **{name: object_id})
