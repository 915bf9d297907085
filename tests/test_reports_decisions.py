"""The decision register: results with provenance, filters, access, and superseding."""

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from core import errors
from core.extensions import db
from minutes import carry_over, confirmations, items
from minutes.models import Item, ItemEvent
from reports import decisions, services
from reports.decisions import DecisionFilters


@pytest.fixture
def facilitator(make_user):
    return make_user(login="suzuki", name="鈴木 一郎")


@pytest.fixture
def unit(make_unit, facilitator):
    return make_unit(members={facilitator: "facilitator"})


@pytest.fixture
def decide(make_meeting, make_item, unit):
    """decide(text, on=datetime) -> a result in a new meeting of `unit` at that time."""

    def make(text, on=datetime(2026, 6, 1, 1, 0), where=None):
        meeting = make_meeting(unit=where or unit, starts_at=on)
        return make_item(meeting, "result", text)

    return make


def _texts(user, **filters):
    rows, _ = decisions.decisions(user, DecisionFilters(**filters))
    return [row.text for row in rows]


def test_results_newest_first_only_live_results(decide, make_item, facilitator):
    old = decide("窓口の受付時間を8時半からにする", on=datetime(2026, 5, 1, 1, 0))
    decide("コンビニ交付を11月から始める", on=datetime(2026, 10, 1, 1, 0))
    make_item(old.meeting, "goal", "目標は決定事項ではない")
    gone = make_item(old.meeting, "result", "取り消した決定")
    items.delete_item(None, gone)

    assert _texts(facilitator) == [
        "コンビニ交付を11月から始める",
        "窓口の受付時間を8時半からにする",
    ]


def test_a_non_member_never_sees_a_foreign_decision(decide, make_unit, make_user, facilitator):
    foreign = make_unit(members={make_user(): "manager"})
    decide("他市の決定", where=foreign)
    decide("自分の決定")

    assert _texts(facilitator) == ["自分の決定"]


def test_provenance_goal_homework_and_meeting(make_meeting, make_item, unit, facilitator):
    first = make_meeting(unit=unit, starts_at=datetime(2026, 5, 12, 1, 0))
    homework = make_item(first, "homework", who=facilitator, what="帳票の見本を作る")
    second = make_meeting(unit=unit, starts_at=datetime(2026, 5, 26, 1, 0))
    goal = make_item(second, "goal", "帳票レイアウトを決める")
    result = carry_over.carry_over(None, second, homework, "見本Bの帳票で進める", goal=goal)
    db.session.commit()

    (row,) = decisions.decisions(facilitator)[0]

    assert row.id == result.id
    assert row.goal == "帳票レイアウトを決める"
    assert row.origin.id == homework.id and row.origin.kind == "homework"
    assert row.origin.ticket_id == homework.ticket_id
    assert row.origin.ticket_subject == "帳票の見本を作る"
    assert row.origin.meeting == (first.id, first.title, first.starts_at)
    assert row.meeting == (second.id, second.title, second.starts_at)
    assert row.unit.id == unit.id and row.unit.name == unit.name
    assert row.unit.parent.id == unit.parent_id and row.unit.parent.name == unit.parent.name
    assert row.can_supersede


def test_a_preview_moved_to_the_results_says_so(make_meeting, make_item, unit, facilitator):
    meeting = make_meeting(unit=unit)
    preview = make_item(meeting, "preview", "来年度の更新作業は4月に行う")
    items.move_item(None, preview, "result")
    db.session.commit()

    (row,) = decisions.decisions(facilitator)[0]

    assert row.moved_from == "preview"


