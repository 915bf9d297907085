"""The table of the latest results in bench/README.md, made from bench/results/*.json.

    .venv/bin/python bench/readme_table.py [--results bench/results] [--readme bench/README.md]

Each results file is one database's last full run of `bench/run.py`. The table has one row
per measurement and, for each database, the p50 in process and over HTTP; a p50 over its
target is marked ✗. Below it, one line per run: when, which commit, the machine's load, the
gunicorn worker's peak memory and, for PostgreSQL, its in-process p50 over SQLite's measured
in turns with it. Only the text between the two markers in the README is rewritten.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- results:begin -->"
END = "<!-- results:end -->"
IN_PROCESS = "in process"
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
ORDER = ("sqlite", "postgresql")


def load(results_dir: Path) -> list[dict]:
    """The results files, SQLite first, then PostgreSQL, then any other by name (only the
    request benchmark's: redmine-import.json is another benchmark's)."""
    runs = [json.loads(path.read_text()) for path in sorted(results_dir.glob("*.json"))]
    runs = [run for run in runs if "database" in run and "measurements" in run]

    def rank(run: dict):
        db = run.get("database", "")
        return (ORDER.index(db) if db in ORDER else len(ORDER), db)

    return sorted(runs, key=rank)


def cell(measurement: dict | None) -> str:
    if measurement is None:
        return ""
    if measurement.get("status") != "ok" or measurement.get("p50_ms") is None:
        return measurement.get("status") or ""
    value = f"{measurement['p50_ms']:.1f}"
    return value + " ✗" if measurement.get("met") is False else value


def _target(value) -> str:
    return "" if value is None else f"{value:g}"


def table(runs: list[dict]) -> str:
    """The Markdown table and the notes under it."""
    names: list[str] = []
    targets: dict[str, float | None] = {}
    found: dict[tuple[str, str, bool], dict] = {}
    for run in runs:
        for m in run.get("measurements", []):
            if m["name"] not in names:
                names.append(m["name"])
            if targets.get(m["name"]) is None:
                targets[m["name"]] = m.get("target_ms")
            found[(run["database"], m["name"], m["where"] == IN_PROCESS)] = m
    header = ["measurement", "target ms"]
    for run in runs:
        db = NAMES.get(run["database"], run["database"])
        header += [f"{db} in process", f"{db} HTTP"]
    lines = [
        "p50 in ms; ✗: over the target. HTTP: gunicorn with 2 workers on the same machine.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    for name in names:
        row = [name.replace("|", "\\|"), _target(targets.get(name))]
        for run in runs:
            row.append(cell(found.get((run["database"], name, True))))
            row.append(cell(found.get((run["database"], name, False))))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    for run in runs:
        lines.append("- " + summary(run))
    return "\n".join(lines)


def summary(run: dict) -> str:
    db = NAMES.get(run["database"], run["database"])
    machine = run.get("machine", {})
    parts = [f"{db}: run {run.get('when', '?')}"]
    if machine.get("commit"):
        parts.append(f"commit {machine['commit']}")
    if machine.get("cores"):
        parts.append(f"{machine['cores']} cores")
    load = run.get("load_average_at_end")
    if load:
        parts.append(f"load average {load[0]} at the end")
    rss = run.get("worker_peak_rss_mb")
    if rss is not None:
        limit = run.get("worker_peak_rss_target_mb")
        over = " ✗" if limit is not None and rss > limit else ""
        parts.append(f"worker peak RSS {rss} MB{over} (target {_target(limit)} MB)")
    ratios = [r["ratio"] for r in run.get("ratio_paired", [])]
    if ratios:
        missed = sum(1 for r in run["ratio_paired"] if r.get("met") is False)
        parts.append(
            f"over SQLite in turns, in process: {min(ratios):.2f}–{max(ratios):.2f} "
            f"(target ≤ 2; {missed} over)"
        )
    return "; ".join(parts) + "."


def update(readme: str, generated: str) -> str:
    """`readme` with the text between the markers replaced by `generated`."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README needs {BEGIN} and then {END}")
    return readme[: start + len(BEGIN)] + "\n" + generated + "\n" + readme[end:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--readme", type=Path, default=ROOT / "bench" / "README.md")
    args = parser.parse_args(argv)
    runs = load(args.results)
    if not runs:
        print(f"no results in {args.results}", file=sys.stderr)
        return 1
    args.readme.write_text(update(args.readme.read_text(), table(runs)))
    print(f"{args.readme}: table of {len(runs)} run(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
