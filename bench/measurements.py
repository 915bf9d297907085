"""The bench's scenarios (MEASUREMENTS) and how each is taken: in process, paired with
SQLite in turns (on PostgreSQL), over HTTP, the sign-off flow; and the one-measurement
profile and SQL explain."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa

from bench.harness import (
    DATA,
    InProcess,
    Result,
    prepare_copy,
    route_exists,
    time_loop,
)
from bench.servers import (
    Http,
    form_fields,
)

TERM_3 = "納付書"  # a 3-character Japanese search term (trigram index)
TERM_2 = "住基"  # a 2-character one (no trigram: the slow path)
TERM_NOTES = "確認中"  # 3 characters, in 22,527 tickets' notes (納付書 is in no note)


@dataclass
class Measurement:
    """One line of the table. `url(d)` builds the path from the manifest `d`; `user` is a
    manifest key naming the login (None: anonymous); `api` sends the user's API key instead
    of a session; `kind` is "get", "etag" (asked again with the ETag of a first answer, as a
    polling viewer does), "pdf_cold" (a fresh render each sample) or "signoff"."""

    name: str
    url: Callable[[dict], str]
    target_ms: float | None
    user: str | None = "manager"
    api: bool = False
    kind: str = "get"
    method: str = "GET"
    data: Callable[[dict], dict] | None = None
    note: str = ""


def _q(term: str) -> str:
    return quote(term)


MEASUREMENTS = [
    Measurement("login page", lambda d: "/login", None, user=None),
    Measurement("project list", lambda d: "/projects", None),
    Measurement("project page (fiscal year)", lambda d: f"/projects/{d['project']}", None),
    Measurement("project page (business unit)", lambda d: f"/projects/{d['unit']}", None),
    Measurement(
        "ticket list, tracker+status",
        lambda d: f"/issues?tracker_id={d['tracker_id']}&status_id={d['status_id']}",
        20,
    ),
    Measurement(f"ticket search {TERM_3} (3 chars)", lambda d: f"/issues?q={_q(TERM_3)}", 30),
    Measurement(f"ticket search {TERM_2} (2 chars)", lambda d: f"/issues?q={_q(TERM_2)}", 150),
    Measurement(
        f"ticket search {TERM_NOTES} (3 chars, in notes)",
        lambda d: f"/issues?q={_q(TERM_NOTES)}",
        30,
    ),
    Measurement(f"search all kinds {TERM_3}", lambda d: f"/search?q={_q(TERM_3)}", 200),
    Measurement(f"search all kinds {TERM_2}", lambda d: f"/search?q={_q(TERM_2)}", 200),
    Measurement("homework dashboard (all units)", lambda d: "/dashboard", 50),
    Measurement("decision register", lambda d: "/decisions", 30),
    Measurement("meeting page, 40 items", lambda d: f"/meetings/{d['meeting_40']}", 20, "member"),
    Measurement(
        "live update, nothing changed",
        lambda d: f"/meetings/{d['meeting_40']}/live",
        5,
        "member",
        kind="etag",
        note="If-None-Match → 304",
    ),
    Measurement("/issues.json?limit=100", lambda d: "/issues.json?limit=100", 40, api=True),
    Measurement(
        "PDF 40 items, cold", lambda d: "/meetings/{id}.pdf", 1500, "manager", kind="pdf_cold"
    ),
    Measurement("PDF 40 items, cached", lambda d: f"/meetings/{d['meeting_40']}.pdf", 20),
    Measurement(
        "50 concurrent sign-offs (all)",
        lambda d: f"/meetings/{d['signoff_meeting']}/confirm",
        2000,
        kind="signoff",
        method="POST",
    ),
]


# --- the measurements ------------------------------------------------------------------------


def in_process_sampler(inproc: InProcess, m: Measurement, d: dict):
    """One sample of a GET-like measurement at a time: (status, sample) where sample() is
    (code, ms, cpu ms, statements). Status is not "ok" when the measurement cannot be taken
    this way (not available, or not a plain GET)."""
    if m.kind not in ("get", "etag"):
        return "not a GET", None
    login = d.get(m.user) if m.user else None
    path = m.url(d)
    if not route_exists(inproc.app, path, m.method):
        return "not available", None
    extra = {}
    if m.kind == "etag":
        inproc.get(login, m.api, path)
        extra = {"If-None-Match": inproc.last_etag or ""}

    def sample() -> tuple[int, float, float, int]:
        code, ms, n = inproc.get(login, m.api, path, extra)
        return code, ms, inproc.last_cpu_ms, n

    return "ok", sample


def run_in_process(inproc: InProcess, m: Measurement, d: dict, samples: int) -> Result:
    result = Result(m.name, m.target_ms, "in process", note=m.note)
    login = d.get(m.user) if m.user else None
    if m.kind == "signoff":
        result.status, result.note = "http only", "measured over HTTP (concurrent)"
        return result
    if m.kind == "pdf_cold":
        ids = d.get("meetings_40") or [d["meeting_40"]]
        if not route_exists(inproc.app, m.url(d).format(id=ids[0])):
            result.status = "not available"
            return result
        for meeting_id in ids[1 : 1 + min(samples, 5)]:  # a fresh 40-item meeting each time
            code, ms, n = inproc.get(login, m.api, m.url(d).format(id=meeting_id))
            if code >= 400:
                result.status = f"error {code}"
                return result
            result.samples_ms.append(ms)
            result.cpu_ms.append(inproc.last_cpu_ms)
            result.queries = n
        return result
    status, sample = in_process_sampler(inproc, m, d)
    if sample is None:
        result.status = status
        return result
    last = {}

    def do():
        code, ms, cpu, n = sample()
        last["n"] = n
        result.cpu_ms.append(cpu)
        return code, ms

    result.samples_ms, result.status, wall = time_loop(do, samples, budget_s=15)
    result.cpu_ms = result.cpu_ms[-len(result.samples_ms) :] if result.samples_ms else []
    result.queries = last.get("n")
    if result.samples_ms and wall:
        result.rps = len(result.samples_ms) / wall
    return result


# --- PostgreSQL against SQLite, in turns -----------------------------------------------------
#
# This machine's speed drifts by up to half within minutes (it shares its cores), so two runs
# made minutes apart can put PostgreSQL at three times SQLite on a page neither changed. The
# in-process ratio is therefore measured paired: SQLite runs in a child process on its own
# copy of the data, and the two take their samples in short turns, so both see the same
# machine.

PAIRED_WHERE = "in process, paired"


def _paired_child(conn) -> None:
    """The SQLite side of the paired run: answers ("setup", name) and ("sample",)."""
    url, manifest = prepare_copy(None)
    instance = Path(tempfile.mkdtemp(prefix="sanmai-bench-paired-"))
    inproc = InProcess(url, instance / "inproc")
    conn.send("ready")
    sample = None
    while True:
        message = conn.recv()
        if message[0] == "setup":
            m = next(m for m in MEASUREMENTS if m.name == message[1])
            status, sample = in_process_sampler(inproc, m, manifest)
            conn.send(status)
        elif message[0] == "sample":
            conn.send(sample())
        else:
            break
    shutil.rmtree(instance, ignore_errors=True)
    conn.send("stopped")


class PairedSqlite:
    """A child process measuring the same requests on SQLite (see above)."""

    def __init__(self):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # a process of its own, not a fork
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_paired_child, args=(child,), daemon=True)
        self.proc.start()
        if self.conn.recv() != "ready":
            raise SystemExit("the paired SQLite process did not start")

    def call(self, *message):
        self.conn.send(message)
        return self.conn.recv()

    def stop(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self.call("stop")
        self.proc.join(timeout=20)


def run_paired(
    inproc: InProcess, lite: PairedSqlite, m: Measurement, d: dict, samples: int, block: int = 5
) -> tuple[Result, Result] | None:
    """PostgreSQL's in-process result and SQLite's, taken in turns of `block` samples (SQLite
    first in even turns, PostgreSQL in odd ones), each turn after one sample not counted: a
    request just after the other process ran finds the CPU's caches cold (a 2 ms request
    took 5), which would count against both sides; None when not a plain GET."""
    status, sample = in_process_sampler(inproc, m, d)
    if sample is None or lite.call("setup", m.name) != status:
        return None
    pg = Result(m.name, m.target_ms, "in process", note=m.note)
    other = Result(m.name, m.target_ms, PAIRED_WHERE, note="SQLite, in turns with PostgreSQL")
    sides = ((pg, sample), (other, lambda: lite.call("sample")))
    started = time.perf_counter()
    turn = 0
    while len(pg.samples_ms) < samples and time.perf_counter() - started < 30:
        for result, take in sides if turn % 2 else sides[::-1]:
            take()  # not counted (see above)
            for _ in range(min(block, samples - len(result.samples_ms))):
                code, ms, cpu, n = take()
                if code >= 400:
                    result.status = f"error {code}"
                    return pg, other
                result.samples_ms.append(ms)
                result.cpu_ms.append(cpu)
                result.queries = n
        turn += 1
    for result in (pg, other):
        spent = sum(result.samples_ms) / 1000
        result.rps = len(result.samples_ms) / spent if spent else None
    return pg, other


def merge_into(results: dict[str, Result], more: Result) -> None:
    """Adds a round's samples of one measurement to the earlier rounds' (by name)."""
    first = results.setdefault(more.name, more)
    if first is more:
        return
    first.samples_ms += more.samples_ms
    first.cpu_ms += more.cpu_ms
    first.queries = more.queries if more.queries is not None else first.queries
    first.status = first.status if first.status != "ok" else more.status
    spent = sum(first.samples_ms) / 1000
    first.rps = len(first.samples_ms) / spent if spent and first.rps is not None else first.rps


def run_over_http(http: Http, app, m: Measurement, d: dict, samples: int) -> Result:
    result = Result(m.name, m.target_ms, "http (gunicorn -w 2)", note=m.note)
    login = d.get(m.user) if m.user else None
    if m.kind == "signoff":
        return signoff(http, app, m, d, result)
    if m.kind == "pdf_cold":
        ids = d.get("meetings_40") or [d["meeting_40"]]
        if not route_exists(app, m.url(d).format(id=ids[0])):
            result.status = "not available"
            return result
        for meeting_id in ids[6 : 6 + min(samples, 5)]:  # not the ones rendered in process
            code, ms = http.get(login, m.api, m.url(d).format(id=meeting_id))
            if code >= 400:
                result.status = f"error {code}"
                return result
            result.samples_ms.append(ms)
            result.cpu_ms.append(http.last_cpu_ms)
        return result
    path = m.url(d)
    if not route_exists(app, path, m.method):
        result.status = "not available"
        return result
    extra = {}
    if m.kind == "etag":
        http.get(login, m.api, path)
        extra = {"If-None-Match": http.last_etag or ""}
    result.samples_ms, result.status, _wall = time_loop(
        lambda: http.get(login, m.api, path, extra), samples, budget_s=15
    )
    if result.status == "ok" and result.p(0.5) < 250:  # bounded: slow pages skip the burst
        result.rps = http.rps(login, m.api, path, extra)
    elif result.status == "ok":
        result.rps = 1000 / result.p(0.5)
    return result


def signoff(http: Http, app, m: Measurement, d: dict, result: Result) -> Result:
    """Every signer of the 50-attendee meeting confirms at once, each from its own session;
    the sample is the time until the last answer, and the database must hold 50."""
    path = m.url(d)
    if not route_exists(app, path, "POST"):
        result.status = "not available"
        return result
    import requests

    signers = d["signoff_users"]
    sessions = []
    for login in signers:  # each signer reads the confirm page first, as on a phone
        s = requests.Session()
        http.login(s, login)
        page = s.get(http.server.base + path)
        sessions.append((s, form_fields(page.text, path)))
    barrier = threading.Barrier(len(sessions))
    codes, answers = [], {}

    def confirm(login, s, fields):
        barrier.wait()
        r = s.post(http.server.base + path, data=fields, allow_redirects=False)
        codes.append(r.status_code)
        answers[login] = r

    pool = [
        threading.Thread(target=confirm, args=(login, *pair))
        for login, pair in zip(signers, sessions, strict=True)
    ]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    result.samples_ms = [(time.perf_counter() - start) * 1000]
    bad = [c for c in codes if c >= 400]
    recorded = count_confirmations(app, d["signoff_revision"])
    result.note = f"{recorded} of {len(signers)} recorded; answers {sorted(set(codes))}"
    if recorded != len(signers):
        # What each signer whose answer is missing was told: where it was sent, and the page's
        # message there (a refusal is a flash message on the confirm page).
        missing = set(signers) - confirmed_logins(app, d["signoff_revision"])
        for login in sorted(missing):
            answer = answers[login]
            where = answer.headers.get("Location", "")
            page = sessions[signers.index(login)][0].get(http.server.base + where).text
            told = re.findall(r'class="flash[^"]*"[^>]*>\s*([^<]+)', page)
            result.note += f"; {login}: {answer.status_code} → {where} {told[:2]}"
    if bad or recorded != len(signers):
        result.status = "error" if bad else "lost confirmations"
    return result


def confirmed_logins(app, revision_id: int) -> set[str]:
    from accounts.models import User
    from core.extensions import db
    from minutes.models import Confirmation

    with app.app_context():
        logins = db.session.scalars(
            sa.select(User.login)
            .join(Confirmation, Confirmation.user_id == User.id)
            .where(Confirmation.revision_id == revision_id)
        )
        found = set(logins)
        db.session.remove()
        return found


def count_confirmations(app, revision_id: int) -> int:
    from core.extensions import db
    from minutes.models import Confirmation

    with app.app_context():
        n = db.session.scalar(
            sa.select(sa.func.count()).where(Confirmation.revision_id == revision_id)
        )
        db.session.remove()
        return n


# --- one measurement, looked into --------------------------------------------------------------


def profile(inproc: InProcess, m: Measurement, d: dict) -> None:
    from pyinstrument import Profiler

    login = d.get(m.user) if m.user else None
    path = m.url(d).format(id=d["meeting_40"])
    inproc.get(login, m.api, path)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(5):
        inproc.get(login, m.api, path)
    profiler.stop()
    show_all = bool(os.environ.get("BENCH_PROFILE_ALL"))  # library frames too
    print(profiler.output_text(unicode=True, color=False, show_all=show_all))
    out = DATA / f"profile-{''.join(c if c.isalnum() else '-' for c in m.name)}.html"
    out.write_text(profiler.output_html())
    print(f"profile written to {out}")


def explain(inproc: InProcess, m: Measurement, d: dict) -> None:
    """The SQL one request issues, slowest first, with SQLite's or PostgreSQL's plan."""
    from core.extensions import db

    login = d.get(m.user) if m.user else None
    path = m.url(d).format(id=d["meeting_40"])
    timings = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        ms = (time.perf_counter() - conn.info.pop("bench_t0")) * 1000
        timings.append((ms, statement, parameters))

    inproc.get(login, m.api, path)
    with inproc.app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    code, total, n = inproc.get(login, m.api, path)
    sa.event.remove(engine, "before_cursor_execute", before)
    sa.event.remove(engine, "after_cursor_execute", after)
    print(f"{m.name}: {path} → {code} in {total:.1f} ms, {n} statements")
    raw = engine.raw_connection()
    for ms, statement, parameters in sorted(timings, key=lambda t: -t[0])[:8]:
        print(f"\n--- {ms:.1f} ms ---\n{statement}\n{parameters}")
        cur = raw.cursor()
        if engine.dialect.name == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            print("\n".join(f"  {row[3]}" for row in cur.fetchall()))
        else:
            cur.execute("EXPLAIN " + statement, parameters)
            print("\n".join(f"  {row[0]}" for row in cur.fetchall()))
        cur.close()
    raw.close()
