"""The conversation store: encrypted at rest, and what it remembers between messages is
exactly what the database would give back (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.storage.migrate import upgrade
from bot.storage.tracker_store import EncryptedSQLTrackerStore, RecentTrackers

DOMAIN = Domain.from_dict({"intents": ["greet"], "slots": {"area": {
    "type": "text", "mappings": [{"type": "custom"}]}}})


@pytest.fixture
def store_factory(database_url: str, monkeypatch: pytest.MonkeyPatch
                  ) -> Iterator[callable]:  # type: ignore[valid-type]
    monkeypatch.setenv("TIP_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    upgrade(database_url)
    made: list[EncryptedSQLTrackerStore] = []

    def make(cache_size: int = 100) -> EncryptedSQLTrackerStore:
        monkeypatch.setenv("TRACKER_CACHE_SIZE", str(cache_size))
        store = EncryptedSQLTrackerStore(DOMAIN, host=database_url)
        made.append(store)
        return store

    yield make
    for store in made:
        store.engine.dispose()


def _turn(text: str, at: float) -> list[Event]:
    return [UserUttered(text, {"name": "greet", "confidence": 1.0}, timestamp=at),
            ActionExecuted("utter_greet", timestamp=at + 0.1),
            BotUttered(f"svar på {text}", timestamp=at + 0.2),
            ActionExecuted("action_listen", timestamp=at + 0.3)]


def _session_start(at: float) -> list[Event]:
    return [ActionExecuted("action_session_start", timestamp=at),
            SessionStarted(timestamp=at + 0.01),
            ActionExecuted("action_listen", timestamp=at + 0.02)]


def _dicts(tracker: DialogueStateTracker | None) -> list[dict]:
    assert tracker is not None
    return [e.as_dict() for e in tracker.events]


def _conversation(store: EncryptedSQLTrackerStore, turns: list[list[Event]]) -> None:
    tracker = asyncio.run(store.retrieve("citizen")) or DialogueStateTracker(
        "citizen", DOMAIN.slots)
    for events in turns:
        for event in events:
            tracker.update(event)
        asyncio.run(store.save(tracker))
        tracker = asyncio.run(store.retrieve("citizen"))
        assert tracker is not None


def _saved(store: EncryptedSQLTrackerStore, tracker: DialogueStateTracker | None,
           events: list[Event]) -> None:
    """One message's events added to `tracker` and saved, as the Rasa server does."""
    assert tracker is not None
    for event in events:
        tracker.update(event)
    asyncio.run(store.save(tracker))


def _continued(store: EncryptedSQLTrackerStore, events: list[Event]) -> DialogueStateTracker:
    """A stored "hej" conversation, read back and continued with `events` (not saved)."""
    _conversation(store, [_session_start(1.0), _turn("hej", 2.0)])
    tracker = asyncio.run(store.retrieve("citizen"))
    assert tracker is not None
    for event in events:
        tracker.update(event)
    return tracker


def test_a_remembered_conversation_equals_the_one_in_the_database(store_factory) -> None:
    remembering = store_factory()
    _conversation(remembering, [_session_start(1.0), _turn("hej", 2.0),
                                [SlotSet("area", "1480", timestamp=2.5)], _turn("tack", 3.0)])
    from_memory = asyncio.run(remembering.retrieve("citizen"))
    from_database = asyncio.run(store_factory(cache_size=0).retrieve("citizen"))
    assert _dicts(from_memory) == _dicts(from_database)
    assert from_memory is not None and from_memory.get_slot("area") == "1480"


def test_the_next_message_gets_the_saved_tracker_once(store_factory) -> None:
    store = store_factory()
    tracker = _continued(store, _turn("tack", 3.0))
    asyncio.run(store.save(tracker))
    assert len(store.recent) == 1
    assert asyncio.run(store.retrieve("citizen")) is tracker  # no read, no replay
    assert len(store.recent) == 0  # handed out: a second reader goes to the database
    second = asyncio.run(store.retrieve("citizen"))
    assert second is not tracker and _dicts(second) == _dicts(tracker)


def test_each_event_is_stored_once_and_encrypted(store_factory, database_url: str) -> None:
    store = store_factory()
    _conversation(store, [_session_start(1.0), _turn("hemlig text", 2.0), _turn("igen", 3.0)])
    engine = sa.create_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT data FROM events WHERE sender_id='citizen'")
                                  ).scalars().all()
    engine.dispose()
    assert len(rows) == 3 + 4 + 4
    assert not any("hemlig" in row or row.startswith("{") for row in rows)


