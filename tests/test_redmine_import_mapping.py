"""`flask redmine import --map FILE`: the mapping file, organisations from groups and mail
domains, and workflows (the Redmine 5 database of tests/fixtures/redmine_db.py)."""

from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from accounts.models import Organisation, User
from core.extensions import db
from projects.models import Membership, Project
from redmine.importing import mapfile
from redmine.importing.models import ImportMap
from tests.fixtures.redmine_db import counts_of, run_import
from tickets import reference
from tickets.models import Status, Ticket, Tracker, Transition

EXAMPLE = Path(__file__).parent.parent / "docs" / "redmine-map.example.toml"


@pytest.fixture
def with_map(app, redmine_db, tmp_path):
    """Import with a mapping file of the given text; the result."""

    def run(text: str, *options):
        path = tmp_path / "map.toml"
        path.write_text(text, encoding="utf-8")
        return run_import(app, redmine_db, "--map", str(path), *options)

    return run


def project(identifier: str) -> Project | None:
    return db.session.scalar(sa.select(Project).where(Project.identifier == identifier))


def organisation_of(login: str) -> tuple[str, str] | None:
    user = db.session.scalar(sa.select(User).where(User.login == login))
    return None if user.organisation is None else (user.organisation.name, user.organisation.kind)


def named(model, name: str):
    return db.session.scalar(sa.select(model).where(model.name == name))


