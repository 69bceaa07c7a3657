"""An aiohttp load client for Rasa's REST channel."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass

import aiohttp


@dataclass(frozen=True)
class Result:
    """Latency percentiles (seconds) and throughput (messages per second) of one run."""

    messages: int
    errors: int
    seconds: float
    p50: float
    p95: float

    @property
    def throughput(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


async def _conversation(http: aiohttp.ClientSession, url: str, script: list[str],
                        latencies: list[float], errors: list[int]) -> None:
    sender = "bench-" + uuid.uuid4().hex
    for text in script:
        started = time.perf_counter()
        try:
            async with http.post(url, json={"sender": sender, "message": text}) as reply:
                body = await reply.json()
                if reply.status != 200 or not body:
                    errors.append(1)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            errors.append(1)
        latencies.append(time.perf_counter() - started)


async def run_load(base_url: str, script: list[str], conversations: int,
                   concurrency: int) -> Result:
    """Run `conversations` copies of `script`, at most `concurrency` at a time."""
    url = f"{base_url}/webhooks/rest/webhook"
    latencies: list[float] = []
    errors: list[int] = []
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout,
                                     connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        async def one() -> None:
            async with gate:
                await _conversation(http, url, script, latencies, errors)

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(conversations)))
        elapsed = time.perf_counter() - started
    return Result(messages=len(latencies), errors=len(errors), seconds=elapsed,
                  p50=percentile(latencies, 0.50), p95=percentile(latencies, 0.95))
