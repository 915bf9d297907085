"""The bench over HTTP: a real gunicorn with 2 workers on 127.0.0.1 (started, watched and
stopped here, with its processes' memory and CPU), and a client that logs in as a person or
an API token."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.harness import (
    DATA,
    ROOT,
    SECRET,
    children,
    cpu_seconds,
    free_port,
    is_renderer,
    vm_hwm_mb,
    wait_until_idle,
)


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
            # The PDF renderer, when warmed (gunicorn.conf.py), loads WeasyPrint as the workers
            # start: measure a server that has been up for a while, not its first seconds.
            time.sleep(0.5)
            renderers = self.renderers()
            if renderers:
                wait_until_idle(renderers)
            return
        self.stop()
        raise SystemExit("gunicorn did not start; see bench/data/gunicorn.log")

    def workers(self) -> list[int]:
        # The renderer is the master's child too once the worker that started it has exited.
        return [p for p in children(self.proc.pid) if not is_renderer(p)]

    def renderers(self) -> list[int]:
        """The PDF renderer (exports/renderer.py): a child of the worker that started it, or of
        the master once that worker has exited."""
        parents = [self.proc.pid, *self.workers()]
        return [p for parent in parents for p in children(parent) if is_renderer(p)]

    def peak_rss_mb(self) -> dict[int, float]:
        """VmHWM (peak resident set) of each worker (the PDF renderer is reported by
        renderer_peak_rss_mb)."""
        peaks = {}
        for pid in self.workers():
            peak = vm_hwm_mb(pid)
            if peak is not None:
                peaks[pid] = peak
        return peaks

    def cpu_seconds(self) -> float:
        """CPU time so far of the workers and the PDF renderer (one request at a time: the
        difference around a request is its CPU, both processes, in 10 ms ticks)."""
        pids = self.workers() + self.renderers()
        return sum(cpu_seconds(p) or 0.0 for p in pids)

    def renderer_peak_rss_mb(self) -> dict[int, float]:
        """VmHWM of the PDF renderer process (exports/renderer.py), alive now."""
        peaks = {}
        for pid in self.renderers():
            peak = vm_hwm_mb(pid)
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
