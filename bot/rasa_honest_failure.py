"""Honest failure in the Rasa server when the action server is dead, hung or wrong.

Rasa 3.6 waits up to 300 s for a custom action, and when one fails it logs the error and
goes on as if the action had said nothing: the citizen gets an empty answer ("Skicka" on a
tip), or, when the failing action was the session start, a conversation in a state the
policies do not know ("Tyvärr förstår jag fortfarande inte…"). And every conversation's first
message waits for the session start, which is a custom action: an emergency as the first
message waited as long as the action server hung.

Rasa has no extension point for any of this, so these are wrappers around
`RemoteAction.run` and `MessageProcessor.handle_message`, installed only on the Rasa
version they were written against (:data:`TESTED_RASA`):

- every custom action has a deadline (`ACTION_TIMEOUT_SECONDS`, the session start
  :data:`SESSION_START_SECONDS` at most, any action for an emergency message
  :data:`EMERGENCY_ACTION_SECONDS`: a REST answer, which comes whole, is not held back);
- a custom action that fails or times out tells the citizen, once per message, in their
  language and on their own channel, that something went wrong, with 114 14 and 112. Its
  events are lost as before, so whatever the citizen had filled in (a tip's draft) stays;
- the session start runs in this process (:func:`local_session_start`: the slots carried
  over, the language, the AI notice) when the action server cannot give it in time, and
  at once, without asking the action server, when the message that starts the session is
  an emergency by the deterministic net (`bot.safety`): "Ring 112" never waits for it;
- the tracker store is not "fail-safe" any more: Rasa's `FailSafeTrackerStore` saved a
  conversation it could not write into process memory (lost at the next restart, never in
  the database) and read a conversation it could not read as a new one (the draft gone).
  A failed save or read is retried (:data:`STORE_RETRIES`), then raised, so the channel
  tells the citizen the assistant could not answer, with 114 14, and nothing claims to be
  stored that is not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from functools import cache
from typing import Any

import rasa
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.nlg import NaturalLanguageGenerator
from rasa.core.processor import MessageProcessor
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.constants import (
    ACTION_LISTEN_NAME,
    ACTION_SESSION_START_NAME,
    SESSION_START_METADATA_SLOT,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from bot.language import detect_language
from bot.safety import detect_emergency

logger = logging.getLogger(__name__)

TESTED_RASA = "3.6.21"
STORE_RETRIES = (0.2, 1.0)  # seconds before the second and the third try
SESSION_START_SECONDS = 3.0
# Every custom action run for an emergency message (e.g. the tip form after "Ring 112",
# the handover's emergency relay) waits at most this long: the answer is not held back.
EMERGENCY_ACTION_SECONDS = 1.0
VALIDATE_PREFIX = "validate_"
LANGUAGES = ("sv", "en")
# The form that forwards a handed-over conversation's messages (actions/actions.py).
HANDOVER_FORM, HANDOVER_MESSAGE = "handover_form", "handover_message"

SOMETHING_WENT_WRONG = {
    "sv": "Något gick fel hos oss, och vi kunde inte slutföra det du bad om. Det du redan har "
          "skrivit finns kvar: försök igen om en stund, eller ring polisen på 114 14. "
          "Är det ett nödläge, ring 112.",
    "en": "Something went wrong on our side, and we could not finish what you asked for. "
          "What you have already written is kept: try again in a moment, or call the police "
          "on 114 14. In an emergency, call 112.",
}

_message: ContextVar[UserMessage | None] = ContextVar("honest_failure_message", default=None)
_told: ContextVar[list[bool] | None] = ContextVar("honest_failure_told", default=None)
# Set once a custom action failed while handling the current message: the following ones
# fail at once instead of each waiting for its deadline again.
_failed: ContextVar[list[bool] | None] = ContextVar("honest_failure_failed", default=None)


class ActionServerFailedEarlier(Exception):
    """A custom action not even tried: one failed earlier for the same message."""


async def _run_unless_failed(call: Coroutine[Any, Any, list[Event]],
                             deadline: float) -> list[Event]:
    failed = _failed.get()
    if failed:
        call.close()  # never awaited: the action is not tried
        raise ActionServerFailedEarlier()
    try:
        return await asyncio.wait_for(call, deadline)
    except ActionExecutionRejection:
        raise
    except Exception:
        if failed is not None:
            failed.append(True)
        raise


def conversation_language(tracker: DialogueStateTracker) -> str:
    """The language to answer in: the `language` slot, else the channel's, else Swedish."""
    for value in (tracker.get_slot("language"),
                  (tracker.get_slot(SESSION_START_METADATA_SLOT) or {}).get("language")):
        if isinstance(value, str) and value[:2].lower() in LANGUAGES:
            return value[:2].lower()
    return LANGUAGES[0]


