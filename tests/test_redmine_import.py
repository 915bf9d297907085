"""`flask redmine import --db`: a Redmine 5 database (tests/fixtures/redmine_db.py) brought in."""

import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from accounts.models import User
from core.extensions import db
from projects.models import Membership, Project
from redmine.importing import mapping
from redmine.importing import tickets as ticket_import
from redmine.importing.models import ImportMap
from tests.fixtures.redmine_db import PASSWORDS, by_login, counts_of, run_import
from tickets.models import Journal, Priority, Status, Ticket, Tracker

FIRST_RUN = {
    # kind: (read, created, updated, skipped)
    "users": (4, 4, 0, 0),
    "organisations": (2, 2, 0, 0),  # from the two groups
    "projects": (5, 3, 0, 2),
    "memberships": (4, 3, 0, 0),
    "trackers": (3, 2, 0, 0),
    "statuses": (4, 2, 0, 0),
    "workflows": (10, 5, 0, 4),
    "priorities": (3, 1, 0, 0),
    "issues": (6, 4, 0, 2),
    "custom_fields": (5, 5, 0, 0),
    "custom_values": (8, 8, 0, 0),
    "attachments": (5, 0, 0, 5),  # no --files
    "relations": (3, 2, 0, 1),
    "watchers": (4, 3, 0, 1),
    "journals": (6, 6, 0, 0),
    "details": (12, 10, 0, 2),
}


def project(identifier: str) -> Project:
    return db.session.scalar(sa.select(Project).where(Project.identifier == identifier))


def test_import_counts_each_kind(app, redmine_db):
    result = run_import(app, redmine_db)
    assert result.exit_code == 0, result.output
    assert counts_of(result.output) == FIRST_RUN
    assert "no fiscal year in its name" in result.output
    assert "private" not in result.output  # a private issue comes over as a private ticket


def test_users_come_with_name_mail_language_admin_and_lock(app, redmine_db):
    run_import(app, redmine_db)
    yamada, admin, tanaka = by_login("yamada"), by_login("admin"), by_login("tanaka")
    assert (yamada.name, yamada.email, yamada.language) == (
        "山田 太郎",
        "yamada@city.example.jp",  # the default address of two
        "ja",
    )
    assert not yamada.is_admin and yamada.is_active
    assert admin.is_admin and admin.language == "en"
    assert not tanaka.is_active  # locked in Redmine
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 4  # no group


def test_a_login_sanmai_has_is_linked_and_left_as_it_is(app, redmine_db, redmine_sql, make_user):
    sanmai_admin = make_user(login="admin", name="情報政策課 管理者", password="sanmai-pass")
    result = run_import(app, redmine_db)
    assert counts_of(result.output)["users"] == (4, 3, 0, 1)
    redmine_sql("UPDATE users SET firstname = '新しい', updated_on = '2026-05-01' WHERE id = 1")
    result = run_import(app, redmine_db)
    assert counts_of(result.output)["users"] == (4, 0, 0, 0)
    db.session.refresh(sanmai_admin)
    assert sanmai_admin.name == "情報政策課 管理者" and sanmai_admin.check_password("sanmai-pass")
    ticket = db.session.get(Ticket, 102)
    assert ticket.journals[0].user == sanmai_admin  # Redmine's admin wrote it


def test_projects_become_a_fiscal_year_with_units(app, redmine_db):
    run_import(app, redmine_db)
    year = project("r8")
    assert (year.name, year.fiscal_year, year.parent_id) == ("令和8年度", 2026, None)
    assert [unit.identifier for unit in year.units] == ["r8-jyuki", "r8-zei"]
    assert project("r8-jyuki-madoguchi") is None  # folded into 住民記録
    assert project("kiban") is None  # no fiscal year in its name