def rows(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_the_example_mapping_file_is_valid_and_fits_the_test_redmine(app, redmine_db):
    rules = mapfile.load(str(EXAMPLE))
    assert rules.projects["kiban"] == mapfile.ProjectRule(key="r8-kiban", unit_of="r8")
    result = run_import(app, redmine_db, "--map", str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert project("r8-kiban").parent == project("r8")
    assert project("r8").owner.name == "〇〇市"
    assert organisation_of("suzuki") == ("株式会社サンプル情報システム", "vendor")
    assert db.session.get(Ticket, 101).status.name == "対応中"


def test_the_readme_shows_the_example_in_full(tmp_path):
    readme = (EXAMPLE.parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.partition("### The mapping file")[2]
    shown = tmp_path / "readme.toml"
    shown.write_text(section.split("```toml\n")[1].split("```")[0], encoding="utf-8")
    assert replace(mapfile.load(str(shown)), path="") == replace(
        mapfile.load(str(EXAMPLE)), path=""
    )


def test_a_project_takes_its_key_owner_and_fiscal_year_from_the_map(with_map):
    result = with_map(
        """
        [projects.r8]
        key = "city-r7"
        owner = "〇〇市"
        fiscal_year = 2025
        [projects.kiban]
        fiscal_year = 2027
        """
    )
    assert result.exit_code == 0, result.output
    assert project("r8") is None
    year = project("city-r7")
    assert (year.name, year.fiscal_year, year.owner.name) == ("令和8年度", 2025, "〇〇市")
    assert [unit.identifier for unit in year.units] == ["r8-jyuki", "r8-zei"]
    assert project("kiban").fiscal_year == 2027  # no year in its name, given by the map
    assert db.session.get(Ticket, 101).project == project("r8-jyuki")


def test_a_skipped_project_leaves_out_its_sub_projects_and_issues(with_map):
    result = with_map("[projects.r8-jyuki]\nskip = true\n")
    assert result.exit_code == 0, result.output
    assert project("r8-jyuki") is None and project("r8-zei") is not None
    assert counts_of(result.output)["projects"] == (5, 2, 0, 3)
    assert "projects: 2 skipped by the mapping file, or under a project it skips" in result.output
    assert "issues: 3 its project was not imported" in result.output  # 101, 102; 105 (kiban)
    assert db.session.get(Ticket, 101) is None


def test_unit_of_makes_a_project_a_unit_or_folds_it_into_one(with_map):
    result = with_map(
        """
        [projects.kiban]
        unit_of = "r8-jyuki"
        [projects.r8-zei]
        unit_of = "r8"
        key = "r8-tax"
        """
    )
    assert result.exit_code == 0, result.output
    assert project("kiban") is None
    assert db.session.get(Ticket, 105).project == project("r8-jyuki")  # folded into 住民記録
    assert project("r8-tax").parent == project("r8")


def test_a_status_matches_a_differently_named_one_and_takes_its_ball(with_map):
    rejected = named(Status, "却下")
    assert rejected.owner_side == "city"
    result = with_map(
        """
        [statuses."新規"]
        name = "起票"
        [statuses."進行中"]
        ball = "city"
        [statuses."却下"]
        ball = "vendor"
        [trackers."バグ"]
        name = "初動問題管理"
        """
    )
    assert result.exit_code == 0, result.output
    assert named(Status, "新規") is None
    assert named(Status, "進行中").owner_side == "city"  # created: open, yet the city's
    db.session.refresh(rejected)
    assert rejected.owner_side == "vendor"  # Sanmai's own, changed as the map says
    assert counts_of(result.output)["statuses"] == (4, 1, 1, 0)
    ticket = db.session.get(Ticket, 101)
    assert ticket.tracker.name == "初動問題管理" and named(Tracker, "バグ") is None
    first = ticket.journals[0].details[0]
    assert (first.name, first.old_value) == ("status_id", str(named(Status, "起票").id))


def test_the_ball_is_set_once_and_a_later_change_in_sanmai_stays(with_map):
    text = '[statuses."却下"]\nball = "vendor"\n'
    with_map(text)
    rejected = named(Status, "却下")
    reference.save_status(None, rejected, {"name": "却下", "owner_side": "city"})
    db.session.commit()
    result = with_map(text)
    assert counts_of(result.output)["statuses"] == (4, 0, 0, 0)
    assert named(Status, "却下").owner_side == "city"


@pytest.mark.parametrize(
    "text, says",
    [
        ("this is [not toml", "not valid TOML"),
        ('[projets.r8]\nkey = "x"', "top level projets: unknown key"),
        ('[projects.r8]\nkye = "x"', "[projects.r8] kye: unknown key (known: key, owner,"),
        ('[projects.r8]\nfiscal_year = "2026"', "[projects.r8] fiscal_year: must be a whole"),
        ("[projects.r8]\nfiscal_year = 1999", "fiscal_year: 1999 is out of range (2000–2100)"),
        ("[projects.r8]\nfiscal_year = 2026-04-01", 'must be a whole number, not "2026-04-01"'),
        ("[projects.r8]\nskip = 1", "[projects.r8] skip: must be true or false, not 1"),
        ('[projects.r8]\nkey = "R 8"', "[projects.r8] key: lower-case letters"),
        ("[projects.r9]\nskip = true", "[projects.r9]: Redmine has no project of this identifier"),
        ('[projects.r8]\nunit_of = "r8-jyuki"', "[projects.r8] unit_of: goes under 'r8-jyuki'"),
        ('[projects.kiban]\nunit_of = "r9"', "[projects.kiban] unit_of: Redmine has no project"),
        ("[projects.r8-jyuki]\nfiscal_year = 2026", "fiscal_year: only a top-level project"),
        (
            '[projects.r8-jyuki-madoguchi]\nkey = "madoguchi"',
            "key: it folds into the business unit 'r8-jyuki'",
        ),
        (
            '[projects.kiban]\nkey = "r8-zei"',
            "[projects.kiban] key: 'r8-zei' would also be the Sanmai key of 'r8-zei'",
        ),
        (
            '[projects.r8]\nowner = "ベンダー"\n[organisations.kinds]\n"ベンダー" = "vendor"',
            "[projects.r8] owner: ベンダー is a vendor",
        ),
        ('[statuses."完成"]\nball = "city"', '[statuses."完成"]: Redmine has no such status'),
        ('[statuses."新規"]\nball = "ours"', "ball: must be one of city, vendor, not 'ours'"),
        ('[trackers."不具合"]\nname = "バグ"', '[trackers."不具合"]: Redmine has no such tracker'),
        ('[organisations.groups]\n"外部" = "x"', '"外部": Redmine has no such group'),
        ('[organisations.groups]\n"全職員" = true', '"全職員": must be text, or false, not true'),
        ('[organisations.domains]\n"@city" = "x"', '"@city": not a mail domain'),
        ('[organisations.kinds]\n"x" = "company"', "[organisations.kinds] x: must be one of"),
        ('[organisations]\ndefault = ""', "[organisations] default: must be text"),
    ],
)
def test_a_bad_mapping_file_exits_2_naming_the_key_and_writes_nothing(with_map, text, says):
    statuses = rows(Status)
    result = with_map(text)
    assert result.exit_code == 2, result.output
    assert says in result.output, result.output
    assert "map.toml: " in result.output and len(result.output.strip().splitlines()) == 1
    for model in (User, Organisation, Project, Membership, Ticket, ImportMap):
        assert rows(model) == 0, model
    assert rows(Status) == statuses


def test_a_missing_mapping_file_exits_2(app, redmine_db, tmp_path):
    result = run_import(app, redmine_db, "--map", str(tmp_path / "none.toml"))
    assert result.exit_code == 2
    assert "none.toml: cannot be read: No such file or directory" in result.output


def test_a_mapping_file_not_in_utf8_exits_2(app, redmine_db, tmp_path):
    path = tmp_path / "sjis.toml"
    path.write_bytes('[projects.r8]\nowner = "〇〇市"\n'.encode("shift_jis"))
    result = run_import(app, redmine_db, "--map", str(path))
    assert result.exit_code == 2
    assert "sjis.toml: not UTF-8 text (TOML is UTF-8)" in result.output


def test_groups_and_mail_domains_become_organisations(with_map):
    result = with_map(
        """
        [organisations.domains]
        "example.jp" = "〇〇市"
        [organisations.kinds]
        "住民記録ベンダー" = "vendor"
        """
    )
    assert result.exit_code == 0, result.output
    assert organisation_of("suzuki") == ("住民記録ベンダー", "vendor")  # first of two groups
    assert organisation_of("tanaka") == ("全職員", "city")  # a group before a domain
    assert organisation_of("yamada") == ("〇〇市", "city")  # city.example.jp: a subdomain
    assert organisation_of("admin") == ("〇〇市", "city")
    assert counts_of(result.output)["organisations"] == (3, 3, 0, 0)


def test_a_group_set_to_false_is_no_organisation(with_map):
    result = with_map(
        """
        [organisations.groups]
        "全職員" = false
        "住民記録ベンダー" = "株式会社サンプル"
        [organisations.domains]
        "city.example.jp" = "〇〇市"
        """
    )
    assert result.exit_code == 0, result.output
    assert organisation_of("tanaka") == ("〇〇市", "city")
    assert organisation_of("suzuki") == ("株式会社サンプル", "city")
    assert named(Organisation, "全職員") is None


def test_without_a_map_the_rest_go_to_the_first_city_organisation(app, redmine_db, make_org):
    make_org("ベンダー株式会社", kind="vendor")
    own = make_org("〇〇市")
    make_org("△△市")
    result = run_import(app, redmine_db)
    assert result.exit_code == 0, result.output
    assert organisation_of("yamada") == ("〇〇市", "city")
    assert organisation_of("suzuki") == ("住民記録ベンダー", "city")  # a group: its own name
    assert project("r8").owner == own and project("r8-jyuki").owner == own


def test_workflows_come_per_tracker_and_role(app, redmine_db):
    result = run_import(app, redmine_db)
    assert result.exit_code == 0, result.output
    # 11 rows; a field rule is not read; one more role mapping to member adds nothing; a
    # viewer's, a new issue's, an author-only and a non-member's transition are skipped
    assert counts_of(result.output)["workflows"] == (10, 5, 0, 4)

    def workflow(tracker_name):
        status = {s.id: s.name for s in db.session.scalars(sa.select(Status))}
        return {
            (t.role, status[t.from_status_id], status[t.to_status_id])
            for t in db.session.scalars(
                sa.select(Transition).where(
                    Transition.tracker_id == named(Tracker, tracker_name).id
                )
            )
        }

    bug = named(Tracker, "バグ")  # created: Redmine's workflow instead of the default one
    assert workflow("バグ") == {
        ("member", "新規", "進行中"),
        ("member", "進行中", "完了"),
        ("manager", "進行中", "完了"),
    }
    assert bug.default_status_id == named(Status, "新規").id
    inquiry = workflow("問い合わせ管理")  # Sanmai's own: kept, Redmine's added
    assert {("member", "新規", "進行中"), ("member", "完了", "却下")} <= inquiry
    assert ("member", "起票", "受付") in inquiry
    assert ("member", "起票", "受付") in workflow("機能")  # created; Redmine has none for it


def test_workflows_a_second_run_changes_nothing(app, redmine_db):
    run_import(app, redmine_db)
    before = rows(Transition)
    bug = named(Tracker, "バグ")
    reference.set_workflow(None, bug, "manager", set())  # an administrator's change
    db.session.commit()
    result = run_import(app, redmine_db)
    assert result.exit_code == 0, result.output
    counts = counts_of(result.output)
    for kind in ("organisations", "statuses", "trackers", "workflows"):
        assert counts[kind][1:3] == (0, 0), kind
    assert rows(Transition) == before - 1
    assert reference.workflow(bug, "manager") == set()


def test_a_dry_run_with_a_map_counts_as_the_run_would_and_writes_nothing(with_map):
    text = EXAMPLE.read_text(encoding="utf-8")
    transitions = rows(Transition)
    dry = with_map(text, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert rows(Organisation) == 0 and rows(Transition) == transitions
    real = with_map(text)
    assert counts_of(dry.output) == counts_of(real.output)


def test_a_project_skipped_after_an_import_keeps_its_tickets_as_they_are(with_map, redmine_sql):
    with_map("")
    redmine_sql("UPDATE issues SET subject = '変更後', updated_on = '2026-05-01' WHERE id = 101")
    result = with_map("[projects.r8-jyuki]\nskip = true\n")
    assert result.exit_code == 0, result.output
    assert db.session.get(Ticket, 101).subject == "住民票の写しに旧姓が表示されない"
    assert project("r8-jyuki") is not None  # made by the first run; nothing is removed


def test_a_group_name_sanmai_cannot_hold_leaves_its_members_without_one(
    app, redmine_db, redmine_sql
):
    redmine_sql("UPDATE users SET lastname = ? WHERE id = 9", "課" * 101)
    result = run_import(app, redmine_db)
    assert result.exit_code == 1, result.output  # skipped for an error
    assert "organisations: 1 error: not valid in Sanmai" in result.output
    assert organisation_of("tanaka") is None
    assert organisation_of("suzuki") == ("住民記録ベンダー", "city")
