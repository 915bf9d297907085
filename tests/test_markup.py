"""Markdown as Sanmai shows it (core.markup): headings need a space after their #s, as in
CommonMark, so a line starting with a ticket reference stays text."""

import pytest

from core.markup import render_markdown


@pytest.mark.parametrize(
    "text, html",
    [
        ("#123 の件", "<p>#123 の件</p>"),
        ("本文\n#5 を参照", "<p>本文<br>\n#5 を参照</p>"),
        ("##見出し", "<p>##見出し</p>"),
        ("# 見出し", "<h1>見出し</h1>"),
        ("## 進め方 ##", "<h2>進め方</h2>"),
        ("### 宿題 #12 の件", "<h3>宿題 #12 の件</h3>"),
    ],
)
def test_a_heading_needs_a_space_after_its_hashes(text, html):
    assert str(render_markdown(text)) == html
