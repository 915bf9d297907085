"""The PDF is made in a renderer process of its own (exports/renderer.py): WeasyPrint never loads
into the web worker; one renderer serves all of gunicorn's workers and runs only after a PDF is
in view; a dead, hung or worn-out renderer is replaced; nothing is left behind."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bench.harness import children
from core.extensions import db
from exports import renderer
from minutes import confirmations
from tests.fixtures.ports import free_port

ROOT = Path(__file__).resolve().parent.parent
HTML = (
    '<!doctype html><meta charset="utf-8"><p style="font-family: Noto Sans CJK JP">議事録 {n}</p>'
)


def gone(pid: int, within: float = 10.0) -> bool:
    """The process has exited and was reaped (no zombie left)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def own_renderer(monkeypatch):
    """A renderer of the test's own in place of the process-wide one; stopped afterwards."""
    made = []

    def make(**kwargs):
        r = renderer.Renderer(**kwargs)
        monkeypatch.setattr(renderer, "_renderer", r)
        made.append(r)
        return r

    yield make
    for r in made:
        r.shutdown(grace=1)


@pytest.fixture
def confirmed_meeting(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    for a in meeting.attendees:
        if a.user is not None:
            confirmations.confirm(a.user, revision, a)
        else:
            confirmations.record_in_room(meeting.facilitator, revision, a)
    db.session.commit()
    return meeting


@pytest.fixture(autouse=True)
def own_cache(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "SANMAI_CACHE_DIR", str(tmp_path / "cache"))


def test_a_pdf_through_the_app_never_loads_weasyprint_into_this_process(
    client, login, ready_meeting
):
    meeting = ready_meeting()
    login(meeting.facilitator)
    response = client.get(f"/meetings/{meeting.id}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert "weasyprint" not in sys.modules
    child = renderer.get().pid
    assert child is not None and child != os.getpid()
    assert "render_child.py" in _cmdline(child)


@pytest.mark.parametrize(("warm", "started"), [("page", True), ("0", False)])
def test_a_meeting_page_with_its_pdf_link_starts_the_renderer_before_the_pdf_is_asked_for(
    app, client, login, ready_meeting, own_renderer, monkeypatch, warm, started
):
    r = own_renderer()
    monkeypatch.setitem(app.config, "SANMAI_PDF_WARM", warm)
    meeting = ready_meeting()
    login(meeting.facilitator)
    assert client.get(f"/meetings/{meeting.id}").status_code == 200
    assert (r.pid is not None) is started


def test_a_killed_renderer_is_replaced_and_the_next_pdf_still_renders(client, login, ready_meeting):
    meeting = ready_meeting()
    login(meeting.facilitator)
    assert client.get(f"/meetings/{meeting.id}.pdf").status_code == 200
    first = renderer.get().pid
    os.kill(first, signal.SIGKILL)
    assert gone(first)  # reaped at once: no zombie waits for the next PDF
    again = client.get(f"/meetings/{meeting.id}.pdf")
    assert again.status_code == 200 and again.data.startswith(b"%PDF-")
    assert renderer.get().pid not in (None, first)


def test_a_renderer_dying_under_a_job_is_restarted_and_the_job_retried_once(own_renderer):
    # The first child dies while rendering (killed from outside); the retry's child renders.
    r = own_renderer()
    r.warm()
    victim = r.pid
    threading.Timer(0.3, os.kill, (victim, signal.SIGKILL)).start()
    data = r.render(HTML.format(n=1), None)
    assert data.startswith(b"%PDF-") and r.pid != victim and gone(victim)


def test_a_renderer_that_keeps_dying_answers_503_in_japanese_then_in_english(
    app, client, login, confirmed_meeting, own_renderer
):
    own_renderer(command=[sys.executable, "-c", "import sys; sys.exit(3)"])
    meeting = confirmed_meeting
    login(meeting.facilitator)
    response = client.get(f"/meetings/{meeting.id}.pdf")
    assert response.status_code == 503 and response.headers["Retry-After"]
    page = response.get_data(as_text=True)
    assert "PDFを今は作成できませんでした" in page and "失われたものはありません" in page
    # Nothing half-made was kept: the confirmed revision's cache is still empty.
    assert not (Path(app.config["SANMAI_CACHE_DIR"]) / "pdf").exists() or not list(
        (Path(app.config["SANMAI_CACHE_DIR"]) / "pdf").iterdir()
    )
    meeting.facilitator.language = "en"
    db.session.commit()
    english = client.get(f"/meetings/{meeting.id}.pdf")
    assert english.status_code == 503
    assert "The PDF could not be made just now" in english.get_data(as_text=True)


def test_a_hung_renderer_is_killed_after_the_timeout(
    app, client, login, ready_meeting, own_renderer, monkeypatch
):
    r = own_renderer(command=[sys.executable, "-c", "import time; time.sleep(120)"])
    monkeypatch.setitem(app.config, "SANMAI_PDF_TIMEOUT", 1)
    meeting = ready_meeting()
    login(meeting.facilitator)
    r.warm()
    hung = r.pid
    started = time.monotonic()
    response = client.get(f"/meetings/{meeting.id}.pdf")
    assert response.status_code == 503 and time.monotonic() - started < 5
    assert gone(hung, within=2) and r.pid is None


def test_pdfs_asked_for_from_several_threads_at_once_share_one_renderer(own_renderer):
    r = own_renderer()
    results, pids = {}, set()

    def ask(n):
        results[n] = r.render(HTML.format(n=n), None)
        pids.add(r.pid)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [0, 1, 2, 3]
    assert all(data.startswith(b"%PDF-") for data in results.values())
    assert len(pids) == 1


def test_a_request_waiting_behind_a_stuck_render_gives_up_at_its_own_timeout(own_renderer):
    r = own_renderer(command=[sys.executable, "-c", "import time; time.sleep(120)"])
    first = []

    def hold():
        try:
            r.render("a", None, timeout=3)
        except renderer.RendererUnavailable as error:
            first.append(str(error))

    stuck = threading.Thread(target=hold)
    stuck.start()
    time.sleep(0.3)  # the first request holds the renderer
    started = time.monotonic()
    with pytest.raises(renderer.RendererUnavailable, match="busy"):
        r.render("b", None, timeout=0.5)
    assert time.monotonic() - started < 2
    stuck.join(timeout=10)
    assert first == ["no PDF within 3 s"] and r.pid is None  # the stuck child was killed


def test_a_page_offering_a_pdf_does_not_wait_for_a_pdf_being_made(own_renderer):
    r = own_renderer(command=[sys.executable, "-c", "import time; time.sleep(120)"])
    stuck = threading.Thread(target=lambda: pytest.raises(renderer.RendererUnavailable, r.render,
                                                          "a", None, timeout=3))  # fmt: skip
    stuck.start()
    time.sleep(0.3)  # a PDF is being made (and hangs)
    started = time.monotonic()
    r.warm()
    assert time.monotonic() - started < 0.5
    stuck.join(timeout=10)


def test_the_renderer_is_replaced_after_max_renders(own_renderer):
    r = own_renderer()
    r.render(HTML.format(n=1), None, max_renders=2)
    first = r.pid
    r.render(HTML.format(n=2), None, max_renders=2)
    assert gone(first)  # worn out: memory given back
    assert r.pid not in (None, first)  # its successor is already warming up


def test_an_idle_renderer_exits_by_itself_and_is_reaped(own_renderer):
    r = own_renderer(idle_seconds=0.2)
    r.render(HTML.format(n=1), None)
    first = r.pid
    assert gone(first, within=5) and r.pid is None  # the next PDF starts another


def test_a_broken_document_is_an_error_of_its_own_and_the_renderer_survives(own_renderer):
    r = own_renderer()
    r.warm()
    pid = r.pid
    with pytest.raises(renderer.RenderError):
        r.render(12345, None)  # not a string: WeasyPrint raises in the child
    assert r.pid == pid


# Regular, bold and monospace: the three faces of the minutes, from two CJK font collections.
FONTS_HTML = (
    '<!doctype html><meta charset="utf-8"><body style="font-family: Noto Sans CJK JP">'
    "<h1>議事録 {n}</h1><p>本日のゴール・宿題・さきどり <b>確認記録</b></p>"
    '<p style="font-family: Noto Sans Mono CJK JP">SHA-256 0123456789abcdef</p>'
)


def test_a_renderer_holds_no_copy_of_the_cjk_font_files_nor_what_a_job_left(own_renderer):
    r = own_renderer()
    for n in range(3):
        r.render(FONTS_HTML.format(n=n), None)
    status = Path(f"/proc/{r.pid}/status").read_text()
    peak_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
    # WeasyPrint's own way (a copy of each font's ~20 MB file per document, kept until the
    # garbage is collected) peaks above 180 MB on the first document and grows with each.
    assert peak_mb < 140


# Renders in a process of its own (WeasyPrint stays out of the test process): WeasyPrint's
# own PDF, then the renderer's, counting the font files read whole.
SAME_PDF = """
import sys
from pathlib import Path
sys.path.insert(0, {exports!r})
import render_child
from weasyprint import HTML
from weasyprint.pdf import fonts
html = {html!r}
before = HTML(string=html).write_pdf()
whole = fonts.get_hb_object_data
read = []
fonts.get_hb_object_data = lambda *a, **k: read.append(a) or whole(*a, **k)
applied = render_child.read_font_files_when_needed()
after = HTML(string=html).write_pdf()
print(applied, before == after, sum(1 for a in read if len(a) == 1))
"""


def test_the_renderer_reads_no_font_file_whole_and_its_pdf_is_weasyprints_own():
    script = SAME_PDF.format(exports=str(ROOT / "exports"), html=FONTS_HTML.format(n=1))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # Applied; the same bytes; the only whole reads are of the subsets HarfBuzz made.
    applied, same, whole_reads = done.stdout.split()
    assert (applied, same, whole_reads) == ("True", "True", "3")


# Loads exports/renderer.py alone (not the app): the parent is a plain Python process.
SCRIPT = """
import importlib.util, os
spec = importlib.util.spec_from_file_location("renderer", {path!r})
renderer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(renderer)
renderer.render('<meta charset="utf-8"><p>議事録</p>', None)
print(renderer.get().pid, flush=True)
{end}
"""


@pytest.mark.parametrize(
    "end", ["", "os.kill(os.getpid(), 9)"], ids=["normal exit", "killed parent"]
)
def test_no_renderer_is_left_when_its_parent_process_ends(end):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(path=renderer.__file__, end=end)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    child = int(out.stdout.split()[0])
    assert gone(child), f"renderer {child} outlived its parent"


PDF_APP = """
import os, sys
from exports import renderer
def app(environ, start_response):
    pdf = renderer.render('<meta charset="utf-8"><p>議事録</p>', None)
    body = f'{len(pdf)} {os.getpid()} {renderer.get().pid} {"weasyprint" in sys.modules}'
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [body.encode()]
"""


@pytest.fixture
def pdf_gunicorn(tmp_path):
    """The real gunicorn with gunicorn.conf.py (2 workers, the app preloaded) serving an app
    that makes a PDF per request; yields (master, ask); stopped afterwards."""
    (tmp_path / "pdfapp.py").write_text(PDF_APP)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{tmp_path}", "SANMAI_PDF_IDLE_SECONDS": "2"}
    env.pop("SANMAI_PDF_WARM", None)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
         "pdfapp:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    import urllib.request

    def ask():
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60).read().split()
        return int(body[0]), int(body[1]), int(body[2]), body[3] == b"True"

    try:
        _wait_for(lambda: len(children(server.pid)) == 2)
        yield server, ask
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_under_gunicorn_no_renderer_runs_until_a_pdf_is_asked_for(pdf_gunicorn):
    server, ask = pdf_gunicorn
    time.sleep(1)
    assert not _renderers(server.pid)  # the workers started and loaded the app without one
    size, _worker, renderer_pid, loaded = ask()
    assert size > 500 and not loaded and _renderers(server.pid) == [renderer_pid]


def test_under_gunicorn_the_workers_share_one_renderer(pdf_gunicorn):
    server, ask = pdf_gunicorn
    answers = {}
    deadline = time.monotonic() + 60
    while len(answers) < 2 and time.monotonic() < deadline:  # each request: a new connection
        _size, worker, renderer_pid, _loaded = ask()
        answers[worker] = renderer_pid
    assert len(answers) == 2 and len(set(answers.values())) == 1
    assert _renderers(server.pid) == list(set(answers.values()))


def test_under_gunicorn_an_idle_renderer_exits_and_the_next_pdf_starts_one(pdf_gunicorn):
    server, ask = pdf_gunicorn
    first = ask()[2]
    assert gone(first, within=15) and not _renderers(server.pid)  # at rest: none
    assert ask()[2] not in (None, first)


def test_a_renderer_outlives_the_worker_that_started_it_and_dies_with_the_master(pdf_gunicorn):
    server, ask = pdf_gunicorn
    _size, worker, renderer_pid, _loaded = ask()
    os.kill(worker, signal.SIGKILL)  # gunicorn forks a new worker; the renderer stays
    assert gone(worker)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        _size, other, again, _loaded = ask()
        if other != worker:
            break
    assert again == renderer_pid
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)
    assert gone(renderer_pid)  # stopped with the master, and reaped: no zombie


def test_a_renderer_exits_when_the_gunicorn_master_is_killed(pdf_gunicorn):
    server, ask = pdf_gunicorn
    renderer_pid = ask()[2]
    workers = children(server.pid)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    assert _exits(renderer_pid) and all(_exits(w) for w in workers)


def _renderers(master: int) -> list[int]:
    """The PDF renderer processes under a gunicorn master (its children and grandchildren)."""
    found = []
    for pid in children(master):
        found += [p for p in [pid, *children(pid)] if "render_child.py" in _cmdline(p)]
    return found


def _exits(pid: int, within: float = 15.0) -> bool:
    """The process has exited (a zombie waiting for a reaper that is not ours counts)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
                return True
        except (OSError, IndexError):
            return True
        time.sleep(0.05)
    return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return ""


def _wait_for(probe, within: float = 30.0):
    deadline = time.monotonic() + within
    while True:
        try:
            value = probe()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)
