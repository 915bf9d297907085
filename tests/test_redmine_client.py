"""Sanmai driven by a real Redmine client library: python-redmine (redminelib) against a
live threaded server. Exercised: Redmine(url, key=…) and (username, password), auth(),
user.get('current', include), project.all/get(include), tracker.all, issue_status.all,
enumeration.filter(resource='issue_priorities'), issue.filter (project_id, status_id,
assigned_to_id=me, parent_id, sort, offset/limit, total_count), issue.get(include=…),
issue.create (posts to /projects/{id}/issues.json, with uploads), issue.update with notes,
status and uploads, resource.save(), upload(), attachment.get, search(), and the client's
exceptions for 401/403/404/409/422."""

import io
from datetime import date

import pytest
from redminelib import Redmine
from redminelib import exceptions as rm

from core.extensions import db
from tickets import services


@pytest.fixture
def redmine(live_server, token_of):
    """redmine(user): a python-redmine client authenticated with the user's API key."""

    def make(user=None, **kwargs):
        if user is not None:
            kwargs["key"] = token_of(user)
        return Redmine(live_server, **kwargs)

    yield make
    db.session.rollback()


def fresh():
    """End the test's read transaction so it sees what the server wrote."""
    db.session.rollback()


def test_who_am_i_with_key_and_with_login_password(redmine, rm_world):
    from accounts import services as accounts

    member = rm_world["member"]
    accounts.update_user(member, {"password": "pw-for-tests"})
    db.session.commit()
    me = redmine(member).user.get("current", include=["memberships"])
    assert (me.login, me.lastname, me.firstname) == ("member", "田中", "太郎")
    assert me.memberships[0].project.id == rm_world["project"].id
    by_password = redmine(username="member", password="pw-for-tests").auth()
    assert by_password.id == member.id and by_password.api_key == member.api_token
    with pytest.raises(rm.AuthError):
        redmine(key="wrong").auth()


def test_reference_data(redmine, rm_world):
    client = redmine(rm_world["viewer"])
    assert [t.name for t in client.tracker.all()][:3] == [
        "問い合わせ管理",
        "初動問題管理",
        "収束問題管理",
    ]
    statuses = client.issue_status.all()
    assert [s.name for s in statuses if s.is_closed] == ["完了", "却下"]
    priorities = client.enumeration.filter(resource="issue_priorities")
    assert [p.name for p in priorities if p.is_default] == ["通常"]


def test_projects(redmine, rm_world):
    client = redmine(rm_world["viewer"])
    projects = client.project.all()
    assert len(projects) == 3
    assert [p.name for p in projects] == ["前橋市 令和8年度", "住民記録", "税務"]
    unit = client.project.get(rm_world["unit"].identifier, include=["trackers", "enabled_modules"])
    assert unit.parent.id == rm_world["project"].id
    assert len(unit.trackers) == 6
    with pytest.raises(rm.ResourceNotFoundError):
        redmine(rm_world["outsider"]).project.get(rm_world["unit"].identifier)


def test_create_update_and_read_back_an_issue(redmine, rm_world, tmp_path):
    member, unit = rm_world["member"], rm_world["unit"]
    client = redmine(member)
    shot = tmp_path / "画面コピー.png"
    shot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    issue = client.issue.create(
        project_id=unit.identifier,
        subject="住基システムの帳票が出ない",
        description="どの画面で: 帳票出力\n期待との違い: 何も出ない",
        tracker_id=2,
        assigned_to_id=member.id,
        due_date=date(2026, 12, 1),
        uploads=[{"path": str(shot), "description": "エラー画面"}],
    )
    assert issue.id and issue.status.name == "起票"
    assert issue.project.id == unit.id and issue.due_date == date(2026, 12, 1)

    assert client.issue.update(issue.id, notes="調査を始めます", status_id=3) is True
    loaded = client.issue.get(issue.id, include=["journals", "attachments", "allowed_statuses"])
    assert loaded.status.name == "調査中"
    assert loaded.assigned_to.id == member.id
    (attachment,) = loaded.attachments
    assert (attachment.filename, attachment.content_type) == ("画面コピー.png", "image/png")
    assert attachment.description == "エラー画面"
    journal = list(loaded.journals)[-1]
    assert journal.notes == "調査を始めます"
    assert [(d["name"], d["old_value"], d["new_value"]) for d in journal.details] == [
        ("status_id", "1", "3")
    ]
    assert "完了" in [s.name for s in loaded.allowed_statuses]
    assert client.attachment.get(attachment.id).filesize == 72

    loaded.subject = "住基システムの帳票が出ない (2F)"
    loaded.notes = "件名を直しました"
    loaded.save()
    fresh()
    assert client.issue.get(issue.id).subject == "住基システムの帳票が出ない (2F)"


