"""Routes: /dashboard (and the homework lists behind its numbers), /my/page, /decisions,
/search, /projects/<id>/last-year."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import (
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape

import permissions
from core import errors, generations, parsing, textsearch
from core.extensions import db
from core.urls import object_url
from minutes.models import Item, Meeting
from projects.loading import project_view
from projects.models import Project
from reports import (
    bp,
    charts,
    decisions,
    lastyear,
    list_queries,
    mypage,
    queries,
    search,
    services,
    trend_queries,
)
from reports.forms import FilterForm, SupersedeForm, UndoSupersedeForm
from reports.highlight import highlight, highlight_html, snippet

bp.add_app_template_global(object_url, "object_url")


@bp.app_template_filter("named")
def named(obj) -> str:
    """A project's, status's or organisation's name; the English one in the English UI."""
    language = g.get("reports_language")
    if language is None:
        language = g.reports_language = _language()
    return obj.name_en if language == "en" and obj.name_en else obj.name


# My page's rows and unit lists, kept rendered by what they show (generations.KeptRows).
_MY_TICKET_LINES = generations.KeptRows("reports/_my_page_rows.html", "ticket_line", size=5_000)


_MY_YEAR_UNITS = generations.KeptRows("reports/_my_page_rows.html", "year_units", size=500)


@bp.app_template_global()
def my_ticket_lines(lines: list[mypage.TicketLine]) -> Markup:
    return Markup("".join(_MY_TICKET_LINES.html(line) for line in lines))


@bp.app_template_global()
def my_year_units(years: list[mypage.YearUnits]) -> Markup:
    return Markup("".join(_MY_YEAR_UNITS.html(year) for year in years))


bp.add_app_template_filter(highlight, "highlight")
bp.add_app_template_filter(highlight_html, "highlight_html")
bp.add_app_template_filter(snippet, "snippet")


def _int_arg(name: str, low: int = 1, high: int = parsing.MAX_ID) -> int | None:
    """A number from the query string, or None (absent, unreadable, out of range)."""
    return parsing.to_int(request.args.get(name), low=low, high=high)


def _scope() -> Project | None:
    """The project or unit chosen with ?project=<id> (404 when not visible), or everything."""
    key = _int_arg("project")
    return permissions.load_project(current_user, key) if key else None


@dataclass
class Scope:
    """A project or unit of the scope chooser: plain values, not ORM objects (220 of them
    for a council-wide manager, read on every report page)."""

    id: int
    name: str
    name_en: str | None
    fiscal_year: int | None = None
    is_archived: bool = False
    position: int = 0
    units: list[Scope] = field(default_factory=list)


def _scope_of(row) -> Scope:
    return Scope(row.id, row.name, row.name_en, row.fiscal_year, row.is_archived, row.position)


# The scope chooser's projects per user, until a project or membership changes.
_ROOTS = generations.Cache(size=128)


def visible_roots() -> list[Scope]:
    """Fiscal-year projects the user sees, with their units (for the scope choosers).
    Shared between requests: read it, never change it."""
    return _ROOTS.get_or_compute("directory", (current_user.id,), _read_visible_roots)


def _read_visible_roots() -> list[Scope]:
    rows = db.session.execute(
        sa.select(
            Project.id,
            Project.parent_id,
            Project.name,
            Project.name_en,
            Project.fiscal_year,
            Project.is_archived,
            Project.position,
        )
        .where(permissions.visible(current_user, Project.id))
        .order_by(Project.position, Project.id)  # units' order; roots are sorted below
    ).all()
    roots = {row.id: _scope_of(row) for row in rows if row.parent_id is None}
    for row in rows:
        parent = roots.get(row.parent_id)
        if parent is not None:
            parent.units.append(_scope_of(row))
    return sorted(
        roots.values(),
        key=lambda r: (-(r.fiscal_year or 0), r.position, r.name),
    )


@bp.app_template_global()
def scope_options(roots: list[Scope], selected) -> Markup:
    """The <option>s of the scope chooser, built in one pass: as a Jinja loop, the 220
    projects of a council-wide manager cost more than the rest of the page."""
    english = g.get("reports_language") or _language()
    name = lambda p: p.name_en if english == "en" and p.name_en else p.name  # noqa: E731
    chosen = selected.id if selected is not None else None
    all_units = escape(_("all units"))
    out = []
    for root in roots:
        out.append(f'<optgroup label="{escape(name(root))}">')
        mark = " selected" if chosen == root.id else ""
        out.append(f'<option value="{root.id}"{mark}>{escape(name(root))} — {all_units}</option>')
        for unit in root.units:
            if not unit.is_archived:
                mark = " selected" if chosen == unit.id else ""
                out.append(f'<option value="{unit.id}"{mark}>{escape(name(unit))}</option>')
        out.append("</optgroup>")
    return Markup("".join(out))


_DECISION_ROWS = generations.KeptRows("reports/_decision.html", "decision", size=2_000)


@bp.app_template_global()
def decision_html(row: decisions.Decision, terms) -> Markup:
    return Markup(_DECISION_ROWS.html(row, tuple(terms), key=row.key()))


@bp.app_template_global()
def homework_href(state: str, scope: dict, filters: dict) -> str:
    """url_for("reports.homework", state=…, **scope, **filters), for the dozens of links of
    the dashboard's breakdowns: the route is built once per request, the rest is a query
    string (encoded as url_for would)."""
    base = g.get("homework_base")
    if base is None:
        base = g.homework_base = url_for("reports.homework")
    query = urlencode({"state": state, **scope, **filters}, safe=_URL_SAFE)
    return f"{base}?{query}"


