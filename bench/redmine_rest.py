"""The REST path of `flask redmine import` timed against a real Redmine
(`bench/redmine_import.py --source rest`).

Redmine 5 serves the generated database (bench/redmine_data.py) as `rails server` does:
thin, one single-threaded process. With `--servers N` (N > 1) there are N such processes,
each on its own port, behind nginx balancing them (keep-alive to each), as a Redmine with
several application workers is deployed; the import then talks to nginx.

One import into a fresh Sanmai SQLite database, under /usr/bin/time -v, with a fresh
instance folder (so nothing is staged yet): `flask redmine import --url URL --key KEY`.
Measured: the issues fetched and the rate the import itself reports for them (from its first
fetched issue to its last), the wall time of the staging phase (from the start to the import
proper, the issue list included) and of the whole run, the CPU time of the import process in
each phase (/proc/PID/stat) and in all (/usr/bin/time), the CPU time of the Redmine
processes (and nginx) over the run, its peak memory, and the load average. Redmine's own
time per request comes from its log ("Completed 200 OK in Xms (Views: …| ActiveRecord: …)"),
averaged per kind of request.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.redmine_server import RedmineServer, free_port

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of `pid` and of the processes of its group (a server's
    children, if it has any); 0 for one that is gone."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # fields[0] is the state (field 3): pgrp is field 5, utime and stime 14 and 15
        if int(entry.name) == pid or int(fields[2]) == pid:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


NGINX_CONF = """\
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    upstream redmine {{
        least_conn;
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://redmine;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering on;
        }}
    }}
}}
"""


class Balanced:
    """Redmine's processes and the nginx in front of them, if any: `url`, `pids`, `logs`."""

    def __init__(self, url: str, pids: list[int], logs: list[Path]):
        self.url, self.pids, self.logs = url, pids, logs

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)


@contextmanager
def redmine_servers(db: Path, count: int, logs: Path):
    """`count` Redmine processes serving `db` (behind nginx when more than one)."""
    with ExitStack() as stack:
        servers = []
        for n in range(count):
            server = RedmineServer(db, log=logs / f"redmine-rest-{n + 1}.log", log_requests=True)
            servers.append(stack.enter_context(server))
        pids = [server.process.pid for server in servers]
        if count == 1:
            yield Balanced(servers[0].url, pids, [s.log for s in servers])
            return
        run = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="redmine-nginx-")))
        port = free_port()
        (run / "nginx.conf").write_text(NGINX_CONF.format(
            run=run, port=port,
            servers="\n".join(f"        server 127.0.0.1:{s.port};" for s in servers),
        ))  # fmt: skip
        nginx = subprocess.Popen(
            ["nginx", "-p", str(run), "-c", str(run / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        stack.callback(_stop, nginx)
        time.sleep(1)
        if nginx.poll() is not None:
            raise SystemExit(f"nginx did not start; see {run / 'error.log'}")
        yield Balanced(f"http://127.0.0.1:{port}", [*pids, nginx.pid], [s.log for s in servers])


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        process.wait(15)


def timed_import(command: list[str], env: dict, redmine: Balanced, cwd: Path) -> dict:
    """Run the import `command` (under /usr/bin/time -v); its phases' times, its CPU and
    Redmine's."""
    stamps: dict[str, float] = {}
    cpu: dict[str, float] = {}
    stderr: list[str] = []
    redmine_before = redmine.cpu()
    load_before = os.getloadavg()
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip

    def importer() -> int | None:
        # /usr/bin/time's child: the flask process
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        try:
            return int(children.read_text().split()[0])
        except (OSError, IndexError, ValueError):
            return None

    def read_stderr() -> None:
        flask_pid = None
        for line in process.stderr:
            now = time.monotonic()
            stderr.append(line)
            flask_pid = flask_pid or importer()
            shown = re.match(r"issues fetched: (\d+)/(\d+)", line)
            if not shown:
                continue
            # The line of the first issue fetched, and the one of the last (printed as the
            # last issue is staged, or right after): the fetch phase between them.
            for mark, reached in (("fetch_start", shown[1] == "0"),
                                  ("staged", shown[1] == shown[2])):  # fmt: skip
                if reached and mark not in stamps:
                    stamps[mark] = now
                    cpu[f"importer_{mark}"] = cpu_seconds(flask_pid) if flask_pid else 0.0
                    cpu[f"redmine_{mark}"] = redmine.cpu()

    reader = threading.Thread(target=read_stderr)
    reader.start()
    stdout = process.stdout.read()
    process.wait()
    reader.join()
    finished = time.monotonic()
    redmine_after = redmine.cpu()
    load_after = os.getloadavg()
    text = "".join(stderr)
    fetched = re.findall(r"^issues fetched: (\d+)/(\d+) \(([\d.]+)/s\)", text, re.MULTILINE)
    done, total, rate = fetched[-1] if fetched else ("0", "0", "0")
    result = {
        "stdout": stdout,
        "stderr": text,
        "issues_fetched": int(done),
        "issues_listed": int(total),
        "fetch_rate_per_s": float(rate),
        "wall_s": round(finished - started, 1),
        "redmine_cpu_s": round(redmine_after - redmine_before, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
    }
    if "fetch_start" in stamps and "staged" in stamps:
        fetch_wall = stamps["staged"] - stamps["fetch_start"]
        result |= {
            "staging_wall_s": round(stamps["staged"] - started, 1),
            "fetch_wall_s": round(fetch_wall, 1),
            "fetch_importer_cpu_s": round(cpu["importer_staged"] - cpu["importer_fetch_start"], 1),
            "fetch_redmine_cpu_s": round(cpu["redmine_staged"] - cpu["redmine_fetch_start"], 1),
        }
        if int(done):
            n = int(done)
            result["per_issue_ms"] = {
                "wall": round(1000 * fetch_wall / n, 1),
                "importer_cpu": round(1000 * result["fetch_importer_cpu_s"] / n, 1),
                "redmine_cpu": round(1000 * result["fetch_redmine_cpu_s"] / n, 1),
            }
    return result


COMPLETED = re.compile(
    r"Started GET \"(?P<path>[^\"?]*)[^\"]*\".*?Completed (?P<status>\d+) [^\n]* in "
    r"(?P<total>[\d.]+)ms \((?:Views: (?P<views>[\d.]+)ms \| )?ActiveRecord: (?P<db>[\d.]+)ms",
    re.DOTALL,
)


def request_times(logs: list[Path]) -> dict:
    """Redmine's own time per kind of request, from its logs: {kind: count, mean ms (total,
    views, ActiveRecord)}. Requests are told apart by their log tag (the request id)."""
    by_request: dict[str, list[str]] = {}
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            tag = re.search(r"\[([0-9a-f-]{36})\]", line)
            if tag:
                by_request.setdefault(tag.group(1), []).append(line)
    kinds: dict[str, list[tuple[float, float, float]]] = {}
    for lines in by_request.values():
        found = COMPLETED.search("\n".join(lines))
        if not found:
            continue
        path = re.sub(r"/\d+", "/N", found["path"])
        kinds.setdefault(path, []).append(
            (float(found["total"]), float(found["views"] or 0), float(found["db"]))
        )
    return {
        path: {
            "requests": len(times),
            "mean_ms": round(sum(t[0] for t in times) / len(times), 1),
            "views_ms": round(sum(t[1] for t in times) / len(times), 1),
            "activerecord_ms": round(sum(t[2] for t in times) / len(times), 1),
        }
        for path, times in sorted(kinds.items(), key=lambda kv: -len(kv[1]))
    }
