"""Handle each Meta delivery once, across restarts and across several server processes.

Meta re-sends a webhook it thinks failed, with the same message id (mid, wamid). A key is
claimed atomically in a store every process shares: Redis ``SET NX EX`` when ``REDIS_URL`` is
set, else a row with a unique key in the service database. Claims expire, and expired rows are
purged now and then. If the store cannot be reached the message is handled anyway: a rare
duplicate answer is better than a citizen's message lost.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.channels.meta.models import meta_seen_messages
from bot.storage.db import make_engine

logger = logging.getLogger(__name__)

MAX_KEY_CHARS = 255
PURGE_EVERY_SECONDS = 3600.0
REDIS_PREFIX = "polisbot:meta:"


class DedupStore(Protocol):
    """Claims keys: True the first time a key is seen within its time to live."""

    async def claim(self, key: str, ttl_seconds: int) -> bool: ...

    async def close(self) -> None: ...


def _bounded(key: str) -> str:
    """Keys fit the column; a longer one is hashed (still unique, still an id only)."""
    if len(key) <= MAX_KEY_CHARS:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class SqlDedupStore:
    """Claims as rows of ``meta_seen_messages`` (unique key; created and expiry times).

    The engine is made on first use, not at construction, and the blocking calls run in a
    worker thread so the event loop keeps acknowledging webhooks.
    """

    def __init__(self, database_url: str, engine: Engine | None = None) -> None:
        self.database_url = database_url
        self._engine = engine
        self._owns_engine = engine is None
        self._lock = threading.Lock()
        self._next_purge = 0.0

    def _get_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = make_engine(self.database_url)
            return self._engine

    def claim_sync(self, key: str, ttl_seconds: int) -> bool:
        """The blocking claim: delete the key if expired, then insert; a conflict = seen."""
        engine = self._get_engine()
        key = _bounded(key)
        now = _utcnow()
        table = meta_seen_messages
        try:
            with engine.begin() as connection:
                connection.execute(
                    sa.delete(table).where(table.c.message_key == key, table.c.expires_at < now)
                )
                connection.execute(
                    sa.insert(table).values(
                        message_key=key,
                        created_at=now,
                        expires_at=now + timedelta(seconds=ttl_seconds),
                    )
                )
        except IntegrityError:
            return False
        if time.monotonic() >= self._next_purge:
            self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
            self.purge_sync()
        return True

    def purge_sync(self, now: datetime | None = None) -> int:
        """Delete expired claims; returns how many went."""
        table = meta_seen_messages
        with self._get_engine().begin() as connection:
            result = connection.execute(
                sa.delete(table).where(table.c.expires_at < (now or _utcnow()))
            )
        return int(result.rowcount or 0)

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """True the first time `key` is claimed within `ttl_seconds`, in any process."""
        try:
            return await asyncio.to_thread(self.claim_sync, key, ttl_seconds)
        except Exception as error:  # noqa: BLE001 - fail open, see the module docstring
            logger.warning(
                "meta dedup: database claim failed (%s); handling anyway", type(error).__name__
            )
            return True

    async def close(self) -> None:
        """Dispose of the engine if this store made it."""
        if self._owns_engine and self._engine is not None:
            self._engine.dispose()
            self._engine = None


class RedisDedupStore:
    """Claims as Redis keys with ``SET NX EX`` (atomic, expiring by itself)."""

    def __init__(self, redis_url: str, client: Any = None) -> None:
        self.redis_url = redis_url
        self._client = client

    def _get_client(self) -> Any:
        if self._client is None:
            from redis import asyncio as redis_asyncio

            self._client = redis_asyncio.from_url(
                self.redis_url, socket_timeout=2, socket_connect_timeout=2
            )
        return self._client

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """True the first time `key` is claimed within `ttl_seconds`, in any process."""
        try:
            created = await self._get_client().set(
                REDIS_PREFIX + _bounded(key), b"1", nx=True, ex=ttl_seconds
            )
        except Exception as error:  # noqa: BLE001 - fail open, see the module docstring
            logger.warning(
                "meta dedup: redis claim failed (%s); handling anyway", type(error).__name__
            )
            return True
        return bool(created)

    async def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            await self._client.close()
            self._client = None


def make_dedup_store(redis_url: str, database_url: str) -> DedupStore:
    """Redis when a URL is given, else the service database (nothing connects yet)."""
    if redis_url:
        return RedisDedupStore(redis_url)
    return SqlDedupStore(database_url)
