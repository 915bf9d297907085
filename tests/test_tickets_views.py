"""Ticket pages: list with filters in the URL, ticket page, new ticket, edit with locking."""

import pytest

from core.extensions import db
from tests.fixtures.tickets import edit_data
from tickets import services
from tickets.models import Ticket


@pytest.fixture
def member_unit(make_user, make_unit):
    member, viewer = make_user(name="青木 一郎"), make_user()
    return member, viewer, make_unit(members={member: "member", viewer: "viewer"})


def test_list_filters_live_in_the_url_and_show_the_ball(client, login, member_unit, make_ticket):
    member, _viewer, unit = member_unit
    make_ticket(unit, member, subject="住基の宿題", assignee=member)
    make_ticket(unit, member, subject="別の件")
    login(member)
    page = client.get("/issues?q=宿題&assigned_to_id=me&sort=updated_on:desc")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "住基の宿題" in html and "別の件" not in html
    assert "ベンダー" in html  # 起票: the ball is with the vendor
    assert 'value="宿題"' in html  # the filter form shows the URL's state
    assert "sort=updated_on" in html  # and keeps it in the sort and page links


def test_list_rows_follow_every_change_and_the_language(client, login, member_unit, make_ticket):
    """List rows are kept rendered by content: each shown value changes the row."""
    from datetime import date, timedelta

    from tickets.models import Status

    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member, subject="帳票の件", due_date=date.today() + timedelta(3))
    login(member)
    html = client.get("/issues").get_data(as_text=True)  # the row is rendered and kept
    assert "帳票の件" in html and " overdue" not in html

    done = db.session.scalar(db.select(Status).where(Status.is_closed.is_(True)))
    services.update_ticket(
        None, ticket, {"subject": "帳票の件（改）", "due_date": date.today() - timedelta(1)}
    )
    db.session.commit()
    html = client.get("/issues").get_data(as_text=True)
    assert "帳票の件（改）" in html and " overdue" in html

    ticket.status_id = done.id  # closed: no longer overdue, and shown closed
    db.session.commit()
    html = client.get("/issues?status_id=*").get_data(as_text=True)
    assert '<tr class="closed">' in html and " overdue" not in html
    assert f'<span class="status closed">{done.name}</span>' in html

    client.post("/lang", data={"lang": "en"})
    ticket.status_id = db.session.scalar(
        db.select(Status.id).where(Status.is_closed.is_(False)).order_by(Status.position)
    )
    db.session.commit()
    english = client.get("/issues").get_data(as_text=True)
    assert 'title="Ball with">Vendor</span>' in english


def test_list_rows_show_every_column_in_the_order_asked(client, login, member_unit, make_ticket):
    """The rows are read as plain columns (tickets.list_views.list_rows): each column shows the
    ticket's own value, the assignee or else the guest, in the query's order."""
    import re
    from datetime import date

    from tickets.models import Priority, Tracker

    member, _viewer, unit = member_unit
    tracker = db.session.scalar(db.select(Tracker).order_by(Tracker.position.desc()))
    priority = db.session.scalar(db.select(Priority).order_by(Priority.position.desc()))
    parent = make_ticket(unit, member, subject="A 親の件")
    child = make_ticket(
        unit,
        member,
        subject="B 子の件",
        parent=parent,
        assignee=member,
        tracker=tracker,
        priority=priority,
        due_date=date(2031, 3, 31),
    )
    guest = make_ticket(unit, member, subject="C 来庁者の件", guest_name="窓口の田中様")
    login(member)

    html = client.get("/issues?sort=subject:desc").get_data(as_text=True)
    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", html, re.S)
    assert [re.search(r">([ABC] [^<]+)</a>", r).group(1) for r in rows] == [
        "C 来庁者の件",
        "B 子の件",
        "A 親の件",
    ]
    guest_row, child_row, parent_row = rows
    assert f'href="/issues/{child.id}"' in child_row and f"#{parent.id} ›" in child_row
    assert unit.name in child_row and tracker.name in child_row and priority.name in child_row
    assert "青木 一郎" in child_row and "2031" in child_row
    assert "窓口の田中様" in guest_row and f'href="/issues/{guest.id}"' in guest_row
    assert "›" not in parent_row and "青木 一郎" not in parent_row


