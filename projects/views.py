"""Fiscal-year projects, their business units and members."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

import permissions
from accounts.models import Organisation, User
from core import errors
from core.extensions import db
from projects import bp, services
from projects.forms import MemberForm, ProjectForm, UnitForm
from projects.loading import project_view
from projects.models import Membership, Project


@bp.route("/")
def home():
    return redirect(url_for("projects.index"))


@bp.route("/projects")
def index():
    projects = db.session.scalars(
        sa.select(Project)
        .where(Project.parent_id.is_(None), permissions.visible(current_user, Project.id))
        .options(sa.orm.selectinload(Project.units), sa.orm.selectinload(Project.owner))
        .order_by(Project.fiscal_year.desc(), Project.name)
    ).all()
    return render_template("projects/index.html", projects=projects)


def _owner_choices():
    orgs = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind.in_(("city", "council")))
        .order_by(Organisation.kind, Organisation.name)
    )
    return [(0, "—")] + [(o.id, o.name) for o in orgs]


@bp.route("/projects/new", methods=["GET", "POST"])
def new():
    if not permissions.can_administer(current_user):
        abort(403)
    form = ProjectForm()
    form.owner_organisation_id.choices = _owner_choices()

    def page():
        return render_template("projects/form.html", form=form, project=None)

    errors.form_page(form, page)
    if form.validate_on_submit():
        project = services.create_project(
            form.name.data,
            form.identifier.data,
            form.fiscal_year.data,
            db.session.get(Organisation, form.owner_organisation_id.data or 0),
            name_en=form.name_en.data or None,
            description=form.description.data or "",
        )
        db.session.commit()
        flash(_("The project was created."), "success")
        return redirect(url_for("projects.settings", key=project.identifier))
    return page()


@bp.route("/projects/<key>")
@project_view()
def show(project):
    members = []
    if not project.is_unit:
        members = db.session.scalars(
            sa.select(Membership)
            .where(Membership.project_id == project.id)
            .join(User, User.id == Membership.user_id)
            .options(sa.orm.joinedload(Membership.user).joinedload(User.organisation))
            .order_by(Membership.role, User.name)
        ).all()
    return render_template("projects/show.html", project=project, members=members)


@bp.route("/projects/<key>/settings", methods=["GET", "POST"])
@project_view("manage")
def settings(project):
    if project.is_unit:
        return redirect(url_for("projects.settings", key=project.parent.identifier))
    form = ProjectForm(obj=project)
    form.owner_organisation_id.choices = _owner_choices()
    if request.method == "GET":
        form.owner_organisation_id.data = project.owner_organisation_id or 0
    unit_form, member_form = UnitForm(prefix="unit"), _member_form(project)
    errors.form_page(form, lambda: _render_settings(project, form, unit_form, member_form))
    if form.validate_on_submit():
        services.update_project(project, form.data)
        db.session.commit()
        flash(_("The project was saved."), "success")
        return redirect(url_for("projects.settings", key=project.identifier))
    return _render_settings(project, form, unit_form, member_form)


def _member_form(project, **kwargs):
    form = MemberForm(prefix="member", **kwargs)
    users = db.session.scalars(
        sa.select(User).where(User.is_active_account.is_(True)).order_by(User.name)
    )
    form.user_id.choices = [(u.id, f"{u.name} ({u.login})") for u in users]
    return form


def _render_settings(project, form, unit_form, member_form):
    memberships = db.session.scalars(
        sa.select(Membership)
        .where(Membership.project_id == project.id)
        .options(sa.orm.joinedload(Membership.user))
    ).all()
    return render_template(
        "projects/settings.html",
        project=project,
        form=form,
        unit_form=unit_form,
        member_form=member_form,
        memberships=memberships,
    )


@bp.route("/projects/<key>/units", methods=["POST"])
@project_view("manage")
def add_unit(project):
    unit_form = UnitForm(prefix="unit")
    form = ProjectForm(obj=project, formdata=None)
    form.owner_organisation_id.choices = _owner_choices()
    member_form = _member_form(project, formdata=None)
    errors.form_page(unit_form, lambda: _render_settings(project, form, unit_form, member_form))
    if unit_form.validate_on_submit():
        services.create_unit(
            project,
            unit_form.name.data,
            unit_form.identifier.data,
            name_en=unit_form.name_en.data or None,
        )
        db.session.commit()
        flash(_("The business unit was added."), "success")
        return redirect(url_for("projects.settings", key=project.identifier))
    return _render_settings(project, form, unit_form, member_form), 422


@bp.route("/projects/<key>/members", methods=["POST"])
@project_view("manage")
def set_member(project):
    member_form = _member_form(project)
    if member_form.validate_on_submit():
        user = db.get_or_404(User, member_form.user_id.data)
        services.set_membership(project, user, member_form.role.data)
        db.session.commit()
        flash(_("%(name)s is now a member.", name=user.name), "success")
        return redirect(url_for("projects.settings", key=project.identifier))
    form = ProjectForm(obj=project, formdata=None)
    form.owner_organisation_id.choices = _owner_choices()
    return _render_settings(project, form, UnitForm(prefix="unit", formdata=None), member_form), 422


@bp.route("/projects/<key>/members/<id:membership_id>/delete", methods=["POST"])
@project_view("manage")
def remove_member(project, membership_id):
    membership = db.session.get(Membership, membership_id)
    if membership is None or membership.project_id != project.id:
        abort(404)
    services.remove_membership(membership)
    db.session.commit()
    flash(_("The membership was removed."), "success")
    return redirect(url_for("projects.settings", key=project.identifier))
