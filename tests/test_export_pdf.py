"""The minutes as a PDF, checked as a PDF: poppler's pdffonts, pdftotext and pdftoppm."""

import re
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest

from core.extensions import db
from exports import pdf as pdfs
from minutes import confirmations, homework, items, revisions

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils (make test installs it)"
)

SHEET_TEXTS = {
    1: ["本日のゴール", "住民票の写しの交付方法を決める", "窓口とコンビニ交付の両方で対応する"],
    2: ["宿題", "帳票レイアウトの見本を作って共有する", "佐藤 花子"],
    3: [
        "さきどり",
        "来年度のマイナンバーカード更新への対応",
        "庁舎ネットワーク工事の日程を共有した",
    ],
}


def write(tmp_path: Path, data: bytes, name="minutes.pdf") -> Path:
    assert data.startswith(b"%PDF-")
    path = tmp_path / name
    path.write_bytes(data)
    return path


def text(path: Path, page: int | None = None) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(
        ["pdftotext", "-layout", *pages, str(path), "-"], capture_output=True, check=True
    )
    return out.stdout.decode("utf-8")


def page_count(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
    return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.M).group(1))


def confirm_everyone(meeting, revision):
    for a in meeting.attendees:
        if a.user is not None:
            confirmations.confirm(a.user, revision, a)
        else:
            confirmations.record_in_room(meeting.facilitator, revision, a)
    db.session.commit()


@pytest.fixture(autouse=True)
def own_cache(app, tmp_path, monkeypatch):
    """Each test starts with an empty PDF cache."""
    monkeypatch.setitem(app.config, "SANMAI_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def confirmed(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    confirm_everyone(meeting, revision)
    return meeting, revision


def test_confirmed_pdf_has_every_sheet_on_its_own_page_in_an_embedded_japanese_font(
    client, login, confirmed, tmp_path, artifacts
):
    meeting, revision = confirmed
    login(meeting.facilitator)
    response = client.get(f"/meetings/{meeting.id}/revisions/1.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = write(tmp_path, response.data)

    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    japanese = [line for line in fonts.splitlines() if "Noto-Sans-CJK-JP" in line]
    assert japanese and all(re.search(r"\byes\s+yes\b", line) for line in japanese), fonts

    pages = page_count(path)
    assert pages >= 3
    where = {}  # sheet number → the page its title is on
    for n in range(1, pages + 1):
        page = text(path, n)
        assert revision.fingerprint in page.replace(" ", ""), f"fingerprint missing on page {n}"
        assert re.search(rf"\b{n}\s*/\s*{pages}\b", page), f"page number missing on page {n}"
        for sheet, needles in SHEET_TEXTS.items():
            if f"{'①②③'[sheet - 1]} " in page and needles[0] in page:
                where[sheet] = n
    assert sorted(where) == [1, 2, 3] and len(set(where.values())) == 3, where
    for sheet, needles in SHEET_TEXTS.items():
        for needle in needles:
            assert needle in text(path, where[sheet]), (sheet, needle)
    assert "案" not in text(path)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(path),
         str(artifacts / "minutes-confirmed-page1")],
        check=True,
    )  # fmt: skip
    assert (artifacts / "minutes-confirmed-page1.png").stat().st_size > 10_000


def test_header_and_confirmation_record(client, login, confirmed, tmp_path):
    meeting, revision = confirmed
    login(meeting.facilitator)
    everything = text(write(tmp_path, client.get(f"/meetings/{meeting.id}.pdf").data))
    assert re.search(r"2026年\d+月\d+日\([月火水木金土日]\)", everything)
    assert "本庁舎 5階 会議室A" in everything and "10:00 – 11:00" in everything
    # Attendees grouped by organisation.
    assert re.search(r"前橋市\s*:\s*鈴木 一郎、佐藤 花子", everything)
    assert re.search(r"赤城データ株式会社\s*:\s*佐々木 健", everything)
    # The homework table: who / what / by when / ticket / status.
    ticket = next(i.ticket for i in meeting.items if i.kind == "homework")
    row = next(x for x in everything.splitlines() if "帳票レイアウトの見本" in x and "#" in x)
    assert "佐藤 花子" in row and "2026年12月11日" in row and f"#{ticket.id}" in row
    assert ticket.status.name in row
    # The confirmation record: name, organisation, time, method.
    record = everything[everything.index("確認記録") :]
    for c in revision.confirmations:
        line = next(x for x in record.splitlines() if c.name in x and c.organisation in x)
        assert confirmations.method_label(c.method) in line or c.method in line
        assert re.search(r"\d{4}年\d+月\d+日", line)


def test_a_working_draft_prints_with_the_draft_mark(client, login, ready_meeting, tmp_path):
    meeting = ready_meeting()
    login(meeting.facilitator)
    path = write(tmp_path, client.get(f"/meetings/{meeting.id}.pdf").data)
    assert "案" in text(path, 1)
    assert "案" in text(path, page_count(path))
    assert "住民票の写しの交付方法を決める" in text(path)


