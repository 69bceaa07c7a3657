"""Deliver each new tip to the police's own systems: signed JSON, retried until acknowledged.

The worker runs inside the bot web service (:func:`delivery_worker` is an aiohttp
``cleanup_ctx``) and polls the tip store every few seconds. Several web processes may run
it at once: a worker first *claims* a batch of due tips with one UPDATE (on PostgreSQL its
subquery takes ``FOR UPDATE SKIP LOCKED``, on SQLite the single writer serialises it) and
stamps them with a claim id and a lease. Only the holder of the claim records the outcome;
a worker that dies leaves a lease that runs out, and another worker takes the tip.

Delivery is at least once: if the receiver acknowledged but the outcome could not be
recorded, the tip is sent again, so receivers deduplicate on ``X-Polisbot-Delivery-Id``
(the same for every attempt at one tip) or ``reference``. Each attempt is counted in the
store before it is sent, so the body's ``attempt`` counts attempts, also those whose outcome
was lost. A round that fails (e.g. the database goes away) gives its unattempted tips back at
once, or at the next round, instead of leaving them reserved until the lease runs out.

Each attempt is a POST of the tip JSON (docs/tips.md) with the header
``X-Polisbot-Signature: sha256=<hex HMAC-SHA256 of the raw body>``. Any 2xx acknowledges;
anything else, a timeout or a connection error is retried with exponential backoff and
jitter until the tip is too old or has had too many attempts; it is then marked failed and
waits in the store for staff (``python -m bot tips redeliver`` queues it again).

Logs name tips by reference and errors by code; tip text never reaches a log.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa
from aiohttp import ClientError, ClientSession, ClientTimeout, web
from sqlalchemy.engine import Engine

from bot.tips import TIP_CIPHER, TIP_DELIVERY
from bot.tips.crypto import TipCipher
from bot.tips.models import DELIVERED, FAILED, PENDING, tips
from bot.tips.settings import DeliveryConfig
from bot.tips.store import TipUnreadable, as_utc, get_tip_by_id, iso, utcnow
from bot.web.keys import ENGINE, HTTP

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Polisbot-Signature"
REFERENCE_HEADER = "X-Polisbot-Reference"
DELIVERY_ID_HEADER = "X-Polisbot-Delivery-Id"
DELIVERY_NAMESPACE = uuid.UUID("6f1d3c52-7a0e-4f7e-9b1a-2c5d8e4f0a11")
USER_AGENT = "polisbot-tips/1"
T = TypeVar("T")


def sign(secret: str, body: bytes) -> str:
    """The signature header value for `body`: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the signature of `body` (what a receiver checks; constant time)."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


def backoff(attempts: int, config: DeliveryConfig, rng: random.Random) -> timedelta:
    """The wait after the `attempts`-th failed attempt: doubling, capped, with jitter."""
    ceiling = min(config.max_delay, config.base_delay * 2 ** min(attempts - 1, 30))
    return timedelta(seconds=ceiling * (0.5 + rng.random() / 2))


def delivery_id(reference: str) -> str:
    """The tip's delivery id: the same for every attempt, so a receiver can deduplicate."""
    return str(uuid.uuid5(DELIVERY_NAMESPACE, reference))


def payload(
    engine: Engine, cipher: TipCipher, tip_id: int, *, now: datetime,
    attempt: int | None = None,
) -> tuple[str, bytes] | None:
    """The reference and JSON body for one tip, pictures included, or None if it is gone.
    `attempt` is this attempt's number when already counted (:func:`start_attempt`)."""
    view = get_tip_by_id(engine, tip_id, cipher, with_data=True)
    if view is None:
        return None
    document: dict[str, Any] = view.to_json()
    document["attachments"] = [
        {
            "position": a.position,
            "filename": a.filename,
            "content_type": a.content_type,
            "size": a.size,
            "sha256": a.sha256,
            "data_base64": base64.b64encode(a.data or b"").decode("ascii"),
        }
        for a in view.attachments
    ]
    document["attempt"] = attempt if attempt is not None else view.delivery.attempts + 1
    document["sent_at"] = iso(now)
    del document["delivery"]
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return view.reference, body


