"""`flask --app app demo load`: a realistic council scenario, loaded once (idempotent)."""

import importlib

import click
from flask.cli import AppGroup

from core.extensions import db

# Each part loads its own slice and returns False when it was already there.
PARTS = ("demo.base", "demo.tickets", "demo.minutes", "demo.confirmations", "demo.reports")

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def load_command():
    """Load the demo data if it is not there yet."""
    from tickets.defaults import ensure_defaults

    ensure_defaults()
    for name in PARTS:
        loaded = importlib.import_module(name).load()
        db.session.commit()
        click.echo(f"{name}: {'loaded' if loaded else 'already there'}")


@demo_cli.command("logins")
def logins_command():
    """Print the demo logins."""
    from demo.base import PASSWORD, USERS

    click.echo(f"Demo logins (password for all: {PASSWORD}):")
    for login, name, _org, role, _lang in USERS:
        click.echo(f"  {login:<10} {name}  ({role})")
