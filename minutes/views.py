"""Meeting pages: lists, new / edit / copy, the meeting page, the projector view, live following.

The sheet items' own routes (add, edit, move, reorder, delete, carry over) are in
minutes/item_views.py; the JSON API in minutes/api.py.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager
from datetime import UTC, datetime, time, timedelta
from functools import cache

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.routing import BuildError

import permissions
from accounts.models import User
from core import errors, generations, parsing
from core.extensions import db
from core.timeutil import JST, to_local, utcnow
from core.urls import row_url, safe_next
from minutes import bp, services
from minutes.forms import AttendeeForm, CopyForm, MeetingForm, StatusForm, add_forms
from minutes.loading import meeting_view
from minutes.models import Attendee, Item, Meeting, Revision
from projects.models import Membership, Project
from projects.services import members_of
from tickets.models import Ticket

PER_PAGE = 50


def to_utc(day, at: time) -> datetime:
    return datetime.combine(day, at, JST).astimezone(UTC).replace(tzinfo=None)


# --- lists -----------------------------------------------------------------------------------


def _meeting_list(where, page: int):
    """Upcoming first (soonest at the top), then past ones (latest first)."""
    since = utcnow() - timedelta(hours=12)
    upcoming = db.session.scalars(
        sa.select(Meeting)
        .where(where, Meeting.starts_at >= since)
        .order_by(Meeting.starts_at)
        .options(sa.orm.joinedload(Meeting.unit))
        .limit(PER_PAGE)
    ).all()
    past = db.session.scalars(
        sa.select(Meeting)
        .where(where, Meeting.starts_at < since)
        .order_by(Meeting.starts_at.desc())
        .options(sa.orm.joinedload(Meeting.unit))
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE + 1)
    ).all()
    return upcoming if page == 1 else [], past[:PER_PAGE], len(past) > PER_PAGE


@bp.route("/meetings")
def index():
    page = parsing.arg_int(request.args, "page", 1, low=1, high=parsing.MAX_PAGE)
    upcoming, past, more = _meeting_list(permissions.visible(current_user, Meeting.unit_id), page)
    return render_template(
        "minutes/index.html", upcoming=upcoming, past=past, more=more, page=page, project=None
    )


@bp.route("/projects/<key>/meetings")
def project_index(key):
    project = permissions.load_project(current_user, key)
    page = parsing.arg_int(request.args, "page", 1, low=1, high=parsing.MAX_PAGE)
    where = _in_project(project)
    upcoming, past, more = _meeting_list(where, page)
    return render_template(
        "minutes/index.html", upcoming=upcoming, past=past, more=more, page=page, project=project
    )


def _in_project(project: Project):
    if project.is_unit:
        return Meeting.unit_id == project.id
    return Meeting.unit_id.in_(sa.select(Project.id).where(Project.parent_id == project.id))


def project_meetings(project: Project, limit: int = 8) -> tuple[list, list]:
    """For the project / unit page section: the next and the latest meetings."""
    since = utcnow() - timedelta(hours=12)
    base = sa.select(Meeting).where(_in_project(project)).options(sa.orm.joinedload(Meeting.unit))
    upcoming = db.session.scalars(
        base.where(Meeting.starts_at >= since).order_by(Meeting.starts_at).limit(limit)
    ).all()
    past = db.session.scalars(
        base.where(Meeting.starts_at < since).order_by(Meeting.starts_at.desc()).limit(limit)
    ).all()
    return upcoming, past


@cache
def _ticket_endpoint(app) -> str | None:
    return next((e for e in ("tickets.show", "tickets.ticket") if e in app.view_functions), None)


def ticket_url(ticket) -> str | None:
    """The ticket page, once the tickets package has one."""
    endpoint = _ticket_endpoint(current_app._get_current_object())
    if endpoint is None:
        return None
    try:
        return row_url(endpoint, ticket_id=ticket.id)
    except BuildError:
        return None


EVENT_LABELS = {
    "add": _l("Added"),
    "edit": _l("Edited"),
    "move": _l("Moved to another sheet"),
    "reorder": _l("Reordered"),
    "delete": _l("Deleted"),
    "restore": _l("Restored"),
    "keep_open": _l("Reviewed and kept open"),
}


def describe(snapshot: dict) -> str:
    """One line for an ItemEvent's before/after in the history table."""
    kind = services.kind_label(snapshot.get("kind", ""))
    if "what" in snapshot:
        return (
            f"{kind}: {snapshot.get('who', '')} / {snapshot['what']} / {snapshot.get('due_date')}"
        )
    if "index" in snapshot:
        return f"{kind}: {snapshot['index'] + 1}"
    return f"{kind}: {snapshot.get('text', '')}"


