"""Sanmai application factory: `flask --app app run`, `gunicorn app:app`."""

from __future__ import annotations

import importlib
import sqlite3
import time
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Flask,
    flash,
    g,
    has_request_context,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

import config
from core import errors, parsing, storage, textsearch, transactions
from core.extensions import babel, csrf, db, login_manager, migrate
from ops import requestlog

BLUEPRINTS = (
    "accounts:bp",
    "projects:bp",
    "attachments:bp",
    "minutes:bp",
    "minutes.api:bp",
    "tickets:bp",
    "exports:bp",
    "reports:bp",
    "redmine:bp",
    "ops.health:bp",
)
MODEL_MODULES = (
    "accounts.models",
    "projects.models",
    "attachments.models",
    "tickets.models",
    "minutes.models",
    "reports.models",
    "core.generations",
    "core.storage",
)
PROJECT_SECTIONS = (
    "minutes/_project_section.html",
    "tickets/_project_section.html",
    "reports/_project_section.html",
    "exports/_project_section.html",
)
# No inline script or style: every script is a file under static/js, data reaches it through
# data- attributes or <script type="application/json"> blocks (never executed), and no
# template uses a style attribute, so an injected <script>, onclick= or style= does nothing.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",  # blob: previews of files chosen for upload (attachments.js)
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# A write that met another's lock (503) is worth sending again this many seconds later.
BUSY_RETRY_SECONDS = 2
CLI_COMMANDS = (
    "accounts.cli:user_cli",
    "accounts.cli:directory_cli",
    "demo:demo_cli",
    "tickets.defaults:setup_command",
    "reports.cli:remind_command",
    "ops.backup:backup_command",
    "ops.backup:restore_command",
    "ops.files:files_cli",
    "redmine.importing.cli:redmine_cli",
)


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, instance_path=None)
    # Ids in URLs and JSON bodies are parsed in one place (parsing.py); set before any route.
    app.json = parsing.JSONProvider(app)
    app.url_map.converters["id"] = parsing.IdConverter
    app.config.from_mapping(config.from_environment())
    if overrides:
        app.config.update(overrides)
    check_production_config(app)
    if app.config["SANMAI_FILE_STORAGE"] not in storage.KINDS:
        raise RuntimeError("SANMAI_FILE_STORAGE must be local or database")
    proxies = app.config["SANMAI_TRUSTED_PROXIES"]
    if proxies:
        # Behind nginx: the client's address (login slow-down, logs) and scheme come from the
        # X-Forwarded-* headers the trusted proxies set, and from nowhere else.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.json.ensure_ascii = False  # readable Japanese in JSON
    app.config.setdefault("MAX_CONTENT_LENGTH", 64 * 1024 * 1024)
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)

    register_extensions(app)
    requestlog.init_app(app)  # first, so every later hook's log lines carry the request id
    app.before_request(parsing.refuse_json_outside_apis)
    register_blueprints(app)
    register_template_helpers(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_cli(app)
    return app


def check_production_config(app: Flask) -> None:
    if app.config["SANMAI_ENV"] == "production" and app.config["SECRET_KEY"] in (
        config.DEV_SECRET_KEY,
        "",
        None,
    ):
        raise RuntimeError(
            "SANMAI_ENV=production needs a SECRET_KEY of its own "
            '(for example: python3 -c "import secrets; print(secrets.token_hex(32))").'
        )


def register_extensions(app: Flask) -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        timezone_selector=lambda: "Asia/Tokyo",
        default_translation_directories=";".join(translation_directories()),
    )
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    with app.app_context():
        wait_ms = int(app.config["SANMAI_DB_LOCK_WAIT"] * 1000)
        if db.engine.dialect.name == "sqlite":
            db.engine.dialect.statement_compiler = textsearch.SQLiteCompiler
            sa.event.listen(
                db.engine, "connect", lambda conn, record: _sqlite_pragmas(conn, record, wait_ms)
            )
            sa.event.listen(db.engine, "checkin", _sqlite_optimize)
        elif db.engine.dialect.name == "postgresql":
            sa.event.listen(
                db.engine,
                "connect",
                lambda conn, record: _postgresql_settings(conn, record, wait_ms),
            )
            app.before_request(transactions.reads_in_autocommit)


