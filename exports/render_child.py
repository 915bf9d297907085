"""The PDF renderer process: HTML in, PDF bytes out (WeasyPrint), one job at a time.

Started by exports/renderer.py as `python exports/render_child.py NAME IDLE_SECONDS OWNER_PID
MAX_RENDERS` — run by path, so nothing of the app (Flask, SQLAlchemy, the models) is imported
here: only WeasyPrint, Pango and the fonts, which are what make a rendering process grow. It
listens on the Unix socket NAME (Linux's abstract namespace) and takes one connection at a
time, spoken through multiprocessing.connection (pickled messages):

    client → renderer: (html: str, base_url: str | None)
    renderer → client: ("taken", pid), then ("ok", pdf: bytes, last: bool)
                       or ("error", traceback: str, last: bool)

`last` says the renderer has done MAX_RENDERS jobs (when > 0): it gave up NAME before
answering and exits after. When NAME is taken already, another renderer serves: this one exits
at once. It exits when OWNER_PID exits, after IDLE_SECONDS without a job when that is > 0, and
on SIGTERM. Ctrl-C in the server's terminal is the owner's business: SIGINT is ignored here.

Memory. For every document WeasyPrint opens the fonts anew and copies each font's whole file
into a Python bytes object as it first uses it, though it embeds only the subset HarfBuzz makes
from the font's face: with the CJK collections (~20 MB each, the regular one used twice, as
Sans and as Mono) that is ~60 MB of copies per document, and reading them brings the fonts'
files into memory too. `read_font_files_when_needed()` leaves the copy to the rare document
whose font HarfBuzz cannot subset (the PDF is the same bytes). What a job leaves behind (the
document's fonts, held in reference cycles) is collected, and the freed memory handed back to
the system, after each job, so that the next job starts from the renderer at rest.
"""

import contextlib
import ctypes
import gc
import os
import select
import signal
import socket
import sys
import traceback
from multiprocessing.connection import Connection

# Renders the font-loading part of a real job once, when no job is waiting yet, so that the
# next PDF costs a render, not a render plus loading Pango and the CJK fonts.
WARM_HTML = """<!doctype html><html lang="ja"><meta charset="utf-8">
<style>@page { size: A4; margin: 20mm; @bottom-right { content: counter(page) " / " counter(pages) } }
html { font-family: "Noto Sans CJK JP", sans-serif; font-size: 10pt }
.m { font-family: "Noto Sans Mono CJK JP", monospace } b { font-weight: bold }</style>
<h1>議事録 Minutes</h1><p>本日のゴール・宿題・さきどり <b>確認記録</b> 2026年11月26日(木)</p>
<p class="m">0123456789abcdef</p></html>"""

# How long a connection may take to send its job before it is dropped.
JOB_WAIT = 5.0


def read_font_files_when_needed() -> bool:
    """WeasyPrint's Font (weasyprint.pdf.fonts, not a public API: tests/test_pdf_renderer.py
    checks the PDF stays WeasyPrint's own, byte for byte) reads its font's whole file when
    something asks for it (the subset failed, or a variable or colour font is cleaned), not as
    it is made (see the docstring). False, and nothing changed, where the Font is not built as
    this expects."""
    from weasyprint.pdf import fonts

    font = fonts.Font
    whole_file = fonts.get_hb_object_data
    if not callable(whole_file) or getattr(font, "file_content", None) is not None:
        return False
    making = []  # while a Font is being made, its whole file is not read

    def not_while_making(hb_object, *args, **kwargs):
        if making and not args and not kwargs:
            return None  # the Font's whole file: read() fetches it if it is ever needed
        return whole_file(hb_object, *args, **kwargs)

    def make(self, *args, **kwargs):
        making.append(self)
        try:
            init(self, *args, **kwargs)
        finally:
            making.pop()

    def read(self):
        if self.__dict__.get("file_content") is None:
            self.__dict__["file_content"] = whole_file(self.hb_face)
        return self.__dict__["file_content"]

    def keep(self, content):
        self.__dict__["file_content"] = content

    init = font.__init__
    fonts.get_hb_object_data = not_while_making
    font.__init__ = make
    font.file_content = property(read, keep)
    return True


def give_back_memory() -> None:
    """Collect what the last job left (its fonts sit in reference cycles) and hand the freed
    heap back to the system (glibc keeps it otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    name, idle, owner = argv[1], float(argv[2]), int(argv[3])
    max_renders = int(argv[4]) if len(argv) > 4 else 0
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind("\0" + name)
    except OSError:
        return 0  # another renderer has the name and serves
    listener.listen(64)
    try:
        owner_exits = os.pidfd_open(owner)
    except OSError:
        return 0  # the owner is gone already

    from weasyprint import HTML

    read_font_files_when_needed()
    if not select.select([listener], [], [], 0)[0]:
        HTML(string=WARM_HTML).write_pdf()
        give_back_memory()
    renders = 0
    while True:
        ready = select.select([listener, owner_exits], [], [], idle if idle > 0 else None)[0]
        if not ready or owner_exits in ready:
            return 0  # nobody printed for a while (memory given back), or the owner is gone
        sock, _ = listener.accept()
        with Connection(sock.detach()) as conn:
            try:
                conn.send(("taken", os.getpid()))
                if not conn.poll(JOB_WAIT):
                    continue
                html, base_url = conn.recv()
            except (EOFError, OSError):
                continue  # a client that gave up waiting, or a probe
            try:
                status, payload = "ok", HTML(string=html, base_url=base_url).write_pdf()
            except Exception:  # noqa: BLE001 - reported to the client, which raises it there
                status, payload = "error", traceback.format_exc()
            renders += 1
            last = 0 < max_renders <= renders
            if last:
                listener.close()  # the name is free for a fresh renderer before we answer
            with contextlib.suppress(OSError):  # the client gave up waiting
                conn.send((status, payload, last))
            payload = None
            give_back_memory()
        if last:
            return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
