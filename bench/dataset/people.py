"""The data set's reference data, organisations, users, projects (business units) and
memberships."""

from __future__ import annotations

import hashlib
from datetime import datetime

from bench.dataset.scale import (
    ORGS,
    PASSWORD,
    ROOTS,
    VENDOR_OF,
    YEARS,
)


class People:
    """Builder's people (bench/generate.py): its methods fill lists of rows on self."""

    def reference(self):
        rows = self.sink.execute(
            "SELECT id, name, is_closed, owner_side FROM statuses ORDER BY position"
        )
        self.statuses = [(r[0], r[1], bool(r[2]), r[3]) for r in rows]
        self.open_status_ids = [s[0] for s in self.statuses if not s[2]]
        self.closed_status_ids = [s[0] for s in self.statuses if s[2]]
        self.is_closed = {s[0]: s[2] for s in self.statuses}
        self.side = {s[0]: s[3] for s in self.statuses}
        self.new_status = self.statuses[0][0]
        self.done_status = self.closed_status_ids[0]
        self.trackers = [
            r[0] for r in self.sink.execute("SELECT id FROM trackers ORDER BY position")
        ]
        self.inquiry = self.trackers[0]
        rows = self.sink.execute("SELECT id, is_default FROM priorities ORDER BY position")
        self.priorities = [r[0] for r in rows]
        self.default_priority = next(r[0] for r in rows if r[1])

    # -- who and where ---------------------------------------------------------------------

    def organisations_and_users(self):
        rng = self.rng
        self.org_ids, self.org_name, self.users = {}, {}, []
        org_rows = []
        for i, (name, name_en, kind, slug, _n) in enumerate(ORGS, start=1):
            self.org_ids[slug] = i
            self.org_name[i] = name
            org_rows.append((i, name, name_en, kind, datetime(2022, 3, 1)))
        self.sink.insert("organisations", ["id", "name", "name_en", "kind", "created_at"], org_rows)

        salt = "benchsalt" + str(self.manifest["seed"])
        digest = hashlib.scrypt(PASSWORD.encode(), salt=salt.encode(), n=2**15, r=8, p=1,
                                maxmem=132 * 2**15 * 8).hex()  # fmt: skip
        password_hash = f"scrypt:32768:8:1${salt}${digest}"  # werkzeug's format
        user_rows = []
        uid = 0
        for _name, _en, kind, slug, n in ORGS:
            for k in range(1, n + 1):
                uid += 1
                login = f"{slug}{k:03d}"
                token = hashlib.sha256(f"{self.manifest['seed']}:{login}".encode()).hexdigest()[:40]
                user = {
                    "id": uid, "login": login, "org": slug, "kind": kind, "name": self.text.person(),
                    "language": "en" if rng.random() < 0.05 else "ja", "token": token,
                }  # fmt: skip
                self.users.append(user)
                user_rows.append((uid, login, user["name"], f"{login}@example.jp",
                                  self.org_ids[slug], user["language"], password_hash, token, None,
                                  login == "maebashi002", True, None, datetime(2022, 3, 1)))  # fmt: skip
        cols = ["id", "login", "name", "email", "organisation_id", "language", "password_hash",
                "api_token", "feed_token", "is_admin", "is_active_account", "last_login_at",
                "created_at"]  # fmt: skip
        self.sink.insert("users", cols, user_rows)
        self.user_by_id = {u["id"]: u for u in self.users}

    def projects(self):
        self.roots, self.units = [], []  # dicts
        pid = 0
        rows = []
        for fy in YEARS:
            for slug, unit_list in ROOTS:
                pid += 1
                org_id = self.org_ids[slug]
                org, org_en = ORGS[org_id - 1][0], ORGS[org_id - 1][1]
                root = {"id": pid, "slug": slug, "fy": fy, "units": [],
                        "name": f"{org} 令和{fy - 2018}年度"}  # fmt: skip
                self.roots.append(root)
                created = datetime(fy, 3, 15)
                rows.append((pid, f"{slug}-{fy}", f"{org} 令和{fy - 2018}年度", f"{org_en} FY{fy}",
                             f"{org}の基幹業務システム運用（{fy}年度）", None, fy, org_id,
                             self.inquiry, len(self.roots), False, created, created))  # fmt: skip
                for pos, (uname, ident) in enumerate(unit_list):
                    pid += 1
                    unit = {"id": pid, "root": root, "name": uname, "fy": fy, "tickets": [],
                            "ticket_times": []}  # fmt: skip
                    root["units"].append(unit)
                    self.units.append(unit)
                    rows.append((pid, f"{slug}-{fy}-{ident}", uname, None, "", root["id"], None,
                                 org_id, self.inquiry, pos, False, created, created))  # fmt: skip
        cols = ["id", "identifier", "name", "name_en", "description", "parent_id", "fiscal_year",
                "owner_organisation_id", "homework_tracker_id", "position", "is_archived",
                "created_at", "updated_at"]  # fmt: skip
        self.sink.insert("projects", cols, rows)

    def memberships(self):
        rng = self.rng
        rows = []
        mid = 0
        for root in self.roots:
            root["members"], root["facilitators"] = [], []
            for user in self.users:
                slug, kind = user["org"], user["kind"]
                if user["login"] == "maebashi001":
                    role = "manager"  # the benchmark's manager who sees every unit
                elif root["slug"] == "council":
                    if kind == "council":
                        role = "manager" if user["login"].endswith("1") else "facilitator"
                    elif user["id"] % 5 in (0, 1):  # two in five of everyone else
                        role = "member" if kind == "vendor" else "facilitator"
                    else:
                        continue
                elif slug == root["slug"]:
                    role = rng.choices(("manager", "facilitator", "member", "viewer"),
                                       (4, 15, 66, 15))[0]  # fmt: skip
                elif kind == "vendor" and VENDOR_OF[root["slug"]] == slug:
                    role = "member" if rng.random() < 0.85 else "facilitator"
                else:
                    continue
                mid += 1
                rows.append((mid, user["id"], root["id"], role, datetime(root["fy"], 3, 20)))
                root["members"].append(user["id"])
                if role in ("manager", "facilitator"):
                    root["facilitators"].append(user["id"])
        self.sink.insert("memberships", ["id", "user_id", "project_id", "role", "created_at"], rows)
