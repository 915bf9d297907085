"""A real Redmine 5 (tests/fixtures/real_redmine.py), seeded through its REST API, brought in
through its database (`--db`, read only) and through its REST API (`--url/--key`)."""

import shutil
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from accounts.models import User
from attachments.models import Attachment
from core.extensions import db
from projects.models import Membership, Project
from redmine.importing import rest, rest_links
from tests.conftest import _wipe
from tests.fixtures.real_redmine import ATTACHMENT, PASSWORDS
from tests.fixtures.redmine_db import by_login, counts_of, invoke_import
from tickets.defaults import ensure_defaults
from tickets.models import CustomField, CustomValue, Journal, Relation, Status, Ticket, Watcher

pytestmark = pytest.mark.real_redmine

FIRST_RUN = {
    # kind: (read, created, updated, skipped)
    "users": (4, 4, 0, 0),
    "projects": (3, 3, 0, 0),
    "memberships": (6, 3, 0, 0),  # the group's own row aside
    "issues": (4, 4, 0, 0),
    "journals": (8, 7, 0, 1),  # a child added: nothing Sanmai keeps
}


@pytest.fixture(autouse=True)
def _no_staging(app, seeded_redmine):
    """Each test starts without the REST staging file (and its files) and leaves none."""

    def remove():
        staged = rest.staging_path(app.config["INSTANCE_DIR"], seeded_redmine.url)
        for path in (staged, *(staged.with_name(staged.name + s) for s in ("-wal", "-shm"))):
            path.unlink(missing_ok=True)
        shutil.rmtree(rest_links.files_directory(staged), ignore_errors=True)

    remove()
    yield
    remove()


def import_db(app, redmine, *options):
    return invoke_import(app, "--db", f"sqlite:///{redmine.database}", *options)


def import_rest(app, redmine, key=None, url=None):
    return invoke_import(app, "--url", url or redmine.url, "--key", key or redmine.key)


def redmine_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=None)


def seconds(moment: datetime | None) -> datetime | None:
    """Redmine stores microseconds; its REST API shows whole seconds."""
    return moment.replace(microsecond=0) if moment else None


def login_of(user: User | None) -> str | None:
    return user.login if user else None


def snapshot() -> dict:
    """What an import made, in names rather than ids where ids could differ."""
    tickets = db.session.scalars(sa.select(Ticket).order_by(Ticket.id)).all()
    return {
        "users": sorted(
            (u.login, u.name, u.email, u.is_admin, u.is_active_account)
            for u in db.session.scalars(sa.select(User))
        ),
        "projects": sorted(
            (p.identifier, p.name, p.fiscal_year, p.parent.identifier if p.parent else None)
            for p in db.session.scalars(sa.select(Project))
        ),
        "memberships": sorted(
            (m.user.login, m.project.identifier, m.role)
            for m in db.session.scalars(sa.select(Membership))
        ),
        "organisations": sorted(
            (u.login, u.organisation.name if u.organisation else None)
            for u in db.session.scalars(sa.select(User))
        ),
        "attachments": sorted(
            (a.container_type, a.container_id, a.filename, a.filesize, a.digest, a.description)
            + (a.author_id, seconds(a.created_at))
            for a in db.session.scalars(sa.select(Attachment))
        ),
        "relations": sorted(
            (r.ticket_from_id, r.ticket_to_id, r.relation_type, r.delay)
            for r in db.session.scalars(sa.select(Relation))
        ),
        "watchers": sorted(
            (w.ticket_id, w.user.login) for w in db.session.scalars(sa.select(Watcher))
        ),
        "custom_fields": sorted(
            (f.name, f.field_format, f.is_multiple, f.position)
            for f in db.session.scalars(sa.select(CustomField))
        ),
        "custom_values": sorted(
            (v.ticket_id, v.custom_field.name, v.value or "")
            for v in db.session.scalars(sa.select(CustomValue))
        ),
        "tickets": [
            (
                t.id,
                t.project.identifier,
                t.tracker.name,
                t.status.name,
                t.priority.name,
                t.subject,
                t.description,
                login_of(t.assignee),
                login_of(t.author),
                t.start_date,
                t.due_date,
                t.done_ratio,
                seconds(t.created_at),
                seconds(t.updated_at),
                seconds(t.closed_at),
                t.parent_id,
                [
                    (
                        login_of(j.user),
                        j.notes,
                        j.private_notes,
                        seconds(j.created_at),
                        sorted((d.property, d.name, d.old_value, d.new_value) for d in j.details),
                    )
                    for j in sorted(t.journals, key=lambda j: j.id)
                ],
            )
            for t in tickets
        ],
    }


