"""The PDF row of `make bench-redmine` (bench/redmine_side.py): a 40-item meeting added to
Sanmai's working copy of the imported data (Redmine has no minutes, so the import has no
meeting), and the peak memory of Sanmai's serving processes while its PDF is asked for.

The meeting has the shape of `make bench`'s 40-item one (bench/dataset/meetings.py): 8 goals,
12 results, 10 homework, 4 breaks and 6 previews, written by bench/vocab.py's Text, with the
asked person as facilitator and two guests. It is made through the services, as a
facilitator would, and left a working draft, so that every request renders its PDF afresh (a
confirmed revision's PDF is rendered once and then served from the cache).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

from bench.harness import app_config, is_renderer
from bench.vocab import GUEST_ORGS, Text

SHAPE = {"goal": 8, "result": 12, "homework": 10, "break": 4, "preview": 6}
SEED = 40


def build_meeting(user, unit, rng: random.Random):
    """The 40-item meeting in `unit`, `user` its facilitator and first attendee; flushed."""
    from minutes import homework, items, meetings

    text = Text(rng)
    starts = datetime(2026, 11, 24, 1, 0)  # naive UTC: 10:00 in Japan
    data = {"title": text.meeting_title(unit.name, 40), "starts_at": starts,
            "ends_at": starts + timedelta(hours=1), "place": text.place(), "facilitator": user}  # fmt: skip
    meeting = meetings.create_meeting(None, unit, data)
    meetings.add_attendee(None, meeting, user)
    guests = [(text.person(), text.pick(GUEST_ORGS)) for _ in range(2)]
    for name, organisation in guests:
        meetings.add_attendee(None, meeting, None, name, organisation)
    who = [user, *(name for name, _org in guests)]
    goals = []
    for kind, count in SHAPE.items():
        for _ in range(count):
            if kind == "goal":
                goals.append(items.add_item(None, meeting, "goal", text.goal()))
            elif kind == "result":
                goal = rng.choice(goals) if rng.random() < 0.85 else None
                items.add_item(None, meeting, "result", text.result(), goal)
            elif kind == "homework":
                goal = rng.choice(goals) if rng.random() < 0.7 else None
                due = date(2026, 12, 1) + timedelta(days=rng.randint(5, 30))
                homework.add_homework(None, meeting, rng.choice(who), text.homework(), due, goal)
            else:
                body = text.break_note() if kind == "break" else text.preview()
                items.add_item(None, meeting, kind, body)
    return meeting


def add_meeting(url: str, login: str, unit: str) -> int:
    """Adds the 40-item meeting to the Sanmai database at `url` (before its server starts), in
    the business unit `unit` (its identifier), with `login` as facilitator; its id."""
    import sqlalchemy as sa

    from accounts.models import User
    from app import create_app
    from core.extensions import db
    from projects.models import Project

    instance = Path(tempfile.mkdtemp(prefix="sanmai-bench-meeting-"))
    app = create_app(app_config(url, instance))
    try:
        with app.app_context():
            user = db.session.scalar(sa.select(User).where(User.login == login))
            project = db.session.scalar(sa.select(Project).where(Project.identifier == unit))
            if user is None or project is None:
                raise SystemExit(f"Sanmai's import has no user {login} or no unit {unit}")
            meeting_id = build_meeting(user, project, random.Random(SEED)).id
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
    finally:
        shutil.rmtree(instance, ignore_errors=True)
    return meeting_id


def pdf_pages(data: bytes) -> int | None:
    """The PDF's page count (poppler's pdfinfo; None without it)."""
    if shutil.which("pdfinfo") is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(data)
        f.flush()
        info = subprocess.run(["pdfinfo", f.name], capture_output=True, text=True, check=False)
    pages = [line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages:")]
    return int(pages[0]) if pages else None


class PeakPss:
    """The peak, over samples taken every `interval` seconds in a thread, of the summed PSS of
    a process tree (gunicorn's master, workers and PDF renderer), with the renderer's own peak
    beside. The peak of the sums, not the sum of each process's peak: the processes need not
    peak at once. `read()` gives {pid: PSS in MB, …} and `renderers` which pids render."""

    def __init__(self, read, interval: float = 0.025, renderer=is_renderer):
        self.read, self.interval, self.is_renderer = read, interval, renderer
        self.peak = self.renderer_peak = 0.0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pss-sampler", daemon=True)

    def add(self, sample: dict[int, float]) -> None:
        self.samples += 1
        self.peak = max(self.peak, sum(sample.values()))
        rendering = sum(mb for pid, mb in sample.items() if self.is_renderer(pid))
        self.renderer_peak = max(self.renderer_peak, rendering)

    def _run(self) -> None:
        while True:
            self.add(self.read())
            if self._stop.wait(self.interval):
                break

    def __enter__(self) -> PeakPss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
