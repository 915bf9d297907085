"""`make bench-data`: a deterministic city-scale data set for the benchmark.

    .venv/bin/python bench/generate.py [--out bench/data/bench.db] [--seed N]

SQLite by default (a file of its own, never the app's database); with DATABASE_URL set to a
PostgreSQL server it (re)creates the database `sanmai_bench` there (BENCH_PG_DB overrides).
The schema comes from the migrations (flask_migrate.upgrade) and the reference data from
tickets.defaults.ensure_defaults(); everything else is bulk-inserted (executemany on SQLite,
COPY on PostgreSQL) with ids chosen here, so the same seed gives the same bytes.

Scale: 3 cities, the council and 2 vendors; 5 fiscal years (FY2022–FY2026) with 40
business units each; 300 users with memberships; 20,000 meetings (plus one 50-attendee
sign-off meeting) with attendees and the three sheets (~12 items; the last past meeting of
every FY2026 unit has 40); 100,000 tickets in every tracker and status with parents and
children (homework items are backed by tickets); 500,000 journal entries with details;
5,000 confirmations with their revisions. "Now" for the data is ANCHOR (fixed, so the bytes
do not depend on the day it is made). A manifest (<db>.json) names the objects the benchmark
uses (the manager who sees every unit, the 40-item meeting, the sign-off meeting …).

This file is the entry point and the Builder that runs the steps in order; the steps are in
bench/dataset/: people.py, meetings.py (with revisions and confirmations), tickets.py
(with journals); sink.py writes the rows and sets the database up, scale.py holds the counts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.dataset.meetings import Meetings  # noqa: E402
from bench.dataset.people import People  # noqa: E402
from bench.dataset.scale import (  # noqa: E402
    ANCHOR,
    PASSWORD,
    SEED,
)
from bench.dataset.sink import (  # noqa: E402
    Sink,
    drop_search_and_indexes,
    finish,
    postgres_url,
    prepare,
)
from bench.dataset.tickets import Tickets  # noqa: E402
from bench.vocab import Text  # noqa: E402


class Builder(People, Meetings, Tickets):
    def __init__(self, sink: Sink, seed: int):
        self.sink = sink
        self.rng = random.Random(seed)
        self.text = Text(self.rng)
        self.manifest: dict = {"seed": seed, "anchor": ANCHOR.isoformat(), "password": PASSWORD}

    # -- the whole thing ---------------------------------------------------------------------

    def run(self, log):
        s = self.sink
        self.reference()
        self.organisations_and_users()
        self.projects()
        self.memberships()
        log("people and projects")
        self.meeting_plan()
        for m in self.meetings:
            m["title"] = (
                "【ベンチ】50人で確認する会議" if m.get("signoff")
                else self.text.meeting_title(m["unit"]["name"], m["n"])
            )  # fmt: skip
        self.sheets()
        log("sheets planned")
        self.tickets()
        self.journals()
        log("tickets and journals planned")
        self.confirmations()
        meeting_rows = [
            (m["id"], m["unit"]["id"], m["title"], m["starts"], m["starts"] + timedelta(hours=1),
             m["place"], m["facilitator"], m["status"], None, m["seq"], 1, m["facilitator"],
             m["starts"] - timedelta(days=3), m["starts"] + timedelta(hours=1))
            for m in self.meetings
        ]  # fmt: skip
        s.insert("meetings", ["id", "unit_id", "title", "starts_at", "ends_at", "place",
                              "facilitator_id", "status", "previous_id", "change_seq", "version",
                              "created_by_id", "created_at", "updated_at"], meeting_rows)  # fmt: skip
        s.insert("attendees", ["id", "meeting_id", "user_id", "guest_name", "guest_organisation",
                               "guest_email", "present", "position"], self.att_rows)  # fmt: skip
        s.insert("tickets", ["id", "project_id", "tracker_id", "status_id", "priority_id",
                             "subject", "description", "assignee_id", "guest_name", "start_date",
                             "due_date", "done_ratio", "parent_id", "author_id", "decision",
                             "created_at", "updated_at", "closed_at", "version"],
                 self.ticket_rows())  # fmt: skip
        log("meetings, attendees, tickets written")
        s.insert("items", ["id", "meeting_id", "kind", "position", "text", "parent_item_id",
                           "origin_item_id", "ticket_id", "not_discussed", "superseded_by_id",
                           "created_by_id", "created_at", "updated_at", "deleted_at", "version"],
                 self.item_rows)  # fmt: skip
        s.insert("item_events", ["id", "meeting_id", "item_id", "seq", "actor_id", "action",
                                 "before", "after", "at"], self.event_rows)  # fmt: skip
        log("items and events written")
        s.insert("journals", ["id", "ticket_id", "user_id", "notes", "private_notes", "created_at"],
                 self.journal_rows)  # fmt: skip
        s.insert("journal_details", ["id", "journal_id", "property", "name", "old_value",
                                     "new_value"], self.detail_rows)  # fmt: skip
        log("journals written")
        s.insert("revisions", ["id", "meeting_id", "number", "content", "fingerprint",
                               "frozen_at", "frozen_by_id"], self.rev_rows)  # fmt: skip
        s.insert("confirmations", ["id", "revision_id", "attendee_id", "user_id", "name",
                                   "organisation", "method", "recorded_by_id", "fingerprint",
                                   "objection", "at"], self.conf_rows)  # fmt: skip
        self.write_manifest()

    def write_manifest(self):
        big = [m for m in self.meetings if m.get("big")]
        big.sort(key=lambda m: m["starts"], reverse=True)
        forty = big[0]
        signoff = self.signoff
        signers = [self.user_by_id[a["user"]]["login"] for a in signoff["attendees"]]
        unit = forty["unit"]
        self.manifest.update(
            counts=dict(self.sink.counts),
            manager="maebashi001",
            admin="maebashi002",
            member=self.user_by_id[forty["facilitator"]]["login"],
            meeting_40=forty["id"],
            meetings_40=[m["id"] for m in big],  # all confirmed: cold PDF renders
            meeting_40_seq=forty["seq"],
            meeting_40_unit=unit["id"],
            signoff_meeting=signoff["id"],
            signoff_revision=self.signoff_revision,
            signoff_users=signers,
            tracker_id=self.trackers[1],
            status_id=self.open_status_ids[2],
            project=unit["root"]["id"],
            unit=unit["id"],
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "data" / "bench.db"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def log(step):
        print(f"  {time.perf_counter() - started:6.1f} s  {step}", flush=True)

    server = os.environ.get("DATABASE_URL", "")
    if server.startswith("postgres"):
        name = os.environ.get("BENCH_PG_DB", "sanmai_bench")
        url = postgres_url(server, name)
        manifest_path = ROOT / "bench" / "data" / f"postgresql-{name}.json"
        target = f"PostgreSQL database {name}"
    else:
        out = Path(args.out).resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(out) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{out}"
        manifest_path = Path(str(out) + ".json")
        target = str(out)
    print(f"bench data → {target}")
    metadata = prepare(url)
    log("schema (migrations) and reference data")
    engine = sa.create_engine(url)
    sink = Sink(engine, metadata)
    if sink.sqlite:
        sink.execute("PRAGMA journal_mode=OFF")
        sink.execute("PRAGMA synchronous=OFF")
        sink.execute("PRAGMA foreign_keys=OFF")
    else:  # as foreign_keys=OFF: rows may point at rows of a later batch (superseded_by_id)
        sink.execute("SET session_replication_role = replica")
    restore = drop_search_and_indexes(sink)
    builder = Builder(sink, args.seed)
    builder.run(log)
    sink.commit()
    log("rows written")
    finish(sink, restore, metadata)
    log("indexes, search index and vacuum")
    sink.raw.close()
    engine.dispose()
    elapsed = time.perf_counter() - started
    builder.manifest["url"] = sa.engine.make_url(url).render_as_string(hide_password=True)
    builder.manifest["seconds"] = round(elapsed, 1)
    if not server.startswith("postgres"):
        builder.manifest["bytes"] = Path(args.out).stat().st_size
    manifest_path.write_text(json.dumps(builder.manifest, ensure_ascii=False, indent=1) + "\n")
    total = sum(builder.manifest["counts"].values())
    size = f", {builder.manifest['bytes'] / 1e6:.0f} MB" if "bytes" in builder.manifest else ""
    print(f"done: {total:,} rows in {elapsed:.0f} s{size}; manifest {manifest_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
