"""An aiohttp load client for Rasa's REST channel."""

from __future__ import annotations

import asyncio
import os
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
    cpu_ms_per_message: float = 0.0
    failed: tuple[str, ...] = ()
    """The script's messages that got an error or an empty answer at least once."""

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
                        latencies: list[float], errors: list[str]) -> None:
    sender = "bench-" + uuid.uuid4().hex
    for text in script:
        started = time.perf_counter()
        try:
            async with http.post(url, json={"sender": sender, "message": text}) as reply:
                body = await reply.json()
                if reply.status != 200 or not body:
                    errors.append(text)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            errors.append(text)
        latencies.append(time.perf_counter() - started)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and all its descendants (Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as listing:
            children = listing.read().split()
    except OSError:
        children = []
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


async def run_load(base_url: str, script: list[str], conversations: int,
                   concurrency: int, server_pids: tuple[int, ...] = (),
                   rest_token: str = "") -> Result:
    """Run `conversations` copies of `script`, at most `concurrency` at a time; with
    `server_pids`, also report the servers' CPU time per message (less noisy than time).
    `rest_token` is this assistant's REST channel token (the stock bot needs none)."""
    url = f"{base_url}/webhooks/rest/webhook"
    latencies: list[float] = []
    errors: list[str] = []
    gate = asyncio.Semaphore(concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    headers = {"Authorization": f"Bearer {rest_token}"} if rest_token else {}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers,
                                     connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        async def one() -> None:
            async with gate:
                await _conversation(http, url, script, latencies, errors)

        cpu_before = sum(cpu_seconds(pid) for pid in server_pids)
        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(conversations)))
        elapsed = time.perf_counter() - started
        cpu = sum(cpu_seconds(pid) for pid in server_pids) - cpu_before
    return Result(messages=len(latencies), errors=len(errors), seconds=elapsed,
                  p50=percentile(latencies, 0.50), p95=percentile(latencies, 0.95),
                  cpu_ms_per_message=1000 * cpu / len(latencies) if latencies else 0.0,
                  failed=tuple(text for text in script if text in errors))
