"""A client of a running Redmine's REST API with an administrator's key, checked to answer
as Redmine does (used by rest.py)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import requests

from redmine.importing.source import SourceError

PAGE = 100  # Redmine's largest page


class Client:
    """Keep-alive sessions to Redmine's REST API with an administrator's key, one per thread
    (a requests.Session is not to be shared between threads)."""

    def __init__(self, url: str, key: str, timeout: float = 60):
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    @property
    def session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.headers.update({"X-Redmine-API-Key": self.key, "Accept": "application/json"})
            with self._lock:
                self._sessions.append(session)
        return session

    def close(self) -> None:
        for session in self._sessions:
            session.close()

    def response(self, path: str, **params) -> requests.Response:
        try:
            return self.session.get(f"{self.url}{path}", params=params, timeout=self.timeout)
        except requests.RequestException as error:
            reason = str(error).splitlines()[0][:200]
            raise SourceError(
                f"cannot reach Redmine at {self.url} ({reason}): check the address and that "
                "Redmine is running"
            ) from None

    def get(self, path: str, **params) -> dict:
        response = self.response(path, **params)
        if response.status_code != 200:
            raise SourceError(
                f"Redmine at {self.url} answered {response.status_code} to GET {path}: "
                "check that the key is an administrator's and run the import again"
            )
        try:
            return response.json()
        except ValueError:
            raise SourceError(f"Redmine at {self.url} sent no JSON for GET {path}") from None

    def pages(self, path: str, name: str, **params) -> Iterator[dict]:
        """Every item of a paged list, `PAGE` at a time."""
        offset = 0
        while True:
            answer = self.get(path, offset=offset, limit=PAGE, **params)
            items = answer.get(name, [])
            yield from items
            offset += len(items)
            if not items or offset >= answer.get("total_count", 0):
                return


def connect(url: str, key: str) -> Client:
    """A client for the Redmine at `url`, checked to answer as Redmine does to an
    administrator's key with the REST API on."""
    if not re.match(r"^https?://[^/\s]+", url or ""):
        raise SourceError(f"{url!r} is not a web address (for example https://redmine.example.jp)")
    client = Client(url, key)
    try:
        current = client.response("/users/current.json")
        if current.status_code == 401:
            raise SourceError(
                f"Redmine at {client.url} does not accept this API key: copy an administrator's "
                "key from My account → API access key"
            )
        if current.status_code == 403:
            raise SourceError(
                f"Redmine at {client.url} has its REST API switched off: an administrator "
                "turns it on in Administration → Settings → API (Enable REST web service)"
            )
        if current.status_code != 200 or "user" not in _json(current):
            raise SourceError(
                f"{client.url} does not answer as a Redmine (GET /users/current.json gave "
                f"{current.status_code}): give the address of Redmine's top page"
            )
        if client.response("/users.json", limit=1).status_code == 403:
            raise SourceError(
                f"the API key is not an administrator's: Redmine at {client.url} lists its "
                "users only to administrators; use an administrator's key"
            )
    except SourceError:
        client.close()
        raise
    return client


def _json(response: requests.Response) -> dict:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
