"""`make bench`: time the requests people make most, on the city-scale data set.

    .venv/bin/python bench/run.py [--only NAME] [--samples N] [--rounds N] [--no-http]
                                  [--no-pair] [--profile NAME] [--explain NAME]

Works on a copy of the data `make bench-data` made (bench/data/bench.db; on PostgreSQL with
DATABASE_URL, a database cloned from `sanmai_bench`), so every run starts from the same data.
Each measurement is one entry of MEASUREMENTS: its name, a URL builder (given the data set's
manifest), its target and who asks. It is timed in process through the Flask
test client and over HTTP against a real gunicorn with 2 workers (started and stopped here,
on 127.0.0.1 only). A route that does not exist yet is reported as "not available".

In process, each measurement's samples are taken in three rounds over all of them (--rounds),
so that a minute in which this shared machine runs slow weighs on every measurement a little
rather than on one of them wholly.

On PostgreSQL, SQLite is measured in process beside it, in turns (run_paired), for the
ratio of the two; the ratio over HTTP compares with the last SQLite run's file.

Prints a table and writes bench/results/<sqlite|postgresql>.json with the machine's facts.

This file is the entry point; the harness is bench/harness.py (data copy, in-process app,
timing, processes) and bench/servers.py (gunicorn and its HTTP client), the scenarios and how
each is taken bench/measurements.py, the table and the results file bench/report.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import readme_table  # noqa: E402
from bench.harness import (  # noqa: E402
    DATA,
    InProcess,
    Result,
    ensure_data,
    inproc_renderer_peak_mb,
    prepare_copy,
)
from bench.measurements import (  # noqa: E402
    MEASUREMENTS,
    PairedSqlite,
    explain,
    merge_into,
    profile,
    run_in_process,
    run_over_http,
    run_paired,
)
from bench.report import (  # noqa: E402
    print_table,
    progress,
    write_results,
)
from bench.servers import (  # noqa: E402
    Gunicorn,
    Http,
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Sanmai benchmark")
    parser.add_argument(
        "--only",
        help="run only measurements whose name contains this (comma-separated: any of them)",
    )
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--no-http", action="store_true", help="in process only")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="in process: take each measurement's samples in this many passes over them all",
    )
    parser.add_argument(
        "--no-pair",
        action="store_true",
        help="PostgreSQL: do not measure SQLite beside it in process (see run_paired)",
    )
    parser.add_argument("--profile", help="profile one measurement (in process) and stop")
    parser.add_argument("--explain", help="one measurement's SQL, slowest first, with plans")
    args = parser.parse_args(argv)

    pg = os.environ.get("DATABASE_URL", "")
    pg = pg if pg.startswith("postgres") else None
    ensure_data(pg)
    url, manifest = prepare_copy(pg)
    instance = Path(tempfile.mkdtemp(prefix="sanmai-bench-"))
    d = {**manifest}
    for role in ("manager", "member", "admin"):
        d[role] = manifest[role]
    wanted = [part for part in (args.only or "").split(",") if part]
    chosen = [m for m in MEASUREMENTS if not wanted or any(part in m.name for part in wanted)]

    # The PDF renderers are warmed (gunicorn.conf.py) only when a PDF is measured, unless
    # SANMAI_PDF_WARM=0 (then the first PDF of each process starts its renderer).
    warm_pdf = any(m.name.startswith("PDF") for m in chosen)
    warm_pdf = warm_pdf and os.environ.get("SANMAI_PDF_WARM", "1") != "0"
    inproc = InProcess(url, instance / "inproc", warm_pdf)
    if args.profile or args.explain:
        m = next(m for m in MEASUREMENTS if (args.profile or args.explain) in m.name)
        (profile if args.profile else explain)(inproc, m, d)
        return 0
    print(
        f"in process ({'PostgreSQL' if pg else 'SQLite'}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores) …",
        flush=True,
    )
    lite = None
    if pg and not args.no_pair:
        if Path(os.environ.get("BENCH_DB", DATA / "bench.db")).exists():
            print("  with SQLite beside it, in turns (--no-pair: without)", flush=True)
            lite = PairedSqlite()
        else:
            print("  no SQLite bench data: the ratio comes from bench/results/sqlite.json")
    mine: dict[str, Result] = {}
    theirs: dict[str, Result] = {}
    rounds = max(1, min(args.rounds, args.samples))
    share = -(-args.samples // rounds)
    try:
        for turn in range(rounds):
            if rounds > 1:
                print(f" round {turn + 1} of {rounds}", flush=True)
            for m in chosen:
                if m.kind in ("pdf_cold", "signoff") and turn:
                    continue  # each cold PDF needs a meeting not yet rendered: all in round 1
                n = args.samples if m.kind == "pdf_cold" else share
                both = run_paired(inproc, lite, m, d, n) if lite else None
                if both:
                    merge_into(mine, both[0])
                    merge_into(theirs, both[1])
                else:
                    merge_into(mine, run_in_process(inproc, m, d, n))
                progress(mine[m.name])
    finally:
        if lite:
            lite.stop()
    results, paired = list(mine.values()), list(theirs.values())
    peaks, renderer_peaks = {}, {}
    renderer_inproc = inproc_renderer_peak_mb()
    if not args.no_http:
        with inproc.app.app_context():
            from accounts.models import User

            tokens = dict(inproc.db.session.execute(sa.select(User.login, User.api_token)).all())
            inproc.db.session.remove()
        print("over HTTP (gunicorn, 2 workers) …", flush=True)
        server = Gunicorn(url, instance / "http", warm_pdf)
        try:
            http = Http(server, manifest, tokens)
            for m in chosen:
                results.append(run_over_http(http, inproc.app, m, d, args.samples))
                progress(results[-1])
            peaks = server.peak_rss_mb()
            renderer_peaks = server.renderer_peak_rss_mb()
        finally:
            server.stop()
    results.sort(key=lambda r: ([m.name for m in chosen].index(r.name), r.where != "in process"))
    print()
    print_table(results)
    peak = max(peaks.values()) if peaks else None
    if peak is not None:
        print(f"\npeak RSS of a gunicorn worker: {peak:.0f} MB (target ≤ 250 MB)")
    renderer_peak = max(renderer_peaks.values()) if renderer_peaks else None
    if renderer_peak is not None or renderer_inproc is not None:
        print(
            "peak RSS of a PDF renderer process (the server's own process, not counted above): "
            + ", ".join(
                f"{where} {mb:.0f} MB"
                for where, mb in (("gunicorn", renderer_peak), ("in process", renderer_inproc))
                if mb is not None
            )
        )
    shutil.rmtree(instance, ignore_errors=True)

    write_results(
        results,
        paired,
        url=url,
        manifest=manifest,
        dialect="postgresql" if pg else "sqlite",
        peak=peak,
        renderer_peak=renderer_peak,
        renderer_inproc=renderer_inproc,
        partial=bool(args.only),
    )
    if not args.only:  # a full run: the README's table of latest results follows it
        readme_table.main([])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
