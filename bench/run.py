"""`make bench`: time the requests people make most, on the city-scale data set.

    .venv/bin/python bench/run.py [--only NAME] [--samples N] [--rounds N] [--no-http]
                                  [--no-pair] [--profile NAME] [--explain NAME]

Works on a copy of the data `make bench-data` made (bench/data/bench.db; on PostgreSQL with
DATABASE_URL, a database cloned from `sanmai_bench`), so every run starts from the same data.
Each measurement is one entry of MEASUREMENTS: its name, a URL builder (given the data set's
manifest), the target from issue 7 and who asks. It is timed in process through the Flask
test client and over HTTP against a real gunicorn with 2 workers (started and stopped here,
on 127.0.0.1 only). A route that does not exist yet is reported as "not available".

In process, each measurement's samples are taken in three rounds over all of them (--rounds),
so that a minute in which this shared machine runs slow weighs on every measurement a little
rather than on one of them wholly.

On PostgreSQL, SQLite is measured in process beside it, in turns (run_paired), for the
ratio of the two; the ratio over HTTP compares with the last SQLite run's file.

Prints a table and writes bench/results/<sqlite|postgresql>.json with the machine's facts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as pkg_metadata
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
SECRET = "bench-only-secret-key"
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


# --- the data copy ---------------------------------------------------------------------------


def prepare_copy(pg_server: str | None) -> tuple[str, dict]:
    """A fresh working copy of the bench data; returns (database URL, manifest)."""
    if pg_server:
        name = os.environ.get("BENCH_PG_DB", "sanmai_bench")
        manifest_path = DATA / f"postgresql-{name}.json"
        server = sa.engine.make_url(pg_server)
        admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        run_name = f"{name}_run"
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{run_name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{run_name}" TEMPLATE "{name}"'))
        admin.dispose()
        url = server.set(database=run_name).render_as_string(hide_password=False)
    else:
        source = Path(os.environ.get("BENCH_DB", DATA / "bench.db"))
        manifest_path = Path(str(source) + ".json")
        # One working copy per source, so runs on different data sets do not clobber each other.
        copy = source.with_name(f"run-{source.stem}.db")
        for suffix in ("", "-wal", "-shm"):
            Path(str(copy) + suffix).unlink(missing_ok=True)
        shutil.copyfile(source, copy)
        url = f"sqlite:///{copy}"
    if not manifest_path.exists():
        raise SystemExit(f"{manifest_path} is missing: run `make bench-data` first")
    return url, json.loads(manifest_path.read_text())


def ensure_data(pg_server: str | None) -> None:
    """Make the data set first when it is not there (as `make bench-data` does)."""
    if pg_server:
        name = os.environ.get("BENCH_PG_DB", "sanmai_bench")
        present = (DATA / f"postgresql-{name}.json").exists()
    else:
        source = Path(os.environ.get("BENCH_DB", DATA / "bench.db"))
        present = source.exists() and Path(str(source) + ".json").exists()
    if not present:
        print("no bench data yet: making it (make bench-data) …", flush=True)
        from bench import generate

        generate.main([] if pg_server else ["--out", str(source)])


def app_config(url: str, instance: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": SECRET,
        "INSTANCE_DIR": str(instance),
        "SANMAI_CACHE_DIR": str(instance / "cache"),
        "SANMAI_UPLOAD_DIR": str(instance / "files"),
    }


# --- timing ----------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    target_ms: float | None
    where: str
    status: str = "ok"  # ok | not available | error <code>
    samples_ms: list[float] = field(default_factory=list)
    # CPU time of the request (in process only): robust when other work shares the cores.
    cpu_ms: list[float] = field(default_factory=list)
    rps: float | None = None
    queries: int | None = None
    note: str = ""

    def p(self, q: float) -> float | None:
        if not self.samples_ms:
            return None
        data = sorted(self.samples_ms)
        k = min(len(data) - 1, max(0, round(q * (len(data) - 1))))
        return data[k]

    @property
    def met(self) -> bool | None:
        if self.status != "ok" or self.target_ms is None:
            return None
        # The signoff target is for the whole batch (its one sample); the rest for p50.
        return self.p(0.5) <= self.target_ms

    def as_json(self) -> dict:
        p50, p95 = self.p(0.5), self.p(0.95)
        return {
            "name": self.name,
            "where": self.where,
            "status": self.status,
            "p50_ms": None if p50 is None else round(p50, 2),
            "p95_ms": None if p95 is None else round(p95, 2),
            "cpu_p50_ms": round(sorted(self.cpu_ms)[len(self.cpu_ms) // 2], 2)
            if self.cpu_ms
            else None,
            "rps": None if self.rps is None else round(self.rps, 1),
            "samples": len(self.samples_ms),
            "queries": self.queries,
            "target_ms": self.target_ms,
            "met": self.met,
            "note": self.note,
        }


def route_exists(app, path: str, method: str = "GET") -> bool:
    from werkzeug.exceptions import MethodNotAllowed, NotFound

    adapter = app.url_map.bind("localhost")
    try:
        adapter.match(path.split("?")[0], method=method)
    except (NotFound, MethodNotAllowed):
        return False
    return True


def upgrade_copy(db) -> None:
    """Data made before a later migration: bring the working copy's schema up to date (the
    data set itself stays as it was made; `make bench-data` makes it anew)."""
    from flask_migrate import upgrade

    with db.engine.connect() as conn:
        current = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory(str(ROOT / "migrations")).get_heads()
    if current not in heads:
        print(f"the data is at revision {current}: upgrading the working copy …", flush=True)
        upgrade()
        db.session.remove()


class InProcess:
    """The Flask test client, one app, each request in its own app context."""

    def __init__(self, url: str, instance: Path, warm_pdf: bool = False):
        from app import create_app
        from extensions import db

        self.app = create_app({**app_config(url, instance), "WTF_CSRF_ENABLED": False})
        self.db = db
        with self.app.app_context():
            upgrade_copy(db)
        self.statements = 0
        with self.app.app_context():
            sa.event.listen(db.engine, "before_cursor_execute", self._count)
        self.clients: dict = {}
        if warm_pdf:  # as gunicorn.conf.py does in each worker
            with contextlib.suppress(ImportError):
                from exports import renderer

                renderer.warm()
                wait_until_idle([renderer.get().pid])

    def _count(self, *args, **kwargs):
        self.statements += 1

    def client(self, login: str | None, api: bool):
        key = (login, api)
        if key not in self.clients:
            from accounts.models import User

            client = self.app.test_client()
            headers = {}
            if login:
                with self.app.app_context():
                    user = self.db.session.scalar(sa.select(User).where(User.login == login))
                    if api:
                        headers["X-API-Key"] = user.api_token
                    else:
                        with client.session_transaction() as session:
                            session["_user_id"] = user.get_id()
                            session["_fresh"] = True
                    self.db.session.remove()
            self.clients[key] = (client, headers)
        return self.clients[key]

    def get(self, login, api, path, extra=None) -> tuple[int, float, int]:
        client, headers = self.client(login, api)
        before = self.statements
        cpu = time.process_time()
        child = renderer_cpu()
        start = time.perf_counter()
        response = client.get(path, headers={**headers, **(extra or {})})
        self.last_etag = response.headers.get("ETag")
        response.get_data()
        elapsed = (time.perf_counter() - start) * 1000
        self.last_cpu_ms = (time.process_time() - cpu) * 1000
        # A PDF is rendered by this process's renderer child: its CPU is the request's too.
        after = renderer_cpu()
        if after[0] is not None:
            self.last_cpu_ms += (after[1] - (child[1] if child[0] == after[0] else 0.0)) * 1000
        return response.status_code, elapsed, self.statements - before


def time_loop(
    do: Callable[[], tuple[int, float]], samples: int, budget_s: float, warmup: int = 2
) -> tuple[list[float], str, float]:
    """`samples` timings (bounded by `budget_s` seconds); returns (ms list, status, wall)."""
    for _ in range(warmup):
        code, _ms = do()
        if code >= 400:
            return [], f"error {code}", 0.0
    timings = []
    started = time.perf_counter()
    for _ in range(samples):
        code, ms = do()
        if code >= 400:
            return timings, f"error {code}", 0.0
        timings.append(ms)
        if time.perf_counter() - started > budget_s:
            break
    return timings, "ok", time.perf_counter() - started


# --- gunicorn --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident set of a process, MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def is_renderer(pid: int) -> bool:
    try:
        return "render_child.py" in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pids: list[int], limit_s: float = 60.0) -> float:
    """Waits until these processes use no CPU for half a second (a PDF renderer that has
    loaded WeasyPrint and the fonts, as in a server that has been up for a while); returns
    the seconds waited."""
    started = time.perf_counter()
    last = {pid: cpu_seconds(pid) for pid in pids}
    while time.perf_counter() - started < limit_s:
        time.sleep(0.5)
        now = {pid: cpu_seconds(pid) for pid in pids}
        if now == last:
            break
        last = now
    return time.perf_counter() - started


def renderer_cpu() -> tuple[int | None, float]:
    """(pid, CPU seconds so far) of this process's PDF renderer child; (None, 0) if none."""
    try:
        from exports import renderer
    except ImportError:
        return None, 0.0
    pid = renderer.get().pid
    cpu = cpu_seconds(pid) if pid is not None else None
    return (None, 0.0) if cpu is None else (pid, cpu)


