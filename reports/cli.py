"""`flask --app app remind`: the daily reminder digests (run it from cron or a systemd timer)."""

import click
from flask.cli import with_appcontext

from core.mail import MailError
from reports.reminders import send_reminders


@click.command("remind")
@click.option(
    "--days",
    type=int,
    default=None,
    help="Due within this many days (default: SANMAI_REMIND_DAYS).",
)
@with_appcontext
def remind_command(days):
    """E-mail each assignee one digest of their due and overdue homework (once a day)."""
    try:
        outcome = send_reminders(days=days)
    except MailError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"reminders: {len(outcome.sent)} sent, {len(outcome.skipped)} already sent today, "
        f"{len(outcome.failed)} failed"
    )
    for login, reason in outcome.failed:
        click.echo(f"  failed {login}: {reason}", err=True)
    if outcome.failed:
        raise SystemExit(1)
