"""The data set's scale and calendar: the seed, its "now" (ANCHOR), the counts, the
organisations and business units, and Japan time as the app stores it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

SEED = 7
ANCHOR = datetime(2026, 11, 26, 3, 0)  # the data set's "now": 2026-11-26 12:00 JST
YEARS = range(2022, 2027)
PASSWORD = "bench-pw"
N_MEETINGS = 20_000
N_TICKETS = 100_000
N_JOURNALS = 500_000
N_CONFIRMATIONS = 5_000

# name, English, kind, login prefix, users
ORGS = [
    ("前橋市", "Maebashi City", "city", "maebashi", 70),
    ("高崎市", "Takasaki City", "city", "takasaki", 60),
    ("伊勢崎市", "Isesaki City", "city", "isesaki", 60),
    ("三市協議会", "Council of the Three Cities", "council", "council", 10),
    ("上州システムサービス株式会社", "Joshu System Services", "vendor", "joshu", 55),
    ("赤城データ株式会社", "Akagi Data", "vendor", "akagi", 45),
]
VENDOR_OF = {"maebashi": "joshu", "takasaki": "joshu", "isesaki": "akagi"}
CITY_UNITS = [
    ("住民記録", "jyuki"), ("個人住民税", "kojin"), ("固定資産税", "kotei"),
    ("国民健康保険", "kokuho"), ("介護保険", "kaigo"), ("後期高齢者医療", "kouki"),
    ("児童手当", "jidou"), ("生活保護", "seiho"), ("財務会計", "zaimu"), ("人事給与", "jinji"),
]  # fmt: skip
COUNCIL_UNITS = [
    ("住民記録（共通）", "jyuki"), ("税務（共通）", "zeimu"), ("基盤運用", "kiban"),
    ("ガバメントクラウド移行", "cloud"), ("標準化対応", "hyojun"), ("情報セキュリティ", "sec"),
    ("ネットワーク", "nw"), ("文書管理", "bunsho"), ("電子申請", "shinsei"),
    ("コンビニ交付", "konbini"),
]  # fmt: skip
ROOTS = [("maebashi", CITY_UNITS), ("takasaki", CITY_UNITS), ("isesaki", CITY_UNITS),
         ("council", COUNCIL_UNITS)]  # fmt: skip


def jst(day: date, hour: int, minute: int = 0) -> datetime:
    """A Japan-time wall clock as the naive UTC the app stores."""
    return datetime(day.year, day.month, day.day, hour, minute) - timedelta(hours=9)
