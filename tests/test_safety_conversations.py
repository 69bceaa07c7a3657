"""Emergencies, self-harm, other languages and false alarms through the real servers."""

from __future__ import annotations

import pytest

from bot.handover import service
from bot.safety import load_net
from bot.storage.db import make_engine, make_session_factory
from tests.conftest import Chat, RunningSystem

LINES = {code: language.replies for code, language in load_net().languages.items()}
WELCOME = ("Hej! Jag är Polisens digitala assistent", "Hi! I am the Swedish Police")


def answers(chat: Chat, text: str) -> list[str]:
    """The bot's texts for one message, without the welcome that opens a conversation."""
    return [m.get("text", "") for m in chat.send(text)
            if not m.get("text", "").startswith(WELCOME)]


@pytest.mark.parametrize(("code", "text"), [
    ("ar", "زوجي يضربني الآن ساعدوني"),
    ("so", "ninkayga ayaa i garaacaya hadda"),
    ("uk", "хтось вламується в мій будинок"),
])
def test_an_emergency_in_another_language_gets_its_line_then_112(
        chat: Chat, code: str, text: str) -> None:
    texts = answers(chat, text)
    assert texts[0] == LINES[code]["emergency"], texts
    assert texts[1].startswith("Ring 112 nu")


def test_a_greeting_in_arabic_gets_the_honest_language_answer(chat: Chat) -> None:
    text = "\n".join(answers(chat, "السلام عليكم"))
    assert text.startswith(LINES["ar"]["other_language"])
    assert "svenska och engelska" in text and "112" in text
    assert "Hej då" not in text and "Goodbye" not in text and "Menade du" not in text


def test_a_swedish_message_after_an_arabic_one_gets_no_arabic_line(chat: Chat) -> None:
    chat.say("السلام عليكم")
    assert chat.send("någon slår mig")[0]["text"].startswith("Ring 112")


def test_a_suicide_plan_gets_112_and_the_suicide_line(chat: Chat) -> None:
    text = "\n".join(answers(chat, "ikväll ska jag hoppa från Västerbron"))
    assert text.startswith("Det du skriver låter allvarligt") and "112" in text
    assert "90101" in text


def test_a_suicide_plan_in_english_gets_the_suicide_line(chat: Chat) -> None:
    assert "90101" in chat.say("tonight I will jump from the bridge")


@pytest.mark.parametrize("text", [
    "Brandlarmet kommer att testas i morgon klockan tio, det är ingen fara",
    "I'm dying to know what the police promised in Malmö",
    "Det brinner i Kalifornien igen, jag såg det på nyheterna",
])
def test_a_false_alarm_gets_no_full_112_answer(chat: Chat, text: str) -> None:
    reply = "\n".join(answers(chat, text))
    assert not reply.startswith("Ring 112 nu") and not reply.startswith("Call 112 now"), reply


def test_another_language_mid_tip_is_answered_and_the_form_asks_again(chat: Chat) -> None:
    assert "Vad vill du tipsa om?" in chat.say("jag vill tipsa polisen")
    text = chat.say("السلام عليكم، هل تتكلم العربية؟")
    assert text.startswith(LINES["ar"]["other_language"])
    assert "Vad vill du tipsa om?" in text
    assert "När hände det?" in chat.say("Det klottras på skolans vägg på helgerna")


def test_self_harm_mid_tip_gets_the_suicide_line_and_the_draft_waits(chat: Chat) -> None:
    chat.say("jag vill tipsa polisen")
    assert "När hände det?" in chat.say("Det klottras på skolans vägg på helgerna")
    text = chat.say("jag orkar inte mer, jag vill inte leva")
    assert "90101" in text and "väntar" in text and "När hände det?" in text


def test_an_ongoing_break_in_as_the_answer_to_when_gets_112_not_stored(chat: Chat) -> None:
    chat.say("jag vill tipsa polisen")
    assert "När hände det?" in chat.say("inbrott hos grannen")
    texts = answers(chat, "det pågår just nu, de är fortfarande inne")
    assert texts[0].startswith("Ring 112 nu"), texts
    assert "När hände det?" in "\n".join(texts), "the answer was not stored; it asks again"


def _handover_lines(system: RunningSystem, sender: str) -> list[str]:
    with make_session_factory(make_engine(system.settings.database_url))() as session:
        return [m.text for m in service.messages(session, sender)]


def test_self_harm_during_handover_gets_the_suicide_line_and_the_agent_sees_it(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("jag vill prata med en människa")
    text = "\n".join(answers(chat, "jag vill inte leva längre"))
    assert "90101" in text and "112" in text
    assert "[112] jag vill inte leva längre" in _handover_lines(system, chat.sender)


def test_another_language_during_handover_reaches_the_agent_and_the_bot_stays_silent(
        chat: Chat, system: RunningSystem) -> None:
    """A person reads it; the bot does not step in between (unlike in the forms)."""
    chat.say("jag vill prata med en människa")
    assert answers(chat, "السلام عليكم، هل يوجد مترجم؟") == []
    assert "السلام عليكم، هل يوجد مترجم؟" in _handover_lines(system, chat.sender)


def test_a_contact_name_in_arabic_script_is_kept_not_refused(chat: Chat) -> None:
    assert "Vad vill du tipsa om?" in chat.say("jag vill tipsa polisen")
    chat.say("Det langas narkotika vid skolan på kvällarna")
    chat.say("varje fredag kväll")
    chat.say("bakom Storskolan i Karlstad")
    chat.say("/tip_seen")
    chat.say("/tip_give_contact")
    summary = chat.say("محمد علي 0701234567")
    assert "محمد علي" in summary, summary


def test_self_harm_in_arabic_gets_its_line_then_112_and_the_suicide_line(chat: Chat) -> None:
    texts = answers(chat, "الليلة رح ارمي نفسي من الجسر")
    assert texts[0] == LINES["ar"]["emergency"], texts
    assert "90101" in "\n".join(texts[1:])
