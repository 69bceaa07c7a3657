"""The load client behind `make bench` counts what it measures correctly."""

from __future__ import annotations

import os

from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.load import cpu_seconds, percentile, run_load


async def test_the_load_client_counts_messages_errors_and_server_cpu() -> None:
    seen: list[str] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body["sender"])
        sum(range(1_000_000))  # some server CPU time to account for
        if body["message"] == "fail":
            return web.json_response([], status=500)
        return web.json_response([{"recipient_id": body["sender"], "text": "ok"}])

    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", webhook)
    async with TestServer(app) as server:
        result = await run_load(str(server.make_url("")).rstrip("/"), ["hej", "fail"], 6, 3,
                                (os.getpid(),))
    assert result.messages == 12 and result.errors == 6 and result.failed == ("fail",)
    assert len(set(seen)) == 6  # one sender per conversation
    assert result.p50 <= result.p95 and result.throughput > 0
    assert result.cpu_ms_per_message > 0


def test_cpu_time_and_percentiles() -> None:
    assert cpu_seconds(os.getpid()) > 0
    assert cpu_seconds(2**22 + 12345) == 0.0  # no such process
    assert percentile([], 0.95) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 0.5) == 3.0
