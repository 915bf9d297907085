"""Sheet operations (minutes.items, .homework, .carry_over): add, edit, move, reorder, delete,
carry over, version conflicts, the lock on confirmed minutes, and the change sequence live
viewers follow."""

from datetime import date, datetime

import pytest
import sqlalchemy as sa

from core import errors
from core.extensions import db
from minutes import carry_over, homework, items, meetings, writes
from minutes.models import ItemEvent
from tickets.models import Journal, JournalDetail


@pytest.fixture
def facilitator(make_user):
    return make_user(login="suzuki", name="鈴木 一郎")


@pytest.fixture
def unit(make_unit, facilitator):
    return make_unit(members={facilitator: "facilitator"})


@pytest.fixture
def meeting(make_meeting, unit, facilitator):
    return make_meeting(unit=unit, actor=facilitator)


def actions(meeting):
    return [
        e.action
        for e in db.session.scalars(
            sa.select(ItemEvent).where(ItemEvent.meeting_id == meeting.id).order_by(ItemEvent.seq)
        )
    ]


def test_create_meeting_starts_as_draft_with_a_change_seq(meeting, facilitator):
    assert meeting.status == "draft"
    assert meeting.facilitator_id == facilitator.id
    assert meeting.change_seq == 1
    assert actions(meeting) == ["create_meeting"]


def test_meetings_belong_to_a_business_unit(facilitator, unit):
    with pytest.raises(errors.Invalid):
        meetings.create_meeting(
            None, unit.parent, {"title": "x", "starts_at": datetime(2026, 11, 1, 1)}
        )


def test_a_member_cannot_create_a_meeting(make_user, unit):
    member = make_user()
    from projects.services import set_membership

    set_membership(unit.parent, member, "member")
    with pytest.raises(errors.Forbidden):
        meetings.create_meeting(
            member, unit, {"title": "定例会", "starts_at": datetime(2026, 11, 1, 1)}
        )


def test_attendees_members_and_guests_present_or_absent(meeting, facilitator):
    meetings.add_attendee(facilitator, meeting, facilitator)
    guest = meetings.add_attendee(facilitator, meeting, None, "山本 翔", "上州システムサービス")
    meetings.set_presence(facilitator, guest, False)
    db.session.commit()
    assert [(a.name, a.organisation_name, a.present) for a in meeting.attendees][1] == (
        "山本 翔",
        "上州システムサービス",
        False,
    )


def test_add_goal_and_result_under_it(meeting, facilitator):
    goal = items.add_item(facilitator, meeting, "goal", "転出証明書の様式を決める")
    result = items.add_item(facilitator, meeting, "result", "様式案Bで合意", parent=goal)
    db.session.commit()
    sheets = items.sheets(meeting)
    assert sheets["goals"] == [(goal, [result])]
    assert meeting.change_seq == 3
    assert actions(meeting)[-2:] == ["add", "add"]


def test_goal_links_a_ticket_of_the_same_project(meeting, facilitator, make_ticket, make_unit):
    ticket = make_ticket(unit=meeting.unit)
    goal = items.add_item(facilitator, meeting, "goal", "チケットの件", ticket=ticket.id)
    assert goal.ticket_id == ticket.id
    foreign = make_ticket(unit=make_unit())
    with pytest.raises(errors.Invalid):
        items.add_item(facilitator, meeting, "goal", "よその件", ticket=foreign.id)


def test_blank_text_is_refused(meeting, facilitator):
    with pytest.raises(errors.Invalid) as error:
        items.add_item(facilitator, meeting, "break", "   ")
    assert error.value.field == "text"


def test_homework_creates_its_ticket_with_who_what_by_when(meeting, facilitator, make_user):
    goal = items.add_item(facilitator, meeting, "goal", "仕様を決める")
    item = homework.add_homework(
        facilitator, meeting, facilitator, "仕様を確認する", date(2026, 12, 5), goal=goal
    )
    db.session.commit()
    ticket = item.ticket
    assert (ticket.assignee_id, ticket.subject, ticket.due_date) == (
        facilitator.id,
        "仕様を確認する",
        date(2026, 12, 5),
    )
    assert ticket.tracker.name == "問い合わせ管理"
    assert ticket.project_id == meeting.unit_id
    assert item.parent_item_id == goal.id


