"""Administrators edit trackers, statuses and workflows; the workflow then rules the tickets."""

import pytest

from core import errors
from core.extensions import db
from tickets import reference, services
from tickets.models import Status, Tracker


@pytest.fixture
def admin(make_user, login):
    return login(make_user(is_admin=True))


def test_the_default_workflow_of_every_tracker(tracker_named):
    """Members move between any two statuses but never out of a closed one; facilitators
    and managers move between any two; viewers have no transitions; every tracker alike."""
    import sqlalchemy as sa

    from tickets.models import Transition

    statuses = db.session.scalars(sa.select(Status)).all()
    closed = {s.id for s in statuses if s.is_closed}
    assert closed and len(closed) < len(statuses)
    every_pair = {(a.id, b.id) for a in statuses for b in statuses if a.id != b.id}
    expected = {
        "member": {(a, b) for a, b in every_pair if a not in closed},
        "facilitator": every_pair,
        "manager": every_pair,
    }
    for tracker in db.session.scalars(sa.select(Tracker)):
        rows = db.session.execute(
            sa.select(Transition.role, Transition.from_status_id, Transition.to_status_id).where(
                Transition.tracker_id == tracker.id
            )
        ).all()
        found = {role: set() for role in expected}
        for role, source, target in rows:
            found[role].add((source, target))  # a viewer's row would fail here
        assert found == expected, tracker.name
        assert len(rows) == sum(len(pairs) for pairs in expected.values())  # no duplicates


def test_add_and_rename_a_tracker_with_its_english_name(client, admin, tracker_named):
    page = client.post(
        "/admin/trackers/new",
        data={"name": "障害管理", "name_en": "Incident", "default_status_id": 1},
    )
    assert page.status_code == 302
    tracker = tracker_named("障害管理")
    assert tracker.name_en == "Incident"
    assert reference.workflow(tracker, "member")  # starts with the default workflow
    client.post(
        f"/admin/trackers/{tracker.id}",
        data={"name": "インシデント管理", "name_en": "Incidents", "default_status_id": 1},
    )
    db.session.expire_all()
    assert db.session.get(Tracker, tracker.id).name == "インシデント管理"
    assert "インシデント管理" in client.get("/admin/trackers").get_data(as_text=True)


def test_duplicate_tracker_name_is_refused(client, admin):
    page = client.post("/admin/trackers/new", data={"name": "変更管理", "default_status_id": 1})
    html = page.get_data(as_text=True)
    assert page.status_code == 422 and 'value="変更管理"' in html
    name_field = html[html.index('name="name"') : html.index("</div>", html.index('name="name"'))]
    assert "既に使われています" in name_field


def test_status_owner_side_closed_and_order(client, admin, status_named):
    page = client.post(
        "/admin/statuses/new",
        data={"name": "差戻し", "name_en": "Sent back", "owner_side": "vendor", "position": 4},
    )
    assert page.status_code == 302
    status = status_named("差戻し")
    assert (status.owner_side, status.is_closed, status.position) == ("vendor", False, 4)
    client.post(
        f"/admin/statuses/{status.id}",
        data={"name": "差戻し", "owner_side": "city", "is_closed": "y", "position": 4},
    )
    db.session.expire_all()
    status = db.session.get(Status, status.id)
    assert status.owner_side == "city" and status.is_closed


def test_workflow_matrix_rules_the_status_choices(
    client, admin, make_user, make_unit, make_ticket, tracker_named, status_named
):
    member = make_user()
    ticket = make_ticket(make_unit(members={member: "member"}), member)
    new, accepted, investigating = (
        status_named("起票"),
        status_named("受付"),
        status_named("調査中"),
    )
    tracker = tracker_named("問い合わせ管理")
    page = client.post(
        "/admin/workflows",
        data={"tracker_id": tracker.id, "role": "member", f"t-{new.id}-{accepted.id}": "on"},
    )
    assert page.status_code == 302
    html = client.get(f"/admin/workflows?tracker_id={tracker.id}&role=member").get_data(
        as_text=True
    )
    assert f'name="t-{new.id}-{accepted.id}" aria-label="起票 → 受付" checked' in html
    assert f'name="t-{new.id}-{investigating.id}" aria-label="起票 → 調査中" >' in html
    db.session.expire_all()
    assert [s.name for s in services.allowed_statuses(member, ticket)] == ["起票", "受付"]
    with pytest.raises(errors.Invalid, match="ワークフロー"):
        services.update_ticket(member, ticket, {"status": investigating})
    services.update_ticket(member, ticket, {"status": accepted})
    assert ticket.status == accepted


def test_workflows_are_per_role(make_user, make_unit, make_ticket, tracker_named, status_named):
    member, manager = make_user(), make_user()
    unit = make_unit(members={member: "member", manager: "manager"})
    ticket = make_ticket(unit, member, status=status_named("完了"))
    assert [s.name for s in services.allowed_statuses(member, ticket)] == ["完了"]
    assert "対応中" in [s.name for s in services.allowed_statuses(manager, ticket)]


def test_only_administrators_change_reference_data(make_user, tracker_named):
    with pytest.raises(errors.Forbidden):
        reference.save_tracker(make_user(), None, {"name": "x"})
    with pytest.raises(errors.Forbidden):
        reference.set_workflow(make_user(), tracker_named("変更管理"), "member", set())
