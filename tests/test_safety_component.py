"""SafetyNet, the NLU component, decides deterministically after the classifier."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_components import SafetyNet


@pytest.fixture(scope="module")
def component() -> SafetyNet:
    return SafetyNet.from_rule_files()


def parse(component: SafetyNet, text: str, ranking: list[tuple[str, float]]) -> dict[str, Any]:
    intents = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    message = Message(data={"text": text, "intent": intents[0], "intent_ranking": intents})
    component.process([message])
    entities = {e["entity"]: e["value"] for e in message.get("entities") or []}
    return {"intent": message.get("intent")["name"], **entities}


def test_an_arabic_emergency_is_an_emergency_in_arabic(component: SafetyNet) -> None:
    parsed = parse(component, "في حرامي بالبيت الآن", [("greet", 0.4), ("goodbye", 0.3)])
    assert parsed == {"intent": "emergency", "user_language": "ar"}


def test_self_harm_has_its_own_intent(component: SafetyNet) -> None:
    assert parse(component, "jag vill inte leva längre", [("greet", 0.9)])["intent"] == \
        "emergency_self_harm"


def test_a_greeting_in_persian_is_not_a_guess(component: SafetyNet) -> None:
    parsed = parse(component, "سلام، حال شما چطور است؟", [("goodbye", 0.6), ("greet", 0.3)])
    assert parsed == {"intent": "other_language", "user_language": "fa"}


def test_swedish_keeps_the_classifiers_answer_and_no_other_language(
        component: SafetyNet) -> None:
    assert parse(component, "hej hej", [("greet", 0.9)]) == \
        {"intent": "greet", "user_language": "-"}


def test_a_classifier_only_emergency_still_gets_112(component: SafetyNet) -> None:
    parsed = parse(component, "det är något konstigt på gång här", [("emergency", 0.7),
                                                                  ("give_tip", 0.2)])
    assert parsed["intent"] == "emergency_possible"


@pytest.mark.parametrize("text", [
    "vi har brandövning på jobbet idag",
    "I'm dying to know how the tip form works",
    "det var ett mord i vårt kvarter på 80-talet",
    "är malmö farligt? vi funderar på att flytta dit",
    "we're moving to Linköping, is it safe?",
    "vi vill ha en föreläsning om knivvåld på vår skola",
    "jägare skjuter i skogen varje höst, får dom göra det nära hus?",
    "när larmet gick i morse var det bara en macka som brann, allt är lugnt nu",
    "om min granne slår sin fru vad ska jag göra då",
])
def test_a_classifier_only_emergency_that_is_not_here_and_now_gets_the_normal_answer(
        component: SafetyNet, text: str) -> None:
    parsed = parse(component, text, [("emergency", 0.6), ("give_tip", 0.3), ("greet", 0.1)])
    assert parsed["intent"] == "give_tip"


def test_without_a_clear_second_guess_it_says_what_the_bot_can_do(component: SafetyNet) -> None:
    parsed = parse(component, "vi har brandövning på jobbet idag",
                   [("emergency", 0.5), ("give_tip", 0.2), ("greet", 0.2), ("thank", 0.1)])
    assert parsed["intent"] == "out_of_scope"


def test_a_relatives_farewell_with_a_gun_gets_the_self_harm_answer(component: SafetyNet) -> None:
    text = "min bror skickade precis ett hejdå sms, säger han ska ta livet av sig och har ett vapen"
    assert parse(component, text, [("emergency", 0.9)])["intent"] == "emergency_self_harm"


def test_another_language_that_names_a_swedish_place_gets_the_promise(
        component: SafetyNet) -> None:
    message = Message(data={
        "text": "mieszkam w Malmö, co robi tu policja?", "intent": {"name": "greet"},
        "intent_ranking": [{"name": "greet", "confidence": 0.4}],
        "entities": [{"entity": "place", "value": "1280"}]})
    component.process([message])
    entities = {e["entity"]: e["value"] for e in message.get("entities")}
    assert message.get("intent")["name"] == "ask_promise"
    assert entities == {"place": "1280", "user_language": "pl"}


def test_a_request_for_a_person_in_another_language_keeps_the_handover(
        component: SafetyNet) -> None:
    parsed = parse(component, "chcę rozmawiać z człowiekiem, nie z robotem",
                   [("request_human", 1.0)])
    assert parsed["intent"] == "request_human" and parsed["user_language"] == "pl"


def test_another_language_without_a_place_or_a_request_is_still_other_language(
        component: SafetyNet) -> None:
    assert parse(component, "mieszkam tutaj od roku, co robi policja?",
                 [("greet", 0.4)])["intent"] == "other_language"
