"""One-line homework as fast as speech: `@suzuki 仕様を確認 12/5`.

The grammar is ours (a person, the words, a date at the end), so it is parsed here; real
dates are then made by `datetime.date`. Accepted dates: 12/5, 12/5(金), 2026/12/5,
2026-12-05, 12月5日, 今日, 明日, 明後日, 金曜, 今週金曜, 来週金曜(日), 3日後, 2週間後,
today, tomorrow, fri, next fri, in 3 days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _

from accounts.models import User
from core import errors, parsing

WEEKDAYS_JA = {"月": 0, "火": 1, "水": 2, "木": 3, "金": 4, "土": 5, "日": 6}
WEEKDAYS_EN = {
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
RELATIVE = {"今日": 0, "本日": 0, "明日": 1, "あす": 1, "明後日": 2, "あさって": 2}
RELATIVE |= {"today": 0, "tomorrow": 1}


class EntryError(errors.Invalid):
    """str(error) is the message, `field` the field it is about."""


@dataclass
class Homework:
    who: User | str
    what: str
    due_date: date


def parse_date(text: str, today: date) -> date | None:
    """A date from the short forms people say in a meeting, or None; a date outside
    parsing.EARLIEST … LATEST is None too."""
    day = _parse_date(text, today)
    return day if parsing.in_date_range(day) else None


def _parse_date(text: str, today: date) -> date | None:
    s = text.strip().lower().replace("（", "(").replace("）", ")")
    s = re.sub(r"\([^)]*\)$", "", s).strip()  # 12/5(金): the weekday is for the reader
    s = s.translate(str.maketrans("０１２３４５６７８９／－", "0123456789/-"))
    if s in RELATIVE:
        return today + timedelta(days=RELATIVE[s])
    try:
        if m := re.fullmatch(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})", s):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", s):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})", s) or re.fullmatch(
            r"(\d{1,2})月(\d{1,2})日?", s
        ):
            day = date(today.year, int(m[1]), int(m[2]))
            return day if day >= today else date(today.year + 1, day.month, day.day)
    except ValueError:
        return None
    if m := re.fullmatch(r"(\d{1,3})\s*(日|週間)後", s) or re.fullmatch(
        r"in\s+(\d{1,3})\s+(days?|weeks?)", s
    ):
        n = int(m[1])
        return today + timedelta(days=n * 7 if m[2] in ("週間", "week", "weeks") else n)
    if m := re.fullmatch(r"(今週|来週|再来週)?([月火水木金土日])(曜日?)?", s):
        if m[1] is None and m[3] is None:
            return None  # a bare 金 is more likely a word than a date
        return _weekday(
            today, WEEKDAYS_JA[m[2]], {None: None, "今週": 0, "来週": 1, "再来週": 2}[m[1]]
        )
    if m := re.fullmatch(r"(this |next )?(mon|tue|wed|thu|fri|sat|sun)[a-z]*", s):
        return _weekday(today, WEEKDAYS_EN[m[2]], {None: None, "this ": 0, "next ": 1}[m[1]])
    return None


def _weekday(today: date, weekday: int, weeks_ahead: int | None) -> date:
    if weeks_ahead is None:  # the next such day after today
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(days=7 * weeks_ahead + weekday)


def resolve_person(token: str, members: list[User], guests: list[str]) -> User | str | None:
    """@login, @name (spaces ignored, prefix allowed when unique) or a guest attendee's name."""
    key = token.lstrip("@").strip().lower()
    if not key:
        return None
    for user in members:
        if user.login.lower() == key:
            return user
    squash = lambda s: re.sub(r"\s+", "", s).lower()  # noqa: E731
    found = [u for u in members if squash(u.name).startswith(key)]
    found += [g for g in guests if squash(g).startswith(key)]
    return found[0] if len(found) == 1 else None


def parse_homework(line: str, members: list[User], guests: list[str], today: date) -> Homework:
    """`@who what by-when`; the person may stand anywhere, the date is the last word(s)."""
    words = line.split()
    who_words = [w for w in words if w.startswith(("@", "＠"))]
    if not who_words:
        raise EntryError(_("Say who will do it: start with @ and a member's name."), "who")
    token = who_words[0].replace("＠", "@")
    who = resolve_person(token, members, guests)
    if who is None:
        raise EntryError(_("No member or guest attendee matches %(who)s.", who=token), "who")
    words.remove(who_words[0])
    due = None
    for size in (2, 1):
        if len(words) >= size and (due := parse_date(" ".join(words[-size:]), today)):
            words = words[:-size]
            break
    if due is None:
        raise EntryError(_("Give a date by which it is to be done, e.g. 12/5."), "due_date")
    what = " ".join(words).strip()
    if not what:
        raise EntryError(_("Say what is to be done."), "what")
    return Homework(who, what, due)