def test_homework_for_a_guest_keeps_the_name_on_the_ticket(meeting, facilitator):
    item = homework.add_homework(
        facilitator, meeting, "山本（上州）", "見積を出す", date(2026, 12, 1)
    )
    assert (item.ticket.assignee_id, item.ticket.guest_name) == (None, "山本（上州）")


@pytest.mark.parametrize(
    "who,what,due,field",
    [
        ("", "確認する", date(2026, 12, 5), "who"),
        ("鈴木", "", date(2026, 12, 5), "what"),
        ("鈴木", "確認する", None, "due_date"),
    ],
)
def test_homework_needs_who_what_and_by_when(meeting, facilitator, who, what, due, field):
    with pytest.raises(errors.Invalid) as error:
        homework.add_homework(facilitator, meeting, who, what, due)
    assert error.value.field == field


def test_homework_ticket_is_a_child_of_the_goals_ticket(meeting, facilitator, make_ticket):
    parent = make_ticket(unit=meeting.unit)
    goal = items.add_item(facilitator, meeting, "goal", "の件", ticket=parent)
    item = homework.add_homework(
        facilitator, meeting, "鈴木", "調べる", date(2026, 12, 5), goal=goal
    )
    assert item.ticket.parent_id == parent.id


def test_edit_item_and_version_conflict_shows_current_text(meeting, facilitator, make_item):
    item = make_item(meeting, "break", "雑談: 庁舎移転", actor=facilitator)
    items.edit_item(facilitator, item, "庁舎移転の時期", expected_version=1)
    db.session.commit()
    with pytest.raises(writes.StaleItem) as error:
        items.edit_item(facilitator, item, "古い版からの保存", expected_version=1)
    assert error.value.item.text == "庁舎移転の時期"
    db.session.rollback()
    assert item.text == "庁舎移転の時期" and item.version == 2


def test_edit_homework_goes_to_the_ticket_journal(meeting, facilitator, make_item):
    item = make_item(meeting, "homework", actor=facilitator, who="鈴木", due_date=date(2026, 12, 5))
    homework.edit_homework(facilitator, item, due_date=date(2026, 12, 12), expected_version=1)
    db.session.commit()
    detail = db.session.scalar(
        sa.select(JournalDetail)
        .join(Journal)
        .where(Journal.ticket_id == item.ticket_id, JournalDetail.name == "due_date")
    )
    assert (detail.old_value, detail.new_value) == ("2026-12-05", "2026-12-12")
    assert item.version == 2


def test_move_preview_to_result_keeps_the_item_and_its_history(meeting, facilitator, make_item):
    preview = make_item(meeting, "preview", "次期システムの帳票", actor=facilitator)
    moved = items.move_item(facilitator, preview, "result")
    db.session.commit()
    assert moved.id == preview.id and moved.kind == "result"
    events = items.history(moved)
    assert [e.action for e in events] == ["add", "move"]
    assert (events[1].before["kind"], events[1].after["kind"]) == ("preview", "result")


def test_move_preview_to_homework_makes_the_ticket(meeting, facilitator, make_item):
    preview = make_item(meeting, "preview", "帳票の文字コード\n詳しくは別紙", actor=facilitator)
    item = items.move_item(
        facilitator, preview, "homework", who=facilitator, due_date=date(2026, 12, 5)
    )
    db.session.commit()
    assert item.kind == "homework"
    assert item.ticket.subject == "帳票の文字コード"
    assert "詳しくは別紙" in item.ticket.description


