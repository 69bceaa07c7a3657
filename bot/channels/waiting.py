"""Which REST conversations have messages from the contact centre waiting.

A REST client only receives the answer to its own request; what the contact centre sends
meanwhile is kept in the conversation, and the next answer shows it first
(`bot/channels/rest.py`). Which conversations have something waiting is a mark per
conversation: in Redis when `REDIS_URL` is set, so the Rasa server that answers the
citizen's next message sees a mark another server set (and marks survive a restart);
otherwise in the process (one Rasa server), bounded, the oldest forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

from bot.channels.presence import shared_redis

MAX_WAITING = 10_000
KEY_PREFIX = "polisbot:rest-waiting"
MARK_TTL_SECONDS = 7 * 24 * 3600


class Waiting(Protocol):
    async def add(self, conversation_id: str) -> None: ...

    async def take(self, conversation_id: str) -> bool: ...


class WaitingConversations:
    """The marks in this process (bounded, oldest forgotten first)."""

    def __init__(self, size: int = MAX_WAITING) -> None:
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    async def add(self, conversation_id: str) -> None:
        self._ids[conversation_id] = None
        self._ids.move_to_end(conversation_id)
        while len(self._ids) > self.size:
            self._ids.popitem(last=False)

    async def take(self, conversation_id: str) -> bool:
        """Whether something waits for the conversation (and forget that it did)."""
        if conversation_id not in self._ids:
            return False
        del self._ids[conversation_id]
        return True

    def __contains__(self, conversation_id: object) -> bool:
        return conversation_id in self._ids


class RedisWaitingConversations:
    """The marks in Redis, shared by every Rasa server; a mark expires after a week. A
    Redis failure raises: the caller decides (a lost mark must not lose the citizen's turn)."""

    def __init__(self, redis_url: str) -> None:
        self.redis = shared_redis(redis_url)

    @staticmethod
    def _key(conversation_id: str) -> str:
        return f"{KEY_PREFIX}:{conversation_id}"

    async def add(self, conversation_id: str) -> None:
        await self.redis.set(self._key(conversation_id), "1", ex=MARK_TTL_SECONDS)

    async def take(self, conversation_id: str) -> bool:
        """Atomic: of two servers taking one mark, exactly one gets it."""
        return bool(await self.redis.delete(self._key(conversation_id)))


def waiting_conversations(redis_url: str) -> Waiting:
    return RedisWaitingConversations(redis_url) if redis_url else WaitingConversations()
