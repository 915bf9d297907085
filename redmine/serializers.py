"""Sanmai objects in the JSON shapes of Redmine 5.0 (see shared/redmine-reference/).

Key order follows Redmine's. Which empty values are left out and which are null follows it
too: an issue without assignee or parent has no `assigned_to` / `parent` key, while an
empty `description`, `due_date` or `closed_on` is null. Times are UTC, `2026-11-26T12:23:03Z`.

Names are shown in the caller's language (`name_en` when English and one is set). The
system (automatic parent close/re-open, tickets made from minutes) appears where Redmine
would show a user as `{"id": 0, "name": "System"}` (in the caller's language): no account
has id 0, so a client cannot mistake it for a person.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import request
from flask_babel import get_locale
from flask_babel import gettext as _

from attachments.models import Attachment
from projects.models import ROLES
from tickets.models import Priority, Project, Relation, Status, Ticket, Tracker

# Redmine's enabled_standard_fields that Sanmai tickets have.
STANDARD_FIELDS = [
    "assigned_to_id",
    "parent_issue_id",
    "start_date",
    "due_date",
    "done_ratio",
    "description",
]
# Redmine project status: 1 active, 5 closed (read-only). Archived years are "closed".
PROJECT_ACTIVE, PROJECT_CLOSED = 1, 5
# Sanmai has one module in Redmine's terms: its tickets.
ENABLED_MODULES = [{"id": 1, "name": "issue_tracking"}]
SYSTEM_USER_ID = 0


def stamp(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def label(obj) -> str:
    """A name in the caller's language."""
    english = getattr(obj, "name_en", None)
    locale = get_locale()
    if english and locale is not None and locale.language == "en":
        return english
    return obj.name


def ref(obj) -> dict:
    return {"id": obj.id, "name": label(obj)}


def user_ref(user) -> dict:
    if user is None:
        return {"id": SYSTEM_USER_ID, "name": _("System")}
    return {"id": user.id, "name": user.name}


def site_url(path: str) -> str:
    """An absolute URL of this site, as Redmine gives in Location and search results."""
    return request.url_root.rstrip("/") + path


def status(s: Status) -> dict:
    return {"id": s.id, "name": label(s), "is_closed": s.is_closed}


def issue(ticket: Ticket, *, created: bool = False, custom_fields: list | None = None) -> dict:
    """The issue as in lists and GET /issues/{id}.json; `created`: the POST answer, which
    (as Redmine's) has no spent time; `custom_fields`: custom_values(...) of the ticket, left
    out when empty (as Redmine does)."""
    out = {
        "id": ticket.id,
        "project": ref(ticket.project),
        "tracker": ref(ticket.tracker),
        "status": status(ticket.status),
        "priority": ref(ticket.priority),
        "author": user_ref(ticket.author),
    }
    if ticket.assignee is not None:
        out["assigned_to"] = user_ref(ticket.assignee)
    if ticket.parent_id is not None:
        out["parent"] = {"id": ticket.parent_id}
    out.update(
        {
            "subject": ticket.subject,
            "description": ticket.description or None,
            "start_date": day(ticket.start_date),
            "due_date": day(ticket.due_date),
            "done_ratio": ticket.done_ratio,
            "is_private": ticket.is_private,
            "estimated_hours": None,
            "total_estimated_hours": None,
        }
    )
    if not created:
        out["spent_hours"] = 0.0
        out["total_spent_hours"] = 0.0
    if custom_fields:
        out["custom_fields"] = custom_fields
    out.update(
        {
            "created_on": stamp(ticket.created_at),
            "updated_on": stamp(ticket.updated_at),
            "closed_on": stamp(ticket.closed_at),
        }
    )
    return out


def english_names() -> bool:
    """Whether names are shown in English (label()), asked once for a whole list."""
    locale = get_locale()
    return locale is not None and locale.language == "en"


def _named(id_: int, name: str, name_en: str | None, english: bool) -> dict:
    return {"id": id_, "name": name_en if english and name_en else name}


def issue_from_row(row, english: bool, custom_fields: list | None = None) -> dict:
    """issue() of a list, from a row of plain columns (redmine.issues._list_statement) rather
    than a ticket and its relations: the same keys, order and values."""
    out = {
        "id": row.id,
        "project": _named(row.project_id, row.project, row.project_en, english),
        "tracker": _named(row.tracker_id, row.tracker, row.tracker_en, english),
        "status": {
            "id": row.status_id,
            "name": row.status_en if english and row.status_en else row.status,
            "is_closed": row.is_closed,
        },
        "priority": _named(row.priority_id, row.priority, row.priority_en, english),
        "author": (
            {"id": row.author_id, "name": row.author} if row.author is not None else user_ref(None)
        ),
    }
    if row.assignee is not None:
        out["assigned_to"] = {"id": row.assignee_id, "name": row.assignee}
    if row.parent_id is not None:
        out["parent"] = {"id": row.parent_id}
    out["subject"] = row.subject
    out["description"] = row.description or None
    out["start_date"] = day(row.start_date)
    out["due_date"] = day(row.due_date)
    out["done_ratio"] = row.done_ratio
    out["is_private"] = row.is_private
    out["estimated_hours"] = None
    out["total_estimated_hours"] = None
    out["spent_hours"] = 0.0
    out["total_spent_hours"] = 0.0
    if custom_fields:
        out["custom_fields"] = custom_fields
    out["created_on"] = stamp(row.created_at)
    out["updated_on"] = stamp(row.updated_at)
    out["closed_on"] = stamp(row.closed_at)
    return out