def test_memberships_take_the_strongest_role_per_fiscal_year(app, redmine_db):
    run_import(app, redmine_db)
    roles = {
        m.user.login: m.role
        for m in db.session.scalars(
            sa.select(Membership).where(Membership.project == project("r8"))
        )
    }
    # suzuki: 開発者 through the group in 住民記録, 報告者 in 税務
    assert roles == {"yamada": "manager", "suzuki": "member", "tanaka": "viewer"}


def test_reference_data_matched_by_name_or_created(app, redmine_db):
    sanmai_done = db.session.scalar(sa.select(Status.id).where(Status.name == "完了"))
    run_import(app, redmine_db)
    new_status = db.session.scalar(sa.select(Status).where(Status.name == "進行中"))
    assert not new_status.is_closed and new_status.owner_side == "vendor"
    assert db.session.scalar(sa.select(Tracker).where(Tracker.name == "バグ")) is not None
    assert db.session.scalar(sa.select(Priority).where(Priority.name == "急ぎ")) is not None
    assert db.session.scalar(
        sa.select(ImportMap.sanmai_id).where(ImportMap.kind == "status", ImportMap.redmine_id == 5)
    ) == sanmai_done  # fmt: skip
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Status)) == 12


def test_an_issue_keeps_its_id_and_every_field(app, redmine_db):
    run_import(app, redmine_db)
    ticket = db.session.get(Ticket, 101)
    assert ticket.subject == "住民票の写しに旧姓が表示されない"
    assert ticket.description == "窓口から報告。\r\n再現手順は添付のとおり。"
    assert ticket.project == project("r8-jyuki")
    assert (ticket.tracker.name, ticket.status.name, ticket.priority.name) == (
        "バグ",
        "進行中",
        "急ぎ",
    )
    assert (ticket.author.login, ticket.assignee.login) == ("yamada", "suzuki")
    assert (ticket.start_date, ticket.due_date, ticket.done_ratio) == (
        date(2026, 4, 1),
        date(2026, 4, 30),
        30,
    )
    assert ticket.created_at == datetime(2026, 4, 1, 0, 30)
    assert ticket.updated_at == datetime(2026, 4, 10, 5, 0, 0, 123456)
    assert ticket.closed_at is None and ticket.parent_id is None


def test_a_child_issue_keeps_its_parent_and_closed_time(app, redmine_db):
    run_import(app, redmine_db)
    child = db.session.get(Ticket, 102)
    assert child.parent_id == 101
    assert child.project == project("r8-jyuki")  # from the deeper project 住民記録 窓口
    assert child.status.name == "完了" and child.closed_at == datetime(2026, 4, 8, 3)
    assert child.priority.name == "通常"  # the project's own copy of 通常
    assert child.assignee is None  # assigned to a group in Redmine
    assert db.session.get(Ticket, 104) is None  # on the fiscal-year project itself


def test_a_private_issue_comes_as_a_private_ticket(app, redmine_db):
    run_import(app, redmine_db)
    ticket = db.session.get(Ticket, 103)
    assert ticket.subject == "税額計算の誤り（非公開）" and ticket.is_private
    assert (ticket.author.login, ticket.assignee.login) == ("yamada", "suzuki")
    assert db.session.scalars(sa.select(Ticket.id).where(Ticket.is_private)).all() == [103]


def test_journals_come_with_notes_private_notes_and_details(app, redmine_db):
    run_import(app, redmine_db)
    journals = db.session.get(Ticket, 101).journals
    assert [(j.user.login, j.notes, j.private_notes) for j in journals] == [
        ("suzuki", "調査します。", False),
        ("yamada", "内部メモ：課長に報告済み", True),
        ("suzuki", "", False),  # done ratio, a file and custom fields changed
        ("suzuki", "", False),  # a file and a relation added
    ]
    assert journals[0].created_at == datetime(2026, 4, 2, 1)
    status = {s.name: str(s.id) for s in db.session.scalars(sa.select(Status))}
    assert [(d.property, d.name, d.old_value, d.new_value) for d in journals[0].details] == [
        ("attr", "status_id", status["新規"], status["進行中"]),
        ("attr", "assigned_to_id", None, str(by_login("suzuki").id)),
    ]
    assert [
        (d.name, d.old_value, d.new_value) for d in journals[2].details if d.property == "attr"
    ] == [("done_ratio", "0", "30")]


