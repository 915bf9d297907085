"""`flask --app app user ...` and `flask --app app directory ...`: scripting accounts as Redmine
administrators are used to."""

import click
from flask.cli import AppGroup

from accounts import directory, services
from core.extensions import db

user_cli = AppGroup("user", help="Create users and print their API tokens.")


@user_cli.command("create")
@click.argument("login")
@click.option("--password", required=True, help="Initial password.")
@click.option("--admin", is_flag=True, help="Make the user an administrator.")
@click.option("--name", default=None, help="Display name (defaults to the login).")
@click.option("--email", default=None)
@click.option("--organisation", default=None, help="Name of an existing organisation.")
@click.option("--language", type=click.Choice(["ja", "en"]), default="ja")
def create_user(login, password, admin, name, email, organisation, language):
    org = None
    if organisation:
        org = services.organisation_by_name(organisation)
        if org is None:
            raise click.ClickException(f"no organisation named {organisation!r}")
    try:
        user = services.create_user(
            login,
            name or login,
            password,
            email=email,
            organisation=org,
            language=language,
            is_admin=admin,
        )
    except services.AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"created user {user.login} (id {user.id}){' [admin]' if admin else ''}")


@user_cli.command("token")
@click.argument("login")
def token(login):
    """Print LOGIN's API token, creating it if needed."""
    user = services.find_user(login)
    if user is None:
        raise click.ClickException(f"no user {login!r}")
    value = services.api_token(user)
    db.session.commit()
    click.echo(value)


directory_cli = AppGroup(
    "directory", help="Sign-in through LDAP / Active Directory: add, list and test sources."
)


@directory_cli.command("add")
@click.argument("name")
@click.option("--host", required=True, help="Directory server, e.g. dc01.city.example.")
@click.option("--port", type=int, default=None, help="Default: 389, or 636 with LDAPS.")
@click.option("--encryption", type=click.Choice(["none", "starttls", "ldaps"]), default="starttls")
@click.option("--ca-file", default=None, help="PEM file of the CA that signed the server.")
@click.option(
    "--no-check-certificate",
    is_flag=True,
    help="Accept any server certificate (tests only: anyone in between can read passwords).",
)
@click.option("--kind", type=click.Choice(["ad", "openldap"]), default="ad")
@click.option("--bind-dn", default=None, help="Service account that searches for users.")
@click.option("--bind-password", default=None)
@click.option("--base-dn", required=True, help="Where users are searched, e.g. DC=city,DC=example.")
@click.option("--filter", "user_filter", default=None, help="Extra LDAP filter for users.")
@click.option("--attr-login", default=None)
@click.option("--attr-firstname", default=None)
@click.option("--attr-lastname", default=None)
@click.option("--attr-mail", default=None)
@click.option("--attr-display-name", default=None)
@click.option("--organisation", default=None, help="Name of the organisation its users join.")
@click.option("--create-users", is_flag=True, help="Create users at their first sign-in.")
@click.option("--group-dn", default=None, help="Only members of this group may sign in.")
def add_source(name, no_check_certificate, organisation, **options):
    """Add the directory source NAME (defaults fit Active Directory; --kind openldap)."""
    data = {"name": name, **options, "check_certificate": not no_check_certificate}
    if organisation:
        data["organisation"] = services.organisation_by_name(organisation)
        if data["organisation"] is None:
            raise click.ClickException(f"no organisation named {organisation!r}")
    if data["bind_dn"] and not data["bind_password"]:
        raise click.ClickException("--bind-dn needs --bind-password")
    try:
        source = directory.save_source(None, data)
    except directory.SourceError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"added directory source {source.name} (id {source.id})")


@directory_cli.command("list")
def list_sources():
    """One line per source: name, kind, address, encryption, base DN, users."""
    for source in directory.sources():
        click.echo(
            f"{source.name}\t{source.kind}\t{source.host}:{source.port}\t{source.encryption}"
            f"\t{source.base_dn}\t{len(source.users)} users"
            f"{' (creates users)' if source.create_users else ''}"
        )


@directory_cli.command("test")
@click.argument("name")
@click.argument("login")
@click.option("--password", default=None, help="Also check LOGIN's password (a bind as LOGIN).")
def test_source(name, login, password):
    """Check source NAME end to end for LOGIN: connect, TLS, bind, find, group, attributes."""
    source = directory.source_by_name(name)
    if source is None:
        raise click.ClickException(f"no directory source {name!r}")
    report = directory.check_source(source, login, password)
    for step in report.steps:
        click.echo(f"{'ok' if step.ok else 'FAIL':4} {step.label}: {step.detail}")
    if report.person is not None:
        person = report.person
        for label, value in (
            ("login", person.login),
            ("name", person.name),
            ("last name", person.last_name),
            ("first name", person.first_name),
            ("mail", person.email),
        ):
            click.echo(f"     {label}: {value}")
    if not report.ok:
        raise SystemExit(1)
