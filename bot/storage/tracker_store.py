"""Rasa's SQL tracker store with every event encrypted at rest, and recent conversations kept
in memory so a message costs no database read.

Conversations hold what citizens write (tips included); the database keeps only Fernet
tokens of the event JSON, with the same keys as the tip store. Rows written before
encryption (plain JSON) are still read.

Rasa 3.6 reads every event of the session back from the database for each message, decrypts
and replays it, and counts the stored events again before each save. This store remembers,
per conversation, the events it has stored (the current session, as `retrieve` returns it):
the next message of that conversation is built from memory, and a save writes only what is
new. The database stays the record: a cold conversation, a restart or a full-history read
goes to it. The memory is only valid while this process is the one writer of the events
table, so run one Rasa server per database or set TRACKER_CACHE_SIZE=0 (see README).
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.settings import PROJECT_ROOT, Settings
from bot.storage.db import make_engine
from bot.tips.crypto import TipCipher
from bot.tips.settings import TipSettings

IDLE_SECONDS = 600.0


Stored = tuple[str, float, str]
"""One stored event: its type, its timestamp and its JSON (text, so nothing shares it)."""


@dataclass
class _Remembered:
    """The stored events of a conversation's current session, as `retrieve` would read them."""

    events: list[Stored]
    used: float


class RecentTrackers:
    """A bounded, least-recently-used memory of conversations, each forgotten when idle."""

    def __init__(self, size: int, idle_seconds: float = IDLE_SECONDS) -> None:
        self.size = size
        self.idle_seconds = idle_seconds
        self._items: OrderedDict[str, _Remembered] = OrderedDict()

    def get(self, sender_id: str) -> list[Stored] | None:
        item = self._items.get(sender_id)
        if item is None:
            return None
        now = time.monotonic()
        if now - item.used > self.idle_seconds:
            del self._items[sender_id]
            return None
        item.used = now
        self._items.move_to_end(sender_id)
        return item.events

    def put(self, sender_id: str, events: list[Stored]) -> None:
        if self.size <= 0:
            return
        self._items[sender_id] = _Remembered(events, time.monotonic())
        self._items.move_to_end(sender_id)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def forget(self, sender_id: str) -> None:
        self._items.pop(sender_id, None)

    def __len__(self) -> int:
        return len(self._items)


def current_session(events: list[Stored]) -> list[Stored]:
    """The events Rasa's SQL store reads back for the latest session: those stamped at or
    after the latest `session_started` (all of them when there is none)."""
    starts = [timestamp for kind, timestamp, _ in events if kind == SessionStarted.type_name]
    if not starts:
        return events
    latest = max(starts)
    return [e for e in events if e[1] >= latest]


def _stored(data: dict[str, Any], text: str) -> Stored:
    return (str(data.get("event")), float(data.get("timestamp") or 0.0), text)


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
        stored = self.recent.get(sender_id)
        self.recent.forget(sender_id)  # until this save has committed
        events = list(tracker.events)
        added: list[Stored] = []
        with self.session_scope() as session:
            new_events: Iterable[Event] = (
                self._additional_events(session, tracker) if stored is None
                else events[len(stored):])
            rows = []
            for event in new_events:
                data = event.as_dict()
                text = json.dumps(data)
                rows.append({
                    "sender_id": sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                    "action_name": data.get("name"),
                    "data": self._seal(text),
                })
                added.append(_stored(data, text))
            if rows:  # one multi-row statement, not an ORM unit of work per event
                session.execute(insert(self.SQLEvent.__table__), rows)
                session.commit()
        if stored is None:  # the first save since this process last saw the conversation
            earlier = events[:len(events) - len(added)]
            stored = [_stored(d, json.dumps(d)) for d in (e.as_dict() for e in earlier)]
        self.recent.put(sender_id, current_session(stored + added))

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        remembered = None if fetch_events_from_all_sessions else self.recent.get(sender_id)
        if remembered is not None:
            events = [json.loads(text) for _, _, text in remembered]
        else:
            with self.session_scope() as session:
                rows = self._event_query(
                    session, sender_id,
                    fetch_events_from_all_sessions=fetch_events_from_all_sessions,
                ).all()
                texts = [self._open(row.data) for row in rows]
            events = [json.loads(text) for text in texts]
            if not fetch_events_from_all_sessions:  # a new conversation is remembered too
                pairs = zip(events, texts, strict=True)
                self.recent.put(sender_id, [_stored(e, t) for e, t in pairs])
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None
