"""3+ character words in tickets: on SQLite one trigram document per ticket (migration 0009)
holds its subject, description and the notes that are not private. The same rows as a scan
of the texts, kept in step when tickets and notes are edited, hidden or deleted, and a word
never matches across two texts."""

import os

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from app import create_app
from core.extensions import db
from tickets import queries, services
from tickets.models import Journal, Ticket

DOCUMENT = "fts_tickets_trigrams"


@pytest.fixture
def member_unit(make_user, make_unit):
    member = make_user()
    return member, make_unit(members={member: "manager"})  # a manager may delete tickets


def found(user, q):
    rows, total = queries.keyword_search(user, q)
    assert total == len(rows)
    return {t.subject for t in rows}


def sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def assert_document_intact():
    """The documents equal what the rows spell now: SQLite's view, PostgreSQL's gram
    document computed anew (the triggers merge an added note's grams instead)."""
    if sqlite():
        db.session.execute(
            sa.text(f"INSERT INTO {DOCUMENT}({DOCUMENT}, rank) VALUES ('integrity-check', 1)")
        )
        return
    anew = "fts_tickets_grams(tickets)"
    stale = f"SELECT count(*) FROM tickets WHERE NOT (fts_grams @> {anew} AND fts_grams <@ {anew})"
    assert db.session.scalar(sa.text(stale)) == 0


def test_every_longer_substring_finds_the_same_rows_as_a_scan(member_unit, make_ticket):
    """Each 3–5 character substring of subjects, descriptions and notes (and its other-case
    spelling) finds exactly the tickets with a text that contains it; a private note
    finds nothing."""
    member, unit = member_unit
    texts = {  # subject: (description, public notes, private notes)
        "LGWAN接続の確認": ("PCの設定を変更", ["Printer 2F 故障"], []),
        "住民票の様式": (None, ["来週の定例で説明します。", "様式第3号を送付"], ["内密の相談"]),
        "納付書の再発行": ("", [], ["Secret NOTE"]),
    }
    for subject, (description, public, private) in texts.items():
        ticket = make_ticket(unit, member, subject=subject, description=description)
        for note in public:
            services.add_note(member, ticket, note)
        for note in private:
            services.add_note(member, ticket, note, private=True)
    db.session.commit()
    assert_document_intact()

    def visible(subject):
        description, public, _private = texts[subject]
        return [subject, description or "", *public]

    every = [t for s, (d, pub, priv) in texts.items() for t in [s, d or "", *pub, *priv]]
    words = {text[i : i + n] for text in every for n in (3, 4, 5) for i in range(len(text) - n + 1)}
    words = {w for w in words if w.strip() == w and " " not in w}  # spaces separate words
    words |= {w.swapcase() for w in words}
    assert len(words) > 150
    for word in sorted(words):
        expected = {s for s in texts if any(word.lower() in t.lower() for t in visible(s))}
        assert found(member, word) == expected, word


def test_a_word_never_matches_across_two_texts(member_unit, make_ticket):
    member, unit = member_unit
    ticket = make_ticket(unit, member, subject="窓口の端末", description="遅延の報告")
    services.add_note(member, ticket, "住民票の")
    services.add_note(member, ticket, "様式です")
    db.session.commit()

    assert found(member, "端末遅延") == set()  # end of the subject + start of the description
    assert found(member, "の様式") == set()  # end of one note + start of the next
    assert found(member, "票の様") == set()
    assert found(member, "住民票の") == {"窓口の端末"}
    assert found(member, "様式です") == {"窓口の端末"}


