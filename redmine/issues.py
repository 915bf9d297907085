"""Issues and their files in the Redmine-compatible API: list, show, create, update, delete,
uploads and attachments. The answers' helpers and the other resources: redmine/api.py."""

from __future__ import annotations

import functools
import io
import re
from types import SimpleNamespace

import sqlalchemy as sa
from flask import abort, current_app, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import aliased
from werkzeug.datastructures import FileStorage

import permissions
from accounts.models import User
from attachments import files
from attachments.models import Attachment
from core.extensions import db
from core.rows import plain_rows
from projects.models import Project
from redmine import inputs
from redmine import serializers as out
from redmine.api import (
    body_of,
    envelope,
    includes,
    load_visible_project,
    offset_and_limit,
    reply,
    route,
    unprocessable,
)
from redmine.auth import caller, empty, forbidden, not_found, require_caller
from tickets import history, links, queries, services
from tickets.models import CustomField, CustomValue, Priority, Status, Ticket, Tracker

# --- issues ----------------------------------------------------------------------------------

# Filter values Sanmai's query understands; anything else matches nothing (as in Redmine).
_IDS = r"[0-9]+(\|[0-9]+)*"
_FILTER_VALUES = {
    "status_id": re.compile(rf"^(open|o|closed|c|\*|{_IDS})$"),
    "tracker_id": re.compile(rf"^({_IDS})$"),
    "assigned_to_id": re.compile(r"^(\*|!\*|([0-9]+|me)(\|([0-9]+|me))*)$"),
    "author_id": re.compile(r"^(\*|!\*|([0-9]+|me)(\|([0-9]+|me))*)$"),
}


def _query_params(args, project_key: str | None) -> dict | None:
    """Redmine's list parameters, cleaned the way Redmine reads them; None: matches nothing."""
    params = {k: v for k, v in args.items() if k not in ("key", "offset", "limit", "page")}
    if project_key is not None:
        params["project_id"] = project_key
    for name, pattern in _FILTER_VALUES.items():
        value = (params.get(name) or "").strip()
        if value and not pattern.match(value):
            return None
    if params.get("sort"):  # Redmine skips columns it cannot sort by
        parts = [
            p for p in params["sort"].split(",") if p.split(":")[0].strip() in queries.SORTABLE
        ]
        params["sort"] = ",".join(parts)
    return params


def _issue_list(project_key: str | None = None):
    user = caller()
    offset, limit = offset_and_limit(request.args)
    if user is None:
        if project_key or request.args.get("project_id"):
            not_found()
        return envelope("issues", [], 0, offset, limit)  # nothing in Sanmai is public
    params = _query_params(request.args, project_key)
    if params is None:
        return envelope("issues", [], 0, offset, limit)
    params.update(offset=str(offset), limit=str(limit))
    query = queries.ticket_query(user, params)
    ids, total = query.page_ids()
    return envelope("issues", listed_issues(ids), total, offset, limit)


def listed_issues(ids: list[int]) -> list[dict]:
    """The issues `ids`, in that order, as a list shows them: one select of the columns
    shown and one of the custom fields, no ORM objects (loading 100 tickets with their six
    relations took longer than the rest of the request)."""
    if not ids:
        return []
    found = {r.id: r for r in plain_rows(_list_statement(), {"ids": ids})}
    fields = _custom_fields(ids)
    english = out.english_names()
    return [out.issue_from_row(found[i], english, fields.get(i)) for i in ids if i in found]


@functools.cache
def _list_statement() -> sa.Select:
    """Built once: building it costs about what running it does."""
    return _issue_columns().where(Ticket.id.in_(sa.bindparam("ids", expanding=True)))


