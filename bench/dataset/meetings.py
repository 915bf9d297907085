"""The data set's meetings, attendees, sheets with their items and events, and the revisions
and confirmations of signed-off minutes."""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta

from bench.dataset.scale import (
    ANCHOR,
    N_CONFIRMATIONS,
    N_MEETINGS,
    jst,
)
from bench.vocab import GUEST_ORGS


class Meetings:
    """Builder's meetings (bench/generate.py): its methods fill lists of rows on self."""

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
