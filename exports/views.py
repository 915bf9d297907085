"""Exports: the minutes as PDF, CSV for Excel, iCalendar feeds of homework due dates."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

import permissions
from accounts.auth import public
from core.extensions import db
from core.timeutil import to_local
from exports import bp, renderer
from exports import csv as csvs
from exports import ical as icals
from exports import pdf as pdfs
from minutes import items, meetings, revisions
from minutes.loading import meeting_view
from minutes.models import Item, Meeting
from projects.loading import project_view
from projects.models import Project
from tickets import queries
from tickets.models import Status, Ticket


def _pdf_response(data: bytes, name: str):
    response = current_app.response_class(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _minutes_pdf(meeting, revision):
    name = pdfs.filename(meeting, revision)
    if revision is None:
        return _pdf_response(pdfs.draft_pdf(meeting), name)
    data, path = pdfs.revision_pdf(meeting, revision)
    if path is None:
        return _pdf_response(data, name)
    # A confirmed revision's PDF never changes: the cached file, with an ETag of its own.
    response = send_file(path, mimetype="application/pdf", download_name=name, conditional=True)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@bp.errorhandler(renderer.RendererUnavailable)
def pdf_unavailable(error):
    """The renderer process died twice, timed out or is busy: 503, with a page saying so."""
    current_app.logger.warning("PDF not made: %s", error)
    message = _(
        "The PDF could not be made just now. Nothing was lost: please try again in a minute."
    )
    response = make_response(render_template("error.html", code=503, message=message), 503)
    response.headers["Retry-After"] = "30"
    return response


# The pages with a PDF link. Loading WeasyPrint and the fonts takes longer than a PDF's
# render: as one of these is served the renderer is started (when none runs), so that it is
# ready by the time the link is followed.
OFFERS_PDF = frozenset({"minutes.show", "minutes.revision_list", "minutes.revision"})


@bp.after_app_request
def start_renderer_for_a_pdf_link(response):
    if (
        request.endpoint in OFFERS_PDF
        and response.status_code == 200
        and current_app.config["SANMAI_PDF_WARM"] != "0"
    ):
        try:
            renderer.warm()
        except OSError as error:  # the PDF request itself will try again
            current_app.logger.warning("PDF renderer not started: %s", error)
    return response


@bp.route("/meetings/<id:meeting_id>.pdf")
@meeting_view()
def meeting_pdf(meeting):
    """The latest revision, or the working draft when nothing was frozen yet."""
    return _minutes_pdf(meeting, revisions.latest_revision(meeting))


@bp.route("/meetings/<id:meeting_id>/revisions/<id:number>.pdf")
@meeting_view()
def revision_pdf(meeting, number):
    revision = revisions.get_revision(meeting, number)
    if revision is None:
        abort(404)
    return _minutes_pdf(meeting, revision)


# --- CSV -------------------------------------------------------------------------------------


def _ticket_url(ticket) -> str:
    return url_for("tickets.show", ticket_id=ticket.id, _external=True)


@bp.route("/issues.csv")
def issues_csv():
    """The ticket list as CSV, with the same filter parameters as /issues and /issues.json."""
    return _issues_csv(request.args.to_dict())


@bp.route("/projects/<key>/issues.csv")
def project_issues_csv(key):
    return _issues_csv({**request.args.to_dict(), "project_id": key})


def _issues_csv(params: dict):
    query = queries.ticket_query(current_user, params)
    # Run before the response starts: a failure is then an error page, not a cut-off file.
    tickets = db.session.scalars(query.select().execution_options(yield_per=500))
    header = [
        "#",
        _("Project"),
        _("Tracker"),
        _("Status"),
        _("Priority"),
        _("Subject"),
        _("Assignee"),
        _("Author"),
        _("Start date"),
        _("Due date"),
        _("% Done"),
        _("Parent task"),
        _("Created"),
        _("Updated"),
        _("Closed on"),
        _("Description"),
    ]

    def rows():
        for t in tickets:
            yield [
                t.id,
                t.project.name,
                t.tracker.name,
                t.status.name,
                t.priority.name,
                t.subject,
                t.who,
                t.author.name if t.author else "",
                _day(t.start_date),
                _day(t.due_date),
                t.done_ratio,
                t.parent_id or "",
                _moment(t.created_at),
                _moment(t.updated_at),
                _moment(t.closed_at),
                t.description,
            ]

    return csvs.response("issues.csv", header, rows())


def _day(value) -> str:
    return value.isoformat() if value else ""


def _moment(value) -> str:
    """Japan time, in a form Excel reads as a date and time."""
    return to_local(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _homework_rows(where, status: str):
    stmt = (
        sa.select(Item, Ticket, Meeting)
        .join(Ticket, Ticket.id == Item.ticket_id)
        .join(Meeting, Meeting.id == Item.meeting_id)
        .join(Status, Status.id == Ticket.status_id)
        .where(
            Item.kind == "homework",
            Item.deleted_at.is_(None),
            permissions.visible(current_user, Meeting.unit_id),
            permissions.visible_ticket(current_user, Ticket),
            *where,
        )
        .options(
            joinedload(Ticket.assignee),
            joinedload(Ticket.status),
            joinedload(Meeting.unit),
            joinedload(Item.parent_item),
        )
        .order_by(Meeting.starts_at, Item.position, Item.id)
    )
    if status == "open":
        stmt = stmt.where(Status.is_closed.is_(False))
    elif status == "closed":
        stmt = stmt.where(Status.is_closed.is_(True))
    header = [
        _("Meeting date"),
        _("Meeting"),
        _("Business unit"),
        _("Who"),
        _("What"),
        _("By when"),
        _("Ticket"),
        _("Status"),
        _("Goal"),
        _("Ticket URL"),
    ]

    found = db.session.execute(stmt.execution_options(yield_per=500))  # before the first byte

    def rows():
        for item, ticket, meeting in found:
            yield [
                _moment(meeting.starts_at)[:10],
                meeting.title,
                meeting.unit.name,
                ticket.who,
                ticket.subject,
                _day(ticket.due_date),
                ticket.id,
                ticket.status.name,
                item.parent_item.text if item.parent_item is not None else "",
                _ticket_url(ticket),
            ]

    return header, rows()


def _result_rows(where):
    stmt = (
        sa.select(Item, Meeting)
        .join(Meeting, Meeting.id == Item.meeting_id)
        .where(
            Item.kind == "result",
            Item.deleted_at.is_(None),
            permissions.visible(current_user, Meeting.unit_id),
            *where,
        )
        .options(
            joinedload(Meeting.unit),
            joinedload(Item.parent_item),
            joinedload(Item.origin_item),
        )
        .order_by(Meeting.starts_at, Item.position, Item.id)
    )
    header = [
        _("Meeting date"),
        _("Meeting"),
        _("Business unit"),
        _("Goal"),
        _("Result"),
        _("Decided from"),
        _("Superseded by"),
        _("Minutes status"),
        _("Meeting URL"),
    ]

    found = db.session.execute(stmt.execution_options(yield_per=500))  # before the first byte

    def rows():
        for item, meeting in found:
            origin = item.origin_item
            yield [
                _moment(meeting.starts_at)[:10],
                meeting.title,
                meeting.unit.name,
                item.parent_item.text if item.parent_item is not None else "",
                item.text,
                _origin_label(origin),
                item.superseded_by_id or "",
                meetings.status_label(meeting.status),
                url_for("minutes.show", meeting_id=meeting.id, _external=True),
            ]

    return header, rows()


def _origin_label(origin) -> str:
    if origin is None:
        return ""
    if origin.ticket_id and not queries.unseen_ticket_ids(current_user, [origin.ticket_id]):
        return f"#{origin.ticket_id}"
    return items.kind_label(origin.kind)


def _project_scope(project: Project) -> list:
    """The meetings of a unit, or of every unit of a fiscal-year project."""
    if project.is_unit:
        return [Meeting.unit_id == project.id]
    units = sa.select(Project.id).where(Project.parent_id == project.id)
    return [Meeting.unit_id.in_(units)]


@bp.route("/projects/<key>/homework.csv")
@project_view()
def project_homework_csv(project):
    """Homework of the project's meetings; ?status=open (default), closed or *."""
    where = _project_scope(project)
    status = request.args.get("status", "open")
    header, rows = _homework_rows(where, status)
    return csvs.response(f"homework-{project.identifier}.csv", header, rows)


