"""HTML → PDF in a renderer process of its own, so WeasyPrint never loads into a web worker.

WeasyPrint with the CJK fonts makes a process grow by ~200 MB (to ~330 MB), and Python does not
give that memory back. The web worker therefore only builds the HTML (Jinja, translations, the
request's locale) and hands the string to one long-lived child process, `render_child.py`,
which returns the PDF bytes. One renderer per worker process, started on first use (or by
`warm()`, which gunicorn.conf.py calls when a worker starts); jobs from several threads queue
on a lock, one at a time.

- The child dies (killed, out of memory): it is reaped, a new one started and the job retried
  once; a second failure raises RendererUnavailable (the view answers 503, nothing is lost).
- A job takes longer than `timeout`: the child is killed and RendererUnavailable raised.
- After `max_renders` jobs the child is replaced by a fresh one (memory returned periodically),
  and a child idle for `idle_seconds` exits by itself; either way the next job starts one.
- Shutdown: `shutdown()` (atexit, gunicorn's worker_exit) closes the socket and waits; a parent
  that dies without it still closes the socket, and the child exits on EOF: no orphan.
- A process forked from one that had a renderer (gunicorn --preload) starts its own.

Standard library only: importable before the app (gunicorn.conf.py) and by the tests.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

CHILD = Path(__file__).with_name("render_child.py")


class RendererUnavailable(RuntimeError):
    """The PDF could not be made now (renderer died twice, timed out or is busy)."""


class RenderError(RuntimeError):
    """WeasyPrint raised on this HTML (a bug in the document, not in the renderer)."""


class Renderer:
    def __init__(self, idle_seconds: float = 0.0, command: list[str] | None = None):
        self.idle_seconds = idle_seconds
        self.command = command  # the tests replace the child with a misbehaving one
        self.renders = 0  # jobs done by the current child
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._conn: Connection | None = None

    # --- the child ---------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    def _start(self) -> None:
        ours, theirs = socket.socketpair()
        command = self.command or [sys.executable, str(CHILD)]
        try:
            self._proc = subprocess.Popen(
                [*command, str(theirs.fileno()), str(self.idle_seconds)],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        self.renders = 0
        # Reaps the child whenever it exits (idle, recycled, killed): never a zombie.
        threading.Thread(target=self._proc.wait, name="pdf-renderer-reaper", daemon=True).start()

    def _stop(self, grace: float) -> None:
        """Close our end (the child exits on EOF), wait `grace` seconds, then kill."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is None:
            return
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and self._conn is not None

    def warm(self) -> None:
        """Start the child now (it loads WeasyPrint and the fonts at once) without waiting."""
        with self._lock:
            if not self._alive():
                self._stop(grace=0)
                self._start()

    def shutdown(self, grace: float = 5.0) -> None:
        with self._lock:
            self._stop(grace)

    # --- jobs --------------------------------------------------------------------------

    def render(
        self, html: str, base_url: str | None, timeout: float = 25.0, max_renders: int = 0
    ) -> bytes:
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=timeout):
            raise RendererUnavailable("busy: other PDFs are being made")
        try:
            for attempt in (1, 2):
                if not self._alive():
                    self._stop(grace=0)  # reaps a dead child, if any
                    self._start()
                try:
                    self._conn.send((html, base_url))
                    if not self._conn.poll(max(0.0, deadline - time.monotonic())):
                        self._kill()
                        raise RendererUnavailable(f"no PDF within {timeout:g} s")
                    status, payload = self._conn.recv()
                except (EOFError, OSError) as error:  # the child died under the job
                    self._kill()
                    if attempt == 2:
                        raise RendererUnavailable("the renderer stopped twice") from error
                    continue
                self.renders += 1
                if max_renders and self.renders >= max_renders:
                    self._stop(grace=0.5)  # a fresh child, warming up while nobody waits
                    with contextlib.suppress(OSError):  # else the next job starts one
                        self._start()
                if status != "ok":
                    raise RenderError(payload)
                return payload
        finally:
            self._lock.release()
        raise AssertionError("unreachable")

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGKILL)
        self._stop(grace=5.0)


_renderer = Renderer(idle_seconds=float(os.environ.get("SANMAI_PDF_IDLE_SECONDS") or 0))


def get() -> Renderer:
    """This process's renderer."""
    return _renderer


def _after_fork() -> None:
    """A forked process (gunicorn --preload) gets a renderer of its own, not its parent's."""
    global _renderer
    inherited = _renderer
    _renderer = Renderer(inherited.idle_seconds, inherited.command)
    if inherited._conn is not None:  # our copy of the parent's socket: not ours to keep open
        with contextlib.suppress(OSError):
            inherited._conn.close()


os.register_at_fork(after_in_child=_after_fork)


def render(html: str, base_url: str | None, timeout: float = 25.0, max_renders: int = 0) -> bytes:
    return get().render(html, base_url, timeout=timeout, max_renders=max_renders)


def warm() -> None:
    get().warm()


def shutdown() -> None:
    _renderer.shutdown()


atexit.register(shutdown)
