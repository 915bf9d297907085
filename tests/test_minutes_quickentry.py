"""The one-line homework entry: `@who what by-when`, with relative dates."""

from datetime import date
from types import SimpleNamespace

import pytest

from minutes.quickentry import EntryError, parse_date, parse_homework

TODAY = date(2026, 11, 24)  # a Tuesday
SUZUKI = SimpleNamespace(login="suzuki", name="鈴木 一郎")
SATO = SimpleNamespace(login="sato", name="佐藤 花子")
MEMBERS = [SUZUKI, SATO]


@pytest.mark.parametrize(
    "text,expected",
    [
        ("12/5", date(2026, 12, 5)),
        ("12/5(土)", date(2026, 12, 5)),
        ("１２／５", date(2026, 12, 5)),
        ("1/10", date(2027, 1, 10)),
        ("2027/2/3", date(2027, 2, 3)),
        ("2027-02-03", date(2027, 2, 3)),
        ("12月5日", date(2026, 12, 5)),
        ("明日", date(2026, 11, 25)),
        ("金曜", date(2026, 11, 27)),
        ("今週金曜", date(2026, 11, 27)),
        ("来週金曜", date(2026, 12, 4)),
        ("来週金曜日", date(2026, 12, 4)),
        ("3日後", date(2026, 11, 27)),
        ("2週間後", date(2026, 12, 8)),
        ("tomorrow", date(2026, 11, 25)),
        ("fri", date(2026, 11, 27)),
        ("next fri", date(2026, 12, 4)),
        ("next friday", date(2026, 12, 4)),
        ("13/40", None),
        ("仕様", None),
        ("金", None),
    ],
)
def test_dates(text, expected):
    assert parse_date(text, TODAY) == expected


def test_member_by_login_what_and_date():
    hw = parse_homework("@suzuki 仕様を確認 12/5", MEMBERS, [], TODAY)
    assert (hw.who, hw.what, hw.due_date) == (SUZUKI, "仕様を確認", date(2026, 12, 5))


def test_member_by_name_prefix_and_two_word_date():
    hw = parse_homework("@佐藤 帳票の件を 業者に確認 next fri", MEMBERS, [], TODAY)
    assert (hw.who, hw.what, hw.due_date) == (SATO, "帳票の件を 業者に確認", date(2026, 12, 4))


def test_guest_attendee_by_name():
    hw = parse_homework("見積を出す @山本 来週金曜", MEMBERS, ["山本 翔"], TODAY)
    assert (hw.who, hw.what) == ("山本 翔", "見積を出す")


@pytest.mark.parametrize(
    "line,field",
    [
        ("仕様を確認 12/5", "who"),
        ("@nobody 仕様を確認 12/5", "who"),
        ("@suzuki 仕様を確認", "due_date"),
        ("@suzuki 12/5", "what"),
    ],
)
def test_missing_parts_are_named(line, field):
    with pytest.raises(EntryError) as error:
        parse_homework(line, MEMBERS, [], TODAY)
    assert error.value.field == field