def _issue_columns() -> sa.Select:
    """What a list shows of an issue, with the joins for its names."""
    author, assignee = aliased(User), aliased(User)
    return (
        sa.select(
            Ticket.id,
            Ticket.project_id,
            Project.name.label("project"),
            Project.name_en.label("project_en"),
            Ticket.tracker_id,
            Tracker.name.label("tracker"),
            Tracker.name_en.label("tracker_en"),
            Ticket.status_id,
            Status.name.label("status"),
            Status.name_en.label("status_en"),
            Status.is_closed,
            Ticket.priority_id,
            Priority.name.label("priority"),
            Priority.name_en.label("priority_en"),
            Ticket.author_id,
            author.name.label("author"),
            Ticket.assignee_id,
            assignee.name.label("assignee"),
            Ticket.parent_id,
            Ticket.subject,
            Ticket.description,
            Ticket.start_date,
            Ticket.due_date,
            Ticket.done_ratio,
            Ticket.is_private,
            Ticket.created_at,
            Ticket.updated_at,
            Ticket.closed_at,
        )
        .join(Project, Project.id == Ticket.project_id)
        .join(Tracker, Tracker.id == Ticket.tracker_id)
        .join(Status, Status.id == Ticket.status_id)
        .join(Priority, Priority.id == Ticket.priority_id)
        .outerjoin(author, author.id == Ticket.author_id)
        .outerjoin(assignee, assignee.id == Ticket.assignee_id)
    )


def _custom_fields(ticket_ids: list[int]) -> dict[int, list[dict]]:
    """{ticket id: its custom_fields}, in one query for a page of issues."""
    if not ticket_ids:
        return {}
    by_ticket: dict[int, list] = {}
    for row in plain_rows(_custom_values_statement(), {"ids": ticket_ids}):
        by_ticket.setdefault(row.ticket_id, []).append((row, row.value))
    return {ticket_id: out.custom_values(pairs) for ticket_id, pairs in by_ticket.items()}


@functools.cache
def _custom_values_statement() -> sa.Select:
    """The values of the tickets `ids` with their field's id, name and is_multiple (what
    out.custom_values reads), in the fields' order; built once."""
    return _custom_values_columns().where(
        CustomValue.ticket_id.in_(sa.bindparam("ids", expanding=True))
    )


@functools.cache
def _custom_values_of_one() -> sa.Select:
    """_custom_values_statement for the one ticket `id`."""
    return _custom_values_columns().where(CustomValue.ticket_id == sa.bindparam("id"))


def _custom_values_columns() -> sa.Select:
    return (
        sa.select(
            CustomValue.ticket_id,
            CustomField.id,
            CustomField.name,
            CustomField.is_multiple,
            CustomValue.value,
        )
        .join(CustomField, CustomValue.custom_field_id == CustomField.id)
        .order_by(CustomField.position, CustomField.id, CustomValue.id)
    )


@route("/issues.json")
def issues():
    return _issue_list()


@route("/projects/<key>/issues.json")
def project_issues(key):
    return _issue_list(key)


def load_issue(issue_id: int, *options) -> Ticket:
    """The issue if the caller may see it, else 404. One row by its key, checked with
    can_view_ticket (the rule of visible_ticket for one loaded ticket)."""
    user = caller()
    if user is None:
        not_found()
    ticket = db.session.get(Ticket, issue_id, options=options)
    if ticket is None or not permissions.can_view_ticket(user, ticket):
        not_found()
    return ticket


@functools.cache
def _issue_statement() -> sa.Select:
    """The list's columns and what can_view_ticket reads of the project; built once."""
    return (
        _issue_columns()
        .add_columns(Project.parent_id.label("project_parent_id"))
        .where(Ticket.id == sa.bindparam("id"))
    )


@functools.cache
def _issue_with_descendants() -> sa.Select:
    """_issue_statement for the ticket `id` and every descendant of it, in one query (UNION:
    a cycle ends), in id order; built once."""
    tree = sa.select(sa.bindparam("id", type_=sa.Integer).label("id")).cte("tree", recursive=True)
    below = sa.orm.aliased(Ticket)
    tree = tree.union(sa.select(below.id).where(below.parent_id == tree.c.id))
    return (
        _issue_columns()
        .add_columns(Project.parent_id.label("project_parent_id"))
        .where(Ticket.id.in_(sa.select(tree.c.id)))
        .order_by(Ticket.id)
    )


def _checked(row):
    """What can_view_ticket reads of a ticket and its project, from a row of plain columns."""
    return SimpleNamespace(
        id=row.id,
        project=SimpleNamespace(id=row.project_id, parent_id=row.project_parent_id),
        is_private=row.is_private,
        author_id=row.author_id,
        assignee_id=row.assignee_id,
    )


