"""How the console reaches the citizen: through Rasa's token-protected HTTP API on
localhost, so agent replies go out on the citizen's own channel and become part of the
conversation's transcript.

The output channel is always named: Rasa's ``output_channel=latest`` looks only at the latest
conversation session, so after a session has expired and restarted without a citizen message
(the first console call after 60 minutes of silence restarts it), "latest" finds no channel
and Rasa would collect the reply instead of sending it — and still answer 200. The name is the
channel the handover came in on (recorded when it was opened: ``socketio``, ``rest``,
``messenger``, …); without that record, a Meta conversation's id names its platform
(``messenger:<PSID>``), and anything else falls back to ``latest``.

What each channel does with a reply: the web chat (``socketio``) pushes it to the citizen's
open chat window, and refuses an agent's reply when no window is connected (the console then
says so); Messenger, Instagram and WhatsApp send it within Meta's windows; ``rest`` cannot
push anything, so the reply waits in the conversation and is shown at the top of the answer
to the citizen's next message (``bot/channels/rest.py``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from sqlalchemy.exc import SQLAlchemyError

from bot.handover import service
from bot.handover.keys import (
    DELIVER,
    NOT_CONNECTED,
    ON_CLAIMED,
    ON_CLOSED,
    ON_TRANSFERRED,
    OUTSIDE_7D,
    OUTSIDE_24H,
    SESSIONS,
    Delivery,
)
from bot.settings import Settings
from bot.web.keys import HTTP, SETTINGS

log = logging.getLogger(__name__)

TIMEOUT = ClientTimeout(total=10)
# Channels whose conversation id starts with "<channel name>:" (bot/channels/meta).
PREFIXED_CHANNELS = frozenset({"messenger", "instagram", "whatsapp"})
# Input channels (their names in credentials.yml's classes) that Rasa's API can address.
NAMED_CHANNELS = PREFIXED_CHANNELS | {"socketio", "rest"}
ChannelOf = Callable[[str], Awaitable["str | None"]]
"""``channel_of(conversation_id)``: the channel its handover came in on, or None."""


def output_channel(conversation_id: str, channel: str | None = None) -> str:
    """The output channel for Rasa's API: the handover's recorded channel, else the platform
    of a Meta conversation id, else latest."""
    if channel in NAMED_CHANNELS:
        return str(channel)
    prefix, separator, _ = conversation_id.partition(":")
    return prefix if separator and prefix in PREFIXED_CHANNELS else "latest"


def delivery_problem(message: str) -> str | None:
    """Why Rasa's 500 says a reply could not be delivered (the Meta channels' CannotDeliver,
    the web chat's NotConnected)."""
    if "outside the 7-day" in message:
        return OUTSIDE_7D
    if "outside the 24-hour" in message:
        return OUTSIDE_24H
    if "no web chat window is connected" in message:
        return NOT_CONNECTED
    return None


class RasaLink:
    """Runs the bot's handover actions in a conversation from the web service."""

    def __init__(self, settings: Settings, http: Callable[[], ClientSession],
                 channel_of: ChannelOf | None = None) -> None:
        self.base = settings.rasa_url
        self.token = settings.rasa_token
        self.http = http
        self.channel_of = channel_of

    async def _channel(self, conversation_id: str) -> str:
        channel = None
        if self.channel_of is not None:
            try:
                channel = await self.channel_of(conversation_id)
            except Exception:  # noqa: BLE001 - the id's own platform, or latest, still work
                log.exception("the handover's channel could not be read")
        return output_channel(conversation_id, channel)

    async def _post(self, conversation_id: str, path: str, body: object,
                    channel: str | None = None) -> Delivery:
        channel = channel or await self._channel(conversation_id)
        params = {"token": self.token, "output_channel": channel}
        try:
            async with self.http().post(f"{self.base}/conversations/{conversation_id}{path}",
                                        params=params, json=body, timeout=TIMEOUT) as reply:
                if reply.status == 200:
                    return Delivery(True)
                try:
                    answer = await reply.json(content_type=None)
                except ValueError:
                    answer = None
                message = answer.get("message") if isinstance(answer, dict) else None
                return Delivery(False, delivery_problem(message if isinstance(message, str)
                                                        else ""))
        except (ClientError, TimeoutError, OSError):
            return Delivery(False)

    async def execute(self, conversation_id: str, action: str,
                      channel: str | None = None) -> Delivery:
        return await self._post(conversation_id, "/execute", {"name": action}, channel)

    async def deliver(self, conversation_id: str, text: str) -> Delivery:
        """Put the agent's text in the conversation, then let the bot send it."""
        channel = await self._channel(conversation_id)
        event = [{"event": "slot", "name": "agent_message", "value": text}]
        stored = await self._post(conversation_id, "/tracker/events", event, channel)
        if not stored:
            return stored
        return await self.execute(conversation_id, "action_relay_agent_message", channel)

    async def claimed(self, conversation_id: str) -> None:
        await self.execute(conversation_id, "action_handover_claimed")

    async def transferred(self, conversation_id: str) -> None:
        await self.execute(conversation_id, "action_handover_transferred")

    async def closed(self, conversation_id: str) -> None:
        await self.execute(conversation_id, "action_handover_end")


def database_channel_of(app: web.Application) -> ChannelOf:
    """``channel_of`` reading the handover tables through the console's sessions (they exist
    once the app has started)."""

    def read(conversation_id: str) -> str | None:
        with app[SESSIONS]() as session:
            return service.conversation_channel(session, conversation_id)

    async def channel_of(conversation_id: str) -> str | None:
        if SESSIONS not in app:
            return None
        try:
            return await asyncio.to_thread(read, conversation_id)
        except SQLAlchemyError:
            log.exception("the handover's channel could not be read")
            return None

    return channel_of


def install_rasa_link(app: web.Application) -> None:
    """Give the console its delivery functions; they use the app's HTTP session, which
    exists once the app has started."""
    link = RasaLink(app[SETTINGS], lambda: app[HTTP], database_channel_of(app))
    app[DELIVER] = link.deliver
    app[ON_CLAIMED] = link.claimed
    app[ON_CLOSED] = link.closed
    app[ON_TRANSFERRED] = link.transferred
