"""The route decorator of the pages under /projects/<key>: load the project or unit through
the visibility filter and check what the current user may do there."""

from __future__ import annotations

import functools

from flask_login import current_user

import permissions
from core import errors

# What a route may ask of the current user; looked up when the request comes (permissions
# imports this package's models, so its functions do not exist yet when the routes are made).
CHECKS = {
    "manage": lambda user, project: permissions.can_manage_project(user, project),
    "add ticket": lambda user, project: permissions.can_add_ticket(user, project),
    "create meeting": lambda user, project: permissions.can_create_meeting(user, project),
}


def project_view(*checks: str, unit: bool = False):
    """Load the project of `key` (404 unless visible; with `unit`, 404 unless it is a
    business unit), require every check (CHECKS: 403 otherwise), and call the view with
    `project` in place of `key`."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(key, **view_args):
            project = permissions.load_project(current_user, key)
            if unit and not project.is_unit:
                raise errors.NotFound("business unit")
            for check in checks:
                if not CHECKS[check](current_user, project):
                    raise errors.Forbidden(check)
            return view(project, **view_args)

        return wrapper

    return decorate
