"""Dates and times for people: Japanese style by default, 和暦 on request, English too."""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from babel.dates import format_date as babel_format_date
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from core.timeutil import reiwa, to_local

WEEKDAYS_JA = "月火水木金土日"


def _is_ja() -> bool:
    locale = get_locale()
    return locale is None or locale.language == "ja"


def japanese_date(day: date, wareki: bool = False, weekday: bool = True) -> str:
    if wareki and day >= date(2019, 5, 1):
        text = f"令和{reiwa(day.year)}年{day.month}月{day.day}日"
    else:
        text = f"{day.year}年{day.month}月{day.day}日"
    return text + (f"({WEEKDAYS_JA[day.weekday()]})" if weekday else "")


def format_date(value: date | datetime | None, wareki: bool | None = None) -> str:
    """2026年11月24日(火) in Japanese, 'Tue, Nov 24, 2026' in English."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    if _is_ja():
        if wareki is None:
            wareki = current_app.config.get("SANMAI_WAREKI", False)
        return japanese_date(value, wareki=wareki)
    return _babel_date(value, str(get_locale()))


@lru_cache(maxsize=4096)
def _babel_date(day: date, locale: str) -> str:
    """Babel's date in `locale`, once per day and locale (a page shows the same few days many
    times, and Babel formats each anew)."""
    return babel_format_date(day, "EEE, MMM d, y", locale=locale)


def format_time(value: datetime | None) -> str:
    return "" if value is None else to_local(value).strftime("%H:%M")


def format_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{format_date(value)} {format_time(value)}"


ROLE_LABELS = {
    "manager": _l("Manager"),
    "facilitator": _l("Facilitator"),
    "member": _l("Member"),
    "viewer": _l("Viewer"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))