def _translations():
    """The context's translations, looked up once per locale. Templates call gettext hundreds
    of times a page and Flask-Babel would find the translations anew each time; they are
    kept on Flask-Babel's own context object beside the locale they are for, so a
    force_locale block (e-mails in the recipient's language) still gets its own."""
    try:
        context = g._flask_babel
        locale, translations = context.sanmai_translations
        if locale is context.babel_locale:
            return translations
    except (AttributeError, RuntimeError):  # nothing kept yet, or no app context
        pass
    translations = get_translations()
    context = g.get("_flask_babel")
    if context is not None and getattr(context, "babel_locale", None) is not None:
        context.sanmai_translations = (context.babel_locale, translations)
    return translations


def _sqlite_pragmas(dbapi_connection, _record, wait_ms: int = 3000) -> None:
    textsearch.register_sqlite_functions(dbapi_connection)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # A write waits this long for another's write lock, then answers 503 (transactions.py).
    cursor.execute(f"PRAGMA busy_timeout={int(wait_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # 2 MB of pages per connection: the OS page cache holds the file once for every process,
    # while this cache is each connection's own (a larger one measured no faster).
    cursor.execute("PRAGMA cache_size=-2048")
    # Bounds the ANALYZE that PRAGMA optimize may run (below) to ~10,000 rows per index.
    cursor.execute("PRAGMA analysis_limit=10000")
    cursor.close()


def _postgresql_settings(dbapi_connection, _record, wait_ms: int = 3000) -> None:
    """No JIT compilation: the app's statements run in milliseconds, and a search whose
    estimated cost passes jit_above_cost (a common word over 100,000 tickets) spends longer
    compiling than it saves (explained on the bench data). Parallel workers only for the
    largest statements: starting them costs more than a small UNION saves (the meeting
    page's stamp of four index-only aggregates got a parallel plan by default), and on a
    web server the other requests are the parallelism. A statement waits at most `wait_ms`
    for a lock, then fails and the request answers 503 (transactions.py)."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET jit = off")
        cursor.execute("SET parallel_setup_cost = 10000")
        cursor.execute(f"SET lock_timeout = {int(wait_ms)}")
    dbapi_connection.commit()  # a session setting, not undone by the pool's rollbacks


# How often a pooled connection runs `PRAGMA optimize` as it is checked in (seconds).
OPTIMIZE_EVERY = 600


def _sqlite_optimize(dbapi_connection, record, clock=time.monotonic) -> None:
    """Without table statistics SQLite guesses its plans and, at city scale, walks the wrong
    index (the ticket list: 6× slower). `PRAGMA optimize` (SQLite's advice for long-lived
    connections) runs ANALYZE on the tables this connection has queried that were never
    analysed or have grown 25-fold since. A connection runs it at its first check-in, then
    at most every OPTIMIZE_EVERY seconds: an empty table never gets statistics, so it would
    be analysed again, under the write lock, after every request that read it."""
    if dbapi_connection is None:  # invalidated
        return
    now = clock()
    if now < record.info.get("optimize_after", 0):
        return
    try:
        dbapi_connection.execute("PRAGMA optimize")
    except sqlite3.Error:  # busy or read-only: the next check-in tries again
        return
    record.info["optimize_after"] = now + OPTIMIZE_EVERY


def translation_directories() -> list[str]:
    """One catalogue per package, merged by Flask-Babel; avoids one shared .po file."""
    root = Path(__file__).parent
    return [str(p) for p in [root / "translations", *sorted(root.glob("*/translations"))]]


def select_locale() -> str:
    languages = ("ja", "en")
    if not has_request_context():  # CLI commands, scheduled jobs: the default language
        return "ja"
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or "ja"


def register_blueprints(app: Flask) -> None:
    for spec in BLUEPRINTS:
        app.register_blueprint(_load(spec))


def _load(spec: str):
    module_name, attr = spec.split(":")
    return getattr(importlib.import_module(module_name), attr)


def register_template_helpers(app: Flask) -> None:
    import permissions
    from core import formatting
    from core.markup import render_markdown

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["date_ja"] = formatting.format_date
    app.jinja_env.filters["datetime_ja"] = formatting.format_datetime
    app.jinja_env.filters["time_ja"] = formatting.format_time
    app.jinja_env.globals["can"] = permissions
    app.jinja_env.globals["role_label"] = formatting.role_label
    # Sections a domain adds to a project or unit page (missing ones are skipped).
    app.jinja_env.globals["project_sections"] = PROJECT_SECTIONS
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.add_extension("jinja2.ext.do")


def wants_json() -> bool:
    return (
        request.path.startswith("/api/")
        or request.path.endswith((".json", ".xml"))
        or request.accept_mimetypes.best == "application/json"
    )


def register_errorhandlers(app: Flask) -> None:
    messages = {
        400: lambda: _("The request could not be understood."),
        403: lambda: _("You are not allowed to do this."),
        404: lambda: _("The page you are looking for does not exist, or is not yours to see."),
        405: lambda: _("This method is not allowed here."),
        409: lambda: _("Someone else changed this in the meantime."),
        413: lambda: _("The upload is too large."),
        415: lambda: _("This address takes form fields, not JSON."),
        422: lambda: _("Some of the values given cannot be used."),
        429: lambda: _("Too many attempts. Please wait a moment and try again."),
        500: lambda: _("Something went wrong on our side. Nothing you sent was lost."),
    }

    def render_error(error, code: int, message: str | None = None):
        if code == 500:
            db.session.rollback()
        # A description given by our code is kept; Werkzeug's English default is replaced.
        described = getattr(error, "description", None)
        if described == getattr(type(error), "description", None):
            described = None
        text = message or described or messages[code]()
        if wants_json():
            return jsonify(errors=[text]), code
        return render_template("error.html", code=code, message=text), code

    for code in messages:
        app.register_error_handler(code, lambda e, code=code: render_error(e, code))

    @app.errorhandler(errors.Forbidden)
    @app.errorhandler(errors.NotFound)
    def refused(error):
        # A service refused the actor or found nothing to act on: nothing is kept, and the
        # page does not show the error's text (it names the action, for logs and tests).
        db.session.rollback()
        return render_error(None, error.status)

    @app.errorhandler(errors.DomainError)
    def refused_input(error):
        # Invalid, StaleVersion: nothing is kept; the person sees the form again with the
        # message (errors.form_page), or goes back to the page the form came from with it
        # (errors.return_to), else gets a page saying it. Locked minutes always get the
        # page: going back to them would not help.
        db.session.rollback()
        respond = errors.answer_of_request()
        if respond is not None:
            return make_response(respond(error))
        page = errors.form_page_of_request()
        if page is not None and not isinstance(error, errors.Locked) and not wants_json():
            form, render, stale = page
            if stale is not None and isinstance(error, errors.StaleVersion):
                return make_response(stale(error), error.status)
            field = form._fields.get(error.field) if form and error.field else None
            if field is None or getattr(field.widget, "input_type", None) == "hidden":
                flash(str(error), "error")
            else:
                field.errors = [*field.errors, str(error)]
            return make_response(render(), error.status)
        back = errors.return_url()
        if back is None or wants_json() or isinstance(error, errors.Locked):
            return render_error(None, error.status, str(error))
        flash(str(error), "error")
        return redirect(back)

    @app.errorhandler(sa.exc.OperationalError)
    def database_busy(error):
        if not transactions.is_busy(error):
            raise error
        db.session.rollback()
        message = _(
            "Too many changes at once: yours was not saved, and nothing was lost. "
            "Please send it again in a moment."
        )
        response = make_response(*render_error(error, 503, message))
        response.headers["Retry-After"] = str(BUSY_RETRY_SECONDS)
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            error,
            400,
            _("The form was expired or forged (CSRF check failed). Reload the page and try again."),
        )


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")  # JSON, CSV, downloads too
        # Guest confirmation links and calendar feeds carry their secret in the URL.
        headers.setdefault("Referrer-Policy", "same-origin")
        if response.mimetype == "text/html":
            headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            headers.setdefault("X-Frame-Options", "DENY")  # browsers without frame-ancestors
        return response


def register_cli(app: Flask) -> None:
    for spec in CLI_COMMANDS:
        app.cli.add_command(_load(spec))


def load_before_fork(app: Flask) -> None:
    """Build once, in gunicorn's master before it forks the workers (gunicorn.conf.py), what
    each worker would otherwise build for itself on its first requests: the mappers'
    configuration, the compiled templates, the languages' locale data. The workers then share
    those pages."""
    from babel import Locale

    with app.app_context():
        sa.orm.configure_mappers()
        for name in app.jinja_env.list_templates(filter_func=lambda n: n.endswith(".html")):
            app.jinja_env.get_template(name)
        for code in app.config["LANGUAGES"]:
            Locale.parse(code).number_symbols  # noqa: B018 - loads the locale's data
        # A database connection made in the master would be shared by every forked worker.
        for engine in db.engines.values():
            engine.dispose()


def __getattr__(name: str):
    # `flask --app app` and `gunicorn app:app` look up `app`; build it only then, so
    # importing create_app (as the tests do) has no side effects.
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)
