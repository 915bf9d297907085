"""`flask redmine import --db`: texts converted to Markdown, and ids beside Sanmai's own
tickets (tests/fixtures/redmine_db.py: issues 101, its child 102, the private 103 and 106 come
over; 104 is on the fiscal-year project, 105 on a skipped project)."""

import pytest
import sqlalchemy as sa

from core.extensions import db
from redmine.importing import tickets as ticket_import
from redmine.importing.models import ImportMap
from tests.fixtures.redmine_db import counts_of
from tests.fixtures.redmine_db import run_import as redmine_db_import
from tickets.models import JournalDetail, Ticket

DESCRIPTION = "h2. 現象\n\n*至急* 対応\n\n# 窓口で確認\n# 帳票を再発行"
NOTES = "@batch.sh@ を再実行。#102 を参照"


def run_import(app, redmine_db):
    result = redmine_db_import(app, redmine_db)
    assert result.exit_code == 0, result.output
    return result


def issue_ids() -> dict[int, int]:
    rows = db.session.execute(
        sa.select(ImportMap.redmine_id, ImportMap.sanmai_id).where(ImportMap.kind == "issue")
    )
    return dict(rows.all())


@pytest.fixture
def texts(redmine_sql):
    """Issue 101's description and journal 201's notes written in Textile."""
    redmine_sql("UPDATE issues SET description = ? WHERE id = 101", DESCRIPTION)
    redmine_sql("UPDATE journals SET notes = ? WHERE id = 201", NOTES)
    redmine_sql(
        "INSERT INTO journal_details (id, journal_id, property, prop_key, old_value, value) "
        "VALUES (317, 201, 'attr', 'description', '*旧* の説明', ?)",
        DESCRIPTION,
    )


@pytest.mark.parametrize("setting", ["textile", None])  # None: no row, Redmine before 5.1
def test_textile_description_and_notes_come_as_markdown(
    app, redmine_db, redmine_sql, texts, setting
):
    if setting is None:
        redmine_sql("DELETE FROM settings")
    run_import(app, redmine_db)
    ticket = db.session.get(Ticket, 101)
    assert ticket.description == "## 現象\n\n**至急** 対応\n\n1. 窓口で確認\n2. 帳票を再発行"
    assert ticket.journals[0].notes == "`batch.sh` を再実行。#102 を参照"  # ids kept
    change = next(d for d in ticket.journals[0].details if d.name == "description")
    assert (change.old_value, change.new_value) == ("**旧** の説明", ticket.description)


@pytest.mark.parametrize("setting", ["common_mark", "markdown"])
def test_markdown_texts_are_kept_as_they_are(app, redmine_db, redmine_sql, texts, setting):
    redmine_sql("UPDATE settings SET value = ? WHERE name = 'text_formatting'", setting)
    run_import(app, redmine_db)
    ticket = db.session.get(Ticket, 101)
    assert ticket.description == DESCRIPTION
    assert ticket.journals[0].notes == NOTES


@pytest.fixture
def references(redmine_sql):
    """Texts that name issues: 102 (imported), 105 (on a skipped project, not imported), 999
    (none)."""
    redmine_sql(
        "UPDATE issues SET description = ? WHERE id = 101",
        "子チケット #102、別プロジェクトの #105、存在しない #999。@#102@ と\n\n<pre>\n#102\n</pre>",
    )
    redmine_sql("UPDATE journals SET notes = ? WHERE id = 204", "親の #101 で対応（チケット#101）")
    redmine_sql(
        "INSERT INTO journal_details (id, journal_id, property, prop_key, old_value, value) "
        "VALUES (318, 204, 'attr', 'parent_id', NULL, '101')"
    )


