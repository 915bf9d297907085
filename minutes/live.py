"""The meeting page's live region and live following: what the page and the projector render
from the meeting, the fragment caches (see docs/LIVE.md), and the poll route. Routes on the
minutes blueprint; the pages themselves are in minutes/views.py."""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from functools import cache

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    g,
    jsonify,
    render_template,
    request,
)
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import escape
from sqlalchemy.orm.attributes import set_committed_value

import permissions
from accounts.models import User
from core import generations
from core.extensions import db
from core.timeutil import to_local, utcnow
from minutes import bp, carry_over, items, meetings
from minutes.forms import add_forms
from minutes.models import Attendee, Item, Meeting, Revision
from projects.models import Membership
from tickets.models import Ticket


def page_context(
    meeting: Meeting, editable: bool | None = None, unseen: frozenset[int] | None = None
) -> dict:
    """What the meeting page and its live fragment render; `unseen`: the private tickets whose
    homework the viewer is not shown (items.unseen_homework, computed when None)."""
    if editable is None:
        editable = permissions.can_edit_minutes(current_user, meeting)
    if unseen is None:
        unseen = items.unseen_homework(current_user, meeting)
    _load_attendees(meeting)
    return {
        "meeting": meeting,
        "sheets": items.sheets(meeting, unseen),
        "carry": carry_over.earlier_open_homework(meeting, unseen),
        "previews": carry_over.earlier_previews(meeting) if editable else [],
        "editable": editable,
        "today": to_local(utcnow()).date(),
    }


def _load_attendees(meeting: Meeting) -> None:
    """meeting.attendees with their users and organisations, in one statement."""
    if "attendees" in meeting.__dict__:
        return
    attendees = db.session.scalars(
        sa.select(Attendee)
        .where(Attendee.meeting_id == meeting.id)
        .order_by(Attendee.position, Attendee.id)
        .options(sa.orm.joinedload(Attendee.user).joinedload(User.organisation))
    ).all()
    set_committed_value(meeting, "attendees", list(attendees))


