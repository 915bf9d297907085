"""Time helpers: stored times are naive UTC; people see Japan time."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def local_to_utc(day: date, at: time = time()) -> datetime:
    """The naive UTC moment at which `at` on `day` happens in Japan (midnight by default)."""
    return datetime.combine(day, at, tzinfo=JST).astimezone(UTC).replace(tzinfo=None)


def to_local(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC).astimezone(JST)


def local_today() -> date:
    return datetime.now(JST).date()


def fiscal_year_of(day: date) -> int:
    """Japanese fiscal year (年度): April to March, named by the year it starts in."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_bounds(year: int) -> tuple[date, date]:
    return date(year, 4, 1), date(year + 1, 3, 31)


def reiwa(year: int) -> int:
    return year - 2018


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())
