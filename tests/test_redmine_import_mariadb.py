"""`flask redmine import --db` from a Redmine on MySQL/MariaDB: the fake Redmine database of
tests/fixtures/redmine_db.py copied into a real MariaDB server (Redmine's MySQL types:
booleans as TINYINT, times as DATETIME), read as the same Redmine."""

import sqlalchemy as sa

from core.extensions import db
from tests.fixtures.mariadb import copy_sqlite_to_mariadb
from tests.fixtures.redmine_db import PASSWORDS, by_login, counts_of, invoke_import, run_import
from tests.test_redmine_import import FIRST_RUN
from tickets.models import Journal, Ticket


def test_a_redmine_on_mariadb_comes_over_as_the_same_redmine(app, redmine_db, mariadb_url):
    url = copy_sqlite_to_mariadb(redmine_db, mariadb_url, "redmine_import_test")
    result = invoke_import(app, "--db", url)
    assert counts_of(result.output) == FIRST_RUN, result.output
    ticket = db.session.get(Ticket, 101)
    assert ticket.subject and not ticket.subject.isascii()  # Japanese, through utf8mb4
    assert by_login("yamada").check_password(PASSWORDS["yamada"])
    private = db.session.scalars(sa.select(Ticket).where(Ticket.is_private)).all()
    assert private  # a boolean read from TINYINT
    journals = db.session.scalar(sa.select(sa.func.count()).select_from(Journal))
    # The same Redmine read from its SQLite file: every row is already there, unchanged
    # (the times read from MariaDB equal those read from SQLite).
    again = run_import(app, redmine_db)
    assert again.exit_code == 0, again.output
    for kind, (read, created, updated, skipped) in counts_of(again.output).items():
        assert (created, updated) == (0, 0), (kind, read, skipped)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Journal)) == journals
