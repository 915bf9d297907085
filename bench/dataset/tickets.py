"""The data set's tickets (homework and every tracker, with parents and children) and their
journals."""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timedelta

from bench.dataset.scale import (
    ANCHOR,
    N_JOURNALS,
    N_TICKETS,
)


class Tickets:
    """Builder's tickets (bench/generate.py): its methods fill lists of rows on self."""

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
