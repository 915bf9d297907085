"""`flask redmine import --db --files`: attachments, relations, watchers and custom fields of
the Redmine 5 database in tests/fixtures/redmine_db.py, and how Sanmai shows them."""

import hashlib

import pytest
import sqlalchemy as sa

from accounts.models import User
from attachments.models import Attachment
from core.extensions import db
from core.storage import StoredFile
from redmine.importing.models import ImportMap
from tests.fixtures.redmine_db import LOG, SCREENSHOT, by_login, counts_of, run_import
from tickets import services
from tickets.models import CustomField, CustomValue, Journal, Relation, Ticket, Watcher

NEW_KINDS = ("custom_fields", "custom_values", "attachments", "relations", "watchers")


def attachments_of(ticket_id: int) -> dict[str, Attachment]:
    rows = db.session.scalars(
        sa.select(Attachment).where(
            Attachment.container_type == "ticket", Attachment.container_id == ticket_id
        )
    )
    return {a.filename: a for a in rows}


def rows(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def imported(app, redmine_db, redmine_files):
    """Imported with --files; one file is missing (an error: the exit code says so)."""
    result = run_import(app, redmine_db, "--files", str(redmine_files))
    assert result.exit_code == 1, result.output
    return result


@pytest.fixture
def yamada_page(client, login, imported):
    """Ticket 101's page as 山田 (a manager of 令和8年度, reading in Japanese)."""
    login(by_login("yamada"))
    response = client.get("/issues/101")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- attachments -----------------------------------------------------------------------------


def test_files_come_over_with_their_bytes_name_author_and_time(client, login, imported):
    counts = counts_of(imported.output)
    assert counts["attachments"] == (5, 4, 0, 1)
    files = attachments_of(101)
    assert sorted(files) == ["log.txt", "screenshot.png"]
    screenshot = files["screenshot.png"]
    assert (screenshot.description, screenshot.author.login) == ("再現した画面", "suzuki")
    assert screenshot.content_type == "image/png" and screenshot.filesize == len(SCREENSHOT)
    assert screenshot.created_at.isoformat() == "2026-04-10T05:00:00"
    login(by_login("yamada"))
    for attachment, data in ((screenshot, SCREENSHOT), (files["log.txt"], LOG)):
        response = client.get(f"/attachments/download/{attachment.id}/{attachment.filename}")
        assert response.status_code == 200 and response.data == data
    # log.txt: a file of an old Redmine, at the top of files/, with an MD5 digest
    assert files["log.txt"].digest == hashlib.sha256(LOG).hexdigest()


def test_the_same_bytes_are_stored_once(app, monkeypatch, redmine_db, redmine_files):
    monkeypatch.setitem(app.config, "SANMAI_FILE_STORAGE", "database")
    assert run_import(app, redmine_db, "--files", str(redmine_files)).exit_code == 1
    screenshot = attachments_of(101)["screenshot.png"]
    same = attachments_of(102)["旧姓併記の画面.png"]
    assert screenshot.id != same.id and screenshot.digest == same.digest
    assert rows(Attachment) == 4
    assert set(db.session.scalars(sa.select(StoredFile.digest))) == {
        hashlib.sha256(SCREENSHOT).hexdigest(),
        hashlib.sha256(LOG).hexdigest(),
    }


def test_a_missing_file_is_skipped_with_its_reason(imported):
    assert "attachments: 1 error: its file is missing from the files directory" in imported.output
    assert "redmine import: 1 skipped for an error" in imported.output
    assert "手順書.xlsx" not in attachments_of(101)


def test_without_files_attachments_are_skipped_and_the_rest_comes(app, client, login, redmine_db):
    result = run_import(app, redmine_db)
    assert result.exit_code == 0, result.output
    assert counts_of(result.output)["attachments"] == (5, 0, 0, 5)
    assert "attachments: 5 no --files directory given" in result.output
    assert rows(Attachment) == 0 and db.session.get(Ticket, 101) is not None
    login(by_login("yamada"))
    history = client.get("/issues/101").get_data(as_text=True).split('id="history"')[1]
    assert "screenshot.png" in history and "/attachments/download/" not in history


def test_a_missing_files_directory_exits_2_and_writes_nothing(app, redmine_db, tmp_path):
    result = run_import(app, redmine_db, "--files", str(tmp_path / "redmine" / "files"))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "files directory" in lines[0] and "does not exist" in lines[0]
    for model in (User, Ticket, Attachment, ImportMap):
        assert rows(model) == 0, model


def test_files_given_on_a_later_run_come_and_their_history_links_them(
    app, client, login, redmine_db, redmine_files
):
    run_import(app, redmine_db)
    result = run_import(app, redmine_db, "--files", str(redmine_files))
    counts = counts_of(result.output)
    assert counts["attachments"] == (5, 4, 0, 1) and counts["journals"][1:3] == (0, 0)
    screenshot = attachments_of(101)["screenshot.png"]
    login(by_login("yamada"))
    history = client.get("/issues/101").get_data(as_text=True).split('id="history"')[1]
    assert f'href="/attachments/download/{screenshot.id}/screenshot.png"' in history


# --- on the ticket page ----------------------------------------------------------------------


def test_related_tickets_show_the_type_from_each_side(client, yamada_page):
    assert "関連するチケット" in yamada_page
    assert "ブロック先" in yamada_page and 'href="/issues/102"' in yamada_page
    assert "次のチケットに先行" in yamada_page and "(2日)" in yamada_page
    assert 'href="/issues/106"' in yamada_page
    page_106 = client.get("/issues/106").get_data(as_text=True)
    assert "次のチケットに後続" in page_106 and 'href="/issues/101"' in page_106
    assert "ブロック元" in client.get("/issues/102").get_data(as_text=True)


def test_a_related_ticket_the_reader_may_not_see_is_not_linked(client, login, imported, make_unit):
    elsewhere = make_unit()  # another fiscal year, of which 山田 is not a member
    db.session.execute(sa.update(Ticket).where(Ticket.id == 106).values(project_id=elsewhere.id))
    db.session.commit()
    login(by_login("yamada"))
    page = client.get("/issues/101").get_data(as_text=True)
    assert "#106" in page and 'href="/issues/106"' not in page
    assert "税額通知書の文言を直す" not in page


def test_watchers_are_listed(client, yamada_page):
    assert "ウォッチャー" in yamada_page
    watchers = yamada_page.split('id="watchers"')[1].split("</section>")[0]
    assert "山田 太郎" in watchers and "鈴木 花子" in watchers
    assert "住民記録ベンダー" not in watchers  # a group: not imported
    assert 'id="watchers"' not in client.get("/issues/102").get_data(as_text=True)  # none


def test_custom_values_are_shown_in_the_fields_order(yamada_page):
    shown = [
        part.split("</dd>")[0].split(">")[-1]
        for part in yamada_page.split('class="custom-field">')[1:]
    ]
    names = [part.split("</dt>")[0] for part in yamada_page.split('class="custom-field">')[1:]]
    assert names == ["影響範囲", "担当課", "確認者", "緊急対応", "分類"]
    assert shown == ["窓口, 証明書", "市民課", "山田 太郎", "はい", "障害"]


def test_history_shows_files_relations_and_custom_field_changes(yamada_page):
    history = yamada_page.split('id="history"')[1]
    screenshot = attachments_of(101)["screenshot.png"]
    assert f'href="/attachments/download/{screenshot.id}/screenshot.png"' in history
    assert "<strong>担当課</strong>: 住民課 → <em>市民課</em>" in history
    assert "<strong>緊急対応</strong>: いいえ → <em>はい</em>" in history
    assert "<strong>ブロック先</strong> #102 を追加" in history


def test_a_relation_on_the_other_side_is_in_its_history(client, login, imported):
    login(by_login("yamada"))
    history = client.get("/issues/102").get_data(as_text=True).split('id="history"')[1]
    assert "<strong>ブロック元</strong> #101 を追加" in history


# --- the Redmine API -------------------------------------------------------------------------


def test_the_api_answers_relations_watchers_and_custom_fields(client, imported, token_of):
    yamada, suzuki = by_login("yamada"), by_login("suzuki")
    response = client.get(
        "/issues/101.json?include=relations,watchers",
        headers={"X-Redmine-API-Key": token_of(yamada)},
    )
    issue = response.json["issue"]
    relations = [{k: v for k, v in r.items() if k != "id"} for r in issue["relations"]]
    assert relations == [
        {"issue_id": 101, "issue_to_id": 102, "relation_type": "blocks", "delay": None},
        {"issue_id": 101, "issue_to_id": 106, "relation_type": "precedes", "delay": 2},
    ]
    assert issue["watchers"] == [
        {"id": yamada.id, "name": "山田 太郎"},
        {"id": suzuki.id, "name": "鈴木 花子"},
    ]
    fields = {f["name"]: f for f in issue["custom_fields"]}
    assert list(fields) == ["影響範囲", "担当課", "確認者", "緊急対応", "分類"]
    assert fields["影響範囲"]["multiple"] is True
    assert fields["影響範囲"]["value"] == ["窓口", "証明書"]
    assert fields["確認者"]["value"] == str(yamada.id) and fields["分類"]["value"] == "障害"
    assert list(issue).index("custom_fields") < list(issue).index("created_on")


def test_the_api_leaves_out_relations_to_issues_the_caller_cannot_see(
    client, imported, token_of, make_unit
):
    elsewhere = make_unit()
    db.session.execute(sa.update(Ticket).where(Ticket.id == 102).values(project_id=elsewhere.id))
    db.session.commit()
    response = client.get(
        "/issues/101.json?include=relations",
        headers={"X-Redmine-API-Key": token_of(by_login("yamada"))},
    )
    assert [r["issue_to_id"] for r in response.json["issue"]["relations"]] == [106]


def test_a_project_lists_the_custom_fields(client, imported, token_of):
    response = client.get(
        "/projects/r8.json?include=issue_custom_fields",
        headers={"X-Redmine-API-Key": token_of(by_login("yamada"))},
    )
    names = [f["name"] for f in response.json["project"]["issue_custom_fields"]]
    assert names == ["影響範囲", "担当課", "確認者", "緊急対応", "分類"]


# --- running again ---------------------------------------------------------------------------


def test_a_second_run_changes_nothing(app, imported, redmine_db, redmine_files):
    before = [rows(model) for model in (Attachment, Relation, Watcher, CustomValue, Journal)]
    result = run_import(app, redmine_db, "--files", str(redmine_files))
    assert result.exit_code == 1, result.output  # the missing file is still missing
    counts = counts_of(result.output)
    for kind in NEW_KINDS + ("journals", "details"):
        assert counts[kind][1:3] == (0, 0), kind
    after = [rows(model) for model in (Attachment, Relation, Watcher, CustomValue, Journal)]
    assert after == before


def test_a_later_run_brings_changed_values_and_removes_what_redmine_removed(
    app, imported, redmine_db, redmine_files, redmine_sql
):
    redmine_sql("UPDATE custom_values SET value = '住民課' WHERE id = 601")
    redmine_sql("DELETE FROM watchers WHERE id = 502")
    redmine_sql("UPDATE attachments SET description = '再現手順の画面' WHERE id = 7")
    result = run_import(app, redmine_db, "--files", str(redmine_files))
    counts = counts_of(result.output)
    assert counts["custom_values"][1:3] == (0, 1)
    assert counts["watchers"][1:3] == (0, 1)
    assert counts["attachments"][1:3] == (0, 1)
    assert counts["relations"][1:3] == (0, 0)
    office = db.session.scalar(sa.select(CustomField.id).where(CustomField.name == "担当課"))
    value = db.session.scalar(
        sa.select(CustomValue.value).where(
            CustomValue.ticket_id == 101, CustomValue.custom_field_id == office
        )
    )
    assert value == "住民課"
    watchers = db.session.scalars(sa.select(Watcher.user_id).where(Watcher.ticket_id == 101))
    assert list(watchers) == [by_login("yamada").id]
    assert attachments_of(101)["screenshot.png"].description == "再現手順の画面"


def test_dry_run_counts_the_new_kinds_and_writes_nothing(app, redmine_db, redmine_files):
    result = run_import(app, redmine_db, "--files", str(redmine_files), "--dry-run")
    assert result.exit_code == 1, result.output  # the missing file
    counts = counts_of(result.output)
    assert counts["attachments"] == (5, 4, 0, 1)
    assert counts["relations"] == (3, 2, 0, 1) and counts["watchers"] == (4, 3, 0, 1)
    assert counts["custom_values"] == (8, 8, 0, 0)
    for model in (Attachment, Relation, Watcher, CustomField, CustomValue, ImportMap):
        assert rows(model) == 0, model


def test_deleting_an_imported_ticket_takes_its_links_with_it(imported):
    services.delete_ticket(by_login("admin"), db.session.get(Ticket, 106))
    db.session.commit()
    assert db.session.scalar(sa.select(Relation).where(Relation.ticket_to_id == 106)) is None
