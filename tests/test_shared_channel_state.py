"""What the chat channels share between Rasa servers through Redis: who is connected, and
which REST conversations have contact-centre messages waiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis

from bench.services import LocalRedis, local_redis
from bot.channels.presence import RedisPresence
from bot.channels.waiting import RedisWaitingConversations


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[LocalRedis]:
    with local_redis(tmp_path / "redis") as server:
        yield server


def _no_local_rooms() -> SimpleNamespace:
    return SimpleNamespace(manager=SimpleNamespace(get_participants=lambda *_: iter(())))


async def test_a_window_connected_to_one_server_counts_on_every_server(
        private_redis: LocalRedis) -> None:
    first = RedisPresence(_no_local_rooms(), private_redis.url)  # type: ignore[arg-type]
    second = RedisPresence(_no_local_rooms(), private_redis.url)  # type: ignore[arg-type]
    assert not await second.connected("conversation")
    await first.joined("sid-1", "conversation")
    assert await second.connected("conversation")
    await first.left("sid-1")
    assert not await second.connected("conversation")


async def test_a_window_on_a_server_that_died_stops_counting(private_redis: LocalRedis) -> None:
    dying = RedisPresence(_no_local_rooms(), private_redis.url)  # type: ignore[arg-type]
    other = RedisPresence(_no_local_rooms(), private_redis.url)  # type: ignore[arg-type]
    await dying.joined("sid-1", "conversation")
    assert await other.connected("conversation")
    # The dead server renews nothing: its key expires (here: at once).
    redis.Redis.from_url(private_redis.url).delete(dying._instance_key(dying.instance))
    assert not await other.connected("conversation")


async def test_windows_are_known_again_soon_after_redis_restarts_empty(
        private_redis: LocalRedis) -> None:
    server = RedisPresence(_no_local_rooms(), private_redis.url)  # type: ignore[arg-type]
    other = RedisPresence(_no_local_rooms(), private_redis.url)  # type: ignore[arg-type]
    await server.joined("sid-1", "conversation")
    await server.joined("sid-2", "other conversation")
    await server.left("sid-2")
    private_redis.restart()  # no persistence: every key is gone
    assert not await other.connected("conversation")
    await server.renew()  # what the heartbeat does every few seconds
    assert await other.connected("conversation")
    assert not await other.connected("other conversation"), "a window that left stays gone"


async def test_without_redis_a_window_is_not_claimed_connected(tmp_path: Path) -> None:
    server = LocalRedis(tmp_path / "redis")  # never started: nothing listens
    presence = RedisPresence(_no_local_rooms(), server.url)  # type: ignore[arg-type]
    await presence.joined("sid-1", "conversation")  # logged, not raised
    assert not await presence.connected("conversation")


async def test_a_waiting_mark_set_by_one_server_is_taken_once_by_another(
        private_redis: LocalRedis) -> None:
    marking = RedisWaitingConversations(private_redis.url)
    answering = RedisWaitingConversations(private_redis.url)
    assert not await answering.take("conversation")
    await marking.add("conversation")
    assert await answering.take("conversation")
    assert not await marking.take("conversation"), "shown once, by one server"
