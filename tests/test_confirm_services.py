"""Nothing dropped, revisions, sign-off and guest links (minutes.revisions, .confirmations)."""

import hashlib
import json

import pytest
import sqlalchemy as sa

from core import errors
from core.extensions import db
from minutes import confirmations, items, meetings, revisions
from minutes.models import Confirmation, Revision
from tickets import services as tickets


def attendee_of(meeting, user=None, guest=None):
    for a in meeting.attendees:
        if (user is not None and a.user_id == user.id) or (guest and a.guest_name == guest):
            return a
    raise LookupError


def confirm_all(meeting, revision):
    """Everyone present signs off: members on their own device, guests in the room."""
    for a in meeting.attendees:
        if a.user is not None:
            confirmations.confirm(a.user, revision, a)
        else:
            confirmations.record_in_room(meeting.facilitator, revision, a)
    db.session.commit()


# --- 1. nothing dropped -------------------------------------------------------------------


def test_a_goal_without_result_or_homework_refuses_the_freeze(ready_meeting, make_item):
    meeting = ready_meeting()
    goal = make_item(meeting, "goal", "証明書発行手数料の改定を決める")
    with pytest.raises(revisions.FreezeRefused) as refused:
        revisions.freeze(meeting.facilitator, meeting)
    assert [p.item_id for p in refused.value.problems] == [goal.id]
    assert "証明書発行手数料" in refused.value.problems[0].message
    assert meeting.revisions == []


def test_a_goal_marked_not_discussed_may_be_frozen_and_says_so(ready_meeting, make_item):
    meeting = ready_meeting()
    goal = make_item(meeting, "goal", "証明書発行手数料の改定を決める")
    revisions.mark_not_discussed(meeting.facilitator, goal)
    revision = revisions.freeze(meeting.facilitator, meeting)
    goals = revisions.content_of(revision)["goals"]
    assert [g["not_discussed"] for g in goals] == [False, False, True]


def test_homework_that_lost_its_due_date_refuses_the_freeze(ready_meeting):
    meeting = ready_meeting()
    homework = next(i for i in meeting.items if i.kind == "homework")
    tickets.update_ticket(None, homework.ticket, {"due_date": None})
    problems = revisions.check_nothing_dropped(meeting)
    assert [p.item_id for p in problems] == [homework.id]
    assert "by when" in problems[0].message or "いつまでに" in problems[0].message


def test_nobody_present_refuses_the_freeze(ready_meeting):
    meeting = ready_meeting()
    for a in meeting.attendees:
        meetings.set_presence(None, a, False)
    assert [p.item_id for p in revisions.check_nothing_dropped(meeting)] == [None]


# --- 2. revisions -------------------------------------------------------------------------


def test_freeze_stores_canonical_content_and_its_sha256(ready_meeting):
    meeting = ready_meeting()
    revision = revisions.freeze(meeting.facilitator, meeting)
    assert revision.number == 1 and meeting.status == "awaiting_confirmation"
    data = json.loads(revision.content)
    # Anyone can recompute it: sorted keys, no whitespace, UTF-8.
    again = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert again == revision.content
    assert hashlib.sha256(again.encode("utf-8")).hexdigest() == revision.fingerprint
    assert [a["name"] for a in data["attendees"]] == [
        "鈴木 一郎",
        "佐藤 花子",
        "山本 翔",
        "佐々木 健",
    ]
    assert data["results"][0]["text"] == "窓口とコンビニ交付の両方で対応する"
    homework = data["homework"][0]
    assert (homework["who"], homework["what"], homework["due_date"]) == (
        "佐藤 花子",
        "帳票レイアウトの見本を作って共有する",
        "2026-12-11",
    )
    assert [len(data[k]) for k in ("goals", "breaks", "previews")] == [2, 1, 1]


def test_an_edit_after_freezing_starts_the_next_revision(ready_meeting, make_item):
    meeting = ready_meeting()
    first = revisions.freeze(meeting.facilitator, meeting)
    confirmations.confirm(meeting.facilitator, first, attendee_of(meeting, meeting.facilitator))
    db.session.commit()
    make_item(meeting, "break", "次回は本庁舎で開催する", actor=meeting.facilitator)
    assert meeting.status == "in_session"
    second = revisions.freeze(meeting.facilitator, meeting)
    assert (first.number, second.number) == (1, 2)
    assert first.fingerprint != second.fingerprint
    assert "次回は本庁舎" not in first.content and "次回は本庁舎" in second.content
    assert len(first.confirmations) == 1  # revision 1 and its confirmation stay


def test_freezing_twice_is_refused(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    freeze_meeting(meeting)
    with pytest.raises(revisions.ConfirmationError):
        revisions.freeze(meeting.facilitator, meeting)


def test_only_who_runs_the_meeting_freezes(ready_meeting):
    meeting = ready_meeting()
    member = next(a.user for a in meeting.attendees if a.user and a.user != meeting.facilitator)
    with pytest.raises(errors.Forbidden):
        revisions.freeze(member, meeting)


# --- 3. sign-off --------------------------------------------------------------------------


def test_a_confirmation_records_who_organisation_method_and_fingerprint(
    ready_meeting, freeze_meeting
):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    sato = next(a for a in meeting.attendees if a.name == "佐藤 花子")
    c = confirmations.confirm(sato.user, revision, sato)
    assert (c.name, c.organisation, c.method, c.fingerprint, c.objection) == (
        "佐藤 花子",
        "前橋市",
        "own_device",
        revision.fingerprint,
        None,
    )
    assert c.at is not None and c.user_id == sato.user_id


def test_confirming_twice_is_already_confirmed_and_stored_once(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    me = attendee_of(meeting, meeting.facilitator)
    confirmations.confirm(meeting.facilitator, revision, me)
    db.session.commit()
    with pytest.raises(confirmations.AlreadyConfirmed):
        confirmations.confirm(meeting.facilitator, revision, me)
    db.session.rollback()
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Confirmation))
    assert count == 1


