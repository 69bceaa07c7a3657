"""An unsure message gets "did you mean…?" only when the guess is an errand worth naming."""

from __future__ import annotations

from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.fallback import UnsureFallbackClassifier

CONFIG = {**FallbackClassifier.get_default_config(), "threshold": 0.5,
          "ambiguity_threshold": 0.05}


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
