"""Ticket pages at Redmine's URLs, so links and habits carry over (the lists: list_views).

GET/POST  /projects/<key>/issues/new     new
GET       /issues/<id>                   show (history, children, files, the edit form)
POST      /issues/<id>                   update (optimistic locking, workflow-limited)
POST      /issues/preview                preview (Markdown → sanitised HTML)
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import sqlalchemy as sa
from flask import (
    abort,
    flash,
    get_template_attribute,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import joinedload

import permissions
from accounts.models import User
from attachments import files
from attachments.models import Attachment
from core import errors, generations, parsing
from core.extensions import db
from core.markup import render_markdown
from projects.loading import project_view
from projects.models import Membership, Project
from tickets import bp, history, hooks, links, services
from tickets.forms import TicketEditForm, TicketForm
from tickets.list_views import today
from tickets.models import Priority, Status, Ticket, Tracker, Transition


def description_template() -> str:
    """The talk's new-ticket description (図-2): what, where and when, and the difference."""
    headings = (
        _("Which screen, form or data"),
        _("On which PC, printer, procedure or date"),
        _("How the result differs from what was wanted"),
    )
    return "\n\n".join(f"### {h}\n" for h in headings)


# --- loading ---------------------------------------------------------------------------------


# What the ticket page shows of the ticket, read with its row.
_SHOWN = (
    joinedload(Ticket.project).joinedload(Project.parent),
    joinedload(Ticket.tracker),
    joinedload(Ticket.status),
    joinedload(Ticket.priority),
    joinedload(Ticket.author),
    joinedload(Ticket.assignee),
)


def load_ticket(ticket_id: int) -> Ticket:
    """The ticket if the current user may see it, else NotFound (404): one row by its key,
    checked with can_view_ticket (the rule of visible_ticket for one loaded ticket)."""
    ticket = db.session.get(Ticket, ticket_id, options=_SHOWN)
    if ticket is None or not permissions.can_view_ticket(current_user, ticket):
        raise errors.NotFound("ticket")
    return ticket


def ticket_view(*checks: str):
    """Route decorator: load the ticket of `ticket_id` (404 unless visible), check "edit"
    (can_edit_ticket, else 403) when asked, and call the view with `ticket`. A service's
    refusal sends the person back to the ticket page with the message."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(ticket_id, **view_args):
            ticket = load_ticket(ticket_id)
            if "edit" in checks and not permissions.can_edit_ticket(current_user, ticket):
                raise errors.Forbidden("edit ticket")
            errors.return_to(url_for("tickets.show", ticket_id=ticket.id))
            return view(ticket, **view_args)

        return wrapper

    return decorate


# --- new -------------------------------------------------------------------------------------


@bp.route("/projects/<key>/issues/new", methods=["GET", "POST"])
@project_view("add ticket")
def new(project):
    form = TicketForm()
    _fill_choices(form, project, None)

    def page():
        return render_template(
            "tickets/new.html",
            form=form,
            project=project,
            may_set_private=permissions.can_set_ticket_private(current_user, project),
            max_size=files.max_label(),
            max_bytes=files.max_bytes(),
        )

    errors.form_page(form, page)
    if request.method == "GET":
        form.description.data = description_template()
        form.project_id.data = project.id if project.is_unit else form.project_id.choices[0][0]
        form.tracker_id.data = _default_tracker_id(project)
        form.priority_id.data = services.default_priority().id
        parent = request.args.get("parent_id") or request.args.get("issue[parent_issue_id]")
        form.parent_id.data = parsing.id_or_none(parent)
    elif form.validate_on_submit():
        _check_uploads(form)
        unit = _unit_choice(project, form.project_id.data)
        uploads = _store_uploads(form)
        data = _ticket_data(form, unit)
        ticket = services.create_ticket(current_user, unit, data, attachments=uploads)
        db.session.commit()
        flash(_("Ticket #%(id)s was created.", id=ticket.id), "success")
        return redirect(url_for("tickets.show", ticket_id=ticket.id))
    return page(), 422 if request.method == "POST" else 200


def _default_tracker_id(project: Project) -> int:
    return project.root.homework_tracker_id or services.default_tracker().id


def _unit_choice(project: Project, unit_id: int) -> Project:
    unit = db.session.get(Project, unit_id)
    if unit is None or not permissions.can_add_ticket(current_user, unit):
        abort(403)
    return unit


# The unit, tracker and member choices of a fiscal year's ticket forms, until a project,
# membership, person or tracker changes (generations.py).
_YEAR_CHOICES = generations.Cache(size=64)


class YearChoices(NamedTuple):
    units: tuple
    trackers: tuple
    members: tuple  # (user id, name) of the year's active members, by name


def _year_choices(root: Project) -> YearChoices:
    return _YEAR_CHOICES.get_or_compute("directory", (root.id,), lambda: _read_choices(root))


def _read_choices(root: Project) -> YearChoices:
    units = _pairs(
        sa.select(Project.id, Project.name)
        .where(Project.parent_id == root.id, Project.is_archived.is_(False))
        .order_by(Project.position, Project.id)
    )
    members = _pairs(
        sa.select(User.id, User.name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == root.id, User.is_active_account.is_(True))
        .order_by(User.name)
    )
    return YearChoices(
        units=tuple(units or [(root.id, root.name)]),
        trackers=tuple(
            _pairs(sa.select(Tracker.id, Tracker.name).order_by(Tracker.position, Tracker.id))
        ),
        members=tuple(members),
    )


def _fill_choices(form: TicketForm, project: Project, ticket: Ticket | None) -> None:
    kept = _year_choices(project.root)
    form.project_id.choices = list(kept.units)
    form.tracker_id.choices = list(kept.trackers)
    form.priority_id.choices = _pairs(
        sa.select(Priority.id, Priority.name).order_by(Priority.position)
    )
    assignees = [(0, "—"), *kept.members]
    current = ticket.assignee if ticket is not None else None
    if current is not None and all(user_id != current.id for user_id, _name in kept.members):
        assignees.append((current.id, current.name))
    form.assignee_id.choices = assignees
    if ticket is None:
        form.status_id.choices = [(s.id, s.name) for s in _initial_statuses(project)]
    else:
        form.status_id.choices = [
            (s.id, s.name) for s in services.allowed_statuses(current_user, ticket)
        ]


def _pairs(statement) -> list[tuple]:
    """(id, name) choices as plain rows: reference lists read for every form shown."""
    return [(key, name) for key, name in db.session.execute(statement)]


def _initial_statuses(project: Project) -> list[Status]:
    """A new ticket starts in a tracker's default status or one the workflow allows next."""
    role = permissions.role_in(current_user, project)
    defaults = sa.select(Tracker.default_status_id)
    targets = sa.select(Transition.to_status_id).where(
        Transition.role == role, Transition.from_status_id.in_(defaults)
    )
    return list(
        db.session.scalars(
            sa.select(Status)
            .where(
                sa.or_(Status.id.in_(defaults), Status.id.in_(targets)),
                Status.is_closed.is_(False),
            )
            .order_by(Status.position)
        )
    )


