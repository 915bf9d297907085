"""bench/redmine_side.py: a row's ratio says how many times Sanmai is ahead of Redmine; the
import beside the Redmine data is kept, upgraded or made again."""

import json

import pytest

from bench import redmine_side
from bench.redmine_side import row, table


def test_a_request_time_ratio_is_redmines_time_over_sanmais():
    r = row("/issues.json?limit=100", "read", 1000.0, 25.0)
    assert (r["ratio"], r["target_ratio"], r["met"], r["unit"]) == (40.0, 10, True, "ms")


def test_a_write_ahead_less_than_five_times_misses_its_target():
    r = row("create an issue (REST)", "write", 200.0, 50.0)
    assert (r["ratio"], r["met"]) == (4.0, False)


def test_throughput_ratio_is_sanmais_requests_over_redmines():
    r = row("4 clients", "concurrent", 1.0, 30.0)
    assert (r["ratio"], r["target_ratio"], r["met"], r["unit"]) == (30.0, 25, True, "requests/s")


@pytest.mark.parametrize(
    ("redmine", "sanmai", "met"), [(270.0, 270.0, True), (270.0, 555.0, False)]
)
def test_memory_is_met_when_sanmai_uses_no_more_than_redmine(redmine, sanmai, met):
    assert row("memory", "memory", redmine, sanmai)["met"] is met


def test_both_sides_are_asked_the_same_paths_but_for_each_ones_tracker_id():
    asked = {
        "unit": "r8-kosodate",
        "issue": 18285,
        "words": {"回答": 10, "斉藤": 2},
        "rare": "斉藤",
        "user_open_issues": 308,
    }
    rows = redmine_side.requests_of(asked, 3, 7)
    differing = [(r, s) for _name, _how, r, s in rows if r != s]
    assert len(differing) == 2
    assert all("tracker_id=3" in r and "tracker_id=7" in s for r, s in differing)
    paths = {name: (how, r) for name, how, r, _s in rows}
    assert paths["the caller (/users/current.json)"] == ("api", "/users/current.json")
    assert paths["one issue with journals and children (JSON)"] == (
        "api",
        "/issues/18285.json?include=journals,children",
    )
    assert paths["search 斉藤 (rare, 2 issues)"][1].startswith("/search.json?q=%E6%96%89")
    assert len(rows) == len(paths) == 10


def test_a_side_without_a_value_has_no_ratio():
    r = row("search", "read", None, 25.0)
    assert (r["ratio"], r["met"]) == (None, None)


def test_the_table_shows_each_sides_value_the_ratio_and_the_verdict():
    rows = [
        row("search 回答", "read", 500.0, 160.0, redmine_p95=620.0, sanmai_p95=180.0),
        row("memory", "memory", 271.0, 555.0),
    ]
    lines = table(rows).splitlines()
    assert "Redmine" in lines[0] and "ratio" in lines[0]
    assert lines[2].split()[2:] == ["ms", "p50", "500.0", "620.0", "—", "160.0", "180.0", "—",
                                    "3.1×", "10×", "MISSED"]  # fmt: skip
    assert lines[3].split()[-4:] == ["—", "0.5×", "1×", "MISSED"]


def _stamped_import(tmp_path, heads):
    data = tmp_path / "redmine.sqlite3"
    data.write_bytes(b"redmine")
    (tmp_path / "redmine.sqlite3.json").write_text('{"scale": {}}')
    target = tmp_path / "redmine-sanmai.db"
    target.write_bytes(b"sanmai")
    stamp = redmine_side.import_stamp(data)
    stamp["migration_heads"] = heads
    target.with_suffix(".json").write_text(json.dumps(stamp))
    return data, target


def test_an_import_of_the_same_data_is_upgraded_when_only_migrations_moved_on(
    tmp_path, monkeypatch
):
    data, target = _stamped_import(tmp_path, ["0000"])
    asked = []
    monkeypatch.setattr(
        redmine_side, "flask", lambda args, env: asked.append((args, env["DATABASE_URL"])) or _done
    )
    assert redmine_side.ensure_import(data) == target
    assert asked == [(["db", "upgrade"], f"sqlite:///{target}")]
    assert json.loads(target.with_suffix(".json").read_text()) == redmine_side.import_stamp(data)
    assert target.read_bytes() == b"sanmai"  # kept, not imported again


