"""The socket.io channel (Rasa's protocol, so standard clients work) with safe sessions.

Differences from Rasa's stock channel:
- the server issues the conversation id in a signed token (`session_confirm` carries it,
  clients send it back as `session_id` in `session_request` to resume, and get the same
  token back until half its life is over); a client cannot join another conversation;
- `enter_room` is awaited: with today's python-socketio it is a coroutine, and the stock
  channel's un-awaited call leaves the client outside its room, so replies are lost;
- with `REDIS_URL` set, rooms and "is a window connected" are shared by every Rasa server
  through Redis (`bot/channels/presence.py`), so a push from any server reaches the citizen;
- input is cleaned like every other channel's and the text is never logged;
- every `bot_uttered` has Rasa's documented shape, so rasa-webchat and other standard
  clients render it: `text` (with `quick_replies`), `attachment`, or `custom` alone, plus
  `metadata`. A custom payload with text goes out as two messages, the text first (clients
  drop a message whose keys they do not know). `metadata.language` ("sv"/"en") is the
  language the reply is written in, so the widget can mark it for screen readers (WCAG
  3.1.2): the reply's own metadata (an action's `utter_message(language=…)`, or the
  `language` condition of the domain response variant Rasa chose), else the conversation's
  current language, which the channel follows the way the `language` slot does (the language
  detected in each message, else the one it had, else the channel's metadata for a new
  conversation). `metadata.agent` marks the text of an agent's reply (`custom.agent`).
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.hygiene import EMPTY_MESSAGE_REPLY, clean_metadata, clean_text
from bot.channels.presence import Presence, client_manager, presence
from bot.channels.reminders import with_reminder
from bot.channels.session_token import SessionTokens
from bot.language import detect_language
from bot.settings import Settings

logger = logging.getLogger(__name__)

LANGUAGES = ("sv", "en")
# Web-chat conversation ids carry their channel, so no other channel can reach them.
WEB_PREFIX = "web:"
MAX_REMEMBERED = 10_000
LanguageOf = Callable[[str], Awaitable["str | None"]]
"""``language_of(conversation_id)``: the conversation's current language, or None."""

# The metadata of the reply being sent (its language, an agent's mark), for every message it
# is split into.
_REPLY_METADATA: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "reply_metadata", default=None)


def new_conversation_id() -> str:
    """A new web-chat conversation id: unguessable, and marked as the web chat's."""
    return WEB_PREFIX + secrets.token_urlsafe(18)


def normalise_language(value: Any) -> str | None:
    """'en', 'en-GB', 'SV_se' → 'en'/'sv'; anything else → None."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def reply_language(message: dict[str, Any]) -> str | None:
    """The language a reply itself names: `language` in its metadata, or the `language`
    condition of the domain response variant it was made from."""
    named = normalise_language(message.get("language"))
    if named:
        return named
    for condition in message.get("condition") or []:
        if isinstance(condition, dict) and condition.get("name") == "language":
            return normalise_language(condition.get("value"))
    return None


class NotConnected(Exception):
    """Raised by the output channel Rasa's HTTP API uses (the console's agent replies) when
    no chat window of the conversation is connected to this server, so the API answers an
    error instead of a success for a reply nobody received. Never names the text."""

    def __init__(self) -> None:
        super().__init__("cannot deliver: no web chat window is connected to the conversation")


def _is_agent_reply(message: dict[str, Any]) -> bool:
    """The handover relay (actions/handover.py) marks an agent's words `{"agent": true}`."""
    custom = message.get("custom")
    return isinstance(custom, dict) and custom.get("agent") is True


