"""The tip form: thin adapters from Rasa's form to `bot.tips.intake` and the tip store."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker, utils
from rasa_sdk.events import ActionExecutionRejected, ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.actions import current_language
from actions.promises import municipality_label
from actions.responses import render
from bot.promises import presenter
from bot.promises.service import PlaceRef
from bot.safety import detect_emergency
from bot.settings import Settings
from bot.tips import intake
from bot.tips.draft import MAX_ATTACHMENTS, MAX_TEXT, InvalidDraft
from bot.tips.models import HOW_KNOWN_CHOICES
from bot.tips.store import TipNotStored

logger = logging.getLogger(__name__)
TIP_SLOTS = (*intake.FIELDS, "tip_confirm", "tip_draft_id", "tip_discard", "tip_capped",
             "tip_how_known_retry")
REQUESTED_SLOT = "requested_slot"
# "Vill du kasta tipset?": while the form asks this, `tip_discard` holds the step to go back
# to when the citizen keeps the tip.
DISCARD_SLOT = "tip_discard"
# Intents the form leaves to the rules: 112 at once (also self-harm and other languages,
# which the emergency net in many languages answers), a person, a callback out of hours.
_TO_RULES = frozenset({"emergency", "emergency_self_harm", "other_language", "request_human",
                       "callback_request", "bot_challenge"})
# Steps whose typed answer the form reads itself when the classifier took it for "cancel".
_TYPED_ANSWERS = frozenset({"tip_what", "tip_when", "tip_where", "tip_how_known",
                            "tip_contact"})
# Steps before the contact question, where typed contact details are kept for later.
_BEFORE_CONTACT = frozenset({"tip_when", "tip_where", "tip_how_known", "tip_pictures"})
_FIELD_NAMES = {"sv": {"tip_what": "vad", "tip_when": "när", "tip_where": "var",
                       "tip_how_known": "hur du vet", "tip_contact": "kontakt"},
                "en": {"tip_what": "what", "tip_when": "when", "tip_where": "where",
                       "tip_how_known": "how you know", "tip_contact": "contact"}}
_T = TypeVar("_T")
_CAPPED = {"sv": f"Svaret var långt. Jag sparade de första {MAX_TEXT} tecknen.",
           "en": f"Your answer was long. I kept the first {MAX_TEXT} characters."}
# "Where?" answered with a shared location (Messenger, Instagram, WhatsApp): the NLU component
# SharedLocationPlacer gives the municipality it is in or near ("none": not in Sweden).
SHARED_LOCATION_ENTITY, NOT_PLACED = "shared_location", "none"
# Set by SafetyNet when the classifier heard an emergency that is not here and now.
NOT_NOW_ENTITY = "emergency_not_now"
_SHARED_WHERE = {"sv": "Delad plats: i eller nära {place}",
                 "en": "Shared location: in or near {place}"}


@cache
def tip_intake() -> intake.TipIntake:
    """Built on first use in the action server process, then reused."""
    import os

    return intake.TipIntake.from_settings(Settings.from_env(), os.environ)


async def _blocking(func: Callable[..., _T], *args: Any) -> _T:
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


async def staged_pictures(tracker: Tracker) -> int:
    """How many pictures the conversation has staged (read from the database: whatever a
    client claims, only what the channel accepted and stored counts). 0 if unreadable."""
    try:
        return len(await _blocking(tip_intake().staging.staged, tracker.sender_id))
    except Exception as error:  # noqa: BLE001 - the form goes on; the summary shows the count
        logger.error("staged pictures could not be read (%s)", type(error).__name__)
        return 0


async def discard_pictures(tracker: Tracker) -> None:
    """Forget the conversation's staged pictures (purge removes them later if this fails)."""
    try:
        await _blocking(tip_intake().staging.discard, tracker.sender_id)
    except Exception as error:  # noqa: BLE001 - the purge removes them later
        logger.error("staged pictures could not be discarded (%s)", type(error).__name__)


def _ask_again(slot: str) -> list[EventType]:
    """Validation events that leave `slot` empty, so the form asks its question again."""
    return [SlotSet(slot, None), SlotSet(REQUESTED_SLOT, slot)]


