"""Domain errors raised by services become the answer of each kind of caller: a flash and a
redirect back for a page's form, one JSON shape for /api/v1, Redmine's shape for its API,
and the 403/404 pages."""

import pytest

from accounts import services as accounts
from core import errors
from core.extensions import db
from minutes import items, meetings, writes
from tickets.models import Ticket


@pytest.fixture
def facilitator(make_user):
    return make_user(login="suzuki", name="鈴木 一郎")


@pytest.fixture
def viewer(make_user):
    return make_user(login="kobayashi", name="小林 誠")


@pytest.fixture
def unit(make_unit, facilitator, viewer):
    return make_unit(members={facilitator: "facilitator", viewer: "viewer"})


@pytest.fixture
def meeting(make_meeting, unit, facilitator):
    return make_meeting(unit=unit, actor=facilitator)


def test_the_errors_are_one_family_with_their_status():
    assert [e.status for e in (errors.Invalid("x"), errors.Forbidden(), errors.NotFound())] == [
        422,
        403,
        404,
    ]
    assert issubclass(writes.StaleItem, errors.StaleVersion)
    assert not issubclass(errors.Forbidden, PermissionError)
    assert errors.Invalid("題名がありません", "title").field == "title"


def test_a_refused_form_is_flashed_on_the_page_it_came_from_and_nothing_is_kept(
    client, login, meeting, facilitator
):
    login(facilitator)
    response = client.post(
        f"/meetings/{meeting.id}/items",
        data={"item-kind": "goal", "item-text": "仕様を決める", "item-ticket_id": "999999"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/meetings/{meeting.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "このプロジェクトにそのチケットはありません。" in page  # the service's message
    assert items.sheets(meeting)["all"] == []


def test_the_json_api_answers_a_refused_input_with_the_field(client, meeting, facilitator):
    token = accounts.api_token(facilitator)
    db.session.commit()
    response = client.post(
        f"/api/v1/meetings/{meeting.id}/items",
        json={"kind": "goal", "text": "   "},
        headers={"X-API-Key": token},
    )
    assert response.status_code == 422
    assert response.json["field"] == "text"
    assert len(response.json["errors"]) == 1


def test_the_json_api_answers_forbidden_and_not_found_with_errors(client, meeting, viewer):
    token = accounts.api_token(viewer)
    db.session.commit()
    headers = {"X-API-Key": token}
    forbidden = client.post(
        f"/api/v1/meetings/{meeting.id}/items",
        json={"kind": "goal", "text": "目標"},
        headers=headers,
    )
    assert forbidden.status_code == 403 and forbidden.json["errors"]
    missing = client.get("/api/v1/meetings/999999", headers=headers)
    assert missing.status_code == 404 and missing.json["errors"]


def test_the_redmine_api_answers_in_redmines_shape(api, rm_world, make_ticket):
    ticket = make_ticket(rm_world["unit"], rm_world["member"])
    blank = api.put(
        f"/issues/{ticket.id}.json", rm_world["member"], json={"issue": {"subject": ""}}
    )
    assert blank.status_code == 422
    assert list(blank.json) == ["errors"] and blank.json["errors"]
    refused = api.delete(f"/issues/{ticket.id}.json", rm_world["member"])
    assert refused.status_code == 403 and refused.data == b""
    assert db.session.get(Ticket, ticket.id) is not None


def test_forbidden_is_the_403_page(client, login, meeting, viewer):
    login(viewer)
    response = client.post(
        f"/meetings/{meeting.id}/items", data={"item-kind": "goal", "item-text": "目標"}
    )
    assert response.status_code == 403
    assert items.sheets(meeting)["all"] == []


def test_not_found_is_the_404_page(client, login, facilitator, make_meeting):
    foreign = make_meeting()
    login(facilitator)
    assert client.get(f"/meetings/{foreign.id}").status_code == 404
    assert client.get("/meetings/999999").status_code == 404
    assert client.get("/issues/999999").status_code == 404


def test_locked_minutes_answer_409_with_the_reason(client, login, meeting, facilitator):
    meetings.set_status(None, meeting, "confirmed")
    db.session.commit()
    login(facilitator)
    response = client.post(
        f"/meetings/{meeting.id}/items", data={"item-kind": "goal", "item-text": "目標"}
    )
    assert response.status_code == 409
    assert "この議事録は確定済みのため、変更できません。" in response.get_data(as_text=True)
