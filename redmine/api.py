"""Routes of the Redmine-compatible API. Every rule and write goes through the shared
services (tickets.services, tickets.queries, permissions); this module translates. Here: the
answers' helpers, projects, reference data and search; issues and their files: redmine/issues.py."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from flask import abort, current_app, request
from sqlalchemy.orm import joinedload

import permissions
from accounts import services as accounts
from accounts.auth import public
from core import errors, parsing, textsearch
from core.extensions import db
from projects.models import Membership, Project
from redmine import bp
from redmine import serializers as out
from redmine.auth import caller, empty, not_found, require_caller
from tickets import queries
from tickets.models import CustomField, Priority, Status, Ticket, Tracker

DEFAULT_LIMIT, MAX_LIMIT = 25, 100
PROJECT_INCLUDES = (
    "trackers",
    "issue_categories",
    "time_entry_activities",
    "enabled_modules",
    "issue_custom_fields",
)


def route(rule: str, **options):
    """A route of this API: no login redirect (the caller is found by redmine.auth)."""

    def register(view):
        return bp.route(rule, **options)(public(view))

    return register


# --- answers ---------------------------------------------------------------------------------


def reply(payload, status: int = 200, headers: dict | None = None):
    """JSON as Redmine writes it: keys in Redmine's order, compact, UTF-8."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    response = current_app.response_class(body, status=status, headers=headers)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response


@bp.errorhandler(errors.DomainError)
def _domain_error(error: errors.DomainError):
    """A service's refusal in Redmine's shape: 403 and 404 bare, else {"errors": [...]} with
    422 (invalid input) or 409 (a stale lock_version)."""
    db.session.rollback()
    if isinstance(error, errors.Forbidden):
        return empty(403)
    if isinstance(error, errors.NotFound):
        return empty(401 if caller() is None else 404)
    return reply({"errors": [str(error)]}, error.status)


def unprocessable(messages: list[str]):
    db.session.rollback()
    abort(reply({"errors": messages}, 422))


def envelope(name: str, items: list, total: int, offset: int, limit: int):
    return reply({name: items, "total_count": total, "offset": offset, "limit": limit})


