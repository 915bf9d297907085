"""The bench harness: the working copy of the data, the app in process with its timing,
what a measurement yields (Result), and the watch on processes (memory, CPU, renderers).
The HTTP side, a real gunicorn and its client, is bench/servers.py."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent

DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
SECRET = "bench-only-secret-key"


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
        from core.extensions import db

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


# --- processes: gunicorn's workers and the PDF renderers ------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """The process's children, whichever of its threads started them (a threaded gunicorn
    worker's PDF renderer is a child of one of its request threads)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


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
