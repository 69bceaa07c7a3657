"""The tip form: thin adapters from Rasa's form to `bot.tips.intake` and the tip store."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.actions import current_language
from actions.promises import municipality_label
from actions.responses import render
from bot.promises import presenter
from bot.promises.service import PlaceRef
from bot.settings import Settings
from bot.tips import intake
from bot.tips.draft import HOW_KNOWN, MAX_ATTACHMENTS, MAX_TEXT, InvalidDraft
from bot.tips.store import TipNotStored

logger = logging.getLogger(__name__)
TIP_SLOTS = (*intake.FIELDS, "tip_confirm", "tip_draft_id", "tip_capped")
REQUESTED_SLOT = "requested_slot"
_T = TypeVar("_T")
_CAPPED = {"sv": f"Svaret var långt. Jag sparade de första {MAX_TEXT} tecknen.",
           "en": f"Your answer was long. I kept the first {MAX_TEXT} characters."}
# "Where?" answered with a shared location (Messenger, Instagram, WhatsApp): the NLU component
# SharedLocationPlacer gives the municipality it is in or near ("none": not in Sweden).
SHARED_LOCATION_ENTITY, NOT_PLACED = "shared_location", "none"
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


def _text_only(message: dict[str, Any]) -> dict[str, Any]:
    """A response without its buttons that start something else (links stay): mid-form the
    only way on is the form's own question."""
    links = [b for b in message.get("buttons") or [] if b.get("url") and not b.get("payload")]
    kept = {k: v for k, v in message.items() if k != "buttons"}
    return {**kept, **({"buttons": links} if links else {})}


def _free_text(slot: str):  # noqa: ANN202 - a validate_<slot> method for FormValidationAction
    def validate(self: Any, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                 domain: DomainDict) -> dict[str, Any]:
        language = current_language(tracker)
        if (tracker.latest_message.get("intent") or {}).get("name") == "emergency_possible":
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
        """Before the answers are read: pictures that arrived while the form asks something
        else, and questions asked in the middle, are answered and the form asks again."""
        requested = tracker.get_slot(REQUESTED_SLOT)
        message = tracker.latest_message or {}
        intent = message.get("intent") or {}
        name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        language = current_language(tracker)
        if requested and name == "pictures_added" and requested != "tip_pictures":
            count = await staged_pictures(tracker)
            response = "utter_tip_pictures_kept" if count else "utter_tip_no_pictures_yet"
            dispatcher.utter_message(**render(domain, response, language,
                                              pictures=intake.pictures_phrase(count, language)))
            return _ask_again(requested)
        if requested and intake.is_interjection(name, confidence, message.get("text"), requested):
            answer = render(domain, intake.QUESTION_RESPONSES[str(name)], language)
            dispatcher.utter_message(**_text_only(answer))
            dispatcher.utter_message(**render(domain, "utter_tip_resume", language))
            return _ask_again(requested)
        return list(await super().run(dispatcher, tracker, domain))

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
    validate_tip_contact = _free_text("tip_contact")

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
        if value in HOW_KNOWN:
            return {"tip_how_known": value}
        return {"tip_how_known": intake.how_known_from_text(str(value or ""))}

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
        if (tracker.latest_message.get("intent") or {}).get("name") == "emergency_possible":
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
            changes: dict[str, Any] = {field: None, "tip_confirm": None}
            if field == "tip_contact_choice":
                changes["tip_contact"] = None
            if field == "tip_pictures":
                await discard_pictures(tracker)
            return changes
        return {"tip_confirm": "send" if value == "send" else None}


class ActionStartTip(Action):
    """Introduces the tip and gives the draft its id (kept when a draft is resumed)."""

    def name(self) -> str:
        return "action_start_tip"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(**render(domain, "utter_give_tip", current_language(tracker)))
        if tracker.get_slot("tip_draft_id"):
            return []
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


class ActionCancelTip(Action):
    """Stops the tip and forgets what was written and the pictures sent for it."""

    def name(self) -> str:
        return "action_cancel_tip"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        await discard_pictures(tracker)
        dispatcher.utter_message(**render(domain, "utter_tip_cancelled",
                                          current_language(tracker)))
        return [ActiveLoop(None), SlotSet("requested_slot", None),
                *(SlotSet(slot, None) for slot in TIP_SLOTS)]
