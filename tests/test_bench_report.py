"""bench/readme_table.py: the README's table of results is made from the results files."""

import json

from bench import readme_table as report


def _measurement(name, where, p50, target, met, status="ok"):
    return {
        "name": name,
        "where": where,
        "status": status,
        "p50_ms": p50,
        "p95_ms": p50,
        "target_ms": target,
        "met": met,
    }


def _write(tmp_path, database, measurements, **extra):
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    run = {
        "when": "2026-11-27T05:55:29+00:00",
        "database": database,
        "machine": {"cores": 2, "commit": "1dd854c"},
        "load_average_at_end": [1.35, 1.06, 1.04],
        "worker_peak_rss_mb": 164.5,
        "worker_peak_rss_target_mb": 250,
        "measurements": measurements,
        **extra,
    }
    (results / f"{database}.json").write_text(json.dumps(run, ensure_ascii=False))
    return results


def test_the_table_between_the_markers_is_made_from_the_results(tmp_path):
    _write(
        tmp_path,
        "postgresql",
        [
            _measurement("meeting page, 40 items", "in process", 14.01, 20, True),
            _measurement("meeting page, 40 items", "http (gunicorn -w 2)", 13.64, 20, True),
        ],
        ratio_paired=[{"name": "meeting page, 40 items", "ratio": 1.9, "met": True}],
    )
    results = _write(
        tmp_path,
        "sqlite",
        [
            _measurement("login page", "in process", 1.52, None, None),
            _measurement("meeting page, 40 items", "in process", 6.98, 20, True),
            _measurement("meeting page, 40 items", "http (gunicorn -w 2)", 24.0, 20, False),
            _measurement("50 sign-offs", "in process", None, 2000, None, status="http only"),
        ],
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Bench\n\nintro\n\n<!-- results:begin -->\nold table\n<!-- results:end -->\n\nafter\n"
    )

    assert report.main(["--results", str(results), "--readme", str(readme)]) == 0

    text = readme.read_text()
    assert text.startswith("# Bench\n\nintro\n\n<!-- results:begin -->\n")
    assert text.endswith("<!-- results:end -->\n\nafter\n")
    assert "old table" not in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows == [
        "| measurement | target ms | SQLite in process | SQLite HTTP"
        " | PostgreSQL in process | PostgreSQL HTTP |",
        "| login page |  | 1.5 |  |  |  |",
        "| meeting page, 40 items | 20 | 7.0 | 24.0 ✗ | 14.0 | 13.6 |",
        "| 50 sign-offs | 2000 | http only |  |  |  |",
    ]
    assert (
        "- SQLite: run 2026-11-27T05:55:29+00:00; commit 1dd854c; 2 cores;"
        " load average 1.35 at the end; worker peak RSS 164.5 MB (target 250 MB)." in text
    )
    assert "over SQLite in turns, in process: 1.90–1.90 (target ≤ 2; 0 over)" in text


def test_running_twice_gives_the_same_readme(tmp_path):
    results = _write(
        tmp_path, "sqlite", [_measurement("decision register", "in process", 11.74, 30, True)]
    )
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:begin --><!-- results:end -->\n")
    report.main(["--results", str(results), "--readme", str(readme)])
    once = readme.read_text()
    report.main(["--results", str(results), "--readme", str(readme)])
    assert readme.read_text() == once
    assert "| decision register | 30 | 11.7 |  |" in once


def test_the_redmine_import_results_stay_out_of_the_table(tmp_path):
    results = _write(
        tmp_path, "sqlite", [_measurement("decision register", "in process", 11.74, 30, True)]
    )
    other = {"sqlite": {"first": {"wall_s": 69.0}}, "target": {"wall_s": 300}}
    (results / "redmine-import.json").write_text(json.dumps(other))
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:begin --><!-- results:end -->\n")
    assert report.main(["--results", str(results), "--readme", str(readme)]) == 0
    assert "| decision register | 30 | 11.7 |  |" in readme.read_text()
