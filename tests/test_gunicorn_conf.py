"""gunicorn.conf.py, as `make serve` runs it: threaded workers that keep a client's connection
open between its requests, and the app loaded once in the master before the workers fork."""

import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = """
import os
LOADED_IN = os.getpid()
def app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [f'{os.getpid()} {LOADED_IN}'.encode()]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    where = tmp_path_factory.mktemp("gunicorn")
    (where / "plainapp.py").write_text(APP)
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{where}"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
         "plainapp:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=5).request("GET", "/")
            break
        except OSError:
            time.sleep(0.1)
    yield proc, port
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)


def test_one_connection_serves_several_requests(server):
    _proc, port = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    answers = []
    for _ in range(3):
        connection.request("GET", "/")
        response = connection.getresponse()
        answers.append((response.status, response.getheader("Connection"), response.read()))
        socket_after = connection.sock
        assert socket_after is not None  # not closed by the server's answer
    connection.close()
    assert [a[0] for a in answers] == [200, 200, 200]
    assert all((a[1] or "").lower() != "close" for a in answers)
    assert len({a[2] for a in answers}) == 1  # the same worker, over the same connection


def test_the_app_is_loaded_in_the_master_before_the_workers_fork(server):
    proc, port = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/")
    worker, loaded_in = connection.getresponse().read().split()
    assert int(loaded_in) == proc.pid != int(worker)
