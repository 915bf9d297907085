"""Debian's Redmine 5 (packages redmine, redmine-sqlite, thin) run on a SQLite file of our
own, without touching the instance in /etc/redmine: Rails takes the database from
DATABASE_URL (sqlite3:/path), which wins over database.yml.

`rake(db, task)` runs one of Redmine's rake tasks on the file; `RedmineServer(db)` serves it
(`rails server`, one single-threaded process on 127.0.0.1, its pid file in a temporary
directory so that servers on other files can run beside it) until the `with` block ends,
when it is stopped by its process id (`log_requests=True`: Rails' request log goes to the
server's own log rather than the shared production.log). A server that does not answer in
time, or exits, is an error naming its log.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

REDMINE_ROOT = Path(os.environ.get("REDMINE_ROOT", "/usr/share/redmine"))
INSTALL_HINT = (
    "Debian's Redmine 5 is needed: as root, apt-get install redmine redmine-sqlite thin "
    "(see bench/README.md)"
)


class RedmineError(Exception):
    """Redmine is missing or failed; str(error) says which and where to look."""


def redmine_version(root: Path = REDMINE_ROOT) -> str:
    """Redmine's version (MAJOR.MINOR.TINY of lib/redmine/version.rb)."""
    try:
        text = (root / "lib" / "redmine" / "version.rb").read_text()
    except OSError:
        raise RedmineError(f"no Redmine in {root}: {INSTALL_HINT}") from None
    parts = [re.search(rf"{name}\s*=\s*(\d+)", text) for name in ("MAJOR", "MINOR", "TINY")]
    if not all(parts):
        raise RedmineError(f"cannot read Redmine's version in {root}")
    return ".".join(part.group(1) for part in parts)


def environment(db: Path) -> dict:
    # A busy timeout as Redmine's own database.yml has: Redmine writes now and then (a
    # user's preferences) and a second server process then waits rather than fails.
    url = f"sqlite3:{Path(db).resolve()}?timeout=5000"
    env = dict(os.environ, RAILS_ENV="production", DATABASE_URL=url)
    env.pop("RAILS_LOG_TO_STDOUT", None)
    return env


def rake(db: Path, task: str, log: Path, root: Path = REDMINE_ROOT, **extra: str) -> None:
    """Run Redmine's rake `task` on the SQLite file `db`; its output is appended to `log`."""
    with open(log, "a") as out:
        done = subprocess.run(
            ["ruby", "bin/rake", task], cwd=root, env=environment(db) | extra,
            stdout=out, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
    if done.returncode:
        raise RedmineError(f"Redmine's rake {task} failed (exit {done.returncode}); see {log}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedmineServer:
    """`with RedmineServer(db) as redmine: redmine.get("/issues.json", key)`."""

    def __init__(self, db: Path, port: int | None = None, log: Path | None = None,
                 root: Path = REDMINE_ROOT, timeout: float = 120,
                 log_requests: bool = False):  # fmt: skip
        self.db, self.root, self.timeout = Path(db), root, timeout
        # Rails' request log into `log` rather than the shared production.log
        self.log_requests = log_requests
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log or Path(tempfile.gettempdir()) / f"redmine-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> RedmineServer:
        redmine_version(self.root)
        self._rundir = tempfile.TemporaryDirectory(prefix="redmine-server-")
        pidfile = Path(self._rundir.name) / "server.pid"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                ["ruby", "bin/rails", "server", "-e", "production", "-b", "127.0.0.1",
                 "-p", str(self.port), "-P", str(pidfile)],
                cwd=self.root, stdout=out,
                env=environment(self.db) | ({"RAILS_LOG_TO_STDOUT": "1"} if self.log_requests
                                            else {}), stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.stop()
                raise RedmineError(f"Redmine exited while starting; see {self.log}")
            try:
                urllib.request.urlopen(self.url + "/login", timeout=5).close()
                return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        self.stop()
        raise RedmineError(f"Redmine did not answer in {self.timeout:.0f} s; see {self.log}")

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the server (its process group: rails and nothing else we did not start)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
        if getattr(self, "_rundir", None):
            self._rundir.cleanup()
            self._rundir = None

    def get(self, path: str, key: str | None = None) -> tuple[int, float, bytes]:
        """(status, seconds, body) of GET `path`, as the API key's user if given."""
        request = urllib.request.Request(self.url + path)
        if key:
            request.add_header("X-Redmine-API-Key", key)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                body, status = response.read(), response.status
        except urllib.error.HTTPError as error:
            body, status = error.read(), error.code
        return status, time.perf_counter() - started, body