def _returning_after_rule(tracker: Tracker) -> bool:
    """Whether the form runs again after a rule answered the latest message (112, "are you
    a person?"): that message has been dealt with and must not be read a second time."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action_execution_rejected":
            return True
    return False


def _asks_to_cancel(intent: str | None, text: str, requested: str) -> bool:
    """Whether the citizen asks to stop (then the form asks before throwing anything away).
    The words decide; the classifier's "cancel" counts for a button or a short message,
    never at the summary, where a long correction ("not the bus stop") may look like one,
    and never for a send phrase ("send it")."""
    if text.startswith("/"):
        return intent == "cancel"
    if intake.wants_to_send(text):
        return False
    if intake.wants_to_cancel(text):
        return True
    return intent == "cancel" and requested != "tip_confirm" and len(text.split()) <= 4


def _amended_what(tracker: Tracker, text: str) -> str | None:
    """The what-answer with a typed correction of it applied, or None when `text` withdraws
    nothing it says (or withdraws a when or where instead)."""
    what = tracker.get_slot("tip_what")
    if not what:
        return None
    amended = intake.amend_what(str(what), text)
    if amended is None:
        return None
    others = " ".join(str(tracker.get_slot(slot) or "") for slot in ("tip_when", "tip_where"))
    return None if intake.amend_what(others, text) is not None else intake.answer(amended)[0]


def _change(field: str) -> dict[str, Any]:
    """Slot changes that make the form ask `field` again and then show the summary."""
    if field in ("tip_contact", "tip_contact_choice"):
        return {"tip_contact_choice": None, "tip_contact": None, "tip_confirm": None}
    return {field: None, "tip_confirm": None}


def _corrected(field: str, value: str) -> dict[str, Any] | None:
    """Slot changes for a correction typed at the summary, or None when the new value is
    not one the step accepts (then the form asks that step again)."""
    if field == "tip_contact":
        found = intake.contact_details(value)
        if found is None or found.status != intake.CONTACT_OK:
            return None
        return {"tip_contact_choice": "contact", "tip_contact": found.value}
    if field == "tip_how_known":
        how = intake.how_known_from_text(value)
        return None if how is None else {field: how}
    text, _ = intake.answer(value)
    return None if text is None else {field: text}


def _contact_typed(found: intake.ContactCheck, dispatcher: CollectingDispatcher,
                   domain: DomainDict, language: str) -> list[EventType]:
    """Contact details typed straight at "do you want to leave contact details?": the
    choice is made, and well-formed details are kept; a badly formed one is asked again."""
    if found.status == intake.CONTACT_OK:
        return [SlotSet("tip_contact_choice", "contact"), SlotSet("tip_contact", found.value)]
    dispatcher.utter_message(**render(domain, f"utter_tip_{found.status}", language))
    return [SlotSet("tip_contact_choice", "contact"), SlotSet("tip_contact", None),
            SlotSet(REQUESTED_SLOT, "tip_contact")]


def _text_only(message: dict[str, Any]) -> dict[str, Any]:
    """A response without its buttons that start something else (links stay): mid-form the
    only way on is the form's own question."""
    links = [b for b in message.get("buttons") or [] if b.get("url") and not b.get("payload")]
    kept = {k: v for k, v in message.items() if k != "buttons"}
    return {**kept, **({"buttons": links} if links else {})}


def sounds_alarming(tracker: Tracker) -> bool:
    """The classifier alone heard an emergency in this answer: it may be one
    (`emergency_possible`), or SafetyNet found it is not here and now (a past or habitual
    event, marked with an `emergency_not_now` entity). Either way the answer is kept and the
    citizen gets the one-line 112 reminder."""
    message = tracker.latest_message or {}
    return (message.get("intent") or {}).get("name") == "emergency_possible" or any(
        e.get("entity") == NOT_NOW_ENTITY for e in message.get("entities") or [])


def _free_text(slot: str):  # noqa: ANN202 - a validate_<slot> method for FormValidationAction
    def validate(self: Any, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                 domain: DomainDict) -> dict[str, Any]:
        language = current_language(tracker)
        if sounds_alarming(tracker):
            dispatcher.utter_message(**render(domain, "utter_emergency_reminder", language))
        text, capped = intake.answer(value)
        if capped:
            dispatcher.utter_message(text=_CAPPED[language])
        known = tracker.get_slot("tip_capped") or []
        if not capped and slot not in known:
            return {slot: text}
        return {slot: text, "tip_capped": intake.capped_slots(known, slot, capped)}
    return validate


