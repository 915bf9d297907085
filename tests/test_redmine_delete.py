"""DELETE /issues/{id}.json: Redmine's 204, never silent, refused where minutes depend on it."""

from datetime import date

from core.extensions import db
from tickets.models import Ticket


def test_manager_deletes_a_child_and_the_parent_records_it(api, rm_world, make_ticket):
    parent = make_ticket(rm_world["unit"], rm_world["member"], subject="親チケット")
    child = make_ticket(rm_world["unit"], rm_world["member"], subject="誤って起票", parent=parent)
    child_id = child.id
    response = api.delete(f"/issues/{child_id}.json", rm_world["manager"])
    assert response.status_code == 204 and response.data == b""
    assert db.session.get(Ticket, child_id) is None
    last = parent.journals[-1]
    assert "誤って起票" in last.notes
    assert [(d.name, d.old_value, d.new_value) for d in last.details] == [
        ("child_id", str(child_id), None)
    ]
    assert api.get(f"/issues/{child_id}.json", rm_world["manager"]).status_code == 404


def test_a_member_may_not_delete(api, rm_world, make_ticket):
    ticket = make_ticket(rm_world["unit"], rm_world["member"])
    assert api.delete(f"/issues/{ticket.id}.json", rm_world["member"]).status_code == 403
    assert api.delete(f"/issues/{ticket.id}.json", rm_world["outsider"]).status_code == 404
    assert db.session.get(Ticket, ticket.id) is not None


def test_a_parent_with_children_is_refused_with_a_reason(api, rm_world, make_ticket):
    parent = make_ticket(rm_world["unit"], rm_world["member"])
    make_ticket(rm_world["unit"], rm_world["member"], parent=parent)
    response = api.delete(f"/issues/{parent.id}.json", rm_world["manager"])
    assert response.status_code == 422
    assert "子チケット" in response.json["errors"][0]


def test_a_homework_ticket_is_refused(api, rm_world, make_meeting):
    from minutes import homework

    meeting = make_meeting(unit=rm_world["unit"], facilitator=rm_world["facilitator"])
    item = homework.add_homework(
        rm_world["facilitator"], meeting, rm_world["member"], "仕様を確認", date(2026, 12, 5)
    )
    db.session.commit()
    response = api.delete(f"/issues/{item.ticket_id}.json", rm_world["manager"])
    assert response.status_code == 422
    assert "議事録" in response.json["errors"][0]
