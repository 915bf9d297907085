"""`make bench-redmine-import`: time `flask redmine import` from the city-size Redmine database
(bench/redmine_data.py) into a fresh Sanmai database, twice: the first run brings everything,
the second finds nothing changed.

    .venv/bin/python bench/redmine_import.py [--redmine bench/data/redmine.sqlite3]
        [--database sqlite|postgresql|both] [--source db|rest [--servers N]]

The Sanmai database is made as an installation makes it (`flask db upgrade`, `flask setup`):
on SQLite the file bench/data/redmine-import.db; on PostgreSQL, with DATABASE_URL naming a
server, the database sanmai_redmine_import there (dropped and made again; BENCH_PG_DB
overrides the name). Each import runs as its own process under /usr/bin/time -v, which gives
its wall time and peak resident memory; the table of counts it prints is kept. The results
go to bench/results/redmine-import.json, one entry per database (a run for one keeps the
other's), with the machine's facts and the load average before and after each run.

`--source rest` instead times the REST path (`flask redmine import --url … --key …`) against
Redmine serving the same file, once, into a fresh SQLite database (bench/redmine_rest.py
says what is measured); its entry is `rest` → `<N>_process` in the same file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dataset.sink import postgres_url  # noqa: E402
from bench.redmine_data import DEFAULT_OUT  # noqa: E402
from bench.redmine_rest import redmine_servers, request_times, timed_import  # noqa: E402
from bench.report import machine_facts  # noqa: E402

FLASK = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app"]
RESULTS = ROOT / "bench" / "results" / "redmine-import.json"
SQLITE_FILE = ROOT / "bench" / "data" / "redmine-import.db"
TARGET = {"wall_s": 300, "peak_rss_mb": 1024}


def sanmai_database(kind: str, sqlite_file: Path = SQLITE_FILE) -> str:
    """A fresh, empty Sanmai database of `kind`; its URL."""
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_file}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{sqlite_file}"
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgresql"):
        raise SystemExit("PostgreSQL: set DATABASE_URL to a server, e.g. "
                         "postgresql+psycopg://postgres@127.0.0.1:55432/postgres")  # fmt: skip
    return postgres_url(server, os.environ.get("BENCH_PG_DB", "sanmai_redmine_import"))


def flask(args: list[str], env: dict, timed: bool = False) -> subprocess.CompletedProcess:
    command = (["/usr/bin/time", "-v"] if timed else []) + FLASK + args
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)


def measured(done: subprocess.CompletedProcess) -> dict:
    """Wall time, CPU time, peak memory (/usr/bin/time -v) and the counts of one import."""

    def field(label: str) -> str:
        found = re.search(rf"^\s*{re.escape(label)}: (.+)$", done.stderr, re.MULTILINE)
        return found.group(1).strip() if found else ""

    wall = 0.0
    for part in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":"):
        wall = wall * 60 + float(part)
    counts = {}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[1].isdigit():  # a kind's row of the end table
            counts[parts[0]] = dict(zip(("read", "created", "updated", "skipped"),
                                        map(int, parts[1:]), strict=True))  # fmt: skip
    return {
        "exit_status": done.returncode,
        "wall_s": round(wall, 1),
        "cpu_s": round(
            float(field("User time (seconds)") or 0) + float(field("System time (seconds)") or 0), 1
        ),  # fmt: skip
        "peak_rss_mb": round(int(field("Maximum resident set size (kbytes)") or 0) / 1024, 1),
        "counts": counts,
        "skipped_because": [
            line.strip() for line in done.stdout.splitlines() if line.startswith("  ")
        ],  # fmt: skip
    }


def installed(url: str) -> dict:
    """Make the database at `url` as an installation does (`flask db upgrade`, `flask setup`);
    the environment of flask commands on it."""
    instance = tempfile.mkdtemp(prefix="sanmai-redmine-import-")
    env = dict(os.environ, DATABASE_URL=url, SANMAI_INSTANCE_DIR=instance)
    for step in (["db", "upgrade"], ["setup"]):
        done = flask(step, env)
        if done.returncode:
            raise SystemExit(f"flask {' '.join(step)} failed:\n{done.stderr[-2000:]}")
    return env


def run_one(kind: str, redmine: Path) -> dict:
    url = sanmai_database(kind)
    env = installed(url)
    result = {"sanmai_database": url.split("@")[-1]}
    for run in ("first", "second"):
        print(f"{kind}: {run} import …", flush=True)
        load_before = os.getloadavg()
        done = flask(["redmine", "import", "--db", f"sqlite:///{redmine}"], env, timed=True)
        if done.returncode:
            print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        result[run] = measured(done) | {
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
        r = result[run]
        print(f"  {r['wall_s']} s wall, {r['cpu_s']} s CPU, {r['peak_rss_mb']} MB peak, "
              f"exit {r['exit_status']}", flush=True)  # fmt: skip
    if kind == "sqlite":
        result["sanmai_bytes"] = SQLITE_FILE.stat().st_size
    return result


def run_rest(redmine: Path, manifest: dict, servers: int) -> dict:
    """One import through Redmine's REST API (bench/redmine_rest.py) into a fresh Sanmai
    SQLite database, with Redmine serving `redmine` from `servers` processes."""
    url = sanmai_database("sqlite")
    instance = tempfile.mkdtemp(prefix="sanmai-redmine-rest-")
    env = dict(os.environ, DATABASE_URL=url, SANMAI_INSTANCE_DIR=instance)
    for step in (["db", "upgrade"], ["setup"]):
        done = flask(step, env)
        if done.returncode:
            raise SystemExit(f"flask {' '.join(step)} failed:\n{done.stderr[-2000:]}")
    with redmine_servers(redmine, servers, SQLITE_FILE.parent) as served:
        print(f"rest: {servers} Redmine process(es) at {served.url}; import …", flush=True)
        command = ["/usr/bin/time", "-v", *FLASK, "redmine", "import", "--url", served.url,
                   "--key", manifest["admin_key"]]  # fmt: skip
        timed = timed_import(command, env, served, ROOT)
        logs = served.logs
    done = subprocess.CompletedProcess(command, process_status(timed), timed.pop("stdout"),
                                       timed.pop("stderr"))  # fmt: skip
    if done.returncode:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
    result = measured(done) | timed
    result["issues_per_s"] = round(result["issues_fetched"] / result["wall_s"], 1)
    result["redmine_processes"] = servers
    result["redmine_requests"] = request_times(logs)
    print(f"  {result['issues_fetched']} issues fetched at {result['fetch_rate_per_s']}/s; "
          f"{result['wall_s']} s wall in all ({result['issues_per_s']} issues/s), import "
          f"{result['cpu_s']} s CPU, Redmine {result['redmine_cpu_s']} s CPU, exit "
          f"{result['exit_status']}", flush=True)  # fmt: skip
    return result


def process_status(timed: dict) -> int:
    found = re.search(r"Exit status: (\d+)", timed["stderr"])
    return int(found.group(1)) if found else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redmine", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument(
        "--source",
        choices=("db", "rest"),
        default="db",
        help="rest: through a running Redmine's REST API (SQLite only)",
    )
    parser.add_argument("--servers", type=int, default=1,
                        help="with --source rest: Redmine processes (more than one: behind "
                             "nginx)")  # fmt: skip
    args = parser.parse_args(argv)
    redmine = args.redmine.resolve()
    manifest_path = Path(f"{redmine}.json")
    if not redmine.exists() or not manifest_path.exists():
        parser.error(f"no Redmine data at {redmine}: make bench-redmine-data first")
    manifest = json.loads(manifest_path.read_text())
    kinds = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.source == "rest":
        entry = run_rest(redmine, manifest, args.servers)
        entry["when"] = datetime.now(UTC).isoformat(timespec="seconds")
        entry["machine"] = machine_facts("")
        entry["redmine_data"] = {key: manifest[key] for key in ("redmine", "seed", "scale",
                                                                "counts")}  # fmt: skip
        # one entry per count of Redmine processes; the --db results are kept as they are
        results.setdefault("rest", {})[f"{args.servers}_process"] = entry
        kinds = ()
    for kind in kinds:
        entry = run_one(kind, redmine)
        entry["when"] = datetime.now(UTC).isoformat(timespec="seconds")
        entry["machine"] = machine_facts(os.environ.get("DATABASE_URL", "") if kind ==
                                         "postgresql" else "")  # fmt: skip
        results[kind] = entry
    if kinds:
        results["redmine"] = {key: manifest[key] for key in ("redmine", "seed", "scale",
                                                             "counts")}  # fmt: skip
        results["target"] = TARGET
    else:
        results["rest"]["target"] = {"issues_per_s": 20}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    print(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
