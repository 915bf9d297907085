"""Links to pages other packages own, and `next` targets.

`object_url` links an object's page (a ticket, a meeting) whatever its id argument is
called, or None while no such page exists. `safe_next` is the one check of a `next`
parameter before the redirect that follows a form.
"""

from __future__ import annotations

import re

from flask import current_app, url_for


def object_url(endpoint: str, object_id: int, external: bool = False) -> str | None:
    rules = current_app.url_map._rules_by_endpoint.get(endpoint)
    if not rules or len(rules[0].arguments) != 1:
        return None
    (name,) = rules[0].arguments
    return url_for(endpoint, _external=external, **{name: object_id})


# Browsers drop tabs and newlines from a URL and read a backslash as a slash, so a path
# like /\evil.example, or // with a tab between, leads to another site.
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x1f\x7f\\]")


def safe_next(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site, else `fallback`: a `next` parameter sends
    nobody to another site (an open redirect would lend our address to a phishing link)."""
    # One leading slash and no second one: no scheme, no host, only a path on this site.
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or _UNSAFE_IN_NEXT.search(target)
    ):
        return fallback
    return target
