"""`flask redmine import`: bring a Redmine in from its database (`--db URL`, read only) or
from its REST API (`--url URL --key KEY`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from redmine.importing import files, mapfile, rest, rest_client, rest_links, run
from redmine.importing.source import SourceError, open_source

redmine_cli = AppGroup("redmine", help="Moving from Redmine.")


@redmine_cli.command("import")
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="Redmine's database as a SQLAlchemy URL, e.g. sqlite:////var/lib/redmine/db.sqlite3",
)
@click.option(
    "--url", "rest_url", metavar="URL", help="A running Redmine's address, for its REST API."
)
@click.option("--key", metavar="KEY", help="An administrator's API key (with --url).")
@click.option(
    "--files",
    "files_dir",
    metavar="DIR",
    help="Redmine's files/ directory, whose files the attachments' bytes are read from "
    "(with --db), e.g. /var/lib/redmine/files",
)
@click.option(
    "--map",
    "map_path",
    metavar="FILE",
    help="A mapping file (TOML) overriding the defaults: see README, Moving from Redmine.",
)
@click.option("--dry-run", is_flag=True, help="Read and count; write nothing.")
def import_command(
    db_url: str | None,
    rest_url: str | None,
    key: str | None,
    files_dir: str | None,
    map_path: str | None,
    dry_run: bool,
):
    """Import users, organisations, projects, memberships, statuses, trackers, workflows,
    priorities, issues, custom fields, attachments, relations, watchers and journals, from
    Redmine's database (--db) or its REST API (--url and --key). Safe to run again: what is
    unchanged in Redmine since is left alone."""
    if bool(db_url) == bool(rest_url):
        _fail("give either --db URL (Redmine's database) or --url URL --key KEY (its REST API)")
    if rest_url and not key:
        _fail("--url needs --key KEY: an administrator's API key (My account → API access key)")
    if db_url and key:
        _fail("--key goes with --url; a database (--db) needs no key")
    if rest_url and files_dir:
        _fail("--files goes with --db; through --url the files come from Redmine itself")
    try:
        rules = mapfile.load(map_path) if map_path else None
        directory = files.files_directory(files_dir) if files_dir is not None else None
        if db_url:
            source = open_source(db_url)
        else:
            source, directory = _staged(rest_url, key)
    except SourceError as error:
        _fail(str(error))
    try:
        progress = StepProgress(sys.stderr.isatty())
        counts = run.import_database(
            source, dry_run=dry_run, rules=rules, files=directory, progress=progress
        )
        progress.end()
    except mapfile.MapFileError as error:
        _fail(str(error))  # found before anything was written
    finally:
        source.close()
    if dry_run:
        click.echo("dry run: nothing was written")
    for line in run.counts_table(counts):
        click.echo(line)
    if failed := run.errors(counts):
        click.echo(
            f"redmine import: {failed} skipped for an error (marked above); mend them and run "
            "it again: what came over stays",
            err=True,
        )
        raise click.exceptions.Exit(1)


def _fail(message: str):
    click.echo(f"redmine import: {message}", err=True)
    raise click.exceptions.Exit(2)


def _staged(url: str, key: str):
    """Redmine's REST API read into the staging database beside the instance: the source
    reading it, and the directory of the attachments' bytes downloaded beside it."""
    client = rest_client.connect(url, key)
    try:
        path = rest.staging_path(Path(current_app.config["INSTANCE_DIR"]), client.url)
        progress = Progress("issues fetched", sys.stderr.isatty())
        source = rest.stage(client, path, progress)
        progress.end()
        return source, rest_links.files_directory(path)
    finally:
        client.close()


class Progress:
    """Counts and rate: one line redrawn on a terminal, a plain line every few seconds in a
    log."""

    def __init__(self, what: str, terminal: bool, every: float = 5.0):
        self.what, self.terminal, self.every = what, terminal, every
        self.started = self.shown = time.monotonic()
        self.done = self.total = 0
        self.shown_done = -1

    def __call__(self, done: int, total: int | None = None) -> None:
        self.done, self.total = done, total
        now = time.monotonic()
        if done == 0:
            self.started = now  # the rate of fetching, not of listing
        if self.terminal or now - self.shown >= self.every or done == 0:
            self.shown = now
            self._show(end="\r" if self.terminal else "\n")

    def _show(self, end: str) -> None:
        seconds = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / seconds
        self.shown_done = self.done
        of = f"/{self.total}" if self.total is not None else ""
        click.echo(f"{self.what}: {self.done}{of} ({rate:.1f}/s)", err=True, nl=False)
        click.echo(end, err=True, nl=False)

    def end(self) -> None:
        if self.terminal:
            click.echo(err=True)  # keep the last redrawn line
        elif self.shown_done != self.done:
            self._show(end="\n")


class StepProgress:
    """The import's progress kind by kind: rows read so far and the rate, one Progress per
    kind."""

    def __init__(self, terminal: bool):
        self.terminal = terminal
        self.kind: str | None = None
        self.progress: Progress | None = None

    def __call__(self, kind: str, read: int) -> None:
        if kind != self.kind:
            self.end()
            self.kind, self.progress = kind, Progress(f"{kind} read", self.terminal)
        if read:
            self.progress(read)

    def end(self) -> None:
        if self.progress is not None:
            self.progress.end()