def _ticket_stamp(meeting_id):
    """Sum of the versions of the meeting's tickets: changes when one is edited anywhere."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(Ticket.version), 0))
        .join(Item, Item.ticket_id == Ticket.id)
        .where(Item.meeting_id == meeting_id)
    )


def live_etag(meeting: Meeting) -> str:
    """Changes to the meeting (change_seq) and to its homework tickets (their versions)."""
    return f"m{meeting.id}-{meeting.change_seq}-{db.session.scalar(_ticket_stamp(meeting.id))}"


# Rendered live regions, per worker process, keyed by everything they show (see docs/LIVE.md):
# the meeting (its id and created_at, which tells apart a meeting that got a reused id after a
# database was restored or wiped), its ETag, the stamp of what the page shows from outside the
# meeting (earlier homework and its tickets, previews, members; read from the database on every
# request), the "homework" data generation (names of people, organisations, units and statuses),
# language, day, view, whether the viewer may edit and the private tickets whose homework the
# viewer may not see (usually none, so viewers share entries). Editors' forms are rendered with a
# placeholder for the CSRF token, replaced by the viewer's own on the way out, so one rendering
# serves every editor. A cache, not a message bus: an entry is never served for another state of
# the data, because the key holds what the database just gave. FRAGMENT_MAX_AGE only bounds how
# long an entry is kept (a safety net for changes made outside the application, e.g. in SQL).
FRAGMENT_CACHE_SIZE = 64
FRAGMENT_MAX_AGE = 600.0
_FRAGMENTS = generations.Cache(size=FRAGMENT_CACHE_SIZE, max_age=FRAGMENT_MAX_AGE)
# The confirmation panel is per person (their own answer, whether they run the meeting): one
# entry per viewer and state, in a store of its own so that followers do not evict the regions.
PANEL_CACHE_SIZE = 256
_PANELS = generations.Cache(size=PANEL_CACHE_SIZE, max_age=FRAGMENT_MAX_AGE)
_CSRF_PLACEHOLDER = f"csrf-placeholder-{secrets.token_hex(16)}"


@contextmanager
def _placeholder_csrf():
    """Every CSRF token rendered inside is the placeholder (Flask-WTF keeps the request's token
    in `g` under the field name; forms built inside take it from there too)."""
    name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    saved = g.get(name)
    setattr(g, name, _CSRF_PLACEHOLDER)
    try:
        yield
    finally:
        if saved is None:
            g.pop(name, None)
        else:
            setattr(g, name, saved)


def _with_own_csrf(html: str) -> str:
    if _CSRF_PLACEHOLDER not in html:
        return html
    return html.replace(_CSRF_PLACEHOLDER, str(escape(generate_csrf())))


@cache
def _page_stamp_statement(with_previews: bool) -> sa.CompoundSelect:
    """Built once per process. One row per part, each (part, count, sum, sum) of counters that
    only grow: what the meeting page shows from outside the meeting itself."""
    meeting_id, unit_id = sa.bindparam("meeting_id"), sa.bindparam("unit_id")
    starts_at, root_id = sa.bindparam("starts_at"), sa.bindparam("root_id")
    count, total = sa.func.count, lambda c: sa.func.coalesce(sa.func.sum(c), 0)
    origin, other = sa.orm.aliased(Item), sa.orm.aliased(Meeting)
    parts = [
        # Every write to a meeting of the unit bumps its change_seq (items, attendees, carry-over
        # results, previews taken up), an edit of its title or time its version.
        sa.select(sa.literal(1), count(), total(Meeting.change_seq), total(Meeting.version)).where(
            Meeting.unit_id == unit_id
        ),
        # The tickets of earlier homework (the carry-over list): status, decision, due date, who.
        sa.select(sa.literal(2), count(), total(Ticket.version), total(Ticket.id))
        .select_from(Meeting)
        .join(Item, sa.and_(Item.meeting_id == Meeting.id, Item.kind == "homework"))
        .join(Ticket, Ticket.id == Item.ticket_id)
        .where(Meeting.unit_id == unit_id, Meeting.starts_at < starts_at),
        # Where this meeting's items came from (another unit's preview taken up: its meeting).
        sa.select(sa.literal(3), count(), total(other.change_seq), total(other.version))
        .select_from(Item)
        .join(origin, origin.id == Item.origin_item_id)
        .join(other, other.id == origin.meeting_id)
        .where(Item.meeting_id == meeting_id),
        # The members offered as who in the homework form.
        sa.select(sa.literal(4), count(), total(Membership.id), total(Membership.user_id))
        .join(User, User.id == Membership.user_id)
        .where(Membership.project_id == root_id, User.is_active_account.is_(True)),
    ]
    if with_previews:
        # Earlier previews taken up as a goal in a meeting of another unit.
        parts.append(
            sa.select(sa.literal(5), count(), total(Item.version), total(Item.id))
            .select_from(Meeting)
            .join(origin, origin.meeting_id == Meeting.id)
            .join(Item, Item.origin_item_id == origin.id)
            .where(Meeting.unit_id == unit_id, origin.kind.in_(("preview", "break")))
        )
    return sa.union_all(*parts)


def page_stamp(meeting: Meeting, editable: bool) -> tuple:
    rows = db.session.execute(
        _page_stamp_statement(editable),
        {
            "meeting_id": meeting.id,
            "unit_id": meeting.unit_id,
            "starts_at": meeting.starts_at,
            "root_id": meeting.unit.parent_id or meeting.unit_id,
        },
    )
    return tuple(sorted(tuple(row) for row in rows))


def live_region(meeting: Meeting, etag: str, editable: bool) -> str:
    """The meeting page's live region (attendees, carry-over, the sheets, editors' forms),
    rendered once per state of what it shows; the CSRF tokens in it are the viewer's own."""
    today = to_local(utcnow()).date()
    unseen = items.unseen_homework(current_user, meeting)
    key = (
        "page",
        meeting.id,
        meeting.created_at,
        etag,
        page_stamp(meeting, editable),
        generations.token("homework"),
        str(get_locale()),
        today,
        editable,
        unseen,
    )

    def render() -> str:
        with _placeholder_csrf():
            context = {**page_context(meeting, editable, unseen), "today": today}
            return render_template("minutes/_live.html", **add_forms(meeting, context), **context)

    return _with_own_csrf(_FRAGMENTS.get(key, render))


