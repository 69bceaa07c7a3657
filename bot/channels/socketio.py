"""The socket.io channel (Rasa's protocol, so standard clients work) with safe sessions.

Differences from Rasa's stock channel:
- the server issues the conversation id in a signed token (`session_confirm` carries it,
  clients send it back as `session_id` to resume); a client cannot join another conversation;
- `enter_room` is awaited: with today's python-socketio it is a coroutine, and the stock
  channel's un-awaited call leaves the client outside its room, so replies are lost;
- input is cleaned like every other channel's and the text is never logged.
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.hygiene import clean_metadata, clean_text
from bot.channels.session_token import SessionTokens
from bot.settings import Settings

logger = logging.getLogger(__name__)


class SocketOutput(SocketIOOutput):
    """Rasa's socket.io output, with custom payloads that work: the stock one passes the
    payload's keys as arguments to `emit` and fails. Text with a custom payload (an agent's
    reply, a handover state) goes out as one message so the client can mark it."""

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        if message.get("custom") and message.get("text") and not message.get("buttons"):
            await self._send_message(recipient_id, {"text": message["text"],
                                                    "custom": message["custom"]})
            return
        await super().send_response(recipient_id, message)

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
        )

    def __init__(
        self,
        tokens: SessionTokens,
        cors_origins: list[str],
        user_message_evt: str = "user_uttered",
        bot_message_evt: str = "bot_uttered",
        socketio_path: str = "/socket.io",
    ) -> None:
        self.tokens = tokens
        self.cors_origins = cors_origins
        self.user_message_evt = user_message_evt
        self.bot_message_evt = bot_message_evt
        self.socketio_path = socketio_path
        self.sio: AsyncServer | None = None

    def get_output_channel(self) -> OutputChannel | None:
        """Lets Rasa's HTTP API (`output_channel=latest`) push messages to the citizen."""
        return SocketOutput(self.sio, self.bot_message_evt) if self.sio else None

    async def _join(self, sid: str, conversation_id: str) -> str:
        """Bind socket `sid` to a conversation and return the token that resumes it."""
        assert self.sio is not None
        await self.sio.save_session(sid, {"conversation_id": conversation_id})
        joined = self.sio.enter_room(sid, conversation_id)
        if inspect.isawaitable(joined):
            await joined
        token = self.tokens.issue(conversation_id)
        await self.sio.emit("session_confirm", token, room=sid)
        return token

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        origins: str | list[str] = "*" if "*" in self.cors_origins else self.cors_origins
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=origins)
        self.sio = sio
        webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect")
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            return True

        @sio.on("session_request")
        async def session_request(sid: str, data: Any = None) -> None:
            token = data.get("session_id") if isinstance(data, dict) else None
            conversation_id = self.tokens.verify(token) or secrets.token_urlsafe(18)
            await self._join(sid, conversation_id)

        @sio.on(self.user_message_evt)
        async def handle_message(sid: str, data: Any = None) -> None:
            data = data if isinstance(data, dict) else {}
            session = await sio.get_session(sid)
            conversation_id = session.get("conversation_id")
            if not conversation_id:
                conversation_id = secrets.token_urlsafe(18)
                await self._join(sid, conversation_id)
            message = clean_text(data.get("message"))
            metadata = clean_metadata(data.get("metadata") or data.get("customData"), message.text)
            if message.truncated:
                metadata["truncated"] = True
            output = SocketOutput(sio, self.bot_message_evt)
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
