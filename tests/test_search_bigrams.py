"""1–2 character words through the bigram side index (migration 0007): the same rows as a
scan of the text, in subject, description and journal notes, items and meetings, kept in
step when rows are edited or deleted after they were made."""

from datetime import datetime

import pytest
import sqlalchemy as sa

from core import textsearch
from core.extensions import db
from minutes import items, meetings
from reports import search
from reports.search import SearchFilters
from tickets import queries, services
from tickets.models import Journal

BIGRAM_TABLES = ["tickets", "items", "meetings"]


@pytest.fixture
def member_unit(make_user, make_unit):
    member = make_user()
    return member, make_unit(members={member: "member"})


def found(user, q):
    rows, total = queries.keyword_search(user, q)
    assert total == len(rows)
    return {t.subject for t in rows}


def _dialect():
    return db.session.get_bind().dialect.name


def assert_bigram_index_intact():
    """SQLite: each FTS5 bigram table equals what its view spells from the rows now (FTS5's
    integrity-check against the content). PostgreSQL maintains its GIN indexes itself."""
    if _dialect() != "sqlite":
        return
    for table in BIGRAM_TABLES:
        fts = f"fts_{table}_bigrams"
        db.session.execute(sa.text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)"))


@pytest.mark.parametrize(
    "q, where",
    [
        ("基", "subject"),
        ("住基", "subject"),
        ("端", "description"),
        ("端末", "description"),
        ("票", "note"),
        ("様式", "note"),
        ("。", "note"),  # the last character of a text stands alone in the index
        ("す。", "note"),  # the last two
    ],
)
def test_one_and_two_characters_in_subject_description_and_notes(
    member_unit, make_ticket, q, where
):
    member, unit = member_unit
    make_ticket(unit, member, subject="住基ネットの宿題")
    make_ticket(unit, member, subject="別件A", description="窓口の端末が遅い")
    noted = make_ticket(unit, member, subject="別件B")
    make_ticket(unit, member, subject="関係のない件")
    services.add_note(member, noted, "住民票の様式を送ります。")
    db.session.commit()

    expected = {"subject": "住基ネットの宿題", "description": "別件A", "note": "別件B"}[where]
    assert found(member, q) == {expected}


def test_every_short_substring_finds_the_same_rows_as_a_scan(member_unit, make_ticket):
    """Each 1–2 character substring of the texts (and their other-case spellings) finds
    exactly the tickets whose texts contain it, English case-insensitive."""
    member, unit = member_unit
    texts = {
        "LGWAN接続": "PCの設定",
        "Printer 2F": None,
        "帳票（様式第3号）": "各課へ配布、ok?",
        "x": "",
    }
    for subject, description in texts.items():
        make_ticket(unit, member, subject=subject, description=description)
    db.session.commit()

    words = set()
    for text in [t for pair in texts.items() for t in pair if t]:
        for i in range(len(text)):
            words.update({text[i], text[i : i + 2]})
    words = {w for w in words if w.strip() == w and w}  # spaces separate words
    words |= {w.swapcase() for w in words} | {"ZZ", "帳様", "号"}
    for word in sorted(words):
        expected = {
            subject
            for subject, description in texts.items()
            if word.lower() in subject.lower() or word.lower() in (description or "").lower()
        }
        assert found(member, word) == expected, word


def test_edits_and_deletes_after_creation_are_followed(make_user, make_unit, make_ticket):
    member = make_user()
    unit = make_unit(members={member: "manager"})  # a manager may delete tickets
    ticket = make_ticket(unit, member, subject="課税の照会", description="窓口で受付")
    other = make_ticket(unit, member, subject="別件")
    journal = services.add_note(member, other, "督促の件")
    gone = make_ticket(unit, member, subject="廃止予定の課題")
    services.add_note(member, gone, "滞納の件")
    db.session.commit()
    assert found(member, "課") == {"課税の照会", "廃止予定の課題"}

    services.update_ticket(member, ticket, {"subject": "固定資産の照会", "description": "郵送"})
    db.session.get(Journal, journal.id).notes = "還付の件"  # an edited note
    services.delete_ticket(member, gone)  # its journals go with it
    db.session.commit()

    assert found(member, "課") == set()
    assert found(member, "課税") == set()
    assert found(member, "窓口") == set()
    assert found(member, "固定") == {"固定資産の照会"}
    assert found(member, "郵送") == {"固定資産の照会"}
    assert found(member, "督促") == set()
    assert found(member, "還付") == {"別件"}
    assert found(member, "滞納") == set()
    assert_bigram_index_intact()