async def tell_something_went_wrong(output_channel: OutputChannel,
                                    tracker: DialogueStateTracker) -> None:
    """Once per message: the plain apology with 114 14, on the citizen's channel."""
    told = _told.get()
    if told is not None:
        if told:
            return
        told.append(True)
    language = conversation_language(tracker)
    try:
        await output_channel.send_response(
            tracker.sender_id, {"text": SOMETHING_WENT_WRONG[language], "language": language})
    except Exception as error:  # noqa: BLE001 - the channel's own failure is its to report
        logger.warning("could not tell the citizen an action failed (%s)", type(error).__name__)


@cache
def _welcome_variants(domain: Domain) -> dict[str, dict[str, Any]]:
    """`utter_welcome` per language, rendered from the domain as the action server does."""
    from actions.responses import render

    as_dict = domain.as_dict()
    return {language: render(as_dict, "utter_welcome", language) for language in LANGUAGES}


def local_session_start(tracker: DialogueStateTracker, domain: Domain,
                        text: str | None) -> list[Event]:
    """What `action_session_start` (actions/actions.py) does, without the action server:
    a new session with the slots carried over and the language set; a conversation that
    was handed over goes on in its handover, silently (its `handover` slot is carried over),
    any other gets the AI notice."""
    events: list[Event] = [SessionStarted()]
    events.extend(SlotSet(name, value) for name, value in tracker.current_slot_values().items()
                  if value is not None and name != SESSION_START_METADATA_SLOT)
    metadata = tracker.get_slot(SESSION_START_METADATA_SLOT) or {}
    language = next((value[:2].lower() for value in (metadata.get("language"),
                                                     detect_language(text or ""),
                                                     tracker.get_slot("language"))
                     if isinstance(value, str) and value[:2].lower() in LANGUAGES), "sv")
    events.append(SlotSet("language", language))
    handover = tracker.get_slot("handover")
    if handover:
        events.extend([ActiveLoop(HANDOVER_FORM), SlotSet("requested_slot", HANDOVER_MESSAGE)])
    else:
        events.append(create_bot_utterance(dict(_welcome_variants(domain)[language])))
    events.append(ActionExecuted(ACTION_LISTEN_NAME))
    return events


