"""Conversations over the real REST channel: what a citizen reads, in Swedish and English."""

from __future__ import annotations

import pytest

from tests.conftest import Chat


def test_first_turn_says_it_is_an_ai_gives_privacy_note_and_112(chat: Chat) -> None:
    text = chat.say("hej")
    assert "AI" in text and "inte en människa" in text
    assert "personnummer" in text
    assert "ring 112" in text.lower()
    assert "medborgarlöfte" in text and "tips" in text


def test_first_turn_in_english_when_the_user_writes_english(chat: Chat) -> None:
    text = chat.say("Hello, I need some help")
    assert "I am an AI, not a person" in text
    assert "call 112" in text
    assert "personnummer" not in text


def test_the_channel_can_set_the_language(chat: Chat) -> None:
    assert "I am an AI" in chat.say("ok", metadata={"language": "en-GB"})


def test_welcome_comes_only_once(chat: Chat) -> None:
    chat.say("hej")
    assert "Jag är en AI" not in chat.say("vad kan du hjälpa till med?")


def test_reply_follows_the_language_the_user_switches_to(chat: Chat) -> None:
    chat.say("hej")
    assert "114 14" in chat.say("how can I contact the police?")
    assert "open around the clock" in chat.say("what is the police phone number?")
    assert "dygnet runt" in chat.say("vilket nummer ska jag ringa till polisen?")


@pytest.mark.parametrize(("message", "expected"), [
    ("hur kontaktar jag polisen?", ["114 14", "dygnet runt", "vanligt samtal", "112"]),
    ("how do I contact the police", ["114 14", "around the clock", "normal call", "112"]),
    ("när ska jag ringa 112 och när 114 14?", ["112", "114 14", "gratis", "inte är akut"]),
    ("when should I call 112 instead of 114 14?", ["112", "114 14", "free", "not urgent"]),
])
def test_contact_facts(chat: Chat, message: str, expected: list[str]) -> None:
    text = chat.say(message)
    for fact in expected:
        assert fact in text


def test_a_police_report_is_not_a_tip(chat: Chat) -> None:
    text = chat.say("jag vill anmäla att min cykel blev stulen")
    assert "polisanmälan" in text
    assert "stöld och inbrott" in text and "polisen.se" in text
    assert "Våld, hot och trafikbrott" in text and "114 14" in text
    assert "ring 112" in text


def test_report_in_english(chat: Chat) -> None:
    text = chat.say("I want to report a crime, my wallet was stolen")
    assert "police report" in text and "polisen.se" in text and "114 14" in text


def test_what_a_medborgarlofte_is(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("vad är ett medborgarlöfte?")
    assert "lokalpolisen och kommunen" in text
    assert "viss tid" in text and "följs upp" in text
    assert "polisen.se" in text


def test_what_a_citizen_promise_is_in_english(chat: Chat) -> None:
    chat.say("hello")
    messages = chat.send("what is a citizen promise?")
    assert "local police and the municipality" in messages[-1]["text"]
    urls = [b["url"] for b in messages[-1]["buttons"] if "url" in b]
    assert urls and urls[0].startswith("https://polisen.se/")


def test_are_you_a_robot(chat: Chat) -> None:
    chat.say("hej")
    assert "AI" in chat.say("är du en robot?")
    assert "an AI" in chat.say("am I talking to a real human?")


def test_out_of_scope_is_polite_and_says_what_it_can_do(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("vem vann fotbollsmatchen igår?")
    assert "tyvärr" in text.lower() and "medborgarlöften" in text


def test_greeting_thanks_goodbye(chat: Chat) -> None:
    assert "Vad kan jag hjälpa dig med?" in chat.say("hej")
    assert "Varsågod" in chat.say("tack så mycket")
    assert "Hej då" in chat.say("hej då")


def test_asking_for_a_person_queues_for_the_contact_centre(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("kan jag få prata med en människa?")
    assert "kontaktcenter" in text and "i kön" in text


def test_buttons_send_intents(chat: Chat) -> None:
    messages = chat.send("hej")
    payloads = [b["payload"] for m in messages for b in m.get("buttons", [])]
    assert "/contact_police" in payloads
    assert "114 14" in chat.say("/contact_police")


def test_two_stage_fallback_asks_then_offers_options(chat: Chat) -> None:
    chat.say("hej")
    first = chat.send("blorp fnarg quux")
    assert first and first[-1]["text"]
    second = chat.send("zzkx qwpv")
    third = chat.send("vvvv xxxx")
    texts = " ".join(m.get("text", "") for m in second + third)
    assert "annat sätt" in texts or "förstår jag fortfarande inte" in texts
    payloads = [b.get("payload") for m in second + third for b in m.get("buttons", [])]
    assert "/request_human" in payloads, "after failing twice it offers a person"


def test_an_emergency_gets_112_first(chat: Chat) -> None:
    chat.say("hej")
    messages = chat.send("hjälp någon bryter sig in hos mig just nu")
    assert messages[0]["text"].startswith("Ring 112")


def test_an_emergency_in_english_gets_112_first(chat: Chat) -> None:
    messages = chat.send("help, my neighbour is beating his wife right now")
    assert any(m["text"].startswith("Call 112") for m in messages)


def test_an_emergency_after_a_tip_question_still_gets_112(chat: Chat) -> None:
    chat.say("jag vill tipsa polisen")
    assert chat.send("han har en kniv och hotar mig")[0]["text"].startswith("Ring 112")


def test_a_past_burglary_tip_is_not_an_emergency(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("jag vill tipsa om ett inbrott förra månaden")
    assert not text.startswith("Ring 112")
    assert "tips" in text.lower()
