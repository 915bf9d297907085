"""Demo confirmations beyond "everyone signed off in the room" (demo.minutes does those):

- a meeting whose revision 1 drew an objection from the vendor, was corrected and confirmed as
  revision 2 on own devices, in the room and by a guest's one-time link (both revisions and
  their confirmations stay readable, with the difference between them);
- today's meeting, frozen and half confirmed: the live panel and its QR code to try out.

Everything goes through the minutes package's writes (meetings, items, revisions,
confirmations); times are then set to the meetings' own dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from core.extensions import db
from core.timeutil import JST, fiscal_year_of, local_today
from demo.base import demo_users
from minutes import confirmations, items, meetings, revisions
from minutes import homework as minutes_homework
from minutes.models import Confirmation, ItemEvent, Meeting, Revision
from projects.models import Project

CORRECTED = "住民記録システム 転入手続き 臨時打合せ"
TODAY = "個人住民税 電子申告 確認会"


def load() -> bool:
    if db.session.scalar(sa.select(Meeting.id).where(Meeting.title == CORRECTED)):
        return False
    users = demo_users()
    fy = fiscal_year_of(local_today())
    units = {
        ident: db.session.scalar(
            sa.select(Project).where(Project.identifier == f"maebashi-{fy}-{ident}")
        )
        for ident in ("jyuki", "kojin")
    }
    if None in units.values():
        return False
    today = local_today()
    _corrected(units["jyuki"], users, _weekday(today - timedelta(days=7)))
    _half_confirmed(units["kojin"], users, today)
    return True


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), JST).astimezone(UTC).replace(tzinfo=None)


def _weekday(day: date) -> date:
    return day - timedelta(days=max(0, day.weekday() - 4))


def _meeting(unit, title, day, place, facilitator, people, guests) -> Meeting:
    meeting = meetings.create_meeting(
        facilitator,
        unit,
        {
            "title": title,
            "starts_at": _at(day, 14),
            "ends_at": _at(day, 15),
            "place": place,
            "facilitator_id": facilitator.id,
        },
    )
    for user in people:
        meetings.add_attendee(facilitator, meeting, user)
    for name, org in guests:
        meetings.add_attendee(facilitator, meeting, None, name, org)
    meetings.set_status(facilitator, meeting, "in_session")
    return meeting


def _corrected(unit, users, day: date) -> None:
    suzuki, sato, yamamoto, nakamura = (
        users[n] for n in ("suzuki", "sato", "yamamoto", "nakamura")
    )
    meeting = _meeting(
        unit,
        CORRECTED,
        day,
        "本庁舎 3階 市民課会議室",
        suzuki,
        [suzuki, sato, yamamoto, nakamura],
        [("木村 聡", "前橋市 情報政策課")],
    )
    goal = items.add_item(suzuki, meeting, "goal", "転入届の**オンライン事前入力**の項目を決める")
    items.add_item(
        suzuki,
        meeting,
        "result",
        "事前入力は氏名・生年月日・転入前住所・世帯構成の4項目とする。",
        parent=goal,
    )
    goal2 = items.add_item(suzuki, meeting, "goal", "事前入力データの保存期間を決める")
    homework = minutes_homework.add_homework(
        suzuki,
        meeting,
        yamamoto,
        "保存期間ごとのストレージ費用の見積を出す",
        day + timedelta(days=14),
        goal=goal2,
    )
    items.add_item(suzuki, meeting, "break", "窓口の待ち時間は平均 35 分（3月第4週）")
    items.add_item(
        suzuki, meeting, "preview", "転出届のオンライン化（マイナポータル経由）も検討したい"
    )

    first = revisions.freeze(suzuki, meeting)
    attendee = {a.name: a for a in meeting.attendees}
    confirmations.confirm(sato, first, attendee[sato.name])
    confirmations.object_to(
        yamamoto,
        first,
        attendee[yamamoto.name],
        "見積の期限は2週間ではなく、月末（3週間後）で合意したはずです。",
    )
    # The facilitator corrects the due date: back in session, then revision 2.
    minutes_homework.edit_homework(suzuki, homework, due_date=day + timedelta(days=21))
    second = revisions.freeze(suzuki, meeting)
    for user in (suzuki, sato, yamamoto):
        confirmations.confirm(user, second, attendee[user.name])
    confirmations.record_in_room(suzuki, second, attendee[nakamura.name])
    token = confirmations.make_link_token(suzuki, second, attendee["木村 聡"])
    confirmations.answer_by_link(token)
    db.session.flush()
    _date(meeting, _at(day, 14), {first.id: 50, second.id: 58})


def _half_confirmed(unit, users, day: date) -> None:
    suzuki, kato, yamamoto, sato = (users[n] for n in ("suzuki", "kato", "yamamoto", "sato"))
    meeting = _meeting(
        unit,
        TODAY,
        day,
        "本庁舎 2階 市民税課 打合せスペース",
        suzuki,
        [suzuki, sato, kato, yamamoto],
        [],
    )
    goal = items.add_item(suzuki, meeting, "goal", "給与支払報告書の電子申告の受付開始日を決める")
    items.add_item(suzuki, meeting, "result", "受付開始は1月6日（月）9:00 とする。", parent=goal)
    goal2 = items.add_item(suzuki, meeting, "goal", "受付エラー時の事業所への連絡方法を決める")
    minutes_homework.add_homework(
        suzuki, meeting, kato, "エラー通知の文面案を作成する", day + timedelta(days=10), goal=goal2
    )
    items.add_item(suzuki, meeting, "preview", "特別徴収税額通知の電子送付の拡大")
    revision = revisions.freeze(suzuki, meeting)
    attendee = {a.name: a for a in meeting.attendees}
    confirmations.confirm(suzuki, revision, attendee[suzuki.name])
    confirmations.confirm(kato, revision, attendee[kato.name])
    db.session.flush()
    _date(meeting, _at(day, 14), {revision.id: 55})


def _date(meeting: Meeting, start: datetime, frozen_minutes: dict[int, int]) -> None:
    """History dated within the meeting: events a few seconds apart, freezes near the end."""
    events = db.session.scalars(
        sa.select(ItemEvent).where(ItemEvent.meeting_id == meeting.id).order_by(ItemEvent.id)
    )
    for n, event in enumerate(events):
        event.at = start + timedelta(seconds=25 * n)
    for item in meeting.items:
        item.created_at = item.updated_at = start + timedelta(minutes=2)
    for revision in db.session.scalars(
        sa.select(Revision).where(Revision.meeting_id == meeting.id)
    ):
        revision.frozen_at = start + timedelta(minutes=frozen_minutes[revision.id])
        answers = db.session.scalars(
            sa.select(Confirmation)
            .where(Confirmation.revision_id == revision.id)
            .order_by(Confirmation.id)
        )
        for n, confirmation in enumerate(answers, start=1):
            confirmation.at = revision.frozen_at + timedelta(minutes=1, seconds=40 * n)
    meeting.created_at = start - timedelta(days=2)
    db.session.flush()
