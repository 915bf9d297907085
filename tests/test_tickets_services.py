import pytest

from core import errors
from tickets import services


@pytest.fixture
def member_unit(make_user, make_unit):
    member, viewer = make_user(), make_user()
    return member, viewer, make_unit(members={member: "member", viewer: "viewer"})


def test_change_is_journaled_with_old_and_new(member_unit, make_ticket, status_named):
    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member)
    journal = services.update_ticket(
        member,
        ticket,
        {"status": status_named("受付"), "subject": "新しい件名"},
        notes="受け付けました",
    )
    details = {d.name: (d.old_value, d.new_value) for d in journal.details}
    assert details["status_id"] == (str(status_named("起票").id), str(status_named("受付").id))
    assert details["subject"][1] == "新しい件名"
    assert journal.notes == "受け付けました" and journal.user == member
    assert ticket.version == 2


def test_workflow_refuses_a_transition_it_does_not_allow(member_unit, make_ticket, status_named):
    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member, status=status_named("完了"))
    with pytest.raises(errors.Invalid, match="ワークフロー"):
        services.update_ticket(member, ticket, {"status": status_named("対応中")})


def test_viewer_cannot_change_a_ticket(member_unit, make_ticket, status_named):
    member, viewer, unit = member_unit
    ticket = make_ticket(unit, member)
    with pytest.raises(errors.Forbidden):
        services.update_ticket(viewer, ticket, {"subject": "x"})


def test_second_writer_is_refused(member_unit, make_ticket):
    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member)
    loaded_version = ticket.version
    services.update_ticket(member, ticket, {"subject": "一人目"}, expected_version=loaded_version)
    with pytest.raises(services.StaleTicket):
        services.update_ticket(
            member, ticket, {"subject": "二人目"}, expected_version=loaded_version
        )
    assert ticket.subject == "一人目"


def test_last_child_closing_closes_the_parent_and_reopening_reopens(
    member_unit, make_ticket, status_named
):
    member, _viewer, unit = member_unit
    grandparent = make_ticket(unit, member)
    parent = make_ticket(unit, member, parent=grandparent)
    first = make_ticket(unit, member, parent=parent)
    second = make_ticket(unit, member, parent=parent)
    done = status_named("完了")
    services.update_ticket(member, first, {"status": done})
    assert not parent.status.is_closed
    services.update_ticket(member, second, {"status": done})
    assert parent.status == done and grandparent.status == done
    system_note = parent.journals[-1]
    assert system_note.user is None and "自動的に完了" in system_note.notes

    facilitator_reopen = status_named("対応中")
    services.update_ticket(None, second, {"status": facilitator_reopen})
    assert not parent.status.is_closed and not grandparent.status.is_closed
    assert "再オープン" in parent.journals[-1].notes


def test_a_ticket_never_becomes_its_own_ancestor(member_unit, make_ticket):
    member, _viewer, unit = member_unit
    top = make_ticket(unit, member)
    child = make_ticket(unit, member, parent=top)
    with pytest.raises(errors.Invalid):
        services.update_ticket(member, top, {"parent": child})
    with pytest.raises(errors.Invalid):
        services.update_ticket(member, top, {"parent": top})


def test_a_parent_the_actor_cannot_see_is_refused(member_unit, make_ticket, make_user, make_unit):
    member, _viewer, unit = member_unit
    stranger = make_user()
    hidden = make_ticket(make_unit(members={stranger: "member"}), stranger)
    with pytest.raises(errors.Invalid):
        make_ticket(unit, member, parent=hidden)


def test_children_done_counts_closed_children(member_unit, make_ticket, status_named):
    member, _viewer, unit = member_unit
    parent = make_ticket(unit, member)
    make_ticket(unit, member, parent=parent, status=status_named("却下"))
    make_ticket(unit, member, parent=parent)
    assert services.children_done(parent) == (1, 2)


def test_history_reads_as_names_not_ids(member_unit, make_ticket, status_named):
    from datetime import date

    from tickets import history

    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member, description="旧い説明")
    services.update_ticket(
        member,
        ticket,
        {
            "status": status_named("受付"),
            "assignee": member,
            "due_date": date(2026, 12, 4),
            "description": "新しい説明",
        },
    )
    [journal] = history.journals_of(ticket)
    changes = {c.label: c for c in history.describe([journal])[journal.id]}
    assert (changes["ステータス"].old, changes["ステータス"].new) == ("起票", "受付")
    assert (changes["担当者"].old, changes["担当者"].new) == (None, member.name)
    assert changes["期日"].new == "2026年12月4日(金)"
    description = changes["説明"]
    assert description.long and (description.old, description.new) == ("旧い説明", "新しい説明")