def test_the_confirmed_revision_a_decision_belongs_to(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    viewer = meeting.facilitator

    (row,) = decisions.decisions(viewer)[0]
    assert row.revision is None  # frozen, not yet confirmed by everyone

    for attendee in meeting.attendees:
        if attendee.user is not None:
            confirmations.confirm(attendee.user, revision, attendee)
        else:
            confirmations.record_in_room(meeting.facilitator, revision, attendee)
    db.session.commit()

    (row,) = decisions.decisions(viewer)[0]
    assert row.revision.id == revision.id


@pytest.mark.parametrize(
    "q, expected",
    [
        ("住基", ["住基ネットの切替日を決定"]),  # two Japanese characters
        ("切替日", ["住基ネットの切替日を決定"]),
        ("LGWAN", ["lgwan 接続は来月"]),  # English, any case
        ("接続 来月", ["lgwan 接続は来月"]),  # every word must occur
        ("存在しない語", []),
    ],
)
def test_keyword_filter(decide, facilitator, q, expected):
    decide("住基ネットの切替日を決定")
    decide("lgwan 接続は来月", on=datetime(2026, 5, 1, 1, 0))

    assert _texts(facilitator, q=q) == expected


def test_date_filter_uses_the_meeting_day_in_japan(decide, facilitator):
    decide("1日の朝", on=datetime(2026, 5, 31, 15, 30))  # 00:30 on 1 June in Japan
    decide("31日の夜", on=datetime(2026, 5, 31, 14, 30))  # 23:30 on 31 May in Japan

    assert _texts(facilitator, date_from=date(2026, 6, 1)) == ["1日の朝"]
    assert _texts(facilitator, date_to=date(2026, 5, 31)) == ["31日の夜"]


def test_project_filter(decide, make_unit, make_project, facilitator):
    project = make_project(units=("住民記録", "税務"), members={facilitator: "facilitator"})
    decide("住民記録の決定", where=project.units[0])
    decide("税務の決定", where=project.units[1])

    assert _texts(facilitator, project=project.units[1]) == ["税務の決定"]
    assert len(_texts(facilitator, project=project)) == 2


# --- superseding -----------------------------------------------------------------------------


def test_supersede_chain_keeps_every_decision(decide, facilitator):
    a = decide("手数料は300円", on=datetime(2026, 5, 1, 1, 0))
    b = decide("手数料は200円", on=datetime(2026, 7, 1, 1, 0))
    c = decide("手数料は無料", on=datetime(2026, 9, 1, 1, 0))

    services.mark_superseded(facilitator, a, b)
    services.mark_superseded(facilitator, b, c)
    db.session.commit()

    assert decisions.chain(a) == [a, b, c]
    assert len(_texts(facilitator)) == 3
    rows = {row.id: row for row in decisions.decisions(facilitator)[0]}
    assert [old.id for old in rows[c.id].supersedes] == [b.id]
    assert rows[b.id].supersedes[0].meeting.id == a.meeting_id
    assert rows[a.id].superseded_by_id == b.id
    assert rows[a.id].successor.id == b.id and rows[a.id].successor.text == "手数料は200円"
    assert rows[c.id].successor is None and not rows[c.id].is_superseded


def test_supersede_is_recorded_in_the_history(decide, facilitator):
    a = decide("旧", on=datetime(2026, 5, 1, 1, 0))
    b = decide("新", on=datetime(2026, 7, 1, 1, 0))

    services.mark_superseded(facilitator, a, b)

    event = db.session.scalar(
        sa.select(ItemEvent).where(ItemEvent.item_id == a.id, ItemEvent.action == "supersede")
    )
    assert event.actor_id == facilitator.id and event.after == {"superseded_by_id": b.id}


@pytest.mark.parametrize("case", ["earlier", "itself", "twice", "not a result"])
def test_supersede_refuses(decide, make_item, facilitator, case):
    a = decide("旧", on=datetime(2026, 5, 1, 1, 0))
    b = decide("新", on=datetime(2026, 7, 1, 1, 0))
    c = decide("さらに新", on=datetime(2026, 8, 1, 1, 0))
    old, new = {
        "earlier": (b, a),
        "itself": (a, a),
        "twice": (a, c),
        "not a result": (a, make_item(c.meeting, "preview", "さきどり")),
    }[case]
    if case == "twice":
        services.mark_superseded(facilitator, a, b)

    with pytest.raises(services.DecisionError):
        services.mark_superseded(facilitator, old, new)


def test_a_refused_supersede_shows_the_page_again_with_the_reason(
    client, login, decide, facilitator
):
    a = decide("旧", on=datetime(2026, 5, 1, 1, 0))
    login(facilitator)

    response = client.post(f"/decisions/{a.id}/supersede", data={"new_id": a.id})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "決定事項を自分自身で置き換えることはできません。" in html
    assert "後の決定事項が見つかりません" in html  # the supersede page, not an error page
    db.session.expire_all()
    assert a.superseded_by_id is None


def test_undo_lets_the_decision_stand_again(decide, facilitator):
    a = decide("旧", on=datetime(2026, 5, 1, 1, 0))
    b = decide("新", on=datetime(2026, 7, 1, 1, 0))
    services.mark_superseded(facilitator, a, b)

    services.clear_superseded(facilitator, a)

    assert a.superseded_by_id is None and decisions.chain(a) == [a]


def test_superseding_works_on_confirmed_minutes(decide, facilitator):
    a = decide("旧", on=datetime(2026, 5, 1, 1, 0))
    b = decide("新", on=datetime(2026, 7, 1, 1, 0))
    a.meeting.status = "confirmed"
    db.session.commit()

    services.mark_superseded(facilitator, a, b)

    assert a.superseded_by_id == b.id


def test_a_member_may_not_supersede(decide, make_user, unit):
    member = make_user()
    from projects.services import set_membership

    set_membership(unit.root, member, "member")
    a = decide("旧", on=datetime(2026, 5, 1, 1, 0))
    b = decide("新", on=datetime(2026, 7, 1, 1, 0))

    with pytest.raises(errors.Forbidden):
        services.mark_superseded(member, a, b)


# --- pages -----------------------------------------------------------------------------------


def test_register_page_marks_and_links_superseded_decisions(client, login, decide, facilitator):
    a = decide("手数料は300円", on=datetime(2026, 5, 1, 1, 0))
    b = decide("手数料は**無料**", on=datetime(2026, 7, 1, 1, 0))
    login(facilitator)
    before = client.get("/decisions").get_data(as_text=True)  # rows rendered and kept
    assert '<span class="badge">置き換え済み</span>' not in before

    response = client.post(f"/decisions/{a.id}/supersede", data={"new_id": b.id})

    assert response.status_code == 302
    html = client.get("/decisions").get_data(as_text=True)
    assert '<span class="badge">置き換え済み</span>' in html
    assert f'置き換え先： <a href="/decisions?id={b.id}"' in html
    assert "<strong>無料</strong>" in html
    assert db.session.get(Item, a.id).superseded_by_id == b.id

    client.post("/lang", data={"lang": "en"})
    english = client.get("/decisions").get_data(as_text=True)
    assert '<span class="badge">Superseded</span>' in english and "置き換え" not in english
    client.post("/lang", data={"lang": "ja"})

    client.post(f"/decisions/{a.id}/unsupersede")
    after = client.get("/decisions").get_data(as_text=True)
    assert '<span class="badge">置き換え済み</span>' not in after


def test_register_highlights_the_keywords(client, login, decide, facilitator):
    decide("住基ネットの切替日を決定")
    login(facilitator)

    html = client.get("/decisions?q=住基").get_data(as_text=True)

    assert "<mark>住基</mark>ネット" in html


def test_an_invalid_date_is_reported_not_a_crash(client, login, facilitator):
    login(facilitator)

    response = client.get("/decisions?date_from=2026-13-45")

    assert response.status_code == 200 and 'role="alert"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "role, expected", [("member", 403), ("viewer", 403), ("facilitator", 200), (None, 404)]
)
def test_supersede_page_access(client, login, decide, make_user, unit, role, expected):
    from projects.services import set_membership

    user = make_user()
    if role:
        set_membership(unit.root, user, role)
        db.session.commit()
    a = decide("旧", on=datetime(2026, 5, 1, 1, 0))
    login(user)

    assert client.get(f"/decisions/{a.id}/supersede").status_code == expected


