"""What a request brings, parsed in one place: ids in URLs, integers in query strings and
form fields, JSON bodies, dates.

- **Ids** are 1 … 2^31−1: ids are INTEGER columns, and PostgreSQL compares a parameter with
  one as an INTEGER (a larger number is an error there, as 2^63 is on SQLite). The `id` URL
  converter takes only those, so `/issues/99999999999999999999` is a 404 (no such object can
  exist) before a view runs; `to_int` / `id_or_none` read ids from query strings, forms and
  JSON the same way.
- **Counts** (page, offset, limit, position, seq) stay within the same range: a page past
  `MAX_PAGE` is not read, an offset is clamped (an empty page), never an error.
- **JSON bodies** (`JSONProvider.loads`, which `request.get_json` calls): at most
  `MAX_JSON_DEPTH` levels of arrays and objects, and text that is valid Unicode (no lone
  UTF-16 surrogate, which no database can store). Anything else is a ValueError, which Flask
  answers with 400. Only the JSON APIs take JSON: elsewhere (HTML forms) it is 415.
- **Dates** are kept within `EARLIEST` … `LATEST` (1900-01-01 … 2199-12-31): wide enough for
  any minutes or ticket, narrow enough that a day before or after, or a time zone shift,
  never leaves what Python and the databases hold.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime

from flask import abort, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter
from wtforms import IntegerField, ValidationError

MAX_INT = 2**31 - 1  # an INTEGER column (PostgreSQL's int4): ids, positions, counters
MAX_ID = MAX_INT
MAX_PAGE = 10**6  # beyond any list; (page − 1) × a page of up to 1,000 rows stays < MAX_INT
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)
MAX_JSON_DEPTH = 32

_INTEGER = re.compile(r"[+-]?[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


class IdConverter(BaseConverter):
    """`<id:name>`: a row id, 1 … 2^31−1; any other number is 404 Not Found.

    NotFound, not werkzeug's ValidationError: a ValidationError means "this rule does not
    match", and werkzeug then answers 405 when a rule for another method matched the path
    (PUT /issues/<huge>.json), though no method could find that row."""

    regex = r"[0-9]+"  # ASCII only: \d would also match other scripts' digits
    part_isolating = True
    weight = 50

    def to_python(self, value: str) -> int:
        number = id_or_none(value)
        if number is None:
            raise NotFound()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def to_int(value, low: int = 0, high: int = MAX_ID) -> int | None:
    """An integer from text or JSON within low … high, else None. Text is ASCII digits with
    an optional sign and surrounding spaces; a JSON number must be a whole number (true and
    false are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not _INTEGER.fullmatch(text) or len(text) > 20:
            return None
        value = int(text)
    if not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def id_or_none(value) -> int | None:
    """A row id (1 … MAX_ID) from text or JSON, or None; an id that cannot exist is None."""
    return to_int(value, low=1)


def clamp(value: int, low: int = 0, high: int = MAX_ID) -> int:
    return max(low, min(value, high))


def arg_int(args, name: str, default: int, low: int = 0, high: int = MAX_ID) -> int:
    """An integer query or form parameter; missing, unreadable or out of range: `default`
    (a page list ignores a page it cannot show, as Redmine does)."""
    value = to_int(args.get(name), low, high)
    return default if value is None else value


# --- form fields -----------------------------------------------------------------------------


class IntField(IntegerField):
    """An integer form field within low … high (by default a row id). Anything else leaves
    the field empty with an error, so a view that does not validate still never passes it on."""

    def __init__(self, label=None, validators=None, *, low: int = 1, high: int = MAX_ID, **kw):
        super().__init__(label, validators, **kw)
        self.low, self.high = low, high

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        self.data = to_int(valuelist[0], self.low, self.high)
        if self.data is None:
            raise ValueError(self.gettext("Not a valid integer value."))


def coerce_id(value) -> int:
    """SelectField's coerce for a row id: ValueError (a form error) for anything else."""
    number = id_or_none(value)
    if number is None:
        raise ValueError(f"not an id: {value!r}")
    return number


def coerce_id_or_none(value) -> int | None:
    """As coerce_id, with no choice ("", 0, None) as None."""
    if value in (None, "", "None", "0", 0):
        return None
    return coerce_id(value)


# --- dates -----------------------------------------------------------------------------------


def in_date_range(day: date | datetime | None) -> bool:
    if day is None:
        return True
    if isinstance(day, datetime):
        day = day.date()
    return EARLIEST <= day <= LATEST


def date_range_message() -> str:
    return _(
        "Give a date between %(earliest)s and %(latest)s.",
        earliest=EARLIEST.isoformat(),
        latest=LATEST.isoformat(),
    )


def in_date_range_field(_form, field) -> None:
    """A form validator for DateField: a date within EARLIEST … LATEST."""
    if field.data is not None and not in_date_range(field.data):
        raise ValidationError(date_range_message())


def date_or_none(value) -> date | None:
    """An ISO date (2026-12-05) within EARLIEST … LATEST, else None."""
    if not isinstance(value, str):
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        return None
    return day if in_date_range(day) else None


# --- JSON ------------------------------------------------------------------------------------


def _check_json(data) -> None:
    """Raise ValueError for nesting deeper than MAX_JSON_DEPTH or a lone surrogate in text.
    Walked without recursion, so no body can exhaust the stack here."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise ValueError("lone UTF-16 surrogate in JSON text")
        elif isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
            items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
            for key, item in items:
                if key is not None:
                    stack.append((key, depth))
                stack.append((item, depth + 1))


def is_json_api(path: str) -> bool:
    """/api/v1/… and the Redmine-compatible API (…json): the routes that read JSON bodies."""
    return path.startswith("/api/") or path.endswith(".json")


def refuse_json_outside_apis() -> None:
    """before_request: a JSON body anywhere else is 415. Flask-WTF would read it as a form's
    fields, and a list, a number or a nested value there breaks the form's validators."""
    reads_body = request.method not in ("GET", "HEAD", "OPTIONS")
    if reads_body and request.is_json and not is_json_api(request.path):
        abort(415)


class JSONProvider(DefaultJSONProvider):
    """The app's JSON: request bodies are checked as they are parsed (see the module's
    docstring); a body Python's parser cannot even nest (RecursionError) is unparseable."""

    def loads(self, s, **kwargs):
        try:
            data = json.loads(s, **kwargs)
        except RecursionError:
            raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
        _check_json(data)
        return data
