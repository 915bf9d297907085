"""`flask --app app user ...`: scripting accounts as Redmine administrators are used to."""

import click
from flask.cli import AppGroup

from accounts import services
from extensions import db

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
