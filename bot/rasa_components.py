"""Custom Rasa NLU components: thin adapters from the pipeline to `bot.safety` and
`bot.language`.

The safety net runs after the classifiers on every parsed message, so an emergency is
recognised even when the statistical model misses it, in any language of data/safety.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.language import detect_language
from bot.language_id import LanguageIdentifier
from bot.places import Place, PlaceIndex
from bot.places_geo import LocalityIndex, coordinates
from bot.safety import Assessment, EmergencyNet, load_net
from bot.safety_replies import NO_OTHER_LANGUAGE, USER_LANGUAGE_SLOT
from bot.sensitive import is_sensitive
from bot.tips import intake as tip_intake

EMERGENCY_INTENT = "emergency"
SELF_HARM_INTENT = "emergency_self_harm"
# The classifier alone thinks it may be an emergency: outside a form it gets the same
# "Ring 112"; inside a form the answer is kept and a 112 reminder is added, so a tip that
# merely sounds alarming is not lost. When the message says it is not here and now (past,
# hypothetical, fiction, a drill, far away, an idiom) it gets the normal answer instead.
POSSIBLE_EMERGENCY_INTENT = "emergency_possible"
# A message in a language the classifier cannot read: an honest answer, not a guess.
OTHER_LANGUAGE_INTENT = "other_language"
# When a classifier-only "emergency" is set aside, the next guess must be this clear (as a
# share of what is left) to be answered; otherwise the answer says what the bot can do.
_NEXT_GUESS_SHARE = 0.5
_NOT_NOW_FALLBACK_INTENT = "out_of_scope"
_EMERGENCY_INTENTS = frozenset({EMERGENCY_INTENT, POSSIBLE_EMERGENCY_INTENT, SELF_HARM_INTENT})
# Violence or control in a close relationship: offer a person at once (after emergencies).
SENSITIVE_INTENT = "sensitive_help"
FALLBACK_INTENT = "nlu_fallback"
GIVE_TIP_INTENT, TIP_QUESTION_INTENT = "give_tip", "tip_question"
LANGUAGE_ENTITY = "language"
USER_LANGUAGE_ENTITY = USER_LANGUAGE_SLOT
# The classifier alone heard an emergency, but the message is not here and now (past,
# habitual, hypothetical, far away): the answer is kept, and a form adds the 112 reminder.
NOT_NOW_ENTITY = "emergency_not_now"
PLACE_ENTITY = "place"
PLACE_OPTION_ENTITY = "place_option"
# A shared location (channel metadata `location`): the municipality code it is in or near,
# or "none" when it could not be placed in Sweden. The reply says it is approximate.
SHARED_LOCATION_ENTITY = "shared_location"
SHARED_LOCATION_NONE = "none"
INFORM_PLACE_INTENT = "inform_place"
# A message that names a place and that the classifier files under one of these is the
# answer to "where do you live?" ("Gävle", "i Karlstads kommun", "123 45").
_PLACE_ANSWER_INTENTS = frozenset({FALLBACK_INTENT, "out_of_scope", "affirm", "deny", "greet",
                                   "goodbye", "thank", "help"})
# "Medborgarlöfte Luleå" is a question about Luleå's promise, not about the concept.
_PROMISE_CONCEPT_INTENT = "what_is_promise"
ASK_PROMISE_INTENT = "ask_promise"
REQUEST_HUMAN_INTENT = "request_human"
# When the classifier is unsure but its best guess is an emergency, treat it as one: asking
# "did you mean…?" to someone in danger costs more than a needless "Ring 112".
UNSURE_EMERGENCY_CONFIDENCE = 0.3


def _force_intent(message: Message, name: str) -> None:
    """Make `name` the certain top intent, keeping the classifier's ranking below it."""
    intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
    message.set(INTENT, intent, add_to_output=True)
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != name]
    message.set(INTENT_RANKING_KEY, [intent, *ranking], add_to_output=True)


