"""`make bench-redmine-data`: a real Redmine 5 database (SQLite) of a city's size, for
measuring `flask redmine import` and for setting Sanmai beside Redmine itself.

    .venv/bin/python bench/redmine_data.py [--out bench/data/redmine.sqlite3]
        [--issues 100000] [--journals 500000] [--units 40] [--users 300] [--seed 1] [--check]

The schema and the default data are Redmine's own: Debian's Redmine 5 (/usr/share/redmine,
REDMINE_ROOT overrides) migrates an empty file and loads its Japanese default data (trackers,
statuses, roles, priorities, workflows) by its rake tasks, with DATABASE_URL pointing at that
file, so the instance in /etc/redmine is left alone. That empty database is made once per
Redmine version and kept in the output's directory (redmine-<version>-ja-template.sqlite3).
Each run copies it and fills it straight with sqlite3's executemany: what the rows are is in
bench/redmine_rows.py (people, projects, reference data) and bench/redmine_issues.py (issues
and journals). The file appears under its name only when complete; a manifest beside it
(<out>.json) holds the counts, the admin's password and API key, and an issue to look at.

--check starts Redmine on the new file and asks it for /issues.json?limit=100, /projects.json
and one issue with its journals, comparing with what was written (the manifest gets the
answers' times).

Same seed and scale, same rows: the data's "now" is fixed (redmine_rows.ANCHOR).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.redmine_issues import Issues  # noqa: E402
from bench.redmine_rows import City, Scale  # noqa: E402
from bench.redmine_server import (  # noqa: E402
    REDMINE_ROOT,
    RedmineError,
    RedmineServer,
    rake,
    redmine_version,
)

DEFAULT_OUT = ROOT / "bench" / "data" / "redmine.sqlite3"
SEED = 1
# Written in this order: a row's references are written before it.
TABLES = ("users", "email_addresses", "groups_users", "projects", "projects_trackers",
          "enabled_modules", "members", "member_roles", "issues", "journals",
          "journal_details", "watchers", "issue_relations")  # fmt: skip


class CityRedmine(City, Issues):
    """All of the city's rows (City: people and projects; Issues: issues and history)."""

    def build(self) -> None:
        self.reference()
        self.people()
        self.projects()
        self.memberships()
        self.issues()
        self.journals()
        self.issue_rows()


def template(directory: Path, root: Path = REDMINE_ROOT) -> Path:
    """The empty database of this Redmine version with its Japanese default data, made by
    Redmine's own rake tasks the first time it is asked for."""
    version = redmine_version(root)
    path = directory / f"redmine-{version}-ja-template.sqlite3"
    if path.exists():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    work = path.with_suffix(".making")
    log = path.with_suffix(".log")
    work.unlink(missing_ok=True)
    log.unlink(missing_ok=True)
    print(f"Redmine {version}: migrating an empty database and loading its Japanese default "
          f"data (log {log})", flush=True)  # fmt: skip
    rake(work, "db:migrate", log, root)
    rake(work, "redmine:load_default_data", log, root, REDMINE_LANG="ja")
    os.replace(work, path)
    return path


def generate(out: Path, scale: Scale, seed: int, log=print) -> dict:
    """Make the database `out` and its manifest; the manifest."""
    started = time.perf_counter()
    source = template(out.parent)
    work = out.with_name(out.name + ".making")
    shutil.copyfile(source, work)
    try:
        city, counts = _fill(work, scale, seed, lambda step: log(
            f"  {time.perf_counter() - started:6.1f} s  {step}"))  # fmt: skip
        os.replace(work, out)
    finally:
        work.unlink(missing_ok=True)  # a failed run leaves no half-made file
    elapsed = time.perf_counter() - started
    log(f"  {elapsed:6.1f} s  rows written")
    manifest = city.manifest | {
        "redmine": redmine_version(),
        "scale": vars(scale),
        "counts": counts,
        "sample_issue": _sample_issue(city),
        "seconds": round(elapsed, 1),
        "bytes": out.stat().st_size,
    }
    Path(str(out) + ".json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    return manifest


def _fill(path: Path, scale: Scale, seed: int, log) -> tuple[CityRedmine, dict[str, int]]:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = OFF")  # a failed run is thrown away whole
        conn.execute("PRAGMA synchronous = OFF")
        city = CityRedmine(conn, scale, seed)
        city.build()
        log("rows made")
        counts = {}
        for table in TABLES:
            columns, rows = city.tables[table]
            marks = ", ".join("?" * len(columns))
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            counts[table] = len(rows)
        conn.commit()
    finally:
        conn.close()
    return city, counts


def _sample_issue(city: CityRedmine) -> int:
    """An issue worth looking at: a parent with several journals, some of them changes."""
    changed = {row[1] for row in city.tables["journal_details"][1]}
    with_changes = {row[1] for row in city.tables["journals"][1] if row[0] in changed}
    for issue in city.issue_list:
        if issue.children and issue.journals >= 4 and issue.id in with_changes:
            return issue.id
    return city.issue_list[0].id


def check(out: Path, manifest: dict) -> dict:
    """Ask Redmine itself for the data; {what: seconds}. Raises RedmineError on a wrong answer."""
    key, counts, times = manifest["admin_key"], manifest["counts"], {}
    with RedmineServer(out) as redmine:

        def fetch(path):
            status, seconds, body = redmine.get(path, key)
            if status != 200:
                raise RedmineError(f"Redmine answered {status} to {path}; see {redmine.log}")
            times[path] = round(seconds, 3)
            return json.loads(body)

        listed = fetch("/issues.json?limit=100&status_id=*")
        # closed projects too (the list shows active ones unless asked)
        projects = fetch("/projects.json?limit=100&set_filter=1&f[]=status&op[status]=*")
        issue_id = manifest["sample_issue"]
        issue = fetch(f"/issues/{issue_id}.json?include=journals,children,relations,watchers")
    expected = (counts["issues"], counts["projects"])
    if (listed["total_count"], projects["total_count"]) != expected:
        raise RedmineError(
            f"Redmine lists {listed['total_count']} issues and {projects['total_count']} "
            f"projects; {expected[0]} and {expected[1]} were written"
        )
    journals = issue["issue"].get("journals", [])
    if not journals or not any(j["details"] for j in journals):
        raise RedmineError(f"issue {issue_id} came back without its journals and details")
    print(f"Redmine serves it: {listed['total_count']} issues, {projects['total_count']} "
          f"projects; issue #{issue_id} with {len(journals)} journals")  # fmt: skip
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    defaults = Scale()
    for name in ("issues", "journals", "units", "users"):
        parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check", action="store_true", help="start Redmine on it and ask")
    args = parser.parse_args(argv)
    scale = Scale(args.issues, args.journals, args.units, args.users)
    if min(vars(scale).values()) < 1 or scale.users < 20:
        parser.error("the counts must be positive, and --users at least 20")
    if scale.journals < scale.issues:
        parser.error("--journals must be at least --issues (an issue past 新規 has a journal)")
    out = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"Redmine data → {out}", flush=True)
    try:
        manifest = generate(out, scale, args.seed)
        if args.check:
            manifest["redmine_answers_s"] = check(out, manifest)
            Path(str(out) + ".json").write_text(
                json.dumps(manifest, ensure_ascii=False, indent=1) + "\n"
            )
    except RedmineError as error:
        print(f"redmine_data: {error}", file=sys.stderr)
        return 2
    total = sum(manifest["counts"].values())
    print(f"done: {total:,} rows in {manifest['seconds']:.0f} s, "
          f"{manifest['bytes'] / 1e6:.0f} MB; manifest {out}.json")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
