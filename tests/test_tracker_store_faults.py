"""A conversation the database cannot store is retried, then the citizen is told: it never
goes to process memory only (Rasa's "fail-safe" store), and a conversation the database
cannot read is not taken for a new one."""

from __future__ import annotations

import sqlite3

import pytest
import requests
from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_honest_failure
from bot.rasa_honest_failure import retrieve_or_raise, save_or_raise
from tests.conftest import RunningSystem


class FlakyStore(InMemoryTrackerStore):
    """An in-memory store whose first `failures` calls fail like a dropped connection."""

    def __init__(self, failures: int) -> None:
        super().__init__(Domain.empty())
        self.failures = failures

    def _maybe_fail(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionResetError("server closed the connection unexpectedly")

    async def save(self, tracker: DialogueStateTracker) -> None:
        self._maybe_fail()
        await super().save(tracker)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        self._maybe_fail()
        return await super().retrieve(sender_id)


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rasa_honest_failure, "STORE_RETRIES", (0.0, 0.0))


def _tracker() -> DialogueStateTracker:
    tracker = DialogueStateTracker("someone", [])
    tracker.update(UserUttered("hej"))
    return tracker


async def test_a_save_that_fails_once_is_retried_and_reaches_the_store() -> None:
    real = FlakyStore(failures=2)
    store = FailSafeTrackerStore(real)
    await save_or_raise(store, _tracker())
    assert await real.retrieve("someone") is not None
    assert store._fallback_tracker_store is None, "nothing went to memory only"


async def test_a_save_that_keeps_failing_is_raised_not_kept_in_memory() -> None:
    store = FailSafeTrackerStore(FlakyStore(failures=10))
    with pytest.raises(ConnectionResetError):
        await save_or_raise(store, _tracker())
    assert store._fallback_tracker_store is None


async def test_a_read_that_keeps_failing_is_raised_not_a_new_conversation() -> None:
    store = FailSafeTrackerStore(FlakyStore(failures=10))
    with pytest.raises(ConnectionResetError):
        await retrieve_or_raise(store, "someone")


def test_the_citizen_is_told_when_the_conversation_cannot_be_stored(
        system: RunningSystem) -> None:
    chat = system.chat()
    assert "AI" in chat.say("hej")
    database = system.settings.database_url.removeprefix("sqlite:///")
    blocker = sqlite3.connect(database, timeout=1)
    blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: every save fails
    try:
        reply = requests.post(f"{system.rasa_url}/webhooks/rest/webhook", timeout=120,
                              headers={"Authorization": f"Bearer {system.rest_token}"},
                              json={"sender": chat.sender, "message": "hur kontaktar jag er?"})
    finally:
        blocker.rollback()
        blocker.close()
    assert reply.status_code == 503 and "114 14" in reply.json()["error"]
    assert "114 14" in chat.say("hur kontaktar jag polisen?"), "the conversation goes on"
