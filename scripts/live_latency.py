"""Measure live following: how long until 50 open viewers see a change to the minutes.

    .venv/bin/python scripts/live_latency.py                       # SQLite
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:54329/postgres \\
        .venv/bin/python scripts/live_latency.py                   # PostgreSQL

It makes a fresh database (a temporary SQLite file, or a throw-away database on the given
PostgreSQL server, dropped at the end), starts a real gunicorn with 2 sync workers on
127.0.0.1, opens N viewers that poll the meeting page's live endpoint exactly as
static/js/live.js does (If-None-Match, every 500 ms after the previous answer), then a
facilitator adds items through the JSON API. For every change and every viewer it records
the time from sending the write to that viewer holding the new content. Loopback only; every
wait is bounded; gunicorn and the database are cleaned up at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
POLL_INTERVAL = 0.5  # as static/js/live.js
PASSWORD = "live-latency-pw"


def make_database(server_url: str | None, tmp: Path):
    if not server_url:
        return f"sqlite:///{tmp / 'live.db'}", lambda: None
    name = f"sanmai_live_{uuid.uuid4().hex[:8]}"
    server = sa.engine.make_url(server_url)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def seed(url: str, tmp: Path, viewers: int) -> tuple[int, str, list[str]]:
    """A unit, a facilitator, `viewers` members attending a meeting in session; returns the
    meeting's id, the facilitator's API token and the viewers' logins."""
    from flask_migrate import upgrade

    from accounts import services as accounts
    from app import create_app
    from core.extensions import db
    from core.timeutil import utcnow
    from minutes import items, meetings
    from projects import services as projects
    from tickets.defaults import ensure_defaults

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_DIR": str(tmp)})
    minutes_attendees = []
    with app.app_context():
        upgrade()
        ensure_defaults()
        project = projects.create_project("計測市 令和8年度", "live-2026", 2026, None)
        unit = projects.create_unit(project, "住民記録", "live-2026-jyuki")
        facilitator = accounts.create_user("facilitator", "進行役", None, email=None)
        projects.set_membership(project, facilitator, "facilitator")
        logins = []
        for n in range(viewers):
            user = accounts.create_user(f"viewer{n}", f"出席者 {n}", PASSWORD, email=None)
            projects.set_membership(project, user, "member")
            minutes_attendees.append(user)
            logins.append(user.login)
        meeting = meetings.create_meeting(
            facilitator,
            unit,
            {"title": "計測用の会議", "starts_at": utcnow() - timedelta(minutes=5)},
        )
        for user in minutes_attendees:
            meetings.add_attendee(facilitator, meeting, user)
        meetings.set_status(facilitator, meeting, "in_session")
        for n in range(8):  # a realistic sheet to render, not an empty page
            goal = items.add_item(facilitator, meeting, "goal", f"目標 {n}: 帳票の様式を決める")
            items.add_item(facilitator, meeting, "result", f"成果 {n}: 様式案Bで合意", parent=goal)
        result = (meeting.id, accounts.api_token(facilitator), logins)
        db.session.commit()
        db.engine.dispose()
    return result


