"""The Rasa server's conversation locks: shared in Redis when `REDIS_URL` is set.

Rasa serialises the messages of one conversation with a lock. Its default keeps the locks in
the process, which is right for one Rasa server; with several behind a load balancer two of
them could work on the same conversation at once and save on top of each other. With
`REDIS_URL` set, Rasa's own `RedisLockStore` holds the locks on that server instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore

from bot.settings import Settings

# Rasa's lock keys are prefixed so that they never meet the Meta de-duplication keys.
KEY_PREFIX = "polisbot"


def redis_lock_store(url: str) -> RedisLockStore:
    """Rasa's Redis lock store on `url` (redis://[user:password@]host[:port][/db])."""
    parts = urlsplit(url)
    database = parts.path.strip("/")
    return RedisLockStore(
        host=parts.hostname or "localhost",
        port=parts.port or 6379,
        db=int(database) if database else 0,
        username=parts.username,
        password=parts.password,
        use_ssl=parts.scheme == "rediss",
        key_prefix=KEY_PREFIX,
    )


class ConfiguredLockStore(LockStore):
    """`lock_store: type: bot.storage.lock_store.ConfiguredLockStore` in endpoints.yml:
    Redis when `REDIS_URL` is set, else Rasa's in-memory store (endpoints.yml cannot choose a
    type by whether a variable is set, so this class does)."""

    def __init__(self, endpoint_config: Any = None) -> None:
        url = Settings.from_env().redis_url
        self.store: LockStore = redis_lock_store(url) if url else InMemoryLockStore()
        super().__init__()

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self.store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self.store.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.store.save_lock(lock)
