"""Routes: /dashboard (and the homework lists behind its numbers), /my/page, /decisions,
/search, /projects/<id>/last-year."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import selectinload

import permissions
from extensions import db
from projects.models import Project
from reports import bp, charts, lastyear, mypage, queries
from reports.links import object_url

bp.add_app_template_global(object_url, "object_url")


def _int_arg(name: str) -> int | None:
    value = (request.args.get(name) or "").strip()
    return int(value) if value.isdigit() else None


def _scope() -> Project | None:
    """The project or unit chosen with ?project=<id> (404 when not visible), or everything."""
    key = _int_arg("project")
    return permissions.load_project(current_user, key) if key else None


def visible_roots() -> list[Project]:
    """Fiscal-year projects the user sees, with their units (for the scope choosers)."""
    return list(
        db.session.scalars(
            sa.select(Project)
            .where(Project.parent_id.is_(None), permissions.visible(current_user, Project.id))
            .options(selectinload(Project.units))
            .order_by(Project.fiscal_year.desc(), Project.position, Project.name)
        )
    )


def _language() -> str:
    locale = get_locale()
    return locale.language if locale else "ja"


@bp.route("/dashboard")
def dashboard():
    project = _scope()
    clock = queries.Clock.at()
    year = _int_arg("fy") or (project.year if project and project.year else clock.fiscal_year)
    weeks = queries.weekly_trend(current_user, project, year, clock)
    chart = charts.weekly_chart(
        weeks,
        title=_("Open and closed homework per week"),
        open_label=_("Open at the end of the week"),
        closed_label=_("Closed in the week"),
        locale=_language(),
    )
    roots = visible_roots()
    return render_template(
        "reports/dashboard.html",
        project=project,
        roots=roots,
        clock=clock,
        year=year,
        years=sorted({p.fiscal_year for p in roots if p.fiscal_year} | {year}, reverse=True),
        counts=queries.headline(current_user, project, clock),
        by_unit=queries.by_unit(current_user, project, clock),
        by_person=queries.by_person(current_user, project, clock),
        by_side=queries.by_side(current_user, project, clock),
        by_org=queries.by_organisation(current_user, project, clock),
        oldest=queries.oldest_open(current_user, project),
        weeks=weeks,
        chart=chart,
    )


@bp.route("/dashboard/homework")
def homework():
    project = _scope()
    filters = queries.HomeworkFilters.from_args(request.args)
    page = _int_arg("page") or 1
    clock = queries.Clock.at()
    lines, total = queries.homework_list(current_user, project, filters, page, clock)
    return render_template(
        "reports/homework.html",
        project=project,
        roots=visible_roots(),
        filters=filters,
        lines=lines,
        total=total,
        page=page,
        pages=max(1, -(-total // queries.PAGE_SIZE)),
        clock=clock,
    )


@bp.route("/my/page")
def my_page():
    clock = queries.Clock.at()
    return render_template(
        "reports/my_page.html",
        clock=clock,
        lines=mypage.my_open_tickets(current_user),
        meetings=mypage.next_meetings(current_user, clock),
        awaiting=mypage.awaiting_my_confirmation(current_user),
        roots=mypage.my_units(current_user, clock),
    )


@bp.route("/projects/<key>/last-year")
def last_year(key):
    project = permissions.load_project(current_user, key)
    clock = queries.Clock.at()
    return render_template(
        "reports/last_year.html",
        report=lastyear.last_year(current_user, project, clock),
        this_week=clock.week[0],
    )
