"""The bench's report: the machine's facts, the printed table and progress, the ratio of
PostgreSQL to SQLite, and bench/results/<database>.json."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from importlib import metadata as pkg_metadata
from pathlib import Path

import sqlalchemy as sa

from bench.harness import (
    DATA,
    RESULTS,
    ROOT,
    Result,
)
from bench.measurements import PAIRED_WHERE


def machine_facts(url: str) -> dict:
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    versions = {}
    for pkg in ("flask", "sqlalchemy", "werkzeug", "jinja2", "gunicorn", "weasyprint", "psycopg"):
        with contextlib.suppress(pkg_metadata.PackageNotFoundError):
            versions[pkg] = pkg_metadata.version(pkg)
    facts = {
        "cores": os.cpu_count(),
        "memory_mb": mem_kb // 1024,
        "cpu": cpu,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
    }
    if url.startswith("postgresql"):
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            facts["postgresql"] = conn.execute(sa.text("SHOW server_version")).scalar()
        engine.dispose()
    with contextlib.suppress(OSError):
        facts["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
    return facts


def pad(text: str, width: int) -> str:
    """Left-justify for a terminal, counting East Asian wide characters as two columns."""
    import unicodedata

    cols = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - cols)


def fmt(value, width=8, digits=1) -> str:
    return f"{'—':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def print_table(results: list[Result]) -> None:
    head = (
        f"{'measurement':<36} {'where':<8} {'p50 ms':>8} {'p95 ms':>8} {'cpu ms':>8} "
        f"{'req/s':>7} {'SQL':>4} {'target':>7}  result"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        where = "process" if r.where == "in process" else "http"
        target = "" if r.target_ms is None else f"{r.target_ms:g}"
        verdict = r.status if r.status != "ok" else {True: "met", False: "MISSED", None: ""}[r.met]
        queries = "" if r.queries is None else str(r.queries)
        cpu = sorted(r.cpu_ms)[len(r.cpu_ms) // 2] if r.cpu_ms else None
        print(
            f"{pad(r.name, 36)} {where:<8} {fmt(r.p(0.5))} {fmt(r.p(0.95))} {fmt(cpu)} "
            f"{fmt(r.rps, 7, 0)} {queries:>4} {target:>7}  {verdict}"
            + (f"  ({r.note})" if r.note and r.status != "not available" else "")
        )


def progress(r: Result) -> None:
    p50 = r.p(0.5)
    print(
        f"  {r.name}: {r.status}" + (f", p50 {p50:.1f} ms" if p50 is not None else ""), flush=True
    )


def compare(
    pg: dict,
    lite: dict,
    where: dict[str, str] | None = None,
    title: str = "SQLite from bench/results/sqlite.json",
) -> list[dict]:
    """PostgreSQL's p50 over SQLite's, per measurement and place (the target: within twice);
    printed as a table and kept in postgresql.json. `where` maps PostgreSQL's places to
    SQLite's (only those places are compared); by default each to itself."""
    ours = {(m["name"], m["where"]): m for m in lite["measurements"] if m.get("p50_ms")}
    rows = []
    for m in pg["measurements"]:
        if where is not None and m["where"] not in where:
            continue
        other = ours.get((m["name"], (where or {}).get(m["where"], m["where"])))
        if not m.get("p50_ms") or other is None:
            continue
        ratio = m["p50_ms"] / other["p50_ms"]
        rows.append(
            {
                "name": m["name"],
                "where": m["where"],
                "sqlite_p50_ms": other["p50_ms"],
                "postgresql_p50_ms": m["p50_ms"],
                "ratio": round(ratio, 2),
                "met": ratio <= 2,
            }
        )
    print(f"\nPostgreSQL / SQLite, p50 (target ≤ 2; {title}):")
    for r in rows:
        print(
            f"{r['name'][:36]:<36} {r['where']:<20} {r['sqlite_p50_ms']:>8.1f} "
            f"{r['postgresql_p50_ms']:>8.1f} {r['ratio']:>6.2f}  {'met' if r['met'] else 'MISSED'}"
        )
    return rows


def write_results(
    results: list[Result],
    paired: list[Result],
    *,
    url: str,
    manifest: dict,
    dialect: str,
    peak: float | None,
    renderer_peak: float | None,
    renderer_inproc: float | None,
    partial: bool,
) -> None:
    """bench/results/<dialect>.json (a partial run's beside the data, not over the results):
    the machine, the data set, the measurements, and PostgreSQL's ratios to SQLite."""
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": dialect,
        "machine": machine_facts(url),
        "data": {k: manifest.get(k) for k in ("seed", "anchor", "counts", "seconds", "bytes")},
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "worker_peak_rss_mb": None if peak is None else round(peak, 1),
        "worker_peak_rss_target_mb": 250,
        # The PDF renderer process (exports/renderer.py) is not a worker: its memory is
        # reported here on its own.
        "renderer_peak_rss_mb": {
            "gunicorn": None if renderer_peak is None else round(renderer_peak, 1),
            "in_process": None if renderer_inproc is None else round(renderer_inproc, 1),
        },
        "measurements": [r.as_json() for r in results],
    }
    if dialect == "postgresql" and (RESULTS / "sqlite.json").exists():
        report["ratio_to_sqlite"] = compare(
            report, json.loads((RESULTS / "sqlite.json").read_text())
        )
    if paired:
        report["paired_sqlite"] = [r.as_json() for r in paired]
        report["ratio_paired"] = compare(
            report,
            {"measurements": report["paired_sqlite"]},
            where={"in process": PAIRED_WHERE},
            title="in process, SQLite measured in turns with it (the target: within twice)",
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{dialect}.json" if not partial else DATA / f"results-{dialect}-partial.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n")
    print(f"written {out.relative_to(ROOT)}")