def custom_values(rows) -> list[dict]:
    """Redmine's custom_fields of an issue from (field, value) rows in the fields' order: one
    entry per field, a field with several values answering them as a list."""
    fields: dict[int, dict] = {}
    for field, value in rows:
        entry = fields.get(field.id)
        if entry is None:
            entry = fields[field.id] = {"id": field.id, "name": field.name}
            if field.is_multiple:
                entry["multiple"] = True
                entry["value"] = []
        if field.is_multiple:
            if value not in (None, ""):
                entry["value"].append(value)
        else:
            entry["value"] = value
    return list(fields.values())


def relation(r: Relation) -> dict:
    return {
        "id": r.id,
        "issue_id": r.ticket_from_id,
        "issue_to_id": r.ticket_to_id,
        "relation_type": r.relation_type,
        "delay": r.delay,
    }


def child_from_row(row, english: bool, grandchildren: list[dict]) -> dict:
    """A child issue from a row of plain columns (redmine.issues._issue_with_descendants), with its own."""
    out = {
        "id": row.id,
        "tracker": _named(row.tracker_id, row.tracker, row.tracker_en, english),
        "subject": row.subject,
    }
    if grandchildren:
        out["children"] = grandchildren
    return out


def attachment(a: Attachment, content_url: str) -> dict:
    return {
        "id": a.id,
        "filename": a.filename,
        "filesize": a.filesize,
        "content_type": a.content_type,
        "description": a.description or "",
        "content_url": content_url,
        "author": user_ref(a.author),
        "created_on": stamp(a.created_at),
    }


def journal_from_row(row) -> dict:
    """A journal from a row of history.journal_rows, its details left for the caller to add."""
    return {
        "id": row.id,
        "user": {"id": row.user_id, "name": row.user_name}
        if row.user_name is not None
        else user_ref(None),
        "notes": row.notes,
        "created_on": stamp(row.created_at),
        "private_notes": row.private_notes,
        "details": [],
    }


def project(p: Project, *, detail: bool = False, includes: dict | None = None) -> dict:
    out = {
        "id": p.id,
        "name": label(p),
        "identifier": p.identifier,
        "description": p.description or None,
    }
    if detail:
        out["homepage"] = ""
    if p.parent is not None:
        out["parent"] = ref(p.parent)
    out.update(
        {
            "status": PROJECT_CLOSED if p.is_archived else PROJECT_ACTIVE,
            "is_public": False,  # nothing in Sanmai is visible without an account
            # Units are covered by the memberships of their fiscal year, as Redmine's
            # sub-projects that inherit members.
            "inherit_members": p.is_unit,
        }
    )
    out.update(includes or {})
    out["created_on"] = stamp(p.created_at)
    out["updated_on"] = stamp(p.updated_at)
    return out


def tracker(t: Tracker, default_status: Status | None) -> dict:
    return {
        "id": t.id,
        "name": label(t),
        "default_status": ref(default_status) if default_status is not None else None,
        "description": t.description or None,
        "enabled_standard_fields": list(STANDARD_FIELDS),
    }


def priority(p: Priority) -> dict:
    return {"id": p.id, "name": label(p), "is_default": p.is_default, "active": True}


def split_name(name: str) -> tuple[str, str]:
    """(firstname, lastname) of a name stored family name first ("田中 太郎")."""
    parts = name.replace("\u3000", " ").split(None, 1)
    if len(parts) == 2:
        return parts[1], parts[0]
    return "", name


def role(name: str) -> dict:
    from core.formatting import role_label

    return {"id": ROLES.index(name) + 1, "name": role_label(name)}


def current_user(user, *, memberships=None) -> dict:
    firstname, lastname = split_name(user.name)
    out = {
        "id": user.id,
        "login": user.login,
        "admin": user.is_admin,
        "firstname": firstname,
        "lastname": lastname,
        "mail": user.email or "",
        "created_on": stamp(user.created_at),
        # Sanmai does not record when an account was last changed.
        "updated_on": stamp(user.created_at),
        "last_login_on": stamp(user.last_login_at),
        "passwd_changed_on": None,
        "twofa_scheme": None,
        "api_key": user.api_token,
        "status": 1 if user.is_active_account else 3,
    }
    if memberships is not None:
        out["memberships"] = [
            {"id": m.id, "project": ref(m.project), "roles": [role(m.role)]} for m in memberships
        ]
    return out


def search_issue(ticket: Ticket) -> dict:
    closed = ticket.status.is_closed
    return {
        "id": ticket.id,
        "title": f"{label(ticket.tracker)} #{ticket.id} ({label(ticket.status)}): {ticket.subject}",
        "type": "issue-closed" if closed else "issue",
        "url": site_url(f"/issues/{ticket.id}"),
        "description": ticket.description or None,
        "datetime": stamp(ticket.created_at),
    }


def search_project(p: Project) -> dict:
    return {
        "id": p.id,
        "title": _("Project: %(name)s", name=label(p)),
        "type": "project",
        "url": site_url(f"/projects/{p.identifier}"),
        "description": p.description or None,
        "datetime": stamp(p.created_at),
    }
