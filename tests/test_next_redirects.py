"""A `next` parameter keeps the redirect after a form on this site (urls.safe_next)."""

import pytest

from core.urls import safe_next

FALLBACK = "/projects"
FOREIGN = [
    "https://evil.example/",
    "http:evil.example",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/%0a\x00/",
    " //evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    None,
]


@pytest.mark.parametrize("target", FOREIGN)
def test_a_target_off_this_site_falls_back(target):
    assert safe_next(target, FALLBACK) == FALLBACK


@pytest.mark.parametrize(
    "target", ["/meetings/3/edit#attendees", "/issues?status_id=open&q=住基", "/", "/login?"]
)
def test_a_path_on_this_site_is_kept(target):
    assert safe_next(target, FALLBACK) == target


def _location(response) -> str:
    assert response.status_code == 302
    return response.headers["Location"]


@pytest.mark.parametrize("target", ["//evil.example/x", "/\\evil.example", "https://evil.example"])
def test_login_does_not_send_to_another_site(client, make_user, target):
    make_user(login="suzuki", password="secret-pass")
    response = client.post(
        "/login", query_string={"next": target}, data={"login": "suzuki", "password": "secret-pass"}
    )
    assert _location(response) == "/projects"
    assert _location(client.get("/login", query_string={"next": target})) == "/projects"


def test_login_keeps_a_target_on_this_site(client, make_user):
    make_user(login="suzuki", password="secret-pass")
    response = client.post(
        "/login",
        query_string={"next": "/my/account"},
        data={"login": "suzuki", "password": "secret-pass"},
    )
    assert _location(response) == "/my/account"


def test_switching_language_does_not_send_to_another_site(client):
    response = client.post("/lang", data={"lang": "en", "next": "/\\evil.example"})
    assert _location(response) == "/projects"


@pytest.fixture
def forms_with_next(ready_meeting, freeze_meeting):
    """The meeting's POST forms that take `next`, with the page each falls back to."""
    meeting = ready_meeting()
    goal = next(i for i in meeting.items if i.kind == "goal")
    guest = next(a for a in meeting.attendees if a.user_id is None)
    m = meeting.id
    forms = {
        "presence": (
            f"/meetings/{m}/attendees/{guest.id}/presence",
            {"present": "1"},
            f"/meetings/{m}",
        ),
        "not_discussed": (
            f"/meetings/{m}/items/{goal.id}/not-discussed",
            {"value": "0"},
            f"/meetings/{m}/freeze",
        ),
    }
    revision = freeze_meeting(meeting)
    forms["record_in_room"] = (
        f"/meetings/{m}/attendees/{guest.id}/confirm",
        {"revision": revision.number, "fingerprint": revision.fingerprint},
        f"/meetings/{m}",
    )
    return meeting, forms


@pytest.mark.parametrize("form", ["presence", "not_discussed", "record_in_room"])
@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_meeting_forms_do_not_send_to_another_site(client, login, forms_with_next, form, target):
    meeting, forms = forms_with_next
    url, data, fallback = forms[form]
    login(meeting.facilitator)
    assert _location(client.post(url, data={**data, "next": target})) == fallback


@pytest.mark.parametrize("form", ["presence", "not_discussed", "record_in_room"])
def test_meeting_forms_keep_a_target_on_this_site(client, login, forms_with_next, form):
    meeting, forms = forms_with_next
    url, data, _ = forms[form]
    login(meeting.facilitator)
    target = f"/meetings/{meeting.id}/edit#attendees"
    assert _location(client.post(url, data={**data, "next": target})) == target
