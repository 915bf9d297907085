"""Links to pages other packages own (a ticket, a meeting), whatever their id argument is
called (ticket_id, meeting_id …); None while such a page does not exist."""

from __future__ import annotations

from flask import current_app, g, url_for

_PLACEHOLDER = 987654321987654321  # an id no table reaches, replaced in the built URL


def object_url(endpoint: str, object_id: int, external: bool = False) -> str | None:
    """The object's page. The route is built once per request and endpoint, and filled in
    for each object: report pages link dozens of rows, and url_for costs ~20 µs a call."""
    built = g.setdefault("object_urls", {})
    key = (endpoint, external)
    if key not in built:
        rules = current_app.url_map._rules_by_endpoint.get(endpoint)
        if not rules or len(rules[0].arguments) != 1:
            built[key] = None
        else:
            (name,) = rules[0].arguments
            built[key] = url_for(endpoint, _external=external, **{name: _PLACEHOLDER})
    template = built[key]
    return template.replace(str(_PLACEHOLDER), str(object_id)) if template else None
