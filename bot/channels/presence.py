"""The web chat across several Rasa servers: socket.io through Redis, and who is connected.

With one Rasa server a conversation's chat window is connected to it, and a push (an agent's
reply through Rasa's HTTP API, a queue notice) reaches the window through its room. Behind a
load balancer the push may be handled by a server the window is not connected to. With
`REDIS_URL` set:

- python-socketio's `AsyncRedisManager` publishes every emit on a Redis channel, and each
  server delivers it to the windows connected to it, so a push from any server reaches the
  citizen wherever they are connected;
- `RedisPresence` keeps, per conversation, which server's sockets are in its room, and each
  server renews a short-lived key while it runs. "Is a window of this conversation
  connected?" (asked before an agent's reply is accepted) is then answered for all servers,
  and a server that died stops counting within `INSTANCE_TTL_SECONDS`. Every renewal also
  writes the server's own memberships again, so a Redis that restarted empty knows every
  connected window again within `HEARTBEAT_SECONDS` (the soak found agents' replies refused
  until a window reconnected: docs/reliability.md).

Without `REDIS_URL` both stay in the process (`LocalPresence`), as for one Rasa server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Protocol

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from socketio import AsyncManager, AsyncRedisManager, AsyncServer

logger = logging.getLogger(__name__)

KEY_PREFIX = "polisbot:sio"
SOCKETIO_CHANNEL = f"{KEY_PREFIX}:emit"
INSTANCE_TTL_SECONDS = 10
HEARTBEAT_SECONDS = 3
ROOM_TTL_SECONDS = 24 * 3600


def shared_redis(redis_url: str) -> aioredis.Redis:
    """A client that tries again on a fresh connection when Redis dropped the old one (a
    restart drops every pooled connection; the first command on each would fail)."""
    return aioredis.Redis.from_url(
        redis_url, retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
        retry_on_error=[RedisConnectionError, RedisTimeoutError])


def client_manager(redis_url: str) -> AsyncManager:
    """Socket.io's client manager: shared through Redis when a URL is given."""
    if not redis_url:
        return AsyncManager()
    return AsyncRedisManager(redis_url, channel=SOCKETIO_CHANNEL)


class Presence(Protocol):
    """Which conversations have a chat window connected (to any server)."""

    async def start(self) -> None: ...

    async def joined(self, sid: str, conversation_id: str) -> None: ...

    async def left(self, sid: str) -> None: ...

    async def connected(self, conversation_id: str) -> bool: ...


class LocalPresence:
    """One server: the socket.io room on this server is the whole answer."""

    def __init__(self, sio: AsyncServer) -> None:
        self.sio = sio

    async def start(self) -> None:
        return None

    async def joined(self, sid: str, conversation_id: str) -> None:
        return None

    async def left(self, sid: str) -> None:
        return None

    async def connected(self, conversation_id: str) -> bool:
        return any(True for _ in self.sio.manager.get_participants("/", conversation_id))


class RedisPresence(LocalPresence):
    """Several servers: per conversation a Redis set of "<server>/<socket id>", and per
    server a key renewed every `HEARTBEAT_SECONDS` that expires when the server dies."""

    def __init__(self, sio: AsyncServer, redis_url: str) -> None:
        super().__init__(sio)
        self.redis = shared_redis(redis_url)
        self.instance = secrets.token_hex(6)
        self.rooms: dict[str, str] = {}  # this server's sockets → their conversation
        self._heartbeat: asyncio.Task[None] | None = None

    @staticmethod
    def _room_key(conversation_id: str) -> str:
        return f"{KEY_PREFIX}:room:{conversation_id}"

    def _instance_key(self, instance: str) -> str:
        return f"{KEY_PREFIX}:instance:{instance}"

    async def start(self) -> None:
        """Begin renewing this server's key (inside the server's event loop)."""
        if self._heartbeat is None:
            self._heartbeat = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        while True:
            with contextlib.suppress(RedisError, OSError):
                await self.renew()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def renew(self) -> None:
        """This server is alive, and these are its windows (all of it again: Redis may have
        restarted and lost everything)."""
        for attempt in range(2):  # redis-py's pipelines do not retry on a dropped connection
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    pipe.set(self._instance_key(self.instance), "1", ex=INSTANCE_TTL_SECONDS)
                    for sid, conversation_id in list(self.rooms.items()):
                        key = self._room_key(conversation_id)
                        pipe.sadd(key, f"{self.instance}/{sid}")
                        pipe.expire(key, ROOM_TTL_SECONDS)
                    await pipe.execute()
                return
            except RedisConnectionError:
                if attempt:
                    raise

    async def joined(self, sid: str, conversation_id: str) -> None:
        self.rooms[sid] = conversation_id
        key = self._room_key(conversation_id)
        try:
            await self.redis.set(self._instance_key(self.instance), "1", ex=INSTANCE_TTL_SECONDS)
            await self.redis.sadd(key, f"{self.instance}/{sid}")
            await self.redis.expire(key, ROOM_TTL_SECONDS)
        except (RedisError, OSError) as error:
            logger.warning("socket.io presence not recorded (%s)", type(error).__name__)

    async def left(self, sid: str) -> None:
        conversation_id = self.rooms.pop(sid, None)
        if conversation_id is None:
            return
        with contextlib.suppress(RedisError, OSError):
            await self.redis.srem(self._room_key(conversation_id), f"{self.instance}/{sid}")

    async def connected(self, conversation_id: str) -> bool:
        if await super().connected(conversation_id):
            return True
        try:
            members = await self.redis.smembers(self._room_key(conversation_id))
            servers = {member.decode().partition("/")[0] for member in members}
            if not servers:
                return False
            alive = await self.redis.exists(*(self._instance_key(s) for s in servers))
        except (RedisError, OSError) as error:
            logger.warning("socket.io presence not readable (%s)", type(error).__name__)
            return False
        return bool(alive)


def presence(sio: AsyncServer, redis_url: str) -> Presence:
    """The presence that matches `client_manager(redis_url)`."""
    return RedisPresence(sio, redis_url) if redis_url else LocalPresence(sio)