@bp.route("/projects/<key>/results.csv")
@project_view()
def project_results_csv(project):
    where = _project_scope(project)
    header, rows = _result_rows(where)
    return csvs.response(f"results-{project.identifier}.csv", header, rows)


@bp.route("/meetings/<id:meeting_id>/homework.csv")
@meeting_view()
def meeting_homework_csv(meeting):
    header, rows = _homework_rows([Meeting.id == meeting.id], "*")
    return csvs.response(f"homework-meeting-{meeting.id}.csv", header, rows)


@bp.route("/meetings/<id:meeting_id>/results.csv")
@meeting_view()
def meeting_results_csv(meeting):
    header, rows = _result_rows([Meeting.id == meeting.id])
    return csvs.response(f"results-meeting-{meeting.id}.csv", header, rows)


# --- iCalendar -------------------------------------------------------------------------------


def _ics(data: bytes, name: str):
    response = current_app.response_class(data, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _feed_user(token: str):
    user = icals.user_by_feed_token(token)
    if user is None:
        abort(404)
    return user


@bp.route("/feeds/<token>/homework.ics")
@public
def my_homework_ics(token):
    """Homework assigned to the token's owner, in every project they may see. Public (calendar
    apps send no cookies): the secret feed token in the URL names the user."""
    user = _feed_user(token)
    with force_locale(user.language or "ja"):
        rows = icals.open_homework(user, assignee=user)
        data = icals.calendar(_("Homework of %(name)s", name=user.name), rows, _ticket_url)
    return _ics(data, "homework.ics")


@bp.route("/feeds/<token>/projects/<key>/homework.ics")
@public
def project_homework_ics(token, key):
    """Homework of a project or unit, for a member of it. Public (calendar apps send no
    cookies): the secret feed token in the URL names the member, checked on every fetch."""
    user = _feed_user(token)
    project = permissions.load_project(user, key)
    with force_locale(user.language or "ja"):
        rows = icals.open_homework(user, project=project)
        data = icals.calendar(_("Homework: %(project)s", project=project.name), rows, _ticket_url)
    return _ics(data, f"homework-{project.identifier}.ics")


@bp.route("/feeds")
def feeds():
    """The user's subscribable calendar URLs (the token is made on first visit)."""
    token = icals.ensure_feed_token(current_user)
    db.session.commit()
    projects = db.session.scalars(
        sa.select(Project)
        .where(
            permissions.visible(current_user, Project.id),
            Project.parent_id.is_(None),
            Project.is_archived.is_(False),
        )
        .order_by(Project.fiscal_year.desc(), Project.position, Project.id)
    ).all()
    return render_template(
        "exports/feeds.html",
        token=token,
        projects=projects,
        alarm_days=current_app.config.get("SANMAI_ICAL_ALARM_DAYS", 1),
    )


@bp.route("/feeds/renew", methods=["POST"])
def renew_feeds():
    icals.renew_feed_token(current_user)
    db.session.commit()
    flash(_("New calendar addresses were made; the old ones no longer work."), "success")
    return redirect(url_for("exports.feeds"))