def body_of(key: str) -> dict:
    """The `{"issue": {...}}` object of a JSON body; 400 when the body is not JSON (the app's
    JSON parser also refuses deep nesting and lone surrogates: parsing.JSONProvider)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = current_app.json.loads(raw)
    except ValueError:
        abort(empty(400))
    if not isinstance(data, dict) or not isinstance(data.get(key, {}), dict):
        abort(empty(400))
    return data.get(key) or {}


def includes() -> set[str]:
    return {part.strip() for part in request.args.get("include", "").split(",") if part.strip()}


def _to_i(value) -> int:
    """Ruby's String#to_i, as Redmine reads offset and limit: leading digits, else 0;
    clamped to ±MAX_INT, so an offset past every row is an empty page, never an error."""
    match = re.match(r"\s*([-+]?[0-9]{1,40})", value or "")
    return parsing.clamp(int(match.group(1)), -parsing.MAX_INT, parsing.MAX_INT) if match else 0


def offset_and_limit(args) -> tuple[int, int]:
    limit = _to_i(args.get("limit"))
    limit = DEFAULT_LIMIT if limit < 1 else min(limit, MAX_LIMIT)
    if args.get("offset") in (None, "") and args.get("page"):
        offset = (parsing.clamp(_to_i(args.get("page")), 1, parsing.MAX_PAGE) - 1) * limit
    else:
        offset = _to_i(args.get("offset"))
    # offset + limit (the search's head) stays within what the database compares
    return parsing.clamp(offset, 0, parsing.MAX_INT - MAX_LIMIT), limit


# --- projects --------------------------------------------------------------------------------


def load_visible_project(key) -> Project:
    user = caller()
    if user is None:
        not_found()
    return permissions.load_project(user, key)


def _tree_order(projects: list[Project]) -> list[Project]:
    """Redmine lists a project followed by its sub-projects."""
    ordered = sorted(
        projects,
        key=lambda p: (
            p.parent_id or p.id,
            p.parent_id is not None,
            p.position,
            p.id,
        ),
    )
    return ordered


def _project_includes(project: Project, wanted: set[str]) -> dict:
    extra = {}
    if "trackers" in wanted:
        extra["trackers"] = [out.ref(t) for t in _trackers()]
    if "issue_categories" in wanted:
        extra["issue_categories"] = []
    if "time_entry_activities" in wanted:
        extra["time_entry_activities"] = []
    if "enabled_modules" in wanted:
        extra["enabled_modules"] = list(out.ENABLED_MODULES)
    if "issue_custom_fields" in wanted:
        fields = db.session.scalars(
            sa.select(CustomField).order_by(CustomField.position, CustomField.id)
        )
        extra["issue_custom_fields"] = [{"id": f.id, "name": f.name} for f in fields]
    return extra


@route("/projects.json")
def projects():
    user = caller()
    offset, limit = offset_and_limit(request.args)
    if user is None:
        return envelope("projects", [], 0, offset, limit)
    rows = db.session.scalars(
        sa.select(Project)
        .where(permissions.visible(user, Project.id))
        .options(joinedload(Project.parent))
    ).all()
    rows = _tree_order(list(rows))
    wanted = includes() & set(PROJECT_INCLUDES)
    page = [out.project(p, includes=_project_includes(p, wanted)) for p in rows[offset:][:limit]]
    return envelope("projects", page, len(rows), offset, limit)


@route("/projects/<key>.json")
def project(key):
    p = load_visible_project(key)
    wanted = includes()
    return reply({"project": out.project(p, detail=True, includes=_project_includes(p, wanted))})


# --- reference data --------------------------------------------------------------------------


def _trackers() -> list[Tracker]:
    return list(db.session.scalars(sa.select(Tracker).order_by(Tracker.position, Tracker.id)))


@route("/trackers.json")
def trackers():
    require_caller()
    statuses = {s.id: s for s in db.session.scalars(sa.select(Status))}
    return reply(
        {"trackers": [out.tracker(t, statuses.get(t.default_status_id)) for t in _trackers()]}
    )


@route("/issue_statuses.json")
def issue_statuses():
    require_caller()
    rows = db.session.scalars(sa.select(Status).order_by(Status.position, Status.id))
    return reply({"issue_statuses": [out.status(s) for s in rows]})


@route("/enumerations/issue_priorities.json")
def issue_priorities():
    require_caller()
    rows = db.session.scalars(sa.select(Priority).order_by(Priority.position, Priority.id))
    return reply({"issue_priorities": [out.priority(p) for p in rows]})


@route("/users/current.json")
def current_user():
    user = require_caller()
    if not user.api_token:  # Redmine makes the key on first use, too
        accounts.api_token(user)
        db.session.commit()
    memberships = None
    if "memberships" in includes():
        memberships = db.session.scalars(
            sa.select(Membership).where(Membership.user_id == user.id).order_by(Membership.id)
        ).all()
    return reply({"user": out.current_user(user, memberships=memberships)})


# --- search ----------------------------------------------------------------------------------

# Redmine's search types; Sanmai has issues and projects (the others find nothing).
SEARCH_TYPES = ("issues", "news", "documents", "changesets", "wiki_pages", "messages", "projects")


def _flag(value) -> bool:
    return value is not None and value.strip().lower() not in ("", "0", "false", "off", "no")


def _issue_hits(user, q: str, project: Project | None, scope: str, head: int):
    params = {"status_id": "open" if _flag(request.args.get("open_issues")) else "*"}
    params["sort"] = "created_on:desc,id:desc"
    if project is not None and scope != "all":
        params["project_id"] = str(project.id)
        if scope != "subprojects":
            params["subproject_id"] = "!*"  # Redmine searches the project alone by default
    titles_only = _flag(request.args.get("titles_only"))
    any_word = request.args.get("all_words", "1") in ("0", "", "false")
    if not titles_only and not any_word:
        params["q"] = q
    query = queries.ticket_query(user, params, default_status="*")
    if titles_only or any_word:
        sources = (
            [textsearch.Source(key=Ticket.id, columns=(Ticket.subject,))]
            if titles_only
            else queries.TICKET_SOURCES
        )
        words = textsearch.words(q)
        clauses = [textsearch.matches_all(w, Ticket.id, sources) for w in words]
        query.where.append(sa.or_(*clauses) if any_word else sa.and_(*clauses))
    query.offset, query.limit = 0, head  # the merge with projects pages the whole
    return query.search_page()


def _project_hits(user, q: str, head: int):
    columns = (Project.name, Project.name_en)
    if not _flag(request.args.get("titles_only")):
        columns += (Project.identifier, Project.description)
    source = textsearch.Source(key=Project.id, columns=columns)
    words = textsearch.words(q)
    if request.args.get("all_words", "1") in ("0", "", "false"):
        clause = sa.or_(*(textsearch.matches_all(w, Project.id, [source]) for w in words))
    else:
        clause = textsearch.matches_all(q, Project.id, [source])
    where = [permissions.visible(user, Project.id), clause]
    total = db.session.scalar(sa.select(sa.func.count(Project.id)).where(*where))
    rows = db.session.scalars(
        sa.select(Project).where(*where).order_by(Project.created_at.desc(), Project.id.desc())
    )
    return list(rows)[:head], total


def _search(project_key: str | None):
    user = caller()
    offset, limit = offset_and_limit(request.args)
    project = load_visible_project(project_key) if project_key is not None else None
    q = request.args.get("q", "")
    if user is None or not textsearch.words(q):
        return envelope("results", [], 0, offset, limit)
    asked = {t for t in SEARCH_TYPES if _flag(request.args.get(t))}
    types = asked or set(SEARCH_TYPES)
    scope = request.args.get("scope", "")
    if project is not None and scope != "all":
        types.discard("projects")  # as Redmine: a search inside a project finds no projects
    head = offset + limit
    hits, total, more = [], 0, False
    if "issues" in types:
        rows, count, more = _issue_hits(user, q, project, scope, head)
        hits += [(t.created_at, t.id, 1, out.search_issue(t)) for t in rows]
        total += count
    if "projects" in types:
        rows, count = _project_hits(user, q, head)
        hits += [(p.created_at, p.id, 0, out.search_project(p)) for p in rows]
        total += count
    hits.sort(key=lambda h: h[:3], reverse=True)  # newest first, as Redmine ranks them
    results = [h[3] for h in hits[offset:head]]
    if not more:
        return envelope("results", results, total, offset, limit)
    # More issues than were counted: total_count is a lower bound past this page (clients
    # that page while offset + limit < total_count go on), and says it is one.
    bounded = {"results": results, "total_count": total + 1, "offset": offset, "limit": limit}
    return reply({**bounded, "total_count_exact": False})


@route("/search.json")
def search():
    return _search(None)


@route("/projects/<key>/search.json")
def project_search(key):
    return _search(key)
