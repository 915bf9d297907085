"""`make bench-data`: a deterministic city-scale data set for the benchmark.

    .venv/bin/python bench/generate.py [--out bench/data/bench.db] [--seed N]

SQLite by default (a file of its own, never the app's database); with DATABASE_URL set to a
PostgreSQL server it (re)creates the database `sanmai_bench` there (BENCH_PG_DB overrides).
The schema comes from the migrations (flask_migrate.upgrade) and the reference data from
tickets.defaults.ensure_defaults(); everything else is bulk-inserted (executemany on SQLite,
COPY on PostgreSQL) with ids chosen here, so the same seed gives the same bytes.

Scale (issue 7): 3 cities, the council and 2 vendors; 5 fiscal years (FY2022–FY2026) with 40
business units each; 300 users with memberships; 20,000 meetings (plus one 50-attendee
sign-off meeting) with attendees and the three sheets (~12 items; the last past meeting of
every FY2026 unit has 40); 100,000 tickets in every tracker and status with parents and
children (homework items are backed by tickets); 500,000 journal entries with details;
5,000 confirmations with their revisions. "Now" for the data is ANCHOR (fixed, so the bytes
do not depend on the day it is made). A manifest (<db>.json) names the objects the benchmark
uses (the manager who sees every unit, the 40-item meeting, the sign-off meeting …).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from bisect import bisect_left
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.vocab import GUEST_ORGS, Text  # noqa: E402
from textsearch import GRAMS_COLUMN, register_sqlite_functions  # noqa: E402
from textsearch_schema import gram_document_fill_sql  # noqa: E402

SEED = 7
ANCHOR = datetime(2026, 11, 26, 3, 0)  # the data set's "now": 2026-11-26 12:00 JST
YEARS = range(2022, 2027)
PASSWORD = "bench-pw"
N_MEETINGS = 20_000
N_TICKETS = 100_000
N_JOURNALS = 500_000
N_CONFIRMATIONS = 5_000
BATCH = 20_000

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


class Sink:
    """Bulk writer: executemany on SQLite, COPY on PostgreSQL, with each table's missing
    NOT NULL columns filled from the model's scalar default (robust to added columns)."""

    def __init__(self, engine: sa.Engine, metadata: sa.MetaData):
        self.engine = engine
        self.metadata = metadata
        self.sqlite = engine.dialect.name == "sqlite"
        self.raw = engine.raw_connection()
        if self.sqlite:  # the FTS5 rebuild reads views that call them
            register_sqlite_functions(self.raw.driver_connection)
        self.counts: dict[str, int] = {}

    def _plan(self, table: sa.Table, columns: list[str]):
        extra_cols, extra_vals = [], []
        for col in table.columns:
            if col.name in columns or col.nullable or col.primary_key:
                continue
            if col.server_default is not None:
                continue
            default = col.default
            if default is None:
                raise RuntimeError(f"{table.name}.{col.name}: NOT NULL without a default")
            value = ANCHOR if default.is_callable else default.arg
            extra_cols.append(col.name)
            extra_vals.append(value)
        convert = []
        for name in columns + extra_cols:
            ctype = table.columns[name].type
            convert.append(self._converter(ctype))
        return extra_cols, tuple(extra_vals), convert

    def _converter(self, ctype):
        if isinstance(ctype, sa.JSON):
            return lambda v: None if v is None else json.dumps(v, ensure_ascii=False)
        if not self.sqlite:
            return None
        if isinstance(ctype, sa.DateTime):
            return lambda v: None if v is None else v.strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(ctype, sa.Date):
            return lambda v: None if v is None else v.isoformat()
        return None

    def insert(self, table_name: str, columns: list[str], rows) -> int:
        table = self.metadata.tables[table_name]
        extra_cols, extra_vals, convert = self._plan(table, columns)
        all_cols = columns + extra_cols
        active = [(i, f) for i, f in enumerate(convert) if f is not None]
        n = 0
        batch = []
        for row in rows:
            row = tuple(row) + extra_vals
            if active:
                row = list(row)
                for i, f in active:
                    row[i] = f(row[i])
            batch.append(row)
            if len(batch) >= BATCH:
                self._write(table_name, all_cols, batch)
                n += len(batch)
                batch = []
        if batch:
            self._write(table_name, all_cols, batch)
            n += len(batch)
        self.counts[table_name] = self.counts.get(table_name, 0) + n
        return n

    def _write(self, table: str, columns: list[str], batch: list) -> None:
        cur = self.raw.cursor()
        if self.sqlite:
            marks = ", ".join("?" * len(columns))
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", batch)
        else:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row(row)
        cur.close()

    def execute(self, sql: str) -> list:
        cur = self.raw.cursor()
        cur.execute(sql)
        rows = cur.fetchall() if cur.description else []
        cur.close()
        return rows

    def commit(self) -> None:
        self.raw.commit()