def test_a_later_decision_in_a_project_i_cannot_see_stays_hidden(
    client, login, decide, make_unit, make_user, facilitator, unit
):
    from projects.services import set_membership

    reader = make_user()
    set_membership(unit.root, reader, "viewer")
    next_year = make_unit(members={facilitator: "facilitator"}, fiscal_year=2027)
    old = decide("手数料は300円", on=datetime(2026, 5, 1, 1, 0))
    new = decide("来年度から手数料は無料", on=datetime(2027, 5, 1, 1, 0), where=next_year)
    services.mark_superseded(facilitator, old, new)
    db.session.commit()
    login(reader)

    html = client.get("/decisions").get_data(as_text=True)

    assert "手数料は300円" in html and "置き換え済み" in html
    assert "来年度から手数料は無料" not in html


def test_register_page_shows_every_provenance_line(
    client, login, make_meeting, make_item, make_user, unit, facilitator, csrf_enabled
):
    from projects.services import set_membership

    first = make_meeting(unit=unit, starts_at=datetime(2026, 5, 12, 1, 0))
    homework = make_item(first, "homework", who=facilitator, what="帳票の見本を作る")
    second = make_meeting(unit=unit, starts_at=datetime(2026, 5, 26, 1, 0))
    goal = make_item(second, "goal", "帳票レイアウトを決める")
    carried = carry_over.carry_over(None, second, homework, "見本Bの帳票で進める", goal=goal)
    preview = make_item(second, "preview", "来年度の更新作業は4月に行う")
    items.move_item(None, preview, "result")
    third = make_meeting(unit=unit, starts_at=datetime(2026, 6, 9, 1, 0))
    later = make_item(third, "result", "見本Cの帳票に変更")
    services.mark_superseded(facilitator, carried, later)
    db.session.commit()
    login(facilitator)

    html = client.get("/decisions").get_data(as_text=True)

    assert f'href="/meetings/{second.id}">{second.title}</a>' in html
    assert (
        f'<a href="/issues/{homework.ticket_id}">#{homework.ticket_id}</a> 帳票の見本を作る' in html
    )
    assert f'(<a href="/meetings/{first.id}">2026年5月12日(火)</a>)' in html
    assert "目標: 帳票レイアウトを決める" in html
    assert "この会議のシート③から移動" in html
    assert f'href="/decisions?id={later.id}">見本Cの帳票に変更</a>' in html
    assert f'href="/decisions?id={carried.id}">見本Bの帳票で進める</a>' in html
    assert unit.name in html and unit.parent.name in html
    assert html.count('name="csrf_token"') >= 1 and f"/decisions/{carried.id}/unsupersede" in html
    assert f"/decisions/{later.id}/supersede" in html
    assert html.count("未確定") == 3  # no revision is confirmed

    reader = make_user()
    set_membership(unit.root, reader, "viewer")
    db.session.commit()
    login(reader)
    html = client.get("/decisions").get_data(as_text=True)
    assert "見本Bの帳票で進める" in html and "/supersede" not in html