def _children(ticket, user, descendants) -> list[dict]:
    """The children the caller may see, each with its own, nested as Redmine does (a hidden
    child hides its descendants)."""
    below: dict[int, list] = {}
    for row in descendants:
        below.setdefault(row.parent_id, []).append(row)
    english = out.english_names()

    def nest(parent_id: int) -> list[dict]:
        return [
            out.child_from_row(c, english, nest(c.id))
            for c in below.get(parent_id, ())
            if permissions.can_view_ticket(user, _checked(c))
        ]

    return nest(ticket.id)


def _journals(user, ticket) -> list[dict]:
    """The journals the caller may see, from plain rows (history.journal_rows)."""
    shown: list[dict] = []
    current = None
    for row in history.journal_rows(ticket.id):
        if current is None or current["id"] != row.id:
            current = out.journal_from_row(row)
            if row.private_notes and not permissions.can_view_private_notes_of(
                user, row.user_id, ticket.project
            ):
                # The changes are not private, only the words: show the changes alone.
                current["notes"] = ""
                current["private_notes"] = False
                current["hidden"] = True
            shown.append(current)
        if row.detail_id is not None:
            current["details"].append(
                {
                    "property": row.property,
                    "name": row.name,
                    "old_value": row.old_value,
                    "new_value": row.new_value,
                }
            )
    # A private note without changes is left out for those who may not read it.
    return [j for j in shown if not (j.pop("hidden", False) and not j["details"])]


@route("/issues/<id:issue_id>.json")
def issue(issue_id):
    user = caller()
    if user is None:
        not_found()
    # Plain columns rather than the ticket and its relations; the ORM ticket is loaded only
    # for the includes that need it.
    wanted = includes()
    if "children" in wanted:
        # The issue and its descendants in one query: the issue is the row with its id.
        rows = plain_rows(_issue_with_descendants(), {"id": issue_id}).all()
        row = next((r for r in rows if r.id == issue_id), None)
    else:
        row = plain_rows(_issue_statement(), {"id": issue_id}).first()
    ticket = None if row is None else _checked(row)
    if ticket is None or not permissions.can_view_ticket(user, ticket):
        not_found()
    english = out.english_names()
    values = plain_rows(_custom_values_of_one(), {"id": row.id})
    data = out.issue_from_row(row, english, out.custom_values((v, v.value) for v in values))
    if "children" in wanted:
        children = _children(ticket, user, (r for r in rows if r.id != issue_id))
        if children:
            data["children"] = children
    if wanted & {"attachments", "relations", "watchers", "allowed_statuses"}:
        loaded = db.session.get(Ticket, issue_id)
    if "attachments" in wanted:
        data["attachments"] = [attachment_json(a) for a in files.attachments_of(loaded)]
    if "relations" in wanted:
        # As Redmine: both directions, those to issues the caller cannot see left out.
        shown = [out.relation(r.relation) for r in links.relations_of(loaded, user) if r.other]
        if shown:
            data["relations"] = shown
    if "changesets" in wanted:
        data["changesets"] = []  # Sanmai has no repositories
    if "journals" in wanted:
        data["journals"] = _journals(user, ticket)
    if "watchers" in wanted:
        data["watchers"] = [out.user_ref(u) for u in links.watchers_of(loaded)]
    if "allowed_statuses" in wanted:
        data["allowed_statuses"] = [out.status(s) for s in services.allowed_statuses(user, loaded)]
    return reply({"issue": data})


def _create(project_key: str | None):
    user = require_caller()
    attrs = body_of("issue")
    if project_key is not None:
        project = load_visible_project(project_key)
        if not permissions.can_add_ticket(user, project):
            forbidden()
    else:
        project = inputs.target_project(user, attrs.get("project_id"))
        if project is None:
            unprocessable(
                [
                    _("Project cannot be blank."),
                    _("Tracker cannot be blank."),
                    _("Status cannot be blank."),
                ]
            )
    problems = []
    problem = inputs.unit_problem(project)
    if problem:
        problems.append(problem)
    try:
        changes = inputs.issue_changes(user, attrs, project)
    except inputs.Invalid as invalid:
        problems += invalid.messages
    uploads = _uploads(user, attrs, problems)
    if problems:
        unprocessable(problems)
    ticket = services.create_ticket(user, project, changes, attachments=uploads)
    db.session.commit()
    location = out.site_url(f"/issues/{ticket.id}")
    return reply({"issue": out.issue(ticket, created=True)}, 201, {"Location": location})


@route("/issues.json", methods=["POST"])
def create_issue():
    return _create(None)


