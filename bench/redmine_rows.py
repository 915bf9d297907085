"""The rows of a city's Redmine 5, drawn from a seeded random.Random (bench/redmine_data.py
writes them).

One city (三枚市) that has run Redmine for years: a fiscal-year project 令和8年度 with a
sub-project per business unit (one of them with a working group below it) and last year's
令和7年度 (closed) with a few units; city departments and two vendors as groups; users with
Redmine's salted SHA1 passwords; memberships with roles, also through groups; issues in six
trackers and ten statuses with parents (nested sets as Redmine keeps them, the parents' dates,
priority and done ratio derived from their children as Redmine derives them), due dates,
assignees (a few of them groups), watchers and relations; journals whose notes are Textile
in Japanese (some in English, some private) and whose details change status, assignee, due
date and done ratio so that each chain ends at the issue's current value.

Times are naive UTC (Redmine on a UTC server stores them so); "now" is ANCHOR, so the same
seed and scale give the same rows whatever the day.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.vocab import (
    GIVEN_NAMES,
    SURNAMES,
    Text,
)

ANCHOR = datetime(2026, 11, 26, 3, 0)  # the data's "now": 2026-11-26 12:00 JST
PASSWORD = "redmine-pw"  # every generated user's
ADMIN_PASSWORD = "admin12345"  # Redmine's own admin (login admin)
CITY = "三枚市"


@dataclass(frozen=True)
class Scale:
    issues: int = 100_000
    journals: int = 500_000
    units: int = 40
    users: int = 300


# (name, identifier): the business units of the fiscal-year project
UNITS = [
    ("住民記録", "jyuki"), ("戸籍", "koseki"), ("印鑑登録", "inkan"), ("個人住民税", "kojin"),
    ("法人住民税", "houjin"), ("固定資産税", "kotei"), ("軽自動車税", "keiji"),
    ("収納管理", "shuno"), ("滞納管理", "tainou"), ("国民健康保険", "kokuho"),
    ("国民年金", "nenkin"), ("後期高齢者医療", "kouki"), ("介護保険", "kaigo"),
    ("障害者福祉", "shogai"), ("生活保護", "seiho"), ("児童手当", "jidou"),
    ("児童扶養手当", "fuyou"), ("子ども・子育て支援", "kosodate"), ("保育", "hoiku"),
    ("母子保健", "boshi"), ("健康管理", "kenkou"), ("予防接種", "yobou"), ("就学事務", "shugaku"),
    ("学齢簿", "gakurei"), ("選挙", "senkyo"), ("財務会計", "zaimu"), ("人事給与", "jinji"),
    ("庶務事務", "shomu"), ("文書管理", "bunsho"), ("電子申請", "shinsei"), ("宛名管理", "atena"),
    ("統合認証", "ninsho"), ("基盤運用", "kiban"), ("ネットワーク", "network"),
    ("情報セキュリティ", "security"), ("ガバメントクラウド移行", "cloud"),
    ("標準化対応", "hyojun"), ("コンビニ交付", "konbini"), ("公共施設予約", "shisetsu"),
    ("上下水道料金", "suido"),
]  # fmt: skip
# (group name, login prefix, mail domain, share of users, is the city's)
ORGS = [
    ("情報政策課", "joho", "city.example.jp", 0.08, True),
    ("市民課", "shimin", "city.example.jp", 0.14, True),
    ("税務課", "zeimu", "city.example.jp", 0.14, True),
    ("保険年金課", "hoken", "city.example.jp", 0.12, True),
    ("福祉課", "fukushi", "city.example.jp", 0.12, True),
    ("子育て支援課", "kosodate", "city.example.jp", 0.07, True),
    ("上州システムサービス株式会社", "joshu", "joshu.example.jp", 0.20, False),
    ("赤城データ株式会社", "akagi", "akagi.example.jp", 0.13, False),
]
# Added to the Japanese default data (バグ, 機能, サポート; 新規 … 却下): six trackers and
# ten statuses as the city has them. Statuses in their order, True where closed.
NEW_TRACKERS = ["問い合わせ管理", "変更管理", "リリース管理"]
STATUS_ORDER = [
    ("新規", False), ("受付", False), ("調査中", False), ("進行中", False),
    ("フィードバック", False), ("確認依頼", False), ("解決", False), ("保留", False),
    ("終了", True), ("却下", True),
]  # fmt: skip
TRACKER_WEIGHTS = {"問い合わせ管理": 30, "バグ": 20, "サポート": 15, "機能": 10, "変更管理": 15,
                   "リリース管理": 10}  # fmt: skip
OPEN_WEIGHTS = {"新規": 10, "受付": 8, "調査中": 10, "進行中": 20, "フィードバック": 8,
                "確認依頼": 10, "解決": 14, "保留": 5}  # fmt: skip
PRIORITY_WEIGHTS = [8, 70, 15, 5, 2]  # 低め 通常 高め 急いで 今すぐ, by position
MODULES = ["issue_tracking", "time_tracking", "news", "documents", "files", "wiki",
           "repository", "boards", "calendar", "gantt"]  # fmt: skip
SETTINGS = {
    "text_formatting": "textile",
    "rest_api_enabled": "1",
    "default_language": "ja",
    "user_format": "lastname_firstname",
    "issue_group_assignment": "1",
    "login_required": "1",
    "app_title": f"{CITY} 課題管理",
}


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def redmine_password(password: str, salt: str) -> str:
    """users.hashed_password as Redmine stores it: SHA1(salt + SHA1(password)), hex."""
    inner = hashlib.sha1(password.encode()).hexdigest()
    return hashlib.sha1((salt + inner).encode()).hexdigest()


def nested_set(children: dict, roots: list, order) -> dict[int, tuple[int, int]]:
    """{id: (lft, rgt)} numbering each tree from 1, children visited in `order`."""
    bounds: dict[int, tuple[int, int]] = {}
    for root in roots:
        n = 0
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            n += 1
            if done:
                bounds[node] = (bounds[node][0], n)
                continue
            bounds[node] = (n, 0)
            stack.append((node, True))
            stack.extend((c, False) for c in sorted(children.get(node, ()), key=order)[::-1])
    return bounds


class City:
    """The rows, table by table: `tables` maps a table to (columns, rows); `reference`
    changes the default data in place. Ids of the default data are read by name."""

    def __init__(self, conn, scale: Scale, seed: int):
        self.conn, self.scale = conn, scale
        self.rng = random.Random(seed)
        self.text = Text(self.rng)
        self.tables: dict[str, tuple[list[str], list[tuple]]] = {}
        self.manifest: dict = {"seed": seed, "anchor": ANCHOR.isoformat(), "password": PASSWORD}

    def add(self, table: str, columns: str, rows: list[tuple]) -> None:
        self.tables[table] = (columns.split(), rows)

    def ids(self, sql: str) -> dict[str, int]:
        return {name: id_ for id_, name in self.conn.execute(sql)}

    # -- trackers, statuses, workflows, settings, admin --------------------------------------

    def reference(self) -> None:
        c, rng = self.conn, self.rng
        self.roles = self.ids("SELECT id, name FROM roles WHERE builtin = 0")
        statuses = self.ids("SELECT id, name FROM issue_statuses")
        next_id = max(statuses.values()) + 1
        for position, (name, closed) in enumerate(STATUS_ORDER, start=1):
            if name not in statuses:
                statuses[name] = next_id
                next_id += 1
                c.execute("INSERT INTO issue_statuses (id, name, is_closed, position) "
                          "VALUES (?, ?, ?, ?)", (statuses[name], name, int(closed), position))  # fmt: skip
            c.execute("UPDATE issue_statuses SET position = ? WHERE id = ?",
                      (position, statuses[name]))  # fmt: skip
        self.statuses = statuses
        self.closed = {statuses[n] for n, closed in STATUS_ORDER if closed}
        self.open_path = [statuses[n] for n, closed in STATUS_ORDER if not closed]
        trackers = self.ids("SELECT id, name FROM trackers")
        first = min(trackers.values())
        for name in NEW_TRACKERS:
            trackers[name] = max(trackers.values()) + 1
            c.execute("INSERT INTO trackers (id, name, position, is_in_roadmap, fields_bits, "
                      "default_status_id) VALUES (?, ?, ?, 1, 0, ?)",
                      (trackers[name], name, len(trackers), statuses["新規"]))  # fmt: skip
        self.trackers = trackers
        # New trackers follow the first's workflow; managers and developers may move an issue
        # between any two statuses (the default data knows only six).
        c.execute("INSERT INTO workflows (tracker_id, old_status_id, new_status_id, role_id, "
                  "assignee, author, type) SELECT t.id, w.old_status_id, w.new_status_id, "
                  "w.role_id, w.assignee, w.author, w.type FROM workflows w, trackers t "
                  f"WHERE w.tracker_id = {first} AND t.id > {max(trackers.values()) - 3}")  # fmt: skip
        have = set(c.execute("SELECT tracker_id, old_status_id, new_status_id, role_id "
                             "FROM workflows"))  # fmt: skip
        c.executemany(
            "INSERT INTO workflows (tracker_id, old_status_id, new_status_id, role_id, assignee, "
            "author, type) VALUES (?, ?, ?, ?, 0, 0, 'WorkflowTransition')",
            [(t, a, b, r) for t in sorted(trackers.values()) for r in
             (self.roles["管理者"], self.roles["開発者"]) for a in sorted(statuses.values())
             for b in sorted(statuses.values()) if a != b and (t, a, b, r) not in have],
        )  # fmt: skip
        self.priorities = [i for (i,) in c.execute("SELECT id FROM enumerations WHERE type = "
                                                   "'IssuePriority' ORDER BY position")]  # fmt: skip
        self.default_priority = c.execute("SELECT id FROM enumerations WHERE type = "
                                          "'IssuePriority' AND is_default = 1").fetchone()[0]  # fmt: skip
        settings = dict(SETTINGS)
        ids = "".join(f"- '{t}'\n" for t in sorted(trackers.values()))
        settings["default_projects_tracker_ids"] = "---\n" + ids
        c.executemany("DELETE FROM settings WHERE name = ?", [(n,) for n in settings])
        c.executemany("INSERT INTO settings (name, value, updated_on) VALUES (?, ?, ?)",
                      [(n, v, stamp(ANCHOR)) for n, v in settings.items()])  # fmt: skip
        # Redmine's admin: a known password and API key, no forced change
        salt, key = f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(160):040x}"
        begin = stamp(datetime(2012, 4, 1))
        # The default data's rows carry the time the template was made: the same for every one
        c.execute("UPDATE users SET created_on = ?, updated_on = ?", (begin, begin))
        c.execute("UPDATE users SET hashed_password = ?, salt = ?, must_change_passwd = 0, "
                  "created_on = ?, updated_on = ?, passwd_changed_on = ? WHERE login = 'admin'",
                  (redmine_password(ADMIN_PASSWORD, salt), salt, begin, begin, begin))  # fmt: skip
        c.execute("UPDATE email_addresses SET address = 'admin@city.example.jp', created_on = ?, "
                  "updated_on = ?", (begin, begin))  # fmt: skip
        c.execute("INSERT INTO tokens (user_id, action, value, created_on, updated_on) "
                  "SELECT id, 'api', ?, ?, ? FROM users WHERE login = 'admin'",
                  (key, begin, begin))  # fmt: skip
        self.manifest.update(admin_login="admin", admin_password=ADMIN_PASSWORD, admin_key=key)

    # -- people ------------------------------------------------------------------------------

    def people(self) -> None:
        rng = self.rng
        first_id = self.conn.execute("SELECT max(id) FROM users").fetchone()[0] + 1
        users, mails, groups, in_group = [], [], [], []
        self.staff: dict[str, list[int]] = {}  # login prefix → user ids
        self.group_of: dict[str, int] = {}
        mid = self.conn.execute("SELECT coalesce(max(id), 0) FROM email_addresses").fetchone()[0]
        n, uid, mid = self.scale.users, first_id, mid + 1
        counts = [max(1, round(n * share)) for *_, share, _c in ORGS]
        counts[1] += n - sum(counts)
        for (_group, prefix, domain, _share, _city), count in zip(ORGS, counts, strict=True):
            self.staff[prefix] = []
            for k in range(1, count + 1):
                login = f"{prefix}{k:03d}"
                created = datetime(2012, 4, 1) + timedelta(days=rng.randrange(5000))
                salt = f"{rng.getrandbits(128):032x}"
                en = prefix in ("joshu", "akagi") and rng.random() < 0.05
                users.append((
                    uid, login, redmine_password(PASSWORD, salt), salt,
                    rng.choice(GIVEN_NAMES), rng.choice(SURNAMES),
                    int(login == "joho001"), 3 if rng.random() < 0.03 else 1,
                    "en" if en else "ja", stamp(created), stamp(created + timedelta(days=30)),
                    "User", "only_my_events", stamp(created),
                    stamp(ANCHOR - timedelta(hours=rng.randrange(2000))),
                ))  # fmt: skip
                mails.append((mid, uid, f"{login}@{domain}", 1, 1, stamp(created), stamp(created)))
                mid += 1
                if rng.random() < 0.05:
                    mails.append((mid, uid, f"{login}.home@example.com", 0, 0, stamp(created),
                                  stamp(created)))  # fmt: skip
                    mid += 1
                self.staff[prefix].append(uid)
                uid += 1
        for group, prefix, *_ in ORGS:
            self.group_of[prefix] = uid
            groups.append((uid, "", "", None, "", group, 0, 1, "", stamp(datetime(2012, 4, 1)),
                           stamp(datetime(2012, 4, 1)), "Group", "", None, None))  # fmt: skip
            # every vendor engineer, seven in ten city staff are in their group
            in_group += [(uid, u) for u in self.staff[prefix]
                         if prefix in ("joshu", "akagi") or rng.random() < 0.7]  # fmt: skip
            uid += 1
        self.groups = set(self.group_of.values())
        self.group_members = {}
        for gid, u in in_group:
            self.group_members.setdefault(gid, []).append(u)
        cols = (
            "id login hashed_password salt firstname lastname admin status language "
            "created_on updated_on type mail_notification passwd_changed_on last_login_on"
        )
        self.add("users", cols, users + groups)
        self.add("email_addresses", "id user_id address is_default notify created_on updated_on",
                 mails)  # fmt: skip
        self.add("groups_users", "group_id user_id", in_group)

    # -- projects and memberships ------------------------------------------------------------

    def projects(self) -> None:
        rng, units = self.rng, self.scale.units
        names = UNITS[:units] + [
            (f"業務{i}", f"gyomu{i}") for i in range(len(UNITS) + 1, units + 1)
        ]
        r8 = {"id": 1, "name": "令和8年度", "ident": "r8", "parent": None, "fy": 2026}
        r7 = {"id": 2, "name": "令和7年度", "ident": "r7", "parent": None, "fy": 2025}
        projects = [r8, r7]
        for fy_project, chosen in ((r8, names), (r7, names[: max(1, units // 8)])):
            for name, ident in chosen:
                projects.append({"id": len(projects) + 1, "name": name, "parent": fy_project,
                                 "ident": f"{fy_project['ident']}-{ident}", "fy": fy_project["fy"]})  # fmt: skip
        first_unit = projects[2]
        wg = {"id": len(projects) + 1, "name": "制度改正対応ワーキンググループ", "fy": 2026,
              "ident": f"{first_unit['ident']}-wg", "parent": first_unit}  # fmt: skip
        projects.append(wg)
        children: dict[int, list[int]] = {}
        for p in projects:
            if p["parent"]:
                children.setdefault(p["parent"]["id"], []).append(p["id"])
        by_id = {p["id"]: p for p in projects}
        # Redmine keeps one nested set over all projects, siblings ordered by name.
        bounds, offset = {}, 0
        for root in sorted((p for p in projects if not p["parent"]), key=lambda p: p["name"]):
            tree = nested_set(children, [root["id"]], lambda i: by_id[i]["name"])
            bounds |= {i: (lft + offset, rgt + offset) for i, (lft, rgt) in tree.items()}
            offset = max(rgt for _l, rgt in bounds.values())
        rows = []
        for p in projects:
            created = datetime(p["fy"], 3, 15) + timedelta(hours=rng.randrange(300))
            p["status"] = 5 if p["fy"] < 2026 else 1  # last year's project is closed
            desc = (f"{CITY}の{p['name']}に関する課題管理です。\n\n"
                    f"* 所管: {rng.choice(ORGS[1:6])[0]}\n* 保守: {rng.choice(ORGS[6:])[0]}")  # fmt: skip
            rows.append((p["id"], p["name"], desc, "", 0, p["parent"] and p["parent"]["id"],
                         stamp(created), stamp(created), p["ident"], p["status"],
                         *bounds[p["id"]], 0))  # fmt: skip
        self.add("projects", "id name description homepage is_public parent_id created_on "
                 "updated_on identifier status lft rgt inherit_members", rows)  # fmt: skip
        self.add("projects_trackers", "project_id tracker_id",
                 [(p["id"], t) for p in projects for t in sorted(self.trackers.values())])  # fmt: skip
        self.add("enabled_modules", "project_id name",
                 [(p["id"], m) for p in projects for m in MODULES])  # fmt: skip
        self.project_list, self.wg = projects, wg
        self.units = [p for p in projects if p["parent"]]
        self.manifest["projects"] = {p["ident"]: p["id"] for p in projects}

    def memberships(self) -> None:
        """Each unit: staff of a department (one manager), someone of 情報政策課, its vendor as
        a group and two of the vendor's engineers by name; 情報政策課 as a group manages the
        fiscal-year projects. A group's roles reach its users as Redmine copies them: a
        member row per user with a member_role inherited_from the group's."""
        rng, roles = self.rng, self.roles
        members: dict[tuple[int, int], int] = {}
        member_roles: list[tuple] = []
        departments = [o for o in ORGS[1:6]]

        def member(user, project, role, inherited=None, when=None):
            key = (user, project["id"])
            if key not in members:
                members[key] = len(members) + 1
                created = when or datetime(project["fy"], 4, 1)
                member_rows.append((members[key], user, project["id"], stamp(created), 0))
            member_roles.append((len(member_roles) + 1, members[key], role, inherited))
            return len(member_roles)

        def group_member(prefix, project, role):
            gid = self.group_of[prefix]
            mr = member(gid, project, role)
            for u in self.group_members.get(gid, []):
                member(u, project, role, inherited=mr)

        member_rows: list[tuple] = []
        for fy_project in (p for p in self.project_list if not p["parent"]):
            group_member("joho", fy_project, roles["管理者"])
        self.city_members: dict[int, list[int]] = {}
        self.vendor_members: dict[int, list[int]] = {}
        for i, unit in enumerate(self.units):
            dept = departments[i % len(departments)][1]
            vendor = "joshu" if i % 3 else "akagi"
            if unit is self.wg:
                dept, vendor = self.units[0]["dept"], self.units[0]["vendor"]
            unit["dept"], unit["vendor"] = dept, vendor
            staff = rng.sample(self.staff[dept], min(len(self.staff[dept]), rng.randint(3, 6)))
            member(staff[0], unit, roles["管理者"])
            for u in staff[1:]:
                member(u, unit, roles["報告者"])
            joho = rng.choice(self.staff["joho"])
            member(joho, unit, roles["管理者"])
            group_member(vendor, unit, roles["開発者"])
            engineers = rng.sample(self.staff[vendor], min(2, len(self.staff[vendor])))
            for u in engineers:
                member(u, unit, roles["開発者"])
            self.city_members[unit["id"]] = staff + [joho]
            self.vendor_members[unit["id"]] = engineers + self.group_members.get(
                self.group_of[vendor], []
            )
        self.add("members", "id user_id project_id created_on mail_notification", member_rows)
        self.add("member_roles", "id member_id role_id inherited_from", member_roles)
