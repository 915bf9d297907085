"""The longest text each field takes, and the characters no text keeps.

The services pass every text a person types through `clean` before they write anything, so
the HTML forms, /api/v1, the Redmine API, the CLI and jobs all meet the same limits; the
forms' Length validators and `maxlength` attributes use the same numbers. A text too long
raises the service's own error with the field's name, which each path answers with 422.

Why there are limits at all: a text is indexed for search in the same transaction that saves
it (core/textsearch.py), and the database's write lock is held until it commits. The limits keep
the longest text's indexing far below a second on both databases (tests/
test_search_indexing_cost.py) while staying generous for real minutes: 65,535 characters is
about forty printed pages of Japanese.

Control characters (NUL and the other C0 and C1 controls, DEL) are removed: they print as
nothing, break the PDF and CSV exports and, for NUL, PostgreSQL refuses them. Tabs, line
feeds and carriage returns stay in multi-line texts; a single-line text gets a space for each
run of them. Unpaired surrogates (possible in JSON) cannot be stored as UTF-8 and go too.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.validators import Length

SUBJECT = 255  # a ticket's subject (Redmine's limit), homework's "what"
LONG_TEXT = 65_535  # a ticket's description, a note, a decision, a project's description
ITEM_TEXT = 20_000  # an item of the minutes (goal, result, break, preview)
TITLE = 200  # a meeting's title and place, a project's or unit's name
NAME = 100  # a person's or an organisation's name (users, guests, attendees)
EMAIL = 200  # a guest's e-mail address
REFERENCE_NAME = 60  # a tracker's, status's or priority's name
OBJECTION = 4_000  # what an attendee objects to in the minutes

_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BREAKS = re.compile("[\t\n\r]+")


def clean(value, *, multiline: bool = False) -> str:
    """`value` as text without control characters (None: ''); single-line: breaks become a
    space."""
    text = _CONTROLS.sub("", value if isinstance(value, str) else str(value or ""))
    return text if multiline else _BREAKS.sub(" ", text)


def checked(
    value,
    *,
    field: str,
    label: str,
    limit: int,
    error: type[Exception],
    multiline: bool = False,
    strip: bool = True,
) -> str:
    """`value` cleaned (and stripped), or `error(message, field)` when it is longer than
    `limit` characters; `label` names the field for a person, in Redmine's words."""
    text = clean(value, multiline=multiline)
    if strip:
        text = text.strip()
    if len(text) > limit:
        raise error(too_long_message(label, limit), field)
    return text


def too_long_message(label: str, limit: int) -> str:
    return _("%(field)s is too long (maximum is %(max)s characters)", field=label, max=limit)


def length(label: str, limit: int) -> Length:
    """A form's validator of the same limit and message (it also sets `maxlength`)."""
    return Length(
        max=limit,
        message=_l("%(field)s is too long (maximum is %(max)s characters)", field=label, max=limit),
    )