def claim_due(engine: Engine, config: DeliveryConfig, claim: str, *, now: datetime) -> list[int]:
    """Reserve up to a batch of due tips for `claim` and return their ids.

    Due: pending, its next attempt time has come, and nobody else's lease is running.
    """
    due = (
        sa.select(tips.c.id)
        .where(
            tips.c.delivery_status == PENDING,
            tips.c.delivery_next_at <= now,
            sa.or_(tips.c.delivery_claimed_until.is_(None), tips.c.delivery_claimed_until < now),
        )
        .order_by(tips.c.delivery_next_at, tips.c.id)
        .limit(config.batch_size)
    )
    if engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    with engine.begin() as connection:
        connection.execute(
            tips.update()
            .where(tips.c.id.in_(due.scalar_subquery()))
            .values(delivery_claim=claim, delivery_claimed_until=now + config.lease)
        )
        ids = connection.execute(
            sa.select(tips.c.id).where(tips.c.delivery_claim == claim).order_by(tips.c.id)
        ).scalars()
        return list(ids)


def release(engine: Engine, claim: str, ids: list[int]) -> None:
    """Give back claimed tips that were not attempted (shutting down), so others need not wait."""
    with engine.begin() as connection:
        connection.execute(
            tips.update()
            .where(tips.c.id.in_(ids), tips.c.delivery_claim == claim)
            .values(delivery_claim=None, delivery_claimed_until=None)
        )


def start_attempt(engine: Engine, tip_id: int, claim: str, *, now: datetime) -> int | None:
    """Count an attempt before it is made and return its number (None: the claim was lost),
    so an attempt whose outcome cannot be recorded still counts."""
    with engine.begin() as connection:
        counted = connection.execute(
            tips.update()
            .where(tips.c.id == tip_id, tips.c.delivery_claim == claim)
            .values(delivery_attempts=tips.c.delivery_attempts + 1,
                    delivery_last_attempt_at=now)
        ).rowcount
        if not counted:
            return None
        return int(connection.execute(
            sa.select(tips.c.delivery_attempts).where(tips.c.id == tip_id)).scalar_one())


def record_attempt(
    engine: Engine,
    config: DeliveryConfig,
    tip_id: int,
    claim: str,
    error: str | None,
    rng: random.Random,
    *,
    now: datetime,
    counted: bool = False,
) -> str | None:
    """Write the outcome of one attempt (error None = acknowledged); return the new state.
    `counted`: :func:`start_attempt` already counted it.

    None when the claim was lost (the lease ran out and another worker took the tip).
    """
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(tips.c.delivery_attempts, tips.c.created_at).where(
                tips.c.id == tip_id, tips.c.delivery_claim == claim
            )
        ).first()
        if row is None:
            return None
        attempts = row.delivery_attempts + (0 if counted else 1)
        values: dict[str, Any] = {
            "delivery_attempts": attempts,
            "delivery_last_attempt_at": now,
            "delivery_last_error": error,
            "delivery_claim": None,
            "delivery_claimed_until": None,
        }
        created_at = as_utc(row.created_at) or now
        if error is None:
            values.update(delivery_status=DELIVERED, delivered_at=now, delivery_next_at=None)
        elif attempts >= config.max_attempts or now - created_at >= config.give_up_after:
            values.update(delivery_status=FAILED, delivery_next_at=None)
        else:
            values.update(delivery_next_at=now + backoff(attempts, config, rng))
        connection.execute(
            tips.update().where(tips.c.id == tip_id, tips.c.delivery_claim == claim).values(values)
        )
        return str(values.get("delivery_status", PENDING))


async def post(
    http: ClientSession, config: DeliveryConfig, reference: str, body: bytes
) -> str | None:
    """POST one signed tip; None if acknowledged (2xx), else a short error code."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(config.secret, body),
        REFERENCE_HEADER: reference,
        DELIVERY_ID_HEADER: delivery_id(reference),
        "User-Agent": USER_AGENT,
    }
    try:
        async with http.post(
            config.url,
            data=body,
            headers=headers,
            timeout=ClientTimeout(total=config.timeout),
            allow_redirects=False,
        ) as reply:
            return None if 200 <= reply.status < 300 else f"http_{reply.status}"
    except asyncio.TimeoutError:
        return "timeout"
    except (ClientError, OSError) as error:
        return type(error).__name__[:40]


@dataclass(frozen=True)
class DeliveryRound:
    """What one poll did."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