def test_a_note_made_private_afterwards_no_longer_finds_its_ticket(member_unit, make_ticket):
    member, unit = member_unit
    ticket = make_ticket(unit, member, subject="別件")
    journal = services.add_note(member, ticket, "内密")
    db.session.commit()
    assert found(member, "内密") == {"別件"}

    db.session.get(Journal, journal.id).private_notes = True
    db.session.commit()

    assert found(member, "内密") == set()


def test_one_search_follows_edited_items_and_meetings(
    member_unit, make_meeting, make_item, make_ticket
):
    member, unit = member_unit
    meeting = make_meeting(unit=unit, title="税務定例会", place="別館")
    goal = make_item(meeting, "goal", "住基の方針")
    dropped = make_item(meeting, "goal", "住基の移行")
    db.session.commit()

    items.edit_item(None, goal, text="宛名の方針")
    items.delete_item(None, dropped)
    meetings.update_meeting(None, meeting, {"title": "宛名定例会", "place": "本館"})
    db.session.commit()

    def hits(q):
        return {g.kind: g.total for g in search.search(member, SearchFilters(q=q)) if g.total}

    assert hits("住基") == {}
    assert hits("税") == {}
    assert hits("宛名") == {"meeting": 1, "goal": 1}
    assert hits("館") == {"meeting": 1}
    assert hits("本館") == {"meeting": 1}
    assert_bigram_index_intact()


def test_short_words_are_looked_up_in_the_bigram_index(app):
    sql = str(queries.keyword_clause("住基 課").compile(db.engine))
    if _dialect() == "sqlite":
        assert sql.count("fts_tickets_bigrams MATCH") == 2  # notes are in the ticket's document
        assert "instr" not in sql and "LIKE" not in sql
    else:  # the ticket's gram document (migration 0011), exact for such words
        assert sql.count("tickets.fts_grams @> ARRAY[lower(") == 2
        assert "journals" not in sql and "LIKE" not in sql


def test_words_the_index_cannot_hold_are_scanned():
    assert textsearch.bigram_query("住基") == '"住基"'
    assert textsearch.bigram_query("課") == '"課" *'
    assert textsearch.bigram_query("Pc") == '"Pc"'
    # ASCII punctuation separates the index's tokens: such words are read from the text.
    assert textsearch.bigram_query("%") is None
    assert textsearch.bigram_query("a-") is None
    assert textsearch.bigram_query("納付書") is None  # three: the trigram index


def test_the_open_list_and_a_project_list_find_short_words_too(member_unit, make_ticket):
    """/issues (open tickets by default, or one project's): the words are checked against
    the tickets the other filters leave (another query plan on SQLite), same rows."""
    member, unit = member_unit
    make_ticket(unit, member, subject="住基の照会")
    closed = make_ticket(unit, member, subject="住基の移行")
    services.update_ticket(member, closed, {"status_id": services.done_status().id})
    db.session.commit()

    def subjects(params):
        rows, total = queries.ticket_query(member, params).page()
        assert total == len(rows)
        return {t.subject for t in rows}

    assert subjects({"q": "住基"}) == {"住基の照会"}
    assert subjects({"q": "住基の", "project_id": unit.identifier, "status_id": "*"}) == {
        "住基の照会",
        "住基の移行",
    }
    assert subjects({"q": "移", "status_id": "c"}) == {"住基の移行"}


def test_one_search_counts_every_hit_and_shows_the_newest_first(
    member_unit, make_ticket, monkeypatch
):
    member, unit = member_unit
    made = [make_ticket(unit, member, subject=f"住基の件 {n}") for n in range(5)]
    for n, ticket in enumerate(made):  # updated in an order unlike the ids
        ticket.updated_at = datetime(2026, 1 + (n * 3) % 5, 10, 9, n)
    db.session.commit()
    newest = sorted(made, key=lambda t: (t.updated_at, t.id), reverse=True)
    monkeypatch.setattr(search, "GROUP_SIZE", 2)
    monkeypatch.setattr(search, "PAGE_SIZE", 2)

    groups = {g.kind: g for g in search.search(member, SearchFilters(q="住基"))}
    pages = [search.search(member, SearchFilters(q="住基"), kind="ticket", page=p) for p in (2, 4)]

    assert groups["ticket"].total == 5 and groups["homework"].total == 0
    assert groups["ticket"].hits == newest[:2]
    assert pages[0][0].total == 5 and pages[0][0].hits == newest[2:4]
    assert pages[1][0].total == 5 and pages[1][0].hits == []  # past the end: still counted