# --- the data ---------------------------------------------------------------------------------


class Builder:
    def __init__(self, sink: Sink, seed: int):
        self.sink = sink
        self.rng = random.Random(seed)
        self.text = Text(self.rng)
        self.manifest: dict = {"seed": seed, "anchor": ANCHOR.isoformat(), "password": PASSWORD}

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

    # -- meetings and their sheets -----------------------------------------------------------

    def meeting_plan(self):
        """Meeting slots: 100 per unit over its fiscal year, the FY2026 ones up to a fortnight
        after ANCHOR; sorted by time so ids follow time, as in a real installation."""
        rng = self.rng
        per_unit = N_MEETINGS // len(self.units)
        slots = []
        for unit in self.units:
            start = date(unit["fy"], 4, 1)
            end = date(unit["fy"] + 1, 3, 20)
            if unit["fy"] == ANCHOR.year:
                end = ANCHOR.date() + timedelta(days=14)
            span = (end - start).days
            for k in range(per_unit):
                day = start + timedelta(days=int(span * (k + rng.random() * 0.8) / per_unit))
                while day.weekday() >= 5:
                    day -= timedelta(days=1)
                hour, minute = rng.choice(((10, 0), (13, 30), (15, 0), (9, 30)))
                slots.append((jst(day, hour, minute), unit["id"], k + 1))
        slots.sort()
        unit_by_id = {u["id"]: u for u in self.units}
        self.meetings = []
        for mid, (starts, unit_id, n) in enumerate(slots, start=1):
            self.meetings.append({"id": mid, "starts": starts, "unit": unit_by_id[unit_id], "n": n})
        # The last past meeting of each FY2026 unit has 40 items.
        last_past = {}
        for m in self.meetings:
            if m["starts"] < ANCHOR and m["unit"]["fy"] == ANCHOR.year:
                last_past[m["unit"]["id"]] = m
        for m in last_past.values():
            m["big"] = True
        # One extra meeting: 50 attendees, frozen, nobody confirmed yet (concurrent sign-off).
        council = next(r for r in self.roots if r["slug"] == "council" and r["fy"] == ANCHOR.year)
        self.signoff = {"id": len(self.meetings) + 1, "starts": ANCHOR - timedelta(hours=1),
                        "unit": council["units"][2], "n": 999, "signoff": True}  # fmt: skip
        self.meetings.append(self.signoff)

    def sheets(self):
        """Attendees, items (homework as ticket specs), item events, in meeting order."""
        rng, text = self.rng, self.text
        self.homework_tickets = []  # specs; ids assigned with every other ticket
        self.goal_links = []  # (item id, unit, time): linked to a ticket once those exist
        att_rows, item_rows, event_rows = [], [], []
        unit_results, unit_previews = {}, {}  # for superseded decisions and pulled-in previews
        self.items_by_meeting = {}
        aid = iid = eid = 0
        for m in self.meetings:
            unit, root = m["unit"], m["unit"]["root"]
            past = m["starts"] < ANCHOR
            fac = rng.choice(root["facilitators"] or root["members"])
            if m.get("signoff"):
                members = [u for u in root["members"] if u != fac][:49]
            else:
                members = rng.sample(root["members"], min(len(root["members"]), rng.randint(3, 8)))
                members = [u for u in members if u != fac]
            people = [fac] + members
            attendees = []
            for pos, user_id in enumerate(people):
                aid += 1
                present = m.get("signoff") or rng.random() < 0.92 or pos == 0
                attendees.append({"id": aid, "user": user_id, "present": present})
                att_rows.append((aid, m["id"], user_id, None, None, None, present, pos))
            if rng.random() < 0.1 and not m.get("signoff"):
                aid += 1
                guest = {"id": aid, "user": None, "present": True, "name": text.person(),
                         "org": rng.choice(GUEST_ORGS)}  # fmt: skip
                attendees.append(guest)
                att_rows.append((aid, m["id"], None, guest["name"], guest["org"], None, True,
                                 len(people)))  # fmt: skip
            m["attendees"] = attendees
            m["facilitator"] = fac
            m["place"] = text.place()

            seq = 1
            t0 = m["starts"]
            events = [(m["id"], None, 1, fac, "create_meeting", None,
                       {"title": "…"}, t0 - timedelta(days=3))]  # fmt: skip
            for a in attendees:
                seq += 1
                name = self.user_by_id[a["user"]]["name"] if a["user"] else a["name"]
                events.append((m["id"], None, seq, fac, "add_attendee", None,
                               {"name": name, "present": a["present"]}, t0 - timedelta(days=3)))  # fmt: skip

            if m.get("big"):
                counts = {"goal": 8, "result": 12, "homework": 10, "break": 4, "preview": 6}
            elif m.get("signoff"):
                counts = {"goal": 3, "result": 4, "homework": 3, "break": 1, "preview": 1}
            elif past:
                counts = {"goal": rng.randint(2, 4), "result": rng.randint(3, 5),
                          "homework": rng.randint(2, 4), "break": rng.randint(0, 1),
                          "preview": rng.randint(1, 2)}  # fmt: skip
            else:  # a meeting still to come: only its goals are written
                counts = {"goal": rng.randint(2, 4)}
            items = []
            goals = []
            position = {"goal": 0, "result": 0, "homework": 0, "sheet3": 0}
            for kind in ("goal", "result", "homework", "break", "preview"):
                for _ in range(counts.get(kind, 0)):
                    iid += 1
                    group = "sheet3" if kind in ("break", "preview") else kind
                    pos = position[group]
                    position[group] += 1
                    at = (
                        t0 + timedelta(minutes=2 * len(items) + 1)
                        if kind != "goal"
                        else t0 - timedelta(days=2)
                    )
                    parent = None
                    ticket_ref = None
                    if kind == "goal":
                        body = text.goal()
                        goals.append(iid)
                        if rng.random() < 0.35:
                            self.goal_links.append((iid, unit, t0))
                    elif kind == "result":
                        body = text.result()
                        parent = rng.choice(goals) if goals and rng.random() < 0.85 else None
                    elif kind == "homework":
                        body = text.homework()
                        parent = rng.choice(goals) if goals and rng.random() < 0.7 else None
                        who = rng.choice(attendees)
                        ticket_ref = {
                            "kind": "homework", "unit": unit, "created": at, "subject": body,
                            "assignee": who["user"], "guest": who.get("name"),
                            "author": fac, "due": (t0 + timedelta(days=rng.randint(5, 30))).date(),
                            "tracker": self.inquiry, "goal_item": parent, "item": iid,
                        }  # fmt: skip
                        self.homework_tickets.append(ticket_ref)
                    elif kind == "break":
                        body = text.break_note()
                    else:
                        body = text.preview()
                    item = [iid, m["id"], kind, pos, body, parent, None, ticket_ref, False, None,
                            fac, at, at, None, 1]  # fmt: skip
                    items.append(item)
                    earlier_results = unit_results.setdefault(unit["id"], [])
                    earlier_previews = unit_previews.setdefault(unit["id"], [])
                    if kind == "result" and earlier_results and rng.random() < 0.02:
                        rng.choice(earlier_results[-200:])[9] = iid  # a later decision supersedes
                    if kind == "goal" and earlier_previews and rng.random() < 0.1:
                        item[6] = rng.choice(earlier_previews[-50:])[0]  # pulled-in preview
                    if past and kind == "result":
                        earlier_results.append(item)
                    elif past and kind == "preview":
                        earlier_previews.append(item)
                    seq += 1
                    events.append((m["id"], iid, seq, fac, "add", None,
                                   {"kind": kind, "text": body, "position": pos,
                                    "meeting_id": m["id"], "parent_item_id": parent},
                                   at))  # fmt: skip
            # Mark a few goals "not discussed" and a few results superseded by a later one.
            for item in items:
                if item[2] == "goal" and past and rng.random() < 0.03:
                    item[8] = True
            self.items_by_meeting[m["id"]] = items
            item_rows.extend(items)
            for status in ("in_session",) if past else ():
                seq += 1
                events.append((m["id"], None, seq, fac, "status", {"status": "draft"},
                               {"status": status}, t0))  # fmt: skip
            m["seq"] = seq
            m["status"] = "in_session" if past else "draft"
            for ev in events:
                eid += 1
                event_rows.append((eid, *ev))
        self.item_rows = item_rows
        self.att_rows, self.event_rows = att_rows, event_rows

    # -- tickets -----------------------------------------------------------------------------

    def tickets(self):
        """Homework tickets plus other tickets (every tracker) up to N_TICKETS, sorted by time
        for their ids; 15% of the others are children of an earlier ticket of their unit."""
        rng, text = self.rng, self.text
        others = N_TICKETS - len(self.homework_tickets)
        specs = list(self.homework_tickets)
        by_unit = {u["id"]: [] for u in self.units}
        for _ in range(others):
            unit = rng.choice(self.units)
            start = datetime(unit["fy"], 4, 1)
            end = min(datetime(unit["fy"] + 1, 3, 31), ANCHOR)
            created = start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))
            created = created.replace(microsecond=0)
            root = unit["root"]
            spec = {
                "kind": "other", "unit": unit, "created": created,
                "subject": text.ticket_subject(), "assignee": rng.choice(root["members"])
                if rng.random() < 0.85 else None, "guest": None,
                "author": rng.choice(root["members"]),
                "due": (created + timedelta(days=rng.randint(7, 90))).date()
                if rng.random() < 0.6 else None,
                "tracker": rng.choice(self.trackers), "goal_item": None, "item": None,
            }  # fmt: skip
            specs.append(spec)
            by_unit[unit["id"]].append(spec)
        for lst in by_unit.values():
            lst.sort(key=lambda s: s["created"])
            for i, spec in enumerate(lst):
                if i > 0 and rng.random() < 0.15:
                    parent = lst[rng.randrange(max(0, i - 40), i)]
                    spec["parent"] = parent
        specs.sort(key=lambda s: (s["created"], s["unit"]["id"], s["subject"]))
        for tid, spec in enumerate(specs, start=1):
            spec["id"] = tid
        # Goals point at an earlier (non-homework) ticket of their unit; homework under such a
        # goal is that ticket's child, as the Minutes issue asks.
        times = {uid: [s["created"] for s in lst] for uid, lst in by_unit.items()}
        goal_ticket = {}
        for item_id, unit, when in self.goal_links:
            lst = by_unit[unit["id"]]
            k = bisect_left(times[unit["id"]], when)
            if k:
                goal_ticket[item_id] = lst[rng.randrange(max(0, k - 30), k)]
        for spec in self.homework_tickets:
            if spec["goal_item"] in goal_ticket:
                spec["parent"] = goal_ticket[spec["goal_item"]]
        for items in self.items_by_meeting.values():
            for item in items:
                if item[7] is not None:
                    item[7] = item[7]["id"]
                elif item[2] == "goal" and item[0] in goal_ticket:
                    item[7] = goal_ticket[item[0]]["id"]
        self.ticket_specs = specs

        # Status by age: old tickets are mostly closed.
        for spec in specs:
            age = (ANCHOR - spec["created"]).days
            p_closed = (0.9 if age > 60 else 0.35) if spec["kind"] == "homework" else (
                0.85 if age > 90 else 0.4)  # fmt: skip
            if rng.random() < p_closed:
                spec["status"] = (
                    self.done_status if rng.random() < 0.9 else self.closed_status_ids[-1]
                )
            else:
                spec["status"] = rng.choice(self.open_status_ids)
            spec["children"] = []
        for spec in specs:
            if spec.get("parent"):
                spec["parent"]["children"].append(spec)
        # Parent rule: closed exactly when every child is (children have larger ids: walk down).
        for spec in reversed(specs):
            if spec["children"]:
                all_closed = all(self.is_closed[c["status"]] for c in spec["children"])
                if all_closed and not self.is_closed[spec["status"]]:
                    spec["status"], spec["auto_closed"] = self.done_status, True
                elif not all_closed and self.is_closed[spec["status"]]:
                    spec["status"] = rng.choice(self.open_status_ids)

    def journals(self):
        """~5 journals per ticket (exactly N_JOURNALS), ordered by time for their ids; status
        changes walk from 起票 to the ticket's status; the ticket's updated_at/closed_at/version
        follow its journals."""
        rng, text = self.rng, self.text
        specs = self.ticket_specs
        counts = [rng.randint(1, 9) for _ in specs]
        diff = N_JOURNALS - sum(counts)
        step = 1 if diff > 0 else -1
        i = 0
        while diff:
            k = i % len(counts)
            if counts[k] + step >= 1:
                counts[k] += step
                diff -= step
            i += 7919
        journals = []
        for spec, n in zip(specs, counts, strict=True):
            root = spec["unit"]["root"]
            created = spec["created"]
            horizon = min(ANCHOR, created + timedelta(days=rng.randint(3, 120)))
            span = max(60, int((horizon - created).total_seconds()))
            moments = sorted(rng.randrange(60, span + 60) for _ in range(n))
            final = spec["status"]
            changes = max(1, n // 2) if final != self.new_status else 0
            change_at = set(rng.sample(range(n), min(changes, n))) if changes else set()
            if changes:
                change_at.add(n - 1)
            path_len = len(change_at)
            path = [rng.choice(self.open_status_ids) for _ in range(path_len - 1)] + [final]
            current = self.new_status
            closed_at = None
            k_change = 0
            for j, offset in enumerate(moments):
                at = created + timedelta(seconds=offset)
                details = []
                notes = text.note() if rng.random() < 0.7 else ""
                user = rng.choice(root["members"])
                if j in change_at:
                    target = path[k_change]
                    k_change += 1
                    if target != current:
                        details.append(("status_id", str(current), str(target)))
                        if self.is_closed[target]:
                            closed_at = at
                        current = target
                    if j == n - 1 and spec.get("auto_closed"):
                        user = None
                        notes = "子チケットがすべて完了したため自動的に完了にしました。"
                if spec["kind"] != "homework" and rng.random() < 0.15:
                    new = rng.choice(root["members"])
                    details.append(("assigned_to_id", str(spec["assignee"] or ""), str(new)))
                    spec["assignee"] = new
                if rng.random() < 0.05 and spec["due"]:
                    old = spec["due"]
                    spec["due"] = old + timedelta(days=7)
                    details.append(("due_date", old.isoformat(), spec["due"].isoformat()))
                if not notes and not details:
                    notes = text.note() or "確認しました。"
                journals.append((at, spec["id"], user, notes, rng.random() < 0.03, details))
            spec["updated"] = created + timedelta(seconds=moments[-1])
            spec["closed_at"] = closed_at if self.is_closed[final] else None
            spec["version"] = 1 + n
        journals.sort(key=lambda j: (j[0], j[1]))
        jrows, drows = [], []
        did = 0
        for jid, (at, tid, user, notes, private, details) in enumerate(journals, start=1):
            jrows.append((jid, tid, user, notes, private, at))
            for name, old, new in details:
                did += 1
                drows.append((did, jid, "attr", name, old, new))
        self.journal_rows, self.detail_rows = jrows, drows

    def ticket_rows(self):
        rng = self.rng
        for spec in self.ticket_specs:
            subject = spec["subject"][:255]
            if spec["kind"] == "homework":
                description = f"会議の宿題です。\n\n{subject}"
            else:
                description = self.text.ticket_description(subject)
            closed = self.is_closed[spec["status"]]
            yield (
                spec["id"], spec["unit"]["id"], spec["tracker"], spec["status"],
                self.default_priority if rng.random() < 0.7 else rng.choice(self.priorities),
                subject, description, spec["assignee"], spec["guest"],
                spec["created"].date(), spec["due"], 100 if closed else rng.choice((0, 10, 30, 50, 80)),
                spec["parent"]["id"] if spec.get("parent") else None, spec["author"],
                None, spec["created"], spec["updated"], spec["closed_at"], spec["version"],
            )  # fmt: skip

    # -- revisions and confirmations ----------------------------------------------------------

    def confirmations(self):
        """The most recent past meetings are frozen and confirmed by every attendee present
        (a fifth of them after a second revision), until N_CONFIRMATIONS sign-offs; the
        sign-off meeting is frozen and awaits its 50 confirmations."""
        rng = self.rng
        rev_rows, conf_rows = [], []
        rid = cid = 0
        past = [m for m in self.meetings if m["starts"] < ANCHOR and not m.get("signoff")]
        past.sort(key=lambda m: m["starts"], reverse=True)
        confirmed = []

        homework_spec = {spec["item"]: spec for spec in self.homework_tickets}
        status_name = {s[0]: s[1] for s in self.statuses}

        def local(value):
            return (value + timedelta(hours=9)).isoformat() + "+09:00"

        def person(a):
            user = self.user_by_id.get(a["user"])
            if user is None:
                return a["name"], a["org"]
            return user["name"], self.org_name[self.org_ids[user["org"]]]

        def homework(it):
            spec = homework_spec[it[0]]
            who = self.user_by_id[spec["assignee"]]["name"] if spec["assignee"] else spec["guest"]
            return {"id": it[0], "goal": it[5], "ticket": it[7], "who": who or "",
                    "what": spec["subject"], "due_date": spec["due"].isoformat(),
                    "status": status_name[spec["status"]]}  # fmt: skip

        def freeze(m, number, at):
            """A revision in minutes.revisions' canonical format (docs/FINGERPRINT.md)."""
            nonlocal rid
            rid += 1
            items = self.items_by_meeting[m["id"]]
            unit = m["unit"]
            content = {
                "format": "sanmai.minutes/1",
                "revision": number,
                "meeting": {
                    "id": m["id"], "title": m["title"], "project": unit["root"]["name"],
                    "unit": unit["name"], "starts_at": local(m["starts"]),
                    "ends_at": local(m["starts"] + timedelta(hours=1)), "place": m["place"],
                    "facilitator": self.user_by_id[m["facilitator"]]["name"],
                },
                "attendees": [
                    {"id": a["id"], "name": person(a)[0], "organisation": person(a)[1],
                     "present": bool(a["present"]), "guest": a["user"] is None}
                    for a in m["attendees"]
                ],
                "goals": [{"id": it[0], "text": it[4], "ticket": it[7], "not_discussed": it[8]}
                          for it in items if it[2] == "goal"],
                "results": [{"id": it[0], "goal": it[5], "text": it[4]}
                            for it in items if it[2] == "result"],
                "homework": [homework(it) for it in items if it[2] == "homework"],
                "breaks": [{"id": it[0], "text": it[4]} for it in items if it[2] == "break"],
                "previews": [{"id": it[0], "text": it[4]} for it in items if it[2] == "preview"],
            }  # fmt: skip
            text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            fingerprint = hashlib.sha256(text.encode()).hexdigest()
            rev_rows.append((rid, m["id"], number, text, fingerprint, at, m["facilitator"]))
            # The history says when it was frozen (minutes.revisions reads it to know whether
            # the minutes changed since).
            m["seq"] += 1
            self.event_rows.append((len(self.event_rows) + 1, m["id"], None, m["seq"],
                                    m["facilitator"], "freeze", None,
                                    {"revision": number, "fingerprint": fingerprint}, at))  # fmt: skip
            return rid, fingerprint

        def confirm(m, rev, fingerprint, at, limit):
            nonlocal cid
            for a in m["attendees"]:
                if not a["present"] or len(conf_rows) >= limit:
                    continue
                cid += 1
                user = self.user_by_id.get(a["user"])
                name = user["name"] if user else a["name"]
                org = self.org_name[self.org_ids[user["org"]]] if user else a["org"]
                method = (
                    "link" if user is None else rng.choice(("own_device", "own_device", "in_room"))
                )
                recorder = m["facilitator"] if method == "in_room" else None
                conf_rows.append((cid, rev, a["id"], a["user"], name, org, method, recorder,
                                  fingerprint, None, at + timedelta(minutes=rng.randint(1, 20))))  # fmt: skip

        for m in past:
            if len(conf_rows) >= N_CONFIRMATIONS:
                break
            end = m["starts"] + timedelta(hours=1)
            number = 1
            if rng.random() < 0.2:
                rev, fp = freeze(m, 1, end)
                confirm(m, rev, fp, end, len(conf_rows) + 2)  # two confirmed before a correction
                number = 2
            rev, fp = freeze(m, number, end + timedelta(minutes=30))
            before = len(conf_rows)
            confirm(m, rev, fp, end + timedelta(minutes=30), N_CONFIRMATIONS)
            present = sum(1 for a in m["attendees"] if a["present"])
            m["status"] = (
                "confirmed" if len(conf_rows) - before == present else "awaiting_confirmation"
            )
            confirmed.append(m["id"])
        s = self.signoff
        self.signoff_revision, _fp = freeze(s, 1, s["starts"] + timedelta(minutes=50))
        s["status"] = "awaiting_confirmation"
        self.rev_rows, self.conf_rows = rev_rows, conf_rows
        self.manifest["confirmed_meetings"] = len(confirmed)

    # -- the whole thing ---------------------------------------------------------------------

    def run(self, log):
        s = self.sink
        self.reference()
        self.organisations_and_users()
        self.projects()
        self.memberships()
        log("people and projects")
        self.meeting_plan()
        for m in self.meetings:
            m["title"] = (
                "【ベンチ】50人で確認する会議" if m.get("signoff")
                else self.text.meeting_title(m["unit"]["name"], m["n"])
            )  # fmt: skip
        self.sheets()
        log("sheets planned")
        self.tickets()
        self.journals()
        log("tickets and journals planned")
        self.confirmations()
        meeting_rows = [
            (m["id"], m["unit"]["id"], m["title"], m["starts"], m["starts"] + timedelta(hours=1),
             m["place"], m["facilitator"], m["status"], None, m["seq"], 1, m["facilitator"],
             m["starts"] - timedelta(days=3), m["starts"] + timedelta(hours=1))
            for m in self.meetings
        ]  # fmt: skip
        s.insert("meetings", ["id", "unit_id", "title", "starts_at", "ends_at", "place",
                              "facilitator_id", "status", "previous_id", "change_seq", "version",
                              "created_by_id", "created_at", "updated_at"], meeting_rows)  # fmt: skip
        s.insert("attendees", ["id", "meeting_id", "user_id", "guest_name", "guest_organisation",
                               "guest_email", "present", "position"], self.att_rows)  # fmt: skip
        s.insert("tickets", ["id", "project_id", "tracker_id", "status_id", "priority_id",
                             "subject", "description", "assignee_id", "guest_name", "start_date",
                             "due_date", "done_ratio", "parent_id", "author_id", "decision",
                             "created_at", "updated_at", "closed_at", "version"],
                 self.ticket_rows())  # fmt: skip
        log("meetings, attendees, tickets written")
        s.insert("items", ["id", "meeting_id", "kind", "position", "text", "parent_item_id",
                           "origin_item_id", "ticket_id", "not_discussed", "superseded_by_id",
                           "created_by_id", "created_at", "updated_at", "deleted_at", "version"],
                 self.item_rows)  # fmt: skip
        s.insert("item_events", ["id", "meeting_id", "item_id", "seq", "actor_id", "action",
                                 "before", "after", "at"], self.event_rows)  # fmt: skip
        log("items and events written")
        s.insert("journals", ["id", "ticket_id", "user_id", "notes", "private_notes", "created_at"],
                 self.journal_rows)  # fmt: skip
        s.insert("journal_details", ["id", "journal_id", "property", "name", "old_value",
                                     "new_value"], self.detail_rows)  # fmt: skip
        log("journals written")
        s.insert("revisions", ["id", "meeting_id", "number", "content", "fingerprint",
                               "frozen_at", "frozen_by_id"], self.rev_rows)  # fmt: skip
        s.insert("confirmations", ["id", "revision_id", "attendee_id", "user_id", "name",
                                   "organisation", "method", "recorded_by_id", "fingerprint",
                                   "objection", "at"], self.conf_rows)  # fmt: skip
        self.write_manifest()

    def write_manifest(self):
        big = [m for m in self.meetings if m.get("big")]
        big.sort(key=lambda m: m["starts"], reverse=True)
        forty = big[0]
        signoff = self.signoff
        signers = [self.user_by_id[a["user"]]["login"] for a in signoff["attendees"]]
        unit = forty["unit"]
        self.manifest.update(
            counts=dict(self.sink.counts),
            manager="maebashi001",
            admin="maebashi002",
            member=self.user_by_id[forty["facilitator"]]["login"],
            meeting_40=forty["id"],
            meetings_40=[m["id"] for m in big],  # all confirmed: cold PDF renders
            meeting_40_seq=forty["seq"],
            meeting_40_unit=unit["id"],
            signoff_meeting=signoff["id"],
            signoff_revision=self.signoff_revision,
            signoff_users=signers,
            tracker_id=self.trackers[1],
            status_id=self.open_status_ids[2],
            project=unit["root"]["id"],
            unit=unit["id"],
        )


# --- database set-up ---------------------------------------------------------------------------


def prepare(url: str):
    """Schema by the migrations and the reference data, on an app of its own."""
    from flask_migrate import upgrade

    from app import create_app
    from extensions import db
    from tickets.defaults import ensure_defaults

    instance = ROOT / "bench" / "data" / "instance"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(instance),
                      "SANMAI_CACHE_DIR": str(instance / "cache"),
                      "SANMAI_UPLOAD_DIR": str(instance / "files")})  # fmt: skip
    with app.app_context():
        upgrade()
        ensure_defaults()
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return db.metadata


