"""How the console reaches the citizen: through Rasa's token-protected HTTP API on
localhost, so agent replies go out on the citizen's own channel (`output_channel=latest`)
and become part of the conversation's transcript."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from bot.handover.keys import DELIVER, ON_CLAIMED, ON_CLOSED
from bot.settings import Settings
from bot.web.keys import HTTP, SETTINGS

TIMEOUT = ClientTimeout(total=10)


class RasaLink:
    """Runs the bot's handover actions in a conversation from the web service."""

    def __init__(self, settings: Settings, http: Callable[[], ClientSession]) -> None:
        self.base = settings.rasa_url
        self.params = {"token": settings.rasa_token, "output_channel": "latest"}
        self.http = http

    async def _post(self, path: str, body: object) -> bool:
        try:
            async with self.http().post(f"{self.base}{path}", params=self.params, json=body,
                                      timeout=TIMEOUT) as reply:
                return reply.status == 200
        except (ClientError, TimeoutError, OSError):
            return False

    async def execute(self, conversation_id: str, action: str) -> bool:
        return await self._post(f"/conversations/{conversation_id}/execute", {"name": action})

    async def deliver(self, conversation_id: str, text: str) -> bool:
        """Put the agent's text in the conversation, then let the bot send it."""
        event = [{"event": "slot", "name": "agent_message", "value": text}]
        return (await self._post(f"/conversations/{conversation_id}/tracker/events", event)
                and await self.execute(conversation_id, "action_relay_agent_message"))

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