def live_fragment(meeting: Meeting, etag: str, view: str, frozen: bool = True) -> str:
    """The live region's HTML: the confirmation panel (per person) and the sheets."""
    panel = live_panel(meeting, frozen, etag)
    if view == "page":
        editable = permissions.can_edit_minutes(current_user, meeting)
        return panel + live_region(meeting, etag, editable)
    today = to_local(utcnow()).date()
    unseen = items.unseen_homework(current_user, meeting)
    key = ("present", meeting.id, meeting.created_at, etag, str(get_locale()), today, unseen)
    html = _FRAGMENTS.get(
        key,
        lambda: render_template(
            "minutes/_present_sheets.html",
            meeting=meeting,
            sheets=items.sheets(meeting, unseen),
            today=today,
        ),
    )
    return panel + html


def live_panel(meeting: Meeting, frozen: bool = True, etag: str | None = None) -> str:
    """The confirmation panel, only where it can show: while a meeting runs and nothing has
    been frozen, attendees see none, and fifty of them need not compute it on every change.
    With the meeting's ETag (every freeze, answer and re-opening bumps its change_seq), the
    rendering is kept per viewer and state."""
    runs = permissions.can_run_meeting(current_user, meeting)
    if not frozen and meeting.status in ("draft", "in_session") and not runs:
        return ""
    if etag is None:
        return render_template("minutes/_live_panel.html", meeting=meeting)
    projector = request.endpoint == "minutes.present" or request.args.get("view") == "present"
    key = (
        "panel",
        meeting.id,
        meeting.created_at,
        etag,
        current_user.id,
        runs,
        str(get_locale()),
        projector,
        request.host_url,
    )

    def render() -> str:
        with _placeholder_csrf():
            return render_template("minutes/_live_panel.html", meeting=meeting)

    return _with_own_csrf(_PANELS.get(key, render))


@cache
def _live_statement() -> sa.Select:
    """Built once per process: the poll is the most frequent request of all."""
    frozen = sa.exists().where(Revision.meeting_id == Meeting.id)
    return sa.select(Meeting.change_seq, _ticket_stamp(Meeting.id).scalar_subquery(), frozen).where(
        Meeting.id == sa.bindparam("meeting_id"),
        permissions.visible_to_bound_user(Meeting.unit_id),
    )


@bp.route("/meetings/<id:meeting_id>/live")
def live(meeting_id):
    """Live following: 304 while nothing changed, else the re-rendered live region."""
    row = db.session.execute(
        _live_statement(),
        {
            "meeting_id": meeting_id,
            "viewer_id": current_user.id,
            "viewer_is_admin": bool(current_user.is_admin),
        },
    ).first()
    if row is None:
        abort(404)
    seq, stamp, frozen = row
    etag = f"m{meeting_id}-{seq}-{stamp}"
    if request.if_none_match.contains(etag):
        response = current_app.response_class(status=304)
    else:
        meeting = db.session.get(Meeting, meeting_id, options=[sa.orm.joinedload(Meeting.unit)])
        view = "present" if request.args.get("view") == "present" else "page"
        response = jsonify(
            seq=seq,
            etag=etag,
            status=meeting.status,
            status_label=meetings.status_label(meeting.status),
            html=live_fragment(meeting, etag, view, frozen),
            # A fresh form token: a meeting can outlast the token's lifetime.
            csrf_token=generate_csrf(),
        )
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response
