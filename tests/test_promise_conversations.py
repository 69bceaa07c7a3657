"""Conversations about the local promise over the real REST channel: pilot areas, a place
without a promise, an expired promise, ambiguity and follow-ups on the remembered area."""

from __future__ import annotations

from tests.conftest import Chat


def test_the_promise_for_karlstad_shows_period_status_focus_owners_and_source(
        chat: Chat) -> None:
    chat.say("hej")
    messages = chat.send("vad har polisen lovat i Karlstad?")
    text = messages[-1]["text"]
    assert "Karlstad" in text
    assert "1 juli 2023" in text and "gäller nu" in text
    assert "Fokus:" in text
    assert "Källa: https://polisen.se/" in text
    titles = [b["title"] for b in messages[-1]["buttons"]]
    assert "Alla åtaganden" in titles and "Uppföljning" in titles


def test_an_expired_promise_is_shown_as_expired_with_the_link_for_the_current_one(
        chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("finns det ett medborgarlöfte i Gävle?")
    assert "har gått ut" in text
    assert "Det som gäller nu hittar du på polisen.se" in text


def test_a_place_without_a_promise_says_so_and_names_the_police_region(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("vad är medborgarlöftet i Kiruna?")
    assert "inget medborgarlöfte registrerat för Kiruna" in text
    assert "polisregion Nord" in text
    assert "polisen.se" in text


def test_misspelt_and_inflected_places_are_understood(chat: Chat) -> None:
    chat.say("hej")
    assert "Luleå" in chat.say("medborgarlöfte lulea")
    assert "Eskilstuna" in chat.say("vad har polisen lovat i Eskilstunas kommun")


def test_a_district_finds_the_district_promise(chat: Chat) -> None:
    chat.say("hej")
    assert "Angered" in chat.say("vad har polisen lovat i Hjällbo?")


def test_is_there_a_promise_where_i_live_asks_where_then_answers(chat: Chat) -> None:
    chat.say("hej")
    assert "Var bor du?" in chat.say("finns det ett medborgarlöfte där jag bor?")
    assert "Kalmar" in chat.say("Kalmar")


def test_a_postcode_is_a_place(chat: Chat) -> None:
    chat.say("hej")
    assert "Var bor du?" in chat.say("finns det ett medborgarlöfte där jag bor?")
    assert "Karlstad" in chat.say("652 24")


def test_follow_ups_use_the_remembered_area(chat: Chat) -> None:
    chat.say("hej")
    chat.say("vad har polisen lovat i Göteborg Angered?")
    assert "300" in chat.say("/promise_followup")
    assert "Angered" in chat.say("vem ansvarar för löftet?")
    assert "polisen.se" in chat.say("hur kan jag lämna synpunkter?")


def test_a_topic_question_answers_with_matching_commitments(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("vad gör polisen och kommunen åt trafiken i Eskilstuna?")
    assert "Om trafiken lovar de:" in text
    assert "moped" in text.lower()


def test_english_answers_in_english(chat: Chat) -> None:
    text = chat.say("what is the citizen promise in Gothenburg?")
    assert "Angered" in text and "Source:" in text


def test_an_ambiguous_place_gets_buttons_and_the_choice_answers(chat: Chat) -> None:
    chat.say("hej")
    messages = chat.send("medborgarlöfte i Solberga")
    buttons = messages[-1].get("buttons", [])
    assert len(buttons) >= 2, messages
    assert chat.say(buttons[0]["payload"])