def test_a_redmine_password_signs_in_once_then_is_sanmais(app, client, redmine_db):
    run_import(app, redmine_db)
    assert by_login("yamada").has_redmine_password
    wrong = client.post("/login", data={"login": "yamada", "password": "wrong"})
    assert wrong.status_code == 401
    response = client.post("/login", data={"login": "yamada", "password": PASSWORDS["yamada"]})
    assert response.status_code == 302
    db.session.expire_all()
    yamada = by_login("yamada")
    assert yamada.password_hash.startswith("scrypt:")
    assert yamada.check_password(PASSWORDS["yamada"])


def test_a_second_run_changes_nothing(app, redmine_db):
    run_import(app, redmine_db)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Journal))
    result = run_import(app, redmine_db)
    assert result.exit_code == 0, result.output
    for kind, (read, _created, _updated, skipped) in counts_of(result.output).items():
        assert counts_of(result.output)[kind] == (read, 0, 0, skipped), kind
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Journal)) == before


def test_a_later_run_brings_only_what_changed(app, redmine_db, redmine_sql):
    run_import(app, redmine_db)
    redmine_sql(
        "UPDATE issues SET subject = ?, status_id = 5, closed_on = ?, updated_on = ? "
        "WHERE id = 101",
        "住民票の写しに旧姓が表示されない（修正済み）",
        "2026-05-01 00:00:00",
        "2026-05-01 00:00:00",
    )
    redmine_sql(
        "INSERT INTO journals (id, journalized_id, journalized_type, user_id, notes, created_on,"
        " private_notes) VALUES (207, 101, 'Issue', 6, '修正版を適用しました。', ?, 0)",
        "2026-05-01 00:00:00",
    )
    result = run_import(app, redmine_db)
    counts = counts_of(result.output)
    assert counts["issues"][1:3] == (0, 1) and counts["journals"][1:3] == (1, 0)
    assert sum(created + updated for _r, created, updated, _s in counts.values()) == 2
    ticket = db.session.get(Ticket, 101)
    assert ticket.subject.endswith("（修正済み）") and ticket.closed_at == datetime(2026, 5, 1)
    assert ticket.journals[-1].notes == "修正版を適用しました。"


def test_a_run_that_stopped_resumes_where_it_was(app, redmine_db, monkeypatch):
    def stop(*args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ticket_import, "_link_parents", stop)
        assert run_import(app, redmine_db).exit_code != 0
    assert db.session.get(Ticket, 102).parent_id is None  # the issues' batch is in
    counts = counts_of(run_import(app, redmine_db).output)
    assert counts["issues"][1:3] == (0, 0) and counts["journals"][1] == 6
    assert db.session.get(Ticket, 102).parent_id == 101


