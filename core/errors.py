"""Domain errors: what a service raises when the actor or the input breaks a rule.

Services raise them and never build an HTTP answer; the error handlers turn them into one:
app.py for HTML pages (the form again with the message at its field, or flash and redirect
back, or the 403/404 page), minutes/api.py for /api/v1 (`{"errors": [message], ...}`) and
redmine/api.py in Redmine's shape. Views do not catch them: a view says beforehand where a
refusal should lead (`form_page`, `return_to`).

`str(error)` is a message for the person who asked — except for Forbidden and NotFound,
whose text names the refused action for logs and tests and is never shown. `field` names
the input the error is about, when there is one; `status` is the HTTP status it means.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import g


class DomainError(Exception):
    status = 422

    def __init__(self, message: str = "", field: str | None = None):
        super().__init__(message)
        self.field = field


class Invalid(DomainError):
    """The input cannot be used; the message says why."""


class NotFound(DomainError):
    """The object does not exist, or the actor may not see it."""

    status = 404


class Forbidden(DomainError):
    """The actor sees the object but may not do this to it."""

    status = 403


class Locked(DomainError):
    """The object can no longer be changed (confirmed minutes)."""

    status = 409


class StaleVersion(DomainError):
    """Someone saved the object after the caller loaded it (optimistic locking); `current`
    is the object as it is now."""

    status = 409

    def __init__(self, message: str, current, field: str | None = "version"):
        super().__init__(message, field)
        self.current = current


def return_to(url: str | None) -> None:
    """Where the HTML handler sends the person, with the error's message flashed, when a
    service refuses this request's input (Invalid, Locked, StaleVersion). Without it, such
    an error is answered with its own page (the message and the status)."""
    g.error_return_to = url


def return_url() -> str | None:
    return g.get("error_return_to")


def form_page(
    form, render: Callable[[], object], stale: Callable[[StaleVersion], object] | None = None
) -> None:
    """When a service refuses this request's input, the HTML handler shows the page again,
    so what the person typed is kept: the message goes under the `form`'s field the error
    names (else, or with no form, it is flashed) and `render()` answers with the error's
    status. A StaleVersion is answered by `stale(error)` (409) when given: the page that
    shows both versions."""
    g.error_form_page = (form, render, stale)


def form_page_of_request():
    return g.get("error_form_page")


def answer_with(respond: Callable[[DomainError], object]) -> None:
    """When a service refuses this request (anything but Forbidden and NotFound), the HTML
    and JSON handlers answer `respond(error)`, after the rollback: for the routes whose
    answer has a shape of its own (the sign-off buttons' JSON, a guest's link page)."""
    g.error_answer = respond


def answer_of_request():
    return g.get("error_answer")
