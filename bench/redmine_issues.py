"""The issues of the city's Redmine and their history (bench/redmine_rows.py's City):
issues with parents as nested sets, watchers, relations, journals and journal details.

Each issue's journals tell its story up to its current row: the status runs from 新規
through a few open statuses to the current one (a closed issue is closed by its last
journal, which gives closed_on), an assignee and a due date may change on the way, and
updated_on is the last journal's time. A parent is open while any child is, and its dates,
priority and done ratio are derived from its children as Redmine derives them.
"""

from __future__ import annotations

import time
from datetime import datetime
from itertools import accumulate

from bench.redmine_rows import (
    ANCHOR,
    OPEN_WEIGHTS,
    PRIORITY_WEIGHTS,
    TRACKER_WEIGHTS,
    nested_set,
)
from bench.vocab import ACTIONS, EN_SENTENCES, OBJECTS, PROBLEMS, SURNAMES, SYSTEMS, TOPICS

EPOCH = datetime(1970, 1, 1)
NOW = int((ANCHOR - EPOCH).total_seconds())
DAY = 86400
JST = 9 * 3600


def clock(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def day(seconds: int) -> str:
    """The Japan-time date of a UTC time (Redmine's dates are the city's days)."""
    return time.strftime("%Y-%m-%d", time.gmtime(seconds + JST))


class Issue:
    __slots__ = ("id", "unit", "created", "tracker", "status", "priority", "author", "assignee",
                 "start", "due", "done", "parent", "children", "end", "closed_on", "updated",
                 "journals", "root", "bounds")  # fmt: skip

    def __init__(self, unit, created: int):
        self.unit, self.created = unit, created
        self.parent, self.children, self.closed_on, self.journals = None, [], None, 0


class Issues:
    """Methods of City that fill the issue tables."""

    def issues(self) -> None:
        rng, n = self.rng, self.scale.issues
        old = [u for u in self.units if u["fy"] < 2026]
        new = [u for u in self.units if u["fy"] == 2026]
        weights = {u["id"]: 0.3 if u is self.wg else rng.uniform(0.3, 3) for u in self.units}
        n_old = round(n * 0.18) if old else 0
        issues = []
        for units, count in ((old, n_old), (new, n - n_old)):
            cum = list(accumulate(weights[u["id"]] for u in units))
            for unit in rng.choices(units, cum_weights=cum, k=count):
                start = int((datetime(unit["fy"], 4, 1) - EPOCH).total_seconds()) - JST
                end = min(start + 365 * DAY, NOW - 3600)
                issues.append(Issue(unit, start + rng.randrange(end - start)))
        issues.sort(key=lambda i: (i.created, i.unit["id"]))
        self.issue_list = issues
        by_unit: dict[int, list[Issue]] = {}
        for number, issue in enumerate(issues, start=1):
            issue.id = number
            by_unit.setdefault(issue.unit["id"], []).append(issue)
            self._attributes(issue)
        self.by_unit = by_unit
        for lst in by_unit.values():
            for k, issue in enumerate(lst):
                if k and rng.random() < 0.15:
                    issue.parent = lst[rng.randrange(max(0, k - 200), k)]
                    issue.parent.children.append(issue)
        self._derive_parents()

    def _attributes(self, issue: Issue) -> None:
        rng, unit = self.rng, issue.unit
        s = self.statuses
        issue.tracker = rng.choices(list(TRACKER_WEIGHTS), list(TRACKER_WEIGHTS.values()))[0]
        issue.tracker = self.trackers[issue.tracker]
        issue.priority = rng.choices(self.priorities, PRIORITY_WEIGHTS)[0]
        city, vendor = self.city_members[unit["id"]], self.vendor_members[unit["id"]]
        issue.author = rng.choice(city) if rng.random() < 0.85 else rng.choice(vendor)
        r = rng.random()
        issue.assignee = (
            rng.choice(vendor) if r < 0.72 else rng.choice(city) if r < 0.87
            else self.group_of[unit["vendor"]] if r < 0.90 else None
        )  # fmt: skip
        age = (NOW - issue.created) / DAY
        closed = rng.random() < (0.95 if unit["fy"] < 2026 else min(0.85, age / 150))
        if closed:
            issue.status = s["終了"] if rng.random() < 0.88 else s["却下"]
            issue.end = min(issue.created + int(rng.expovariate(1 / 20) * DAY) + 3600, NOW - 60)
        else:
            issue.status = s[rng.choices(list(OPEN_WEIGHTS), list(OPEN_WEIGHTS.values()))[0]]
            issue.end = NOW - 60
        issue.done = {s["終了"]: 100, s["却下"]: 0, s["新規"]: 0, s["受付"]: 0,
                      s["解決"]: 100}.get(issue.status, 10 * rng.randint(1, 8))  # fmt: skip
        issue.start = issue.created if rng.random() < 0.8 else None
        base = issue.start or issue.created
        issue.due = base + DAY * rng.randint(7, 60) if rng.random() < 0.7 else None

    def _derive_parents(self) -> None:
        """Children come after their parent (higher ids): walking down the ids sees every
        child's final values before its parent's."""
        s, position = self.statuses, {p: k for k, p in enumerate(self.priorities)}
        for issue in reversed(self.issue_list):
            kids = issue.children
            if not kids:
                continue
            open_kids = [c for c in kids if c.status not in self.closed]
            if open_kids and issue.status in self.closed:
                issue.status, issue.end = s["進行中"], NOW - 60
            starts = [c.start for c in kids if c.start is not None]
            dues = [c.due for c in kids if c.due is not None]
            issue.start, issue.due = min(starts, default=None), max(dues, default=None)
            if issue.start and issue.due and issue.due < issue.start:
                issue.start, issue.due = issue.due, issue.start
            issue.priority = (
                max((c.priority for c in open_kids), key=position.get)
                if open_kids else self.default_priority
            )  # fmt: skip
            done = sum(100 if c.status in self.closed else c.done for c in kids)
            issue.done = done // len(kids)

    # -- journals ----------------------------------------------------------------------------

    def journals(self) -> None:
        rng, issues = self.rng, self.issue_list
        total = self.scale.journals
        mean = total / max(1, len(issues))
        # An issue past 新規 got there through a journal.
        least = [int(i.status != self.statuses["新規"]) for i in issues]
        if sum(least) > total:
            raise ValueError(f"{total} journals are too few for {sum(least)} issues past 新規")
        counts = [max(m, int(rng.random() * (2 * mean + 1))) for m in least]
        diff = total - sum(counts)
        while diff:
            k = rng.randrange(len(issues))
            if diff > 0:
                counts[k], diff = counts[k] + 1, diff - 1
            elif counts[k] > least[k]:
                counts[k], diff = counts[k] - 1, diff + 1
        entries = []
        for issue, count in zip(issues, counts, strict=True):
            entries.extend(self._story(issue, count))
        entries.sort(key=lambda e: (e[0], e[1]))
        journals, details = [], []
        for jid, (when, issue_id, user, notes, private, changes) in enumerate(entries, start=1):
            journals.append((jid, issue_id, "Issue", user, notes, clock(when), private))
            for change in changes:
                details.append((len(details) + 1, jid, "attr", *change))
        self.add("journals", "id journalized_id journalized_type user_id notes created_on "
                 "private_notes", journals)  # fmt: skip
        self.add("journal_details", "id journal_id property prop_key old_value value", details)

    def _story(self, issue: Issue, count: int) -> list[tuple]:
        """The issue's `count` journals as (time, issue id, user, notes, private, details)."""
        rng, s = self.rng, self.statuses
        times = sorted(issue.created + 60 + rng.randrange(max(1, issue.end - issue.created - 60))
                       for _ in range(count))  # fmt: skip
        changes: dict[int, list[tuple]] = {}
        if issue.status != s["新規"] and count:
            steps = min(count, 1 + rng.randrange(3))
            middle = [x for x in self.open_path if x not in (s["新規"], issue.status)]
            chain = sorted(rng.sample(middle, steps - 1), key=self.open_path.index)
            chain.append(issue.status)
            if issue.status in self.closed:  # closed by its last journal
                at = sorted(rng.sample(range(count - 1), steps - 1)) + [count - 1]
            else:
                at = sorted(rng.sample(range(count), steps))
            before = s["新規"]
            for k, status in zip(at, chain, strict=True):
                changes.setdefault(k, []).append(("status_id", str(before), str(status)))
                before = status
            if issue.status in self.closed:
                issue.closed_on = times[at[-1]]
            if issue.done and not issue.children:
                changes[at[-1]].append(("done_ratio", "0", str(issue.done)))
        elif issue.status in self.closed:
            issue.closed_on = issue.created
        unit = issue.unit["id"]
        people = [u for u in self.vendor_members[unit] if u not in self.groups]
        if count and rng.random() < 0.6:
            k = rng.randrange(count)
            if issue.assignee is None:
                was = rng.choice(people)
            else:
                was = None if rng.random() < 0.8 else rng.choice(self.city_members[unit])
            if was != issue.assignee:
                changes.setdefault(k, []).append(
                    ("assigned_to_id", was and str(was), issue.assignee and str(issue.assignee))
                )
        if count > 1 and issue.due and not issue.children and rng.random() < 0.12:
            was = issue.due - DAY * rng.randint(3, 30)
            changes.setdefault(rng.randrange(count), []).append(
                ("due_date", day(was), day(issue.due))
            )
        story = []
        for k, when in enumerate(times):
            details = changes.get(k, [])
            notes = self._note(issue) if not details or rng.random() < 0.55 else ""
            private = int(not details and rng.random() < 0.03)
            assignee = issue.assignee if issue.assignee not in self.groups else None
            r = rng.random()
            user = (issue.author if r < 0.4 else assignee if r < 0.8 and assignee
                    else rng.choice(people or self.city_members[unit]))  # fmt: skip
            story.append((when, issue.id, user, notes, private, details))
        issue.journals = count
        issue.updated = times[-1] if times else issue.created
        return story

    def _note(self, issue: Issue) -> str:
        rng, text = self.rng, self.text
        base = text.note() or "確認しました。"
        r = rng.random()
        if r < 0.45:
            return base
        if r < 0.60:
            return f"{base}\n\n* {text.pick(ACTIONS)}\n* {text.pick(ACTIONS)}"
        if r < 0.70:
            return f"*{text.pick(OBJECTS)}* の件、{base}"
        if r < 0.78 and issue.id > 1:
            return f"#{rng.randrange(1, issue.id)} と同じ事象と思われます。{base}"
        if r < 0.85:
            return (f"h3. 調査結果\n\n{text.pick(SYSTEMS)}{text.pick(PROBLEMS)}件、原因は "
                    f"@batch.{text.pick(('timeout', 'charset', 'page_size'))}@ の設定でした。\n\n"
                    "# 設定を修正\n# 夜間バッチを再実行\n# 結果を確認")  # fmt: skip
        if r < 0.90:
            return (f"<pre>\nERROR [{text.pick(SYSTEMS)}] code={rng.randint(100, 999)} "
                    f"record={rng.randint(1, 99999)}\n</pre>\n\nログの抜粋です。{base}")  # fmt: skip
        if r < 0.95:
            return f"{text.pick(EN_SENTENCES)}."
        return f"{text.pick(SURNAMES)}様\n\n{text.pick(TOPICS)}の件、{base}"

    def _description(self, subject: str) -> str:
        rng, text = self.rng, self.text
        r = rng.random()
        if r < 0.15:
            return ""
        body = (f"h2. 事象\n\n{subject}\n\n* 画面・帳票: {text.pick(OBJECTS)}\n"
                f"* 端末: 窓口端末 {rng.randint(1, 40)} 番\n"
                f"* 発生日: {rng.randint(1, 12)}月{rng.randint(1, 28)}日\n\n"
                f"h2. 対応のお願い\n\n{text.pick(ACTIONS)}。")  # fmt: skip
        if r < 0.45:
            body += (f"\n\n|_. 項目 |_. 内容 |\n| システム | {text.pick(SYSTEMS)} |\n"
                     f"| 件数 | {rng.randint(1, 5000)} 件 |")  # fmt: skip
        return body

    # -- the rows ----------------------------------------------------------------------------

    def issue_rows(self) -> None:
        """Issues (nested sets: each tree numbered from 1, children in id order), watchers
        and relations; after journals(), which set each issue's times."""
        rng, issues = self.rng, self.issue_list
        children = {i.id: [c.id for c in i.children] for i in issues if i.children}
        roots = [i.id for i in issues if i.parent is None]
        bounds = nested_set(children, roots, order=int)
        rows = []
        for issue in issues:
            issue.root = issue.parent.root if issue.parent else issue.id
            subject = self.text.ticket_subject()
            rows.append((
                issue.id, issue.tracker, issue.unit["id"], subject, self._description(subject),
                issue.due and day(issue.due), issue.status, issue.assignee, issue.priority,
                issue.author, issue.journals, clock(issue.created), clock(issue.updated),
                issue.start and day(issue.start), issue.done, issue.parent and issue.parent.id,
                issue.root, *bounds[issue.id], 0, issue.closed_on and clock(issue.closed_on),
            ))  # fmt: skip
        self.add("issues", "id tracker_id project_id subject description due_date status_id "
                 "assigned_to_id priority_id author_id lock_version created_on updated_on "
                 "start_date done_ratio parent_id root_id lft rgt is_private closed_on", rows)  # fmt: skip
        watchers = []
        for issue in issues:
            if rng.random() < 0.1:
                pool = self.city_members[issue.unit["id"]] + self.vendor_members[issue.unit["id"]]
                pool = sorted({u for u in pool if u not in self.groups})
                for user in rng.sample(pool, min(len(pool), rng.randint(1, 3))):
                    watchers.append((len(watchers) + 1, "Issue", issue.id, user))
        self.add("watchers", "id watchable_type watchable_id user_id", watchers)
        relations, seen = [], set()
        kinds = ["relates"] * 11 + ["duplicates"] * 2 + ["blocks"] * 3 + ["copied_to"] * 2
        lists = [lst for lst in self.by_unit.values() if len(lst) > 1]
        for _ in range(len(issues) // 50 if lists else 0):
            lst = rng.choice(lists)
            k = rng.randrange(len(lst) - 1)
            a, b = lst[k], lst[rng.randrange(k + 1, min(len(lst), k + 30))]
            if a.root == b.root or (a.id, b.id) in seen:
                continue  # Redmine refuses a relation within one tree
            seen.add((a.id, b.id))
            relations.append((len(relations) + 1, a.id, b.id, rng.choice(kinds), None))
        self.add("issue_relations", "id issue_from_id issue_to_id relation_type delay", relations)
