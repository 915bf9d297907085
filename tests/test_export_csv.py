"""CSV for Japanese Excel: UTF-8 with BOM, CRLF, formula cells neutralised; same filters."""

import csv
import io
from datetime import date

import pytest

from core.extensions import db
from exports import csv as csvs

BOM = b"\xef\xbb\xbf"


def parse(response) -> list[list[str]]:
    assert response.status_code == 200, response.data[:500]
    assert response.mimetype == "text/csv"
    data = response.data
    assert data.startswith(BOM)
    text = data[len(BOM) :].decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


@pytest.mark.parametrize(
    "value, cell",
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+81-27-224-1111", "'+81-27-224-1111"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ('＝HYPERLINK("http://evil")', '\'＝HYPERLINK("http://evil")'),
        ("＋81-27", "'＋81-27"),
        ("－1＋2", "'－1＋2"),
        ("＠SUM(A1)", "'＠SUM(A1)"),
        ("住民票 = 写し", "住民票 = 写し"),
        ("住民票＝写し", "住民票＝写し"),
        (-5, "-5"),
        (None, ""),
    ],
)
def test_cells_that_excel_would_run_as_formulas_are_neutralised(value, cell):
    rows = list(csv.reader(io.StringIO(csvs.to_bytes(["h"], [[value]])[3:].decode(), newline="")))
    assert rows[1] == [cell]


def test_issues_csv_takes_the_same_filter_as_the_ticket_list(
    client, login, make_user, make_unit, make_ticket, status_named
):
    me = make_user()
    unit = make_unit(members={me: "member"})
    wanted = make_ticket(unit, subject="=住基の帳票が出ない", assignee_id=me.id)
    make_ticket(unit, subject="他人の問い合わせ")
    closed = make_ticket(unit, subject="完了した問い合わせ", assignee_id=me.id)
    from tickets import services

    services.update_ticket(None, closed, {"status_id": status_named("完了").id})
    db.session.commit()
    login(me)
    rows = parse(client.get("/issues.csv?assigned_to_id=me&status_id=open"))
    assert rows[0][0] == "#" and "件名" in rows[0]
    assert [r[0] for r in rows[1:]] == [str(wanted.id)]
    subject = rows[1][rows[0].index("件名")]
    assert subject == "'=住基の帳票が出ない"
    listed = client.get("/issues?assigned_to_id=me&status_id=open").data.decode()
    assert "住基の帳票が出ない" in listed and "他人の問い合わせ" not in listed
    everyone = parse(client.get(f"/projects/{unit.identifier}/issues.csv?status_id=*"))
    assert len(everyone) == 4


def test_issues_csv_refuses_a_bad_filter(client, login, make_user):
    login(make_user())
    assert client.get("/issues.csv?created_on=notadate").status_code == 422


def test_homework_csv_of_a_meeting_and_of_its_project(client, login, ready_meeting, make_item):
    meeting = ready_meeting()
    make_item(meeting, "homework", who="上州システムサービス 山本", what="-見積を再提出する",
              due_date=date(2026, 12, 18))  # fmt: skip
    login(meeting.facilitator)
    rows = parse(client.get(f"/meetings/{meeting.id}/homework.csv"))
    header = rows[0]
    assert header[:8] == [
        "会議日",
        "会議",
        "業務単位",
        "誰が",
        "何を",
        "いつまでに",
        "チケット",
        "ステータス",
    ]
    by_what = {r[header.index("何を")]: r for r in rows[1:]}
    first = by_what["帳票レイアウトの見本を作って共有する"]
    assert first[header.index("誰が")] == "佐藤 花子"
    assert first[header.index("いつまでに")] == "2026-12-11"
    assert first[header.index("目標")] == "帳票レイアウト変更の要否を判断する"
    assert "'-見積を再提出する" in by_what
    project_rows = parse(client.get(f"/projects/{meeting.unit.parent.identifier}/homework.csv"))
    assert len(project_rows) == 3


def test_results_csv_lists_the_decisions_with_their_goal(client, login, ready_meeting):
    meeting = ready_meeting()
    login(meeting.facilitator)
    rows = parse(client.get(f"/projects/{meeting.unit.identifier}/results.csv"))
    header = rows[0]
    assert rows[1][header.index("成果")] == "窓口とコンビニ交付の両方で対応する"
    assert rows[1][header.index("目標")] == "住民票の写しの交付方法を決める"
    assert rows[1][header.index("会議")] == meeting.title
    assert len(parse(client.get(f"/meetings/{meeting.id}/results.csv"))) == 2
