"""Rasa's SQL tracker store with every event encrypted at rest, and recent conversations kept
in memory so a message costs no database read.

Conversations hold what citizens write (tips included); the database keeps only Fernet
tokens of the event JSON, with the same keys as the tip store. Rows written before
encryption (plain JSON) are still read.

Rasa 3.6 reads every event of the session back from the database for each message, decrypts
and replays it into a new tracker, and counts the stored events again before each save.
This store keeps, per conversation, the tracker it last saved (when that tracker holds
exactly the current session, as `retrieve` would read it back): the next message of that
conversation gets that tracker, and a save writes only what is new. A tracker is handed
out once: until it is saved again a second reader, or a message after a failure, reads the
database. The database stays the record: a cold conversation, a restart or a full-history
read goes to it.

Several Rasa processes may share the database: the memory remembers the id of the
conversation's newest stored event, and each read first asks the database for that id (one
indexed point query). When another process has stored events since, the conversation is
read from the database instead.
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.settings import PROJECT_ROOT, Settings
from bot.storage.db import make_engine
from bot.tips.crypto import TipCipher
from bot.tips.settings import TipSettings

IDLE_SECONDS = 600.0
# Set on a tracker this store read or saved: how many of its events are in the database,
# and the id of the newest of them.
STORED_EVENTS = "_stored_events"
STORED_LAST_ID = "_stored_last_id"


@dataclass
class _Remembered:
    """A conversation's last saved tracker (None: known to have no events yet), and the id
    of its newest stored event when remembered (None: no event stored)."""

    tracker: DialogueStateTracker | None
    domain: Domain | None
    used: float
    last_id: int | None = None


class RecentTrackers:
    """A bounded, least-recently-used memory of conversations, each forgotten when idle."""

    def __init__(self, size: int, idle_seconds: float = IDLE_SECONDS) -> None:
        self.size = size
        self.idle_seconds = idle_seconds
        self._items: OrderedDict[str, _Remembered] = OrderedDict()

    def take(self, sender_id: str) -> _Remembered | None:
        """Hand out what is remembered of a conversation, and forget it."""
        item = self._items.pop(sender_id, None)
        if item is None or time.monotonic() - item.used > self.idle_seconds:
            return None
        return item

    def put(self, sender_id: str, tracker: DialogueStateTracker | None,
            domain: Domain | None, last_id: int | None = None) -> None:
        if self.size <= 0:
            return
        self._items[sender_id] = _Remembered(tracker, domain, time.monotonic(), last_id)
        self._items.move_to_end(sender_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def latest_session(tracker: DialogueStateTracker) -> list[Event] | None:
    """The events Rasa's SQL store reads back for the latest session (those stamped at or
    after the latest `session_started`), or None when that is all of the tracker's."""
    starts = [event.timestamp for event in tracker.events
              if isinstance(event, SessionStarted)]
    if not starts:
        return None
    latest = max(starts)
    events = [event for event in tracker.events if event.timestamp >= latest]
    return None if len(events) == len(tracker.events) else events


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """`type: bot.storage.tracker_store.EncryptedSQLTrackerStore` in endpoints.yml."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        tip_settings = TipSettings.from_env(os.environ, root=PROJECT_ROOT)
        self.cipher = TipCipher.from_settings(tip_settings.encryption_keys, tip_settings.key_file)
        self.recent = RecentTrackers(Settings.from_env().tracker_cache_size)
        super().__init__(*args, **kwargs)
        # Rasa's engine opens a connection per session on SQLite; use the project's pooled one.
        rasas: Engine = self.engine  # type: ignore[has-type]
        url = rasas.url.render_as_string(hide_password=False)
        rasas.dispose()
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(bind=self.engine)

    def _seal(self, data: str) -> str:
        return self.cipher.encrypt(data.encode("utf-8")).decode("ascii")

    def _open(self, data: str) -> str:
        if data.startswith("{"):
            return data
        return self.cipher.decrypt(data.encode("ascii")).decode("utf-8")

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store new events like Rasa does, with the event JSON encrypted."""
        await self.stream_events(tracker)
        sender_id = tracker.sender_id
        remembered = self.recent.take(sender_id)  # nothing is remembered until committed
        stored: int | None = tracker.__dict__.pop(STORED_EVENTS, None)
        last_id: int | None = tracker.__dict__.pop(STORED_LAST_ID, None)
        if stored is None and remembered is not None and remembered.tracker is None:
            stored = 0  # read as new by this process: no need to count
        events = list(tracker.events)
        if stored is None:
            with self.session_scope() as session:
                stored = len(events) - len(list(self._additional_events(session, tracker)))
        rows = []
        for event in events[stored:]:
            data = event.as_dict()
            rows.append({
                "sender_id": sender_id,
                "type_name": event.type_name,
                "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                "action_name": data.get("name"),
                "data": self._seal(json.dumps(data)),
            })
        if rows:
            last_id = self._insert(rows)
        elif last_id is None and stored:
            last_id = self._last_id(sender_id)
        if self.recent.size > 0 and self.domain is not None:
            self._remember(tracker, last_id)

    def _insert(self, rows: list[dict[str, Any]]) -> int:
        """Store the rows in one statement and transaction; the id of the newest. PostgreSQL
        returns the ids it gave; SQLite holds its write lock until the commit, so no other
        writer can come between the insert and the read of the newest id."""
        table = self.SQLEvent.__table__
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                ids = connection.execute(insert(table).values(rows).returning(table.c.id))
                return max(ids.scalars())
            connection.execute(insert(table), rows)
            newest = connection.execute(select(func.max(table.c.id)).where(
                table.c.sender_id == rows[0]["sender_id"])).scalar_one()
            return int(newest)

    def _last_id(self, sender_id: str) -> int | None:
        """The id of the conversation's newest stored event (an indexed point query)."""
        table = self.SQLEvent.__table__
        with self.engine.connect() as connection:
            newest = connection.execute(select(func.max(table.c.id)).where(
                table.c.sender_id == sender_id)).scalar_one_or_none()
        return None if newest is None else int(newest)

    def _remember(self, tracker: DialogueStateTracker, last_id: int | None) -> None:
        """Keep the saved tracker for the conversation's next message; when it also holds
        an earlier session (a session just started), keep what a read gives instead."""
        session = latest_session(tracker)
        if session is not None:  # as read back: the latest session's JSON, replayed
            tracker = self._replayed(tracker.sender_id,
                                     [json.loads(json.dumps(e.as_dict())) for e in session])
        self.recent.put(tracker.sender_id, self._counted(tracker, last_id), self.domain,
                        last_id)

    def _replayed(self, sender_id: str, events: list[dict[str, Any]]) -> DialogueStateTracker:
        """A tracker from stored event JSON, as Rasa's SQL store builds it."""
        return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)

    def _counted(self, tracker: DialogueStateTracker, last_id: int | None
                 ) -> DialogueStateTracker:
        """Mark a tracker that holds exactly the stored current session with its count and
        newest event id, so its next save writes only what was added (only while this store
        remembers)."""
        if self.recent.size > 0:
            tracker.__dict__[STORED_EVENTS] = len(tracker.events)
            tracker.__dict__[STORED_LAST_ID] = last_id
        return tracker

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        if not fetch_events_from_all_sessions:
            remembered = self.recent.take(sender_id)
            if (remembered is not None and remembered.domain is self.domain
                    and self._last_id(sender_id) == remembered.last_id):
                if remembered.tracker is None:  # still new: keep knowing it
                    self.recent.put(sender_id, None, self.domain)
                return remembered.tracker
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id,
                fetch_events_from_all_sessions=fetch_events_from_all_sessions,
            ).all()
            events = [json.loads(self._open(row.data)) for row in rows]
            last_id = max((row.id for row in rows), default=None)
        if not events and not fetch_events_from_all_sessions:
            self.recent.put(sender_id, None, self.domain)  # new: its first save needs no count
        if not events or not self.domain:
            return None
        tracker = self._replayed(sender_id, events)
        return tracker if fetch_events_from_all_sessions else self._counted(tracker, last_id)
