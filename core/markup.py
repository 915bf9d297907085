"""Markdown to safe HTML: one function, used by pages, the PDF and the API alike."""

import re
from functools import lru_cache

import markdown
import nh3
from markdown.blockprocessors import HashHeaderProcessor
from markupsafe import Markup

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "del",
    "s",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}


class _SpacedHeadings(HashHeaderProcessor):
    """A heading needs a space after its #s, as in CommonMark (Redmine's Markdown): a line
    that starts with a ticket reference, "#123 の件", stays a line of text."""

    RE = re.compile(
        r"(?:^|\n)(?P<level>#{1,6})(?P<header>(?:[ \t](?:\\.|[^\\#]|#+(?=[^#\n]))*?)?)#*(?:\n|$)"
    )


class _Headings(markdown.Extension):
    def extendMarkdown(self, md):
        md.parser.blockprocessors.register(_SpacedHeadings(md.parser), "hashheader", 70)


@lru_cache(maxsize=4096)
def _render(text: str) -> str:
    html = markdown.markdown(
        text, extensions=["tables", "fenced_code", "sane_lists", "nl2br", _Headings()]
    )
    # ~~strike~~ as Redmine's toolbar writes it; Python-Markdown has no built-in for it.
    html = _strike(html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def _strike(html: str) -> str:
    return re.sub(r"~~(?=\S)(.+?)(?<=\S)~~", r"<del>\1</del>", html)


def render_markdown(text: str | None) -> Markup:
    """Sanitised HTML for Markdown `text` (safe to put in a template as is)."""
    if not text:
        return Markup("")
    return Markup(_render(text))
