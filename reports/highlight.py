"""Mark the words a person searched for (<mark>), in plain text or in sanitised HTML."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_TAG = re.compile(r"(<[^>]*>)")


def _pattern(terms) -> re.Pattern | None:
    words = sorted({str(escape(t)) for t in terms if t}, key=len, reverse=True)
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


def highlight(text: str | None, terms) -> Markup:
    """Escape `text`, then wrap every occurrence of a term (any case) in <mark>."""
    escaped = str(escape(text or ""))
    pattern = _pattern(terms)
    if pattern is None:
        return Markup(escaped)
    return Markup(pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", escaped))


def highlight_html(html: str, terms) -> Markup:
    """The same inside already-safe HTML (rendered Markdown): only text between tags."""
    pattern = _pattern(terms)
    if pattern is None:
        return Markup(html)
    parts = _TAG.split(str(html))
    for i in range(0, len(parts), 2):  # even parts are text, odd ones are tags
        parts[i] = pattern.sub(lambda m: f"<mark>{m.group(0)}</mark>", parts[i])
    return Markup("".join(parts))


def snippet(text: str | None, terms, width: int = 160) -> Markup:
    """About `width` characters of plain `text` around the first term, terms marked."""
    text = " ".join((text or "").split())
    if len(text) > width:
        lowered = text.lower()
        hits = [lowered.find(t.lower()) for t in terms if t and t.lower() in lowered]
        first = min(hits) if hits else 0
        start = max(0, min(first - width // 3, len(text) - width))
        text = (
            ("…" if start else "")
            + text[start : start + width]
            + ("…" if start + width < len(text) else "")
        )
    return highlight(text, terms)
