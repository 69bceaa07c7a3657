"""How the console reaches the citizen: through Rasa's token-protected HTTP API on
localhost, so agent replies go out on the citizen's own channel and become part of the
conversation's transcript.

The channel is named explicitly for Messenger, Instagram and WhatsApp conversations (their
ids carry the platform: ``messenger:<PSID>``), because Rasa's ``output_channel=latest`` looks
only at the latest conversation session: after a session has expired and restarted without
a citizen message, "latest" finds no channel and Rasa would collect the reply instead of
sending it — and still answer 200. Other channels use ``latest``."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.handover.keys import DELIVER, ON_CLAIMED, ON_CLOSED, OUTSIDE_7D, OUTSIDE_24H, Delivery
from bot.settings import Settings
from bot.web.keys import HTTP, SETTINGS

TIMEOUT = ClientTimeout(total=10)
# Channels whose conversation id starts with "<channel name>:" (bot/channels/meta).
PREFIXED_CHANNELS = frozenset({"messenger", "instagram", "whatsapp"})


def output_channel(conversation_id: str) -> str:
    """The output channel for Rasa's API: the platform of a Meta conversation, else latest."""
    prefix, separator, _ = conversation_id.partition(":")
    return prefix if separator and prefix in PREFIXED_CHANNELS else "latest"


def delivery_problem(message: str) -> str | None:
    """Why Rasa's 500 says a reply could not be delivered (the Meta channels' CannotDeliver)."""
    if "outside the 7-day" in message:
        return OUTSIDE_7D
    if "outside the 24-hour" in message:
        return OUTSIDE_24H
    return None


class RasaLink:
    """Runs the bot's handover actions in a conversation from the web service."""

    def __init__(self, settings: Settings, http: Callable[[], ClientSession]) -> None:
        self.base = settings.rasa_url
        self.token = settings.rasa_token
        self.http = http

    async def _post(self, conversation_id: str, path: str, body: object) -> Delivery:
        params = {"token": self.token, "output_channel": output_channel(conversation_id)}
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

    async def execute(self, conversation_id: str, action: str) -> Delivery:
        return await self._post(conversation_id, "/execute", {"name": action})

    async def deliver(self, conversation_id: str, text: str) -> Delivery:
        """Put the agent's text in the conversation, then let the bot send it."""
        event = [{"event": "slot", "name": "agent_message", "value": text}]
        stored = await self._post(conversation_id, "/tracker/events", event)
        if not stored:
            return stored
        return await self.execute(conversation_id, "action_relay_agent_message")

    async def claimed(self, conversation_id: str) -> None:
        await self.execute(conversation_id, "action_handover_claimed")

    async def closed(self, conversation_id: str) -> None:
        await self.execute(conversation_id, "action_handover_end")


def install_rasa_link(app: web.Application) -> None:
    """Give the console its delivery functions; they use the app's HTTP session, which
    exists once the app has started."""
    link = RasaLink(app[SETTINGS], lambda: app[HTTP])
    app[DELIVER] = link.deliver
    app[ON_CLAIMED] = link.claimed
    app[ON_CLOSED] = link.closed