# Helpers the templates (and the macros they import) call.
for _name, _func in {
    "project_meetings": project_meetings,
    "kind_label": services.kind_label,
    "meeting_status_label": services.status_label,
    "ticket_url": ticket_url,
    "row_url": row_url,
    "event_label": lambda action: str(EVENT_LABELS.get(action, action)),
    "describe": describe,
}.items():
    bp.add_app_template_global(_func, _name)


# --- new, edit, copy -------------------------------------------------------------------------


def _meeting_form(unit: Project, meeting: Meeting | None = None) -> MeetingForm:
    form = MeetingForm(obj=meeting)
    members = members_of(unit)
    form.facilitator_id.choices = [(0, "—")] + [(u.id, u.name) for u in members]
    form.attendee_ids.choices = [
        (u.id, f"{u.name}（{u.organisation.name}）" if u.organisation else u.name) for u in members
    ]
    if request.method == "GET":
        if meeting is None:
            start = to_local(utcnow()).replace(minute=0, second=0) + timedelta(days=1)
            form.day.data, form.start_time.data = start.date(), time(10, 0)
            form.end_time.data = time(11, 0)
            form.facilitator_id.data = current_user.id
            form.attendee_ids.data = [current_user.id]
        else:
            local = to_local(meeting.starts_at)
            form.day.data, form.start_time.data = local.date(), local.time()
            form.end_time.data = to_local(meeting.ends_at).time() if meeting.ends_at else None
            form.version.data = meeting.version
    return form


def _guests(text: str) -> list[tuple[str, str]]:
    guests = []
    for line in (text or "").splitlines():
        name, _sep, org = line.replace("，", ",").replace("、", ",").partition(",")
        if name.strip():
            guests.append((name.strip(), org.strip()))
    return guests


def _times(form: MeetingForm) -> dict:
    starts = to_utc(form.day.data, form.start_time.data)
    ends = to_utc(form.day.data, form.end_time.data) if form.end_time.data else None
    return {"starts_at": starts, "ends_at": ends}


@bp.route("/projects/<key>/meetings/new", methods=["GET", "POST"])
def new(key):
    unit = permissions.load_project(current_user, key)
    if not unit.is_unit:
        abort(404)
    if not permissions.can_create_meeting(current_user, unit):
        abort(403)
    form = _meeting_form(unit)
    if form.validate_on_submit():
        data = {
            "title": form.title.data,
            "place": form.place.data,
            "facilitator_id": form.facilitator_id.data,
            **_times(form),
        }

        def create():
            meeting = services.create_meeting(current_user, unit, data)
            for user_id in form.attendee_ids.data or []:
                user = db.session.get(User, user_id)
                if user is not None:
                    services.add_attendee(current_user, meeting, user)
            for name, org in _guests(form.guests.data):
                services.add_attendee(current_user, meeting, None, name, org)
            return meeting

        meeting = saved(form, create)
        if meeting is not None:
            flash(_("The meeting was created."), "success")
            return redirect(url_for("minutes.show", meeting_id=meeting.id))
    return render_template("minutes/form.html", form=form, unit=unit, meeting=None)


