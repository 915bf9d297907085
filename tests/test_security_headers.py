"""Security headers on every answer; a Content-Security-Policy that no template needs to
weaken (no inline script, event handler or style attribute)."""

from html.parser import HTMLParser
from pathlib import Path

import pytest

from exports import csv as csvs

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def directives(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.strip() for d in policy.split(";") if d.strip()}


@pytest.fixture
def html_pages(client, login, make_user):
    """A public page, a page behind the login and an error page, as HTML."""
    pages = [client.get("/login")]
    login(make_user())
    pages += [client.get("/projects"), client.get("/no-such-page")]
    assert [p.mimetype for p in pages] == ["text/html"] * 3
    return pages


def test_html_pages_allow_scripts_and_styles_only_from_our_files(html_pages):
    for response in html_pages:
        policy = directives(response)
        assert policy["script-src"] == "script-src 'self'"
        assert policy["style-src"] == "style-src 'self'"
        assert policy["object-src"] == "object-src 'none'"
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
        assert "unsafe-eval" not in response.headers["Content-Security-Policy"]


def test_html_pages_may_not_be_framed(html_pages):
    for response in html_pages:
        assert directives(response)["frame-ancestors"] == "frame-ancestors 'none'"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_html_pages_are_not_sniffed_and_send_no_referrer_to_other_sites(html_pages):
    for response in html_pages:
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"


def test_json_csv_and_static_files_are_not_sniffed(client, login, make_user, make_unit):
    user = make_user()
    unit = make_unit(members={user: "member"})
    anonymous_json = client.get("/api/v1/meetings")
    login(user)
    answers = [
        anonymous_json,
        client.get(f"/projects/{unit.identifier}/issues.csv"),
        client.get("/static/js/select-on-click.js"),
    ]
    assert [a.status_code for a in answers] == [401, 200, 200]
    assert [a.mimetype for a in answers] == ["application/json", "text/csv", "text/javascript"]
    for answer in answers:
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answers[1].data.startswith(csvs.BOM.encode())


class _InlineCode(HTMLParser):
    """Collects what a strict CSP refuses: inline <script> code, on* handlers, style=,
    javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        values = dict(attrs)
        if tag == "script" and "src" not in names and values.get("type") != "application/json":
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"{name}= at line {self.getpos()[0]}")
            elif (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"javascript: URL at line {self.getpos()[0]}")


@pytest.mark.parametrize(
    "path",
    sorted(
        p.relative_to(TEMPLATES).as_posix()
        for p in TEMPLATES.rglob("*.html")
        if p.name != "minutes_pdf.html"  # made into a PDF, never served as a page
    ),
)
def test_no_template_needs_inline_script_or_style(path):
    parser = _InlineCode()
    parser.feed((TEMPLATES / path).read_text(encoding="utf-8"))
    assert parser.found == []
