"""The pipeline component for explicit requests for a person (`bot.person_request`).

It runs after the classifiers and before `SafetyNet`, so an emergency still has the last
word: it never touches a message the classifier thinks may be an emergency, and SafetyNet
still forces 112 on the text itself.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.person_request import PersonRequestNet
from bot.rasa_components import EMERGENCY_INTENT, REQUEST_HUMAN_INTENT, _force_intent


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class PersonRequestDetector(GraphComponent, IntentClassifier):
    """Makes an explicit request for a person `request_human`, whatever the classifier
    guessed (it only adds recall: other messages are left as they are)."""

    def __init__(self, net: PersonRequestNet) -> None:
        self.net = net

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> PersonRequestDetector:
        return cls(PersonRequestNet.load())

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            ranking = message.get(INTENT_RANKING_KEY) or [{}]
            if EMERGENCY_INTENT in (intent, ranking[0].get(INTENT_NAME_KEY)):
                continue
            if intent != REQUEST_HUMAN_INTENT and self.net.matches(message.get(TEXT) or ""):
                _force_intent(message, REQUEST_HUMAN_INTENT)
        return messages