def test_beside_sanmais_tickets_issues_get_new_ids_and_references_follow(
    app, redmine_db, references, make_unit, make_ticket
):
    own = make_ticket(make_unit(), subject="Sanmaiで起票したチケット", description="#1 の件")
    result = run_import(app, redmine_db)
    assert counts_of(result.output)["issues"] == (6, 4, 0, 2)
    assert issue_ids() == {101: own.id + 1, 102: own.id + 2, 103: own.id + 3, 106: own.id + 4}
    parent, child = db.session.get(Ticket, own.id + 1), db.session.get(Ticket, own.id + 2)
    assert parent.subject == "住民票の写しに旧姓が表示されない"
    assert parent.description == (
        f"子チケット #{child.id}、別プロジェクトの #105、存在しない #999。@#102@ と\n\n```\n#102\n```"
    )
    assert child.parent_id == parent.id
    journal = child.journals[0]
    assert journal.notes == f"親の #{parent.id} で対応（チケット#{parent.id}）"
    detail = db.session.scalar(
        sa.select(JournalDetail).where(
            JournalDetail.journal_id == journal.id, JournalDetail.name == "parent_id"
        )
    )
    assert (detail.old_value, detail.new_value) == (None, str(parent.id))
    db.session.refresh(own)
    assert own.description == "#1 の件"  # Sanmai's own ticket is left alone
    assert make_ticket(own.project).id == own.id + 5  # new tickets come after them


def test_a_second_run_beside_sanmais_tickets_changes_nothing(
    app, redmine_db, references, make_unit, make_ticket
):
    make_ticket(make_unit())
    run_import(app, redmine_db)
    before = {t.id: t.description for t in db.session.scalars(sa.select(Ticket))}
    result = run_import(app, redmine_db)
    assert all(c[1:3] == (0, 0) for c in counts_of(result.output).values()), result.output
    assert {t.id: t.description for t in db.session.scalars(sa.select(Ticket))} == before


def test_the_first_runs_choice_holds_and_a_taken_id_is_replaced(
    app, redmine_db, redmine_sql, make_ticket
):
    run_import(app, redmine_db)  # Sanmai had no tickets: ids are kept
    made = make_ticket(db.session.get(Ticket, 101).project, subject="Sanmaiで起票")
    assert made.id == 107  # after Redmine's 106, and Redmine's next issue's id
    # 104 moves from the fiscal-year project to a unit: it comes over now
    redmine_sql("UPDATE issues SET project_id = 12, updated_on = '2026-05-01' WHERE id = 104")
    redmine_sql(
        "INSERT INTO issues (id, tracker_id, project_id, subject, description, status_id,"
        " priority_id, author_id, created_on, updated_on, is_private) VALUES (107, 1, 11,"
        " '新しい課題', '関連 #104 と #107 と #101', 1, 2, 5, '2026-05-01', '2026-05-01', 0)"
    )
    result = run_import(app, redmine_db)
    assert counts_of(result.output)["issues"][1:3] == (2, 0)
    # 104 is free and keeps its id; 107 is taken and gets the next free one
    assert issue_ids() == {101: 101, 102: 102, 103: 103, 104: 104, 106: 106, 107: 108}
    assert db.session.get(Ticket, 108).description == "関連 #104 と #108 と #101"
    assert db.session.get(Ticket, 107).subject == "Sanmaiで起票"


def test_a_run_that_stopped_resumes_with_the_ids_it_planned(
    app, redmine_db, references, make_unit, make_ticket, monkeypatch
):
    own = make_ticket(make_unit())

    def stop(*args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ticket_import, "_ticket_values", stop)
        result = app.test_cli_runner().invoke(
            args=["redmine", "import", "--db", f"sqlite:///{redmine_db}"]
        )
        assert result.exit_code != 0
    planned = dict(
        db.session.execute(
            sa.select(ImportMap.redmine_id, ImportMap.sanmai_id).where(
                ImportMap.kind == "planned_issue"
            )
        ).all()
    )
    assert planned == {101: own.id + 1, 102: own.id + 2, 103: own.id + 3, 106: own.id + 4}
    run_import(app, redmine_db)
    assert issue_ids() == planned
    assert db.session.get(Ticket, own.id + 1).description.startswith(f"子チケット #{own.id + 2}、")
