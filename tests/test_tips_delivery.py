"""Webhook delivery: signed JSON, retried with backoff until acknowledged, state recorded."""

# The database fixtures are imported from test_tips_store; test arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.launcher import free_port
from bot.settings import Settings
from bot.tips import TIP_DELIVERY
from bot.tips.api import install
from bot.tips.crypto import TipCipher, generate_key
from bot.tips.delivery import (
    SIGNATURE_HEADER,
    backoff,
    claim_due,
    deliver_due,
    record_attempt,
    requeue,
    sign,
    verify_signature,
)
from bot.tips.settings import DeliveryConfig, TipSettings
from bot.tips.store import submit
from bot.web.app import create_app
from tests.test_tips_store import (  # noqa: F401 - fixtures
    PHONE,
    PNG,
    SECRET_TEXT,
    cipher,
    database_url,
    engine,
    make_draft,
    sessions,
)

SECRET = "a-shared-secret-of-some-length"
T0 = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)


@dataclass
class Receiver:
    """The police's system, faked: checks the signature, answers with the scripted statuses."""

    statuses: list[int]
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    acknowledged: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify_signature(SECRET, body, request.headers.get(SIGNATURE_HEADER)):
            self.bad_signatures += 1
            return web.Response(status=401)
        self.received.append(json.loads(body))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == 200:
            self.acknowledged.set()
        return web.Response(status=status)


async def start_receiver(
    aiohttp_server: Callable[..., Any], statuses: list[int]
) -> tuple[Receiver, str]:
    receiver = Receiver(statuses)
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_post("/tips", receiver.handle)
    server: TestServer = await aiohttp_server(app)
    return receiver, str(server.make_url("/tips"))


def delivery_row(engine: Engine) -> Any:
    with engine.connect() as connection:
        return connection.execute(sa.text("SELECT * FROM tips")).one()._mapping


