"""Typed keys for what the console keeps on the web application.

The Rasa integration sets :data:`DELIVER` (and optionally :data:`ON_CLAIMED` and
:data:`ON_CLOSED`) on the app before it starts; :func:`bot.handover.console.setup_console`
sets the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy.orm import sessionmaker

from bot.handover.events import EventHub
from bot.handover.settings import HandoverSettings

# Why a reply could not be delivered, when the channel said (Messenger, Instagram, WhatsApp).
OUTSIDE_24H = "outside_24h"  # the 24-hour window has closed (WhatsApp: templates only)
OUTSIDE_7D = "outside_7d"  # more than 7 days: not even the HUMAN_AGENT tag is allowed
# The web chat: no chat window of the conversation is connected (closed, or offline).
NOT_CONNECTED = "not_connected"


@dataclass(frozen=True)
class Delivery:
    """What a deliver function may answer instead of a bare bool: whether the reply arrived
    and, if not, why (:data:`OUTSIDE_24H`, :data:`OUTSIDE_7D`, :data:`NOT_CONNECTED`, or
    None when unknown)."""

    delivered: bool
    problem: str | None = None

    def __bool__(self) -> bool:
        return self.delivered


Deliver = Callable[[str, str], Awaitable["bool | Delivery"]]
"""``deliver(conversation_id, text) -> bool | Delivery``: send an agent's reply to the
citizen on the channel they use (through Rasa's HTTP API, so it is part of the transcript).
True when it was delivered; False (or an exception, or no answer within 10 s) marks it
undelivered; a :class:`Delivery` can also say why."""

Notify = Callable[[str], Awaitable[None]]
"""``notify(conversation_id)``: called after an agent claims (:data:`ON_CLAIMED`: "an agent
has joined") or closes (:data:`ON_CLOSED`: "you are back with the assistant") a handover,
so the bot can tell the citizen. Failures are logged, never shown to the agent."""

DELIVER: web.AppKey[Deliver] = web.AppKey("handover_deliver")
ON_CLAIMED: web.AppKey[Notify] = web.AppKey("handover_on_claimed")
ON_CLOSED: web.AppKey[Notify] = web.AppKey("handover_on_closed")
# Called after an agent moves a handover to a queue: the citizen waits again.
ON_TRANSFERRED: web.AppKey[Notify] = web.AppKey("handover_on_transferred")
HANDOVER_SETTINGS = web.AppKey("handover_settings", HandoverSettings)
SESSIONS = web.AppKey("handover_sessions", sessionmaker)
HUB = web.AppKey("handover_hub", EventHub)