def test_edits_hidden_notes_and_deletes_are_followed(member_unit, make_ticket):
    member, unit = member_unit
    ticket = make_ticket(unit, member, subject="課税データの照会", description="窓口で受付")
    other = make_ticket(unit, member, subject="別件の照会")
    journal = services.add_note(member, other, "督促状の件")
    hidden = services.add_note(member, other, "内密の相談")
    gone = make_ticket(unit, member, subject="廃止予定の課題")
    services.add_note(member, gone, "滞納処分の件")
    dropped = services.add_note(member, ticket, "還付金の件")
    db.session.commit()
    assert found(member, "の照会") == {"課税データの照会", "別件の照会"}
    assert found(member, "内密の") == {"別件の照会"}
    assert found(member, "還付金") == {"課税データの照会"}

    services.update_ticket(
        member, ticket, {"subject": "固定資産の照会", "description": "郵送で受付"}
    )
    db.session.get(Journal, journal.id).notes = "口座振替の件"  # an edited note
    db.session.get(Journal, hidden.id).private_notes = True  # made private afterwards
    db.session.delete(db.session.get(Journal, dropped.id))  # a note removed
    services.delete_ticket(member, gone)  # its journals go with it
    db.session.commit()

    assert found(member, "課税デ") == set()
    assert found(member, "窓口で") == set()
    assert found(member, "固定資産") == {"固定資産の照会"}
    assert found(member, "郵送で") == {"固定資産の照会"}
    assert found(member, "督促状") == set()
    assert found(member, "口座振替") == {"別件の照会"}
    assert found(member, "内密の") == set()
    assert found(member, "還付金") == set()
    assert found(member, "滞納処分") == set()
    assert found(member, "廃止予定") == set()
    assert_document_intact()


def test_a_word_of_four_needs_more_than_its_trigrams(member_unit, make_ticket):
    """PostgreSQL's gram document holds 住民基 and 民基本 for this ticket, each from another
    text: the word 住民基本 is checked on the texts themselves."""
    member, unit = member_unit
    ticket = make_ticket(unit, member, subject="住民基の照会", description="民基本の件")
    note = services.add_note(member, ticket, "住民基本台帳の件")
    services.add_note(member, ticket, "内密: 台帳の確認", private=True)
    other = make_ticket(unit, member, subject="住民基と民基本")
    db.session.commit()
    assert found(member, "住民基本") == {"住民基の照会"}  # from its note
    assert found(member, "民基本台帳") == {"住民基の照会"}
    assert found(member, "基本台") == {"住民基の照会"}
    assert found(member, "帳の確認") == set()  # trigrams only in the private note
    db.session.delete(db.session.get(Journal, note.id))
    db.session.commit()
    assert found(member, "住民基本") == set()
    assert found(member, "民基本") == {"住民基の照会", other.subject}
    assert_document_intact()


