"""The REST channel, hardened: malformed requests get a JSON 400, text is cleaned, and a
failure inside Rasa is logged without the citizen's text.

A REST client only receives the answer to its own request, so nothing can be pushed to it.
What the contact centre sends meanwhile through Rasa's HTTP API (``output_channel=rest``: an
agent's reply, "a person has joined", "you are back with the assistant") is kept in the
conversation as usual, and shown at the top of the answer to the citizen's next message.
Which conversations have such messages waiting is marked (`bot/channels/waiting.py`: in
Redis when `REDIS_URL` is set, so every Rasa server sees the marks; else in this process),
so a message costs nothing extra unless something waits."""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, OutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from redis.exceptions import RedisError
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.hygiene import clean_metadata, clean_sender, clean_text
from bot.channels.meta.parse import Platform
from bot.channels.reminders import with_reminder
from bot.channels.socketio import WEB_PREFIX
from bot.channels.waiting import Waiting, waiting_conversations
from bot.settings import Settings

logger = logging.getLogger(__name__)
# Conversation ids carry their channel: "<platform>:<user id>" on social media, "web:<random>"
# in the web chat. A REST client must never write into one (a Meta user's id is not a
# secret, a web chat's id is shown to staff) and so act, or read, in that citizen's name.
OTHER_CHANNELS = (*(f"{platform.value}:" for platform in Platform), WEB_PREFIX)

MAX_BODY_BYTES = 512 * 1024  # 20 000 characters JSON-escaped fit
LISTEN = "action_listen"


class WaitingOutput(CollectingOutputChannel):
    """The output Rasa's HTTP API uses for REST conversations: nothing can be sent, so it
    notes that the conversation has messages waiting (they are in the tracker already)."""

    def __init__(self, waiting: Waiting) -> None:
        super().__init__()
        self.waiting = waiting

    async def _persist_message(self, message: dict[str, Any]) -> None:
        await super()._persist_message(message)
        recipient = message.get("recipient_id")
        if isinstance(recipient, str):
            await self.waiting.add(recipient)


def waiting_messages(tracker: DialogueStateTracker) -> list[BotUttered] | None:
    """The bot messages since the answer to the citizen's last message (sent through Rasa's
    HTTP API while the citizen was silent); None when the tracker has no citizen message."""
    events = list(tracker.events)
    last_user = next((i for i in range(len(events) - 1, -1, -1)
                      if isinstance(events[i], UserUttered)), None)
    if last_user is None:
        return None
    answered = next((i for i in range(last_user + 1, len(events))
                     if isinstance(events[i], ActionExecuted)
                     and events[i].action_name == LISTEN), len(events))
    return [e for e in events[answered + 1:] if isinstance(e, BotUttered)]


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class RestChannel(RestInput):
    """`POST /webhooks/rest/webhook` with `{"sender": ..., "message": ..., "metadata": {...}}`."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> RestChannel:
        return cls(token=Settings.from_env().rest_token)

    def __init__(self, token: str = "") -> None:
        self.waiting = waiting_conversations(Settings.from_env().redis_url)
        # No token configured (a process not started by the launcher): nobody gets in.
        self.token = token

    def _authorised(self, request: Request) -> bool:
        """The integration's bearer token (header, or `?token=` like Rasa's API)."""
        scheme, _, given = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            given = request.args.get("token") or ""
        return bool(self.token) and hmac.compare_digest(
            given.strip().encode("utf-8", "replace"), self.token.encode("utf-8"))

    async def _owned_elsewhere(self, request: Request, sender: str) -> bool:
        """Whether a stored conversation with this id was started on another channel (a web
        chat from before ids carried their channel); REST may only continue its own."""
        store = getattr(getattr(request.app.ctx, "agent", None), "tracker_store", None)
        if store is None:
            return False
        tracker = await store.retrieve(sender)
        return tracker is not None and any(
            isinstance(event, UserUttered) and event.input_channel not in (None, self.name())
            for event in tracker.events)

    def get_output_channel(self) -> OutputChannel | None:
        """For Rasa's HTTP API (``output_channel=rest``, the console): see the module doc."""
        return WaitingOutput(self.waiting)

    async def _waiting_for(self, request: Request, sender: str) -> list[dict[str, Any]]:
        """What the contact centre sent since the citizen's last message, as replies."""
        try:
            if not await self.waiting.take(sender):
                return []
        except (RedisError, OSError) as error:  # the citizen's own answer still comes
            logger.warning("rest channel: waiting marks not readable (%s)", type(error).__name__)
            return []
        store = getattr(getattr(request.app.ctx, "agent", None), "tracker_store", None)
        if store is None:
            return []
        try:
            tracker = await store.retrieve(sender)
            found = waiting_messages(tracker) if tracker else None
            if found is None:  # the session started without the citizen: look further back
                tracker = await store.retrieve_full_tracker(sender)
                found = (waiting_messages(tracker) if tracker else None) or []
        except Exception as error:  # noqa: BLE001 - the citizen's own answer still comes
            logger.warning("rest channel: waiting messages could not be read (%s)",
                           type(error).__name__)
            return []
        collector = CollectingOutputChannel()
        for event in found:
            await collector.send_response(sender, event.message())
        return collector.messages

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return _error(401, "The REST channel needs its token "
                                   "(Authorization: Bearer <REST_TOKEN>).")
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _error(413, "The message is too large.")
            try:
                body = json.loads(request.body or b"")
            except (ValueError, RecursionError):  # RecursionError: nested too deeply
                return _error(400, "Send a JSON object with 'sender' and 'message'.")
            if not isinstance(body, dict):
                return _error(400, "Send a JSON object with 'sender' and 'message'.")
            sender = clean_sender(body.get("sender"))
            if sender is None:
                return _error(400, "'sender' must be a non-empty string of at most 128 characters.")
            if sender.startswith(OTHER_CHANNELS):
                return _error(403, "'sender' names another channel's conversation.")
            try:
                if await self._owned_elsewhere(request, sender):
                    return _error(403, "'sender' names another channel's conversation.")
            except Exception as error:  # noqa: BLE001 - refuse rather than guess
                logger.warning("rest channel: cannot check the conversation's channel (%s)",
                               type(error).__name__)
                return _error(503, "The assistant could not answer right now. "
                                   "Call 114 14, or 112 in an emergency.")
            raw = body.get("message")
            if raw is not None and not isinstance(raw, str):
                return _error(400, "'message' must be a string.")
            message = clean_text(raw)
            metadata = clean_metadata(body.get("metadata"), message.text)
            if message.truncated:
                metadata["truncated"] = True
            waiting = await self._waiting_for(request, sender)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        message.text,
                        with_reminder(collector, message.text, metadata.get("language")),
                        sender,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except Exception:  # noqa: BLE001 - the citizen must get an answer, not a 500
                logger.exception("rest channel: handling a message failed (text not logged)")
                if waiting:
                    with contextlib.suppress(RedisError, OSError):
                        await self.waiting.add(sender)  # shown with the next answer instead
                return _error(
                    503,
                    "The assistant could not answer right now. "
                    "Call 114 14, or 112 in an emergency.",
                )
            return response.json(waiting + collector.messages)

        return webhook
