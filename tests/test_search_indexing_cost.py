"""Keeping a ticket's search documents costs time linear in its text: a note at the longest
length allowed is saved, and so is the next small note on the same ticket, at the same cost
per character as a short one (both databases)."""

import time

import pytest
import sqlalchemy as sa

from core import textfields, textsearch, textsearch_schema
from core.extensions import db
from tickets import services

LONGEST = textfields.LONG_TEXT
SHORT = 1_000
LINE = "住基システムの帳票が出ない件、窓口端末（Windows 11）で再現しました。ログを添付します。\n"


def _text(length: int) -> str:
    return (LINE * (length // len(LINE) + 1))[:length]


@pytest.fixture
def member_unit(make_user, make_unit):
    member = make_user()
    return member, make_unit(members={member: "member"})


def _saved_in(member, ticket, notes: str) -> float:
    started = time.perf_counter()
    services.add_note(member, ticket, notes)
    db.session.commit()
    return time.perf_counter() - started


def _best(member_unit, make_ticket, length: int) -> tuple[float, float]:
    """The fastest of three: (a note of `length` saved, then a small note after it)."""
    member, unit = member_unit
    runs = []
    for _ in range(3):
        ticket = make_ticket(unit, member)
        runs.append((_saved_in(member, ticket, _text(length)), _saved_in(member, ticket, "了解")))
    return min(r[0] for r in runs), min(r[1] for r in runs)


def test_a_long_note_and_the_next_small_one_cost_no_more_per_character(member_unit, make_ticket):
    short_note, after_short = _best(member_unit, make_ticket, SHORT)
    long_note, after_long = _best(member_unit, make_ticket, LONGEST)
    # Linear cost with a fixed part gives a ratio below the ratio of lengths (65); a cost
    # growing with the square of the length gives thousands.
    assert long_note / short_note < LONGEST / SHORT
    assert after_long / after_short < LONGEST / SHORT


@pytest.mark.parametrize(
    "text", ["", "住", "住基", "住基システム😀é", "Windows 11 の端末\n二行目\t。"]
)
def test_sqlite_spells_bigrams_as_the_sql_of_migration_0007_did(text):
    """fts_bigrams() gives the tokens the index held before migration 0016, so every search
    finds what it found."""
    if db.session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite only")
    walked = db.session.scalar(
        sa.text(f"SELECT {textsearch_schema.bigram_text_sql(':t')}"), {"t": text}
    )
    assert db.session.scalar(sa.text("SELECT fts_bigrams(:t)"), {"t": text}) == walked
    assert textsearch.bigram_text(text) == walked
