"""Redmine's texts as Sanmai's Markdown (redmine/importing/texts.py): Textile converted,
Markdown kept, `#123` references rewritten."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.markup import render_markdown
from redmine.importing.texts import rewrite_references, textile_to_markdown, to_markdown


@pytest.mark.parametrize(
    "textile, markdown",
    [
        (
            "h2. 現象\n\n住民票の写しに旧姓が表示されない。\n\nh3. 再現手順\n\n"
            "# 窓口端末でログイン\n# 住民を検索する\n# 写しを発行する",
            "## 現象\n\n住民票の写しに旧姓が表示されない。\n\n### 再現手順\n\n"
            "1. 窓口端末でログイン\n2. 住民を検索する\n3. 写しを発行する",
        ),
        (
            "*至急* 本日中に回答してください。\n担当：山田",
            "**至急** 本日中に回答してください。\n担当：山田",
        ),
        ("* 住民記録\n** 転入\n** 転出\n* 税務", "* 住民記録\n  * 転入\n  * 転出\n* 税務"),
        (
            "|_. 項目|_. 内容|\n|氏名|山田 太郎|\n|旧姓|佐藤|",
            "| 項目 | 内容 |\n| --- | --- |\n| 氏名 | 山田 太郎 |\n| 旧姓 | 佐藤 |",
        ),
        # Markdown's tables need a header: the first row becomes it
        ("|氏名|山田 太郎|\n|旧姓|佐藤|", "| 氏名 | 山田 太郎 |\n| --- | --- |\n| 旧姓 | 佐藤 |"),
        (
            "ログは次のとおり。\n\n<pre>\nERROR *batch* #123 failed\n  at jyuki_batch.sh:12\n"
            "</pre>\n\n以上です。",
            "ログは次のとおり。\n\n```\nERROR *batch* #123 failed\n  at jyuki_batch.sh:12\n```"
            "\n\n以上です。",
        ),
        (
            '<pre><code class="sql">\nSELECT * FROM jyuki WHERE id < 10;\n</code></pre>',
            "```\nSELECT * FROM jyuki WHERE id < 10;\n```",
        ),
        ("設定値 @max_count@ を 10 に変更しました。", "設定値 `max_count` を 10 に変更しました。"),
        (
            '詳細は "仕様書":https://wiki.example.jp/spec?id=1 を参照。',
            "詳細は [仕様書](https://wiki.example.jp/spec?id=1) を参照。",
        ),
        ("画面：!screenshot.png!", "画面：![screenshot.png](screenshot.png)"),
        ("bq. 課長より：来週までに対応すること。", "> 課長より：来週までに対応すること。"),
        ("-旧仕様- 新仕様で対応", "~~旧仕様~~ 新仕様で対応"),
        (
            "h2. 概要\n\n対応内容：\n* 画面修正\n* 帳票修正\n\n|_. 画面|_. 担当|\n|転入届|山田|"
            "\n\n詳細は #321 を参照。",
            "## 概要\n\n対応内容：\n\n* 画面修正\n* 帳票修正\n\n| 画面 | 担当 |\n| --- | --- |\n"
            "| 転入届 | 山田 |\n\n詳細は #321 を参照。",
        ),
    ],
)
def test_textile_becomes_markdown(textile, markdown):
    assert to_markdown(textile, "textile") == markdown


@pytest.mark.parametrize(
    "textile, markdown",
    [
        # Redmine reads a line starting with #123 as a reference, not a list from 123; kept
        # as typed (no heading for Sanmai's Markdown either: no space after the #)
        ("#123 の件と同じ原因です。\n#45 も参照。", "#123 の件と同じ原因です。\n#45 も参照。"),
        # next to Japanese without spaces it is no markup for Redmine either: kept, escaped
        ("これは*重要*です。", "これは\\*重要\\*です。"),
        ("file_name.csv と 「_強調_」", "file_name.csv と 「\\_強調_」"),
        # HTML other than pre, code, kbd and notextile is shown as typed, as Redmine does
        (
            "<b>太字</b> と <住民票> と <yamada@city.example.jp>",
            "&lt;b>太字&lt;/b> と <住民票> と &lt;yamada@city.example.jp>",
        ),
        # Redmine has no typographic glyphs
        ('"引用" -- 2x3 (c) ...', '"引用" -- 2x3 (c) ...'),
        ("文献[1] 参照", "文献[1] 参照"),  # a footnote mark, without python-textile's anchor
        ("<notextile>*そのまま*</notextile>", "\\*そのまま\\*"),
        ("; 用語\n: 説明 *至急*", "; 用語\n: 説明 **至急**"),  # no definition lists
        ("# 一\n\n#_ 二\n##5 三", "1. 一\n\n#\\_ 二\n##5 三"),  # nor lists going on or from 5
    ],
)
def test_where_redmine_reads_textile_its_own_way(textile, markdown):
    assert to_markdown(textile, "textile") == markdown


def test_converted_text_renders_as_redmine_showed_it():
    html = str(render_markdown(to_markdown("#123 の件\nこれは*重要*です。<b>x</b>", "textile")))
    assert html == "<p>#123 の件<br>\nこれは*重要*です。&lt;b&gt;x&lt;/b&gt;</p>"


def test_a_text_without_markup_is_kept_as_it_is():
    text = "確認しました。\r\n明日までに回答します。2026-04-01 10:00 file_name.csv #12"
    assert to_markdown(text, "textile") == text


@pytest.mark.parametrize("formatting", ["markdown", "common_mark"])
def test_markdown_is_kept_as_it_is(formatting):
    text = "## 現象\n\n*強調* と **太字** と h2. そのまま\n\n#123 の件"
    assert to_markdown(text, formatting) == text


def test_a_plain_text_is_shown_as_typed():
    assert to_markdown("*注意* <b>\n_下線_\n#12 の件", "") == (
        "\\*注意\\* &lt;b>\n\\_下線_\n#12 の件"
    )
    # a line that Markdown would make a heading is escaped; a reference is not one
    assert to_markdown("前\n# 見出しではない\n#12 の件", "") == "前\n\\# 見出しではない\n#12 の件"


def test_nothing_of_one_text_reaches_the_next():
    # a link alias defined in one text is not one in the next
    first = textile_to_markdown('"仕様書":spec\n\n[spec]https://wiki.example.jp/spec')
    assert first == "[仕様書](https://wiki.example.jp/spec)"
    assert textile_to_markdown('"仕様書":spec') == "[仕様書](spec)"


def test_only_paragraphs_with_markup_are_parsed():
    text = "前段落\n\n* 項目\n\n後段落。\r\n二行目"
    assert to_markdown(text, "textile") == "前段落\n\n* 項目\n\n後段落。\n二行目"


def test_a_text_the_parser_fails_on_is_kept_as_typed():
    assert (
        to_markdown('"仕様":http://a.jp/> *注意*', "textile") == '"仕様":http://a.jp/> \\*注意\\*'
    )
    text = '"a":http://a.jp/#"b":http://a.jp/'  # python-textile would leave placeholders
    assert to_markdown(text, "textile") == text


def test_empty_texts():
    assert to_markdown(None, "textile") == "" and to_markdown("", "textile") == ""
    assert to_markdown("  \n", "textile") == ""


def _lines(text: str) -> list[str]:
    lines = (re.sub(r"[ \t]+", " ", line.strip()) for line in text.splitlines())
    return [line for line in lines if line]


FRAGMENTS = [
    *"住民票の写し確認。、「」（）ａ1x-_*@#.:/()'\"!?+~%=|<>&\\`^[] ",
    *[
        "\n",
        "\n\n",
        "\r\n",
        "  ",
        "# ",
        "#_ ",
        "* ",
        "; ",
        ": ",
        "h2. ",
        "bq. ",
        "> ",
        "bc. ",
        "fn1. ",
    ],
    *["[1]", "==", "<b>", "<pre>", "</pre>", '"a":http://a.jp/ ', "!a.png! "],
]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=20).map("".join))
def test_skipping_the_parse_never_changes_the_result(text):
    # to_markdown returns a text, or a paragraph, without markup as it is, without parsing:
    # the parse of the whole text gives the same lines (but for runs of spaces)
    assert _lines(to_markdown(text, "textile")) == _lines(textile_to_markdown(text))


MOVED = {12: 112, 45: 145, 5: 7, 7: 9}


@pytest.mark.parametrize(
    "text, rewritten",
    [
        ("#12 と #13 を参照", "#112 と #13 を参照"),  # 13 was not imported
        ("issue #12, チケット#45 (#12)", "issue #112, チケット#145 (#112)"),
        ("#12-3 と #12#note-3", "#112-3 と #112#note-3"),
        ("\\#12 の件", "\\#112 の件"),
        ("#5 と #7", "#7 と #9"),  # each once
        ("#123 と #1", "#123 と #1"),
        ("##12 と !#12 と &#12; と page#12 と 12#12", "##12 と !#12 と &#12; と page#12 と 12#12"),
        ("https://wiki.example.jp/page#12 と <http://a.jp/#12>", None),
        ("`#12` と ``a `#12` b``", None),
        ("前\n\n```\n#12\n```\n\n後 #12", "前\n\n```\n#12\n```\n\n後 #112"),
        ("前\n\n    #12 code\n\n後 #12", "前\n\n    #12 code\n\n後 #112"),
        (
            "<pre>\n#12\n</pre> と <code>#12</code> と #12",
            "<pre>\n#12\n</pre> と <code>#12</code> と #112",
        ),
        ("[#12](https://a.jp/#12) の件", "[#112](https://a.jp/#12) の件"),
    ],
)
def test_references_to_moved_issues_are_rewritten(text, rewritten):
    assert rewrite_references(text, MOVED) == (text if rewritten is None else rewritten)


def test_textiles_inline_code_keeps_its_references():
    text = "この@#12@は #12"
    assert rewrite_references(text, MOVED, was_textile=True) == "この@#12@は #112"
    assert rewrite_references(text, MOVED) == "この@#112@は #112"


def test_no_moved_issue_leaves_the_text_alone():
    assert rewrite_references("#12", {}) == "#12"


_ITEM_TEXT = st.lists(
    st.sampled_from([f for f in FRAGMENTS if "\n" not in f and "\r" not in f]),
    min_size=1,
    max_size=8,
).map("".join)
_SIMPLE_BLOCKS = st.one_of(
    st.builds(lambda level, text: f"h{level}. {text}", st.integers(1, 6), _ITEM_TEXT),
    st.builds(
        lambda marker, items: "\n".join(f"{marker} {item}" for item in items),
        st.sampled_from("*#"),
        st.lists(_ITEM_TEXT, min_size=1, max_size=4),
    ),
    _ITEM_TEXT,
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(_SIMPLE_BLOCKS, min_size=1, max_size=4).map("\n\n".join))
def test_headings_and_flat_lists_written_directly_match_the_parse(text):
    # to_markdown writes a heading or a flat list of plain items itself; the parse agrees
    assert _lines(to_markdown(text, "textile")) == _lines(textile_to_markdown(text))


def test_a_heading_and_a_numbered_list_of_plain_text_are_written_directly(monkeypatch):
    # Written without calling python-textile: the parse is not reached.
    monkeypatch.setattr(
        "redmine.importing.texts.textile_to_markdown", lambda text: pytest.fail(text)
    )
    text = "h2. 事象\n\n* 画面・帳票: 督促状\n* 端末: 窓口端末 4 番\n\n# 確認する\n# 直す"
    assert to_markdown(text, "textile") == (
        "## 事象\n\n* 画面・帳票: 督促状\n* 端末: 窓口端末 4 番\n\n1. 確認する\n2. 直す"
    )
