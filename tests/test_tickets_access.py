"""Who may reach the ticket routes: non-members get 404, viewers 403 on writes."""

import io

import pytest

from attachments import files as attachments
from core.extensions import db


@pytest.fixture
def world(make_user, make_unit, make_ticket, make_meeting):
    member, viewer, outsider, admin = (
        make_user(),
        make_user(),
        make_user(),
        make_user(is_admin=True),
    )
    unit = make_unit(members={member: "member", viewer: "viewer"})
    ticket = make_ticket(unit, member)
    meeting = make_meeting(unit=unit)
    from werkzeug.datastructures import FileStorage

    file = attachments.store_upload(member, FileStorage(io.BytesIO(b"abc"), filename="a.txt"))
    attachments.attach(member, file, ticket)
    db.session.commit()
    urls = {
        "show": ("GET", f"/issues/{ticket.id}"),
        "update": ("POST", f"/issues/{ticket.id}"),
        "list": ("GET", f"/projects/{unit.identifier}/issues"),
        "new": ("GET", f"/projects/{unit.identifier}/issues/new"),
        "create": ("POST", f"/projects/{unit.identifier}/issues/new"),
        "download": ("GET", f"/attachments/download/{file.id}/a.txt"),
        "meeting_files": ("POST", f"/meetings/{meeting.id}/attachments"),
        "trackers": ("GET", "/admin/trackers"),
        "statuses": ("GET", "/admin/statuses"),
        "workflows": ("GET", "/admin/workflows"),
        "workflows_save": ("POST", "/admin/workflows"),
        "tracker_new": ("POST", "/admin/trackers/new"),
        "status_new": ("POST", "/admin/statuses/new"),
    }
    return {"member": member, "viewer": viewer, "outsider": outsider, "admin": admin}, urls


EXPECTED = {
    # route: (outsider, viewer, member)
    "show": (404, 200, 200),
    "update": (404, 403, 422),  # the member's empty form is refused as invalid, not forbidden
    "list": (404, 200, 200),
    "new": (404, 403, 200),
    "create": (404, 403, 422),
    "download": (404, 200, 200),
    "meeting_files": (404, 403, 302),
    "trackers": (403, 403, 403),
    "statuses": (403, 403, 403),
    "workflows": (403, 403, 403),
    "workflows_save": (403, 403, 403),
    "tracker_new": (403, 403, 403),
    "status_new": (403, 403, 403),
}


@pytest.mark.parametrize("route", sorted(EXPECTED))
@pytest.mark.parametrize("who", ["outsider", "viewer", "member"])
def test_access_matrix(client, login, world, route, who):
    users, urls = world
    method, url = urls[route]
    login(users[who])
    response = client.open(url, method=method)
    assert response.status_code == EXPECTED[route][["outsider", "viewer", "member"].index(who)]


@pytest.mark.parametrize("route", ["trackers", "statuses", "workflows"])
def test_administrators_reach_the_admin_pages(client, login, world, route):
    users, urls = world
    login(users["admin"])
    assert client.get(urls[route][1]).status_code == 200


def test_anonymous_is_sent_to_log_in(client, world):
    _users, urls = world
    for method, url in urls.values():
        response = client.open(url, method=method)
        assert response.status_code == 302 and "/login" in response.location
