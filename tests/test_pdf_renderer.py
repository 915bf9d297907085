"""The PDF is made in a renderer process of its own (exports/renderer.py): WeasyPrint never loads
into the web worker; a dead, hung or worn-out renderer is replaced; nothing is left behind."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.extensions import db
from exports import renderer
from minutes import confirmations

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


def test_under_gunicorn_each_worker_warms_a_renderer_and_takes_it_down_on_stop(tmp_path):
    """The real gunicorn with gunicorn.conf.py: the worker's renderer starts before any request,
    the worker stays without WeasyPrint, and stopping gunicorn leaves no process behind."""
    app = tmp_path / "pdfapp.py"
    app.write_text(
        "import sys\n"
        "from exports import renderer\n"
        "def app(environ, start_response):\n"
        "    pdf = renderer.render('<meta charset=\"utf-8\"><p>議事録</p>', None)\n"
        "    body = f'{len(pdf)} {renderer.get().pid} {\"weasyprint\" in sys.modules}'\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [body.encode()]\n"
    )
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{tmp_path}"}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", "1", "-b", f"127.0.0.1:{port}",
         "pdfapp:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        workers = _wait_for(lambda: _children(server.pid))
        warmed = _wait_for(  # before any request
            lambda: [p for p in _children(workers[0]) if "render_child.py" in _cmdline(p)]
        )
        import urllib.request

        body = _wait_for(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30).read()
        )
        size, pid, loaded = body.decode().split()
        assert int(size) > 500 and int(pid) == warmed[0] and loaded == "False"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert gone(workers[0]) and gone(warmed[0])


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text()


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
