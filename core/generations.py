"""Data generations: caches keyed by the version of the data they were computed from.

A generation is a random token per kind of data, replaced in the same transaction as any
change that could alter what is computed from that data. A cache entry is keyed by the
token the database gives now, so it can never be served after such a change, whichever
process made it (gunicorn workers each keep their own cache; the token is shared). A random
token rather than a counter: a database restored from a backup, or wiped by the tests, never
brings back a token an older cache entry was keyed by.

Kinds:
- "directory": who sees which project, and the names of projects, units, people,
  organisations, trackers and statuses, and which accounts are active (changes rarely: the
  ticket list's filter choices, the ticket form's choices);
- "homework": the directory and what the homework dashboard counts (tickets, homework items);
- "tickets": the directory and every ticket, whatever changed in it (the ticket lists' totals).

The watch list names, per model, the attributes that matter; an edit to anything else (the
text of a goal typed in the projector, a user's last login) leaves the caches alone.

`KeptRows` is the other kind of cache here: rows of long lists kept rendered under every value
they show (no token needed, since the key is the content itself).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from itertools import chain
from time import monotonic
from typing import TypeVar

import sqlalchemy as sa
from flask import current_app, get_template_attribute
from flask_babel import get_locale
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.extensions import db

T = TypeVar("T")


class DataGeneration(db.Model):
    __tablename__ = "data_generations"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(32))


# {generation: {model: (attributes whose change matters (None: any), which new or deleted
# rows matter (None: any))}}, filled by the domains (`watch`) when their models are defined.
_WATCH: dict[str, dict[type, tuple[frozenset[str] | None, Callable | None]]] = {
    "homework": {},
    "directory": {},
    "tickets": {},
}


def watch(
    generation: str,
    model: type,
    attributes: list[str] | None = None,
    rows: Callable | None = None,
) -> None:
    """Name a model a generation depends on (each domain does, beside its models): a change
    to one of `attributes` (None: any), or a new or deleted row for which `rows(row)` holds
    (None: any), bumps the generation. The directory is part of every generation."""
    spec = (None if attributes is None else frozenset(attributes), rows)
    for name in _WATCH if generation == "directory" else [generation]:
        _WATCH[name][model] = spec


def _changed(obj, spec) -> bool:
    attributes, _rows = spec
    if attributes is None:
        return True
    state = sa.inspect(obj)
    return any(state.attrs[key].history.has_changes() for key in attributes)


def _row_matters(obj, spec) -> bool:
    _attributes, rows = spec
    return rows is None or rows(obj)


def _bumped(session: Session) -> set:
    return session.info.setdefault("generations_bumped", set())


@sa.event.listens_for(Session, "before_flush")
def _before_flush(session: Session, _context, _instances) -> None:
    done = _bumped(session)  # once per transaction is enough: tokens are read after commit
    for name, watched in _WATCH.items():
        if name in done:
            continue
        rows = (
            (obj, watched.get(type(obj)), _row_matters)
            for obj in chain(session.new, session.deleted)
        )
        edits = ((obj, watched.get(type(obj)), _changed) for obj in session.dirty)
        if any(spec is not None and test(obj, spec) for obj, spec, test in chain(rows, edits)):
            bump(session, name)


@sa.event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    """UPDATE/DELETE statements on watched tables bypass the flush: they bump as well."""
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if table is None:
        return
    done = _bumped(state.session)
    for name, watched in _WATCH.items():
        # The ORM annotates the table (a copy): compare names.
        if name not in done and any(table.name == model.__tablename__ for model in watched):
            bump(state.session, name)


@sa.event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, _transaction) -> None:
    # Also after a savepoint: a rolled-back savepoint may have undone the bump.
    session.info.pop("generations_bumped", None)


def bump(session: Session, name: str) -> None:
    """Give `name` a new token, in the session's transaction (an upsert: the row may not
    exist yet)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = DataGeneration.__table__
    token = secrets.token_hex(8)
    stmt = insert(table).values(name=name, token=token)
    stmt = stmt.on_conflict_do_update(index_elements=[table.c.name], set_={"token": token})
    _bumped(session).add(name)
    session.connection().execute(stmt)  # not session.execute: no autoflush inside a flush


def token(name: str) -> str | None:
    return db.session.scalar(sa.select(DataGeneration.token).where(DataGeneration.name == name))


class Cache:
    """A small least-recently-used map in this process, safe across threads. With `max_age`
    (seconds), an entry older than that is computed again: a bound on how long it is kept, for
    keys that cannot see every change (one made outside the application, e.g. in SQL)."""

    def __init__(self, size: int = 64, max_age: float | None = None):
        self.size, self.max_age = size, max_age
        self.entries: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
        self.lock = threading.Lock()

    def get_or_compute(self, name: str, key: tuple, compute: Callable[[], T]) -> T:
        """The value for `key` under the current token of generation `name`."""
        return self.get((name, token(name) or "", *key), compute)

    def get(self, key: tuple, compute: Callable[[], T]) -> T:
        """The value for `key`, computed once while it stays among the recently used (and
        younger than `max_age`): for keys that hold everything the value depends on."""
        now = monotonic()
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None and (self.max_age is None or now - entry[0] < self.max_age):
                self.entries.move_to_end(key)
                return entry[1]
        value = compute()
        with self.lock:
            self.entries[key] = (now, value)
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return value

    def get_many(self, keys: list[tuple], compute: Callable[[list[tuple]], dict]) -> dict:
        """The values for `keys` (like `get`), those not kept computed together by
        `compute(missing)`, which returns {key: value}: one query for a page of rows."""
        now, found, missing = monotonic(), {}, []
        with self.lock:
            for key in keys:
                entry = self.entries.get(key)
                if entry is not None and (self.max_age is None or now - entry[0] < self.max_age):
                    self.entries.move_to_end(key)
                    found[key] = entry[1]
                else:
                    missing.append(key)
        if missing:
            computed = compute(missing)
            found.update(computed)
            with self.lock:
                for key, value in computed.items():
                    self.entries[key] = (now, value)
                    self.entries.move_to_end(key)
                while len(self.entries) > self.size:
                    self.entries.popitem(last=False)
        return found

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


class KeptRows:
    """Rows of a long list rendered by one macro, kept by everything they show: the row's
    plain values (a tuple holding every value the macro reads), the macro's other arguments,
    language and calendar. A row is rendered again only when something in it changed, and
    never shown stale; it must hold nothing of the viewer's session (no CSRF token)."""

    def __init__(self, template: str, macro: str, size: int):
        self.template, self.macro, self.cache = template, macro, Cache(size=size)

    def html(self, row, *args, key: tuple | None = None) -> str:
        """The row's HTML; `key` stands for `row` when `row` itself is not hashable."""
        full = (
            str(get_locale()),
            current_app.config.get("SANMAI_WAREKI", False),
            row if key is None else key,
            *args,
        )
        return self.cache.get(
            full, lambda: str(get_template_attribute(self.template, self.macro)(row, *args))
        )
