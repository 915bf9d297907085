"""The PDF renderer process: HTML in, PDF bytes out (WeasyPrint), one job at a time.

Started by exports/renderer.py as `python exports/render_child.py FD IDLE_SECONDS` — run by
path, so nothing of the app (Flask, SQLAlchemy, the models) is imported here: only WeasyPrint,
Pango and the fonts, which are what make a rendering process grow to ~330 MB. FD is one end of a
socket pair, spoken through multiprocessing.connection (pickled messages):

    parent → child: (html: str, base_url: str | None)
    child → parent: ("ok", pdf: bytes) or ("error", traceback: str)

The process exits when the parent closes its end (or dies: the socket reaches EOF), after
IDLE_SECONDS without a job when that is > 0, and on SIGTERM. Ctrl-C in the server's terminal
is the parent's business: SIGINT is ignored here and the parent closes the socket.
"""

import signal
import sys
import traceback
from multiprocessing.connection import Connection

# Renders the font-loading part of a real job once, before the first request arrives, so the
# first PDF costs a render, not a render plus loading Pango and the CJK fonts.
WARM_HTML = """<!doctype html><html lang="ja"><meta charset="utf-8">
<style>@page { size: A4; margin: 20mm; @bottom-right { content: counter(page) " / " counter(pages) } }
html { font-family: "Noto Sans CJK JP", sans-serif; font-size: 10pt }
.m { font-family: "Noto Sans Mono CJK JP", monospace } b { font-weight: bold }</style>
<h1>議事録 Minutes</h1><p>本日のゴール・宿題・さきどり <b>確認記録</b> 2026年11月26日(木)</p>
<p class="m">0123456789abcdef</p></html>"""


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(int(argv[1]))
    idle = float(argv[2]) if len(argv) > 2 else 0.0

    from weasyprint import HTML

    HTML(string=WARM_HTML).write_pdf()
    while True:
        try:
            if idle > 0 and not conn.poll(idle):
                return 0  # nobody printed for a while: give the memory back
            html, base_url = conn.recv()
        except (EOFError, OSError):
            return 0  # the parent closed its end or is gone
        try:
            reply = ("ok", HTML(string=html, base_url=base_url).write_pdf())
        except Exception:  # noqa: BLE001 - reported to the parent, which raises it there
            reply = ("error", traceback.format_exc())
        try:
            conn.send(reply)
        except OSError:
            return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
