"""Handle each Meta delivery once, across restarts and across several server processes.

Meta re-sends a webhook it thinks failed, with the same message id (mid, wamid). A key is
claimed atomically in a store every process shares: Redis ``SET NX EX`` when ``REDIS_URL`` is
set, else a row with a unique key in the service database. Claims expire, and expired rows are
purged now and then. If the store cannot be reached the message is handled anyway: a rare
duplicate answer is better than a citizen's message lost.

The same store remembers when each sender last wrote (:meth:`note_message` /
:meth:`last_message`), which decides how an agent's reply may go out (24-hour window,
HUMAN_AGENT tag for 7 days): keyed by a hash of the sender, kept for
:data:`LAST_MESSAGE_TTL_SECONDS`, in every process.
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
# Longer than the 7-day HUMAN_AGENT window, so "more than 7 days ago" is known, not guessed.
LAST_MESSAGE_TTL_SECONDS = 14 * 24 * 3600
PURGE_EVERY_SECONDS = 3600.0
REDIS_PREFIX = "polisbot:meta:"


class DedupStore(Protocol):
    """Claims keys: True the first time a key is seen within its time to live."""

    async def claim(self, key: str, ttl_seconds: int) -> bool: ...

    async def note_message(self, sender: str, when: datetime) -> None: ...

    async def last_message(self, sender: str) -> datetime | None: ...

    async def close(self) -> None: ...


def _last_message_key(sender: str) -> str:
    """The store key for a sender's last message time: a hash, never the platform id."""
    return "last-message:" + hashlib.sha256(sender.encode("utf-8")).hexdigest()


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

    def note_message_sync(self, sender: str, when: datetime) -> None:
        """Remember `when` as the sender's last message (replacing an earlier time)."""
        key = _last_message_key(sender)
        table = meta_seen_messages
        expires = when + timedelta(seconds=LAST_MESSAGE_TTL_SECONDS)
        try:
            with self._get_engine().begin() as connection:
                connection.execute(sa.delete(table).where(table.c.message_key == key))
                connection.execute(
                    sa.insert(table).values(message_key=key, created_at=when, expires_at=expires)
                )
        except IntegrityError:
            pass  # another process noted the same sender at the same moment

    def last_message_sync(self, sender: str) -> datetime | None:
        table = meta_seen_messages
        with self._get_engine().begin() as connection:
            row = connection.execute(
                sa.select(table.c.created_at).where(
                    table.c.message_key == _last_message_key(sender),
                    table.c.expires_at >= _utcnow(),
                )
            ).first()
        if row is None:
            return None
        when: datetime = row.created_at
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)

    async def note_message(self, sender: str, when: datetime) -> None:
        """Remember when the sender last wrote; a store failure is logged only."""
        try:
            await asyncio.to_thread(self.note_message_sync, sender, when)
        except Exception as error:  # noqa: BLE001 - the message itself must go on
            logger.warning("meta dedup: noting a message time failed (%s)", type(error).__name__)

    async def last_message(self, sender: str) -> datetime | None:
        """When the sender last wrote, or None if unknown (or the store is unreachable)."""
        try:
            return await asyncio.to_thread(self.last_message_sync, sender)
        except Exception as error:  # noqa: BLE001 - unknown, the platform decides
            logger.warning("meta dedup: reading a message time failed (%s)", type(error).__name__)
            return None

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

    async def note_message(self, sender: str, when: datetime) -> None:
        """Remember when the sender last wrote; a store failure is logged only."""
        try:
            await self._get_client().set(
                REDIS_PREFIX + _last_message_key(sender),
                when.astimezone(timezone.utc).isoformat().encode("ascii"),
                ex=LAST_MESSAGE_TTL_SECONDS,
            )
        except Exception as error:  # noqa: BLE001 - the message itself must go on
            logger.warning("meta dedup: noting a message time failed (%s)", type(error).__name__)

    async def last_message(self, sender: str) -> datetime | None:
        """When the sender last wrote, or None if unknown (or Redis is unreachable)."""
        try:
            raw = await self._get_client().get(REDIS_PREFIX + _last_message_key(sender))
            if raw is None:
                return None
            text = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
            return datetime.fromisoformat(text)
        except Exception as error:  # noqa: BLE001 - unknown, the platform decides
            logger.warning("meta dedup: reading a message time failed (%s)", type(error).__name__)
            return None

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
