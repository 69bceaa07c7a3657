"""Live updates for every open console, in every web process, through the database.

Each change to a handover writes a row to ``handover_events`` in the same transaction
(:mod:`bot.handover.service`). Each web process runs one :class:`EventHub` that polls that
table about once a second and passes new rows to the WebSockets of its own consoles. No
process keeps state the others need: a console connected to any process sees every change,
whichever process (or the action server) made it. Polling works on SQLite and PostgreSQL
alike; at one small indexed query a second per process it costs next to nothing.

On PostgreSQL, ids are handed out when a row is inserted but become visible when its
transaction commits, so id 11 can be seen before id 10. :class:`EventCursor` therefore
keeps looking for a missing id for a few seconds before giving up on it (a rolled-back
transaction leaves a gap for ever).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.handover.models import as_utc, handover_events, handovers, utcnow
from bot.handover.service import iso, view_from_row

log = logging.getLogger(__name__)

BATCH = 500
GAP_TIMEOUT = 10.0
MAX_GAP_SCAN = 10_000
SUBSCRIBER_BACKLOG = 1000
RESYNC: dict[str, Any] = {"type": "resync"}


@dataclass(frozen=True)
class Event:
    """One change as consoles receive it; `handover` is the handover as it is now."""

    id: int
    at: datetime
    kind: str
    handover_id: int | None
    conversation_id: str | None
    queue: str | None
    status: str | None
    agent: str | None
    handover: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "kind": self.kind,
            "handover_id": self.handover_id,
            "conversation_id": self.conversation_id,
            "queue": self.queue,
            "status": self.status,
            "agent": self.agent,
            "handover": self.handover,
        }


def latest_event_id(session: Session) -> int:
    """The newest event id (0 when none): where a new poller starts."""
    value = session.execute(sa.select(sa.func.max(handover_events.c.id))).scalar()
    session.commit()
    return int(value or 0)


def events_after(session: Session, after_id: int, limit: int = BATCH) -> list[Event]:
    """Events with an id above `after_id`, oldest first, each with its handover's state."""
    rows = session.execute(
        sa.select(handover_events)
        .where(handover_events.c.id > after_id)
        .order_by(handover_events.c.id)
        .limit(limit)
    ).all()
    ids = {r.handover_id for r in rows if r.handover_id is not None}
    current: dict[int, dict[str, Any]] = {}
    if ids:
        for row in session.execute(sa.select(handovers).where(handovers.c.id.in_(ids))):
            current[row.id] = view_from_row(row).to_json()
    session.commit()
    return [
        Event(
            r.id,
            as_utc(r.at) or utcnow(),
            r.kind,
            r.handover_id,
            r.conversation_id,
            r.queue,
            r.status,
            r.agent,
            current.get(r.handover_id) if r.handover_id is not None else None,
        )
        for r in rows
    ]


@dataclass
class EventCursor:
    """Which event ids a poller has passed on, tolerating ids that commit out of order.

    Every id at or below `floor` is done; ids above it are either `seen` or missing. A
    missing id is waited for `gap_timeout` seconds, then skipped.
    """

    floor: int
    gap_timeout: float = GAP_TIMEOUT
    seen: set[int] = field(default_factory=set)
    gaps: dict[int, float] = field(default_factory=dict)

    def accept(self, events: list[Event], now: float) -> list[Event]:
        """The events of `events` not passed on before; advances the floor."""
        fresh = [e for e in events if e.id > self.floor and e.id not in self.seen]
        self.seen.update(e.id for e in fresh)
        top = max(self.seen, default=self.floor)
        if top - self.floor > MAX_GAP_SCAN:  # a jump no transaction explains: start over
            self.floor, self.seen, self.gaps = top, set(), {}
            return fresh
        for missing in range(self.floor + 1, top):
            if missing not in self.seen:
                self.gaps.setdefault(missing, now)
        while True:
            following = self.floor + 1
            if following in self.seen:
                self.seen.discard(following)
                self.gaps.pop(following, None)
            elif following in self.gaps and now - self.gaps[following] >= self.gap_timeout:
                del self.gaps[following]
            else:
                break
            self.floor = following
        return fresh


class EventHub:
    """The one poller of a web process and the consoles (queues) it feeds."""

    def __init__(self, session_factory: Callable[[], Session], interval: float = 1.0) -> None:
        self._session_factory = session_factory
        self.interval = interval
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self.sockets: set[Any] = set()
        self._cursor: EventCursor | None = None
        # Set once the poller knows where it starts: events after that reach every console.
        self.ready = asyncio.Event()

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue that receives every event from now on (as JSON-ready dicts)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=SUBSCRIBER_BACKLOG)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def _publish(self, message: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                # A console that cannot keep up reloads its lists instead of every event.
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(RESYNC)

    def _start(self) -> int:
        with self._session_factory() as session:
            return latest_event_id(session)

    def _fetch(self, after: int) -> list[Event]:
        with self._session_factory() as session:
            return events_after(session, after)

    async def poll_once(self) -> list[Event]:
        """Read new events and pass them on; returns what was passed on (for tests)."""
        loop = asyncio.get_running_loop()
        if self._cursor is None:
            self._cursor = EventCursor(await loop.run_in_executor(None, self._start))
            self.ready.set()
        events = await loop.run_in_executor(None, self._fetch, self._cursor.floor)
        fresh = self._cursor.accept(events, time.monotonic())
        for event in fresh:
            self._publish({"type": "event", "event": event.to_json()})
        return fresh

    async def run(self) -> None:
        """Poll until cancelled; a database hiccup is logged and retried, never fatal."""
        failures = 0
        while True:
            try:
                await self.poll_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep the consoles' feed alive
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.exception("reading handover events failed (%d in a row)", failures)
            await asyncio.sleep(self.interval * (1 if failures == 0 else min(failures, 10)))

    async def close_sockets(self) -> None:
        """Close every console WebSocket (on shutdown, so the server need not wait)."""
        for socket in list(self.sockets):
            with contextlib.suppress(Exception):
                await socket.close(code=1001, message=b"server shutdown")
