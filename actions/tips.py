"""The tip form: thin adapters from Rasa's form to `bot.tips.intake` and the tip store."""

from __future__ import annotations

import asyncio
import logging
import uuid
from functools import cache
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.actions import current_language
from actions.responses import render
from bot.promises.service import PlaceRef
from bot.settings import Settings
from bot.tips import intake
from bot.tips.draft import HOW_KNOWN, MAX_TEXT, InvalidDraft
from bot.tips.store import TipNotStored

logger = logging.getLogger(__name__)
TIP_SLOTS = (*intake.FIELDS, "tip_confirm", "tip_draft_id")
_CAPPED = {"sv": f"Svaret var långt. Jag sparade de första {MAX_TEXT} tecknen.",
           "en": f"Your answer was long. I kept the first {MAX_TEXT} characters."}


@cache
def tip_intake() -> intake.TipIntake:
    """Built on first use in the action server process, then reused."""
    import os

    return intake.TipIntake.from_settings(Settings.from_env(), os.environ)


def _free_text(slot: str):  # noqa: ANN202 - a validate_<slot> method for FormValidationAction
    def validate(self: Any, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                 domain: DomainDict) -> dict[str, Any]:
        language = current_language(tracker)
        if (tracker.latest_message.get("intent") or {}).get("name") == "emergency_possible":
            dispatcher.utter_message(**render(domain, "utter_emergency_reminder", language))
        text, capped = intake.answer(value)
        if capped:
            dispatcher.utter_message(text=_CAPPED[language])
        return {slot: text}
    return validate


class ValidateTipForm(FormValidationAction):
    """Cleans each answer; maps free phrasing to choices; handles "change" at the summary."""

    def name(self) -> str:
        return "validate_tip_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        if tracker.get_slot("tip_contact_choice") == "anonymous":
            return [s for s in domain_slots if s != "tip_contact"]
        return domain_slots

    validate_tip_what = _free_text("tip_what")
    validate_tip_when = _free_text("tip_when")
    validate_tip_contact = _free_text("tip_contact")

    def validate_tip_where(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> dict[str, Any]:
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

    def validate_tip_confirm(self, value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if isinstance(value, str) and value.startswith("change:"):
            field = value.removeprefix("change:")
            changes: dict[str, Any] = {field: None, "tip_confirm": None}
            if field == "tip_contact_choice":
                changes["tip_contact"] = None
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


class ActionAskTipConfirm(Action):
    """Shows the whole tip before it is sent, with send / change / cancel."""

    def name(self) -> str:
        return "action_ask_tip_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text, buttons = intake.summary(tracker.slots, current_language(tracker))
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
    """Stops the tip and forgets what was written."""

    def name(self) -> str:
        return "action_cancel_tip"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(**render(domain, "utter_tip_cancelled",
                                          current_language(tracker)))
        return [ActiveLoop(None), SlotSet("requested_slot", None),
                *(SlotSet(slot, None) for slot in TIP_SLOTS)]