class SocketOutput(SocketIOOutput):
    """Rasa's socket.io output, with custom payloads that work: the stock one passes the
    payload's keys as arguments to `emit` and fails. Every message carries `metadata` with
    the language it is in (`language`, when known) and, for the text of an agent's reply,
    `agent: true`; a custom payload is a message of its own, after the text.

    `agent_needs_listener` is for the output Rasa's HTTP API uses: an agent's reply to a
    conversation without a connected chat window raises :class:`NotConnected` (a socket.io
    emit to an empty room would vanish, and the console would say "delivered")."""

    def __init__(self, sio: AsyncServer, bot_message_evt: str,
                 language_of: LanguageOf | None = None,
                 agent_needs_listener: bool = False,
                 listeners: Presence | None = None) -> None:
        super().__init__(sio, bot_message_evt)
        self.language_of = language_of
        self.agent_needs_listener = agent_needs_listener
        self.listeners = listeners

    async def _connected(self, conversation_id: str) -> bool:
        """Is a chat window of the conversation (its room) connected, to any server?"""
        if self.listeners is not None:
            return await self.listeners.connected(conversation_id)
        return any(True for _ in self.sio.manager.get_participants("/", conversation_id))

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        agent = _is_agent_reply(message)
        if self.agent_needs_listener and agent and not await self._connected(recipient_id):
            raise NotConnected()
        language = reply_language(message)
        if language is None and self.language_of is not None:
            language = await self.language_of(recipient_id)
        metadata: dict[str, Any] = {"language": language} if language else {}
        if agent:
            metadata["agent"] = True
        marked = _REPLY_METADATA.set(metadata)
        try:
            await super().send_response(recipient_id, dict(message))  # Rasa pops its keys
        finally:
            _REPLY_METADATA.reset(marked)

    async def _send_message(self, socket_id: str, response: Any) -> None:
        metadata = _REPLY_METADATA.get()
        if metadata and isinstance(response, dict):
            response = {**response, "metadata": {**metadata, **(response.get("metadata") or {})}}
        await super()._send_message(socket_id, response)

    async def send_text_with_buttons(self, recipient_id: str, text: str,
                                     buttons: list[dict[str, Any]], **kwargs: Any) -> None:
        """Quick replies for payload buttons and links for url buttons (the stock output
        fails on a button without a payload)."""
        replies = [
            {"title": b["title"], "url": b["url"]} if b.get("url") and not b.get("payload")
            else {"content_type": "text", "title": b["title"], "payload": b.get("payload", "")}
            for b in buttons
        ]
        await self._send_message(recipient_id, {"text": text, "quick_replies": replies})

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any],
                               **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class SecureSocketIOInput(InputChannel):
    """Socket.io input channel named `socketio` (path /socket.io)."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        settings = Settings.from_env()
        secret = settings.session_secret or secrets.token_hex(32)
        return cls(
            tokens=SessionTokens(secret.encode("utf-8")),
            cors_origins=list(settings.cors_origins),
            user_message_evt=credentials.get("user_message_evt", "user_uttered"),
            bot_message_evt=credentials.get("bot_message_evt", "bot_uttered"),
            socketio_path=credentials.get("socketio_path", "/socket.io"),
            redis_url=settings.redis_url,
        )

    def __init__(
        self,
        tokens: SessionTokens,
        cors_origins: list[str],
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        socketio_path: str = "/socket.io",
        redis_url: str = "",
    ) -> None:
        self.tokens = tokens
        self.cors_origins = cors_origins
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.socketio_path = socketio_path
        self.redis_url = redis_url
        self.sio: AsyncServer | None = None
        self.listeners: Presence | None = None
        self.app: Sanic | None = None
        # conversation id → its current language, newest last (bounded).
        self.languages: OrderedDict[str, str] = OrderedDict()

    def origin_allowed(self, origin: str | None) -> bool:
        """A browser page on an origin outside `CORS_ORIGINS` may not chat (a client that
        is not a browser sends no Origin)."""
        return not origin or "*" in self.cors_origins or origin in self.cors_origins

    def get_output_channel(self) -> OutputChannel | None:
        """Lets Rasa's HTTP API (`output_channel=socketio`, the console) push messages to the
        citizen; an agent's reply to a conversation without a connected window is an error."""
        if self.sio is None:
            return None
        return SocketOutput(self.sio, self.bot_message_evt, self.language_of,
                            agent_needs_listener=True, listeners=self.listeners)

    def _remember(self, conversation_id: str, language: str) -> None:
        self.languages[conversation_id] = language
        self.languages.move_to_end(conversation_id)
        while len(self.languages) > MAX_REMEMBERED:
            self.languages.popitem(last=False)

    async def _stored_language(self, conversation_id: str) -> str | None:
        """The `language` slot of a conversation this process has not seen yet (after a
        restart); None for a new conversation or when the tracker store cannot say."""
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return None
        try:
            tracker = await store.retrieve(conversation_id)
        except Exception as error:  # noqa: BLE001 - the language mark is not worth a failure
            logger.warning("socketio channel: no tracker for the reply language (%s)",
                           type(error).__name__)
            return None
        return normalise_language(tracker.get_slot("language")) if tracker else None

    async def language_of(self, conversation_id: str) -> str | None:
        """The conversation's current language, as far as this channel knows it."""
        known = self.languages.get(conversation_id)
        if known is None:
            known = await self._stored_language(conversation_id)
            if known:
                self._remember(conversation_id, known)
        return known

    async def _turn_language(self, conversation_id: str, text: str,
                             metadata: dict[str, Any]) -> str:
        """The language the bot answers this message in, found as the `language` slot is:
        the language of the text (no NLU runs on a "/intent" payload), else the one the
        conversation had, else the channel's (a new conversation starts in it)."""
        detected = None if text.startswith("/") else detect_language(text)
        language = (detected or await self.language_of(conversation_id)
                    or normalise_language(metadata.get("language")) or LANGUAGES[0])
        self._remember(conversation_id, language)
        return language

    async def _join(self, sid: str, conversation_id: str, token: str | None = None) -> str:
        """Bind socket `sid` to a conversation and confirm it with the token that resumes
        it (`token`, or a new one)."""
        assert self.sio is not None
        await self.sio.save_session(sid, {"conversation_id": conversation_id})
        joined = self.sio.enter_room(sid, conversation_id)
        if inspect.isawaitable(joined):
            await joined
        if self.listeners is not None:
            await self.listeners.joined(sid, conversation_id)
        token = token or self.tokens.issue(conversation_id)
        await self.sio.emit("session_confirm", token, room=sid)
        return token

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # CORS headers come from the Rasa server's `--cors` (the launcher passes the same
        # origins) for every route, /socket.io included; engine.io adding its own as well
        # doubled them, and browsers refuse such answers (rasa-webchat starts with long
        # polling). So engine.io adds none, and the origin is checked on connect instead.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[],
                          client_manager=client_manager(self.redis_url))
        self.sio = sio
        self.listeners = presence(sio, self.redis_url)
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)

        @webhook.listener("before_server_start")
        async def remember_app(app: Sanic, _: Any) -> None:
            self.app = app  # its ctx.agent holds the tracker store (see _stored_language)
            assert self.listeners is not None
            await self.listeners.start()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            return self.origin_allowed(environ.get("HTTP_ORIGIN"))

        @sio.on("disconnect")
        async def disconnect(sid: str, *_: Any) -> None:
            assert self.listeners is not None
            await self.listeners.left(sid)

        @sio.on("session_request")
        async def session_request(sid: str, data: Any = None) -> None:
            resumed = self.tokens.resume(data.get("session_id") if isinstance(data, dict)
                                         else None)
            if resumed:
                await self._join(sid, *resumed)
            else:  # none, or one the server did not issue: a new conversation
                await self._join(sid, new_conversation_id())

        @sio.on(self.user_message_evt)
        async def handle_message(sid: str, data: Any = None) -> None:
            data = data if isinstance(data, dict) else {}
            session = await sio.get_session(sid)
            conversation_id = session.get("conversation_id")
            if not conversation_id:
                conversation_id = new_conversation_id()
                await self._join(sid, conversation_id)
            message = clean_text(data.get("message"))
            metadata = clean_metadata(data.get("metadata") or data.get("customData"), message.text)
            if message.truncated:
                metadata["truncated"] = True
            language = await self._turn_language(conversation_id, message.text, metadata)
            output = with_reminder(SocketOutput(sio, self.bot_message_evt, self.language_of),
                                   message.text, language)
            if not message.text:  # nothing to understand (rasa-webchat's empty start payload)
                await output.send_response(conversation_id, {
                    "text": EMPTY_MESSAGE_REPLY[language], "language": language})
                return
            try:
                await on_new_message(
                    UserMessage(
                        message.text,
                        output,
                        conversation_id,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except Exception:  # noqa: BLE001 - tell the citizen instead of going silent
                logger.exception("socketio channel: handling a message failed (text not logged)")
                await sio.emit(
                    self.bot_message_evt,
                    {
                        "text": "Assistenten kan inte svara just nu. Ring 114 14, eller 112 vid "
                        "nödläge. / The assistant cannot answer right now. Call 114 14, "
                        "or 112 in an emergency."
                    },
                    room=conversation_id,
                )

        return webhook
