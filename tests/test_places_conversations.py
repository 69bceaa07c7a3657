"""Neighbourhoods outside the three big cities, and everyday words, through the real servers
(Rasa with the place index in its NLU pipeline, and the action server)."""

from __future__ import annotations

from tests.conftest import Chat, RunningSystem


def _places(system: RunningSystem, text: str) -> list[tuple[str, str]]:
    entities = system.parse(text).get("entities") or []
    return [(e["entity"], e["value"]) for e in entities
            if e["entity"] in ("place", "place_option")]


def test_a_neighbourhood_in_norrkoping_is_answered_for_norrkoping(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("vad har polisen lovat i Navestad?")
    assert "Norrköping" in text
    assert "Var bor du?" not in text


def test_alby_in_botkyrka_as_the_answer_to_where_is_botkyrka_never_ange(chat: Chat) -> None:
    chat.say("hej")
    assert "Var bor du?" in chat.say("finns det ett medborgarlöfte där jag bor?")
    text = chat.say("Alby i Botkyrka")
    assert "Botkyrka" in text
    assert "Ånge" not in text


def test_the_pipeline_gives_neighbourhoods_and_leaves_everyday_words_alone(
        system: RunningSystem) -> None:
    assert _places(system, "Gottsunda") == [("place", "0380/Gottsunda")]
    assert _places(system, "jag bor i Ronna") == [("place", "0181/Ronna")]
    assert _places(system, "jag orkar inte bära") == []
    assert _places(system, "sälen på Skansen är söt") == []


def test_a_persons_name_that_is_a_municipality_is_no_place_in_the_pipeline(
        system: RunningSystem) -> None:
    assert _places(system, "min farmor Vilhelmina blev lurad på telefon") == []
    assert _places(system, "min granne Peter Lund spelar hög musik") == []


def test_a_message_in_polish_naming_malmo_gets_the_language_line_and_malmos_promise(
        chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("mieszkam w Malmö, co robi tu policja?")
    assert "Malmö" in text
    assert "Var bor du?" not in text


def test_a_self_correction_answers_for_the_last_place(chat: Chat) -> None:
    chat.say("hej")
    text = chat.say("Norrköping, hur är det där? nej vänta jag menar Linköping")
    assert "Linköping" in text
    assert "Norrköping" not in text