def _ticket_data(form: TicketForm, unit: Project) -> dict:
    """The form's fields; the private flag only from those who may set it (others do not
    see the checkbox, so its absence says nothing)."""
    data = {
        "project_id": form.project_id.data,
        "tracker_id": form.tracker_id.data,
        "subject": form.subject.data,
        "description": form.description.data or "",
        "status_id": form.status_id.data,
        "priority_id": form.priority_id.data,
        "assignee_id": form.assignee_id.data or None,
        "start_date": form.start_date.data,
        "due_date": form.due_date.data,
        "parent_id": form.parent_id.data or None,
        "done_ratio": form.done_ratio.data or 0,
    }
    if permissions.can_set_ticket_private(current_user, unit):
        data["is_private"] = bool(form.is_private.data)
    return data


def _uploads(form) -> list:
    return [f for f in (form.attachments.data or []) if f and f.filename]


def _check_uploads(form) -> None:
    """Every file is checked before anything is written (AttachmentError, whose message
    goes under the file field)."""
    for upload in _uploads(form):
        files.check_upload(upload)


def _store_uploads(form) -> list[Attachment]:
    return [files.store_upload(current_user, upload) for upload in _uploads(form)]


# --- show and update -------------------------------------------------------------------------


@bp.route("/issues/<id:ticket_id>")
@ticket_view()
def show(ticket):
    form = None
    if permissions.can_edit_ticket(current_user, ticket):
        form = TicketEditForm(obj=ticket)
        _fill_choices(form, ticket.project, ticket)
        form.project_id.data = ticket.project_id
        form.assignee_id.data = ticket.assignee_id or 0
        form.parent_id.data = ticket.parent_id
        form.version.data = ticket.version
    return _render_show(ticket, form)


@bp.route("/issues/<id:ticket_id>", methods=["POST"])
@ticket_view("edit")
def update(ticket):
    ticket_id = ticket.id
    form = TicketEditForm()
    _fill_choices(form, ticket.project, ticket)
    form.status_id.validate_choice = False  # the workflow check below says why, clearly

    def page():
        return _render_show(load_ticket(ticket_id), form)

    def conflict(error):
        current = load_ticket(ticket_id)
        differences = _conflict(current, form)
        form.version.data = current.version  # saving again is now a deliberate overwrite
        return _render_show(current, form, conflict=differences)

    errors.form_page(form, page, stale=conflict)
    if not form.validate_on_submit():
        return _render_show(ticket, form), 422
    _check_uploads(form)
    if _needs_decision(ticket, form):
        form.decision.errors = [
            _("Record the decision: it is offered as a result at the next meeting.")
        ]
        return _render_show(ticket, form), 422
    changes = _ticket_data(form, ticket.project)
    if form.project_id.data != ticket.project_id:
        _unit_choice(ticket.project, form.project_id.data)
    if hooks.is_homework(ticket) or ticket.decision:
        changes["decision"] = (form.decision.data or "").strip() or None
    expected = parsing.to_int(form.version.data or 0)
    if expected is None:
        abort(400)
    journal = services.update_ticket(
        current_user,
        ticket,
        changes,
        notes=(form.notes.data or "").strip(),
        expected_version=expected,
        private_notes=form.private_notes.data,
        attachments=_store_uploads(form),
    )
    db.session.commit()
    if journal is not None:
        flash(_("Ticket #%(id)s was updated.", id=ticket.id), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket.id))


