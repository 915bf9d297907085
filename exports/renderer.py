"""HTML → PDF in a renderer process of its own, so WeasyPrint never loads into a web worker.

WeasyPrint with the CJK fonts makes a process grow by ~50 MB at rest and as much again while it
renders, and Python does not give all of that back. The web worker therefore only builds the
HTML (Jinja, translations, the request's locale) and hands the string to a renderer process,
`render_child.py`, which returns the PDF bytes (and keeps its own memory low: see there).

One renderer per server, shared by its workers and started on demand: none runs until a PDF
is asked for, and one idle for `idle_seconds` exits, so a server at rest holds no WeasyPrint.
The renderer listens on a Unix socket in Linux's abstract namespace named after its owner
(the gunicorn master, which calls `own()` before forking its workers; otherwise the first
process that asks) and a token, so every worker finds the same one. A process that finds
nobody listening starts it; two starting at once are settled by the name (one binds it, the
other exits). A job is one connection; the renderer takes one at a time, the others wait in
the socket's queue, and threads of one process queue on a lock.

- The renderer dies (killed, out of memory): the job's connection ends, a new renderer is
  started and the job retried once; a second failure raises RendererUnavailable (the view
  answers 503, nothing is lost).
- A job not done `timeout` seconds after it was asked for: if the renderer had taken it, the
  renderer is killed; either way RendererUnavailable is raised (other PDFs ahead of it only
  make it wait, they never get it killed).
- After `max_renders` jobs the renderer gives up its name, answers and exits (memory returned
  periodically); the process that got the answer starts a fresh one.
- No orphan: the renderer exits when its owner exits (it watches the owner's pidfd), after
  `shutdown()` in the owner (atexit; gunicorn's on_exit), on SIGTERM, or idle. Each process
  reaps the renderers it started; the gunicorn master is a child subreaper, so one whose
  worker exited first is reaped there: no zombies.
- gunicorn --preload: the master loads the app but starts no renderer.

Standard library only: importable before the app (gunicorn.conf.py) and by the tests.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

CHILD = Path(__file__).with_name("render_child.py")
PR_SET_CHILD_SUBREAPER = 36


class RendererUnavailable(RuntimeError):
    """The PDF could not be made now (renderer died twice, timed out or is busy)."""


class RenderError(RuntimeError):
    """WeasyPrint raised on this HTML (a bug in the document, not in the renderer)."""


class RendererDied(OSError):
    """The renderer exited before it took the job."""


class Renderer:
    def __init__(
        self, idle_seconds: float = 0.0, command: list[str] | None = None, max_renders: int = 0
    ):
        self.idle_seconds = idle_seconds
        self.command = command  # the tests replace the child with a misbehaving one
        self.max_renders = max_renders  # for the renderers this process starts (0: no limit)
        self.owner = os.getpid()
        self.token = secrets.token_hex(8)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None  # the renderer this process started last

    @property
    def address(self) -> str:
        return f"\0sanmai-pdf-{self.owner}-{self.token}"

    # --- the renderer ------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The renderer's process id: the one listening, or the one this process is starting."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(self.address)
                creds = probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
                return struct.unpack("3i", creds)[0]
            except OSError:
                pass
        proc = self._proc
        return proc.pid if proc is not None and _exit_code(proc) is None else None

    def _start(self, fresh: bool = False) -> None:
        """Start a renderer unless the one this process started is still alive (`fresh`: the
        one that gave up its name is still exiting)."""
        if not fresh and self._proc is not None and _exit_code(self._proc) is None:
            return
        if not _alive(self.owner):  # a forked process whose owner is gone owns its own
            self.owner = os.getpid()
        command = self.command or [sys.executable, str(CHILD)]
        args = [self.address[1:], str(self.idle_seconds), str(self.owner), str(self.max_renders)]
        self._proc = subprocess.Popen([*command, *args], stdin=subprocess.DEVNULL)
        # Reaps the renderer whenever it exits (idle, recycled, killed): never a zombie.
        threading.Thread(target=self._proc.wait, name="pdf-renderer-reaper", daemon=True).start()

    def _connect(self, deadline: float, timeout: float) -> Connection:
        """A connection to the renderer, started here when nobody listens."""
        started = None  # the renderer started by this call
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(self.address)
                return Connection(sock.detach())
            except (ConnectionRefusedError, FileNotFoundError):
                sock.close()
            proc = self._proc
            code = None if proc is None else _exit_code(proc)
            if proc is None or (code is not None and proc is not started):
                self._start(fresh=True)  # nobody listens, and ours (if any) has exited
                started = proc = self._proc
            elif code not in (None, 0):  # 0: another renderer had the name and serves
                raise RendererDied(f"the renderer exited with {code}")
            if time.monotonic() >= deadline:
                self._kill(proc.pid if proc is not None else None)
                raise RendererUnavailable(f"no PDF within {timeout:g} s")
            time.sleep(0.01)

    def _kill(self, pid: int | None) -> None:
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        proc = self._proc
        if proc is not None and proc.pid == pid:
            proc.wait()

    def warm(self) -> None:
        """Start the renderer now (it loads WeasyPrint and the fonts at once) without waiting;
        nothing to do while a thread of this process is making a PDF (one runs, then)."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self.pid is None:
                self._start()
        finally:
            self._lock.release()

    def shutdown(self, grace: float = 5.0) -> None:
        """Stop the renderer: only its owner does (a worker exiting leaves it to the others)."""
        if os.getpid() != self.owner:
            return
        with self._lock:
            pid = self.pid
            if pid is None:
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + grace
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if _alive(pid):
                self._kill(pid)

    # --- jobs --------------------------------------------------------------------------

    def render(
        self, html: str, base_url: str | None, timeout: float = 25.0, max_renders: int = 0
    ) -> bytes:
        deadline = time.monotonic() + timeout
        self.max_renders = max_renders
        if not self._lock.acquire(timeout=timeout):
            raise RendererUnavailable("busy: other PDFs are being made")
        try:
            for attempt in (1, 2):
                try:
                    status, payload, last = self._job(html, base_url, deadline, timeout)
                except (EOFError, OSError) as error:  # the renderer died before answering
                    if attempt == 2:
                        raise RendererUnavailable("the renderer stopped twice") from error
                    continue
                if last:  # worn out: a fresh one, warming up while nobody waits
                    with contextlib.suppress(OSError):
                        self._start(fresh=True)
                if status != "ok":
                    raise RenderError(payload)
                return payload
        finally:
            self._lock.release()
        raise AssertionError("unreachable")

    def _job(self, html: str, base_url: str | None, deadline: float, timeout: float):
        conn = self._connect(deadline, timeout)
        with conn:
            conn.send((html, base_url))
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                # Still queued behind other workers' PDFs: not the renderer's fault.
                raise RendererUnavailable("busy: other PDFs are being made")
            _taken, pid = conn.recv()
            if not conn.poll(max(0.0, deadline - time.monotonic())):
                self._kill(pid)
                raise RendererUnavailable(f"no PDF within {timeout:g} s")
            return conn.recv()