class Viewer(threading.Thread):
    """One attendee's browser: logged in with a session cookie, polling like live.js.

    Plain http.client, so that fifty of them in one Python process cost the measuring side
    as little CPU as possible (it shares the machine with the server it measures).
    """

    def __init__(self, port: int, meeting_id: int, login: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.port = port
        self.path = f"/meetings/{meeting_id}/live"
        session = requests.Session()
        base = f"http://127.0.0.1:{port}"
        form = session.get(f"{base}/login", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)[1]
        session.post(
            f"{base}/login",
            data={"csrf_token": token, "login": login, "password": PASSWORD},
            timeout=10,
        ).raise_for_status()
        self.cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        self.stop = stop
        self.seen: dict[str, float] = {}  # marker → when this viewer first held it
        self.requests = 0
        self.errors = 0
        self.last_error = ""

    def run(self):
        etag = None
        while not self.stop.is_set():
            headers = {"Cookie": self.cookie, "Accept": "application/json"}
            if etag:
                headers["If-None-Match"] = etag
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", self.path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                conn.close()
                self.requests += 1
                if response.status == 200:
                    etag = response.getheader("ETag")
                    html = json.loads(body)["html"]
                    now = time.monotonic()
                    for marker in MARKERS:
                        if marker in html and marker not in self.seen:
                            self.seen[marker] = now
                elif response.status != 304:
                    self.errors += 1
                    self.last_error = f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as error:
                self.errors += 1
                self.last_error = type(error).__name__
            self.stop.wait(POLL_INTERVAL)


MARKERS: list[str] = []


def server_cpu_seconds(master: int) -> float:
    """CPU time (user + system) used so far by the gunicorn master and its workers (Linux)."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if master in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def measure(label: str, url: str, tmp: Path, viewers: int, changes: int, port: int) -> dict:
    meeting_id, facilitator_token, logins = seed(url, tmp, viewers)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SANMAI_INSTANCE_DIR": str(tmp),
        "PYTHONPATH": str(ROOT),
        "SANMAI_PDF_WARM": "0",  # no PDF here: no renderer warming up during the measurement
    }
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "app:app",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    group: list[Viewer] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.get(f"{base}/login", timeout=1)
                break
            except requests.RequestException:
                time.sleep(0.2)
        group += [Viewer(port, meeting_id, login, stop) for login in logins]
        for viewer in group:
            viewer.start()
        time.sleep(3)  # every viewer has loaded the page and is polling with its ETag
        cpu_start, wall_start = server_cpu_seconds(gunicorn.pid), time.monotonic()
        load_start = os.getloadavg()[0]
        writer = requests.Session()
        writer.headers["X-API-Key"] = facilitator_token
        sent = {}
        for n in range(changes):
            marker = f"変更{n:03d}を記録"
            MARKERS.append(marker)
            sent[marker] = time.monotonic()
            response = writer.post(
                f"{base}/api/v1/meetings/{meeting_id}/items",
                json={"kind": "break", "text": marker},
                timeout=10,
            )
            response.raise_for_status()
            time.sleep(1.5)  # a facilitator types the next item
        time.sleep(3)
        server_cpu = server_cpu_seconds(gunicorn.pid) - cpu_start
        wall = time.monotonic() - wall_start
        load = (load_start + os.getloadavg()[0]) / 2
    finally:
        stop.set()
        for viewer in group:  # let the polls in flight finish before the server stops
            viewer.join(timeout=15)
        gunicorn.terminate()
        try:
            gunicorn.wait(timeout=10)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
    delays, missed = [], 0
    for viewer in group:
        for marker, at in sent.items():
            if marker in viewer.seen:
                delays.append(viewer.seen[marker] - at)
            else:
                missed += 1
    MARKERS.clear()
    polls = sum(v.requests for v in group)
    return {
        "database": label,
        "viewers": viewers,
        "changes": changes,
        "samples": len(delays),
        "missed": missed,
        "errors": sum(v.errors for v in group),
        "median_ms": round(statistics.median(delays) * 1000),
        "p95_ms": round(statistics.quantiles(delays, n=20)[-1] * 1000),
        "worst_ms": round(max(delays) * 1000),
        "polls": polls,
        "polls_per_s": round(polls / wall),
        "server_cores": round(server_cpu / wall, 2),
        "load": round(load, 1),
        "cpus": os.cpu_count(),
        "error_kinds": sorted({v.last_error for v in group if v.last_error}),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--port", type=int, default=5791)
    args = parser.parse_args()
    server = os.environ.get("DATABASE_URL", "")
    server = server if server.startswith("postgresql") else None
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = make_database(server, Path(tmp))
        try:
            result = measure(
                "PostgreSQL" if server else "SQLite",
                url,
                Path(tmp),
                args.viewers,
                args.changes,
                args.port,
            )
        finally:
            drop()
    print(
        "{database}: {viewers} viewers, 2 gunicorn workers, {changes} changes → "
        "median {median_ms} ms, p95 {p95_ms} ms, worst {worst_ms} ms "
        "({samples} samples, {missed} missed, {errors} errors {error_kinds}; {polls_per_s} polls/s; "
        "gunicorn used {server_cores} cores; machine load {load} on {cpus} CPUs)".format(**result)
    )


if __name__ == "__main__":
    main()
