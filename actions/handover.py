"""Handover to the contact centre: thin adapters from the conversation to
`bot.handover.desk`. While a person handles the conversation the bot stays silent, except
that an emergency still gets "Ring 112" at once."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.actions import current_language
from actions.resources import desk
from actions.responses import render
from actions.tips import staged_pictures
from bot.handover.notices import wait_estimate, wait_phrase
from bot.tips import intake

TRANSCRIPT_TURNS = 60
# Actions the console runs through Rasa's /execute end with this, so the conversation
# is back where the citizen's next message is expected.
LISTEN = ActionExecuted("action_listen")
HANDOVER_SLOTS = ("handover", "handover_message", "agent_message")
CALLBACK_SLOTS = ("callback_phone", "callback_name", "callback_time")


async def _blocking(func: Any, *args: Any) -> Any:
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def _transcript(tracker: Tracker) -> list[tuple[str, str]]:
    turns = [(e["event"], e.get("text") or "") for e in tracker.events
             if e.get("event") in ("user", "bot") and e.get("text")]
    return turns[-TRANSCRIPT_TURNS:]


def _with_draft(tracker: Tracker, transcript: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The transcript, and when a tip is being written its draft as the summary shows it,
    so the agent sees it (masked like every transcript line by the desk)."""
    if not intake.has_draft(tracker.slots):
        return transcript
    text, _ = intake.summary(tracker.slots, "sv")
    return [*transcript, ("bot", f"[Tipsutkast, inte skickat]\n{text}")]


def _state(state: str, position: int = 0) -> dict[str, Any]:
    return {"handover": {"state": state, "position": position}}


def _pictures_line(count: int) -> str:
    """What the agent sees instead of the channel's "/pictures_added" (the console is in
    Swedish): pictures are not shown there; they wait for a tip (bot/tips/uploads.py)."""
    return (f"[Medborgaren skickade {intake.pictures_phrase(count, 'sv')}. Bilder tas emot "
            "som en del av ett tips och visas inte här.]")


async def _pictures_sent(tracker: Tracker) -> int | None:
    """How many pictures the citizen's message brought: None when it brought none; the
    channel's own count (Meta's `attachments` metadata), else what the conversation has
    staged (the web chat's upload tells only "/pictures_added"); 0 when nothing arrived."""
    message = tracker.latest_message or {}
    metadata = message.get("metadata")
    attachments = metadata.get("attachments") if isinstance(metadata, dict) else None
    if isinstance(attachments, list) and attachments:
        return len(attachments)
    if (message.get("intent") or {}).get("name") == "pictures_added":
        return await staged_pictures(tracker)
    return None


async def _tell_about_pictures(count: int, dispatcher: CollectingDispatcher,
                               tracker: Tracker, domain: DomainDict) -> None:
    """The agent gets a plain line, the citizen the honest answer: the person cannot see
    pictures here; they go with a tip, or are deleted."""
    language = current_language(tracker)
    if not count:
        dispatcher.utter_message(**render(domain, "utter_tip_no_pictures_yet", language))
        return
    await _blocking(desk().forward, tracker.sender_id, _pictures_line(count))
    dispatcher.utter_message(**render(domain, "utter_handover_pictures", language,
                                      pictures=intake.pictures_phrase(count, language)))


class ActionHandoverStart(Action):
    """Queues the conversation for a person, or out of hours offers 114 14 and a callback."""

    def name(self) -> str:
        return "action_handover_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        language = current_language(tracker)
        draft = intake.has_draft(tracker.slots)
        if not desk().is_open():
            dispatcher.utter_message(**render(domain, "utter_handover_closed_hours", language))
            if draft:
                dispatcher.utter_message(**render(domain, "utter_tip_draft_kept", language))
            return [ActiveLoop(None), SlotSet("requested_slot", None)] if draft else []
        intent = (tracker.latest_message.get("intent") or {}).get("name") or "request_human"
        ticket = await _blocking(
            desk().open, tracker.sender_id, tracker.get_latest_input_channel() or "unknown",
            language, tracker.get_slot("area"), intent, _with_draft(tracker, _transcript(tracker)))
        dispatcher.utter_message(
            **render(domain, "utter_handover_queued", language, position=ticket.position,
                     wait=_wait(ticket, language)),
            json_message=_state("waiting", ticket.position))
        if draft:
            dispatcher.utter_message(**render(domain, "utter_tip_draft_kept", language))
        return [SlotSet("handover", "waiting"), FollowupAction("handover_form")]


def _wait(ticket: Any, language: str) -> str:
    return wait_phrase(wait_estimate(ticket.estimated_wait_minutes, ticket.position), language)