def test_nobody_confirms_for_someone_else_on_their_own_device(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    other = next(a for a in meeting.attendees if a.name == "山本 翔")
    with pytest.raises(errors.Forbidden):
        confirmations.confirm(meeting.facilitator, revision, other)


def test_all_present_confirm_then_the_minutes_are_confirmed_and_locked(
    ready_meeting, freeze_meeting
):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    confirm_all(meeting, revision)
    assert meeting.status == "confirmed" and confirmations.is_confirmed(revision)
    with pytest.raises(errors.Locked):
        items.add_item(meeting.facilitator, meeting, "break", "追記")


def test_an_absent_attendee_is_not_waited_for(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    guest = attendee_of(meeting, guest="佐々木 健")
    meetings.set_presence(None, guest, False)
    revision = freeze_meeting(meeting)
    for a in meeting.attendees:
        if a.user is not None:
            confirmations.confirm(a.user, revision, a)
    assert meeting.status == "confirmed"
    with pytest.raises(revisions.ConfirmationError):
        confirmations.record_in_room(meeting.facilitator, revision, guest)


def test_an_objection_holds_the_confirmation_and_can_be_withdrawn(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    yamamoto = next(a for a in meeting.attendees if a.name == "山本 翔")
    confirmations.object_to(yamamoto.user, revision, yamamoto, "宿題の期限は12月18日のはずです")
    for a in meeting.attendees:
        if a is not yamamoto and a.user is not None:
            confirmations.confirm(a.user, revision, a)
        elif a.user is None:
            confirmations.record_in_room(meeting.facilitator, revision, a)
    state = confirmations.confirmation_state(meeting)
    assert meeting.status == "awaiting_confirmation"
    assert (state["confirmed"], state["objections"], state["required"]) == (3, 1, 4)
    assert next(r for r in state["attendees"] if r["name"] == "山本 翔")["objection"].startswith(
        "宿題の期限"
    )
    confirmations.confirm(yamamoto.user, revision, yamamoto)
    assert meeting.status == "confirmed"


def test_an_old_revision_cannot_be_confirmed(ready_meeting, freeze_meeting, make_item):
    meeting = ready_meeting()
    old = freeze_meeting(meeting)
    make_item(meeting, "break", "追記", actor=meeting.facilitator)
    freeze_meeting(meeting)
    me = attendee_of(meeting, meeting.facilitator)
    with pytest.raises(revisions.ConfirmationError, match="1"):
        confirmations.confirm(meeting.facilitator, old, me)


def test_correcting_confirmed_minutes_makes_a_new_revision_to_confirm(
    ready_meeting, freeze_meeting
):
    meeting = ready_meeting()
    first = freeze_meeting(meeting)
    confirm_all(meeting, first)
    revisions.start_new_revision(meeting.facilitator, meeting)
    items.add_item(meeting.facilitator, meeting, "break", "訂正: 会場は会議室B")
    second = freeze_meeting(meeting)
    assert meeting.status == "awaiting_confirmation" and second.number == 2
    assert confirmations.is_confirmed(first) and not confirmations.is_confirmed(second)


# --- 4. guest links -----------------------------------------------------------------------


def test_a_guest_link_confirms_once(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    guest = attendee_of(meeting, guest="佐々木 健")
    token = confirmations.make_link_token(meeting.facilitator, revision, guest)
    c = confirmations.answer_by_link(token)
    db.session.commit()
    assert (c.method, c.name, c.organisation) == ("link", "佐々木 健", "赤城データ株式会社")
    with pytest.raises(confirmations.AlreadyConfirmed):
        confirmations.answer_by_link(token)


def test_an_expired_or_forged_link_is_refused(app, ready_meeting, freeze_meeting, monkeypatch):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    guest = attendee_of(meeting, guest="佐々木 健")
    token = confirmations.make_link_token(meeting.facilitator, revision, guest)
    with pytest.raises(confirmations.LinkInvalid):
        confirmations.answer_by_link(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    monkeypatch.setitem(app.config, "SANMAI_CONFIRM_LINK_HOURS", -1)
    with pytest.raises(confirmations.LinkInvalid, match="expired|期限"):
        confirmations.answer_by_link(token)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Confirmation)) == 0


def test_revisions_are_never_overwritten(ready_meeting, freeze_meeting, make_item):
    meeting = ready_meeting()
    first = freeze_meeting(meeting)
    content = first.content
    make_item(meeting, "preview", "追加のさきどり", actor=meeting.facilitator)
    freeze_meeting(meeting)
    db.session.expire_all()
    assert db.session.get(Revision, first.id).content == content
