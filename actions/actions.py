"""Custom actions for the conversation's frame: session start and the fallback question."""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.resources import desk
from actions.responses import DEFAULT_LANGUAGE, normalise_language, render

LABELS_FILE = Path(__file__).with_name("intent_labels.yml")
# The form that forwards every citizen message to the agent (actions/handover.py).
HANDOVER_FORM, HANDOVER_MESSAGE = "handover_form", "handover_message"


def handover_resumed(state: str) -> list[EventType]:
    """Events that put a conversation (back) in its handover: the form that forwards each
    message to the person, waiting for the citizen's next message. A new session (Rasa's
    session expiry, 60 minutes of silence) starts without an active form; without these the
    bot would answer a citizen who is still waiting for or talking with a person."""
    return [SlotSet("handover", state), ActiveLoop(HANDOVER_FORM),
            SlotSet("requested_slot", HANDOVER_MESSAGE)]


@cache
def intent_labels() -> dict[str, dict[str, str]]:
    """Intent descriptions for "did you mean ...?" (read once; the file is static)."""
    return yaml.safe_load(LABELS_FILE.read_text(encoding="utf-8"))


def current_language(tracker: Tracker) -> str:
    return normalise_language(tracker.get_slot("language")) or DEFAULT_LANGUAGE


class ActionSessionStart(Action):
    """Starts a session: keeps the slots, takes the language from the channel and tells the
    user at once that this is an AI assistant (EU AI Act art. 50) and to ring 112 in an
    emergency. A conversation that is waiting for or with a person stays in its handover,
    silently."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        carried = [SlotSet(k, v) for k, v in tracker.slots.items()
                   if v is not None and k != "session_started_metadata"]
        events.extend(carried)
        metadata = tracker.get_slot("session_started_metadata") or {}
        language = normalise_language(metadata.get("language")) or current_language(tracker)
        events.append(SlotSet("language", language))
        loop = asyncio.get_running_loop()
        # During a handover the bot is silent: a session that expires while the citizen waits
        # for or talks with a person restarts when the console sends the agent's reply
        # (Rasa's /execute), with no output channel yet - and a welcome there would fail, or
        # reach a Messenger user outside the 24-hour window untagged, and lose the reply.
        # The new session goes on in the handover: the next message goes to the person.
        state = await loop.run_in_executor(None, desk().handover_state, tracker.sender_id)
        if state is not None:
            events.extend(handover_resumed(state))
        else:
            if tracker.get_slot("handover"):  # left behind by a close that did not reach us
                events.append(SlotSet("handover", None))
            if tracker.get_slot("requested_slot") == HANDOVER_MESSAGE:
                events.append(SlotSet("requested_slot", None))
            dispatcher.utter_message(**render(domain, "utter_welcome", language))
            banner = await loop.run_in_executor(None, desk().banner)
            if banner:
                dispatcher.utter_message(text=banner)
        events.append(ActionExecuted("action_listen"))
        return events


class ActionAskAffirmation(Action):
    """First stage of the fallback: "Did you mean: <plain description>?" in the user's
    language, instead of Rasa's default that shows the intent's internal name.

    Only the classifier's own best guess is named. When that has no label (out_of_scope, a
    promise follow-up, a possible emergency), naming the next labelled intent asked about
    something the citizen did not ask (the held-out evaluation's out-of-scope failures);
    asking to rephrase is the honest question then."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        language = current_language(tracker)
        ranking = tracker.latest_message.get("intent_ranking") or []
        labels = intent_labels()
        best = next((r.get("name") for r in ranking if r.get("name") != "nlu_fallback"), None)
        guess = best if best in labels else None
        if guess is None:
            dispatcher.utter_message(**render(domain, "utter_ask_rephrase", language))
            return []
        dispatcher.utter_message(**render(domain, "utter_ask_affirmation", language,
                                          intent=guess, intent_label=labels[guess][language]))
        return []