def test_an_import_of_other_data_is_made_again(tmp_path, monkeypatch):
    data, target = _stamped_import(tmp_path, ["0000"])
    (tmp_path / "redmine.sqlite3.json").write_text('{"scale": {"issues": 5}}')
    asked = []
    monkeypatch.setattr(redmine_side, "installed", lambda url: {"DATABASE_URL": url})
    monkeypatch.setattr(redmine_side, "flask", lambda args, env: asked.append(args) or _done)
    redmine_side.ensure_import(data)
    assert asked == [["redmine", "import", "--db", f"sqlite:///{data}"]]


class _done:
    returncode = 0


def test_memory_counts_a_page_shared_by_two_processes_once_in_pss_and_twice_in_rss():
    import os
    import signal

    from bench.redmine_side import memory_mb

    shared = bytearray(64 * 1024 * 1024)  # written before the fork: shared by both after it
    shared[::4096] = b"x" * len(shared[::4096])
    child = os.fork()
    if child == 0:  # pragma: no cover - the child only waits to be measured
        signal.pause()
        os._exit(0)
    try:
        both = memory_mb([os.getpid(), child])
        alone = memory_mb([os.getpid()])
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    assert both["rss"] - alone["rss"] > 60  # the child's RSS counts the 64 MB again
    assert both["pss"] < both["rss"] - 60  # PSS counts them once across the two


def test_memory_while_pdfs_render_is_met_up_to_twice_redmines_at_rest():
    within = row("memory while PDFs render (PSS peak)", "memory", 213.0, 426.0, target=0.5)
    beyond = row("memory while PDFs render (PSS peak)", "memory", 213.0, 480.0, target=0.5)
    assert (within["ratio"], within["target_ratio"], within["met"]) == (0.5, 0.5, True)
    assert (beyond["ratio"], beyond["met"]) == (0.44, False)
    assert table([beyond]).splitlines()[2].split()[-3:] == ["0.4×", "0.5×", "MISSED"]


def test_the_pss_peak_is_the_largest_sum_over_samples_not_the_sum_of_each_process_peak():
    from bench.redmine_pdf import PeakPss

    peak = PeakPss(read=dict, renderer=lambda pid: pid == 3)
    peak.add({1: 50.0, 2: 70.0, 3: 100.0})  # the renderer rendering
    peak.add({1: 50.0, 2: 140.0})  # a worker's peak once the renderer exited
    peak.add({1: 50.0, 2: 70.0, 3: 120.0})
    assert (peak.peak, peak.renderer_peak, peak.samples) == (240.0, 120.0, 3)


def test_the_pss_peak_is_sampled_in_a_thread_until_the_block_ends():
    from bench.redmine_pdf import PeakPss

    readings = iter([{1: 10.0}, {1: 30.0}, {1: 20.0}])
    with PeakPss(read=lambda: next(readings, {1: 5.0}), interval=0.001) as peak:
        while peak.samples < 4:
            pass
    assert peak.peak == 30.0 and peak.samples >= 4


def test_the_pdf_meeting_has_make_benchs_40_items_and_its_pdf_is_served_to_its_facilitator(
    app, client, login, make_user, make_unit, tmp_path, monkeypatch
):
    import random

    import sqlalchemy as sa

    from bench.redmine_pdf import SHAPE, build_meeting, pdf_pages
    from core.extensions import db
    from minutes.models import Item

    monkeypatch.setitem(app.config, "SANMAI_CACHE_DIR", str(tmp_path / "cache"))
    user = make_user()
    unit = make_unit(members={user: "member"})
    meeting = build_meeting(user, unit, random.Random(40))
    db.session.commit()
    kinds = db.session.scalars(sa.select(Item.kind).where(Item.meeting_id == meeting.id)).all()
    assert {k: kinds.count(k) for k in SHAPE} == SHAPE and len(kinds) == 40
    login(user)
    answer = client.get(f"/meetings/{meeting.id}.pdf")
    assert answer.status_code == 200 and answer.data.startswith(b"%PDF-")
    assert (pdf_pages(answer.data) or 3) >= 3  # the three sheets, each on a page of its own
