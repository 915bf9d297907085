"""Meeting pages: lists, new / edit / copy, attendees, status, the meeting page, the projector view.

The sheet items' own routes (add, edit, move, reorder, delete, carry over) are in
minutes/item_views.py; the live region, its caches and the poll in minutes/live.py; the JSON API
in minutes/api.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

import permissions
from accounts.models import User
from core import errors, parsing
from core.extensions import db
from core.timeutil import JST, to_local, utcnow
from core.urls import safe_next
from minutes import bp, carry_over, items, meetings
from minutes.forms import AttendeeForm, CopyForm, MeetingForm, StatusForm
from minutes.live import live_etag, live_panel, live_region
from minutes.loading import meeting_view
from minutes.models import Meeting
from projects.loading import project_view
from projects.models import Project
from projects.services import members_of

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
@project_view()
def project_index(project):
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


def ticket_url(ticket) -> str:
    return url_for("tickets.show", ticket_id=ticket.id)


def ticket_shown(ticket) -> bool:
    """Whether the minutes show a link to `ticket`: not to a private ticket the viewer may
    not see (items.unseen_homework keys the cached fragments by those tickets)."""
    return not ticket.is_private or permissions.can_view_ticket(current_user, ticket)


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
    kind = items.kind_label(snapshot.get("kind", ""))
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
    "kind_label": items.kind_label,
    "meeting_status_label": meetings.status_label,
    "ticket_url": ticket_url,
    "ticket_shown": ticket_shown,
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
@project_view("create meeting", unit=True)
def new(unit):
    form = _meeting_form(unit)

    def page():
        return render_template("minutes/form.html", form=form, unit=unit, meeting=None)

    errors.form_page(form, page)
    if form.validate_on_submit():
        data = {
            "title": form.title.data,
            "place": form.place.data,
            "facilitator_id": form.facilitator_id.data,
            **_times(form),
        }

        def create():
            meeting = meetings.create_meeting(current_user, unit, data)
            for user_id in form.attendee_ids.data or []:
                user = db.session.get(User, user_id)
                if user is not None:
                    meetings.add_attendee(current_user, meeting, user)
            for name, org in _guests(form.guests.data):
                meetings.add_attendee(current_user, meeting, None, name, org)
            return meeting

        meeting = create()
        db.session.commit()
        flash(_("The meeting was created."), "success")
        return redirect(url_for("minutes.show", meeting_id=meeting.id))
    return page()


@bp.route("/meetings/<id:meeting_id>/edit", methods=["GET", "POST"])
@meeting_view("edit")
def edit(meeting):
    form = _meeting_form(meeting.unit, meeting)

    def page():
        return render_template(
            "minutes/form.html",
            form=form,
            unit=meeting.unit,
            meeting=meeting,
            attendee_form=_attendee_form(meeting),
        )

    errors.form_page(form, page)
    if form.validate_on_submit():
        data = {
            "title": form.title.data,
            "place": form.place.data,
            "facilitator_id": form.facilitator_id.data,
            **_times(form),
        }
        meetings.update_meeting(current_user, meeting, data, form.version.data or None)
        db.session.commit()
        flash(_("The meeting was saved."), "success")
        return redirect(url_for("minutes.show", meeting_id=meeting.id))
    return page()


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
    meetings.add_attendee(
        current_user, meeting, user, form.guest_name.data, form.guest_organisation.data
    )
    db.session.commit()
    return redirect(_attendees_of(meeting))


@bp.route("/meetings/<id:meeting_id>/attendees/<id:attendee_id>/presence", methods=["POST"])
@meeting_view("edit", attendee=True)
def presence(meeting, attendee):
    meetings.set_presence(current_user, attendee, request.form.get("present") == "1")
    db.session.commit()
    return redirect(
        safe_next(request.form.get("next"), url_for("minutes.show", meeting_id=meeting.id))
    )


@bp.route("/meetings/<id:meeting_id>/attendees/<id:attendee_id>/delete", methods=["POST"])
@meeting_view("edit", back=_attendees_of, attendee=True)
def remove_attendee(meeting, attendee):
    meetings.remove_attendee(current_user, attendee)
    db.session.commit()
    return redirect(_attendees_of(meeting))


@bp.route("/meetings/<id:meeting_id>/status", methods=["POST"])
@meeting_view("unlocked", "run")
def status(meeting):
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    meetings.set_status(current_user, meeting, form.status.data)
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
        nxt = meetings.copy_as_next(
            current_user, meeting, to_utc(form.day.data, form.start_time.data)
        )
        db.session.commit()
        flash(_("The next meeting of the series was created."), "success")
        return redirect(url_for("minutes.show", meeting_id=nxt.id))
    return render_template("minutes/copy.html", meeting=meeting, form=form)


# --- the meeting page, the projector, live following -----------------------------------------


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
        sheets=items.sheets(meeting, items.unseen_homework(current_user, meeting)),
        editable=permissions.can_edit_minutes(current_user, meeting),
        people=people,
        later=[
            {"id": m.id, "label": f"{to_local(m.starts_at):%m/%d %H:%M} {m.title}"} for m in later
        ],
        etag=live_etag(meeting),
        today=to_local(utcnow()).date(),
        moves={"sheet": items.MOVES, "later": carry_over.TAKEN_OVER_AS_GOAL},
    )
