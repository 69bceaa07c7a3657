"""An unsure message gets "did you mean…?" only when the guess is an errand worth naming,
and only the classifier's own best guess is named."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import ActionAskAffirmation
from bot.fallback import UnsureFallbackClassifier

CONFIG = {**FallbackClassifier.get_default_config(), "threshold": 0.5,
          "ambiguity_threshold": 0.05}
DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[1] / "domain.yml").read_text("utf-8"))


def _read(*ranking: tuple[str, float]) -> dict:
    intents = [{"name": name, "confidence": confidence} for name, confidence in ranking]
    message = Message(data={TEXT: "x", INTENT: intents[0], INTENT_RANKING_KEY: intents})
    UnsureFallbackClassifier(CONFIG).process([message])
    return message.get(INTENT)


def test_an_unsure_out_of_scope_guess_gets_the_out_of_scope_answer() -> None:
    intent = _read(("out_of_scope", 0.41), ("help", 0.2), ("emergency", 0.02))
    assert intent == {"name": "out_of_scope", "confidence": 0.41}


def test_an_unsure_small_talk_guess_gets_the_help_answer_with_its_own_low_confidence() -> None:
    assert _read(("greet", 0.43), ("bot_challenge", 0.23), ("help", 0.1)) == {
        "name": "help", "confidence": 0.1}
    assert _read(("goodbye", 0.38), ("greet", 0.24))["name"] == "help"


def test_an_unsure_errand_still_asks_did_you_mean() -> None:
    assert _read(("give_tip", 0.45), ("report_crime", 0.3))["name"] == "nlu_fallback"
    assert _read(("affirm", 0.3), ("deny", 0.25))["name"] == "nlu_fallback"


def test_an_out_of_scope_guess_level_with_an_errand_still_asks() -> None:
    assert _read(("out_of_scope", 0.18), ("promise_followup", 0.18))["name"] == "nlu_fallback"
    assert _read(("help", 0.49), ("out_of_scope", 0.43))["name"] == "nlu_fallback"


def test_a_possible_emergency_never_gets_the_out_of_scope_answer() -> None:
    assert _read(("out_of_scope", 0.43), ("emergency", 0.37))["name"] == "nlu_fallback"
    assert _read(("greet", 0.4), ("out_of_scope", 0.3), ("emergency", 0.2))[
        "name"] == "nlu_fallback"


def test_a_sure_or_clear_reading_is_left_alone() -> None:
    assert _read(("out_of_scope", 0.9), ("help", 0.05)) == {"name": "out_of_scope",
                                                            "confidence": 0.9}
    assert _read(("greet", 0.8), ("goodbye", 0.1))["name"] == "greet"


def _asked(*ranking: tuple[str, float]) -> str:
    message = {"text": "x", "intent": {"name": "nlu_fallback", "confidence": 0.5},
               "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.5},
                                  *({"name": n, "confidence": c} for n, c in ranking)],
               "entities": []}
    tracker = Tracker("citizen-1", {"language": "en"}, message, [], False, None, {},
                      "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAskAffirmation().run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages[0]["text"]


def test_did_you_mean_names_only_the_classifiers_own_best_guess() -> None:
    assert _asked(("give_tip", 0.45), ("report_crime", 0.3)) == (
        "Did you mean: you want to give a tip?")


def test_a_best_guess_without_a_name_asks_to_rephrase_not_about_the_second_guess() -> None:
    rephrase = "I did not quite understand. Can you say it in another way?"
    assert _asked(("out_of_scope", 0.43), ("emergency", 0.37), ("give_tip", 0.1)) == rephrase
    assert _asked(("tip_skip", 0.48), ("ask_promise", 0.14)) == rephrase