@route("/projects/<key>/issues.json", methods=["POST"])
def create_project_issue(key):
    return _create(key)


@route("/issues/<id:issue_id>.json", methods=["PUT", "PATCH"])
def update_issue(issue_id):
    user = require_caller()
    ticket = load_issue(issue_id)
    may_edit = permissions.can_edit_ticket(user, ticket)
    if not may_edit and not permissions.can_comment_ticket(user, ticket):
        forbidden()
    attrs = body_of("issue")
    problems = []
    try:
        changes = inputs.issue_changes(user, attrs, None, ticket)
    except inputs.Invalid as invalid:
        changes, problems = {}, invalid.messages
    notes = inputs.text(attrs.get("notes"))
    if notes is None:
        problems.append(_("Notes is invalid."))
        notes = ""
    private = inputs.as_bool(attrs.get("private_notes"))
    expected = inputs.as_int(attrs.get("lock_version"))
    if (changes or attrs.get("uploads")) and not may_edit:
        forbidden()
    uploads = _uploads(user, attrs, problems)
    if problems:
        unprocessable(problems)
    if changes or uploads or expected is not None:
        services.update_ticket(
            user,
            ticket,
            changes,
            notes,
            expected_version=expected,
            private_notes=private,
            attachments=uploads,
        )
    elif notes.strip():
        services.add_note(user, ticket, notes, private)
    db.session.commit()
    return empty_no_content()


@route("/issues/<id:issue_id>.json", methods=["DELETE"])
def delete_issue(issue_id):
    user = require_caller()
    ticket = load_issue(issue_id)
    services.delete_ticket(user, ticket)
    db.session.commit()
    return empty_no_content()


def empty_no_content():
    response = current_app.response_class(status=204)
    response.headers.pop("Content-Type", None)
    return response


# --- uploads and attachments -----------------------------------------------------------------


def _uploads(user, attrs: dict, problems: list[str]) -> list[Attachment]:
    """The caller's own uploads named in `"uploads": [{"token": ...}]`, with the file name,
    description and content type the client gives when attaching (as Redmine takes them)."""
    entries = attrs.get("uploads") or []
    if not isinstance(entries, list):
        entries = [entries]
    found = []
    for entry in entries:
        token = entry.get("token") if isinstance(entry, dict) else None
        attachment = files.upload_by_token(user, str(token)) if token else None
        if attachment is None or attachment in found:
            problems.append(_("The upload token is invalid or was already used."))
            continue
        if entry.get("filename"):
            attachment.filename = files.safe_filename(str(entry["filename"]))
        if entry.get("description") is not None:
            attachment.description = str(entry["description"])[:255]
        given = entry.get("content_type")
        attachment.content_type = files.content_type_for(
            attachment.filename,
            given if isinstance(given, str) and given else attachment.content_type,
        )
        found.append(attachment)
    return found


def attachment_json(a: Attachment) -> dict:
    url = url_for("attachments.download", attachment_id=a.id, filename=a.filename, _external=True)
    return out.attachment(a, url)


@route("/uploads.json", methods=["POST"])
def upload():
    """Redmine's upload: the raw bytes as application/octet-stream, ?filename=…; the token
    it answers is then named in an issue's "uploads" to attach the file."""
    user = require_caller()
    if request.mimetype != "application/octet-stream":
        abort(empty(406))
    limit = files.max_bytes()
    if (request.content_length or 0) > limit:
        unprocessable(
            [_("The file is too large; each file may be at most %(max)s.", max=files.max_label())]
        )
    data = request.stream.read(limit + 1)
    storage = FileStorage(
        stream=io.BytesIO(data),
        filename=request.args.get("filename", ""),
        content_type="application/octet-stream",
    )
    attachment = files.store_upload(user, storage)
    db.session.commit()
    return reply({"upload": {"id": attachment.id, "token": attachment.token}}, 201)


@route("/attachments/<id:attachment_id>.json")
def attachment(attachment_id):
    user = caller()
    if user is None:
        not_found()
    a = db.session.get(Attachment, attachment_id)
    if a is None:
        not_found()
    if a.container_id is None:  # an upload not attached yet: its author's alone
        visible = a.author_id == user.id
    else:
        visible = files.visible_container(a.container_type, a.container_id, user) is not None
    if not visible:
        not_found()
    return reply({"attachment": attachment_json(a)})
