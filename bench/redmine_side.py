"""`make bench-redmine`: Sanmai beside a real Redmine on the same data, in one run.

    .venv/bin/python bench/redmine_side.py [--samples 30] [--seconds 20] [--clients 4]
        [--data bench/data/redmine.sqlite3] [--issues N --journals N --units N --users N]

1. The Redmine database is bench/redmine_data.py's (city size by default; with --issues and
   the other counts, a data set of that size in a file named after them). It is made when
   missing or of another size.
2. It is imported into a Sanmai SQLite database beside it (<data>-sanmai.db) with
   `flask redmine import --db`, as bench/redmine_import.py does; the import is kept while the
   data's manifest is the one it was made from (<data>-sanmai.json), and upgraded with
   `flask db upgrade` when only Sanmai's migrations moved on.
3. Both run on working copies (run-<data>.sqlite3, run-<data>-sanmai.db), so the writes of a
   run never reach the next one: Redmine as bench/redmine_server.py starts it (Debian's
   Redmine 5, one process), Sanmai as `make serve` does (gunicorn, 2 workers, gunicorn.conf.py:
   the app preloaded, the PDF renderer started on demand) through bench/servers.py.
4. Everything is asked as one person on both sides: the user with the most open issues
   assigned (API key on both: Redmine's is added to its working copy, Sanmai's made by
   `flask user token`; the HTML pages after logging in through each one's login form). The
   unit is the business unit with the most open issues among those where that person has
   issues, its tracker the one with most open issues there, the issue the one with children
   and the most journals in it.
   The search words are counted in the data: a common 2-character word, a common longer one
   and the rarest of the people's surnames that occurs.
5. Single client: each request `--samples` times after two unmeasured ones, one to Redmine
   then one to Sanmai (who goes first alternates): p50, p95, and CPU per request (utime +
   stime of every serving process, read before and after the series). Then `--clients`
   clients at once for `--seconds` on /issues.json?limit=100, each side in turn: requests/s.
   Then the memory of every serving process at rest (Redmine's process and its children;
   gunicorn's master, workers and the PDF renderer if one runs): the sum of their PSS, which
   counts a page shared by several processes once in all, with the sum of their RSS beside.
   Then Sanmai's while PDFs render: the 40-item meeting added to its working copy before it
   started (bench/redmine_pdf.py) is asked as a PDF 5 times, the first starting the renderer,
   while the sum of PSS is sampled every 25 ms; its peak against Redmine's PSS at rest.
6. bench/results/redmine.json: the rows (name, kind, redmine, sanmai, unit, ratio,
   target_ratio, met, with p95 and CPU beside), the machine, both versions, the data. The
   table is printed. Both servers are stopped, and waited for, whatever happens.

`ratio` says how many times Sanmai is ahead: Redmine's time over Sanmai's, Redmine's memory
over Sanmai's, Sanmai's requests/s over Redmine's. A target below 1 lets Sanmai be behind:
0.5 for the memory while PDFs render (no more than twice Redmine's at rest).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import sys
import tempfile
import threading
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import redmine_data  # noqa: E402
from bench.harness import DATA, RESULTS, Result, children, cpu_seconds  # noqa: E402
from bench.redmine_import import flask, installed, sanmai_database  # noqa: E402
from bench.redmine_pdf import PeakPss, add_meeting, pdf_pages  # noqa: E402
from bench.redmine_rows import PASSWORD, Scale  # noqa: E402
from bench.redmine_server import RedmineError, RedmineServer, redmine_version  # noqa: E402
from bench.report import machine_facts, pad  # noqa: E402
from bench.servers import Gunicorn, csrf_token  # noqa: E402
from bench.vocab import SURNAMES  # noqa: E402

OUT = RESULTS / "redmine.json"
TARGET_RATIO = {"read": 10, "write": 5, "concurrent": 25, "memory": 1}
UNIT = {"read": "ms", "write": "ms", "concurrent": "requests/s", "memory": "MB"}
WORD_2, WORD_LONG = "回答", "移行データ"
SORT = "priority:desc,updated_on:desc"


# --- the rows: pure ------------------------------------------------------------------------


def row(
    name: str,
    kind: str,
    redmine: float | None,
    sanmai: float | None,
    target: float | None = None,
    **extra,
) -> dict:
    """One row of the results; `ratio` is how many times Sanmai is ahead (see the docstring),
    `target` the ratio it must reach (the kind's by default; below 1: Sanmai may be behind)."""
    ratio = None
    if redmine and sanmai:
        ratio = sanmai / redmine if kind == "concurrent" else redmine / sanmai
    target = TARGET_RATIO[kind] if target is None else target
    return {
        "name": name,
        "kind": kind,
        "redmine": None if redmine is None else round(redmine, 1),
        "sanmai": None if sanmai is None else round(sanmai, 1),
        "unit": UNIT[kind],
        "ratio": None if ratio is None else round(ratio, 2),
        "target_ratio": target,
        "met": None if ratio is None else ratio >= target,
        **extra,
    }


def table(rows: list[dict]) -> str:
    """The printed table: p50 (or the row's one value), p95 and CPU per request of each side."""

    def num(value, width=9):
        return f"{'—':>{width}}" if value is None else f"{value:>{width},.1f}"

    head = (
        f"{pad('request', 46)} {'unit':<10} {'Redmine':>9} {'p95':>9} {'cpu':>9} "
        f"{'Sanmai':>9} {'p95':>9} {'cpu':>9} {'ratio':>7} {'target':>6}  result"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        unit = "ms p50" if r["unit"] == "ms" else r["unit"]
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.1f}×"
        verdict = {True: "met", False: "MISSED", None: r.get("error", "")}[r["met"]]
        lines.append(
            f"{pad(r['name'], 46)} {unit:<10} {num(r['redmine'])} {num(r.get('redmine_p95'))} "
            f"{num(r.get('redmine_cpu_ms'))} {num(r['sanmai'])} {num(r.get('sanmai_p95'))} "
            f"{num(r.get('sanmai_cpu_ms'))} {ratio:>7} {r['target_ratio']:>5}×  {verdict}"
        )
    return "\n".join(lines)


# --- the data and its import ---------------------------------------------------------------


def ensure_data(out: Path, wanted: dict) -> dict:
    """The Redmine data at `out` of the wanted size (made when missing or of another size);
    its manifest."""
    manifest_path = Path(f"{out}.json")
    if out.exists() and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if all(manifest["scale"].get(k) == v for k, v in wanted.items()):
            return manifest
    print(f"making the Redmine data (bench/redmine_data.py) → {out}", flush=True)
    args = ["--out", str(out)] + [f"--{k}={v}" for k, v in wanted.items()]
    if redmine_data.main(args):
        raise SystemExit("the Redmine data could not be made")
    return json.loads(manifest_path.read_text())


def import_stamp(data: Path) -> dict:
    """What an import was made from: the data's manifest and Sanmai's migration heads."""
    from alembic.script import ScriptDirectory

    heads = sorted(ScriptDirectory(str(ROOT / "migrations")).get_heads())
    digest = hashlib.sha256(Path(f"{data}.json").read_bytes()).hexdigest()
    return {"manifest_sha256": digest, "migration_heads": heads}


def ensure_import(data: Path) -> Path:
    """The Sanmai database imported from `data`, imported again only when out of date."""
    target = data.with_name(f"{data.stem}-sanmai.db")
    stamp_path = target.with_suffix(".json")
    stamp = import_stamp(data)
    kept = json.loads(stamp_path.read_text()) if target.exists() and stamp_path.exists() else {}
    if kept == stamp:
        return target
    if kept.get("manifest_sha256") == stamp["manifest_sha256"]:
        # Same data, newer Sanmai: move the import forward as an installation is moved.
        print(f"upgrading the imported Sanmai database (flask db upgrade) → {target}", flush=True)
        env = dict(os.environ, DATABASE_URL=f"sqlite:///{target}")
        env["SANMAI_INSTANCE_DIR"] = tempfile.mkdtemp(prefix="sanmai-redmine-side-")
        if flask(["db", "upgrade"], env).returncode == 0:
            stamp_path.write_text(json.dumps(stamp, indent=1) + "\n")
            return target
    stamp_path.unlink(missing_ok=True)
    print(f"importing into Sanmai (flask redmine import) → {target}", flush=True)
    started = time.perf_counter()
    env = installed(sanmai_database("sqlite", target))
    done = flask(["redmine", "import", "--db", f"sqlite:///{data}"], env)
    if done.returncode:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit("flask redmine import failed")
    stamp_path.write_text(json.dumps(stamp, indent=1) + "\n")
    print(f"  imported in {time.perf_counter() - started:.0f} s", flush=True)
    return target


def working_copy(source: Path, name: str) -> Path:
    copy = DATA / name
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
        if Path(f"{source}{suffix}").exists() and suffix in ("", "-wal"):
            shutil.copyfile(f"{source}{suffix}", f"{copy}{suffix}")
    return copy


# --- what is asked -------------------------------------------------------------------------


def choose(redmine_db: Path, login: str | None = None) -> dict:
    """The person (`login`, or the one with most open issues assigned), unit, tracker, issue and
    search words of the run, from Redmine's data."""
    conn = sqlite3.connect(f"file:{redmine_db}?mode=ro", uri=True)
    one = lambda sql, *args: conn.execute(sql, args).fetchone()  # noqa: E731
    open_issues = "issues i JOIN issue_statuses s ON s.id = i.status_id AND s.is_closed = 0"
    units = (
        "SELECT id FROM projects WHERE parent_id IN "
        "(SELECT id FROM projects WHERE parent_id IS NULL)"
    )
    person = one(
        f"SELECT u.id, u.login, u.admin, (SELECT COUNT(*) FROM {open_issues} "
        " WHERE i.assigned_to_id = u.id) n FROM users u "
        "WHERE u.status = 1 AND u.type = 'User' AND (u.login = ? OR (? IS NULL AND u.admin = 0)) "
        "ORDER BY n DESC, u.id", login, login
    )  # fmt: skip
    if person is None:
        raise SystemExit(f"Redmine's data has no active user {login}")
    user_id, login, admin, mine = person
    # An administrator sees every unit; anyone else, one where they have issues.
    project = one(
        f"SELECT p.id, p.identifier FROM projects p WHERE p.id IN ({units}) "
        "AND (? OR p.id IN (SELECT project_id FROM issues WHERE assigned_to_id = ?)) "
        f"ORDER BY (SELECT COUNT(*) FROM {open_issues} WHERE i.project_id = p.id) DESC, p.id",
        admin, user_id,
    )  # fmt: skip
    if project is None:
        raise SystemExit(f"{login} has no issues assigned: choose another --login")
    project_id, unit = project
    tracker, unit_open = one(
        f"SELECT t.name, COUNT(*) n FROM {open_issues} JOIN trackers t ON t.id = i.tracker_id "
        "WHERE i.project_id = ? GROUP BY t.id ORDER BY n DESC, t.id", project_id
    )  # fmt: skip
    issue = one(
        "SELECT i.id, (SELECT COUNT(*) FROM issues c WHERE c.parent_id = i.id) kids, "
        "(SELECT COUNT(*) FROM journals j WHERE j.journalized_id = i.id "
        " AND j.journalized_type = 'Issue') notes "
        "FROM issues i WHERE i.project_id = ? ORDER BY kids > 0 DESC, notes DESC, i.id", project_id
    )  # fmt: skip
    hits = count_words(conn, [WORD_2, WORD_LONG] + [s for s in SURNAMES if len(s) >= 2])
    conn.close()
    rare = min((n, w) for w, n in hits.items() if n and w in SURNAMES)[1]
    return {
        "login": login, "admin": bool(admin), "user_open_issues": mine, "unit": unit,
        "tracker": tracker, "unit_open_issues_of_tracker": unit_open, "issue": issue[0],
        "issue_children": issue[1], "issue_journals": issue[2],
        "words": {w: hits[w] for w in (WORD_2, WORD_LONG, rare)}, "rare": rare,
    }  # fmt: skip


def count_words(conn: sqlite3.Connection, words: list[str]) -> dict[str, int]:
    """Issues whose subject, description or notes hold each word (one pass over the text)."""
    found: dict[str, set[int]] = {word: set() for word in words}
    texts = conn.execute(
        "SELECT id, subject || char(10) || COALESCE(description, '') FROM issues "
        "UNION ALL SELECT journalized_id, notes FROM journals "
        "WHERE journalized_type = 'Issue' AND notes IS NOT NULL AND notes != ''"
    )
    for issue_id, text in texts:
        for word in words:
            if word in text:
                found[word].add(issue_id)
    return {word: len(ids) for word, ids in found.items()}


def requests_of(c: dict, rt: int, st: int) -> list[tuple[str, str, str, str]]:
    """(name, how, Redmine's path, Sanmai's path); `how` is "api" or "web" (a session).
    `rt`/`st`: the unit's tracker id on each side (the import numbers trackers anew)."""
    unit, issue = c["unit"], c["issue"]
    unit_q = "status_id=o&tracker_id={}&sort=" + SORT
    rows = [
        ("/issues.json?limit=100", "api", "/issues.json?limit=100", None),
        ("/issues.json?limit=100&status_id=*", "api", "/issues.json?limit=100&status_id=*", None),
        ("unit list, open, tracker, sorted, 25 (JSON)", "api",
         f"/projects/{unit}/issues.json?{unit_q.format(rt)}&limit=25",
         f"/projects/{unit}/issues.json?{unit_q.format(st)}&limit=25"),
        ("unit list, open, tracker, sorted, 25 (HTML)", "web",
         f"/projects/{unit}/issues?set_filter=1&{unit_q.format(rt)}&per_page=25",
         f"/projects/{unit}/issues?{unit_q.format(st)}&per_page=25"),
        ("one issue with journals and children (JSON)", "api",
         f"/issues/{issue}.json?include=journals,children", None),
        ("one issue with journals and children (HTML)", "web", f"/issues/{issue}", None),
        # The smallest authenticated answer: what every API request costs before its own work.
        ("the caller (/users/current.json)", "api", "/users/current.json", None),
    ]  # fmt: skip
    for word in c["words"]:
        kind = "rare" if word == c["rare"] else f"{len(word)} chars"
        path = f"/search.json?q={quote(word)}&limit=25"
        rows.append((f"search {word} ({kind}, {c['words'][word]} issues)", "api", path, None))
    rows.append((f"my page ({c['user_open_issues']} open issues)", "web", "/my/page", None))
    return [(name, how, r, s or r) for name, how, r, s in rows]


# --- the two servers -----------------------------------------------------------------------


def tree(pid: int) -> list[int]:
    """A process and all its descendants."""
    pids = [pid]
    for child in children(pid):
        pids += tree(child)
    return pids


def proc_mb(pid: int, file: str, field: str) -> float:
    """A kB field of /proc/PID/FILE in MB (0 for a process gone)."""
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def memory_mb(pids: list[int]) -> dict[str, float]:
    """The processes' memory: proportional set size (a page shared by n processes counts 1/n
    in each: the preloaded app of gunicorn's workers, shared libraries) and resident set size
    (a shared page counts in full in every process that maps it)."""
    return {
        "pss": sum(proc_mb(p, "smaps_rollup", "Pss") for p in pids),
        "rss": sum(proc_mb(p, "status", "VmRSS") for p in pids),
    }


class Side:
    """One server as the bench's client sees it: an API session, a logged-in browser
    session, and the serving processes' CPU and memory."""

    def __init__(self, name: str, base: str, root_pid: int, key: str):
        import requests

        self.requests = requests
        self.name, self.base, self.root_pid, self.key = name, base, root_pid, key
        self.api = requests.Session()
        self.api.headers["X-Redmine-API-Key"] = key
        self.web = requests.Session()

    def cpu(self) -> float:
        return sum(cpu_seconds(p) or 0.0 for p in tree(self.root_pid))

    def memory_mb(self) -> dict[str, float]:
        return memory_mb(tree(self.root_pid))

    def log_in(self, login: str, password: str) -> None:
        page = self.web.get(self.base + "/login")
        if self.name == "redmine":
            found = re.search(r'name="authenticity_token" value="([^"]+)"', page.text)
            fields = {"username": login, "authenticity_token": found.group(1) if found else ""}
        else:
            fields = {"login": login, "csrf_token": csrf_token(page.text)}
        answer = self.web.post(
            self.base + "/login", data=fields | {"password": password}, allow_redirects=False
        )
        if answer.status_code not in (302, 303) or "/login" in answer.headers.get("Location", ""):
            raise SystemExit(f"{self.name}: logging in as {login} failed ({answer.status_code})")

    def timed(self, method: str, path: str, how: str = "api", body=None):
        session = self.web if how == "web" else self.api
        started = time.perf_counter()
        answer = session.request(method, self.base + path, json=body, allow_redirects=False)
        return answer, (time.perf_counter() - started) * 1000

    def throughput(self, path: str, clients: int, seconds: float) -> float:
        """Requests/s answered with `clients` clients asking at once for `seconds`."""
        done, failed = [], []
        deadline = time.perf_counter() + seconds

        def client():
            session = self.requests.Session()
            session.headers.update(self.api.headers)
            while time.perf_counter() < deadline:
                ok = session.get(self.base + path, timeout=300).ok
                (done if ok else failed).append(1)

        pool = [threading.Thread(target=client) for _ in range(clients)]
        started = time.perf_counter()
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        if failed:
            raise SystemExit(f"{self.name}: {len(failed)} of the concurrent requests failed")
        return len(done) / (time.perf_counter() - started)


def series(sides: list[Side], name: str, kind: str, ask, samples: int) -> dict:
    """`ask(side, i)` → (response, ms), alternating between the sides; a row."""
    times: dict[str, list[float]] = {s.name: [] for s in sides}
    cpu, found = {}, {}
    for i in range(-2, samples):
        if i == 0:
            cpu = {s.name: s.cpu() for s in sides}
        for side in sides if i % 2 == 0 else sides[::-1]:
            answer, ms = ask(side, i)
            if not answer.ok:
                raise SystemExit(f"{side.name}: {name} answered {answer.status_code}")
            if i >= 0:
                times[side.name].append(ms)
            if i == -1:
                found[f"{side.name}_bytes"] = len(answer.content)
                # Both clients reuse their connection wherever the server keeps it open.
                keeps = answer.headers.get("Connection", "").lower() != "close"
                found[f"{side.name}_keeps_alive"] = keeps
                if "json" in answer.headers.get("Content-Type", "") and answer.content:
                    total = answer.json().get("total_count")
                    if total is not None:
                        found[f"{side.name}_total_count"] = total
    cpu = {s.name: (s.cpu() - cpu[s.name]) * 1000 / samples for s in sides}
    p = {n: Result(name, None, n, samples_ms=t) for n, t in times.items()}
    made = row(
        name, kind, p["redmine"].p(0.5), p["sanmai"].p(0.5),
        redmine_p95=round(p["redmine"].p(0.95), 1), sanmai_p95=round(p["sanmai"].p(0.95), 1),
        redmine_cpu_ms=round(cpu["redmine"], 1), sanmai_cpu_ms=round(cpu["sanmai"], 1),
        samples=samples, **found,
    )  # fmt: skip
    print(f"  {name}: Redmine {made['redmine']} ms, Sanmai {made['sanmai']} ms", flush=True)
    return made


def measure(sides: list[Side], c: dict, ids: dict, args) -> list[dict]:
    rows = []
    by_name = {s.name: s for s in sides}
    for name, how, r_path, s_path in requests_of(c, ids["redmine"], ids["sanmai"]):
        paths = {"redmine": r_path, "sanmai": s_path}
        made = series(
            sides, name, "read",
            lambda side, i, paths=paths, how=how: side.timed("GET", paths[side.name], how),
            args.samples,
        )  # fmt: skip
        rows.append(made | {"paths": paths})
    created: dict[str, int] = {}

    def create(side: Side, i: int):
        body = {
            "issue": {
                "project_id": c["unit"],
                "tracker_id": ids[side.name],
                "subject": f"性能比較の起票 {i}",
                "description": "比較のための課題です。",
            }
        }
        answer, ms = side.timed("POST", "/issues.json", body=body)
        if answer.ok:
            created[side.name] = answer.json()["issue"]["id"]
        return answer, ms

    def note(side: Side, i: int):
        body = {"issue": {"notes": f"性能比較の注記 {i}。確認しました。"}}
        return side.timed("PUT", f"/issues/{created[side.name]}.json", body=body)

    rows.append(series(sides, "create an issue (REST)", "write", create, args.samples))
    rows.append(series(sides, "add a note (REST)", "write", note, args.samples))

    rps = {}
    path = "/issues.json?limit=100"
    for side in sides:
        print(f"  {args.clients} clients for {args.seconds:g} s on {side.name} …", flush=True)
        rps[side.name] = by_name[side.name].throughput(path, args.clients, args.seconds)
    name = f"{args.clients} clients for {args.seconds:g} s on {path}"
    rows.append(row(name, "concurrent", rps["redmine"], rps["sanmai"], seconds=args.seconds))
    time.sleep(2)  # at rest: the last answers written and the workers idle
    memory = {s.name: s.memory_mb() for s in sides}
    processes = {s.name: len(tree(s.root_pid)) for s in sides}
    name = "memory of the serving processes (PSS)"
    rows.append(
        row(
            name,
            "memory",
            memory["redmine"]["pss"],
            memory["sanmai"]["pss"],
            redmine_rss=round(memory["redmine"]["rss"], 1),
            sanmai_rss=round(memory["sanmai"]["rss"], 1),
            processes=processes,
        )  # fmt: skip
    )
    rows.append(pdf_memory(by_name["sanmai"], c["pdf_meeting"], memory["redmine"]["pss"]))
    return rows


def pdf_memory(sanmai: Side, meeting_id: int, redmine_pss: float, asks: int = 5) -> dict:
    """The peak of the summed PSS of Sanmai's serving processes while the 40-item meeting's PDF
    is asked `asks` times (the first starts the renderer), against Redmine's PSS at rest:
    Sanmai may use up to twice that while PDFs render."""

    def read() -> dict[int, float]:
        return {pid: proc_mb(pid, "smaps_rollup", "Pss") for pid in tree(sanmai.root_pid)}

    times, answer = [], None
    with PeakPss(read) as peak:
        for _ in range(asks):
            answer, ms = sanmai.timed("GET", f"/meetings/{meeting_id}.pdf", "web")
            if not answer.ok or not answer.content.startswith(b"%PDF-"):
                raise SystemExit(f"sanmai: the meeting's PDF answered {answer.status_code}")
            times.append(round(ms, 1))
    name = "memory while PDFs render (PSS peak)"
    print(f"  {name}: Sanmai {peak.peak:.1f} MB (renderer {peak.renderer_peak:.1f})", flush=True)
    return row(
        name, "memory", redmine_pss, peak.peak, target=0.5,
        renderer_peak_pss=round(peak.renderer_peak, 1), pss_samples=peak.samples,
        pdf_ms=times, pdf_bytes=len(answer.content), pdf_pages=pdf_pages(answer.content),
        meeting=meeting_id,
    )  # fmt: skip


def tracker_ids(sides: list[Side], name: str, sanmai_db: Path) -> dict[str, int]:
    """The tracker `name` on both sides: Redmine's by name, Sanmai's through the import's map
    (Sanmai's API names its own trackers in the asker's language)."""
    redmine = next(side for side in sides if side.name == "redmine")
    answer, _ms = redmine.timed("GET", "/trackers.json")
    found = [t["id"] for t in answer.json()["trackers"] if t["name"] == name]
    if not found:
        raise SystemExit(f"redmine has no tracker {name}")
    with sqlite3.connect(f"file:{sanmai_db}?mode=ro", uri=True) as connection:
        row = connection.execute(
            "SELECT sanmai_id FROM redmine_import_map WHERE kind = 'tracker' AND redmine_id = ?",
            (found[0],),
        ).fetchone()
    if row is None:
        raise SystemExit(f"sanmai has no tracker imported from {name}")
    return {"redmine": found[0], "sanmai": row[0]}


def check_same_issue(sides: list[Side], issue: int) -> None:
    """The import keeps Redmine's issue numbers in a fresh database: make sure of it."""
    subjects = {
        side.name: side.timed("GET", f"/issues/{issue}.json")[0].json()["issue"]["subject"]
        for side in sides
    }
    if len(set(subjects.values())) != 1:
        raise SystemExit(f"issue {issue} differs between the two: {subjects}")


def sanmai_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def run(args, data: Path, manifest: dict) -> dict:
    sanmai_db = ensure_import(data)
    c = choose(data, args.login)
    password = manifest["admin_password"] if c["admin"] else PASSWORD
    print(
        f"as {c['login']} ({c['user_open_issues']} open issues); unit {c['unit']}, "
        f"tracker {c['tracker']}; issue #{c['issue']}; words {c['words']}",
        flush=True,
    )
    redmine_copy = working_copy(data, f"run-{data.stem}.sqlite3")
    sanmai_copy = working_copy(sanmai_db, f"run-{data.stem}-sanmai.db")
    url = f"sqlite:///{sanmai_copy}"
    redmine_key = secrets.token_hex(20)
    with sqlite3.connect(redmine_copy) as conn:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        conn.execute(
            "INSERT INTO tokens (user_id, action, value, created_on, updated_on) "
            "SELECT id, 'api', ?, ?, ? FROM users WHERE login = ?",
            (redmine_key, now, now, c["login"]),
        )
    instance = Path(tempfile.mkdtemp(prefix="sanmai-bench-redmine-"))
    env = dict(os.environ, DATABASE_URL=url, SANMAI_INSTANCE_DIR=str(instance))
    done = flask(["user", "token", c["login"]], env)
    if done.returncode:
        raise SystemExit(f"flask user token {c['login']} failed:\n{done.stderr[-2000:]}")
    sanmai_key = done.stdout.strip().splitlines()[-1]
    c["pdf_meeting"] = add_meeting(url, c["login"], c["unit"])
    load_before = os.getloadavg()
    with contextlib.ExitStack() as stack:
        print("starting Redmine and Sanmai …", flush=True)
        redmine = stack.enter_context(RedmineServer(redmine_copy, log=DATA / "redmine-side.log"))
        gunicorn = Gunicorn(url, instance)
        stack.callback(gunicorn.stop)
        sides = [
            Side("redmine", redmine.url, redmine.process.pid, redmine_key),
            Side("sanmai", gunicorn.base, gunicorn.proc.pid, sanmai_key),
        ]
        for side in sides:
            side.log_in(c["login"], password)
        check_same_issue(sides, c["issue"])
        ids = tracker_ids(sides, c["tracker"], sanmai_copy)
        print(f"measuring ({args.samples} requests each, alternating) …", flush=True)
        rows = measure(sides, c, ids, args)
    shutil.rmtree(instance, ignore_errors=True)
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": {"redmine": redmine_version(), "sanmai": sanmai_version()},
        "machine": machine_facts("")
        | {
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "data": {k: manifest.get(k) for k in ("seed", "anchor", "scale", "counts")},
        "asked": c,
        "samples": args.samples,
        "rows": rows,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30, help="requests of each, each side")
    parser.add_argument("--seconds", type=float, default=20, help="of the concurrent clients")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--login", help="ask as this user (default: most open issues assigned)")
    parser.add_argument("--data", type=Path, help="the Redmine data (default: by its size)")
    for name in vars(Scale()):
        parser.add_argument(f"--{name}", type=int, help="the data's size (redmine_data.py)")
    args = parser.parse_args(argv)
    if args.samples < 1 or args.seconds <= 0 or args.clients < 1:
        parser.error("--samples, --seconds and --clients must be positive")
    wanted = {k: getattr(args, k) for k in vars(Scale()) if getattr(args, k) is not None}
    named = "-".join(f"{k}{v}" for k, v in wanted.items())
    sized = DATA / f"redmine-{named}.sqlite3" if wanted else redmine_data.DEFAULT_OUT
    data = (args.data or sized).resolve()
    data.parent.mkdir(parents=True, exist_ok=True)
    # Terminated (a timeout, a CI job cancelled): unwind, so that both servers are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        manifest = ensure_data(data, wanted)
        report = run(args, data, manifest)
    except RedmineError as error:
        print(f"bench-redmine: {error}", file=sys.stderr)
        return 2
    print()
    print(table(report["rows"]))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    print(f"\nwritten {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