def test_database_import_counts_each_kind(app, seeded_redmine):
    result = import_db(app, seeded_redmine)
    assert result.exit_code == 0, result.output
    counts = counts_of(result.output)
    assert {kind: counts[kind] for kind in FIRST_RUN} == FIRST_RUN


def test_an_issue_comes_over_field_by_field(app, seeded_redmine):
    import_db(app, seeded_redmine)
    number = seeded_redmine.seeded["issues"]["parent"]
    issue = seeded_redmine.api("GET", f"/issues/{number}.json")["issue"]
    ticket = db.session.get(Ticket, number)  # its Redmine number kept
    assert ticket.project.identifier == "r8-jyuki"
    assert ticket.project.parent.identifier == "r8" and ticket.project.parent.fiscal_year == 2026
    assert (ticket.tracker.name, ticket.status.name, ticket.priority.name) == (
        issue["tracker"]["name"],
        issue["status"]["name"],
        issue["priority"]["name"],
    )
    assert ticket.subject == issue["subject"] == "住民票の写しが交付できない"
    assert ticket.description == issue["description"]
    assert (ticket.author.login, ticket.assignee.login) == ("yamada", "yamada")
    assert ticket.start_date == date.fromisoformat(issue["start_date"])
    assert ticket.due_date == (date.fromisoformat(issue["due_date"]) if issue["due_date"] else None)
    assert ticket.done_ratio == issue["done_ratio"]
    assert seconds(ticket.created_at) == redmine_time(issue["created_on"])
    assert seconds(ticket.updated_at) == redmine_time(issue["updated_on"])
    assert seconds(ticket.closed_at) == redmine_time(issue["closed_on"])  # closed: 終了
    child = db.session.get(Ticket, seeded_redmine.seeded["issues"]["child"])
    assert child.parent_id == number and child.status.is_closed


def test_journals_come_with_their_details_and_private_notes(app, seeded_redmine):
    import_db(app, seeded_redmine)
    number = seeded_redmine.seeded["issues"]["parent"]
    issue = seeded_redmine.api("GET", f"/issues/{number}.json?include=journals")["issue"]
    journals = db.session.scalars(
        sa.select(Journal).where(Journal.ticket_id == number).order_by(Journal.id)
    ).all()
    with_notes = [j for j in issue["journals"] if j["notes"]]
    assert [(j.notes, j.private_notes) for j in journals if j.notes] == [
        (j["notes"], j["private_notes"]) for j in with_notes
    ]
    assert [j.private_notes for j in journals if j.notes] == [False, True, False]
    status_change = next(j for j in journals if j.notes.startswith("再現しました"))
    assert status_change.user.login == "suzuki"
    assert seconds(status_change.created_at) == redmine_time(with_notes[0]["created_on"])
    names = {s.id: s.name for s in db.session.scalars(sa.select(Status))}
    assert [
        (d.name, names[int(d.old_value)], names[int(d.new_value)]) for d in status_change.details
    ] == [("status_id", "新規", "進行中")]
    reassigned = journals[-1]
    assert [
        (d.name, d.old_value, d.new_value) for d in reassigned.details if d.name != "status_id"
    ] == [("assigned_to_id", str(by_login("suzuki").id), str(by_login("yamada").id))]


def test_a_redmine_password_signs_in_once_then_is_sanmais(app, client, seeded_redmine):
    import_db(app, seeded_redmine)
    assert by_login("yamada").has_redmine_password
    response = client.post("/login", data={"login": "yamada", "password": PASSWORDS["yamada"]})
    assert response.status_code == 302
    yamada = by_login("yamada")
    assert not yamada.has_redmine_password and yamada.check_password(PASSWORDS["yamada"])
    assert not by_login("tanaka").is_active  # locked in Redmine


