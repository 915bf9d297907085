"""URLs for the rows of long lists, links to pages other packages own, and `next` targets.

url_for is costly enough to show in a list of a hundred rows that links each row two or
three times: `row_url` builds an endpoint's URL once per request with numbered slots and
fills in each row's ids. `object_url` links an object's page (a ticket, a meeting) whatever its
id argument is called, or None while no such page exists. `safe_next` is the one check of
a `next` parameter before the redirect that follows a form.
"""

from __future__ import annotations

import re

from flask import current_app, g, url_for

_SLOT = 987654320  # + n: the n-th value of row_url, found again in the built URL
_SLOTS = re.compile(rf"({_SLOT // 10}\d)")


def row_url(endpoint: str, _external: bool = False, **values) -> str:
    """url_for(endpoint, **values) for integer values (anything else: url_for itself)."""
    if not all(type(v) is int for v in values.values()):
        return url_for(endpoint, _external=_external, **values)
    patterns = g.setdefault("_row_url_patterns", {})
    key = (endpoint, _external, *values)
    pattern = patterns.get(key)
    if pattern is None:
        names = list(values)
        slots = {name: _SLOT + n for n, name in enumerate(names)}
        parts = _SLOTS.split(url_for(endpoint, _external=_external, **slots))
        pattern = patterns[key] = [
            names[int(part) - _SLOT] if n % 2 else part for n, part in enumerate(parts)
        ]
    return "".join(str(values[part]) if n % 2 else part for n, part in enumerate(pattern))


def object_url(endpoint: str, object_id: int, external: bool = False) -> str | None:
    rules = current_app.url_map._rules_by_endpoint.get(endpoint)
    if not rules or len(rules[0].arguments) != 1:
        return None
    (name,) = rules[0].arguments
    return row_url(endpoint, _external=external, **{name: object_id})


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
