"""Organisations, people, fiscal-year projects and business units of the demo council."""

import sqlalchemy as sa

from accounts import services as accounts
from accounts.models import Organisation, User
from core.extensions import db
from core.timeutil import fiscal_year_of, local_today
from projects import services as projects

PASSWORD = "sanmai-demo"

ORGANISATIONS = [
    ("前橋市", "Maebashi City", "city"),
    ("高崎市", "Takasaki City", "city"),
    ("伊勢崎市", "Isesaki City", "city"),
    ("三市協議会", "Council of the Three Cities", "council"),
    ("上州システムサービス株式会社", "Joshu System Services", "vendor"),
    ("赤城データ株式会社", "Akagi Data", "vendor"),
]

# login, name, organisation, role (in the projects they belong to), language
USERS = [
    ("admin", "システム管理者", "前橋市", "administrator", "ja"),
    ("okada", "岡田 寿史", "前橋市", "manager", "ja"),
    ("suzuki", "鈴木 一郎", "前橋市", "facilitator", "ja"),
    ("sato", "佐藤 花子", "前橋市", "member", "ja"),
    ("kobayashi", "小林 誠", "前橋市", "viewer", "ja"),
    ("takahashi", "高橋 健", "高崎市", "manager", "ja"),
    ("tanaka", "田中 美咲", "高崎市", "member", "ja"),
    ("ito", "伊藤 大輔", "伊勢崎市", "facilitator", "ja"),
    ("watanabe", "渡辺 直子", "伊勢崎市", "member", "ja"),
    ("yamamoto", "山本 翔", "上州システムサービス株式会社", "member", "ja"),
    ("nakamura", "中村 玲奈", "上州システムサービス株式会社", "member", "en"),
    ("kato", "加藤 由美", "赤城データ株式会社", "member", "ja"),
]

UNITS = [
    ("住民記録", "Resident records", "jyuki"),
    ("個人住民税", "Individual resident tax", "kojin"),
    ("固定資産税", "Fixed asset tax", "kotei"),
    ("国民健康保険", "National health insurance", "kokuho"),
    ("介護保険", "Long-term care insurance", "kaigo"),
]

COUNCIL_UNITS = [
    ("住民記録（共通）", "Resident records (common)", "jyuki"),
    ("税務（共通）", "Taxation (common)", "zeimu"),
    ("基盤運用", "Infrastructure operation", "kiban"),
]


def load() -> bool:
    if accounts.find_user("okada") is not None:
        return False
    orgs = {}
    for name, name_en, kind in ORGANISATIONS:
        orgs[name] = accounts.save_organisation(
            None, {"name": name, "name_en": name_en, "kind": kind}
        )
    users = {}
    for login, name, org, role, language in USERS:
        users[login] = accounts.create_user(
            login,
            name,
            PASSWORD,
            email=f"{login}@example.jp",
            organisation=orgs[org],
            language=language,
            is_admin=role == "administrator",
        )

    year = fiscal_year_of(local_today())
    for fy in (year - 1, year):
        city = projects.create_project(
            f"前橋市 令和{fy - 2018}年度",
            f"maebashi-{fy}",
            fy,
            orgs["前橋市"],
            name_en=f"Maebashi FY{fy}",
            description="前橋市の基幹業務システム運用（業務単位ごとのサブプロジェクト）",
        )
        for name, name_en, ident in UNITS:
            projects.create_unit(city, name, f"maebashi-{fy}-{ident}", name_en=name_en)
        council = projects.create_project(
            f"三市協議会 令和{fy - 2018}年度",
            f"council-{fy}",
            fy,
            orgs["三市協議会"],
            name_en=f"Council FY{fy}",
            description="前橋市・高崎市・伊勢崎市の共通事項",
        )
        for name, name_en, ident in COUNCIL_UNITS:
            projects.create_unit(council, name, f"council-{fy}-{ident}", name_en=name_en)

        for login in ("okada", "suzuki", "sato", "kobayashi", "yamamoto", "nakamura", "kato"):
            role = dict((u[0], u[3]) for u in USERS)[login]
            projects.set_membership(city, users[login], role)
        council_roles = {
            "okada": "manager",
            "takahashi": "manager",
            "suzuki": "facilitator",
            "ito": "facilitator",
            "tanaka": "member",
            "watanabe": "member",
            "yamamoto": "member",
            "nakamura": "member",
        }
        for login, role in council_roles.items():
            projects.set_membership(council, users[login], role)
    db.session.flush()
    return True


def demo_users() -> dict[str, User]:
    return {u.login: u for u in db.session.scalars(sa.select(User))}


def demo_organisation(name: str) -> Organisation:
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