def _has_words(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _has_entity(message: Message, name: str) -> bool:
    return any(e.get("entity") == name for e in message.get(ENTITIES) or [])


def shared_location(message: Message) -> tuple[float, float] | None:
    """The valid (lat, long) a channel put in the message's metadata, else None: forged or
    absurd values (NaN, out of range, strings) are ignored, never an error."""
    metadata = message.get("metadata")
    location = metadata.get("location") if isinstance(metadata, dict) else None
    if not isinstance(location, dict):
        return None
    return coordinates(location.get("lat"), location.get("long"))


def _unsure_emergency(message: Message) -> bool:
    """The fallback fired, yet the classifier's own best guess was an emergency."""
    ranking = message.get(INTENT_RANKING_KEY) or []
    guesses = [r for r in ranking if r.get(INTENT_NAME_KEY) != FALLBACK_INTENT]
    return (
        bool(guesses)
        and guesses[0].get(INTENT_NAME_KEY) == EMERGENCY_INTENT
        and (guesses[0].get(PREDICTED_CONFIDENCE_KEY) or 0.0) >= UNSURE_EMERGENCY_CONFIDENCE
    )


def _next_guess(message: Message) -> str:
    """The classifier's best guess that is not an emergency, if it is clear enough."""
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
               if r.get(INTENT_NAME_KEY) not in _EMERGENCY_INTENTS | {FALLBACK_INTENT}]
    left = sum(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0 for r in ranking)
    if ranking and left > 0 and \
            (ranking[0].get(PREDICTED_CONFIDENCE_KEY) or 0.0) / left >= _NEXT_GUESS_SHARE:
        return str(ranking[0][INTENT_NAME_KEY])
    return _NOT_NOW_FALLBACK_INTENT


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SafetyNet(GraphComponent, IntentClassifier):
    """Overrides the classifier: emergencies in any language of the net become `emergency`
    (self-harm `emergency_self_harm`); a classifier-only emergency becomes
    `emergency_possible`, or the normal answer when the message says it is not here and now;
    a message in a language the classifier cannot read becomes `other_language`; a message
    without any word (empty, emoji, symbols) becomes `nlu_fallback` instead of a random
    guess — unless it shared a location (`SharedLocationPlacer` has made it
    `inform_place`). Every message gets a `user_language` entity ("-" for Swedish, English
    or unknown) that picks the line in the citizen's language of the domain's answers.

    The net and the language model are built once, when the component is created."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"data_dir": "data/safety"}

    def __init__(self, net: EmergencyNet, identifier: LanguageIdentifier) -> None:
        self.net = net
        self.identifier = identifier

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyNet:
        return cls.from_rule_files(Path(config["data_dir"]))

    @classmethod
    def from_rule_files(cls, data_dir: Path | None = None) -> SafetyNet:
        """The component on the rule files in `data_dir` (the project's by default)."""
        net = load_net(data_dir) if data_dir is not None else load_net()
        return cls(net, LanguageIdentifier.create(net))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            # "Not here and now" matters only when the classifier alone says emergency.
            classifier_alarm = intent == EMERGENCY_INTENT or _unsure_emergency(message)
            assessment = self.net.assess(text, not_now=classifier_alarm)
            identified = self.identifier.identify(text, assessment.match)
            other = identified.code if identified.other and identified.code else \
                NO_OTHER_LANGUAGE
            message.set(ENTITIES, [*(message.get(ENTITIES) or []),
                                   _entity(USER_LANGUAGE_ENTITY, other, type(self).__name__)],
                        add_to_output=True)
            self._decide(message, text, assessment, identified.other)
        return messages

    @staticmethod
    def _decide(message: Message, text: str, assessment: Assessment,
                other_language: bool) -> None:
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if assessment.match is not None:
            self_harm = assessment.match.category == "self_harm"
            _force_intent(message, SELF_HARM_INTENT if self_harm else EMERGENCY_INTENT)
        elif other_language:
            # The classifier cannot read it; only the net could have found an emergency, the
            # person-request net a request for a person, and PlaceDetector a Swedish place
            # ("mieszkam w Malmö"): those get their answer, in the citizen's language where
            # the domain has one.
            if intent == REQUEST_HUMAN_INTENT:
                pass
            elif _has_entity(message, PLACE_ENTITY) or _has_entity(message, PLACE_OPTION_ENTITY):
                _force_intent(message, ASK_PROMISE_INTENT)
            else:
                _force_intent(message, OTHER_LANGUAGE_INTENT)
        elif intent == EMERGENCY_INTENT or _unsure_emergency(message):
            if assessment.not_now:  # answered as what it is; a form adds the 112 reminder
                _force_intent(message, _next_guess(message))
                message.set(ENTITIES, [*(message.get(ENTITIES) or []),
                                       _entity(NOT_NOW_ENTITY, "true", SafetyNet.__name__)],
                            add_to_output=True)
            else:
                _force_intent(message, POSSIBLE_EMERGENCY_INTENT)
        elif is_sensitive(text):
            _force_intent(message, SENSITIVE_INTENT)
        elif not _has_words(text) and not _has_entity(message, SHARED_LOCATION_ENTITY):
            _force_intent(message, FALLBACK_INTENT)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class LanguageDetector(GraphComponent, EntityExtractorMixin):
    """Adds a `language` entity (sv/en) when the text clearly is one language, so the
    `language` slot follows the language the user writes in."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            language = detect_language(message.get(TEXT) or "")
            if language:
                entity = {
                    "entity": LANGUAGE_ENTITY,
                    "value": language,
                    "start": 0,
                    "end": 0,
                    "extractor": type(self).__name__,
                }
                entities = [*(message.get(ENTITIES) or []), entity]
                message.set(ENTITIES, entities, add_to_output=True)
        return messages


def place_value(place: Place) -> str:
    """How a place travels in entities and slots: "2180", or "1480/Angered" for a district."""
    return f"{place.municipality_code}/{place.district}" if place.district else \
        place.municipality_code


def _entity(name: str, value: str, extractor: str) -> dict[str, Any]:
    return {"entity": name, "value": value, "start": 0, "end": 0, "extractor": extractor}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class PlaceDetector(GraphComponent, EntityExtractorMixin):
    """Finds the place a message names with the in-memory place index (built once when the
    model loads; no database round trip per message) and adds it as a `place` entity, or
    `place_option` entities when it is ambiguous."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"data_dir": "data/places"}

    def __init__(self, index: PlaceIndex) -> None:
        self.index = index

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> PlaceDetector:
        return cls(PlaceIndex.load(Path(config["data_dir"])))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            resolution = self.index.resolve(message.get(TEXT) or "")
            name = type(self).__name__
            if resolution.status == "found" and resolution.place is not None:
                found = [_entity(PLACE_ENTITY, place_value(resolution.place), name)]
            elif resolution.status == "ambiguous":
                found = [_entity(PLACE_OPTION_ENTITY, place_value(p), name)
                         for p in resolution.candidates[:5]]
            else:
                continue
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), *found], add_to_output=True)
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if intent in _PLACE_ANSWER_INTENTS:
                _force_intent(message, INFORM_PLACE_INTENT)
            elif intent == _PROMISE_CONCEPT_INTENT:
                _force_intent(message, ASK_PROMISE_INTENT)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class SharedLocationPlacer(GraphComponent, EntityExtractorMixin):
    """Turns a shared location (metadata `location`, e.g. from WhatsApp or Messenger) into
    the municipality it is in or near (`bot.places_geo`, nearest GeoNames locality; index
    built once when the model loads): a `place` entity plus a `shared_location` entity, so
    the promise reply can say the place is approximate. A location that cannot be placed in
    Sweden gives `shared_location` "none". A place named in the text wins over the location.
    Runs after `PlaceDetector` and before `SafetyNet`, which still overrides the intent when
    the text is an emergency."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"data_dir": "data/places"}

    def __init__(self, index: LocalityIndex) -> None:
        self.index = index

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SharedLocationPlacer:
        return cls(LocalityIndex.load(Path(config["data_dir"])))

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            location = shared_location(message)
            if location is None:
                continue
            if _has_entity(message, PLACE_ENTITY) or _has_entity(message, PLACE_OPTION_ENTITY):
                continue  # "Malmö" typed with a location: the named place counts
            match = self.index.locate(*location)
            name = type(self).__name__
            found = [_entity(SHARED_LOCATION_ENTITY,
                             match.municipality_code if match else SHARED_LOCATION_NONE, name)]
            if match is not None:
                found.append(_entity(PLACE_ENTITY, match.municipality_code, name))
            message.set(ENTITIES, [*(message.get(ENTITIES) or []), *found], add_to_output=True)
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if not _has_words(message.get(TEXT) or "") or intent in _PLACE_ANSWER_INTENTS:
                _force_intent(message, INFORM_PLACE_INTENT)
            elif intent == _PROMISE_CONCEPT_INTENT:
                _force_intent(message, ASK_PROMISE_INTENT)
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class TipPhrases(GraphComponent, IntentClassifier):
    """What citizens type about their tip, read from the words (`bot.tips.intake`) rather
    than left to the classifier: "skicka tipset" / "send my tip" is `give_tip` (it brings
    back a kept draft's summary, e.g. after a person at the contact centre), so is "I want
    to report something anonymously" / "jag vill berätta det för er", and "vad
    händer med mitt tips?" / "am I anonymous?" is `tip_question`. Runs before `SafetyNet`,
    which still has the last word on emergencies."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> TipPhrases:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            if tip_intake.asks_about_the_tip(text):
                _force_intent(message, TIP_QUESTION_INTENT)
            elif tip_intake.names_the_tip_to_send(text) or tip_intake.wants_to_tip(text):
                _force_intent(message, GIVE_TIP_INTENT)
        return messages