@pytest.mark.parametrize("through", ["db", "rest"])
def test_files_relations_watchers_and_custom_fields_come_over(
    app, client, login, seeded_redmine, through
):
    if through == "db":
        result = import_db(app, seeded_redmine, "--files", str(seeded_redmine.files))
    else:
        result = import_rest(app, seeded_redmine)
    assert result.exit_code == 0, result.output
    counts = counts_of(result.output)
    assert counts["attachments"] == (1, 1, 0, 0)
    assert counts["relations"] == (1, 1, 0, 0)
    issues = seeded_redmine.seeded["issues"]
    # Redmine makes some watchers itself (who changes an issue watches it): as it lists them
    watching = {
        number: sorted(
            w["name"]
            for w in seeded_redmine.api("GET", f"/issues/{number}.json?include=watchers")["issue"][
                "watchers"
            ]
        )
        for number in issues.values()
    }
    assert watching[issues["parent"]] and watching[issues["tax"]]
    watchers = sum(len(names) for names in watching.values())
    assert counts["watchers"] == (watchers, watchers, 0, 0)
    assert counts["custom_fields"] == (2, 2, 0, 0)
    parent, related = issues["parent"], issues["related"]
    login(by_login("admin"))
    shown = client.get(
        f"/issues/{parent}.json?include=attachments,relations,watchers,journals"
    ).get_json()["issue"]
    (attachment,) = shown["attachments"]
    assert (attachment["filename"], attachment["description"]) == ("error.txt", "窓口のエラー表示")
    assert attachment["author"]["name"] == by_login("suzuki").name
    download = client.get(urlsplit(attachment["content_url"]).path)
    assert download.status_code == 200 and download.data == ATTACHMENT
    assert [(r["issue_id"], r["issue_to_id"], r["relation_type"]) for r in shown["relations"]] == [
        (parent, related, "relates")
    ]
    for number, names in watching.items():
        answer = client.get(f"/issues/{number}.json?include=watchers").get_json()["issue"]
        assert sorted(w["name"] for w in answer["watchers"]) == names
    assert {f["name"]: f["value"] for f in shown["custom_fields"]} == {
        "受付窓口": ["本庁", "支所"],
        "受付番号": "R8-0012",
    }
    # the journal that added the file names it, linked to the file that came over
    (added,) = [d for j in shown["journals"] for d in j["details"] if d["property"] == "attachment"]
    assert (added["name"], added["new_value"]) == (str(attachment["id"]), "error.txt")
    page = client.get(f"/issues/{parent}").get_data(as_text=True)
    for text in ("error.txt", "証明書発行サーバの更新", by_login("suzuki").name, "R8-0012", "支所"):
        assert text in page


def test_the_rest_api_brings_what_the_database_brings(app, seeded_redmine, tmp_path):
    rest_result = import_rest(app, seeded_redmine)
    assert rest_result.exit_code == 0, rest_result.output
    assert "issues fetched: 4/4" in rest_result.output
    through_rest = snapshot()
    assert not by_login("yamada").has_redmine_password  # REST shows no password hashes
    db.session.remove()  # its reads hold locks the wipe waits for
    _wipe(app)
    ensure_defaults()
    db.session.commit()
    db_result = import_db(app, seeded_redmine, "--files", str(seeded_redmine.files))
    through_db = snapshot()
    rest_counts, db_counts = counts_of(rest_result.output), counts_of(db_result.output)
    # Redmine's REST API has no workflows: only its database brings them.
    assert rest_counts.pop("workflows") == (0, 0, 0, 0)
    workflows = db_counts.pop("workflows")
    assert workflows[0] > 0 and workflows[1] > 0
    assert rest_counts == db_counts
    for kind in ("attachments", "relations", "watchers", "custom_values"):
        assert db_counts[kind][1] > 0, kind
    # The REST API shows no language: those users are Japanese-speaking either way here.
    assert through_rest == through_db
    assert len(through_db["tickets"]) == 4
    assert ("suzuki", "市民課") in through_db["organisations"]


def test_a_second_rest_run_fetches_nothing_and_changes_nothing(app, seeded_redmine):
    import_rest(app, seeded_redmine)
    before = snapshot()
    result = import_rest(app, seeded_redmine)
    assert result.exit_code == 0, result.output
    assert "issues fetched: 0/0" in result.output
    assert all(c[1:3] == (0, 0) for c in counts_of(result.output).values())
    assert snapshot() == before


@pytest.mark.parametrize(
    "url, key, says",
    [
        (None, "0123456789abcdef", "does not accept this API key"),
        (None, "yamada", "the API key is not an administrator's"),
        ("http://127.0.0.1:9", None, "cannot reach Redmine at http://127.0.0.1:9"),
        ("{url}/projects", None, "does not answer as a Redmine"),
    ],
)
def test_a_bad_rest_source_exits_2_with_one_line(app, seeded_redmine, url, key, says):
    if key == "yamada":
        yamada = seeded_redmine.seeded["people"]["yamada"]
        key = seeded_redmine.api("GET", f"/users/{yamada}.json")["user"]["api_key"]
    url = url.format(url=seeded_redmine.url) if url else None
    result = import_rest(app, seeded_redmine, key=key, url=url)
    assert result.exit_code == 2
    assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    staged = rest.staging_path(app.config["INSTANCE_DIR"], url or seeded_redmine.url)
    assert url is None or not staged.exists()


def test_the_rest_api_switched_off_exits_2(app, seeded_redmine):
    def rest_api(value: str, at: datetime):
        # Redmine rereads its settings when one is newer than its cache.
        with sa.create_engine(f"sqlite:///{seeded_redmine.database}").begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE settings SET value = :v, updated_on = :at WHERE name = 'rest_api_enabled'"
                ),
                {"v": value, "at": at.strftime("%Y-%m-%d %H:%M:%S.%f")},
            )

    now = datetime.now(UTC).replace(tzinfo=None)
    rest_api("0", now + timedelta(minutes=1))
    try:
        result = import_rest(app, seeded_redmine)
    finally:
        rest_api("1", now + timedelta(minutes=2))
    assert result.exit_code == 2
    assert "has its REST API switched off" in result.output
    assert import_rest(app, seeded_redmine).exit_code == 0