def test_upload_then_attach_on_update(redmine, rm_world, make_ticket):
    member = rm_world["member"]
    ticket = make_ticket(rm_world["unit"], member)
    client = redmine(member)
    upload = client.upload(io.BytesIO("議事録ドラフト".encode()), filename="gijiroku.txt")
    assert set(upload) == {"id", "token"}
    client.issue.update(ticket.id, notes="添付します", uploads=[{"token": upload["token"]}])
    (attachment,) = client.issue.get(ticket.id, include=["attachments"]).attachments
    assert attachment.filename == "gijiroku.txt" and attachment.content_type == "text/plain"


@pytest.fixture
def listed(rm_world, make_ticket, status_named):
    member, unit = rm_world["member"], rm_world["unit"]
    parent = make_ticket(unit, member, subject="予算会議の議事録を作成する", assignee=member)
    closed = make_ticket(unit, member, subject="会議室を予約する", parent=parent)
    services.update_ticket(member, closed, {"status": status_named("完了")})
    child = make_ticket(unit, member, subject="配布資料を印刷する", parent=parent)
    other = make_ticket(rm_world["unit2"], member, subject="第1回定例会議の宿題")
    db.session.commit()
    return {"parent": parent, "closed": closed, "child": child, "other": other}


def test_issue_lists_with_filters_sort_and_paging(redmine, rm_world, listed):
    client = redmine(rm_world["member"])
    year = rm_world["project"].identifier
    open_issues = client.issue.filter(project_id=year)
    assert [i.id for i in open_issues] == [listed[k].id for k in ("other", "child", "parent")]
    assert open_issues.total_count == 3
    everything = client.issue.all()  # python-redmine asks status_id=*
    assert len(everything) == 4
    closed = client.issue.filter(project_id=year, status_id="closed")
    assert [i.subject for i in closed] == ["会議室を予約する"]
    mine = client.issue.filter(assigned_to_id="me")
    assert [i.id for i in mine] == [listed["parent"].id]
    children = client.issue.filter(parent_id=listed["parent"].id, status_id="*", sort="id")
    assert [i.id for i in children] == [listed["closed"].id, listed["child"].id]
    page = client.issue.filter(status_id="*", sort="id", offset=1, limit=2)
    assert [i.id for i in page] == [listed["closed"].id, listed["child"].id]
    assert page.total_count == 4


def test_issue_children_and_the_system_closing_the_parent(redmine, rm_world, listed):
    client = redmine(rm_world["member"])
    client.issue.update(listed["child"].id, status_id=9, notes="印刷済み")
    parent = client.issue.get(listed["parent"].id, include=["children", "journals"])
    assert parent.status.name == "完了"
    assert {c.id for c in parent.children} == {listed["closed"].id, listed["child"].id}
    system = list(parent.journals)[-1]
    assert system.user.id == 0 and system.user.name == "システム"


def test_search(redmine, rm_world, listed):
    client = redmine(rm_world["viewer"])
    found = client.search("会議", resources=["issues"])
    assert {i.id for i in found["issues"]} == {
        listed["parent"].id,
        listed["closed"].id,
        listed["other"].id,
    }
    two_words = client.search("予算 議事録")
    assert [i.id for i in two_words["issues"]] == [listed["parent"].id]
    assert client.search("存在しない言葉") is None


def test_the_clients_exceptions(redmine, rm_world, listed):
    member, viewer = rm_world["member"], rm_world["viewer"]
    with pytest.raises(rm.ValidationError, match="題名を入力してください"):
        redmine(member).issue.create(project_id=rm_world["unit"].identifier, subject="")
    with pytest.raises(rm.ResourceNotFoundError):
        redmine(rm_world["outsider"]).issue.get(listed["parent"].id)
    with pytest.raises(rm.ForbiddenError):
        redmine(viewer).issue.update(listed["parent"].id, notes="閲覧者のメモ")
    stale = listed["parent"].version
    redmine(member).issue.update(listed["parent"].id, notes="先に保存")
    with pytest.raises(rm.ConflictError):
        redmine(member).issue.update(listed["parent"].id, subject="x", lock_version=stale)
