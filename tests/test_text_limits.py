"""Every text field has a longest length (textfields.py), enforced by the services: the HTML
forms, /api/v1 and the Redmine API answer 422 naming the field, and nothing is written.
Control characters are removed from every text; tabs and line breaks stay in multi-line
texts."""

import pytest
import sqlalchemy as sa

from accounts import services as accounts
from core import errors, textfields
from core.extensions import db
from minutes import confirmations, homework, items, revisions
from minutes.models import Item
from projects import services as projects
from tickets import reference, services
from tickets.models import Journal, Ticket


@pytest.fixture
def member(make_user):
    return make_user(login="tanaka", name="田中 花子", language="en")


@pytest.fixture
def unit(make_unit, member):
    return make_unit(members={member: "facilitator"})


def _journals(ticket) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(Journal.ticket_id == ticket.id))


def test_the_redmine_api_refuses_a_note_over_the_limit_in_redmines_words(
    api, member, unit, make_ticket
):
    ticket = make_ticket(unit, member)
    too_long = "議" * (textfields.LONG_TEXT + 1)
    response = api("PUT", f"/issues/{ticket.id}.json", member, json={"issue": {"notes": too_long}})
    assert response.status_code == 422
    assert response.json == {
        "errors": [f"Notes is too long (maximum is {textfields.LONG_TEXT} characters)"]
    }
    assert _journals(ticket) == 0
    longest = "議" * textfields.LONG_TEXT
    response = api("PUT", f"/issues/{ticket.id}.json", member, json={"issue": {"notes": longest}})
    assert response.status_code == 204 and _journals(ticket) == 1


@pytest.mark.parametrize(
    "field, label, limit",
    [
        ("subject", "Subject", textfields.SUBJECT),
        ("description", "Description", textfields.LONG_TEXT),
    ],
)
def test_the_redmine_api_refuses_a_new_issue_with_a_text_over_the_limit(
    api, member, unit, field, label, limit
):
    issue = {"project_id": unit.id, "subject": "帳票が出ない", field: "あ" * (limit + 1)}
    response = api("POST", "/issues.json", member, json={"issue": issue})
    assert response.status_code == 422
    assert response.json == {"errors": [f"{label} is too long (maximum is {limit} characters)"]}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 0


def test_api_v1_refuses_an_item_text_over_the_limit_naming_the_field(
    client, member, unit, make_meeting, token_of
):
    meeting = make_meeting(unit=unit, actor=member)
    response = client.post(
        f"/api/v1/meetings/{meeting.id}/items",
        json={"kind": "goal", "text": "目" * (textfields.ITEM_TEXT + 1)},
        headers={"X-API-Key": token_of(member)},
    )
    assert response.status_code == 422
    assert response.json["field"] == "text"
    assert response.json["errors"] == [
        f"Text is too long (maximum is {textfields.ITEM_TEXT} characters)"
    ]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Item)) == 0


def test_api_v1_refuses_a_meeting_title_over_the_limit(client, member, unit, token_of):
    response = client.post(
        "/api/v1/meetings",
        json={"unit": unit.identifier, "title": "会" * 201, "starts_at": "2026-12-01T10:00"},
        headers={"X-API-Key": token_of(member)},
    )
    assert response.status_code == 422 and response.json["field"] == "title"


def test_the_ticket_form_answers_422_with_the_field_named(client, login, member, unit, make_ticket):
    ticket = make_ticket(unit, member)
    login(member)
    page = client.post(
        f"/issues/{ticket.id}",
        data={
            "project_id": ticket.project_id,
            "tracker_id": ticket.tracker_id,
            "subject": ticket.subject,
            "description": "",
            "status_id": ticket.status_id,
            "priority_id": ticket.priority_id,
            "assignee_id": 0,
            "done_ratio": 0,
            "version": ticket.version,
            "notes": "記" * (textfields.LONG_TEXT + 1),
        },
    )
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert f"Notes is too long (maximum is {textfields.LONG_TEXT} characters)" in html
    assert f'maxlength="{textfields.LONG_TEXT}"' in html
    assert _journals(ticket) == 0