def test_move_homework_to_result_closes_its_ticket_with_the_decision(
    meeting, facilitator, make_item
):
    item = make_item(meeting, "homework", actor=facilitator, what="様式を決める")
    ticket = item.ticket
    items.move_item(facilitator, item, "result", what="様式Bに決定")
    db.session.commit()
    assert item.kind == "result" and item.text == "様式Bに決定"
    assert ticket.is_closed and ticket.decision == "様式Bに決定"


def test_moves_the_talk_does_not_describe_are_refused(meeting, facilitator, make_item):
    item = make_item(meeting, "homework", actor=facilitator)
    with pytest.raises(errors.Invalid):
        items.move_item(facilitator, item, "break")


def test_reorder_within_a_sheet(meeting, facilitator, make_item):
    a, b, c = (make_item(meeting, "goal", t, actor=facilitator) for t in ("一", "二", "三"))
    items.reorder_item(facilitator, c, 0)
    db.session.commit()
    assert [g.text for g, _ in items.sheets(meeting)["goals"]] == ["三", "一", "二"]
    assert actions(meeting)[-1] == "reorder"


def test_sheet_three_is_one_list_of_break_and_preview(meeting, facilitator, make_item):
    make_item(meeting, "break", "休憩中の話", actor=facilitator)
    p = make_item(meeting, "preview", "来年度の話", actor=facilitator)
    items.reorder_item(facilitator, p, 0)
    assert [i.text for i in items.sheets(meeting)["third"]] == ["来年度の話", "休憩中の話"]


def test_delete_marks_and_is_recorded(meeting, facilitator, make_item):
    item = make_item(meeting, "break", "消す項目", actor=facilitator)
    items.delete_item(facilitator, item)
    db.session.commit()
    assert item.deleted_at is not None
    assert item not in items.sheets(meeting)["all"]
    assert actions(meeting)[-1] == "delete"


def test_deleting_homework_closes_its_ticket_with_a_note(meeting, facilitator, make_item):
    item = make_item(meeting, "homework", actor=facilitator)
    items.delete_item(facilitator, item)
    db.session.commit()
    assert item.ticket.status.name == "却下"
    assert "議事録から削除しました" in item.ticket.journals[-1].notes


def test_confirmed_minutes_refuse_every_edit(make_meeting, make_item, facilitator, unit):
    meeting = make_meeting(unit=unit, actor=facilitator)
    item = make_item(meeting, "goal", "目標", actor=facilitator)
    meetings.set_status(facilitator, meeting, "confirmed")
    db.session.commit()
    attempts = [
        lambda: items.add_item(facilitator, meeting, "break", "追加"),
        lambda: items.edit_item(facilitator, item, "変更"),
        lambda: items.move_item(facilitator, item, "preview"),
        lambda: items.reorder_item(facilitator, item, 0),
        lambda: items.delete_item(facilitator, item),
        lambda: meetings.add_attendee(facilitator, meeting, None, "客", "某社"),
    ]
    for attempt in attempts:
        with pytest.raises(errors.Locked):
            attempt()
    db.session.rollback()
    assert item.text == "目標" and item.deleted_at is None


def test_earlier_open_homework_is_listed_and_carried_over(
    make_meeting, make_item, facilitator, unit
):
    first = make_meeting(unit=unit, actor=facilitator, starts_at=datetime(2026, 11, 1, 1))
    hw = make_item(first, "homework", actor=facilitator, what="見積を確認")
    done = make_item(first, "homework", actor=facilitator, what="済んだ宿題")
    items.move_item(facilitator, done, "result")
    second = make_meeting(unit=unit, actor=facilitator, starts_at=datetime(2026, 11, 8, 1))
    db.session.commit()
    assert carry_over.earlier_open_homework(second) == [hw]

    result = carry_over.carry_over(facilitator, second, hw, decision="見積どおりで承認")
    db.session.commit()
    assert (result.meeting_id, result.kind, result.origin_item_id) == (second.id, "result", hw.id)
    assert hw.kind == "homework" and hw.meeting_id == first.id  # earlier minutes unchanged
    assert hw.ticket.is_closed
    assert carry_over.earlier_open_homework(second) == []
    assert [e.action for e in items.history(result)] == ["add", "add"]


