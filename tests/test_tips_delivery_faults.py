"""Tip delivery under database faults: a failed round gives its reserved tips back at once,
and a receiver can deduplicate: one delivery id per tip, and an attempt number that counts
even the attempts whose outcome was lost."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.tips import delivery
from bot.tips.crypto import TipCipher
from bot.tips.delivery import DELIVERY_ID_HEADER, deliver_due
from bot.tips.settings import DeliveryConfig
from bot.tips.store import submit
from tests.test_tips_delivery import SECRET, T0, Receiver
from tests.test_tips_store import (  # noqa: F401 - fixtures
    cipher,
    database_url,
    engine,
    make_draft,
    sessions,
)

LATER = T0 + timedelta(seconds=1)


@dataclass
class HeaderReceiver(Receiver):
    """The fake police system, also keeping each request's delivery id."""

    delivery_ids: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.delivery_ids.append(request.headers.get(DELIVERY_ID_HEADER, ""))
        return await super().handle(request)


async def _receiver(aiohttp_server: Callable[..., Any]) -> tuple[HeaderReceiver, str]:
    receiver = HeaderReceiver([])
    app = web.Application()
    app.router.add_post("/tips", receiver.handle)
    server: TestServer = await aiohttp_server(app)
    return receiver, str(server.make_url("/tips"))


def _claimed(engine: Engine) -> int:  # noqa: F811 - the fixture
    with engine.connect() as connection:
        return int(connection.execute(sa.text(
            "SELECT count(*) FROM tips WHERE delivery_claim IS NOT NULL")).scalar_one())


async def test_a_round_that_fails_gives_its_tips_back_at_once(
        aiohttp_server: Callable[..., Any], engine: Engine,  # noqa: F811
        sessions: sessionmaker, cipher: TipCipher,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    receiver, url = await _receiver(aiohttp_server)
    config = DeliveryConfig(url, SECRET)
    for key in ("a", "b", "c"):
        submit(sessions, make_draft(), key, cipher=cipher, now=T0)
    real_payload, calls = delivery.payload, []

    def failing_second(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise sa.exc.OperationalError("SELECT", {}, Exception("connection terminated"))
        return real_payload(*args, **kwargs)

    monkeypatch.setattr(delivery, "payload", failing_second)
    async with ClientSession() as http:
        with pytest.raises(sa.exc.OperationalError):
            await deliver_due(engine, http, cipher, config, now=LATER)
        assert _claimed(engine) == 0, "nothing stays reserved until the lease runs out"
        again = await deliver_due(engine, http, cipher, config, now=LATER)
    assert again.delivered == 2 and len(receiver.received) == 3


async def test_an_acknowledged_tip_whose_outcome_was_lost_is_sent_again_as_attempt_2(
        aiohttp_server: Callable[..., Any], engine: Engine,  # noqa: F811
        sessions: sessionmaker, cipher: TipCipher,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    receiver, url = await _receiver(aiohttp_server)
    config = DeliveryConfig(url, SECRET)
    reference = submit(sessions, make_draft(), "k", cipher=cipher, now=T0).reference
    real_record = delivery.record_attempt

    def lost_once(*args: Any, **kwargs: Any) -> Any:
        monkeypatch.setattr(delivery, "record_attempt", real_record)
        raise sa.exc.OperationalError("UPDATE", {}, Exception("connection terminated"))

    monkeypatch.setattr(delivery, "record_attempt", lost_once)
    unreleased: list[tuple[str, list[int]]] = []
    async with ClientSession() as http:
        with pytest.raises(sa.exc.OperationalError):
            await deliver_due(engine, http, cipher, config, now=LATER, unreleased=unreleased,
                              rng=random.Random(1))
        await deliver_due(engine, http, cipher, config, now=LATER, unreleased=unreleased)
    assert [tip["attempt"] for tip in receiver.received] == [1, 2]
    assert [tip["reference"] for tip in receiver.received] == [reference, reference]
    assert len(set(receiver.delivery_ids)) == 1 and receiver.delivery_ids[0]
