"""How long a handover event takes to reach the consoles of two web processes, which read
them from PostgreSQL every HANDOVER_POLL_SECONDS (docs/deployment.md says why polling stays).

`python -m bench.handover_events`: a database of its own on the local PostgreSQL server, two
`EventHub`s as two web processes run them, handovers opened one by one at random moments.
"""

from __future__ import annotations

import asyncio
import random
import time

from bench.services import postgres_database
from bot.handover import service
from bot.handover.events import EventHub
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
EVENTS = 40


async def wait_for(queue: asyncio.Queue, conversation_id: str) -> float:
    while True:
        message = await queue.get()
        if message.get("event", {}).get("conversation_id") == conversation_id:
            return time.monotonic()


async def measure(database_url: str, interval: float) -> list[float]:
    sessions = make_session_factory(make_engine(database_url))
    hubs = [EventHub(sessions, interval) for _ in range(2)]
    queues = [hub.subscribe() for hub in hubs]
    tasks = [asyncio.create_task(hub.run()) for hub in hubs]
    await asyncio.gather(*(hub.ready.wait() for hub in hubs))
    delays: list[float] = []
    try:
        for number in range(EVENTS):
            await asyncio.sleep(random.uniform(0.1, 0.6))
            conversation_id = f"measure-{number}"
            waits = [asyncio.create_task(wait_for(q, conversation_id)) for q in queues]
            with sessions() as session:
                service.open_handover(session, conversation_id, "rest", "sv", None, "asked")
                session.commit()
            committed = time.monotonic()
            delays += [arrived - committed for arrived in await asyncio.gather(*waits)]
    finally:
        for task in tasks:
            task.cancel()
    return sorted(delays)


def main() -> int:
    with postgres_database(POSTGRES_ADMIN_URL, prefix="polisbot_events_") as url:
        upgrade(url)
        delays = asyncio.run(measure(url, 1.0))
    ms = [round(d * 1000) for d in delays]
    print(f"{len(ms)} deliveries to 2 web processes (poll every 1 s): p50 {ms[len(ms) // 2]} ms,"
          f" p95 {ms[int(len(ms) * 0.95)]} ms, max {ms[-1]} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
