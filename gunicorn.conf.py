"""gunicorn settings, read from the working directory by every `gunicorn app:app` started here
(`make serve`, bench/run.py). Command-line options still win.

Each worker has a PDF renderer process of its own (exports/renderer.py): WeasyPrint and the
CJK fonts live there, not in the worker. It is started as soon as the worker has loaded the
app, so that loading WeasyPrint and the fonts (seconds of CPU) is done before the first PDF is
asked for rather than during it; `SANMAI_PDF_WARM=0` starts it on the first PDF instead. When
the worker exits, its renderer is stopped with it.
"""

import os


def post_worker_init(worker):
    if os.environ.get("SANMAI_PDF_WARM", "1") != "0":
        from exports import renderer

        renderer.warm()


def worker_exit(server, worker):
    from exports import renderer

    renderer.shutdown()


# gunicorn's default access line, then the request id the app sends back (requestlog.py),
# so this log and the app's own name the same request.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s'
)
