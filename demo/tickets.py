"""Demo tickets: every tracker and status, parents with children, journals, a screenshot.

Tickets are made and moved through the workflow by the services, as people would, so the
journals (who, when, old → new) are real; times are then spread over the past weeks.
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import timedelta

import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from attachments import files as attachments
from core.extensions import db
from core.timeutil import fiscal_year_of, local_today, utcnow
from demo.base import demo_users
from projects.models import Project
from tickets import services
from tickets.models import Journal, Status, Ticket, Tracker

MARKER = "転出証明書の様式変更について"

# (unit, tracker, subject, author, assignee, due in days, [(actor, status, notes)], description)
TICKETS = [
    (
        "jyuki",
        "問い合わせ管理",
        "住民票の写しで外字が「〓」になる",
        "sato",
        "yamamoto",
        7,
        [("yamamoto", "受付", "受け付けました。再現手順を確認します。")],
        "### どの画面・帳票・データが\n住民票の写し（窓口交付）\n\n"
        "### どのパソコン・プリンター・手順・時期で\n市民課窓口 PC-05、レーザープリンター2号機\n\n"
        "### 結果と得たい成果の差\n氏名の外字が「〓」で印字される。正しい字形で印字したい。",
    ),
    (
        "jyuki",
        "初動問題管理",
        "住基ネット連携バッチが朝に停止した",
        "suzuki",
        "nakamura",
        1,
        [
            ("nakamura", "受付", ""),
            (
                "nakamura",
                "調査中",
                "ログを確認しています。CS端末側のタイムアウトの可能性があります。",
            ),
        ],
        "朝7時の連携バッチが異常終了。**窓口開始前**に復旧が必要。",
    ),
    (
        "kojin",
        "問い合わせ管理",
        "特別徴収税額通知の送付先を確認したい",
        "sato",
        "kato",
        -3,
        [
            ("kato", "受付", ""),
            ("kato", "情報", "対象の事業所番号を教えてください。"),
        ],
        "令和8年度分の特別徴収税額通知（事業所用）の送付先住所について。",
    ),
    (
        "kojin",
        "収束問題管理",
        "年末調整データ取込でエラーが再発する",
        "okada",
        "kato",
        14,
        [
            ("kato", "受付", ""),
            ("kato", "回答", "原因は文字コード変換です。恒久対策案を添付します。"),
        ],
        "昨年度から3回目の再発。恒久対策を決めたい。",
    ),
    (
        "kotei",
        "変更管理",
        "課税台帳の出力項目に地番を追加",
        "sato",
        "yamamoto",
        30,
        [("yamamoto", "受付", ""), ("yamamoto", "対応中", "改修に着手しました。")],
        "課税台帳（CSV）に地番を追加する。",
    ),
    (
        "kotei",
        "リリース管理",
        "固定資産税システム 令和8年度版の本番適用",
        "okada",
        "yamamoto",
        10,
        [
            ("yamamoto", "受付", ""),
            ("yamamoto", "対応中", ""),
            ("yamamoto", "確認依頼", "検証環境に適用しました。確認をお願いします。"),
        ],
        "リリース手順書に沿って本番適用する。",
    ),
    (
        "kokuho",
        "委託管理",
        "納付書の封入封緘業務の委託仕様",
        "okada",
        "sato",
        45,
        [("sato", "保留", "予算確定まで保留します。")],
        "次年度の封入封緘業務の委託仕様書を作成する。",
    ),
    (
        "kaigo",
        "問い合わせ管理",
        "介護保険料の減免一覧を出力したい",
        "sato",
        "kato",
        None,
        [
            ("kato", "受付", ""),
            ("kato", "回答", "既存の帳票メニューから出力できます。"),
            ("sato", "完了", "出力できました。ありがとうございます。"),
        ],
        "",
    ),
    (
        "kaigo",
        "変更管理",
        "認定結果通知の文言変更",
        "sato",
        None,
        None,
        [("okada", "却下", "制度改正の時期まで見送ります。")],
        "通知文の言い回しを変更したい。",
    ),
    (
        "jyuki",
        "問い合わせ管理",
        "転入届の入力画面で宿題の確認項目を増やしたい",
        "sato",
        None,
        20,
        [],
        "",
    ),
]


def load() -> bool:
    if db.session.scalar(sa.select(Ticket.id).where(Ticket.subject == MARKER)) is not None:
        return False
    users = demo_users()
    fy = fiscal_year_of(local_today())
    units = {
        p.identifier.rsplit("-", 1)[-1]: p
        for p in db.session.scalars(
            sa.select(Project).where(Project.identifier.like(f"maebashi-{fy}-%"))
        )
    }
    trackers = {t.name: t for t in db.session.scalars(sa.select(Tracker))}
    statuses = {s.name: s for s in db.session.scalars(sa.select(Status))}
    today = local_today()

    made = []
    for unit, tracker, subject, author, assignee, due, steps, description in TICKETS:
        ticket = services.create_ticket(
            users[author],
            units[unit],
            {
                "tracker": trackers[tracker],
                "subject": subject,
                "description": description,
                "assignee": users[assignee] if assignee else None,
                "due_date": today + timedelta(days=due) if due is not None else None,
            },
        )
        for actor, status, notes in steps:
            services.update_ticket(users[actor], ticket, {"status": statuses[status]}, notes=notes)
        made.append(ticket)

    screenshot = attachments.store_upload(
        users["sato"], FileStorage(io.BytesIO(demo_png()), filename="外字の印字結果.png")
    )
    attachments.attach(users["sato"], screenshot, made[0], notes="印字結果の画面ハードコピーです。")

    # One event, one ticket: an inquiry is the parent, the work that follows its children.
    parent = services.create_ticket(
        users["sato"],
        units["jyuki"],
        {
            "tracker": trackers["問い合わせ管理"],
            "subject": MARKER,
            "description": "法改正に伴い転出証明書の様式を変更する。全ての子チケット完了で完了。",
            "assignee": users["yamamoto"],
            "due_date": today + timedelta(days=60),
        },
    )
    children = [
        ("変更管理", "転出証明書 帳票レイアウトの変更", "yamamoto"),
        ("リリース管理", "転出証明書 新様式の本番適用", "nakamura"),
    ]
    kids = [
        services.create_ticket(
            users["yamamoto"],
            units["jyuki"],
            {
                "tracker": trackers[tracker],
                "subject": subject,
                "assignee": users[who],
                "parent": parent,
            },
        )
        for tracker, subject, who in children
    ]
    services.update_ticket(users["yamamoto"], kids[0], {"status": statuses["対応中"]})
    services.update_ticket(
        users["sato"], kids[0], {"status": statuses["完了"]}, notes="レイアウトを確認しました。"
    )

    # A parent whose children are all done: closed automatically, with the system's note.
    done_parent = services.create_ticket(
        users["suzuki"],
        units["kojin"],
        {"tracker": trackers["問い合わせ管理"], "subject": "給与支払報告書の電子受付の準備"},
    )
    for subject in ("eLTAX受付設定の確認", "取込テストの実施"):
        child = services.create_ticket(
            users["kato"],
            units["kojin"],
            {"tracker": trackers["変更管理"], "subject": subject, "parent": done_parent},
        )
        services.update_ticket(users["kato"], child, {"status": statuses["確認依頼"]})
        services.update_ticket(users["suzuki"], child, {"status": statuses["完了"]})
    db.session.flush()
    _spread_over_time([*made, parent, *kids, done_parent])
    return True


def _spread_over_time(tickets: list[Ticket]) -> None:
    """Move the demo's history into the past weeks, oldest ticket first, journals in order."""
    now = utcnow()
    ids = [t.id for t in tickets]
    all_ids = ids + list(db.session.scalars(sa.select(Ticket.id).where(Ticket.parent_id.in_(ids))))
    for n, ticket in enumerate(db.session.scalars(sa.select(Ticket).where(Ticket.id.in_(all_ids)))):
        start = now - timedelta(days=40 - n * 2, hours=n)
        ticket.created_at = start
        journals = db.session.scalars(
            sa.select(Journal).where(Journal.ticket_id == ticket.id).order_by(Journal.id)
        ).all()
        for i, journal in enumerate(journals, start=1):
            journal.created_at = min(start + timedelta(days=i * 2, hours=i), now)
        ticket.updated_at = journals[-1].created_at if journals else start
        if ticket.closed_at is not None:
            ticket.closed_at = ticket.updated_at
    db.session.flush()


def demo_png(width: int = 160, height: int = 90) -> bytes:
    """A small PNG made in code: a window with a title bar and a red mark (a 'screenshot')."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter: none
        for x in range(width):
            if y < 14:
                pixel = (31, 95, 191)
            elif 40 <= y < 50 and 60 <= x < 100:
                pixel = (179, 38, 30)
            elif x in (0, width - 1) or y == height - 1:
                pixel = (120, 120, 120)
            else:
                pixel = (245, 246, 248)
            row.extend(pixel)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )
