"""Per-conversation message limits in the Rasa server, for every citizen channel at once
(web chat sessions, Messenger, Instagram and WhatsApp senders): a wrapper around
`MessageProcessor.handle_message`, installed only on the Rasa version it was written for.

A message over the limit is not processed; the citizen is told once a minute to wait, with
112. An emergency (the deterministic net) is never limited. The REST channel is exempt: it
is an integration that holds a token, not a citizen.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import rasa
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor

from bot.language import detect_language
from bot.rasa_honest_failure import TESTED_RASA
from bot.ratelimit import LIMIT_NOTICES, MESSAGES_PER_CONVERSATION, TOO_MANY_MESSAGES, RateLimits
from bot.safety import detect_emergency

EXEMPT_CHANNELS = frozenset({"rest"})


async def over_limit(limits: RateLimits, message: UserMessage) -> bool:
    """Whether `message` is over its conversation's limit (and tell the citizen, at most
    once a minute)."""
    text = message.text or ""
    if message.input_channel in EXEMPT_CHANNELS or detect_emergency(text):
        return False
    if await limits.allow(MESSAGES_PER_CONVERSATION, "messages", message.sender_id):
        return False
    if await limits.allow(LIMIT_NOTICES, "notice", message.sender_id):
        language = (message.metadata or {}).get("language") or detect_language(text) or "sv"
        language = language if language in TOO_MANY_MESSAGES else "sv"
        await message.output_channel.send_response(
            message.sender_id, {"text": TOO_MANY_MESSAGES[language], "language": language})
    return True


def limited(handle: Callable[..., Awaitable[Any]],
            limits: RateLimits) -> Callable[..., Awaitable[Any]]:
    async def handle_message(self: MessageProcessor, message: UserMessage) -> Any:
        if await over_limit(limits, message):
            return None
        return await handle(self, message)

    handle_message.rate_limited = True  # type: ignore[attr-defined]
    return handle_message


def apply(limits: RateLimits) -> None:
    """Install the limit (idempotent); refuses a Rasa it was not written against."""
    if rasa.__version__ != TESTED_RASA:
        raise RuntimeError(f"bot.rasa_rate_limit is written for Rasa {TESTED_RASA}")
    if not getattr(MessageProcessor.handle_message, "rate_limited", False):
        MessageProcessor.handle_message = limited(  # type: ignore[method-assign]
            MessageProcessor.handle_message, limits)