def test_dry_run_counts_and_writes_nothing(app, redmine_db):
    def rows(model):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))

    reference = [rows(model) for model in (Tracker, Status, Priority)]
    result = run_import(app, redmine_db, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was written" in result.output
    assert counts_of(result.output) == FIRST_RUN
    for model in (User, Project, Membership, Ticket, Journal, ImportMap):
        assert rows(model) == 0, model
    assert [rows(model) for model in (Tracker, Status, Priority)] == reference


@pytest.mark.parametrize(
    "url, says",
    [
        ("sqlite:////nonexistent/redmine.sqlite3", "cannot reach the Redmine database"),
        ("postgresql+psycopg://redmine@127.0.0.1:1/redmine", "cannot reach the Redmine database"),
        ("not a url", "is not a database URL"),
    ],
)
def test_an_unreachable_source_exits_2_with_one_line(app, url, says):
    result = app.test_cli_runner().invoke(args=["redmine", "import", "--db", url])
    assert result.exit_code == 2
    assert says in result.output and len(result.output.strip().splitlines()) == 1


def test_a_database_that_is_not_redmines_exits_2(app, tmp_path):
    other = tmp_path / "other.sqlite3"
    engine = sa.create_engine(f"sqlite:///{other}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE projects (id integer primary key)"))
    engine.dispose()
    result = app.test_cli_runner().invoke(args=["redmine", "import", "--db", f"sqlite:///{other}"])
    assert result.exit_code == 2
    assert "is not a Redmine database: it has no issues, schema_migrations table" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    "name, year",
    [
        ("令和8年度", 2026),
        ("令和元年度 住民記録", 2019),
        ("平成30年度", 2018),
        ("R8", 2026),
        ("R8年度 業務", 2026),
        ("2026年度", 2026),
        ("２０２６年度", 2026),
        ("FY2026", 2026),
        ("FY26 projects", 2026),
        ("共通基盤", None),
        ("Release 8", None),
    ],
)
def test_fiscal_year_read_from_a_project_name(name, year):
    assert mapping.fiscal_year(name) == year


def test_redmine_roles_map_by_what_they_permit():
    assert mapping.sanmai_role({"manage_members", "add_issues"}) == "manager"
    assert mapping.sanmai_role({"delete_issues", "edit_issues"}) == "facilitator"
    assert mapping.sanmai_role({"add_issue_notes", "view_issues"}) == "member"
    assert mapping.sanmai_role({"view_issues"}) == "viewer"


@pytest.mark.parametrize(
    "newest, says",
    [
        ("20190620135549", "is a Redmine older than 4.2 (newest migration 20190620135549)"),
        ("20251105090000", "is a Redmine newer than 6.x (newest migration 20251105090000)"),
    ],
)
def test_a_redmine_version_outside_4_2_to_6_exits_2(app, redmine_db, redmine_sql, newest, says):
    redmine_sql(f"DELETE FROM schema_migrations WHERE version > '{newest}'")
    redmine_sql(f"INSERT OR IGNORE INTO schema_migrations VALUES ('{newest}')")
    result = run_import(app, redmine_db)
    assert result.exit_code == 2
    assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_a_redmine_4_2_database_is_read(app, redmine_db, redmine_sql):
    redmine_sql("DELETE FROM schema_migrations WHERE version > '20200826153401'")
    redmine_sql("INSERT INTO schema_migrations VALUES ('20200826153401')")
    assert run_import(app, redmine_db).exit_code == 0


@pytest.mark.parametrize(
    "args, says",
    [
        ([], "give either --db URL"),
        (["--db", "sqlite:///x", "--url", "http://127.0.0.1:1"], "give either --db URL"),
        (["--url", "http://127.0.0.1:1"], "--url needs --key KEY"),
        (["--db", "sqlite:///x", "--key", "k"], "--key goes with --url"),
        (["--url", "redmine.example.jp", "--key", "k"], "is not a web address"),
    ],
)
def test_the_source_is_one_of_db_or_url_and_key(app, args, says):
    result = app.test_cli_runner().invoke(args=["redmine", "import", *args])
    assert result.exit_code == 2
    assert says in result.output and len(result.output.strip().splitlines()) == 1


def test_a_log_gets_a_plain_progress_line_per_kind(app, redmine_db):
    output = run_import(app, redmine_db).output
    assert "\r" not in output  # no redrawn line outside a terminal
    lines = [line for line in output.splitlines() if " read: " in line]
    assert re.fullmatch(r"issues read: 6 \(\d+\.\d/s\)", next(s for s in lines if "issues" in s))
    assert {line.split(" read: ")[0] for line in lines} >= {"users", "issues", "journals"}