def _exit_code(proc: subprocess.Popen) -> int | None:
    """The exit status of a renderer this process started, None while it runs. (Popen.poll
    cannot tell: the reaper thread holds the Popen's lock while it waits.)"""
    if proc.returncode is None and not _alive(proc.pid):
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=1)
    return proc.returncode


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in _stat(pid)


def _stat(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""


# The app's SANMAI_PDF_MAX_RENDERS reaches render(); this default serves a renderer started
# before any PDF (warm()).
_renderer = Renderer(
    idle_seconds=float(os.environ.get("SANMAI_PDF_IDLE_SECONDS") or 300),
    max_renders=int(os.environ.get("SANMAI_PDF_MAX_RENDERS") or 200),
)


def get() -> Renderer:
    """This server's renderer."""
    return _renderer


def own() -> None:
    """Make this process (the gunicorn master, before it forks the workers) the owner of the
    renderer its workers share, and the reaper of any renderer whose worker exited first."""
    _renderer.owner = os.getpid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _after_fork() -> None:
    """A forked process shares the renderer; the lock and the child it started are not its."""
    _renderer._lock = threading.Lock()
    _renderer._proc = None


os.register_at_fork(after_in_child=_after_fork)


def render(html: str, base_url: str | None, timeout: float = 25.0, max_renders: int = 0) -> bytes:
    return get().render(html, base_url, timeout=timeout, max_renders=max_renders)


def warm() -> None:
    get().warm()


def shutdown() -> None:
    _renderer.shutdown()


atexit.register(shutdown)