def test_bad_filter_value_is_explained_not_a_crash(client, login, member_unit):
    member, _viewer, _unit = member_unit
    login(member)
    page = client.get("/issues?due_date=>=someday")
    assert page.status_code == 422
    assert "due_date" in page.get_data(as_text=True)


def test_project_list_shows_its_units_tickets(client, login, member_unit, make_ticket):
    member, _viewer, unit = member_unit
    make_ticket(unit, member, subject="単位の件")
    login(member)
    html = client.get(f"/projects/{unit.parent.identifier}/issues").get_data(as_text=True)
    assert "単位の件" in html


def test_new_ticket_form_offers_the_template_and_the_subject_hint(client, login, member_unit):
    member, _viewer, unit = member_unit
    login(member)
    html = client.get(f"/projects/{unit.identifier}/issues/new").get_data(as_text=True)
    assert "どの画面・帳票・データが" in html
    assert "どのパソコン・プリンター・手順・時期で" in html
    assert "解決したいこと・得たい成果" in html
    for button in ("H1", "H2", "H3", "pre"):
        assert f">{button}</button>" in html


def test_create_ticket(client, login, member_unit, status_named):
    member, _viewer, unit = member_unit
    login(member)
    page = client.post(
        f"/projects/{unit.identifier}/issues/new",
        data={
            "project_id": unit.id,
            "tracker_id": 1,
            "subject": "帳票が出ない",
            "description": "**急ぎ**",
            "status_id": status_named("起票").id,
            "priority_id": 2,
            "assignee_id": member.id,
            "due_date": "2026-06-30",
            "done_ratio": 0,
        },
    )
    assert page.status_code == 302
    ticket = db.session.scalar(db.select(Ticket))
    assert ticket.subject == "帳票が出ない" and ticket.assignee == member
    assert ticket.author == member and str(ticket.due_date) == "2026-06-30"
    html = client.get(page.location).get_data(as_text=True)
    assert "<strong>急ぎ</strong>" in html


def test_blank_subject_keeps_the_rest_of_the_form(client, login, member_unit, status_named):
    member, _viewer, unit = member_unit
    login(member)
    page = client.post(
        f"/projects/{unit.identifier}/issues/new",
        data={
            "project_id": unit.id,
            "tracker_id": 1,
            "subject": "",
            "description": "残すべき説明",
            "status_id": status_named("起票").id,
            "priority_id": 2,
            "assignee_id": 0,
            "done_ratio": 0,
        },
    )
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "残すべき説明" in html and "件名" in html


def test_edit_journals_and_shows_history_readably(
    client, login, member_unit, make_ticket, status_named
):
    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member)
    login(member)
    page = client.post(
        f"/issues/{ticket.id}",
        data=edit_data(ticket, status_id=status_named("受付").id, notes="受け付けました"),
    )
    assert page.status_code == 302
    html = client.get(f"/issues/{ticket.id}").get_data(as_text=True)
    assert "起票 → <em>受付</em>" in html
    assert "受け付けました" in html and "青木 一郎" in html


def test_status_choices_follow_the_workflow(client, login, member_unit, make_ticket, status_named):
    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member, status=status_named("完了"))
    login(member)
    html = client.get(f"/issues/{ticket.id}").get_data(as_text=True)
    status_select = html.split('name="status_id"')[1].split("</select>")[0]
    assert "完了" in status_select and "対応中" not in status_select  # members cannot re-open
    page = client.post(
        f"/issues/{ticket.id}", data=edit_data(ticket, status_id=status_named("対応中").id)
    )
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "ワークフローでは「完了」から「対応中」への変更は許可されていません" in html
    assert '<details class="card edit" id="edit" open>' in html


def test_second_writer_gets_a_clear_refusal_and_keeps_their_text(
    client, login, member_unit, make_ticket, make_user
):
    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member, subject="元の件名")
    stale = edit_data(ticket)
    services.update_ticket(member, ticket, {"subject": "一人目の件名"})
    db.session.commit()
    login(member)
    page = client.post(
        f"/issues/{ticket.id}", data={**stale, "subject": "二人目の件名", "notes": "二人目のメモ"}
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 409
    assert "他の人が変更" in html or "changed by someone else" in html
    assert "一人目の件名" in html  # the current value is shown
    assert 'value="二人目の件名"' in html and "二人目のメモ" in html  # nothing lost
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).subject == "一人目の件名"


