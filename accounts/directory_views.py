"""The administrator's directory sources: list, add, edit, and the end-to-end check.

Endpoints are named admin_*, so `views.guard_admin` lets administrators only.
"""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from accounts import bp, directory
from accounts.forms import DirectoryCheckForm, DirectorySourceForm
from accounts.models import DirectorySource, Organisation
from accounts.views import _organisation_choices
from core import errors
from core.extensions import db

STEP_LABELS = {
    "connect": _l("Connect"),
    "StartTLS": _l("StartTLS"),
    "TLS": _l("TLS (LDAPS)"),
    "bind": _l("Bind as the service account"),
    "find": _l("Find the user"),
    "search": _l("Search"),
    "group": _l("Member of the group"),
    "password": _l("Password"),
}


@bp.route("/admin/directories")
def admin_directories():
    return render_template("accounts/admin_directories.html", sources=directory.sources())


@bp.route("/admin/directories/new", methods=["GET", "POST"])
@bp.route("/admin/directories/<id:source_id>/edit", methods=["GET", "POST"])
def admin_directory_edit(source_id: int | None = None):
    source = db.get_or_404(DirectorySource, source_id) if source_id else None
    form = DirectorySourceForm(obj=source)
    form.organisation_id.choices = _organisation_choices()
    if source is None and not form.is_submitted():
        form.encryption.data = "starttls"
    elif source is not None and not form.is_submitted():
        form.organisation_id.data = source.organisation_id or 0
    edited = source  # a refused new source shows the empty form again

    def page():
        return render_template("accounts/admin_directory_form.html", form=form, source=edited)

    errors.form_page(form, page)
    if form.validate_on_submit():
        data = dict(form.data)
        data["organisation"] = db.session.get(Organisation, data.pop("organisation_id") or 0)
        source = directory.save_source(source, data)
        db.session.commit()
        flash(_("The directory source %(name)s was saved.", name=source.name), "success")
        return redirect(url_for("accounts.admin_directory_check", source_id=source.id))
    return page()


@bp.route("/admin/directories/<id:source_id>/check", methods=["GET", "POST"])
def admin_directory_check(source_id: int):
    """Runs the same end-to-end check as `flask directory test`."""
    source = db.get_or_404(DirectorySource, source_id)
    form = DirectoryCheckForm()
    report = None
    if form.validate_on_submit():
        report = directory.check_source(source, form.login.data, form.password.data or None)
    return render_template(
        "accounts/admin_directory_check.html",
        source=source,
        form=form,
        report=report,
        labels=STEP_LABELS,
    )
