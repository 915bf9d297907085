"""CSV that Japanese Excel opens correctly: UTF-8 with a BOM, CRLF line ends, and cells that
Excel would run as a formula (starting with = + - @, their full-width forms ＝ ＋ － ＠, or
tab / CR) neutralised with a quote."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from flask import Response, stream_with_context

BOM = "\ufeff"
# Japanese Excel reads a cell typed with the IME's full-width sign as the ASCII one.
FORMULA_START = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20", "\t", "\r")


def neutralise(value) -> str | int:
    """A cell as text; numbers stay numbers, text that would start a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _line(row: Iterable) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([neutralise(v) for v in row])
    return buffer.getvalue()


def lines(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    yield BOM + _line(header)
    for row in rows:
        yield _line(row)


def to_bytes(header: list[str], rows: Iterable[Iterable]) -> bytes:
    return "".join(lines(header, rows)).encode("utf-8")


def response(filename: str, header: list[str], rows: Iterable[Iterable]) -> Response:
    """Streamed, so a long ticket list is not built in memory first."""
    body = (chunk.encode("utf-8") for chunk in lines(header, rows))
    resp = Response(stream_with_context(body), mimetype="text/csv")
    resp.headers["Content-Type"] = "text/csv; charset=utf-8"
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "private, no-cache"
    return resp
