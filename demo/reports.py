"""Demo history for the manager's pages: a year and a half of monthly meetings.

Three business units (住民記録, 個人住民税, and the council's 基盤運用) meet once a month
through the whole previous fiscal year (令和7年度 when this year is 令和8年度) and this year
up to five weeks ago (the minutes demo has the last weeks). Each meeting records the month's
topic of the municipal year — a goal, a result, homework, a preview — and a ticket is raised
now and then. Homework is closed after a while, decided at the next meeting (a result linked
back to it) or left open, late in summer more often, so the dashboard has overdue items and a
chart with a trend, and last year's same weeks fill "this time last year".

Everything goes through the services; times are then moved to the meetings' own dates.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from core.extensions import db
from core.timeutil import JST, fiscal_year_bounds, fiscal_year_of, local_today
from demo.base import demo_users
from minutes import revisions
from minutes import services as minutes
from minutes.models import Confirmation, Item, ItemEvent, Meeting, Revision
from projects.models import Project
from reports import services as reports
from tickets import services as tickets
from tickets.models import Journal, JournalDetail, Status, Ticket, Tracker

SERIES_TITLE = "{unit} 月例連絡会 第{n}回"

# Each month: goal, result, homework (first meeting), homework (second meeting), preview,
# a ticket raised that month, and optionally this year's result where it differs from last
# year's (it then supersedes last year's decision in the register).
TOPICS = {
    "jyuki": {
        4: (
            "転入転出の繁忙期の窓口処理を振り返る",
            "繁忙期の臨時窓口は来年度も4月第2週まで設ける。",
            "繁忙期の処理件数と待ち時間を集計して報告する",
            "臨時端末の返却と設定の初期化を行う",
            "来年の繁忙期に向けて窓口予約システムを検討したい",
            "転入届の一括入力で方書が一部欠落する",
            "繁忙期の臨時窓口は来年度から4月第3週まで延長する。",
        ),
        5: (
            "住基ネット統計の年次報告の作成手順を決める",
            "年次報告は5月末までに CS 端末から出力し、課長決裁のうえ提出する。",
            "年次報告用の統計データを抽出する",
            "前年度との差分を確認し説明資料を作る",
            "統計出力の自動化ができないか検討したい",
            "住基ネット統計の出力帳票で合計が合わない",
        ),
        6: (
            "住民票コード記載事項通知の再送方法を決める",
            "宛先不明で戻った通知は7月に一括して再送する。",
            "戻り通知の件数と理由を集計する",
            "再送用の封筒と文面を準備する",
            "通知の文面をやさしい日本語にしたい",
            "記載事項通知の宛名に旧住所が印字される",
        ),
        7: (
            "マイナンバーカード交付の夏季臨時窓口の体制を決める",
            "8月の土曜開庁は第1・第3土曜とし、端末2台で対応する。",
            "土曜開庁時のバッチ停止と起動の手順を確認する",
            "臨時窓口用の端末の設定を行う",
            "交付予約の状況を庁内で共有する仕組みがほしい",
            "土曜開庁時に証明書コンビニ交付が止まる",
        ),
        8: (
            "戸籍の振り仮名記載に伴う住民票システム改修の範囲を決める",
            "氏名の振り仮名欄を住民票の写しに追加する改修を行う（帳票3種）。",
            "改修対象の帳票と画面を洗い出す",
            "振り仮名のデータ移行方法を提案する",
            "標準仕様書の次の改定にあわせて再確認が必要",
            "振り仮名欄の文字数上限が仕様と異なる",
        ),
        9: (
            "標準準拠システムへの移行データの仕様を確認する",
            "移行データは標準仕様のレイアウトで9月末に第1回の抽出を行う。",
            "移行データの第1回抽出を行う",
            "抽出結果の件数照合表を作成する",
            "移行リハーサルの日程を早めに固めたい",
            "移行データ抽出で外字コードが変換されない",
        ),
        10: (
            "住民基本台帳の閲覧申出の運用を見直す",
            "閲覧申出の受付は予約制とし、1回2時間までとする。",
            "閲覧申出の予約受付の様式を作る",
            "閲覧用端末の検索画面の制限を設定する",
            "閲覧記録の保存期間を確認したい",
            "閲覧用端末で検索結果が全件表示される",
        ),
        11: (
            "年末年始の窓口休止とバッチ停止の日程を決める",
            "12/29〜1/3 は夜間バッチを停止し、1/4 朝に一括処理する。",
            "バッチ停止と再開の手順書を作成する",
            "年末年始の緊急連絡先一覧を更新する",
            "年始の窓口混雑に備えて臨時端末を用意したい",
            "年末の一括処理で処理時間が延びる",
        ),
        12: (
            "住民税課への異動情報連携の年末処理を決める",
            "1/1 現在の住所地データは 1/6 に住民税課へ連携する。",
            "1/1 基準日データの抽出手順を確認する",
            "連携データの件数照合を住民税課と行う",
            "基準日処理を自動化したい",
            "基準日データ連携で転出予定者が含まれる",
        ),
        1: (
            "年度末の異動集中期に向けた臨時窓口の準備を始める",
            "3月第3週から臨時窓口を2つ増やし、端末を4台追加する。",
            "臨時端末4台の調達と設定の段取りをつける",
            "臨時職員向けの操作マニュアルを改訂する",
            "転出の事前申請（オンライン）の件数を増やしたい",
            "臨時端末で帳票の印刷が遅い",
        ),
        2: (
            "3月の繁忙期に向けた夜間バッチの開始時刻を決める",
            "3/23〜4/3 の夜間バッチは 21:00 開始に繰り下げる。",
            "バッチ開始時刻変更の手順書を作成する",
            "繁忙期の監視体制の当番表を作る",
            "繁忙期の待ち時間を市のサイトで知らせたい",
            "夜間バッチの開始が遅れると翌朝の帳票が間に合わない",
            "3/22〜4/4 の夜間バッチは 20:30 開始に繰り下げる（窓口延長にあわせる）。",
        ),
        3: (
            "繁忙期の窓口延長と休日開庁の運用を決める",
            "3/28・3/29 の休日開庁は住民異動と証明書交付に限る。",
            "休日開庁時の運用手順を確認する",
            "休日開庁時の実績を集計する",
            "来年度は休日開庁を3回に増やすか検討したい",
            "休日開庁時に住基ネットへの送信が滞留する",
        ),
    },
    "kojin": {
        4: (
            "当初課税の賦課計算のスケジュールを確定する",
            "賦課計算は5月第2週に本番を行い、前週にテスト計算を行う。",
            "テスト計算の結果を前年度と比較する",
            "賦課計算の本番手順を確認する",
            "賦課計算のテストを自動化したい",
            "テスト計算で扶養控除の件数が前年より大きく減る",
        ),
        5: (
            "特別徴収税額通知（事業所用）の発送方法を決める",
            "電子送付を希望した事業所は eLTAX で、それ以外は5月20日に郵送する。",
            "電子送付の対象事業所の一覧を作る",
            "郵送分の封入封緘の立会い日程を決める",
            "電子送付の希望事業所をさらに増やしたい",
            "特別徴収税額通知の電子データに副本が出力されない",
        ),
        6: (
            "普通徴収の納税通知書の発送日と封入物を決める",
            "納税通知書は6月10日に発送し、口座振替の案内を同封する。",
            "納税通知書の印刷データを作成する",
            "同封物の版下を確認する",
            "スマホ決済の案内を同封したい",
            "納税通知書の口座振替欄に旧口座が印字される",
        ),
        7: (
            "当初課税後の問い合わせ傾向を共有し FAQ を決める",
            "問い合わせの多い上位10件を FAQ にして市のサイトに載せる。",
            "問い合わせ件数を分類して集計する",
            "FAQ の原稿を作る",
            "問い合わせをチャットボットで受けられないか",
            "問い合わせ管理の集計で件数が二重に数えられる",
        ),
        8: (
            "給与支払報告書の電子提出率を上げる方策を決める",
            "電子提出していない事業所上位100社に案内文を送る。",
            "電子未提出の事業所を抽出する",
            "案内文の文案を作る",
            "提出方法の説明会を開きたい",
            "事業所の抽出条件で休業中の事業所が含まれる",
        ),
        9: (
            "ふるさと納税のワンストップ特例データの取込を確認する",
            "特例データは月次で取り込み、エラー分は翌月に再取込する。",
            "取込エラーの内容を分類する",
            "再取込の手順書を作る",
            "他団体からのデータ形式の揺れを減らしたい",
            "ワンストップ特例データの取込で生年月日がずれる",
        ),
        10: (
            "税額変更通知の発送単位を見直す",
            "税額変更通知は週1回の一括発送とし、急ぎは個別に対応する。",
            "週次一括発送の処理手順を作る",
            "個別発送の判断基準を決めて共有する",
            "変更通知を電子で届けたい",
            "税額変更通知の再発行で通知番号が重複する",
        ),
        11: (
            "年末調整の問い合わせ窓口の体制を決める",
            "11月から1月までは問い合わせ専用の電話を2回線増やす。",
            "臨時回線の工事日程を調整する",
            "想定問答集を更新する",
            "問い合わせの録音を研修に使いたい",
            "年末調整の計算ツールで定額減税の欄がずれる",
        ),
        12: (
            "給与支払報告書の受付準備（eLTAX）を確認する",
            "eLTAX の受付データは毎朝8時に取り込み、エラーは当日中に連絡する。",
            "受付データの取込テストを行う",
            "エラー連絡の様式を作る",
            "受付状況を事業所ごとに見られるようにしたい",
            "受付データの取込で事業所番号が桁あふれする",
        ),
        1: (
            "給与支払報告書の受付とパンチ委託の段取りを決める",
            "紙の報告書は2月10日までに委託先へ引き渡し、2月末に納品を受ける。",
            "パンチ委託の仕様書を確定する",
            "引渡しの件数表を作る",
            "紙の報告書をさらに減らしたい",
            "パンチデータの検収で金額欄の桁がずれる",
        ),
        2: (
            "確定申告会場との連携とデータ取込の日程を決める",
            "申告データは週2回取り込み、3月末に最終取込を行う。",
            "申告データの取込手順を確認する",
            "会場との連絡窓口を決めて共有する",
            "申告データの取込を毎日にしたい",
            "申告データの取込で寄附金控除が反映されない",
        ),
        3: (
            "当初課税データの取込テストの結果を確認する",
            "テスト結果は問題なし。4月第1週に本番データを取り込む。",
            "本番取込の手順書を確認する",
            "取込後の件数照合表を作る",
            "来年度は取込テストを2回に増やしたい",
            "取込テストで給与所得の件数が合わない",
        ),
    },
    "kiban": {
        4: (
            "人事異動に伴うアカウント棚卸しの手順を決める",
            "異動者のアカウントは4月第2週までに各課の申請で更新する。",
            "異動者一覧と現行アカウントを突き合わせる",
            "不要アカウントの停止作業を行う",
            "棚卸しを人事システムと連携させたい",
            "異動後も旧所属の権限が残っている",
        ),
        5: (
            "ウイルス対策ソフトの更新日程を決める",
            "更新は5月第4土曜に行い、月曜朝に動作を確認する。",
            "更新作業の手順書を作成する",
            "更新後の動作確認の一覧を作る",
            "更新の自動化範囲を広げたい",
            "ウイルス対策ソフトの更新後に帳票印刷が遅くなる",
        ),
        6: (
            "夏季の空調停止に伴うサーバ室の運用を決める",
            "空調点検の日は予備の冷房を用意し、温度を1時間ごとに記録する。",
            "予備冷房の手配を行う",
            "温度記録の様式を作る",
            "温度監視を自動化したい",
            "サーバ室の温度警報が誤報を出す",
        ),
        7: (
            "バックアップ媒体の世代管理を見直す",
            "世代は日次7・週次4・月次12とし、月次は遠隔地に保管する。",
            "現行の世代管理表を更新する",
            "遠隔地保管の契約内容を確認する",
            "バックアップの復元訓練を年2回行いたい",
            "週次バックアップが一部失敗している",
        ),
        8: (
            "Windows の月例パッチの適用手順を決める",
            "パッチは第3水曜に検証機へ、翌週水曜に本番へ適用する。",
            "検証機での確認項目を一覧にする",
            "本番適用の連絡文を作る",
            "パッチ適用の状況を一覧で見たい",
            "月例パッチ適用後に一部端末で印刷できない",
        ),
        9: (
            "ガバメントクラウド接続回線の冗長化方針を決める",
            "回線は2系統とし、切替試験を11月に行う。",
            "2系統目の回線の見積を取る",
            "切替試験の計画書を作る",
            "回線の使用状況を三市で見られるようにしたい",
            "接続回線の帯域が夕方に逼迫する",
        ),
        10: (
            "法定点検に伴う計画停電の日程と手順を決める",
            "計画停電は11月第2日曜。前日22時に停止し、当日15時に起動する。",
            "停止と起動の手順書を作成する",
            "各課への周知文を作る",
            "停止・起動の手順を一部自動化したい",
            "計画停電後にライセンスサーバが起動しない",
        ),
        11: (
            "年末年始のシステム停止と監視体制を決める",
            "年末年始は監視をリモートで行い、障害時は当番が登庁する。",
            "年末年始の当番表を作る",
            "リモート監視の接続を確認する",
            "監視の通知をスマホで受けたい",
            "リモート監視の画面が一部表示されない",
        ),
        12: (
            "サーバ証明書の更新作業の担当を決める",
            "証明書は期限の30日前までに更新し、更新記録を共有する。",
            "証明書の一覧と期限を整理する",
            "更新手順書を作る",
            "証明書の期限を自動で通知したい",
            "期限切れ間近の証明書が見つかった",
        ),
        1: (
            "次年度のネットワーク機器更改の仕様を決める",
            "更改は来年度10月に行い、仕様書は2月末までに確定する。",
            "現行機器の構成図を更新する",
            "仕様書の案を作る",
            "機器の監視を統合したい",
            "コアスイッチのログにエラーが出ている",
        ),
        2: (
            "年度末のアカウント一括更新の手順を決める",
            "一括更新は3月最終週に行い、4月1日朝に確認する。",
            "一括更新用のデータを作る",
            "更新後の確認手順を作る",
            "アカウント申請を電子化したい",
            "一括更新のテストでパスワード期限が初期化されない",
        ),
        3: (
            "年度切替時の夜間バッチ停止の日程を決める",
            "3/31 夜から 4/1 朝まで夜間バッチを停止し、4/1 10時に再開する。",
            "年度切替の作業手順を確認する",
            "各課への周知を行う",
            "年度切替の作業を毎年同じ手順書で回したい",
            "年度切替のテストで一部のジョブが起動しない",
        ),
    },
}

SERIES = [
    # unit key, identifier pattern, unit name shown in titles, weekday, facilitator, attendees,
    # who gets homework (in turn; a plain name is a guest), ticket author, ticket assignee
    (
        "jyuki",
        "maebashi-{fy}-jyuki",
        "住民記録",
        1,
        "suzuki",
        ["sato", "yamamoto"],
        ["yamamoto", "sato", "nakamura", "情報政策課 木村"],
        "sato",
        "yamamoto",
    ),
    (
        "kojin",
        "maebashi-{fy}-kojin",
        "個人住民税",
        3,
        "suzuki",
        ["sato", "kato"],
        ["kato", "sato", "kato", "okada"],
        "sato",
        "kato",
    ),
    (
        "kiban",
        "council-{fy}-kiban",
        "基盤運用",
        2,
        "ito",
        ["takahashi", "yamamoto"],
        ["yamamoto", "takahashi", "nakamura", "ito"],
        "takahashi",
        "nakamura",
    ),
]
SEASON_LATE = {6: 0.35, 7: 0.55, 8: 0.6, 9: 0.5, 10: 0.3}  # summer work piles up


def load() -> bool:
    marker = SERIES_TITLE.format(unit="住民記録", n=1)
    if db.session.scalar(sa.select(Meeting.id).where(Meeting.title == marker)) is not None:
        return False
    users = demo_users()
    today = local_today()
    year = fiscal_year_of(today)
    rng = random.Random(20260401)
    done = db.session.scalar(sa.select(Status).where(Status.name == "完了"))
    results = {}
    for fy, end in ((year - 1, fiscal_year_bounds(year - 1)[1]), (year, today - timedelta(35))):
        for spec in SERIES if fy == year else SERIES[:2]:
            unit = db.session.scalar(
                sa.select(Project).where(Project.identifier == spec[1].format(fy=fy))
            )
            if unit is not None:
                results[(spec[0], fy)] = _series(unit, spec, users, fy, end, today, rng, done)
    _supersede(results, users, year)
    return True


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), JST).astimezone(UTC).replace(tzinfo=None)


def _days(fy: int, weekday: int, end: date) -> list[date]:
    """The second `weekday` of every month of fiscal year `fy`, up to `end`."""
    out = []
    for k in range(12):
        first = date(fy + (3 + k) // 12, (3 + k) % 12 + 1, 8)
        day = first + timedelta(days=(weekday - first.weekday()) % 7)
        if day <= end:
            out.append(day)
    return out


def _series(unit, spec, users, fy, end, today, rng, done) -> dict[int, Item]:
    key, _ident, name, weekday, fac, people, holders, author, assignee = spec
    facilitator = users[fac]
    topics = TOPICS[key]
    days = _days(fy, weekday, end)
    pending: dict[int, list[Item]] = {}  # meeting index → homework decided there
    closes: list[tuple[Item, datetime]] = []
    results: dict[int, Item] = {}
    current = fy == fiscal_year_of(today)
    city_side = [
        db.session.scalar(sa.select(Status).where(Status.name == n)) for n in ("確認依頼", "情報")
    ]
    for n, day in enumerate(days):
        topic = topics[day.month]
        meeting = minutes.create_meeting(
            facilitator,
            unit,
            {
                "title": SERIES_TITLE.format(unit=name, n=n + 1),
                "starts_at": _at(day),
                "ends_at": _at(day, 11),
                "place": "本庁舎 4階 情報政策課 会議室",
                "facilitator_id": facilitator.id,
            },
        )
        for login in [fac, *people]:
            minutes.add_attendee(facilitator, meeting, users[login])
        minutes.set_status(facilitator, meeting, "in_session")
        goal = minutes.add_item(facilitator, meeting, "goal", topic[0])
        text = topic[6] if current and len(topic) > 6 else topic[1]
        results[day.month] = minutes.add_item(facilitator, meeting, "result", text, parent=goal)
        for homework in pending.pop(n, []):
            decision = f"「{homework.ticket.subject}」の報告を受け、内容を了承した。"
            minutes.carry_over(facilitator, meeting, homework, decision=decision, goal=goal)
            closes.append((homework, _at(day, 11)))
        whats = [topic[2], topic[3], f"{topic[0]}ための資料をまとめる"] if current else [topic[2]]
        latest = current and n == len(days) - 1
        for k, what in enumerate(whats):
            holder = holders[(3 * n + k) % len(holders)]
            who = users.get(holder) or holder
            # The latest meeting's homework is still running: due today, tomorrow, later.
            due = today + timedelta(days=(0, 1, 9)[k]) if latest else day + timedelta(14 + 7 * k)
            homework = minutes.add_homework(facilitator, meeting, who, what, due, goal=goal)
            still_open = latest or _plan(homework, day, n, current, today, rng, pending, closes)
            if still_open and rng.random() < 0.45:  # the vendor answered: the ball is with the city
                tickets.update_ticket(
                    homework.ticket.assignee or facilitator,
                    homework.ticket,
                    {"status": city_side[n % 2]},
                    notes="回答しました。ご確認をお願いします。",
                )
        minutes.add_item(facilitator, meeting, "preview", topic[4])
        if n % 4 == 1:
            minutes.add_item(facilitator, meeting, "break", f"{name}担当の人事異動の予定を共有した")
        _confirm(meeting, facilitator)
        _backdate(meeting, _at(day))
        if n % 2 == 0:
            _ticket(unit, users[author], users[assignee], topic[5], day, today, rng, done)
    for planned in pending.values():  # the series ended before the meeting that was to decide
        closes.extend((homework, _at(days[-1] + timedelta(days=30), 11)) for homework in planned)
    for homework, at in closes:
        if at.date() < today:
            _close(homework.ticket, at, facilitator, done)
    return results


def _plan(homework, day, n, current, today, rng, pending, closes) -> bool:
    """Decide how this homework ends: closed in time, decided at the next meeting, closed
    late (summer work piles up this year), or — now and then this year — still open (True)."""
    late = SEASON_LATE.get(day.month, 0.12) if current else 0.1
    roll = rng.random()
    if current and roll < 0.07:
        return True  # still open, and overdue by now
    if roll < late:
        closes.append((homework, _at(day + timedelta(days=rng.randint(25, 75)), 16)))
    elif roll < late + 0.3:
        pending.setdefault(n + 1, []).append(homework)
    else:
        closes.append((homework, _at(day + timedelta(days=rng.randint(3, 14)), 16)))
    return False


def _close(ticket: Ticket, at: datetime, fallback, done) -> None:
    """Close at `at` (unless a carry-over already did, then only its date is moved).

    History is written as the rows the ticket services would have left (status change and
    journal with its detail), dated in the past: a year of workflow replayed through the
    services would make `demo load` several times slower for the same pages.
    """
    if ticket.status_id == done.id:
        journal = db.session.scalar(
            sa.select(Journal).where(Journal.ticket_id == ticket.id).order_by(Journal.id.desc())
        )
        if journal is not None:
            journal.created_at = at
    else:
        journal = Journal(
            ticket_id=ticket.id,
            user_id=(ticket.assignee_id or fallback.id),
            notes="対応が完了しました。",
            created_at=at,
        )
        journal.details.append(
            JournalDetail(
                property="attr",
                name="status_id",
                old_value=str(ticket.status_id),
                new_value=str(done.id),
            )
        )
        db.session.add(journal)
        ticket.status_id = done.id
        ticket.version += 1
    ticket.closed_at = ticket.updated_at = at


def _ticket(unit, author, assignee, subject, day, today, rng, done) -> None:
    tracker = db.session.scalar(sa.select(Tracker).where(Tracker.name == "問い合わせ管理"))
    raised = day + timedelta(days=rng.randint(1, 6))
    if raised >= today:
        return
    ticket = tickets.create_ticket(
        author,
        unit,
        {
            "subject": subject,
            "tracker_id": tracker.id,
            "assignee": assignee,
            "due_date": raised + timedelta(days=14),
            "description": "### どの画面・帳票・データが\n"
            + subject
            + "\n\n### 結果と得たい成果の差\n"
            "正しく処理されるようにしたい。",
        },
    )
    ticket.created_at = ticket.updated_at = _at(raised, 9)
    closed = raised + timedelta(days=rng.randint(5, 25))
    if closed < today:
        _close(ticket, _at(closed, 17), author, done)


def _confirm(meeting: Meeting, facilitator) -> None:
    revision = revisions.freeze(facilitator, meeting)
    for attendee in meeting.attendees:
        revisions.record_in_room(facilitator, revision, attendee)


def _backdate(meeting: Meeting, start: datetime) -> None:
    """Items, events, homework tickets, the revision and its sign-offs dated in the meeting
    (a few UPDATEs; the rows in the session are not read back)."""
    end = start + timedelta(hours=1)
    homework = sa.select(Item.ticket_id).where(
        Item.meeting_id == meeting.id, Item.kind == "homework"
    )
    frozen = sa.select(Revision.id).where(Revision.meeting_id == meeting.id)
    plain = {"synchronize_session": False}
    for statement in (
        sa.update(Item)
        .where(Item.meeting_id == meeting.id)
        .values(created_at=start, updated_at=start),
        sa.update(Ticket).where(Ticket.id.in_(homework)).values(created_at=start, updated_at=start),
        sa.update(Journal).where(Journal.ticket_id.in_(homework)).values(created_at=start),
        sa.update(ItemEvent).where(ItemEvent.meeting_id == meeting.id).values(at=start),
        sa.update(Revision).where(Revision.meeting_id == meeting.id).values(frozen_at=end),
        sa.update(Confirmation)
        .where(Confirmation.revision_id.in_(frozen))
        .values(at=end + timedelta(minutes=2)),
        sa.update(Meeting)
        .where(Meeting.id == meeting.id)
        .values(created_at=start - timedelta(days=3), updated_at=end),
    ):
        db.session.execute(statement, execution_options=plain)


def _supersede(results, users, year) -> None:
    """This year's changed decisions supersede last year's (both stay in the register)."""
    for key, topics in TOPICS.items():
        for month, topic in topics.items():
            old = results.get((key, year - 1), {}).get(month)
            new = results.get((key, year), {}).get(month)
            if len(topic) > 6 and old is not None and new is not None:
                reports.mark_superseded(users["okada"], old, new)