def shared_where(municipality_code: str, dispatcher: CollectingDispatcher,
                 language: str) -> dict[str, Any]:
    """A location shared as the answer to "where?": the municipality it is in or near, said
    to be approximate (the summary shows it, and "change where" corrects it), and the tip's
    area; one outside Sweden is explained and the question asked again."""
    if municipality_code == NOT_PLACED:
        dispatcher.utter_message(**presenter.shared_location_unplaced(language).as_message())
        return {"tip_where": None}
    place = municipality_label(municipality_code, language)
    dispatcher.utter_message(**presenter.shared_location_near(place, language).as_message())
    return {"tip_where": _SHARED_WHERE[language].format(place=place), "area": municipality_code}


class ValidateTipForm(FormValidationAction):
    """Cleans each answer; maps free phrasing to choices; handles "change" at the summary."""

    def name(self) -> str:
        return "validate_tip_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        """Before the answers are read, in this order: what the rules answer (112, a person,
        a callback), an emergency the classifier missed (112, nothing stored), "Vill du kasta
        tipset?" and its answer, a request to stop, pictures that arrived while the form
        asks something else, contact details typed at the choice, questions asked in the
        middle (answered, then the form asks again), and the summary read as typed."""
        events = await self._before_answers(dispatcher, tracker, domain)
        if events is None:
            return list(await super().run(dispatcher, tracker, domain))
        settled = any((e.get("event") == "slot" and e.get("name") == REQUESTED_SLOT)
                      or e.get("event") in ("action_execution_rejected", "active_loop")
                      for e in events)
        if not settled:
            # As FormValidationAction.run does: the next step is the one required_slots
            # says (it skips pictures on REST and contact details for an anonymous tip).
            tracker.add_slots(events)
            following = await self.next_requested_slot(dispatcher, tracker, domain)
            events = [*events, following] if following else events
        return events

    async def _before_answers(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> list[EventType] | None:
        """What the form does before reading an answer, or None to read it as one."""
        requested = tracker.get_slot(REQUESTED_SLOT)
        message = tracker.latest_message or {}
        intent = message.get("intent") or {}
        name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        text = str(message.get("text") or "")
        language = current_language(tracker)
        if not requested or _returning_after_rule(tracker):
            return None
        typed = not text.startswith("/")
        if name in _TO_RULES and name != "request_human":
            return [ActionExecutionRejected(self.form_name())]
        if typed and (detect_emergency(text) or (
                requested == "tip_when" and intake.happening_now(text))):
            # Second layer behind the NLU net: whatever the classifier said, an emergency (or
            # "when?" answered with "right now") is answered with 112 and never stored as an
            # answer; the draft waits.
            for response in ("utter_emergency", "utter_tip_waits"):
                dispatcher.utter_message(**render(domain, response, language))
            return _ask_again(requested)
        if name == "request_human":
            if not typed or intake.asks_for_a_person(text):
                return [ActionExecutionRejected(self.form_name())]
            # The classifier heard a request for a person where none is asked for: a question
            # ("will the person find out it was me?") is answered, anything else is an answer.
            if intake.looks_like_question(text) or intake.asks_about_the_tip(text):
                name, confidence = intake.TIP_QUESTION, 1.0
            elif requested in _TYPED_ANSWERS or requested == "tip_contact_choice":
                return await self._typed_answer(requested, text, dispatcher, tracker, domain)
            else:
                name, confidence = None, 0.0
        if requested == DISCARD_SLOT:
            return await self._discard_or_keep(dispatcher, tracker, domain, name, text)
        if _asks_to_cancel(name, text, requested):
            return [SlotSet(requested, None), SlotSet(DISCARD_SLOT, requested),
                    SlotSet(REQUESTED_SLOT, DISCARD_SLOT)]
        if name == "pictures_added" and requested != "tip_pictures":
            count = await staged_pictures(tracker)
            response = "utter_tip_pictures_kept" if count else "utter_tip_no_pictures_yet"
            dispatcher.utter_message(**render(domain, response, language,
                                              pictures=intake.pictures_phrase(count, language)))
            return _ask_again(requested)
        if requested == "tip_contact_choice" and typed:
            found = intake.contact_details(text)
            if found is not None:
                return _contact_typed(found, dispatcher, domain, language)
            choice = intake.contact_choice_from_text(text)
            if choice is not None and not intake.looks_like_question(text):
                # The words decide ("I'd prefer not to leave my name" is anonymous), never
                # the classifier's guess.
                return [SlotSet("tip_contact_choice", choice)]
        if typed and requested in _BEFORE_CONTACT and tracker.get_slot(
                "tip_contact_choice") is None:
            found = intake.contact_details(text)
            if found is not None and found.status == intake.CONTACT_OK and \
                    intake.only_contact_details(text):
                # Contact details typed before the question about them: kept, and the step
                # the form is at is asked again.
                dispatcher.utter_message(**render(domain, "utter_tip_contact_kept", language))
                return [SlotSet("tip_contact_choice", "contact"),
                        SlotSet("tip_contact", found.value), *_ask_again(requested)]
        if typed and intake.asks_about_the_tip(text):
            name, confidence = intake.TIP_QUESTION, 1.0
        if intake.is_interjection(name, confidence, text, requested):
            answer = render(domain, intake.QUESTION_RESPONSES[str(name)], language)
            dispatcher.utter_message(**_text_only(answer))
            dispatcher.utter_message(**render(domain, "utter_tip_resume", language))
            return _ask_again(requested)
        amended = _amended_what(tracker, text) if typed and requested != "tip_what" else None
        if amended is not None:
            # "It was my neighbour, not his brother": what happened is corrected wherever the
            # form is, and the step (or the summary) is asked again.
            dispatcher.utter_message(**render(domain, "utter_tip_corrected", language,
                                              field=_FIELD_NAMES[language]["tip_what"]))
            return [SlotSet("tip_what", amended), *_ask_again(requested)]
        if requested == "tip_confirm" and typed:
            return await self._read_summary(dispatcher, tracker, domain, text)
        if typed and name == "cancel" and requested in _TYPED_ANSWERS:
            # The classifier's "cancel" kept the text from the slot ("at the bus stop"), but
            # the words are no request to stop: they are the answer.
            return await self._typed_answer(requested, text, dispatcher, tracker, domain)
        return None

    async def _typed_answer(self, requested: str, text: str, dispatcher: CollectingDispatcher,
                            tracker: Tracker, domain: DomainDict) -> list[EventType]:
        """`text` validated as the answer to `requested` (the slot mapping left it out
        because of the classifier's intent)."""
        validate = getattr(self, f"validate_{requested}")
        result = await utils.call_potential_coroutine(validate(text, dispatcher, tracker, domain))
        return [SlotSet(slot, value) for slot, value in result.items()]

    async def _discard_or_keep(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict, intent: str | None,
                               text: str) -> list[EventType]:
        """The answer to "Vill du kasta tipset?": only a clear yes (typed, or the button)
        throws the draft and its pictures away; anything else, "skicka" included, keeps it
        and goes back to the step the citizen was at (the summary sends after it is
        confirmed)."""
        language = current_language(tracker)
        step = tracker.get_slot(DISCARD_SLOT) or "tip_what"
        if text.startswith("/"):
            reply = {"affirm": intake.YES, "cancel": intake.YES}.get(str(intent), intake.NO)
        else:
            reply = intake.read_yes_no(text) or intake.NO
        if reply == intake.YES:
            await discard_pictures(tracker)
            dispatcher.utter_message(**render(domain, "utter_tip_cancelled", language))
            return [*(SlotSet(slot, None) for slot in TIP_SLOTS), SlotSet(REQUESTED_SLOT, None),
                    ActiveLoop(None)]
        dispatcher.utter_message(**render(domain, "utter_tip_kept", language))
        return [SlotSet(DISCARD_SLOT, None), SlotSet(step, None), SlotSet(REQUESTED_SLOT, step)]

    async def _read_summary(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                            domain: DomainDict, text: str) -> list[EventType]:
        """A typed reply to the summary, read by `intake.read_summary_reply` (never by the
        classifier alone): send, stay anonymous, correct an answer, or ask which to change."""
        language = current_language(tracker)
        reply = intake.read_summary_reply(text)
        if reply.kind == intake.SEND:
            return [SlotSet("tip_confirm", "send")]
        if reply.kind == intake.ANONYMOUS:
            dispatcher.utter_message(**render(domain, "utter_tip_now_anonymous", language))
            return [SlotSet("tip_contact_choice", "anonymous"), SlotSet("tip_contact", None),
                    *_ask_again("tip_confirm")]
        if reply.kind == intake.CORRECT and reply.field and reply.value:
            changes = _corrected(reply.field, reply.value)
            if changes is not None:
                dispatcher.utter_message(**render(
                    domain, "utter_tip_corrected", language,
                    field=_FIELD_NAMES[language][reply.field]))
                return [*(SlotSet(k, v) for k, v in changes.items()), *_ask_again("tip_confirm")]
        if reply.kind in (intake.CHANGE, intake.CORRECT) and reply.field:
            return [SlotSet(k, v) for k, v in _change(reply.field).items()]
        response = "utter_tip_which_change" if reply.kind != intake.UNCLEAR else \
            "utter_tip_summary_unclear"
        dispatcher.utter_message(**render(domain, response, language))
        return _ask_again("tip_confirm")

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        skip = set()
        if tracker.get_slot("tip_contact_choice") == "anonymous":
            skip.add("tip_contact")
        if not intake.can_send_pictures(tracker.get_latest_input_channel()):
            skip.add("tip_pictures")
        return [s for s in domain_slots if s not in skip]

    validate_tip_what = _free_text("tip_what")
    validate_tip_when = _free_text("tip_when")

    def validate_tip_contact(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        """A phone number (Swedish or international) or an e-mail address, checked; a badly
        formed one, or none at all, is asked again with the reason."""
        language = current_language(tracker)
        found = intake.contact_details(str(value or ""))
        if found is None and intake.contact_choice_from_text(str(value or "")) == "anonymous":
            # "No, I'd rather not" after choosing contact: anonymous after all, not asked again.
            return {"tip_contact_choice": "anonymous", "tip_contact": None}
        if found is None or found.status != intake.CONTACT_OK:
            reason = "utter_tip_no_contact" if found is None else f"utter_tip_{found.status}"
            dispatcher.utter_message(**render(domain, reason, language))
            return {"tip_contact": None}
        return _free_text("tip_contact")(self, value, dispatcher, tracker, domain)

    def validate_tip_where(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
        shared = [str(e.get("value")) for e in tracker.latest_message.get("entities") or []
                  if e.get("entity") == SHARED_LOCATION_ENTITY]
        if shared:
            return shared_where(shared[0], dispatcher, current_language(tracker))
        if value == intake.UNKNOWN_PLACE:
            return {"tip_where": value}
        return _free_text("tip_where")(self, value, dispatcher, tracker, domain)

    def validate_tip_how_known(self, value: Any, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        """Seen / heard / told, read generously from the words; asked once more when they
        say none of them, then the citizen's own words are the answer."""
        if value in HOW_KNOWN_CHOICES:
            return {"tip_how_known": value, "tip_how_known_retry": None}
        text = str(value or "")
        how, remembered = intake.how_known_answer(text, tracker.get_slot("tip_how_known_retry"))
        if how is None:
            dispatcher.utter_message(**render(domain, "utter_tip_how_known_again",
                                              current_language(tracker)))
            return {"tip_how_known": None, "tip_how_known_retry": remembered}
        changes: dict[str, Any] = {"tip_how_known": how, "tip_how_known_retry": None}
        if intake.wants_anonymity(text) and tracker.get_slot("tip_contact_choice") is None:
            # A reply that already answers a later question ("anonymous") is not lost.
            changes["tip_contact_choice"] = "anonymous"
        return changes

    def validate_tip_contact_choice(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if value in ("anonymous", "contact"):
            return {"tip_contact_choice": value}
        return {"tip_contact_choice": intake.contact_choice_from_text(str(value or ""))}

    async def validate_tip_pictures(self, value: Any, dispatcher: CollectingDispatcher,
                                    tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        """"Inga bilder" / "Klar" / pictures arrived: counts what is staged, asks again until
        the citizen is done or the maximum is reached."""
        language = current_language(tracker)
        choices = (intake.NO_PICTURES, intake.PICTURES_DONE, intake.PICTURES_ARRIVED)
        choice = value if value in choices else intake.pictures_choice_from_text(str(value or ""))
        count = await staged_pictures(tracker)
        if choice == intake.NO_PICTURES:
            if count:
                await discard_pictures(tracker)
                dispatcher.utter_message(**render(domain, "utter_tip_pictures_removed", language))
            return {"tip_pictures": intake.NO_PICTURES}
        if choice == intake.PICTURES_DONE:
            return {"tip_pictures": intake.PICTURES_DONE if count else intake.NO_PICTURES}
        if sounds_alarming(tracker):
            dispatcher.utter_message(**render(domain, "utter_emergency_reminder", language))
        if count >= MAX_ATTACHMENTS:
            dispatcher.utter_message(**render(domain, "utter_tip_pictures_full", language,
                                              pictures=intake.pictures_phrase(count, language)))
            return {"tip_pictures": intake.PICTURES_DONE}
        return {"tip_pictures": None}

    async def validate_tip_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                                   tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if isinstance(value, str) and value.startswith("change:"):
            field = value.removeprefix("change:")
            if field == "tip_pictures":
                await discard_pictures(tracker)
            return _change(field)
        return {"tip_confirm": "send" if value == "send" else None}


class ActionStartTip(Action):
    """Introduces the tip and gives the draft its id (kept when a draft is resumed)."""

    def name(self) -> str:
        return "action_start_tip"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        language = current_language(tracker)
        if tracker.get_slot("tip_draft_id"):
            dispatcher.utter_message(**render(domain, "utter_tip_resumed", language))
            return []
        dispatcher.utter_message(**render(domain, "utter_give_tip", language))
        return [SlotSet("tip_draft_id", uuid.uuid4().hex)]


class ActionAskTipPictures(Action):
    """Asks for optional pictures: what is accepted, how many arrived so far, "Inga bilder"
    and (once some arrived) "Klar"; in the web chat with the upload control's payload."""

    def name(self) -> str:
        return "action_ask_tip_pictures"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        language = current_language(tracker)
        count = await staged_pictures(tracker)
        if count:
            message = render(domain, "utter_tip_pictures_more", language,
                             pictures=intake.pictures_phrase(count, language))
        else:
            message = render(domain, "utter_tip_pictures_question", language)
        if tracker.get_latest_input_channel() == "socketio":
            message["json_message"] = intake.UPLOAD_PAYLOAD
        dispatcher.utter_message(**message)
        return []


class ActionAskTipConfirm(Action):
    """Shows the whole tip before it is sent, with send / change / cancel."""

    def name(self) -> str:
        return "action_ask_tip_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        count = await staged_pictures(tracker)
        pictures = (count if count or intake.can_send_pictures(tracker.get_latest_input_channel())
                    else None)
        text, buttons = intake.summary(tracker.slots, current_language(tracker), pictures)
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ActionSubmitTip(Action):
    """Commits the tip and only then shows its reference; on failure says so plainly."""

    def name(self) -> str:
        return "action_submit_tip"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("tip_confirm") != "send":
            return []  # the form ended because the citizen threw the tip away
        language = current_language(tracker)
        place = PlaceRef.parse(tracker.get_slot("area"))
        channel = (tracker.get_latest_input_channel() or "unknown")
        draft_id = tracker.get_slot("tip_draft_id") or uuid.uuid4().hex
        try:
            draft = intake.draft_from(tracker.slots, channel, language,
                                      place.municipality_code if place else None)
            result = await asyncio.get_running_loop().run_in_executor(
                None, tip_intake().submit, draft, tracker.sender_id, draft_id)
        except InvalidDraft as invalid:
            dispatcher.utter_message(text="\n".join(p.text(language) for p in invalid.problems))
            return [SlotSet("tip_confirm", None)]
        except TipNotStored:
            logger.error("tip not stored (conversation %s)", tracker.sender_id)
            dispatcher.utter_message(text=(
                "Ditt tips kom inte fram: det kunde inte sparas. Försök igen om en stund, "
                "eller ring 114 14 och säg \"tips\"." if language == "sv" else
                "Your tip did not arrive: it could not be saved. Try again in a while, or call "
                "114 14 and say \"tips\"."))
            return [SlotSet("tip_confirm", None)]
        dispatcher.utter_message(text=(
            f"Tack! Polisen har tagit emot ditt tips. Referens: {result.reference}. Ett tips är "
            "inte en polisanmälan, så du får ingen återkoppling." if language == "sv" else
            f"Thank you! The police have received your tip. Reference: {result.reference}. A "
            "tip is not a police report, so you will get no feedback."))
        return [SlotSet(slot, None) for slot in TIP_SLOTS]