def test_a_new_session_is_read_back_as_rasa_reads_it(store_factory) -> None:
    store = store_factory()
    tracker = _continued(store, _session_start(10.0) + _turn("nytt pass", 11.0))
    asyncio.run(store.save(tracker))
    from_memory = asyncio.run(store.retrieve("citizen"))
    assert from_memory is not None and from_memory is not tracker  # only the new session
    remembered = _dicts(from_memory)
    from_database = _dicts(asyncio.run(store_factory(cache_size=0).retrieve("citizen")))
    assert remembered == from_database
    assert remembered[0]["event"] == "session_started"
    everything = asyncio.run(store.retrieve_full_tracker("citizen"))
    assert everything is not None and len(everything.events) == 3 + 4 + 3 + 4


def test_a_conversation_another_process_continued_is_read_from_the_database(
        store_factory) -> None:
    first = store_factory(cache_size=0)
    _conversation(first, [_session_start(1.0), _turn("hej", 2.0)])
    second = store_factory()
    _conversation(second, [_turn("fortsätter", 3.0)])
    assert [e["text"] for e in _dicts(asyncio.run(first.retrieve("citizen")))
            if e["event"] == "user"] == ["hej", "fortsätter"]


def test_two_remembering_processes_on_one_database_never_use_a_stale_conversation(
        store_factory) -> None:
    first, second = store_factory(), store_factory()
    _saved(first, DialogueStateTracker("citizen", DOMAIN.slots),
           _session_start(1.0) + _turn("hej", 2.0))  # the first process remembers it
    _saved(second, asyncio.run(second.retrieve("citizen")),
           [SlotSet("area", "2180", timestamp=2.5), *_turn("Gävle", 3.0)])
    continued = asyncio.run(first.retrieve("citizen"))
    assert continued is not None and continued.get_slot("area") == "2180"
    _saved(first, continued, _turn("och narkotika?", 4.0))
    for store in (first, second):
        read = asyncio.run(store.retrieve("citizen"))
        assert [e["text"] for e in _dicts(read) if e["event"] == "user"] == [
            "hej", "Gävle", "och narkotika?"]
    everything = asyncio.run(store_factory(cache_size=0).retrieve_full_tracker("citizen"))
    assert len(_dicts(everything)) == 3 + 4 + 1 + 4 + 4  # every event stored exactly once


def test_a_remembered_new_conversation_that_another_process_began_is_read(
        store_factory) -> None:
    first, second = store_factory(), store_factory()
    assert asyncio.run(first.retrieve("citizen")) is None  # remembered as new
    _conversation(second, [_session_start(1.0), _turn("hej", 2.0)])
    read = asyncio.run(first.retrieve("citizen"))
    assert [e["text"] for e in _dicts(read) if e["event"] == "user"] == ["hej"]


def test_a_new_conversation_is_stored_without_counting_what_is_there(store_factory,
                                                                     monkeypatch) -> None:
    store = store_factory()

    def no_count(*args: object) -> None:
        raise AssertionError("counted the stored events of a conversation known to be new")

    monkeypatch.setattr(store, "_additional_events", no_count)
    _conversation(store, [_session_start(1.0), _turn("hej", 2.0)])
    from_database = asyncio.run(store_factory(cache_size=0).retrieve_full_tracker("citizen"))
    assert len(_dicts(from_database)) == 3 + 4


class _BrokenEngine:
    def begin(self) -> None:
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))


def test_a_failed_save_forgets_the_conversation(store_factory, monkeypatch) -> None:
    store = store_factory()
    tracker = _continued(store, _turn("går förlorat", 3.0))
    engine = store.engine
    monkeypatch.setattr(store, "engine", _BrokenEngine())
    with pytest.raises(sa.exc.OperationalError):
        asyncio.run(store.save(tracker))
    assert len(store.recent) == 0
    monkeypatch.setattr(store, "engine", engine)
    read_again = asyncio.run(store.retrieve("citizen"))
    assert read_again is not tracker
    assert [e["text"] for e in _dicts(read_again) if e["event"] == "user"] == ["hej"]


def test_recent_trackers_are_bounded_and_forget_idle_conversations() -> None:
    recent = RecentTrackers(size=2)
    trackers = {sender: DialogueStateTracker(sender, DOMAIN.slots) for sender in "abc"}
    for sender, tracker in trackers.items():
        recent.put(sender, tracker, DOMAIN)
    assert recent.take("a") is None and len(recent) == 2
    taken = recent.take("c")
    assert taken is not None and taken.tracker is trackers["c"] and recent.take("c") is None
    idle = RecentTrackers(size=2, idle_seconds=0.0)
    idle.put("a", trackers["a"], DOMAIN)
    assert idle.take("a") is None
    off = RecentTrackers(size=0)
    off.put("a", trackers["a"], DOMAIN)
    assert len(off) == 0