def test_a_changed_issue_is_fetched_again_with_its_new_note(app, seeded_redmine):
    # Last in this file: it changes the seeded Redmine.
    import_rest(app, seeded_redmine)
    number = seeded_redmine.seeded["issues"]["tax"]
    seeded_redmine.api(
        "PUT",
        f"/issues/{number}.json",
        as_user="yamada",
        json={"issue": {"notes": "文言は第3期も同じでよいと回答済み。"}},
    )
    result = import_rest(app, seeded_redmine)
    assert "issues fetched: 1/1" in result.output
    assert counts_of(result.output)["issues"][2] == 1  # updated
    notes = db.session.scalars(sa.select(Journal.notes).where(Journal.ticket_id == number)).all()
    assert notes == ["文言は第3期も同じでよいと回答済み。"]


def test_a_changed_issue_brings_its_new_file_value_relation_and_watcher(app, seeded_redmine):
    # Changes the seeded Redmine: after the test above, last in this file.
    import_rest(app, seeded_redmine)
    staged = rest.staging_path(app.config["INSTANCE_DIR"], seeded_redmine.url)
    files = rest_links.files_directory(staged)
    (first,) = files.iterdir()  # the parent's file
    before = first.stat()
    issues, people = seeded_redmine.seeded["issues"], seeded_redmine.seeded["people"]
    # two issues of one project (Redmine relates issues across projects only if set to)
    changed, other = issues["related"], issues["child"]
    api = seeded_redmine.api
    token = api(
        "POST",
        "/uploads.json?filename=notice.txt",
        data="第3期の文言案".encode(),
        headers={"Content-Type": "application/octet-stream"},
        as_user="yamada",
    )["upload"]["token"]
    number_field = seeded_redmine.seeded["custom_fields"]["受付番号"]
    api(
        "PUT",
        f"/issues/{changed}.json",
        as_user="yamada",
        json={
            "issue": {
                "uploads": [{"token": token, "filename": "notice.txt"}],
                "custom_fields": [{"id": number_field, "value": "R8-0099"}],
            }
        },
    )
    relation = api(
        "POST",
        f"/issues/{changed}/relations.json",
        json={"relation": {"issue_to_id": other, "relation_type": "blocks"}},
    )["relation"]["id"]
    api("POST", f"/issues/{changed}/watchers.json", json={"user_id": people["suzuki"]})
    result = import_rest(app, seeded_redmine)
    assert result.exit_code == 0, result.output
    assert "issues fetched: 2/2" in result.output  # both ends of the new relation
    counts = counts_of(result.output)
    assert counts["attachments"] == (2, 1, 0, 0)
    assert counts["relations"] == (2, 1, 0, 0)
    assert counts["custom_values"][2] == 1  # 受付番号 of the changed issue
    assert counts["watchers"][1] >= 1  # suzuki, and whom Redmine made watch the changes
    after = first.stat()  # the file staged before is not downloaded again
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(list(files.iterdir())) == 2
    assert db.session.scalars(
        sa.select(Attachment.filename).where(
            Attachment.container_type == "ticket", Attachment.container_id == changed
        )
    ).all() == ["notice.txt"]
    assert {
        (v.custom_field.name, v.value)
        for v in db.session.scalars(sa.select(CustomValue).where(CustomValue.ticket_id == changed))
    } >= {("受付番号", "R8-0099")}
    assert (
        db.session.scalar(
            sa.select(Relation.relation_type).where(
                Relation.ticket_from_id == changed, Relation.ticket_to_id == other
            )
        )
        == "blocks"
    )
    for number in (changed, other):
        shown = api("GET", f"/issues/{number}.json?include=watchers")["issue"]["watchers"]
        watching = db.session.scalars(sa.select(Watcher).where(Watcher.ticket_id == number))
        assert sorted(w.user.name for w in watching) == sorted(w["name"] for w in shown)
        if number == changed:
            assert people["suzuki"] in {w["id"] for w in shown}
    api("DELETE", f"/relations/{relation}.json")
    result = import_rest(app, seeded_redmine)
    assert "issues fetched: 2/2" in result.output
    assert counts_of(result.output)["relations"] == (1, 0, 1, 0)  # the one removed
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Relation)) == 1
    staging = sa.create_engine(f"sqlite:///{staged}")
    with staging.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM issue_relations")).scalar() == 1
    staging.dispose()
