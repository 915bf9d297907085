"""gunicorn settings, read from the working directory by every `gunicorn app:app` started here
(`make serve`, bench/run.py). Command-line options still win.

Each worker is threaded (`gthread`, 4 threads) and keeps connections alive between requests.

The app is loaded once in the master before the workers are forked (`preload_app`), with what
its first requests would build in each worker (app.load_before_fork: mappers, templates,
locales), so the workers share those pages instead of holding a copy each. The objects loaded
are then moved out of the garbage collector's sight (gc.freeze), which would otherwise write to
every one of them in each worker and so copy their pages.

The PDF renderer (exports/renderer.py) is one per server, shared by the workers: the master
owns it, no process starts it until a PDF is asked for, and it exits after
SANMAI_PDF_IDLE_SECONDS (300) without a job, so a server at rest holds no WeasyPrint. By
default (`SANMAI_PDF_WARM=page`) a page with a PDF link starts it, so that loading WeasyPrint
and the fonts is done before the link is followed; `SANMAI_PDF_WARM=1` also starts it as the
workers start, `0` only for a PDF. It exits with the master.
"""

import gc
import os

from flask import Flask

preload_app = True
# Threaded workers keep a client's connection open between its requests (sync workers close
# each one); measured beside sync on the same data they answer at least as fast one client
# at a time, and more requests per second with four clients.
worker_class = "gthread"
threads = 4


def on_starting(server):
    from exports import renderer

    renderer.own()


def when_ready(server):
    wsgi = server.app.wsgi() if server.cfg.preload_app else None
    if isinstance(wsgi, Flask):  # Sanmai's app (a test may serve another)
        from app import load_before_fork

        load_before_fork(wsgi)
    gc.collect()
    gc.freeze()


def post_worker_init(worker):
    if os.environ.get("SANMAI_PDF_WARM", "0") == "1":
        from exports import renderer

        renderer.warm()


def on_exit(server):
    from exports import renderer

    renderer.shutdown()


# gunicorn's default access line, then the request id the app sends back (requestlog.py),
# so this log and the app's own name the same request.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
)
