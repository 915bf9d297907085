"""`flask redmine import --db URL`: bring a Redmine in from its database (read only)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from redmine.importing import files, mapfile, run
from redmine.importing.source import SourceError, open_source

redmine_cli = AppGroup("redmine", help="Moving from Redmine.")


@redmine_cli.command("import")
@click.option(
    "--db",
    "url",
    required=True,
    metavar="URL",
    help="Redmine's database as a SQLAlchemy URL, e.g. sqlite:////var/lib/redmine/db.sqlite3",
)
@click.option(
    "--files",
    "files_dir",
    metavar="DIR",
    help="Redmine's files/ directory, whose files the attachments' bytes are read from, "
    "e.g. /var/lib/redmine/files",
)
@click.option(
    "--map",
    "map_path",
    metavar="FILE",
    help="A mapping file (TOML) overriding the defaults: see README, Moving from Redmine.",
)
@click.option("--dry-run", is_flag=True, help="Read and count; write nothing.")
def import_command(url: str, files_dir: str | None, map_path: str | None, dry_run: bool):
    """Import users, organisations, projects, memberships, statuses, trackers, workflows,
    priorities, issues, custom fields, attachments, relations, watchers and journals. Safe
    to run again: what is unchanged in Redmine since is left alone."""
    try:
        rules = mapfile.load(map_path) if map_path else None
        directory = files.files_directory(files_dir) if files_dir is not None else None
        source = open_source(url)
    except SourceError as error:
        _fail(error)
    try:
        counts = run.import_database(source, dry_run=dry_run, rules=rules, files=directory)
    except mapfile.MapFileError as error:
        _fail(error)  # found before anything was written
    finally:
        source.close()
    if dry_run:
        click.echo("dry run: nothing was written")
    for line in run.counts_table(counts):
        click.echo(line)


def _fail(error: Exception):
    click.echo(f"redmine import: {error}", err=True)
    raise click.exceptions.Exit(2) from None