def test_the_item_form_answers_422_with_the_field_named(client, login, member, unit, make_meeting):
    meeting = make_meeting(unit=unit, actor=member)
    item = items.add_item(member, meeting, "goal", "帳票の確認")
    db.session.commit()
    login(member)
    page = client.post(
        f"/meetings/{meeting.id}/items/{item.id}",
        data={"edit-text": "目" * (textfields.ITEM_TEXT + 1), "edit-version": item.version},
    )
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert f"Text is too long (maximum is {textfields.ITEM_TEXT} characters)" in html
    db.session.expire_all()
    assert db.session.get(Item, item.id).text == "帳票の確認"


def test_the_services_refuse_before_they_write(member, unit, make_meeting):
    meeting = make_meeting(unit=unit, actor=member)
    seq = meeting.change_seq
    with pytest.raises(errors.Invalid) as refused:
        items.add_item(member, meeting, "result", "果" * (textfields.ITEM_TEXT + 1))
    assert refused.value.field == "text"
    assert meeting.change_seq == seq  # the meeting's write lock was never taken
    with pytest.raises(errors.Invalid) as refused:
        homework.add_homework(member, meeting, "山本 翔", "宿" * 256, None)
    assert refused.value.field == "what"


def test_control_characters_are_removed_and_line_breaks_kept_where_they_belong(
    member, unit, make_ticket, make_meeting
):
    ticket = make_ticket(
        unit, member, subject="帳票\x00が出ない\x1b[31m\r\n件", description="a\x07b"
    )
    assert ticket.subject == "帳票が出ない[31m 件"
    assert ticket.description == "ab"
    journal = services.add_note(member, ticket, "一行目\r\n\t二行目\x00\x85\x7f")
    assert journal.notes == "一行目\r\n\t二行目"
    meeting = make_meeting(unit=unit, actor=member, title="定例会\x00", place="会議室\x0bA")
    assert (meeting.title, meeting.place) == ("定例会", "会議室A")
    item = items.add_item(member, meeting, "goal", "目標\x00\n- 帳票\ud800")
    assert item.text == "目標\n- 帳票"


def test_a_text_of_only_control_characters_is_blank(member, unit, make_ticket):
    with pytest.raises(errors.Invalid) as refused:
        make_ticket(unit, member, subject="\x00\x01")
    assert refused.value.field == "subject"


def test_an_objection_over_the_limit_is_refused_and_its_controls_removed(
    ready_meeting, freeze_meeting
):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    yamamoto = next(a for a in meeting.attendees if a.name == "山本 翔")
    with pytest.raises(revisions.ConfirmationError, match="異議は4000文字以内"):
        confirmations.object_to(
            yamamoto.user, revision, yamamoto, "異" * (textfields.OBJECTION + 1)
        )
    answer = confirmations.object_to(yamamoto.user, revision, yamamoto, "期限は\x0012月18日\nです")
    assert answer.objection == "期限は12月18日\nです"


def test_tracker_names_are_checked_by_the_service(make_user):
    admin_user = make_user(is_admin=True)
    with pytest.raises(reference.ReferenceDataError) as refused:
        reference.save_tracker(admin_user, None, {"name": "ト" * 61})
    assert refused.value.field == "name"
    tracker = reference.save_tracker(admin_user, None, {"name": "障害\x00", "name_en": "Bug\t"})
    assert (tracker.name, tracker.name_en) == ("障害", "Bug")


def test_project_and_unit_names_are_checked_and_cleaned_by_the_service():
    with pytest.raises(projects.ProjectError) as refused:
        projects.create_project("市" * 201, "p-long", 2026)
    assert refused.value.field == "name"
    project = projects.create_project(
        "テスト市\x00 令和8年度", "p-clean", 2026, description="a\x07\nb"
    )
    assert (project.name, project.description) == ("テスト市 令和8年度", "a\nb")
    with pytest.raises(projects.ProjectError) as refused:
        projects.create_unit(project, "住民記録", "p-clean-u", name_en="R" * 201)
    assert refused.value.field == "name_en"


def test_people_and_organisation_names_are_checked_and_cleaned_by_the_service(make_user):
    with pytest.raises(accounts.AccountError) as refused:
        accounts.create_user("long", "名" * 101)
    assert refused.value.field == "name"
    user = make_user(name="山本\x1b 翔")
    assert user.name == "山本 翔"
    organisation = accounts.save_organisation(None, {"name": "上州\x00システム", "kind": "vendor"})
    assert organisation.name == "上州システム"
