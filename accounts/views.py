"""Login, logout, one's own account, and the administrator's users and organisations."""

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

import permissions
from accounts import bp, directory, public, services
from accounts.forms import LoginForm, OrganisationForm, PasswordForm, PreferencesForm, UserForm
from accounts.models import Organisation, User
from core import errors
from core.extensions import db, login_manager
from core.urls import safe_next

login_manager.login_view = "accounts.login"
login_manager.login_message = None


@login_manager.user_loader
def load_user(session_id: str):
    return services.user_for_session(session_id)


@login_manager.request_loader
def load_user_from_request(req):
    """JSON clients authenticate with their API token in the X-API-Key header (Redmine
    clients send X-Redmine-API-Key, e.g. to download an attachment's content_url)."""
    token = req.headers.get("X-API-Key") or req.headers.get("X-Redmine-API-Key")
    return services.user_by_api_token(token)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("projects.index")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.login.data, form.password.data, request.remote_addr)
        except services.TooManyAttempts as locked:
            db.session.commit()
            form.password.errors.append(
                _("Too many failed attempts. Try again in %(n)s seconds.", n=locked.wait_seconds)
            )
            return render_template("accounts/login.html", form=form), 429
        except directory.DirectoryUnavailable:
            # The reason is logged by accounts.directory; local accounts still sign in.
            message = _("Sign-in through the directory is unavailable now. Please try again later.")
            flash(message, "warning")
            return render_template("accounts/login.html", form=form), 503
        db.session.commit()
        if user is not None:
            login_user(user)
            session.pop("lang", None)
            return redirect(safe_next(request.args.get("next"), url_for("projects.index")))
        form.password.errors.append(_("Invalid login or password."))
        status = 401
    return render_template("accounts/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@public
def logout():
    if current_user.is_authenticated:
        services.end_sessions(current_user)
        db.session.commit()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/lang", methods=["POST"])
@public
def switch_language():
    language = request.form.get("lang")
    if language not in ("ja", "en"):
        abort(400)
    if current_user.is_authenticated:
        services.set_language(current_user, language)
        db.session.commit()
    else:
        session["lang"] = language
    return redirect(safe_next(request.form.get("next"), url_for("projects.index")))


@bp.route("/my/account", methods=["GET", "POST"])
def account():
    password_form = PasswordForm(prefix="pw")
    prefs_form = PreferencesForm(prefix="pref", language=current_user.language)

    def page():
        return render_template(
            "accounts/account.html", password_form=password_form, prefs_form=prefs_form
        )

    errors.form_page(password_form, page)
    if request.method == "POST" and "pw-new_password" in request.form:
        if password_form.validate_on_submit():
            services.change_password(
                current_user,
                password_form.current_password.data,
                password_form.new_password.data,
            )
            db.session.commit()
            login_user(current_user._get_current_object())  # this session goes on
            flash(_("Your password was changed."), "success")
            return redirect(url_for("accounts.account"))
    elif request.method == "POST" and prefs_form.validate_on_submit():
        services.set_language(current_user, prefs_form.language.data)
        db.session.commit()
        flash(_("Your preferences were saved."), "success")
        return redirect(url_for("accounts.account"))
    return page()


@bp.route("/my/api_key", methods=["POST"])
def show_api_key():
    token = services.api_token(current_user)
    db.session.commit()
    return render_template("accounts/api_key.html", token=token)


# --- administration -------------------------------------------------------------------------


@bp.before_request
def guard_admin():
    is_admin_page = (request.endpoint or "").startswith("accounts.admin_")
    if (
        is_admin_page
        and current_user.is_authenticated
        and not permissions.can_administer(current_user)
    ):
        abort(403)


def _organisation_choices():
    orgs = db.session.scalars(
        sa.select(Organisation).order_by(Organisation.kind, Organisation.name)
    )
    return [(0, "—")] + [(o.id, o.name) for o in orgs]


@bp.route("/admin/users")
def admin_users():
    users = db.session.scalars(
        sa.select(User).options(sa.orm.selectinload(User.organisation)).order_by(User.login)
    ).all()
    return render_template("accounts/admin_users.html", users=users)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@bp.route("/admin/users/<id:user_id>/edit", methods=["GET", "POST"])
def admin_user_edit(user_id: int | None = None):
    user = db.get_or_404(User, user_id) if user_id else None
    form = UserForm(obj=user)
    form.organisation_id.choices = _organisation_choices()
    form.directory_source_id.choices = [(0, _("Sanmai password"))] + [
        (source.id, source.name) for source in directory.sources()
    ]
    if request.method == "GET" and user is not None:
        form.organisation_id.data = user.organisation_id or 0
    if "directory_source_id" not in request.form:
        # A post without the field (a script, an older form) keeps the user's binding.
        form.directory_source_id.data = (user.directory_source_id if user else None) or 0
    edited = user  # `user` is the new one below; a refused save shows the form as it was

    def page():
        return render_template("accounts/admin_user_form.html", form=form, user=edited)

    errors.form_page(form, page)
    if form.validate_on_submit():
        if user is None and not form.password.data and not form.directory_source_id.data:
            form.password.errors.append(_("A new user needs a password."))
        else:
            data = form.data
            if user is None:
                org = db.session.get(Organisation, data["organisation_id"] or 0)
                user = services.create_user(
                    data["login"],
                    data["name"],
                    data["password"],
                    email=data["email"],
                    organisation=org,
                    language=data["language"],
                    is_admin=data["is_admin"],
                )
                services.update_user(
                    user,
                    {
                        "is_active_account": data["is_active_account"],
                        "directory_source_id": data["directory_source_id"],
                    },
                )
            else:
                services.update_user(user, data)
            db.session.commit()
            if user.id == current_user.id:  # a new password ended this very session
                login_user(user)
            flash(_("The user %(name)s was saved.", name=user.name), "success")
            return redirect(url_for("accounts.admin_users"))
    return page()


@bp.route("/admin/organisations")
def admin_organisations():
    organisations = db.session.scalars(
        sa.select(Organisation).order_by(Organisation.kind, Organisation.name)
    ).all()
    return render_template("accounts/admin_organisations.html", organisations=organisations)


@bp.route("/admin/organisations/new", methods=["GET", "POST"])
@bp.route("/admin/organisations/<id:organisation_id>/edit", methods=["GET", "POST"])
def admin_organisation_edit(organisation_id: int | None = None):
    organisation = db.get_or_404(Organisation, organisation_id) if organisation_id else None
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit():
        existing = services.organisation_by_name(form.name.data)
        if existing is not None and existing is not organisation:
            form.name.errors.append(_("This name is already taken."))
        else:
            services.save_organisation(organisation, form.data)
            db.session.commit()
            flash(_("The organisation was saved."), "success")
            return redirect(url_for("accounts.admin_organisations"))
    return render_template(
        "accounts/admin_organisation_form.html", form=form, organisation=organisation
    )
