"""Out of the contact centre's staffing hours: the bot says so, gives 114 14 and takes a
callback request (a system of its own, started with CHAT_HOURS=never)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.handover import service
from bot.storage.db import make_engine, make_session_factory
from tests.conftest import RunningSystem, running_system


@pytest.fixture(scope="module")
def closed_system(model_path: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    with running_system(model_path, tmp_path_factory, CHAT_HOURS="never") as running:
        yield running


def test_out_of_hours_gives_114_14_and_stores_a_callback(closed_system: RunningSystem) -> None:
    chat = closed_system.chat()
    chat.say("hej")
    text = chat.say("jag vill prata med en människa")
    assert "stängd just nu" in text and "114 14" in text
    assert "telefonnummer" in chat.say("/callback_request")
    assert "Vad heter du?" in chat.say("070-123 45 67")
    assert "När passar" in chat.say("/tip_skip")
    done = chat.say("efter klockan 17")
    assert "registrerad" in done and "C-" in done
    engine = make_engine(closed_system.settings.database_url)
    with make_session_factory(engine)() as session:
        callbacks = service.list_callbacks(session)
    engine.dispose()
    assert any(c.conversation_id == chat.sender for c in callbacks)


def test_violence_in_a_close_relationship_offers_a_person_and_quick_exit(
        closed_system: RunningSystem) -> None:
    chat = closed_system.chat()
    chat.say("hej")
    messages = chat.send("min sambo kontrollerar allt jag gör")
    text = " ".join(m.get("text", "") for m in messages)
    assert "112" in text and "Snabb utgång" in text
    assert any(b.get("payload") == "/request_human" for m in messages
               for b in m.get("buttons", []))


def test_out_of_hours_mid_tip_the_callback_offer_keeps_the_draft(
        closed_system: RunningSystem) -> None:
    chat = closed_system.chat()
    chat.say("hej")
    chat.say("jag vill tipsa polisen")
    chat.say("Någon säljer stulna cyklar från ett garage")
    text = chat.say("jag vill prata med en människa")
    assert "stängd just nu" in text and "skicka tipset" in text
    assert "telefonnummer" in chat.say("/callback_request")
    chat.say("070-123 45 67")
    chat.say("/tip_skip")
    assert "registrerad" in chat.say("/tip_skip")
    assert "När hände det?" in chat.say("skicka tipset")
    chat.say("varje lördag")
    chat.say("/tip_skip")
    chat.say("/tip_told")
    assert "Någon säljer stulna cyklar" in chat.say("/tip_anonymous")