def test_a_frozen_revision_not_yet_confirmed_prints_with_the_draft_mark(
    client, login, ready_meeting, freeze_meeting, tmp_path
):
    meeting = ready_meeting()
    revision = freeze_meeting(meeting)
    login(meeting.facilitator)
    path = write(tmp_path, client.get(f"/meetings/{meeting.id}.pdf").data)
    everything = text(path)
    assert "案" in everything and revision.fingerprint in everything.replace(" ", "")


def test_a_confirmed_pdf_is_made_once_and_served_byte_identical(
    app, client, login, confirmed, monkeypatch
):
    meeting, revision = confirmed
    login(meeting.facilitator)
    first = client.get(f"/meetings/{meeting.id}/revisions/1.pdf")
    cached = list((Path(app.config["SANMAI_CACHE_DIR"]) / "pdf").iterdir())
    assert len(cached) == 1 and cached[0].read_bytes() == first.data

    def never(*_args):
        raise AssertionError("a confirmed revision must not be rendered again")

    monkeypatch.setattr(pdfs, "html_to_pdf", never)
    started = time.perf_counter()
    again = client.get(f"/meetings/{meeting.id}.pdf")
    assert time.perf_counter() - started < 0.5
    assert again.data == first.data and again.headers["ETag"]


def test_the_date_in_japanese_era_style_when_wareki_is_set(
    app, client, login, ready_meeting, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "SANMAI_WAREKI", True)
    meeting = ready_meeting()
    login(meeting.facilitator)
    everything = text(write(tmp_path, client.get(f"/meetings/{meeting.id}.pdf").data))
    assert re.search(r"令和8年\d+月\d+日", everything)


def test_markdown_renders_as_on_screen_and_is_sanitised(
    client, login, ready_meeting, make_item, tmp_path
):
    meeting = ready_meeting()
    make_item(
        meeting,
        "break",
        "**太字の連絡** と [リンク](https://example.jp)\n\n<script>alert('危険な値')</script>",
    )
    login(meeting.facilitator)
    everything = text(write(tmp_path, client.get(f"/meetings/{meeting.id}.pdf").data))
    assert "太字の連絡" in everything and "**" not in everything
    assert "危険な値" not in everything and "<script>" not in everything


def test_a_goal_not_discussed_is_printed_as_such(client, login, ready_meeting, make_item, tmp_path):
    meeting = ready_meeting()
    goal = make_item(meeting, "goal", "窓口混雑対策の方針を決める")
    revisions.mark_not_discussed(meeting.facilitator, goal)
    db.session.commit()
    login(meeting.facilitator)
    everything = text(write(tmp_path, client.get(f"/meetings/{meeting.id}.pdf").data))
    after = everything[everything.index("窓口混雑対策の方針を決める") :]
    assert "協議しなかった" in after.splitlines()[1] + after.splitlines()[2]


def test_a_40_item_meeting_renders_cold_then_from_the_cache(
    app, client, login, ready_meeting, freeze_meeting, artifacts
):
    meeting = ready_meeting()
    actor = meeting.facilitator
    for n in range(10):
        goal = items.add_item(actor, meeting, "goal", f"第{n + 1}の目標: 帳票の改修範囲を決める")
        items.add_item(actor, meeting, "result", f"第{n + 1}の成果: 改修は次期リリースで行う", goal)
        homework.add_homework(actor, meeting, "上州システムサービス 山本", f"第{n + 1}の見積を出す",
                             date(2027, 1, n + 1), goal)  # fmt: skip
        items.add_item(actor, meeting, "preview", f"第{n + 1}のさきどり: 法改正への対応")
    db.session.commit()
    revision = freeze_meeting(meeting)
    confirm_everyone(meeting, revision)
    login(actor)
    started = time.perf_counter()
    cold = client.get(f"/meetings/{meeting.id}.pdf")
    cold_seconds = time.perf_counter() - started
    started = time.perf_counter()
    cached = client.get(f"/meetings/{meeting.id}.pdf")
    cached_seconds = time.perf_counter() - started
    assert cold.data == cached.data
    (artifacts / "pdf-40-items-timing.txt").write_text(
        f"40+ items, {len(cold.data)} bytes: cold {cold_seconds:.2f} s, cached {cached_seconds:.3f} s\n"
    )
    assert cached_seconds < 0.5


def test_an_english_reader_gets_english_labels_and_a_cache_of_its_own(
    app, client, login, confirmed, tmp_path
):
    meeting, revision = confirmed
    login(meeting.facilitator)
    assert client.get(f"/meetings/{meeting.id}.pdf").status_code == 200
    meeting.facilitator.language = "en"
    db.session.commit()
    english = text(write(tmp_path, client.get(f"/meetings/{meeting.id}.pdf").data))
    assert "Today's goals" in english and "Confirmation record" in english
    assert "住民票の写しの交付方法を決める" in english  # the minutes themselves as written
    folder = Path(app.config["SANMAI_CACHE_DIR"]) / "pdf"
    cached = sorted(p.name for p in folder.iterdir())
    assert [n[-6:] for n in cached] == ["en.pdf", "ja.pdf"]
    assert all(n.startswith(revision.fingerprint) for n in cached)