def test_closing_homework_asks_for_the_decision(
    client, login, member_unit, make_meeting, make_item, status_named
):
    member, _viewer, unit = member_unit
    meeting = make_meeting(unit=unit, title="定例会")
    ticket = make_item(meeting, kind="homework", who=member, what="様式を確認する").ticket
    login(member)
    html = client.get(f"/issues/{ticket.id}").get_data(as_text=True)
    assert "定例会" in html  # linked back to the meeting
    done = status_named("完了").id
    page = client.post(f"/issues/{ticket.id}", data=edit_data(ticket, status_id=done))
    assert page.status_code == 422
    assert "決定" in page.get_data(as_text=True)
    page = client.post(
        f"/issues/{ticket.id}", data=edit_data(ticket, status_id=done, decision="新様式で進める")
    )
    assert page.status_code == 302
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).decision == "新様式で進める"


def test_parent_shows_children_and_done_count(
    client, login, member_unit, make_ticket, status_named
):
    member, _viewer, unit = member_unit
    parent = make_ticket(unit, member, subject="親の問い合わせ")
    make_ticket(unit, member, subject="子その1", parent=parent, status=status_named("完了"))
    make_ticket(unit, member, subject="子その2", parent=parent)
    login(member)
    html = client.get(f"/issues/{parent.id}").get_data(as_text=True)
    assert "子その1" in html and "子その2" in html
    assert "2件中1件完了" in html or "1 of 2 done" in html


def test_preview_renders_sanitised_markdown(client, login, member_unit, csrf_enabled):
    member, _viewer, _unit = member_unit
    login(member)
    assert client.post("/issues/preview", data={"text": "**x**"}).status_code == 400  # no token
    from flask_wtf.csrf import generate_csrf

    with client:
        client.get("/issues")
        token = generate_csrf()
        page = client.post(
            "/issues/preview",
            data={"text": "**太字** <script>alert(1)</script>"},
            headers={"X-CSRFToken": token},
        )
    html = page.get_data(as_text=True)
    assert "<strong>太字</strong>" in html and "<script>" not in html


def test_the_edit_form_follows_every_change_and_the_language(
    client, login, member_unit, make_ticket, make_user
):
    """The ticket page's edit form is kept rendered by content (tickets.views._EDIT_FIELDS),
    its year's choices under the directory generation (_YEAR_CHOICES): a changed value, a new
    or locked member or another language is a new form, never the kept one."""
    import re

    from projects import services as projects

    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member, subject="窓口端末の件")
    login(member)

    def form_html(ticket_id=ticket.id):
        html = client.get(f"/issues/{ticket_id}").get_data(as_text=True)
        return html[html.index('<details class="card edit"') :]

    first = form_html()  # rendered and kept
    assert 'value="窓口端末の件"' in first and "新任 花子" not in first
    again = form_html()  # the kept one; only the CSRF token (timestamped) is new
    assert again == first.replace(_csrf(first), _csrf(again))

    services.update_ticket(member, ticket, {"subject": "窓口端末の件（続）"})
    newcomer = make_user(name="新任 花子")
    projects.set_membership(unit.parent, newcomer, "member")
    db.session.commit()
    changed = form_html()
    assert 'value="窓口端末の件（続）"' in changed and 'value="窓口端末の件"' not in changed
    assert re.search(rf'<option value="{newcomer.id}">新任 花子</option>', changed)
    assert 'name="version" type="hidden" value="2"' in changed

    from accounts import services as accounts

    accounts.update_user(newcomer, {"is_active_account": False})  # locked: no longer offered
    db.session.commit()
    assert "新任 花子" not in form_html()

    other = make_ticket(unit, member, subject="別の件")  # another ticket: its own values
    assert 'value="別の件"' in form_html(other.id)

    client.post("/lang", data={"lang": "en"})
    assert ">Assignee</label>" in form_html()


def _csrf(html: str) -> str:
    import re

    return re.search(r'name="csrf_token" value="([^"]*)"', html).group(1)
