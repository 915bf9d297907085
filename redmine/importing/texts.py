"""Redmine's texts as Sanmai's Markdown, and `#123` references turned to Sanmai's ids.

Redmine formats every text one way, its `text_formatting` setting: 'textile' (older
installs, and the default before Redmine 5.1 stored the row), 'markdown' or 'common_mark',
or '' (plain). Markdown texts are kept as they are. Textile is converted with two maintained
libraries: python-textile to HTML, markdownify from HTML to Markdown. Around them, only what
makes Redmine's Textile differ from python-textile's, by Redmine's own rules:

- HTML tags other than pre, code, kbd and notextile are shown as typed (Redmine escapes them),
  and `<pre><code class="ruby">` is a plain code block;
- a line starting with `;` or `:` is text (python-textile's definition lists), and one
  starting with `#123` is an issue reference, not a numbered list starting at 123 (nor a
  heading: Sanmai's Markdown, as CommonMark, needs a space after a heading's #s);
- no typographic glyphs (Redmine turns them off): quotes, dashes and `2x3` stay as typed;
- a line break is a line break (Sanmai renders Markdown with nl2br), an in-page anchor (a
  footnote's) is dropped, an image keeps its file name as its alt text.

Markup next to Japanese without spaces (`これは*重要*です`) is not markup for Redmine either:
it is kept, escaped where Markdown would read it. A text in which neither Textile nor
Markdown sees anything (most notes) is returned as it is without parsing, and so is each
such paragraph of a longer text; a heading or a flat list whose texts have no markup
(`h2. 事象`, `* 端末: 窓口端末`) is written as Markdown directly: python-textile with
markdownify costs about half a millisecond a block, the check a microsecond. Converted paragraphs are kept in a bounded
cache (8,192), as a tracker's template repeats them in every issue.

A text python-textile fails on (it raises on a few odd ones, or leaves its placeholders in
the HTML) is kept as typed, as a plain text.

References: `#123`, also `issue #123` and `チケット#123`, and `#123-2`/`#123#note-2`; not
`##123`, `!#123` (Redmine's escape), `&#123;`, `page#123`, anything in a URL, in a fenced or
indented code block, in `<pre>` or `<code>`, in inline code, or (in a text that was Textile)
in `@...@`.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Mapping
from functools import lru_cache

import markdownify
import textile

MARKDOWN_FORMATS = ("markdown", "common_mark")

# What Textile or Markdown could read as markup; a text without any is plain in both. A span
# (`-`, `_`, `@`, `+`, `^`, `~`, `%`, `==`) opens only after a non-word character; `*` counts
# anywhere (Markdown reads it inside words); a link needs `":`, an image `!x`; a quote, a
# heading, a list or code starts a line (a line starting with `#123` is a reference).
_MAYBE_MARKUP = re.compile(
    r"""[*<|\[\\`] | ": | \?\? | ![^\s!] | (?<!\w)[-_@+^~%=]
    | ^(?:[ \t>]|\#(?!\#*\d)|(?:h[1-6]|bq|bc|pre|p|fn\d+|notextile|table)[^\s.]*\.)""",
    re.MULTILINE | re.VERBOSE,
)
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")
# What reaches from one block into another: blocks with blank lines in them (<pre>, code
# blocks), extended blocks (`bq..`), link aliases (`[name]https://...`), footnotes.
_ACROSS_BLOCKS = re.compile(
    r"</?pre|</?notextile|^(?:bc|pre)[^\s.]*\.|^[a-z#]+[^\s.]*\.\."
    r"|\[[^\]\n]+\]\s?(?:[a-z]+:/|/)|^fn\d",
    re.MULTILINE | re.IGNORECASE,
)
_CODE_REGIONS = re.compile(r"(<pre\b[^>]*>.*?</pre>|<notextile>.*?</notextile>)", re.S | re.I)
_PRE_CODE = re.compile(r"(<pre\b[^>]*>)(\s*)<code\b[^>]*>(.*?)</code>(\s*)(</pre>)", re.S | re.I)
# Redmine's escape_html_tags: a tag it does not allow is shown as typed.
_HTML_TAG = re.compile(r"<(/?([!\w][^ >\t\f\r\n]*)[^<>\n]*)(>?)")
_ALLOWED_TAGS = {"pre", "code", "kbd", "notextile"}
# python-textile's `#5 item` (a list from 5) and `#_ item` (a list going on): Redmine has
# neither, and `#123` there is a reference.
_LINE_START_REFERENCE = re.compile(r"^#+(?=[\d_])", re.M)
# python-textile's definition lists (`; term`, `: definition`): Redmine has none.
_LINE_START_DEFINITION = re.compile(r"^[;:]", re.M)
# What Markdown would read as the start of an HTML tag, `_` that could open emphasis, and a
# heading.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_OPENING_UNDERSCORE = re.compile(r"(?<![\w\\])_")
_LINE_START_HASH = re.compile(r"^#(?=#*(?:[ \t]|$))", re.M)
# A heading, or a flat list's item (one line each), written directly when its text is plain
# (_simple_block): most structured descriptions are such blocks, each a parse otherwise.
_SIMPLE_HEADING = re.compile(r"h([1-6])\. ([^\n]*\S[^\n]*)")
_SIMPLE_ITEM = re.compile(r"[*#] [^\n]*\S[^\n]*")
_NOT_AS_TYPED = re.compile(r"[&#\\\r]")


class _Converter(markdownify.MarkdownConverter):
    """markdownify's converter, with Redmine's and Sanmai's differences (module docstring)."""

    def convert_br(self, el, text, parent_tags):
        return text + " " if "_inline" in parent_tags else "\n" + text

    def convert_a(self, el, text, parent_tags):
        if (el.get("href") or "").startswith("#"):
            return text  # python-textile's footnote anchors: ids made up for this page
        return super().convert_a(el, text, parent_tags)

    def convert_sup(self, el, text, parent_tags):
        return f"[{text}]" if "footnote" in (el.get("class") or []) else text

    def convert_img(self, el, text, parent_tags):
        if not el.get("alt"):
            el["alt"] = (el.get("src") or "").rsplit("/", 1)[-1]
        return super().convert_img(el, text, parent_tags)

    def escape(self, text, parent_tags):
        text = super().escape(text, parent_tags)
        text = _OPENING_UNDERSCORE.sub(r"\\_", text)
        text = _LINE_START_HASH.sub(r"\\#", text)  # a heading for Markdown
        return _TAG_START.sub("&lt;", text)


_converter = _Converter(
    heading_style=markdownify.ATX,
    bullets="*",
    escape_asterisks=True,
    escape_underscores=False,  # only where it could open emphasis (_Converter.escape)
    escape_misc=False,
    table_infer_header=True,
)


def _parser() -> textile.Textile:
    parser = textile.Textile(html_type="html5")
    parser.glyph_replacers = []  # Redmine's Textile has no typographic glyphs
    return parser


# A parser made once: making one compiles its patterns anew (milliseconds), a copy of it
# shares them (tens of microseconds). Each text gets its own copy, so nothing of one text (a
# link alias, a list's numbering, a footnote) reaches the next, and no store grows.
_PARSER = _parser()


def to_markdown(text: str | None, formatting: str | None) -> str:
    """`text` as Sanmai's Markdown, for Redmine's `text_formatting` setting `formatting`."""
    if not text:
        return ""
    if formatting in MARKDOWN_FORMATS:
        return text
    if not _MAYBE_MARKUP.search(text):
        return text
    if formatting == "":
        return _plain_to_markdown(text)
    if _ACROSS_BLOCKS.search(text):
        return textile_to_markdown(text)
    # Textile's blocks stand alone (but for the above): only those with markup are parsed.
    blocks = _BLANK_LINES.split(text.replace("\r\n", "\n").replace("\r", "\n"))
    parts = (
        (_simple_block(block) or _block(block)) if _MAYBE_MARKUP.search(block) else block
        for block in blocks
    )
    return "\n\n".join(part for part in parts if part.strip())


def _simple_block(block: str) -> str | None:
    """A heading or a flat list whose texts have no markup, written as Markdown directly (as
    the parse would write it); None for any other block."""
    if match := _SIMPLE_HEADING.fullmatch(block):
        level, content = match.groups()
        return "#" * int(level) + " " + content.strip() if _plain_item(content) else None
    lines = block.split("\n")
    marker = block[0]
    if marker not in "*#" or not all(_SIMPLE_ITEM.fullmatch(line) for line in lines):
        return None
    if any(line[0] != marker or not _plain_item(line[2:]) for line in lines):
        return None
    if marker == "*":
        return "\n".join("* " + line[2:].strip() for line in lines)
    return "\n".join(f"{n}. {line[2:].strip()}" for n, line in enumerate(lines, 1))


def _plain_item(text: str) -> bool:
    # No markup, and nothing the parse would write otherwise (an entity, a reference, a
    # python-textile definition list).
    return (
        not _MAYBE_MARKUP.search(text)
        and not _NOT_AS_TYPED.search(text)
        and not text.lstrip().startswith((";", ":"))
    )


@lru_cache(maxsize=8192)
def _block(block: str) -> str:
    # Kept: paragraphs come back again and again (a tracker's template, "h2. 現象").
    return textile_to_markdown(block)


def textile_to_markdown(text: str) -> str:
    """Redmine's Textile `text` as Markdown."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return ""
    try:
        markup = _textile_html(_redmine_textile(text))
    except Exception:  # python-textile fails on a few odd texts ('"a":http://a.jp/> ')
        return _plain_to_markdown(text)
    if _PARSER.uid in markup:  # and leaves its placeholders in a few others
        return _plain_to_markdown(text)
    return _converter.convert(markup).strip("\n")


def _plain_to_markdown(text: str) -> str:
    """A plain text (Redmine shows it as typed, with its line breaks) as Markdown."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip("\n"))
    markup = "".join(
        "<p>" + html.escape(paragraph).replace("\n", "<br>") + "</p>" for paragraph in paragraphs
    )
    return _converter.convert(markup).strip("\n")


def _redmine_textile(text: str) -> str:
    """`text` with what Redmine reads differently from python-textile made explicit."""
    text = _PRE_CODE.sub(r"\1\2\3\4\5", text)
    parts = _CODE_REGIONS.split(text)
    for index in range(0, len(parts), 2):  # the parts outside <pre> and <notextile>
        part = _HTML_TAG.sub(_escape_tag, parts[index])
        part = _LINE_START_DEFINITION.sub(lambda m: f"&#{ord(m.group(0))};", part)
        # as entities, the #s are text to python-textile (and the reference stays one)
        parts[index] = _LINE_START_REFERENCE.sub(lambda m: "&#35;" * len(m.group(0)), part)
    return "".join(parts)


def _escape_tag(match: re.Match) -> str:
    tag, closed = match.group(2), match.group(3)
    if closed and tag.lower() in _ALLOWED_TAGS | {f"/{name}" for name in _ALLOWED_TAGS}:
        return match.group(0)
    return "&lt;" + match.group(1) + ("&gt;" if closed else "")


def _textile_html(text: str) -> str:
    parser = copy.deepcopy(_PARSER)
    # python-textile follows each <br /> with a line feed of its own: one break, not two
    return parser.parse(text).replace("<br />\n", "<br />")


# References: what to leave alone, tried first at each position, then a reference.
_SKIP = r"""
    (?P<skip>
      ^(?P<fence>`{3,}|~{3,})[^\n]*\n(?:.*?\n)??(?P=fence)[ \t]*$   # fenced code block
    | (?:\A|(?<=\n\n))(?:(?:\ {4}|\t)[^\n]*(?:\n|\Z))+              # indented code block
    | <pre\b.*?</pre> | <code\b.*?</code>
    | (?P<ticks>`+).+?(?P=ticks)                                    # inline code
    | [A-Za-z][A-Za-z0-9+.-]*://[^\s<>"]*                           # a URL
    {textile}
    )
  | (?<![#&!/A-Za-z0-9_])\#(?P<id>\d+)(?![A-Za-z0-9_])
"""
_REFERENCES = re.compile(_SKIP.replace("{textile}", ""), re.S | re.M | re.X | re.I)
_TEXTILE_REFERENCES = re.compile(
    _SKIP.replace("{textile}", r"| (?<![A-Za-z0-9_])@[^@\n]+@(?![A-Za-z0-9_])  # Textile's code"),
    re.S | re.M | re.X | re.I,
)


def rewrite_references(text: str, ids: Mapping[int, int], *, was_textile: bool = False) -> str:
    """`text` with each reference `#N` to an issue in `ids` written `#ids[N]`; references to
    other issues, and everything in code or URLs, stay as they are."""
    if not ids or "#" not in text:
        return text

    def replace(match: re.Match) -> str:
        if match.group("skip") is not None:
            return match.group(0)
        new = ids.get(int(match.group("id")))
        return match.group(0) if new is None else f"#{new}"

    return (_TEXTILE_REFERENCES if was_textile else _REFERENCES).sub(replace, text)