def test_the_signature_is_an_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"reference":"T-AB23-CD45"}'
    header = sign(SECRET, body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert verify_signature(SECRET, body, header)
    assert not verify_signature(SECRET, body + b" ", header)
    assert not verify_signature("another-secret-entirely", body, header)
    assert not verify_signature(SECRET, body, None)


def test_backoff_doubles_up_to_a_ceiling_with_jitter() -> None:
    config = DeliveryConfig("http://x/", SECRET, base_delay=10, max_delay=600)
    rng = random.Random(4)
    for attempts, ceiling in ((1, 10), (2, 20), (3, 40), (7, 600), (50, 600)):
        waits = [backoff(attempts, config, rng).total_seconds() for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1  # jitter: tips that failed together do not retry together


async def test_a_new_tip_is_delivered_signed_after_the_receiver_first_fails(
    aiohttp_server: Callable[..., Any],
    engine: Engine,
    sessions: sessionmaker,
    cipher: TipCipher,
) -> None:
    receiver, url = await start_receiver(aiohttp_server, [500, 200])
    config = DeliveryConfig(url, SECRET)
    draft = make_draft(attachments=[("foto.png", "image/png", PNG)])
    reference = submit(sessions, draft, "k", cipher=cipher, now=T0).reference
    async with ClientSession() as http:
        first = await deliver_due(engine, http, cipher, config, now=T0 + timedelta(seconds=1))
        state = delivery_row(engine)
        assert (first.claimed, first.retrying) == (1, 1)
        assert state["delivery_status"] == "pending" and state["delivery_attempts"] == 1
        assert state["delivery_last_error"] == "http_500"
        # Not due again until its backoff has passed.
        too_soon = await deliver_due(engine, http, cipher, config, now=T0 + timedelta(seconds=2))
        assert too_soon.claimed == 0
        later = await deliver_due(engine, http, cipher, config, now=T0 + timedelta(hours=1))
    assert later.delivered == 1
    state = delivery_row(engine)
    assert state["delivery_status"] == "delivered" and state["delivery_attempts"] == 2
    assert state["delivery_last_error"] is None and state["delivered_at"] is not None
    assert receiver.bad_signatures == 0 and len(receiver.received) == 2
    tip = receiver.received[-1]
    assert tip["reference"] == reference and tip["attempt"] == 2
    assert tip["what"] == draft.what and tip["when"] == draft.when and tip["where"] == draft.where
    assert tip["contact"] == draft.contact and tip["anonymous"] is False
    assert tip["how_known"] == "seen_myself" and tip["created_at"] == "2026-11-26T09:00:00Z"
    (picture,) = tip["attachments"]
    assert base64.b64decode(picture["data_base64"]) == PNG
    assert picture["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert picture["content_type"] == "image/png" and picture["filename"] == "foto.png"


async def test_a_delivered_tip_is_not_sent_again(
    aiohttp_server: Callable[..., Any], engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    receiver, url = await start_receiver(aiohttp_server, [200])
    submit(sessions, make_draft(), "k", cipher=cipher, now=T0)
    config = DeliveryConfig(url, SECRET)
    async with ClientSession() as http:
        await deliver_due(engine, http, cipher, config, now=T0)
        again = await deliver_due(engine, http, cipher, config, now=T0 + timedelta(days=3))
    assert again.claimed == 0 and len(receiver.received) == 1


async def test_delivery_gives_up_when_the_tip_is_too_old_and_can_be_queued_again(
    aiohttp_server: Callable[..., Any], engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    _, url = await start_receiver(aiohttp_server, [503, 503, 503])
    config = DeliveryConfig(url, SECRET, give_up_after=timedelta(hours=1))
    submit(sessions, make_draft(), "k", cipher=cipher, now=T0)
    async with ClientSession() as http:
        await deliver_due(engine, http, cipher, config, now=T0)
        assert delivery_row(engine)["delivery_status"] == "pending"
        final = await deliver_due(engine, http, cipher, config, now=T0 + timedelta(hours=2))
    assert final.failed == 1
    state = delivery_row(engine)
    assert state["delivery_status"] == "failed" and state["delivery_last_error"] == "http_503"
    assert requeue(engine, now=T0 + timedelta(hours=3)) == 1
    state = delivery_row(engine)
    assert state["delivery_status"] == "pending" and state["delivery_attempts"] == 0


async def test_delivery_gives_up_after_the_most_attempts(
    aiohttp_server: Callable[..., Any], engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    _, url = await start_receiver(aiohttp_server, [500] * 5)
    config = DeliveryConfig(url, SECRET, max_attempts=2)
    submit(sessions, make_draft(), "k", cipher=cipher, now=T0)
    async with ClientSession() as http:
        await deliver_due(engine, http, cipher, config, now=T0)
        await deliver_due(engine, http, cipher, config, now=T0 + timedelta(hours=1))
    state = delivery_row(engine)
    assert state["delivery_status"] == "failed" and state["delivery_attempts"] == 2


async def test_an_unreachable_receiver_is_recorded_and_retried(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    config = DeliveryConfig(f"http://127.0.0.1:{free_port()}/tips", SECRET, timeout=5)
    submit(sessions, make_draft(), "k", cipher=cipher, now=T0)
    async with ClientSession() as http:
        outcome = await deliver_due(engine, http, cipher, config, now=T0)
    state = delivery_row(engine)
    assert outcome.retrying == 1 and state["delivery_status"] == "pending"
    assert state["delivery_last_error"] and "http_" not in state["delivery_last_error"]


async def test_a_tip_that_cannot_be_decrypted_is_recorded_not_sent(
    aiohttp_server: Callable[..., Any], engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    receiver, url = await start_receiver(aiohttp_server, [])
    submit(sessions, make_draft(), "k", cipher=cipher, now=T0)
    async with ClientSession() as http:
        await deliver_due(
            engine, http, TipCipher([generate_key()]), DeliveryConfig(url, SECRET), now=T0
        )
    assert receiver.received == []
    state = delivery_row(engine)
    assert state["delivery_last_error"] == "decrypt_error" and state["delivery_status"] == "pending"


def test_two_workers_never_claim_the_same_tip(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    config = DeliveryConfig("http://x/", SECRET)
    for key in ("a", "b", "c"):
        submit(sessions, make_draft(), key, cipher=cipher, now=T0)
    first = claim_due(engine, config, "worker-1", now=T0)
    second = claim_due(engine, config, "worker-2", now=T0)
    assert len(first) == 3 and second == []
    # A worker that died holds its tips only until its lease runs out.
    expired = T0 + config.lease + timedelta(seconds=1)
    third = claim_due(engine, config, "worker-3", now=expired)
    assert sorted(third) == sorted(first)
    # The first worker's late answer is not recorded over the new holder's claim.
    assert (
        record_attempt(engine, config, first[0], "worker-1", None, random.Random(), now=expired)
        is None
    )
    assert (
        record_attempt(engine, config, first[0], "worker-3", None, random.Random(), now=expired)
        == "delivered"
    )


def test_claims_do_not_overlap_when_workers_race(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    config = DeliveryConfig("http://x/", SECRET, batch_size=3)
    for n in range(12):
        submit(sessions, make_draft(), f"k{n}", cipher=cipher, now=T0)
    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(lambda w: claim_due(engine, config, f"w{w}", now=T0), range(4)))
    claimed = [tip for batch in batches for tip in batch]
    assert len(claimed) == len(set(claimed)) == 12


async def test_no_tip_text_reaches_the_log(
    aiohttp_server: Callable[..., Any],
    engine: Engine,
    sessions: sessionmaker,
    cipher: TipCipher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, url = await start_receiver(aiohttp_server, [500, 200])
    config = DeliveryConfig(url, SECRET)
    with caplog.at_level(logging.DEBUG):
        reference = submit(sessions, make_draft(), "k", cipher=cipher, now=T0).reference
        async with ClientSession() as http:
            await deliver_due(engine, http, cipher, config, now=T0)
            await deliver_due(engine, http, cipher, config, now=T0 + timedelta(hours=1))
    assert reference in caplog.text  # tips are named by reference ...
    for plain in (SECRET_TEXT, PHONE, "850709-9805", "varje fredag", SECRET):
        assert plain not in caplog.text  # ... and by nothing else


async def test_the_worker_in_the_web_service_delivers_new_tips(
    aiohttp_server: Callable[..., Any],
    aiohttp_client: Callable[..., Any],
    database_url: str,
    engine: Engine,
    sessions: sessionmaker,
    cipher: TipCipher,
) -> None:
    receiver, url = await start_receiver(aiohttp_server, [500, 200])
    app = create_app(Settings.from_env({"DATABASE_URL": database_url}))
    config = DeliveryConfig(url, SECRET, base_delay=0.01, max_delay=0.05, poll_interval=0.05)
    install(app, TipSettings(), cipher=cipher, delivery=config)
    await aiohttp_client(app)  # starts the app, and with it the worker
    reference = submit(sessions, make_draft(), "k", cipher=cipher).reference
    await asyncio.wait_for(receiver.acknowledged.wait(), timeout=60)
    for _ in range(600):  # the outcome is recorded just after the receiver answers
        if delivery_row(engine)["delivery_status"] == "delivered":
            break
        await asyncio.sleep(0.05)
    state = delivery_row(engine)
    assert state["delivery_status"] == "delivered" and state["delivery_attempts"] == 2
    assert [t["reference"] for t in receiver.received] == [reference, reference]


async def test_without_a_webhook_tips_wait_in_the_store(
    aiohttp_client: Callable[..., Any],
    database_url: str,
    engine: Engine,
    sessions: sessionmaker,
    cipher: TipCipher,
) -> None:
    app = create_app(Settings.from_env({"DATABASE_URL": database_url}))
    install(app, TipSettings(), cipher=cipher)
    client = await aiohttp_client(app)
    submit(sessions, make_draft(), "k", cipher=cipher)
    assert TIP_DELIVERY not in app
    await client.close()
    assert delivery_row(engine)["delivery_status"] == "pending"