def inproc_renderer_peak_mb() -> float | None:
    """The bench process's own PDF renderer (the in-process measurements), if it has one."""
    try:
        from exports import renderer
    except ImportError:
        return None
    pid = renderer.get().pid
    return vm_hwm_mb(pid) if pid is not None else None


class Gunicorn:
    """`gunicorn -w 2` on 127.0.0.1, started and stopped here (by its own pid only)."""

    def __init__(self, url: str, instance: Path, warm_pdf: bool = False):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url,
            SECRET_KEY=SECRET,
            SANMAI_INSTANCE_DIR=str(instance),
            SANMAI_CACHE_DIR=str(instance / "cache"),
            SANMAI_UPLOAD_DIR=str(instance / "files"),
            SANMAI_PDF_WARM="1" if warm_pdf else "0",
        )
        self.log = open(DATA / "gunicorn.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "--workers", "2", "--bind",
             f"127.0.0.1:{self.port}", "--timeout", "120", "app:app"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        import requests

        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                requests.get(self.base + "/login", timeout=10)
            except requests.RequestException:
                time.sleep(0.1)
                continue
            # Each worker's PDF renderer (gunicorn.conf.py) loads WeasyPrint as the worker
            # starts: measure a server that has been up for a while, not its first seconds.
            time.sleep(0.5)
            renderers = [p for w in self.workers() for p in children(w) if is_renderer(p)]
            if renderers:
                wait_until_idle(renderers)
            return
        self.stop()
        raise SystemExit("gunicorn did not start; see bench/data/gunicorn.log")

    def workers(self) -> list[int]:
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def peak_rss_mb(self) -> dict[int, float]:
        """VmHWM (peak resident set) of each worker (the master's children: the workers only;
        their PDF renderer processes are their children, reported by renderer_peak_rss_mb)."""
        peaks = {}
        for pid in self.workers():
            peak = vm_hwm_mb(pid)
            if peak is not None:
                peaks[pid] = peak
        return peaks

    def cpu_seconds(self) -> float:
        """CPU time so far of the workers and their PDF renderers (one request at a time: the
        difference around a request is its CPU, both processes, in 10 ms ticks)."""
        pids = self.workers()
        pids += [p for w in pids for p in children(w) if is_renderer(p)]
        return sum(cpu_seconds(p) or 0.0 for p in pids)

    def renderer_peak_rss_mb(self) -> dict[int, float]:
        """VmHWM of each worker's PDF renderer process (exports/renderer.py), alive now."""
        peaks = {}
        for worker in self.workers():
            for pid in children(worker):
                peak = vm_hwm_mb(pid) if is_renderer(pid) else None
                if peak is not None:
                    peaks[pid] = peak
        return peaks

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Http:
    def __init__(self, server: Gunicorn, manifest: dict, api_tokens: dict):
        import requests

        self.requests = requests
        self.server = server
        self.manifest = manifest
        self.tokens = api_tokens
        self.sessions: dict = {}

    def session(self, login: str | None, api: bool):
        key = (login, api)
        if key not in self.sessions:
            s = self.requests.Session()
            if login and api:
                s.headers["X-API-Key"] = self.tokens[login]
            elif login:
                self.login(s, login)
            self.sessions[key] = s
        return self.sessions[key]

    def login(self, s, login: str) -> None:
        page = s.get(self.server.base + "/login")
        token = csrf_token(page.text)
        r = s.post(
            self.server.base + "/login",
            data={"login": login, "password": self.manifest["password"], "csrf_token": token},
            allow_redirects=False,
        )
        if r.status_code not in (302, 303):
            raise SystemExit(f"login as {login} failed over HTTP: {r.status_code}")

    def get(self, login, api, path, extra=None) -> tuple[int, float]:
        s = self.session(login, api)
        cpu = self.server.cpu_seconds()
        start = time.perf_counter()
        r = s.get(self.server.base + path, headers=extra, allow_redirects=False)
        self.last_etag = r.headers.get("ETag")
        elapsed = (time.perf_counter() - start) * 1000
        self.last_cpu_ms = (self.server.cpu_seconds() - cpu) * 1000
        return r.status_code, elapsed

    def rps(self, login, api, path, extra=None, threads=4, per_thread=10) -> float:
        """Requests per second with `threads` clients at once (each its own session)."""
        import requests

        cookies = self.session(login, api).cookies
        headers = {**self.session(login, api).headers, **(extra or {})}
        done = []

        def worker():
            s = requests.Session()
            s.cookies.update(cookies)
            s.headers.update(headers)
            for _ in range(per_thread):
                s.get(self.server.base + path, allow_redirects=False)
                done.append(1)

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        start = time.perf_counter()
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return len(done) / (time.perf_counter() - start)


def form_fields(html: str, action: str) -> dict:
    """The hidden fields of the form posting to `action` (CSRF token, revision, fingerprint)."""
    import re

    start = html.find(f'action="{action}"')
    form = html[start : html.find("</form>", start)] if start >= 0 else ""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="hidden"' in tag:
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


def csrf_token(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    if not match:
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    return match.group(1) if match else ""


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
    codes = []

    def confirm(s, fields):
        barrier.wait()
        r = s.post(http.server.base + path, data=fields, allow_redirects=False)
        codes.append(r.status_code)

    pool = [threading.Thread(target=confirm, args=pair) for pair in sessions]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    result.samples_ms = [(time.perf_counter() - start) * 1000]
    bad = [c for c in codes if c >= 400]
    recorded = count_confirmations(app, d["signoff_revision"])
    result.note = f"{recorded} of {len(signers)} recorded; answers {sorted(set(codes))}"
    if bad or recorded != len(signers):
        result.status = "error" if bad else "lost confirmations"
    return result


def count_confirmations(app, revision_id: int) -> int:
    from extensions import db
    from minutes.models import Confirmation

    with app.app_context():
        n = db.session.scalar(
            sa.select(sa.func.count()).where(Confirmation.revision_id == revision_id)
        )
        db.session.remove()
        return n


# --- report ----------------------------------------------------------------------------------


def machine_facts(url: str) -> dict:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    versions = {}
    for pkg in ("flask", "sqlalchemy", "werkzeug", "jinja2", "gunicorn", "weasyprint", "psycopg"):
        with contextlib.suppress(pkg_metadata.PackageNotFoundError):
            versions[pkg] = pkg_metadata.version(pkg)
    facts = {
        "cores": os.cpu_count(),
        "memory_mb": mem_kb // 1024,
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
    }
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            facts["postgresql"] = conn.execute(sa.text("SHOW server_version")).scalar()
        engine.dispose()
    with contextlib.suppress(OSError):
        facts["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    return facts


def pad(text: str, width: int) -> str:
    """Left-justify for a terminal, counting East Asian wide characters as two columns."""
    import unicodedata

    cols = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - cols)


def fmt(value, width=8, digits=1) -> str:
    return f"{'—':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def print_table(results: list[Result]) -> None:
    head = (
        f"{'measurement':<36} {'where':<8} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8} "
        f"{'req/s':>7} {'SQL':>4} {'target':>7}  result"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        where = "process" if r.where == "in process" else "http"
        target = "" if r.target_ms is None else f"{r.target_ms:g}"
        verdict = r.status if r.status != "ok" else {True: "met", False: "MISSED", None: ""}[r.met]
        queries = "" if r.queries is None else str(r.queries)
        cpu = sorted(r.cpu_ms)[len(r.cpu_ms) // 2] if r.cpu_ms else None
        print(
            f"{pad(r.name, 36)} {where:<8} {fmt(r.p(0.5))} {fmt(r.p(0.95))} {fmt(cpu)} "
            f"{fmt(r.rps, 7, 0)} {queries:>4} {target:>7}  {verdict}"
            + (f"  ({r.note})" if r.note and r.status != "not available" else "")
        )


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
    from extensions import db

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


def progress(r: Result) -> None:
    p50 = r.p(0.5)
    print(
        f"  {r.name}: {r.status}" + (f", p50 {p50:.1f} ms" if p50 is not None else ""), flush=True
    )


def compare(
    pg: dict,
    lite: dict,
    where: dict[str, str] | None = None,
    title: str = "SQLite from bench/results/sqlite.json",
) -> list[dict]:
    """PostgreSQL's p50 over SQLite's, per measurement and place (issue 7: within twice);
    printed as a table and kept in postgresql.json. `where` maps PostgreSQL's places to
    SQLite's (only those places are compared); by default each to itself."""
    ours = {(m["name"], m["where"]): m for m in lite["measurements"] if m.get("p50_ms")}
    rows = []
    for m in pg["measurements"]:
        if where is not None and m["where"] not in where:
            continue
        other = ours.get((m["name"], (where or {}).get(m["where"], m["where"])))
        if not m.get("p50_ms") or other is None:
            continue
        ratio = m["p50_ms"] / other["p50_ms"]
        rows.append(
            {
                "name": m["name"],
                "where": m["where"],
                "sqlite_p50_ms": other["p50_ms"],
                "postgresql_p50_ms": m["p50_ms"],
                "ratio": round(ratio, 2),
                "met": ratio <= 2,
            }
        )
    print(f"\nPostgreSQL / SQLite, p50 (target ≤ 2; {title}):")
    for r in rows:
        print(
            f"{r['name'][:36]:<36} {r['where']:<20} {r['sqlite_p50_ms']:>8.1f} "
            f"{r['postgresql_p50_ms']:>8.1f} {r['ratio']:>6.2f}  {'met' if r['met'] else 'MISSED'}"
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Sanmai benchmark (issue 7)")
    parser.add_argument(
        "--only",
        help="run only measurements whose name contains this (comma-separated: any of them)",
    )
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--no-http", action="store_true", help="in process only")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="in process: take each measurement's samples in this many passes over them all",
    )
    parser.add_argument(
        "--no-pair",
        action="store_true",
        help="PostgreSQL: do not measure SQLite beside it in process (see run_paired)",
    )
    parser.add_argument("--profile", help="profile one measurement (in process) and stop")
    parser.add_argument("--explain", help="one measurement's SQL, slowest first, with plans")
    args = parser.parse_args(argv)

    pg = os.environ.get("DATABASE_URL", "")
    pg = pg if pg.startswith("postgres") else None
    ensure_data(pg)
    url, manifest = prepare_copy(pg)
    instance = Path(tempfile.mkdtemp(prefix="sanmai-bench-"))
    d = {**manifest}
    for role in ("manager", "member", "admin"):
        d[role] = manifest[role]
    wanted = [part for part in (args.only or "").split(",") if part]
    chosen = [m for m in MEASUREMENTS if not wanted or any(part in m.name for part in wanted)]

    # The PDF renderers are warmed (gunicorn.conf.py) only when a PDF is measured, unless
    # SANMAI_PDF_WARM=0 (then the first PDF of each process starts its renderer).
    warm_pdf = any(m.name.startswith("PDF") for m in chosen)
    warm_pdf = warm_pdf and os.environ.get("SANMAI_PDF_WARM", "1") != "0"
    inproc = InProcess(url, instance / "inproc", warm_pdf)
    if args.profile or args.explain:
        m = next(m for m in MEASUREMENTS if (args.profile or args.explain) in m.name)
        (profile if args.profile else explain)(inproc, m, d)
        return 0
    print(
        f"in process ({'PostgreSQL' if pg else 'SQLite'}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores) …",
        flush=True,
    )
    lite = None
    if pg and not args.no_pair:
        if Path(os.environ.get("BENCH_DB", DATA / "bench.db")).exists():
            print("  with SQLite beside it, in turns (--no-pair: without)", flush=True)
            lite = PairedSqlite()
        else:
            print("  no SQLite bench data: the ratio comes from bench/results/sqlite.json")
    mine: dict[str, Result] = {}
    theirs: dict[str, Result] = {}
    rounds = max(1, min(args.rounds, args.samples))
    share = -(-args.samples // rounds)
    try:
        for turn in range(rounds):
            if rounds > 1:
                print(f" round {turn + 1} of {rounds}", flush=True)
            for m in chosen:
                if m.kind in ("pdf_cold", "signoff") and turn:
                    continue  # each cold PDF needs a meeting not yet rendered: all in round 1
                n = args.samples if m.kind == "pdf_cold" else share
                both = run_paired(inproc, lite, m, d, n) if lite else None
                if both:
                    merge_into(mine, both[0])
                    merge_into(theirs, both[1])
                else:
                    merge_into(mine, run_in_process(inproc, m, d, n))
                progress(mine[m.name])
    finally:
        if lite:
            lite.stop()
    results, paired = list(mine.values()), list(theirs.values())
    peaks, renderer_peaks = {}, {}
    renderer_inproc = inproc_renderer_peak_mb()
    if not args.no_http:
        with inproc.app.app_context():
            from accounts.models import User

            tokens = dict(inproc.db.session.execute(sa.select(User.login, User.api_token)).all())
            inproc.db.session.remove()
        print("over HTTP (gunicorn, 2 workers) …", flush=True)
        server = Gunicorn(url, instance / "http", warm_pdf)
        try:
            http = Http(server, manifest, tokens)
            for m in chosen:
                results.append(run_over_http(http, inproc.app, m, d, args.samples))
                progress(results[-1])
            peaks = server.peak_rss_mb()
            renderer_peaks = server.renderer_peak_rss_mb()
        finally:
            server.stop()
    results.sort(key=lambda r: ([m.name for m in chosen].index(r.name), r.where != "in process"))
    print()
    print_table(results)
    peak = max(peaks.values()) if peaks else None
    if peak is not None:
        print(f"\npeak RSS of a gunicorn worker: {peak:.0f} MB (target ≤ 250 MB)")
    renderer_peak = max(renderer_peaks.values()) if renderer_peaks else None
    if renderer_peak is not None or renderer_inproc is not None:
        print(
            "peak RSS of a PDF renderer process (a worker's child, not counted above): "
            + ", ".join(
                f"{where} {mb:.0f} MB"
                for where, mb in (("gunicorn", renderer_peak), ("in process", renderer_inproc))
                if mb is not None
            )
        )
    shutil.rmtree(instance, ignore_errors=True)

    dialect = "postgresql" if pg else "sqlite"
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": dialect,
        "machine": machine_facts(url),
        "data": {k: manifest.get(k) for k in ("seed", "anchor", "counts", "seconds", "bytes")},
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "worker_peak_rss_mb": None if peak is None else round(peak, 1),
        "worker_peak_rss_target_mb": 250,
        # The PDF renderer processes (exports/renderer.py) are the workers' children: their
        # memory is not the workers', and is reported here on its own.
        "renderer_peak_rss_mb": {
            "gunicorn": None if renderer_peak is None else round(renderer_peak, 1),
            "in_process": None if renderer_inproc is None else round(renderer_inproc, 1),
        },
        "measurements": [r.as_json() for r in results],
    }
    if dialect == "postgresql" and (RESULTS / "sqlite.json").exists():
        report["ratio_to_sqlite"] = compare(
            report, json.loads((RESULTS / "sqlite.json").read_text())
        )
    if paired:
        report["paired_sqlite"] = [r.as_json() for r in paired]
        report["ratio_paired"] = compare(
            report,
            {"measurements": report["paired_sqlite"]},
            where={"in process": PAIRED_WHERE},
            title="in process, SQLite measured in turns with it (the ratio of issue 7)",
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{dialect}.json" if not args.only else DATA / f"results-{dialect}-partial.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
