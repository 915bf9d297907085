"""The ticket lists at Redmine's URLs: all visible tickets and a project's, their rows and the
filter form's choices.

GET       /issues                        index (filters in the URL, see tickets.queries)
GET       /projects/<key>/issues         project_index
"""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from flask import render_template, request
from flask_login import current_user
from markupsafe import Markup, escape

import permissions
from accounts.models import User
from core import errors, generations
from core.extensions import db
from core.rows import plain_rows
from projects.models import Membership, Project
from tickets import bp, queries
from tickets.models import Priority, Status, Ticket, Tracker

# --- list ------------------------------------------------------------------------------------


@bp.route("/issues")
def index():
    return _list(None)


@bp.route("/projects/<key>/issues")
def project_index(key):
    return _list(key)


def _list(key: str | None):
    params = request.args.to_dict()
    if key:
        params["project_id"] = key
    # A filter that cannot be understood: its message, over the list without filters (422).
    unfiltered = {"project_id": key} if key else {}
    errors.form_page(None, lambda: _page(queries.ticket_query(current_user, unfiltered)))
    return _page(queries.ticket_query(current_user, params))


def _page(query: queries.TicketQuery):
    ids, total = query.page_ids()
    rows = list_rows(ids, today())
    return render_template(
        "tickets/index.html",
        query=query,
        p=query.params,
        rows=rows,
        total=total,
        pages=(total + query.limit - 1) // query.limit,
        choices=_filter_choices(),
        options=_options,
    )


def today():
    from core.timeutil import local_today

    return local_today()


class StatusRef(NamedTuple):
    name: str
    is_closed: bool
    owner_side: str


class ListRow(NamedTuple):
    """Everything a row of the ticket list shows, as plain values."""

    id: int
    project: str
    tracker: str
    status: StatusRef
    priority: str
    parent_id: int | None
    subject: str
    who: str
    due_date: date | None
    overdue: bool
    updated_at: datetime


_ROWS = generations.KeptRows("tickets/_row.html", "ticket_row", size=5_000)


def list_rows(ids: list[int], today: date) -> list[ListRow]:
    """The list's rows for `ids`, in that order: one select of the columns shown, no ORM
    objects (loading 25 tickets with five relations took longer than finding them)."""
    if not ids:
        return []
    found = {r.id: r for r in plain_rows(_list_rows_statement(), {"ids": ids})}
    return [
        ListRow(
            r.id,
            r.project,
            r.tracker,
            StatusRef(r.status, r.is_closed, r.owner_side),
            r.priority,
            r.parent_id,
            r.subject,
            r.who,
            r.due_date,
            bool(r.due_date and r.due_date < today and not r.is_closed),
            r.updated_at,
        )
        for r in (found.get(i) for i in ids)
        if r is not None
    ]


@functools.cache
def _list_rows_statement() -> sa.Select:
    """Built once: building the statement costs a large share of the time of running it."""
    return (
        sa.select(
            Ticket.id,
            Project.name.label("project"),
            Tracker.name.label("tracker"),
            Status.name.label("status"),
            Status.is_closed,
            Status.owner_side,
            Priority.name.label("priority"),
            Ticket.parent_id,
            Ticket.subject,
            sa.func.coalesce(User.name, Ticket.guest_name, "").label("who"),
            Ticket.due_date,
            Ticket.updated_at,
        )
        .join(Project, Project.id == Ticket.project_id)
        .join(Tracker, Tracker.id == Ticket.tracker_id)
        .join(Status, Status.id == Ticket.status_id)
        .join(Priority, Priority.id == Ticket.priority_id)
        .outerjoin(User, User.id == Ticket.assignee_id)
        .where(Ticket.id.in_(sa.bindparam("ids", expanding=True)))
    )


@bp.app_template_global()
def ticket_rows(rows: list[ListRow], show_project: bool) -> Markup:
    return Markup("".join(_ROWS.html(row, show_project) for row in rows))


# The filter choices per user, until a project, membership or name changes (generations.py).
_CHOICES = generations.Cache(size=128)


def _filter_choices() -> dict:
    return _CHOICES.get_or_compute("directory", (current_user.id,), _read_filter_choices)


def _read_filter_choices() -> dict[str, str]:
    """The filter form's options, as HTML with none selected, from only the columns shown:
    hundreds of projects and users as ORM objects cost more than the list itself."""
    projects = db.session.execute(
        sa.select(Project.identifier, Project.name, Project.parent_id)
        .where(permissions.visible(current_user, Project.id), Project.is_archived.is_(False))
        .order_by(sa.func.coalesce(Project.parent_id, Project.id), Project.parent_id.is_not(None))
        .order_by(Project.position, Project.id)
    )
    users = db.session.execute(
        sa.select(User.id, User.name)
        .where(
            User.id.in_(
                sa.select(Membership.user_id).where(
                    permissions.visible(current_user, Membership.project_id)
                )
            )
        )
        .order_by(User.name)
    )
    return {
        # A unit is indented under its fiscal year.
        "projects": _html(
            [(k, f"\u3000{name}" if parent else name) for k, name, parent in projects]
        ),
        "trackers": _html([(str(t.id), t.name) for t in trackers()]),
        "statuses": _html([(str(s.id), s.name) for s in statuses()]),
        "users": _html([(str(user_id), name) for user_id, name in users]),
    }


def _html(pairs: list[tuple[str, str]]) -> str:
    """<option>s of a filter select, none selected, built once per generation: a template
    loop escaping every label one call at a time is the slowest part of the list at city
    scale (make bench keeps this trick only while it shows the gain)."""
    return "".join(f'<option value="{escape(v)}">{escape(label)}</option>' for v, label in pairs)


def _options(html: str, selected: str | None) -> Markup:
    """The cached <option>s with `selected` marked."""
    if selected:
        option = f'<option value="{escape(selected)}">'
        html = html.replace(option, f'<option value="{escape(selected)}" selected>', 1)
    return Markup(html)


def trackers() -> list[Tracker]:
    return list(db.session.scalars(sa.select(Tracker).order_by(Tracker.position, Tracker.id)))


def statuses() -> list[Status]:
    return list(db.session.scalars(sa.select(Status).order_by(Status.position, Status.id)))


@bp.app_template_global()
def project_ticket_summary(project: Project) -> dict:
    """Open tickets of a project (its units included) or unit, by tracker, and overdue ones."""
    from core.timeutil import local_today

    ids = [project.id] + ([u.id for u in project.units] if not project.is_unit else [])
    open_ids = sa.select(Status.id).where(Status.is_closed.is_(False))
    scope = (
        Ticket.project_id.in_(ids),
        Ticket.status_id.in_(open_ids),
        permissions.visible_ticket(current_user, Ticket),  # no private ticket counted unseen
    )
    rows = db.session.execute(
        sa.select(Tracker, sa.func.count(Ticket.id))
        .join(Ticket, Ticket.tracker_id == Tracker.id)
        .where(*scope)
        .group_by(Tracker.id)
        .order_by(Tracker.position)
    ).all()
    overdue = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Ticket)
        .where(*scope, Ticket.due_date < local_today())
    )
    return {"by_tracker": rows, "open": sum(n for _t, n in rows), "overdue": overdue}
