"""A request id on every request and, with SANMAI_LOG_FORMAT=json, the app's log as JSON lines.

The id comes from the proxy's `X-Request-Id` when it sends a sane one (nginx: `$request_id`),
otherwise it is made here; it goes back in the response's `X-Request-Id` header, so a person
reporting a problem, the proxy's log and this log all name the same request. In JSON mode
every record made during a request carries the id, and each request adds one line with its
method, path, status, duration and user. With SANMAI_SERVER_ID set, every answer names the
server that made it in `X-Served-By` (which server of several answered a request).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from flask_login import current_user
from pythonjsonlogger.json import JsonFormatter

HEADER = "X-Request-Id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id()
        return True


def init_app(app: Flask) -> None:
    log_format = app.config.get("SANMAI_LOG_FORMAT", "text")
    if log_format not in ("text", "json"):
        raise RuntimeError(f"SANMAI_LOG_FORMAT must be text or json, not {log_format!r}")
    as_json = log_format == "json"
    if as_json:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{request_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
        handler.addFilter(_RequestIdFilter())
        app.logger.handlers[:] = [handler]
        app.logger.setLevel(logging.INFO)
        app.logger.propagate = False

    served_by = app.config.get("SANMAI_SERVER_ID", "")

    @app.before_request
    def _start():
        incoming = request.headers.get(HEADER, "")
        g.request_id = incoming if _SANE.fullmatch(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        if "request_id" not in g:  # a request refused before the app's hooks ran
            return response
        response.headers[HEADER] = g.request_id
        if served_by:
            response.headers["X-Served-By"] = served_by
        if as_json:
            user = current_user if current_user and current_user.is_authenticated else None
            app.logger.info(
                "request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
                    "user_id": user.id if user else None,
                    "remote_addr": request.remote_addr,
                },
            )
        return response
