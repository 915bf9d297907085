"""Keyword search over tickets: Japanese substrings of any length, English, all words."""

import pytest

from core.extensions import db
from tickets import queries, services


@pytest.fixture
def member_unit(make_user, make_unit):
    member = make_user()
    return member, make_unit(members={member: "member"})


@pytest.fixture
def corpus(member_unit, make_ticket):
    member, unit = member_unit
    tickets = {
        "jyuki": make_ticket(unit, member, subject="住基ネットの宿題を確認する"),
        "printer": make_ticket(
            unit, member, subject="帳票が出ない", description="Printer ERROR on 2F PC"
        ),
        "tax": make_ticket(unit, member, subject="課税データの移行"),
        "noted": make_ticket(unit, member, subject="別件"),
    }
    services.add_note(member, tickets["noted"], "来週までに住民票の様式を送ります (50%_done)")
    db.session.commit()
    return member, tickets


def found(user, q):
    rows, total = queries.keyword_search(user, q)
    assert total == len(rows)
    return {t.subject for t in rows}


@pytest.mark.parametrize(
    "q, expected",
    [
        ("課", {"課税データの移行"}),  # one character
        ("宿題", {"住基ネットの宿題を確認する"}),  # two characters
        ("住基", {"住基ネットの宿題を確認する"}),
        ("住民票", {"別件"}),  # three, found in a journal note
        ("データ移行", set()),  # a substring that is not there
        ("課税データ", {"課税データの移行"}),  # five
    ],
)
def test_japanese_substrings_of_any_length(corpus, q, expected):
    member, _tickets = corpus
    assert found(member, q) == expected


def test_english_is_case_insensitive_in_descriptions(corpus):
    member, _tickets = corpus
    assert found(member, "printer error") == {"帳票が出ない"}
    assert found(member, "PRINTER") == {"帳票が出ない"}
    assert found(member, "pc") == {"帳票が出ない"}  # two letters: the LIKE path


def test_every_word_must_match_mixed_languages(corpus):
    member, _tickets = corpus
    assert found(member, "帳票 printer") == {"帳票が出ない"}
    assert found(member, "帳票\u3000宿題") == set()  # full-width space separates words too


def test_like_wildcards_and_fts_syntax_are_plain_text(corpus):
    member, _tickets = corpus
    assert found(member, "%") == {"別件"}  # only the note with a literal %
    assert found(member, "_") == {"別件"}
    assert found(member, "50%_") == {"別件"}
    assert found(member, '"') == set()
    assert found(member, "2F-") == set()  # '-' is FTS5 syntax; must not raise


def test_search_follows_edits(corpus):
    member, tickets = corpus
    services.update_ticket(member, tickets["tax"], {"subject": "固定資産税の照会"})
    db.session.commit()
    assert found(member, "課税") == set()
    assert found(member, "固定資産") == {"固定資産税の照会"}


def test_search_shows_only_visible_tickets(corpus, make_user):
    _member, _tickets = corpus
    outsider = make_user()
    assert found(outsider, "住基") == set()


def test_private_notes_are_not_searched(corpus):
    member, tickets = corpus
    services.add_note(member, tickets["tax"], "内密の相談事項", private=True)
    db.session.commit()
    assert found(member, "内密") == set()
