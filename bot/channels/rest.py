"""The REST channel, hardened: malformed requests get a JSON 400, text is cleaned, and a
failure inside Rasa is logged without the citizen's text."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.hygiene import clean_metadata, clean_sender, clean_text

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 512 * 1024  # 20 000 characters JSON-escaped fit


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class RestChannel(RestInput):
    """`POST /webhooks/rest/webhook` with `{"sender": ..., "message": ..., "metadata": {...}}`."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if len(request.body or b"") > MAX_BODY_BYTES:
                return _error(413, "The message is too large.")
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return _error(400, "Send a JSON object with 'sender' and 'message'.")
            if not isinstance(body, dict):
                return _error(400, "Send a JSON object with 'sender' and 'message'.")
            sender = clean_sender(body.get("sender"))
            if sender is None:
                return _error(400, "'sender' must be a non-empty string of at most 128 characters.")
            raw = body.get("message")
            if raw is not None and not isinstance(raw, str):
                return _error(400, "'message' must be a string.")
            message = clean_text(raw)
            metadata = clean_metadata(body.get("metadata"), message.text)
            if message.truncated:
                metadata["truncated"] = True
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        message.text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except Exception:  # noqa: BLE001 - the citizen must get an answer, not a 500
                logger.exception("rest channel: handling a message failed (text not logged)")
                return _error(
                    503,
                    "The assistant could not answer right now. "
                    "Call 114 14, or 112 in an emergency.",
                )
            return response.json(collector.messages)

        return webhook