def test_a_word_is_one_lookup_in_the_ticket_document(app):
    sql = str(queries.keyword_clause("納付書 住基連携").compile(db.engine))
    if sqlite():
        assert sql.count(f"{DOCUMENT} MATCH") == 2  # one per word, notes included
        assert "journals" not in sql  # no note is read to find its ticket
        return
    # PostgreSQL: one lookup per word in the ticket's gram document; a word of three
    # characters is exact there, a longer one is checked on the texts of the rows found.
    assert sql.count("tickets.fts_grams @> ARRAY[lower(") == 2
    assert sql.count("journals.notes") == 1
    sql = str(queries.keyword_clause("納付書 課").compile(db.engine))
    assert sql.count("tickets.fts_grams @>") == 2
    assert "journals" not in sql and "LIKE" not in sql


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="PostgreSQL's plan (SQLite's is test_a_word_is_one_lookup_in_the_ticket_document)",
)
def test_the_word_is_looked_up_in_the_gram_index(member_unit, make_ticket):
    member, unit = member_unit
    for n in range(30):
        make_ticket(unit, member, subject=f"住基の照会 {n}")
    db.session.commit()
    db.session.execute(sa.text("ANALYZE tickets"))
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))  # 30 rows: as if 100,000
    for word in ("住基", "照会", "住基の照会"):
        stmt = sa.select(Ticket.id).where(queries.keyword_clause(word))
        sql = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
        plan = "\n".join(db.session.scalars(sa.text(f"EXPLAIN {sql}")))
        assert "Bitmap Index Scan on fts_tickets_grams" in plan, plan
        assert queries.ticket_query(member, {"q": word}).page_ids()[1] == 30


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="a PostgreSQL migration, tested in the PostgreSQL run (0011 does nothing on SQLite)",
)
def test_the_gram_documents_go_down_and_up_again(app, member_unit, make_ticket):
    """PostgreSQL: down to 0010 takes the column, its index, triggers and functions away and
    brings back the per-column indexes; up again fills every ticket's document from the
    rows there."""
    member, unit = member_unit
    ticket = make_ticket(unit, member, subject="窓口の端末")
    services.add_note(member, ticket, "督促状の件")
    db.session.commit()
    assert found(member, "督促状") == {"窓口の端末"}

    def objects():
        sql = (
            "SELECT count(*) FROM information_schema.columns WHERE column_name = 'fts_grams' "
            "UNION ALL SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'fts_tickets_grams%' "
            "UNION ALL SELECT count(*) FROM pg_proc WHERE proname LIKE 'fts_tickets_grams%' "
            "OR proname = 'document_grams' "
            "UNION ALL SELECT count(*) FROM pg_indexes WHERE indexname = 'fts_tickets_grams' "
            "UNION ALL SELECT count(*) FROM pg_indexes WHERE indexname IN "
            "('trgm_tickets_description', 'trgm_journals_notes', 'bigram_tickets_subject', "
            "'bigram_tickets_description', 'bigram_journals_notes')"
        )
        return list(db.session.scalars(sa.text(sql)))

    # 4 triggers: the ticket's, a note added, changed, gone; the per-column indexes of the
    # texts in the document are gone (0012), but the subject's trigram index
    assert objects() == [1, 4, 4, 1, 0]
    db.session.remove()  # the migration runs on a connection of its own
    downgrade(revision="0010")
    assert objects() == [0, 0, 0, 0, 5]
    db.session.remove()
    upgrade()
    assert objects() == [1, 4, 4, 1, 0]
    assert found(member, "督促状") == {"窓口の端末"}
    assert found(member, "の端末") == {"窓口の端末"}


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgresql"),
    reason="a SQLite migration, tested in the SQLite run (0009 does nothing on PostgreSQL)",
)
def test_the_migration_goes_down_and_up_again(tmp_path):
    """SQLite: down to 0008 brings back the trigram tables of tickets and of notes, up again
    the documents, each filled from the rows there (the demo data)."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}",
            "INSTANCE_DIR": str(tmp_path),
        }
    )
    with app.app_context():
        upgrade()
        assert app.test_cli_runner().invoke(args=["demo", "load"]).exit_code == 0

        def tables():
            rows = db.session.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'fts_%'")
            )
            return {name for (name,) in rows}

        def filled(fts, word):
            """FTS5's check of the index against the rows, and how many hold `word`."""
            db.session.execute(
                sa.text(f"INSERT INTO {fts}({fts}, rank) VALUES ('integrity-check', 1)")
            )
            match = sa.text(f"SELECT count(*) FROM {fts} WHERE {fts} MATCH :w")
            return db.session.scalar(match, {"w": f'"{word}"'})

        def scan(sql, word):
            return db.session.scalar(sa.text(f"SELECT count(*) FROM {sql}"), {"w": word})

        notes = "journals WHERE instr(notes, :w) > 0"
        subjects = "tickets WHERE instr(subject || char(10) || coalesce(description, ''), :w) > 0"
        tickets = (
            "tickets t WHERE instr(t.subject || char(10) || coalesce(t.description, ''), :w) > 0 "
            "OR EXISTS (SELECT 1 FROM journals j WHERE j.ticket_id = t.id "
            "AND NOT j.private_notes AND instr(j.notes, :w) > 0)"
        )
        word = "します"
        assert scan(notes, word) > 0 and scan(subjects, "の確認") > 0
        assert DOCUMENT in tables() and filled(DOCUMENT, word) == scan(tickets, word)
        assert {"fts_tickets", "fts_journals"}.isdisjoint(tables())

        db.session.remove()  # the migration runs on a connection of its own
        downgrade(revision="0008")
        assert DOCUMENT not in tables()
        assert filled("fts_journals", word) == scan(notes, word)
        assert filled("fts_tickets", "の確認") == scan(subjects, "の確認")

        db.session.remove()
        upgrade()
        assert DOCUMENT in tables() and filled(DOCUMENT, word) == scan(tickets, word)
        assert filled(DOCUMENT, "の確認") == scan(tickets, "の確認")
        assert {"fts_tickets", "fts_journals"}.isdisjoint(tables())
        db.session.remove()
        db.engine.dispose()