async def deliver_due(
    engine: Engine,
    http: ClientSession,
    cipher: TipCipher,
    config: DeliveryConfig,
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
    stop: asyncio.Event | None = None,
    unreleased: list[tuple[str, list[int]]] | None = None,
) -> DeliveryRound:
    """Claim the due tips and attempt each once. `now` is the round's clock (tests set it).

    If the round fails, the tips it has not finished are given back at once; when even that
    fails they are added to `unreleased`, which the next round gives back first."""
    loop = asyncio.get_running_loop()
    rng = rng or random.Random()

    async def blocking(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await loop.run_in_executor(None, partial(func, *args, **kwargs))

    moment = as_utc(now) or utcnow()
    while unreleased:
        await blocking(release, engine, *unreleased[0])
        unreleased.pop(0)
    claim = uuid.uuid4().hex
    ids = await blocking(claim_due, engine, config, claim, now=moment)
    counts = {DELIVERED: 0, PENDING: 0, FAILED: 0}
    position = 0
    try:
        for position, tip_id in enumerate(ids):  # noqa: B007 - read after a failure
            if stop is not None and stop.is_set():
                await blocking(release, engine, claim, ids[position:])
                break
            state = await _attempt(engine, http, cipher, config, claim, tip_id, rng, moment,
                                   blocking)
            if state is not None:
                counts[state] += 1
    except BaseException:
        try:
            await blocking(release, engine, claim, ids[position:])
        except Exception:  # noqa: BLE001 - the next round gives them back
            if unreleased is not None:
                unreleased.append((claim, ids[position:]))
        raise
    return DeliveryRound(len(ids), counts[DELIVERED], counts[PENDING], counts[FAILED])


async def _attempt(engine: Engine, http: ClientSession, cipher: TipCipher,
                   config: DeliveryConfig, claim: str, tip_id: int, rng: random.Random,
                   moment: datetime, blocking: Callable[..., Any]) -> str | None:
    """One counted attempt at one claimed tip; its new state (None: the claim was lost)."""
    attempt = await blocking(start_attempt, engine, tip_id, claim, now=moment)
    if attempt is None:
        return None
    reference: str = "?"
    error: str | None = None
    try:
        built = await blocking(payload, engine, cipher, tip_id, now=moment, attempt=attempt)
    except TipUnreadable:
        error = "decrypt_error"
    else:
        if built is None:
            error = "gone"
        else:
            reference, body = built
            error = await post(http, config, reference, body)
    state = await blocking(
        record_attempt, engine, config, tip_id, claim, error, rng, now=moment, counted=True
    )
    if state == DELIVERED:
        log.info("tip %s delivered", reference)
    elif state is not None:
        log.warning("tip %s not delivered (%s); now %s", reference, error, state)
    return state


async def run_delivery_loop(
    engine: Engine,
    http: ClientSession,
    cipher: TipCipher,
    config: DeliveryConfig,
    stop: asyncio.Event,
) -> None:
    """Poll and deliver until `stop` is set; no error ends the loop (it is logged by type)."""
    rng = random.Random()
    unreleased: list[tuple[str, list[int]]] = []
    while not stop.is_set():
        outcome = DeliveryRound()
        try:
            outcome = await deliver_due(engine, http, cipher, config, rng=rng, stop=stop,
                                        unreleased=unreleased)
        except Exception as error:  # noqa: BLE001 - the worker must outlive a database outage
            log.warning("tip delivery round failed: %s", type(error).__name__)
        if outcome.claimed >= config.batch_size:
            continue  # a full batch: more may be due right now
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=config.poll_interval)


async def delivery_worker(app: web.Application) -> AsyncIterator[None]:
    """aiohttp cleanup_ctx: run the delivery loop while the app runs (if a webhook is set).

    Register it after the context that opens ``app[ENGINE]`` and ``app[HTTP]``; on shutdown
    it lets the current attempt finish (bounded by the HTTP timeout) before returning.
    """
    config = app.get(TIP_DELIVERY, None)
    if config is None:
        log.info("no tip webhook configured: tips wait in the store for staff")
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_delivery_loop(app[ENGINE], app[HTTP], app[TIP_CIPHER], config, stop)
    )
    yield
    stop.set()
    # If the attempt under way outlasts this, wait_for cancels it and its lease runs out.
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(task, timeout=config.timeout + 5)


def requeue(engine: Engine, *, reference: str | None = None, now: datetime | None = None) -> int:
    """Queue failed tips (or the one with `reference`, unless delivered) for delivery again."""
    moment = as_utc(now) or utcnow()
    query = tips.update().values(
        delivery_status=PENDING,
        delivery_attempts=0,
        delivery_next_at=moment,
        delivery_claim=None,
        delivery_claimed_until=None,
    )
    if reference is None:
        query = query.where(tips.c.delivery_status == FAILED)
    else:
        query = query.where(tips.c.reference == reference, tips.c.delivery_status != DELIVERED)
    with engine.begin() as connection:
        return int(connection.execute(query).rowcount)