def _needs_decision(ticket: Ticket, form) -> bool:
    """Closing a ticket that backs homework asks for the decision."""
    if ticket.status.is_closed or not hooks.is_homework(ticket):
        return False
    target = db.session.get(Status, form.status_id.data)
    return target is not None and target.is_closed and not (form.decision.data or "").strip()


def _conflict(ticket: Ticket, form) -> list[tuple[str, str, str]]:
    """(field label, current value, the value the second writer sent) where they differ."""
    mine = _ticket_data(form, ticket.project)
    rows = []
    shown = {
        "subject": (ticket.subject, mine["subject"]),
        "status_id": (ticket.status.name, _name(Status, mine["status_id"])),
        "assigned_to_id": (ticket.who, _name(User, mine["assignee_id"])),
        "due_date": (_iso(ticket.due_date), _iso(mine["due_date"])),
        "priority_id": (ticket.priority.name, _name(Priority, mine["priority_id"])),
        "tracker_id": (ticket.tracker.name, _name(Tracker, mine["tracker_id"])),
        "done_ratio": (f"{ticket.done_ratio} %", f"{mine['done_ratio']} %"),
        "description": (ticket.description, mine["description"]),
    }
    for key, (current, sent) in shown.items():
        if (current or "") != (sent or ""):
            rows.append((str(history.LABELS[key]), current or "—", sent or "—"))
    if (form.notes.data or "").strip():
        rows.append((_("Notes"), "", form.notes.data.strip()))
    return rows


def _name(model, key) -> str:
    obj = db.session.get(model, key) if key else None
    return obj.name if obj is not None else ""


def _iso(day) -> str:
    return day.isoformat() if day else ""


# The edit form of the ticket page, kept rendered under every value it shows: the fields'
# values, choices and errors, and the macro's other arguments (KeptRows adds the language).
_EDIT_FIELDS = generations.KeptRows("tickets/_edit_fields.html", "edit_fields", size=200)


def _edit_fields(form, ticket: Ticket, homework: bool, closed_status_ids: list[int]) -> Markup:
    args = (
        tuple(closed_status_ids),
        permissions.can_set_ticket_private(current_user, ticket.project),
        homework or bool(ticket.decision),
        files.max_label(),
        files.max_bytes(),
    )
    if request.method != "GET":  # a form sent back shows what was typed (raw data), as is
        macro = get_template_attribute("tickets/_edit_fields.html", "edit_fields")
        return Markup(macro(form, *args))
    key = tuple(
        (f.name, _hashable(f.data), tuple(getattr(f, "choices", None) or ()), tuple(f.errors))
        for f in form
        if f.name not in ("csrf_token", "version")
    )
    return Markup(_EDIT_FIELDS.html(form, *args, key=key))


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def _render_show(ticket: Ticket, form, conflict=None):
    journals = [
        j
        for j in history.journals_of(ticket)
        if not j.private_notes or permissions.can_view_private_notes(current_user, j)
    ]
    children = [
        child
        for child in db.session.scalars(
            sa.select(Ticket)
            .where(Ticket.parent_id == ticket.id)
            .options(sa.orm.joinedload(Ticket.status), sa.orm.joinedload(Ticket.assignee))
            .order_by(Ticket.id)
        )
        if permissions.can_view_ticket(current_user, child)
    ]
    backed = hooks.minutes_links(ticket)
    homework = any(link.kind == "homework" for link in backed)
    closed_status_ids = list(
        db.session.scalars(
            sa.select(Status.id).where(Status.is_closed).order_by(Status.position, Status.id)
        )
    )
    parent = ticket.parent
    return render_template(
        "tickets/show.html",
        ticket=ticket,
        parent=parent
        if parent is not None and permissions.can_view_ticket(current_user, parent)
        else None,
        form=form,
        edit_fields=_edit_fields(form, ticket, homework, closed_status_ids) if form else None,
        conflict=conflict,
        edit_open=conflict is not None or bool(form and any(f.errors for f in form)),
        journals=journals,
        changes=history.describe(journals),
        children=children,
        children_done=sum(1 for c in children if c.status.is_closed),
        minutes_links=backed,
        attachments=files.attachments_of(ticket),
        related=links.relations_of(ticket, current_user),
        watchers=links.watchers_of(ticket),
        custom_values=links.custom_values_of(ticket),
        max_size=files.max_label(),
        max_bytes=files.max_bytes(),
        today=today(),
    )


# --- Markdown preview ------------------------------------------------------------------------


@bp.route("/issues/preview", methods=["POST"])
def preview():
    html = render_markdown(request.form.get("text", ""))
    return Markup(html) or Markup('<p class="empty">%s</p>') % _("Nothing to preview")


@bp.app_template_global("ticket_side_label")
def _side_label(side: str) -> str:
    return _("City") if side == "city" else _("Vendor")