_URL_SAFE = "!$'()*,/:;?@"  # what Werkzeug leaves unquoted in a query string


def _language() -> str:
    locale = get_locale()
    return locale.language if locale else "ja"


@bp.route("/dashboard")
def dashboard():
    project = _scope()
    clock = queries.Clock.at()
    year = _int_arg("fy", parsing.EARLIEST.year, parsing.LATEST.year - 1) or (
        project.year if project and project.year else clock.fiscal_year
    )
    weeks = trend_queries.cached_weekly_trend(current_user, project, year, clock)
    chart = charts.weekly_chart(
        weeks,
        title=_("Open and closed homework per week"),
        open_label=_("Open at the end of the week"),
        closed_label=_("Closed in the week"),
        locale=_language(),
    )
    roots = visible_roots()
    homework = queries.OpenHomework.cached(current_user, project, clock)
    return render_template(
        "reports/dashboard.html",
        project=project,
        roots=roots,
        clock=clock,
        year=year,
        years=sorted({p.fiscal_year for p in roots if p.fiscal_year} | {year}, reverse=True),
        counts=homework.headline(),
        by_unit=homework.by_unit(),
        by_person=homework.by_person(),
        by_side=homework.by_side(),
        by_org=homework.by_organisation(),
        oldest=homework.oldest(current_user),
        weeks=weeks,
        chart=chart,
    )


@bp.route("/dashboard/homework")
def homework():
    project = _scope()
    filters = list_queries.HomeworkFilters.from_args(request.args)
    page = _int_arg("page", high=parsing.MAX_PAGE) or 1
    clock = queries.Clock.at()
    lines, total = list_queries.homework_list(current_user, project, filters, page, clock)
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
        mine=mypage.my_open_tickets(current_user, clock.today),
        meetings=mypage.next_meetings(current_user, clock),
        awaiting=mypage.awaiting_my_confirmation(current_user),
        roots=mypage.my_units(current_user, clock),
    )


@bp.route("/projects/<key>/last-year")
@project_view()
def last_year(project):
    clock = queries.Clock.at()
    return render_template(
        "reports/last_year.html",
        report=lastyear.last_year(current_user, project, clock),
        this_week=clock.week[0],
    )


def _filter_form() -> FilterForm:
    form = FilterForm(request.args, meta={"csrf": False})
    form.validate()
    return form


def _load_result(item_id: int) -> Item:
    item = db.session.scalar(
        sa.select(Item)
        .join(Meeting, Meeting.id == Item.meeting_id)
        .where(Item.id == item_id, *decisions.results_where(current_user))
        .options(*decisions.decision_loads())
    )
    if item is None:
        abort(404)
    return item


@bp.route("/decisions", endpoint="decisions")
def decisions_index():
    project = _scope()
    form = _filter_form()
    valid = not form.errors
    filters = decisions.DecisionFilters(
        project=project,
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
        q=(form.q.data or "").strip(),
        item_id=_int_arg("id"),
    )
    page = _int_arg("page", high=parsing.MAX_PAGE) or 1
    rows, has_next = decisions.decisions(current_user, filters, page)
    return render_template(
        "reports/decisions.html",
        form=form,
        project=project,
        roots=visible_roots(),
        filters=filters,
        rows=rows,
        has_next=has_next,
        page=page,
        terms=textsearch.words(filters.q),
        undo_form=UndoSupersedeForm(),
    )


@bp.route("/decisions/<id:item_id>/supersede", methods=["GET", "POST"])
def supersede(item_id):
    old = _load_result(item_id)
    if not permissions.can_supersede_decision(current_user, old):
        abort(403)
    form = SupersedeForm()

    def page():
        q = (request.args.get("q") or "").strip()
        scope = _scope() if "project" in request.args else old.meeting.unit
        return render_template(
            "reports/supersede.html",
            old=old,
            form=form,
            q=q,
            project=scope,
            roots=visible_roots(),
            candidates=decisions.later_results(current_user, old, scope, q),
        )

    errors.form_page(form, page)
    if form.validate_on_submit():
        services.mark_superseded(current_user, old, _load_result(form.new_id.data))
        db.session.commit()
        flash(_("The decision is marked as superseded by a later one."), "success")
        return redirect(url_for("reports.decisions", _anchor=f"decision-{old.id}"))
    return page()


@bp.route("/decisions/<id:item_id>/unsupersede", methods=["POST"])
def unsupersede(item_id):
    old = _load_result(item_id)
    if not permissions.can_supersede_decision(current_user, old):
        abort(403)
    form = UndoSupersedeForm()
    if not form.validate_on_submit():
        abort(400)
    services.clear_superseded(current_user, old)
    db.session.commit()
    flash(_("The decision stands again."), "success")
    return redirect(url_for("reports.decisions", _anchor=f"decision-{old.id}"))


@bp.route("/search", endpoint="search")
def search_page():
    project = _scope()
    form = _filter_form()
    valid = not form.errors
    filters = search.SearchFilters(
        q=(form.q.data or "").strip(),
        project=project,
        date_from=form.date_from.data if valid else None,
        date_to=form.date_to.data if valid else None,
    )
    kind = request.args.get("kind") if request.args.get("kind") in search.KINDS else None
    page = _int_arg("page", high=parsing.MAX_PAGE) or 1
    groups = search.search(current_user, filters, kind, page)
    return render_template(
        "reports/search.html",
        form=form,
        project=project,
        roots=visible_roots(),
        filters=filters,
        groups=groups,
        kind=kind,
        page=page,
        page_size=search.PAGE_SIZE,
        terms=textsearch.words(filters.q),
    )
