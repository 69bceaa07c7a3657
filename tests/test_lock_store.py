"""Conversation locks: with REDIS_URL two Rasa processes serialise the same conversation."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore

from bot.storage.lock_store import ConfiguredLockStore, redis_lock_store


async def _until(condition, tries: int = 500) -> None:  # noqa: ANN001 - a small predicate
    """Wait for a condition, one event-loop turn at a time (a signal, not a fixed sleep)."""
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_two_rasa_processes_take_turns_on_one_conversation_through_redis(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    first, second = ConfiguredLockStore(), ConfiguredLockStore()
    assert isinstance(first.store, RedisLockStore)
    conversation = f"lock-test-{uuid.uuid4().hex}"
    order: list[str] = []

    async def second_message() -> None:
        async with second.lock(conversation, wait_time_in_seconds=0.01):
            order.append("second")

    async with first.lock(conversation):
        waiting = asyncio.create_task(second_message())
        await _until(lambda: len((second.get_lock(conversation) or first.create_lock(
            conversation)).tickets) == 2)  # the second message has taken its ticket
        await asyncio.sleep(0)
        assert order == []  # and is still waiting while the first holds the lock
        order.append("first")
    await waiting
    assert order == ["first", "second"]
    assert second.get_lock(conversation) is None  # cleaned up


def test_without_redis_the_locks_stay_in_the_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert isinstance(ConfiguredLockStore().store, InMemoryLockStore)


def test_the_redis_url_gives_host_port_database_and_password() -> None:
    store = redis_lock_store("redis://user:secret@redis.internal:6380/3")
    kwargs = store.red.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"], kwargs["password"]) == (
        "redis.internal", 6380, 3, "secret")
    assert store.key_prefix.startswith("polisbot:")