class ActionHandoverTransferred(Action):
    """Run by the console when an agent moves the case to a queue: the citizen waits again
    and is told so, with the new place in the queue."""

    def name(self) -> str:
        return "action_handover_transferred"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        ticket = await _blocking(desk().ticket, tracker.sender_id)
        if ticket is None or ticket.status != "waiting":
            return [LISTEN]
        language = current_language(tracker)
        dispatcher.utter_message(
            **render(domain, "utter_handover_transferred", language, position=ticket.position,
                     wait=_wait(ticket, language)),
            json_message=_state("waiting", ticket.position))
        return [SlotSet("handover", "waiting"), LISTEN]


class ValidateHandoverForm(FormValidationAction):
    """Every citizen message during handover goes to the agent; the bot says nothing."""

    def name(self) -> str:
        return "validate_handover_form"

    async def validate_handover_message(self, value: Any, dispatcher: CollectingDispatcher,
                                        tracker: Tracker, domain: DomainDict
                                        ) -> dict[str, Any]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "emergency_possible":
            dispatcher.utter_message(**render(domain, "utter_emergency_reminder",
                                              current_language(tracker)))
        pictures = await _pictures_sent(tracker)
        # "/pictures_added" is the channel's signal, not the citizen's words; a caption is.
        if isinstance(value, str) and value.strip() and intent != "pictures_added":
            await _blocking(desk().forward, tracker.sender_id, value)
        if pictures is not None:
            await _tell_about_pictures(pictures, dispatcher, tracker, domain)
        return {"handover_message": None}


class ActionAskHandoverMessage(Action):
    """The form's question while a person has the conversation: silence."""

    def name(self) -> str:
        return "action_ask_handover_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        return []


class ActionHandoverEmergency(Action):
    """The agent sees an emergency during handover, marked; the citizen has already had
    the 112 (or self-harm) answer from Rasa itself (data/rules.yml), so it never waits for
    this action server."""

    def name(self) -> str:
        return "action_handover_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        await _blocking(desk().forward, tracker.sender_id, f"[112] {text}")
        pictures = await _pictures_sent(tracker)
        if pictures:
            await _blocking(desk().forward, tracker.sender_id, _pictures_line(pictures))
        return []


class ActionHandoverCancel(Action):
    """"Avbryt": leave the queue (or the agent) and go back to the assistant."""

    def name(self) -> str:
        return "action_handover_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        # The agent's transcript shows the citizen's own words for leaving ("avbryt").
        text = tracker.latest_message.get("text")
        if text and await _blocking(desk().handover_state, tracker.sender_id):
            await _blocking(desk().forward, tracker.sender_id, text)
        await _blocking(desk().cancel, tracker.sender_id)
        dispatcher.utter_message(**render(domain, "utter_handover_back",
                                          current_language(tracker)),
                                 json_message=_state("closed"))
        return [ActiveLoop(None), SlotSet("requested_slot", None),
                *(SlotSet(s, None) for s in HANDOVER_SLOTS)]


class ActionHandoverClaimed(Action):
    """Run by the console when an agent takes the conversation."""

    def name(self) -> str:
        return "action_handover_claimed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(**render(domain, "utter_handover_claimed",
                                          current_language(tracker)),
                                 json_message=_state("active"))
        return [SlotSet("handover", "active"), LISTEN]


class ActionHandoverEnd(Action):
    """Run by the console when the agent closes: the assistant takes over again."""

    def name(self) -> str:
        return "action_handover_end"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(**render(domain, "utter_handover_back",
                                          current_language(tracker)),
                                 json_message=_state("closed"))
        return [ActiveLoop(None), SlotSet("requested_slot", None),
                *(SlotSet(s, None) for s in HANDOVER_SLOTS), LISTEN]


class ActionRelayAgentMessage(Action):
    """Sends the agent's reply (put in the `agent_message` slot by the console)."""

    def name(self) -> str:
        return "action_relay_agent_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        text = tracker.get_slot("agent_message")
        if not text:
            return []
        prefix = ("Polisens kontaktcenter: " if current_language(tracker) == "sv"
                  else "Police contact centre: ")
        dispatcher.utter_message(text=prefix + str(text), json_message={"agent": True})
        return [SlotSet("agent_message", None), LISTEN]


class ActionSubmitCallback(Action):
    """Stores the out-of-hours callback request and tells its reference."""

    def name(self) -> str:
        return "action_submit_callback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        language = current_language(tracker)
        optional = [None if tracker.get_slot(s) in (None, "-") else tracker.get_slot(s)
                    for s in ("callback_name", "callback_time")]
        try:
            reference = await _blocking(desk().callback, tracker.sender_id,
                                        tracker.get_slot("callback_phone") or "", *optional,
                                        language)
        except ValueError:
            dispatcher.utter_message(**render(domain, "utter_callback_bad_phone", language))
            return [SlotSet("callback_phone", None), FollowupAction("callback_form")]
        dispatcher.utter_message(**render(domain, "utter_callback_stored", language,
                                          reference=reference))
        return [SlotSet(s, None) for s in CALLBACK_SLOTS]