def saved(form, write):
    """`write()` committed, and its result; or None when a service refused the input: then
    nothing is kept and the message goes next to the form field it names (else flashed),
    for the view to show the form again."""
    try:
        result = write()
    except (errors.Invalid, errors.Locked, errors.StaleVersion) as error:
        db.session.rollback()
        field = getattr(form, error.field or "", None) or getattr(form, "title", None)
        if field is None or not hasattr(field, "errors"):
            flash(str(error), "error")
        else:
            field.errors = [*field.errors, str(error)]
        return None
    db.session.commit()
    return True if result is None else result


@bp.route("/meetings/<id:meeting_id>/edit", methods=["GET", "POST"])
@meeting_view("edit")
def edit(meeting):
    form = _meeting_form(meeting.unit, meeting)
    if form.validate_on_submit():
        data = {
            "title": form.title.data,
            "place": form.place.data,
            "facilitator_id": form.facilitator_id.data,
            **_times(form),
        }
        version = form.version.data or None
        if saved(form, lambda: services.update_meeting(current_user, meeting, data, version)):
            flash(_("The meeting was saved."), "success")
            return redirect(url_for("minutes.show", meeting_id=meeting.id))
    return render_template(
        "minutes/form.html",
        form=form,
        unit=meeting.unit,
        meeting=meeting,
        attendee_form=_attendee_form(meeting),
    )


def _attendee_form(meeting: Meeting) -> AttendeeForm:
    form = AttendeeForm(prefix="att")
    taken = {a.user_id for a in meeting.attendees}
    form.user_id.choices = [(0, "—")] + [
        (u.id, u.name) for u in members_of(meeting.unit) if u.id not in taken
    ]
    return form


def _attendees_of(meeting: Meeting, **_view_args) -> str:
    return url_for("minutes.edit", meeting_id=meeting.id) + "#attendees"


@bp.route("/meetings/<id:meeting_id>/attendees", methods=["POST"])
@meeting_view("edit", back=_attendees_of)
def add_attendee(meeting):
    form = _attendee_form(meeting)
    if not form.validate_on_submit():
        abort(400)
    user = db.session.get(User, form.user_id.data or 0)
    if user is not None and not permissions.can_view_project(user, meeting.unit):
        user = None
    services.add_attendee(
        current_user, meeting, user, form.guest_name.data, form.guest_organisation.data
    )
    db.session.commit()
    return redirect(_attendees_of(meeting))


def _load_attendee(meeting: Meeting, attendee_id: int) -> Attendee:
    attendee = db.session.get(Attendee, attendee_id)
    if attendee is None or attendee.meeting_id != meeting.id:
        abort(404)
    return attendee


@bp.route("/meetings/<id:meeting_id>/attendees/<id:attendee_id>/presence", methods=["POST"])
@meeting_view("edit")
def presence(meeting, attendee_id):
    attendee = _load_attendee(meeting, attendee_id)
    services.set_presence(current_user, attendee, request.form.get("present") == "1")
    db.session.commit()
    return redirect(
        safe_next(request.form.get("next"), url_for("minutes.show", meeting_id=meeting.id))
    )


@bp.route("/meetings/<id:meeting_id>/attendees/<id:attendee_id>/delete", methods=["POST"])
@meeting_view("edit", back=_attendees_of)
def remove_attendee(meeting, attendee_id):
    services.remove_attendee(current_user, _load_attendee(meeting, attendee_id))
    db.session.commit()
    return redirect(_attendees_of(meeting))


@bp.route("/meetings/<id:meeting_id>/status", methods=["POST"])
@meeting_view("unlocked", "run")
def status(meeting):
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    services.set_status(current_user, meeting, form.status.data)
    db.session.commit()
    return redirect(url_for("minutes.show", meeting_id=meeting.id))