def test_a_decision_recorded_on_the_ticket_is_offered_at_the_next_meeting(
    make_meeting, make_item, facilitator, unit, status_named
):
    from tickets import services as tickets

    first = make_meeting(unit=unit, actor=facilitator, starts_at=datetime(2026, 11, 1, 1))
    hw = make_item(first, "homework", actor=facilitator, what="帳票の様式を決める")
    tickets.update_ticket(
        facilitator, hw.ticket, {"status": status_named("完了"), "decision": "様式Bで確定"}
    )
    second = make_meeting(unit=unit, actor=facilitator, starts_at=datetime(2026, 11, 8, 1))
    db.session.commit()
    assert carry_over.earlier_open_homework(second) == [hw]

    result = carry_over.carry_over(facilitator, second, hw)
    db.session.commit()
    assert result.text == "様式Bで確定" and result.origin_item_id == hw.id
    assert hw.ticket.status == status_named("完了")
    assert carry_over.earlier_open_homework(second) == []


def test_keep_open_with_a_new_date(make_meeting, make_item, facilitator, unit):
    first = make_meeting(unit=unit, actor=facilitator, starts_at=datetime(2026, 11, 1, 1))
    hw = make_item(first, "homework", actor=facilitator)
    second = make_meeting(unit=unit, actor=facilitator, starts_at=datetime(2026, 11, 8, 1))
    carry_over.keep_open(facilitator, second, hw, due_date=date(2027, 1, 15))
    db.session.commit()
    assert hw.ticket.due_date == date(2027, 1, 15)
    assert actions(second)[-1] == "keep_open"
    assert carry_over.earlier_open_homework(second) == [hw]


def test_preview_becomes_a_goal_of_a_later_meeting(make_meeting, make_item, facilitator, unit):
    first = make_meeting(unit=unit, actor=facilitator, starts_at=datetime(2026, 11, 1, 1))
    preview = make_item(first, "preview", "マイナ連携の検討", actor=facilitator)
    second = make_meeting(unit=unit, actor=facilitator, starts_at=datetime(2026, 11, 8, 1))
    assert carry_over.earlier_previews(second) == [preview]
    goal = carry_over.pull_as_goal(facilitator, second, preview)
    db.session.commit()
    assert (goal.kind, goal.text, goal.origin_item_id) == ("goal", "マイナ連携の検討", preview.id)
    assert carry_over.earlier_previews(second) == []
    with pytest.raises(errors.Invalid):
        carry_over.pull_as_goal(facilitator, first, items.add_item(None, second, "preview", "x"))


def test_copy_as_next_keeps_attendees_and_unfinished_goals(
    make_meeting, make_item, facilitator, unit
):
    meeting = make_meeting(unit=unit, actor=facilitator, attendees=[facilitator, ("山本", "上州")])
    reached = make_item(meeting, "goal", "決まった目標", actor=facilitator)
    make_item(meeting, "result", "決定", actor=facilitator, parent=reached)
    make_item(meeting, "goal", "持ち越す目標", actor=facilitator)
    nxt = meetings.copy_as_next(facilitator, meeting, datetime(2026, 12, 1, 1))
    db.session.commit()
    assert nxt.previous_id == meeting.id and nxt.unit_id == meeting.unit_id
    assert [a.name for a in nxt.attendees] == ["鈴木 一郎", "山本"]
    assert [g.text for g, _ in items.sheets(nxt)["goals"]] == ["持ち越す目標"]


def test_every_write_bumps_change_seq_and_events_since(meeting, facilitator, make_item):
    seq = meeting.change_seq
    item = make_item(meeting, "goal", "目標", actor=facilitator)
    items.edit_item(facilitator, item, "目標（改）")
    db.session.commit()
    assert meeting.change_seq == seq + 2
    assert [e.action for e in items.events_since(meeting, seq)] == ["add", "edit"]
    assert items.events_since(meeting, meeting.change_seq) == []
