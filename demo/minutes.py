"""Demo meetings: in every business unit of this fiscal year, two past meetings with the three
sheets filled (confirmed by their attendees), homework carried over from the first to the
second (some decided, some kept open and now overdue) and the next meeting, prepared.

Everything goes through the services, as a facilitator would; times are then set to the
meetings' own dates so the history reads naturally.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from core.extensions import db
from core.timeutil import JST, fiscal_year_of, local_today
from demo.base import demo_users
from minutes import carry_over, meetings
from minutes import homework as minutes_homework
from minutes import items as minutes_items
from minutes.models import Item, ItemEvent, Meeting
from projects.models import Project
from tickets import services as tickets
from tickets.models import Status, Ticket

MARKER = "住民記録システム 定例会"

# A meeting: goals as (text, [results], [(who, what, due in days after the meeting)]),
# sheet ③ as (kind, text). Names in `who` are logins, or a guest's name.
UNITS = {
    "maebashi-jyuki": {
        "title": MARKER,
        "place": "本庁舎 3階 市民課会議室",
        "people": ["suzuki", "sato", "okada", "yamamoto", "nakamura"],
        "guests": [],
        "first": {
            "goals": [
                (
                    "転出証明書の新様式の帳票レイアウトを決める",
                    ["様式案Bで決定。備考欄は2行に広げる。", "帳票IDは JK-0012 とする。"],
                    [],
                ),
                (
                    "外字の印字不具合（「〓」になる件）への対応方針を決める",
                    [],
                    [("yamamoto", "外字が「〓」で印字される原因を調査し報告する", 10)],
                ),
                (
                    "3月の繁忙期の窓口延長に合わせた夜間バッチの開始時刻を決める",
                    ["3/23〜4/3 の夜間バッチは 21:00 開始に繰り下げる。"],
                    [("nakamura", "バッチ開始時刻変更の手順書を作成する", 7)],
                ),
            ],
            "third": [
                ("break", "3月末の窓口混雑は例年の1.3倍。整理券システムの増設は別途検討。"),
                ("preview", "マイナンバーカードの電子証明書更新案内の文面を見直したい"),
            ],
        },
        "second": {
            "carry": [(0, None, -3), (1, "手順書どおりで承認。3/23 から適用する。", None)],
            "goals": [
                (
                    "住基ネット連携バッチ停止の再発防止策を決める",
                    ["CS端末のタイムアウト値を 60 秒から 180 秒に変更する。"],
                    [("nakamura", "タイムアウト値変更後の監視結果を報告する", 7)],
                ),
                (
                    "転出証明書の新様式の本番適用日を決める",
                    [],
                    [("sato", "新様式の適用日について市民課内で合意を取る", 5)],
                ),
            ],
            "third": [
                ("break", "庁内の LAN 更改が 2 月に予定されている（情報政策課より）"),
                ("preview", "コンビニ交付の帳票にも新様式を適用するか検討が必要"),
            ],
        },
        "next": ["外字印字不具合の調査結果を確認し、改修方針を決める"],
    },
    "maebashi-kojin": {
        "title": "個人住民税 システム打合せ",
        "place": "本庁舎 2階 市民税課 打合せスペース",
        "people": ["suzuki", "sato", "kato", "yamamoto"],
        "guests": [("赤城データ 税務チーム 井上", "赤城データ株式会社")],
        "first": {
            "goals": [
                (
                    "特別徴収税額通知の電子送付の対象事業所を決める",
                    ["従業員 50 人以上の事業所から先行して電子送付とする。"],
                    [("kato", "対象事業所の抽出条件を整理して一覧を出す", 7)],
                ),
                (
                    "給与支払報告書の eLTAX 受付設定の確認",
                    ["受付設定は現行どおり。テスト受付を 1 月第 2 週に行う。"],
                    [],
                ),
            ],
            "third": [
                ("break", "昨年度は紙の報告書の入力に延べ 40 人日かかった"),
                ("preview", "普通徴収の納付書に QR コード決済を載せられるか"),
            ],
        },
        "second": {
            "carry": [(0, None, -5)],
            "goals": [
                (
                    "税額決定通知書の封入封緘の委託範囲を決める",
                    ["封入封緘は委託、発送前の抜き取り検査は市で行う。"],
                    [("赤城データ 税務チーム 井上", "封入封緘の見積を提出する", 10)],
                ),
            ],
            "third": [("preview", "来年度の課税スケジュール前倒しの可否")],
        },
        "next": ["特別徴収の電子送付対象一覧を確認する"],
    },
    "maebashi-kotei": {
        "title": "固定資産税 評価替え準備会議",
        "place": "北庁舎 4階 資産税課",
        "people": ["suzuki", "sato", "nakamura"],
        "guests": [],
        "first": {
            "goals": [
                (
                    "評価替えに伴う路線価データの取込手順を決める",
                    ["CSV 取込とし、取込前に件数と合計額を双方で照合する。"],
                    [("nakamura", "取込用 CSV の項目定義書を作成する", 14)],
                ),
            ],
            "third": [
                ("break", "航空写真の撮影は 1 月 1 日時点。天候次第で前後する。"),
                ("preview", "家屋評価システムとの連携方式の見直し"),
            ],
        },
        "second": {
            "carry": [(0, "項目定義書 第2版で確定。", None)],
            "goals": [
                (
                    "課税明細書の表記ゆれ（番地の全角・半角）の統一方針を決める",
                    [],
                    [("sato", "表記ゆれの件数を地区別に集計する", 4)],
                ),
            ],
            "third": [("break", "3 月議会で評価替えの説明を求められる可能性あり")],
        },
        "next": ["表記ゆれの集計結果を見て統一方針を決める"],
    },
    "maebashi-kokuho": {
        "title": "国民健康保険 システム定例会",
        "place": "本庁舎 1階 国保年金課",
        "people": ["suzuki", "sato", "yamamoto"],
        "guests": [],
        "first": {
            "goals": [
                (
                    "保険証廃止に伴う資格確認書の発行スケジュールを決める",
                    ["資格確認書は 7 月の一斉更新に合わせて発行する。"],
                    [("yamamoto", "資格確認書の帳票改修の影響範囲を調べる", 10)],
                ),
            ],
            "third": [("preview", "マイナ保険証の利用率を毎月の定例で報告してほしい")],
        },
        "second": {
            "carry": [(0, None, -2)],
            "goals": [
                (
                    "高額療養費の申請勧奨通知の送付時期を決める",
                    ["診療月の 4 か月後に送付する。"],
                    [("yamamoto", "勧奨通知の抽出条件を設定する", 9)],
                ),
            ],
            "third": [("break", "窓口では資格確認書についての問い合わせが増えている")],
        },
        "next": ["資格確認書の帳票改修の影響範囲を確認する"],
    },
    "maebashi-kaigo": {
        "title": "介護保険 システム打合せ",
        "place": "本庁舎 5階 会議室A",
        "people": ["suzuki", "okada", "kato"],
        "guests": [],
        "first": {
            "goals": [
                (
                    "介護保険料の減免申請をオンライン化する範囲を決める",
                    ["まず災害減免だけをオンライン申請の対象とする。"],
                    [("kato", "オンライン申請フォームの項目案を作る", 14)],
                ),
            ],
            "third": [("preview", "要介護認定の更新通知を電子化できないか")],
        },
        "second": {
            "carry": [(0, "項目案どおり。添付書類は任意とする。", None)],
            "goals": [
                (
                    "負担限度額認定証の一斉更新の準備",
                    ["6 月中旬に発送。問い合わせ窓口を 2 名増員する。"],
                    [("okada", "臨時職員の配置について人事課と調整する", 6)],
                ),
            ],
            "third": [("break", "ケアマネ事業所からの紙の提出がまだ 7 割")],
        },
        "next": ["オンライン申請の公開日を決める"],
    },
    "council-jyuki": {
        "title": "三市協議会 住民記録部会",
        "place": "高崎市役所 12階 第1会議室（オンライン併用）",
        "people": ["ito", "suzuki", "tanaka", "watanabe", "yamamoto"],
        "guests": [],
        "first": {
            "goals": [
                (
                    "三市共通の外字の同定ルールを決める",
                    ["文字情報基盤の MJ 文字図形名で同定する。"],
                    [("yamamoto", "三市の外字の対応表（案）を作る", 14)],
                ),
                (
                    "標準化対応のスケジュールの確認",
                    [],
                    [("tanaka", "高崎市の移行リハーサル日程を確定する", 10)],
                ),
            ],
            "third": [("preview", "三市合同での職員研修を来年度に実施したい")],
        },
        "second": {
            "carry": [(0, None, -4), (1, "リハーサルは 2 回、11 月と 1 月に行う。", None)],
            "goals": [
                (
                    "伊勢崎市の住所コード変換の方式を決める",
                    ["変換表方式とし、変換表は伊勢崎市が管理する。"],
                    [("watanabe", "住所コード変換表の初版を共有する", 7)],
                ),
            ],
            "third": [("break", "次回は伊勢崎市役所で開催")],
        },
        "next": ["三市の外字対応表（案）を確認する"],
    },
    "council-zeimu": {
        "title": "三市協議会 税務部会",
        "place": "前橋市役所 11階 会議室（オンライン併用）",
        "people": ["ito", "suzuki", "takahashi", "nakamura"],
        "guests": [],
        "first": {
            "goals": [
                (
                    "共同調達する納付書の仕様を揃える",
                    ["納付書は A4 3 連、バーコードは GS1-128 に統一する。"],
                    [("nakamura", "三市の納付書の差異を一覧にする", 10)],
                ),
            ],
            "third": [("preview", "地方税統一 QR コードへの対応時期")],
        },
        "second": {
            "carry": [(0, None, -6)],
            "goals": [
                (
                    "課税資料の授受をオンラインにする範囲を決める",
                    ["授受は LGWAN 経由のファイル連携を基本とする。"],
                    [("takahashi", "授受の件数と様式を三市分まとめる", 5)],
                ),
            ],
            "third": [("break", "高崎市で住民税の臨時窓口を開設する予定")],
        },
        "next": ["地方税統一 QR コードへの対応時期を決める"],
    },
    "council-kiban": {
        "title": "三市協議会 基盤運用部会",
        "place": "データセンター 会議室",
        "people": ["ito", "okada", "takahashi", "yamamoto", "nakamura"],
        "guests": [],
        "first": {
            "goals": [
                (
                    "夜間の計画停止の日程を決める",
                    ["2 月第 3 土曜 22:00〜翌 6:00 に計画停止する。"],
                    [("yamamoto", "計画停止の作業手順と切り戻し手順を提出する", 14)],
                ),
            ],
            "third": [
                ("break", "UPS のバッテリー交換時期が近い"),
                ("preview", "バックアップの遠隔地保管の方式を見直したい"),
            ],
        },
        "second": {
            "carry": [(0, "手順書 第3版で承認。切り戻し判断は 3:00 とする。", None)],
            "goals": [
                (
                    "ウイルス対策ソフトの定義更新の時間帯を決める",
                    ["定義更新は 12:15〜12:45 の昼休みに行う。"],
                    [("nakamura", "更新時間帯変更の設定作業を行う", 3)],
                ),
            ],
            "third": [("break", "年度末のアカウント棚卸しの依頼が各課から来ている")],
        },
        "next": ["バックアップの遠隔地保管の方式を検討する"],
    },
}


def load() -> bool:
    if db.session.scalar(sa.select(Meeting.id).where(Meeting.title == f"{MARKER} 第1回")):
        return False
    users = demo_users()
    fy = fiscal_year_of(local_today())
    today = local_today()
    for key, spec in UNITS.items():
        city, ident = key.split("-")
        unit = db.session.scalar(
            sa.select(Project).where(Project.identifier == f"{city}-{fy}-{ident}")
        )
        if unit is None:
            continue
        _unit_meetings(unit, spec, users, today)
    return True


def _at(day, hour=10) -> datetime:
    return datetime.combine(day, time(hour), JST).astimezone(UTC).replace(tzinfo=None)


def _weekday(day):
    """Meetings are held on working days: a weekend moves to the Friday before."""
    return day - timedelta(days=max(0, day.weekday() - 4))


def _who(users, name):
    return users.get(name) or name


def _unit_meetings(unit, spec, users, today) -> None:
    facilitator = users[spec["people"][0]]
    days = tuple(_weekday(today + timedelta(days=d)) for d in (-28, -14, 3))
    first = _meeting(unit, spec, users, facilitator, days[0], "第1回")
    homework = _fill(first, spec["first"], users, facilitator, days[0])
    _progress(homework, users)
    _confirm(first, facilitator)

    second = _meeting(unit, spec, users, facilitator, days[1], "第2回", previous=first)
    for index, decision, new_due in spec["second"]["carry"]:
        item = homework[index]
        if decision:
            carry_over.carry_over(facilitator, second, item, decision=decision)
        else:
            carry_over.keep_open(
                facilitator, second, item, due_date=today + timedelta(days=new_due)
            )
    homework2 = _fill(second, spec["second"], users, facilitator, days[1])
    _progress(homework2, users)
    _confirm(second, facilitator)

    # The next meeting, prepared: its own goals and a preview of the last one taken up.
    nxt = _meeting(unit, spec, users, facilitator, days[2], "第3回", previous=second)
    for text in spec["next"]:
        minutes_items.add_item(facilitator, nxt, "goal", text)
    previews = carry_over.earlier_previews(nxt)
    if previews:
        carry_over.pull_as_goal(facilitator, nxt, previews[0])
    db.session.flush()
    for meeting, day in ((first, days[0]), (second, days[1]), (nxt, today)):
        _date_history(meeting, _at(day))


def _meeting(unit, spec, users, facilitator, day, label, previous=None) -> Meeting:
    meeting = meetings.create_meeting(
        facilitator,
        unit,
        {
            "title": f"{spec['title']} {label}",
            "starts_at": _at(day),
            "ends_at": _at(day, 11),
            "place": spec["place"],
            "facilitator_id": facilitator.id,
            "previous": previous,
        },
    )
    for login in spec["people"]:
        meetings.add_attendee(facilitator, meeting, users[login])
    for name, org in spec["guests"]:
        meetings.add_attendee(facilitator, meeting, None, name, org)
    return meeting


def _fill(meeting, sheet, users, facilitator, day) -> list[Item]:
    meetings.set_status(facilitator, meeting, "in_session")
    homework = []
    for text, results, tasks in sheet["goals"]:
        goal = minutes_items.add_item(facilitator, meeting, "goal", text)
        for result in results:
            minutes_items.add_item(facilitator, meeting, "result", result, parent=goal)
        for who, what, due in tasks:
            homework.append(
                minutes_homework.add_homework(
                    facilitator,
                    meeting,
                    _who(users, who),
                    what,
                    day + timedelta(days=due),
                    goal=goal,
                )
            )
    for kind, text in sheet["third"]:
        minutes_items.add_item(facilitator, meeting, kind, text)
    return homework


def _progress(homework: list[Item], users) -> None:
    """The vendor accepts its homework tickets, as the ball moves after a meeting."""
    accepted = db.session.scalar(sa.select(Status).where(Status.name == "受付"))
    for item in homework:
        ticket = item.ticket
        if ticket.assignee is not None and ticket.assignee.side == "vendor":
            tickets.update_ticket(
                ticket.assignee, ticket, {"status": accepted}, notes="宿題として受け付けました。"
            )


def _confirm(meeting: Meeting, facilitator) -> None:
    """Freeze and have every present attendee confirm in the room (the confirmation services)."""
    try:
        from minutes import confirmations, revisions
    except ImportError:  # confirmation not installed: leave the minutes awaiting it
        meetings.set_status(facilitator, meeting, "awaiting_confirmation")
        return
    revision = revisions.freeze(facilitator, meeting)
    for attendee in meeting.attendees:
        if attendee.present:
            confirmations.record_in_room(facilitator, revision, attendee)


def _date_history(meeting: Meeting, start: datetime) -> None:
    """Items, events and homework tickets dated in the meeting, a minute apart."""
    items = db.session.scalars(sa.select(Item).where(Item.meeting_id == meeting.id)).all()
    for n, item in enumerate(sorted(items, key=lambda i: i.id)):
        item.created_at = item.updated_at = start + timedelta(minutes=n)
        if item.kind == "homework" and item.ticket is not None:
            ticket = db.session.get(Ticket, item.ticket_id)
            ticket.created_at = item.created_at
            ticket.updated_at = max(ticket.updated_at, item.created_at)
    events = db.session.scalars(sa.select(ItemEvent).where(ItemEvent.meeting_id == meeting.id))
    for n, event in enumerate(sorted(events, key=lambda e: e.id)):
        event.at = start + timedelta(seconds=30 * n)
    db.session.flush()
