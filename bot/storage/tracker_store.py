"""Rasa's SQL tracker store with every event encrypted at rest.

Conversations hold what citizens write (tips included); the database keeps only Fernet
tokens of the event JSON, with the same keys as the tip store. Rows written before
encryption (plain JSON) are still read.
"""

from __future__ import annotations

import json
import os
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event

from bot.settings import PROJECT_ROOT
from bot.storage.db import tune_sqlite
from bot.tips.crypto import TipCipher
from bot.tips.settings import TipSettings


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """`type: bot.storage.tracker_store.EncryptedSQLTrackerStore` in endpoints.yml."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        settings = TipSettings.from_env(os.environ, root=PROJECT_ROOT)
        self.cipher = TipCipher.from_settings(settings.encryption_keys, settings.key_file)
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", tune_sqlite)
            self.engine.dispose()  # connections made so far lack the pragmas

    def _seal(self, data: str) -> str:
        return self.cipher.encrypt(data.encode("utf-8")).decode("ascii")

    def _open(self, data: str) -> dict[str, Any]:
        if data.startswith("{"):
            return json.loads(data)
        return json.loads(self.cipher.decrypt(data.encode("ascii")))

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store new events like Rasa does, with the event JSON encrypted."""
        await self.stream_events(tracker)
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                session.add(self.SQLEvent(
                    sender_id=tracker.sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=data.get("parse_data", {}).get("intent", {}).get("name"),
                    action_name=data.get("name"),
                    data=self._seal(json.dumps(data)),
                ))
            session.commit()

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool
                        ) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [self._open(row.data) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None
