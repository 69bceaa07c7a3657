"""Rasa's FallbackClassifier, minus the questions nobody asked.

When the classifier is unsure, Rasa predicts `nlu_fallback` and the assistant asks "Did you
mean: <the best guess it can name>?". That is right when the guess is a real errand ("you
want to give a tip?"), but wrong in two measured cases (bench/nlu_check.py on
tests/data/nlu_holdout_breadth.yml):

- the best guess is `out_of_scope` (weather, jokes, sports, politics): the ask-affirmation
  action cannot name it, so it asked about the second guess, something the citizen did not
  ask. The citizen gets the out-of-scope answer (what the assistant can do, polisen.se,
  114 14) instead.
- the best guess is small talk (`greet`, `goodbye`, `thank`, `help`): "Did you mean: you are
  saying hello?" helps nobody. The citizen gets the help answer (what the assistant can do,
  with its buttons).

Either way the classifier's own confidence is kept (a form still treats a low-confidence
message as an answer, not as a question), and a message whose emergency score is not low
keeps the fallback: an out-of-scope answer must never be what someone in danger gets.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message

OUT_OF_SCOPE, HELP, EMERGENCY = "out_of_scope", "help", "emergency"
SMALL_TALK = frozenset({"greet", "goodbye", "thank", HELP})
# Below this emergency score an unsure message may get the out-of-scope or help answer.
# On the held-out sets the emergencies the classifier was unsure about scored 0.17 and more;
# the out-of-scope messages at most 0.12.
MAX_EMERGENCY_CONFIDENCE = 0.15
# ...and only when the guess is clearly ahead of the next one: an unsure out-of-scope guess
# level with a real errand ("när vet man om det fungerat?", a promise follow-up) still asks.
MIN_MARGIN = 0.1


def unsure_answer(ranking: list[dict[str, Any]]) -> str | None:
    """The intent to answer an unsure message with instead of "did you mean…?", or None."""
    if not ranking:
        return None
    best = ranking[0].get(INTENT_NAME_KEY)
    emergency = next((r.get(PREDICTED_CONFIDENCE_KEY) or 0.0 for r in ranking
                      if r.get(INTENT_NAME_KEY) == EMERGENCY), 0.0)
    second = (ranking[1].get(PREDICTED_CONFIDENCE_KEY) or 0.0) if len(ranking) > 1 else 0.0
    margin = (ranking[0].get(PREDICTED_CONFIDENCE_KEY) or 0.0) - second
    if emergency >= MAX_EMERGENCY_CONFIDENCE or margin < MIN_MARGIN:
        return None
    if best == OUT_OF_SCOPE:
        return OUT_OF_SCOPE
    if best in SMALL_TALK:
        return HELP
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class UnsureFallbackClassifier(FallbackClassifier):
    """FallbackClassifier that answers an unsure out-of-scope or small-talk guess directly
    (the same `threshold` and `ambiguity_threshold` options)."""

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> UnsureFallbackClassifier:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        unsure = [m for m in messages if self._should_fallback(m)]
        for message in unsure:
            ranking = message.get(INTENT_RANKING_KEY) or []
            answer = unsure_answer(ranking)
            if answer is None:
                super().process([message])
                continue
            confidence = next((r.get(PREDICTED_CONFIDENCE_KEY) for r in ranking
                               if r.get(INTENT_NAME_KEY) == answer), 0.0)
            message.set(INTENT, {INTENT_NAME_KEY: answer, PREDICTED_CONFIDENCE_KEY: confidence},
                        add_to_output=True)
        return messages
