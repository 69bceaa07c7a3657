"""Full tip conversations over the real REST channel: what the citizen is asked, what they
confirm, and that a reference is shown only for a tip that is stored."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from bot.storage.db import make_engine
from tests.conftest import Chat, RunningSystem

REFERENCE = re.compile(r"T-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


def _tips(system: RunningSystem) -> int:
    engine = make_engine(system.settings.database_url)
    with engine.connect() as connection:
        count = connection.execute(sa.text("SELECT count(*) FROM tips")).scalar_one()
    engine.dispose()
    return int(count)


def _fill(chat: Chat, what: str = "Det langas narkotika vid skolan på kvällarna") -> str:
    assert "Vad vill du tipsa om?" in chat.say("jag vill tipsa polisen")
    assert "När hände det?" in chat.say(what)
    assert "Var hände det?" in chat.say("varje fredag kväll")
    assert "Hur vet du" in chat.say("bakom Storskolan i Karlstad")
    text = chat.say("/tip_seen")
    assert "Kontaktuppgifter är frivilliga" in text and "allmän handling" in text
    return text


def test_an_anonymous_tip_is_stored_and_only_then_gets_a_reference(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    before = _tips(system)
    _fill(chat)
    summary = chat.say("/tip_anonymous")
    assert "Så här ser ditt tips ut" in summary and "anonym" in summary
    assert not REFERENCE.search(summary)
    done = chat.say("/affirm")
    assert REFERENCE.search(done), done
    assert _tips(system) == before + 1


def test_a_tip_with_contact_details_in_english(chat: Chat, system: RunningSystem) -> None:
    assert "What do you want to tell" in chat.say("I want to give a tip")
    chat.say("Someone is selling stolen bikes from a garage")
    chat.say("every Saturday morning")
    chat.say("/tip_skip")
    chat.say("someone told me")
    assert "How can the police reach you?" in chat.say("/tip_give_contact")
    summary = chat.say("070-123 45 67")
    assert "Contact: 070-123 45 67" in summary and "Where: don't know" in summary
    assert REFERENCE.search(chat.say("/affirm"))


def test_an_answer_can_be_corrected_before_sending(chat: Chat) -> None:
    chat.say("hej")
    _fill(chat)
    chat.say("/tip_anonymous")
    assert "När hände det?" in chat.say("/tip_change_when")
    summary = chat.say("igår kväll vid 22")
    assert "När: igår kväll vid 22" in summary


def test_cancelling_sends_nothing_and_forgets_the_answers(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    before = _tips(system)
    chat.say("jag vill tipsa polisen")
    chat.say("Någon kör för fort på min gata varje natt")
    assert "Vill du kasta tipset?" in chat.say("avbryt")
    assert "skickades inte" in chat.say("ja")
    assert _tips(system) == before
    assert "Vad vill du tipsa om?" in chat.say("jag vill lämna ett tips")


def test_an_emergency_mid_tip_gets_112_and_keeps_the_draft(chat: Chat) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    assert "När hände det?" in chat.say("Det klottras på skolans vägg på helgerna")
    messages = chat.send("han står utanför min dörr med en kniv just nu")
    assert messages[0]["text"].startswith("Ring 112")
    texts = " ".join(m["text"] for m in messages)
    assert "väntar" in texts and "När hände det?" in texts
    chat.say("varje helg")
    chat.say("/tip_skip")
    chat.say("/tip_heard")
    assert "Det klottras på skolans vägg" in chat.say("/tip_anonymous")


def test_a_tip_that_sounds_alarming_is_kept_with_a_112_reminder(chat: Chat) -> None:
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    text = chat.say("någon bröt sig in i källarförråden förra helgen")
    assert "När hände det?" in text
    assert "112" in text


def test_a_victim_who_wants_to_report_is_guided_to_a_police_report(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("jag vill anmäla att någon stal min plånbok igår")
    assert "polisanmälan" in text and "Vad vill du tipsa om?" not in text


def test_sending_twice_stores_one_tip(chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    _fill(chat)
    chat.say("/tip_anonymous")
    before = _tips(system)
    first = chat.say("/affirm")
    chat.say("/affirm")
    assert REFERENCE.search(first)
    assert _tips(system) == before + 1


def test_a_storage_failure_gives_no_reference_and_says_114_14(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    _fill(chat)
    chat.say("/tip_anonymous")
    engine = make_engine(system.settings.database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE tips RENAME TO tips_away"))
    try:
        text = chat.say("/affirm")
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text("ALTER TABLE tips_away RENAME TO tips"))
        engine.dispose()
    assert not REFERENCE.search(text)
    assert "kom inte fram" in text and "114 14" in text


def test_the_database_file_holds_no_plain_tip_text(chat: Chat, system: RunningSystem) -> None:
    secret = "Hemlig detalj om blå Volvo ABC123 vid Qvarnbyxan"
    chat.say("hej")
    _fill(chat, what=secret)
    chat.say("/tip_anonymous")
    assert REFERENCE.search(chat.say("/affirm"))
    database = Path(system.settings.database_url.removeprefix("sqlite:///"))
    engine = make_engine(system.settings.database_url)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert secret.encode() not in raw
    assert b"Qvarnbyxan" not in raw  # a word no reference table holds
