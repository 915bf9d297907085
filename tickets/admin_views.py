"""Administrators edit trackers, statuses and workflows.

GET/POST  /admin/trackers[/new|/<id>]    admin_trackers, admin_tracker_edit
GET/POST  /admin/statuses[/new|/<id>]    admin_statuses, admin_status_edit
GET/POST  /admin/workflows               admin_workflows (?tracker_id=&role=)
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

import permissions
from core import errors, formatting, parsing
from core.extensions import db
from tickets import bp, reference
from tickets.forms import StatusForm, TrackerForm
from tickets.models import Status, Ticket, Tracker


def _admin_only() -> None:
    if not permissions.can_administer(current_user):
        abort(403)


def _statuses() -> list[Status]:
    return list(db.session.scalars(sa.select(Status).order_by(Status.position, Status.id)))


def _trackers() -> list[Tracker]:
    return list(db.session.scalars(sa.select(Tracker).order_by(Tracker.position, Tracker.id)))


def _usage(column) -> dict[int, int]:
    return dict(db.session.execute(sa.select(column, sa.func.count()).group_by(column)).all())


@bp.route("/admin/trackers")
def admin_trackers():
    _admin_only()
    return render_template(
        "tickets/admin_trackers.html",
        trackers=_trackers(),
        statuses={s.id: s for s in _statuses()},
        usage=_usage(Ticket.tracker_id),
    )


@bp.route("/admin/trackers/new", methods=["GET", "POST"])
@bp.route("/admin/trackers/<id:tracker_id>", methods=["GET", "POST"])
def admin_tracker_edit(tracker_id: int | None = None):
    _admin_only()
    tracker = db.session.get(Tracker, tracker_id) if tracker_id else None
    if tracker_id and tracker is None:
        abort(404)
    form = TrackerForm(obj=tracker)
    form.default_status_id.choices = [(s.id, s.name) for s in _statuses()]

    def page():
        return render_template("tickets/admin_tracker_form.html", form=form, tracker=tracker)

    errors.form_page(form, page)
    if form.validate_on_submit():
        reference.save_tracker(current_user, tracker, form.data)
        db.session.commit()
        flash(_("The tracker was saved."), "success")
        return redirect(url_for("tickets.admin_trackers"))
    return page()


@bp.route("/admin/statuses")
def admin_statuses():
    _admin_only()
    return render_template(
        "tickets/admin_statuses.html", statuses=_statuses(), usage=_usage(Ticket.status_id)
    )


@bp.route("/admin/statuses/new", methods=["GET", "POST"])
@bp.route("/admin/statuses/<id:status_id>", methods=["GET", "POST"])
def admin_status_edit(status_id: int | None = None):
    _admin_only()
    status = db.session.get(Status, status_id) if status_id else None
    if status_id and status is None:
        abort(404)
    form = StatusForm(obj=status)

    def page():
        return render_template("tickets/admin_status_form.html", form=form, status=status)

    errors.form_page(form, page)
    if form.validate_on_submit():
        reference.save_status(current_user, status, form.data)
        db.session.commit()
        flash(_("The status was saved."), "success")
        return redirect(url_for("tickets.admin_statuses"))
    return page()


@bp.route("/admin/workflows", methods=["GET", "POST"])
def admin_workflows():
    _admin_only()
    trackers = _trackers()
    if not trackers:
        abort(404)
    tracker = db.session.get(Tracker, parsing.id_or_none(request.values.get("tracker_id")) or 0)
    tracker = tracker or trackers[0]
    role = request.values.get("role") or "member"
    if role not in reference.WORKFLOW_ROLES:
        abort(404)
    statuses = _statuses()
    if request.method == "POST":
        allowed = set()
        for key in request.form:
            if key.startswith("t-"):
                source, _sep, target = key[2:].partition("-")
                pair = (parsing.id_or_none(source), parsing.id_or_none(target))
                if None not in pair:
                    allowed.add(pair)
        reference.set_workflow(current_user, tracker, role, allowed)
        db.session.commit()
        flash(_("The workflow was saved."), "success")
        return redirect(url_for("tickets.admin_workflows", tracker_id=tracker.id, role=role))
    return render_template(
        "tickets/admin_workflows.html",
        trackers=trackers,
        tracker=tracker,
        role=role,
        roles=[(r, formatting.role_label(r)) for r in reference.WORKFLOW_ROLES],
        statuses=statuses,
        allowed=reference.workflow(tracker, role),
    )