def postgres_url(server_url: str, name: str) -> str:
    server = sa.engine.make_url(server_url)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_search_and_indexes(sink: Sink) -> list[str]:
    """Secondary indexes and search triggers slow a bulk load down: drop them, return the SQL
    that puts them back (after the load, with the FTS indexes rebuilt in one go)."""
    restore = []
    if sink.sqlite:
        rows = sink.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL "
            "AND type IN ('index', 'trigger') ORDER BY type, name"
        )
        for kind, name, sql in rows:
            sink.execute(f"DROP {kind.upper()} {name}")
            restore.append(sql)
        fts = sink.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND sql LIKE '%USING fts5%' "
            "ORDER BY name"
        )
        restore += [f"INSERT INTO {n}({n}) VALUES ('rebuild')" for (n,) in fts]
    else:
        rows = sink.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname) "
            "ORDER BY i.indexname"
        )
        for name, sql in rows:
            sink.execute(f'DROP INDEX "{name}"')
            restore.append(sql)
    sink.commit()
    return restore


def finish(sink: Sink, restore: list[str], metadata: sa.MetaData) -> None:
    if not sink.sqlite:  # the GIN indexes (trigram, bigram) are built in memory
        sink.execute("SET maintenance_work_mem = '256MB'")
    grams = [sql for sql in restore if f"({GRAMS_COLUMN})" in sql]  # the gram index, if any
    for sql in restore:
        if sql not in grams:
            sink.execute(sql)
    if grams:
        # The tickets' gram documents, which the triggers off during the load did not write:
        # filled once the other indexes are back (each document reads its ticket's notes by
        # ticket_id), and their own index built from them in one go.
        sink.execute(gram_document_fill_sql("tickets"))
        for sql in grams:
            sink.execute(sql)
    if not sink.sqlite:
        for table in metadata.sorted_tables:
            if "id" in table.columns and table.columns["id"].autoincrement is not False:
                sink.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                )
    if not sink.sqlite:
        sink.execute("SET session_replication_role = DEFAULT")
    sink.commit()
    if sink.sqlite:
        sink.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        sink.execute("VACUUM")
        # Statistics for the query planner: without them SQLite walks the wrong indexes.
        sink.execute("ANALYZE")
        sink.commit()
    else:
        sink.raw.driver_connection.autocommit = True
        if grams:  # the fill left a dead version of every ticket: 145 MB where 110 are live
            sink.execute("VACUUM FULL tickets")
        sink.execute("VACUUM ANALYZE")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "data" / "bench.db"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def log(step):
        print(f"  {time.perf_counter() - started:6.1f} s  {step}", flush=True)

    server = os.environ.get("DATABASE_URL", "")
    if server.startswith("postgres"):
        name = os.environ.get("BENCH_PG_DB", "sanmai_bench")
        url = postgres_url(server, name)
        manifest_path = ROOT / "bench" / "data" / f"postgresql-{name}.json"
        target = f"PostgreSQL database {name}"
    else:
        out = Path(args.out).resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(out) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{out}"
        manifest_path = Path(str(out) + ".json")
        target = str(out)
    print(f"bench data → {target}")
    metadata = prepare(url)
    log("schema (migrations) and reference data")
    engine = sa.create_engine(url)
    sink = Sink(engine, metadata)
    if sink.sqlite:
        sink.execute("PRAGMA journal_mode=OFF")
        sink.execute("PRAGMA synchronous=OFF")
        sink.execute("PRAGMA foreign_keys=OFF")
    else:  # as foreign_keys=OFF: rows may point at rows of a later batch (superseded_by_id)
        sink.execute("SET session_replication_role = replica")
    restore = drop_search_and_indexes(sink)
    builder = Builder(sink, args.seed)
    builder.run(log)
    sink.commit()
    log("rows written")
    finish(sink, restore, metadata)
    log("indexes, search index and vacuum")
    sink.raw.close()
    engine.dispose()
    elapsed = time.perf_counter() - started
    builder.manifest["url"] = sa.engine.make_url(url).render_as_string(hide_password=True)
    builder.manifest["seconds"] = round(elapsed, 1)
    if not server.startswith("postgres"):
        builder.manifest["bytes"] = Path(args.out).stat().st_size
    manifest_path.write_text(json.dumps(builder.manifest, ensure_ascii=False, indent=1) + "\n")
    total = sum(builder.manifest["counts"].values())
    size = f", {builder.manifest['bytes'] / 1e6:.0f} MB" if "bytes" in builder.manifest else ""
    print(f"done: {total:,} rows in {elapsed:.0f} s{size}; manifest {manifest_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