@bp.route("/meetings/<id:meeting_id>/copy", methods=["GET", "POST"])
@meeting_view("create")
def copy(meeting):
    form = CopyForm()
    if request.method == "GET":
        local = to_local(meeting.starts_at) + timedelta(days=7)
        form.day.data, form.start_time.data = local.date(), local.time()
    if form.validate_on_submit():
        nxt = services.copy_as_next(
            current_user, meeting, to_utc(form.day.data, form.start_time.data)
        )
        db.session.commit()
        flash(_("The next meeting of the series was created."), "success")
        return redirect(url_for("minutes.show", meeting_id=nxt.id))
    return render_template("minutes/copy.html", meeting=meeting, form=form)


# --- the meeting page, the projector, live following -----------------------------------------


def page_context(meeting: Meeting, editable: bool | None = None) -> dict:
    """What the meeting page and its live fragment render."""
    if editable is None:
        editable = permissions.can_edit_minutes(current_user, meeting)
    _load_attendees(meeting)
    return {
        "meeting": meeting,
        "sheets": services.sheets(meeting),
        "carry": services.earlier_open_homework(meeting),
        "previews": services.earlier_previews(meeting) if editable else [],
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


@bp.route("/meetings/<id:meeting_id>")
@meeting_view()
def show(meeting):
    etag = live_etag(meeting)
    editable = permissions.can_edit_minutes(current_user, meeting)
    return render_template(
        "minutes/show.html",
        status_form=StatusForm(status=meeting.status),
        meeting=meeting,
        editable=editable,
        etag=etag,
        live_html=Markup(live_panel(meeting, etag=etag) + live_region(meeting, etag, editable)),
    )


@bp.route("/meetings/<id:meeting_id>/present")
@meeting_view()
def present(meeting):
    members = members_of(meeting.unit)
    people = [{"login": u.login, "name": u.name} for u in members]
    people += [{"login": "", "name": a.guest_name} for a in meeting.attendees if a.user_id is None]
    later = db.session.scalars(
        sa.select(Meeting)
        .where(
            Meeting.unit_id == meeting.unit_id,
            Meeting.starts_at > meeting.starts_at,
            Meeting.status != "confirmed",
        )
        .order_by(Meeting.starts_at)
        .limit(9)
    )
    return render_template(
        "minutes/present.html",
        meeting=meeting,
        sheets=services.sheets(meeting),
        editable=permissions.can_edit_minutes(current_user, meeting),
        people=people,
        later=[
            {"id": m.id, "label": f"{to_local(m.starts_at):%m/%d %H:%M} {m.title}"} for m in later
        ],
        etag=live_etag(meeting),
        today=to_local(utcnow()).date(),
        moves={"sheet": services.MOVES, "later": services.TAKEN_OVER_AS_GOAL},
    )


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
# language, day, view and whether the viewer may edit. Editors' forms are rendered with a
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
    )

    def render() -> str:
        with _placeholder_csrf():
            context = {**page_context(meeting, editable=editable), "today": today}
            return render_template("minutes/_live.html", **add_forms(meeting, context), **context)

    return _with_own_csrf(_FRAGMENTS.get(key, render))


def live_fragment(meeting: Meeting, etag: str, view: str, frozen: bool = True) -> str:
    """The live region's HTML: the confirmation panel (per person) and the sheets."""
    panel = live_panel(meeting, frozen, etag)
    if view == "page":
        editable = permissions.can_edit_minutes(current_user, meeting)
        return panel + live_region(meeting, etag, editable)
    today = to_local(utcnow()).date()
    key = ("present", meeting.id, meeting.created_at, etag, str(get_locale()), today)
    html = _FRAGMENTS.get(
        key,
        lambda: render_template(
            "minutes/_present_sheets.html",
            meeting=meeting,
            sheets=services.sheets(meeting),
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
            status_label=services.status_label(meeting.status),
            html=live_fragment(meeting, etag, view, frozen),
            # A fresh form token: a meeting can outlast the token's lifetime.
            csrf_token=generate_csrf(),
        )
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    return response