def honest_run(run: Callable[..., Coroutine[Any, Any, list[Event]]],
               timeout: float) -> Callable[..., Awaitable[list[Event]]]:
    """`RemoteAction.run` with a deadline, a local session start and the apology."""

    async def run_honestly(self: RemoteAction, output_channel: OutputChannel,
                           nlg: NaturalLanguageGenerator, tracker: DialogueStateTracker,
                           domain: Domain) -> list[Event]:
        message = _message.get()
        text = message.text if message is not None else None
        if self.name() == ACTION_SESSION_START_NAME:
            if text and detect_emergency(text):
                return local_session_start(tracker, domain, text)
            try:
                return await _run_unless_failed(run(self, output_channel, nlg, tracker, domain),
                                                min(timeout, SESSION_START_SECONDS))
            except Exception as error:  # noqa: BLE001 - the session starts here instead
                logger.warning("action server did not start the session (%s); started locally",
                               type(error).__name__)
                return local_session_start(tracker, domain, text)
        emergency = bool(text and detect_emergency(text))
        deadline = min(timeout, EMERGENCY_ACTION_SECONDS) if emergency else timeout
        try:
            return await _run_unless_failed(run(self, output_channel, nlg, tracker, domain),
                                            deadline)
        except ActionExecutionRejection:
            raise  # a form refusing an answer: Rasa's own, normal flow
        except Exception as error:
            if emergency and self.name().startswith(VALIDATE_PREFIX):
                # A form (the tip form) checks every answer first; an emergency is refused
                # there anyway, and a refusal lets the rules answer "Ring 112" at once.
                logger.error("custom action %s failed (%s) on an emergency; refused so the "
                             "rules answer it", self.name(), type(error).__name__)
                raise ActionExecutionRejection(self.name()) from error
            logger.error("custom action %s failed (%s); the citizen is told",
                         self.name(), type(error).__name__)
            await tell_something_went_wrong(output_channel, tracker)
            raise

    run_honestly.honest = True  # type: ignore[attr-defined]
    return run_honestly


def remembering_message(
        handle: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """`MessageProcessor.handle_message` that lets the actions of this message know it
    (its text decides the session start) and apologise at most once."""

    async def handle_message(self: MessageProcessor, message: UserMessage) -> Any:
        tokens = _message.set(message), _told.set([]), _failed.set([])
        try:
            return await handle(self, message)
        finally:
            _message.reset(tokens[0])
            _told.reset(tokens[1])
            _failed.reset(tokens[2])

    handle_message.honest = True  # type: ignore[attr-defined]
    return handle_message


async def _retried(what: str, call: Callable[[], Awaitable[Any]]) -> Any:
    """`call()`, tried again after each of STORE_RETRIES on an error; then the error."""
    for delay in (*STORE_RETRIES, None):
        try:
            return await call()
        except Exception as error:
            if delay is None:
                logger.error("tracker store: %s failed (%s); the citizen is told",
                             what, type(error).__name__)
                raise
            logger.warning("tracker store: %s failed (%s); trying again", what,
                           type(error).__name__)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def save_or_raise(self: FailSafeTrackerStore, tracker: DialogueStateTracker) -> None:
    """Save to the real store (retried); never to the in-memory fallback."""
    await _retried("save", lambda: self._tracker_store.save(tracker))


async def retrieve_or_raise(self: FailSafeTrackerStore, sender_id: str
                            ) -> DialogueStateTracker | None:
    """Read from the real store (retried); an error is not "a new conversation"."""
    return await _retried("read", lambda: self._tracker_store.retrieve(sender_id))


async def retrieve_full_or_raise(self: FailSafeTrackerStore, sender_id: str
                                 ) -> DialogueStateTracker | None:
    return await _retried("read", lambda: self._tracker_store.retrieve_full_tracker(sender_id))


def apply(action_timeout: float) -> None:
    """Install the wrappers (idempotent); refuses a Rasa they were not written against."""
    if rasa.__version__ != TESTED_RASA:
        raise RuntimeError(f"bot.rasa_honest_failure is written for Rasa {TESTED_RASA}, not "
                           f"{rasa.__version__}: check RemoteAction.run and "
                           "MessageProcessor._update_tracker_session and FailSafeTrackerStore, "
                           "then update it")
    if not getattr(RemoteAction.run, "honest", False):
        RemoteAction.run = honest_run(RemoteAction.run, action_timeout)  # type: ignore
    FailSafeTrackerStore.save = save_or_raise  # type: ignore[method-assign]
    FailSafeTrackerStore.retrieve = retrieve_or_raise  # type: ignore[method-assign]
    FailSafeTrackerStore.retrieve_full_tracker = (  # type: ignore[method-assign]
        retrieve_full_or_raise)
    if not getattr(MessageProcessor.handle_message, "honest", False):
        MessageProcessor.handle_message = remembering_message(  # type: ignore[method-assign]
            MessageProcessor.handle_message)
