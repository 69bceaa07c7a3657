"""Migrations on the embedded default (SQLite) and on production's PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from bot.storage.db import make_engine
from bot.storage.migrate import upgrade


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migration_creates_the_schema_and_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert {"events", "alembic_version"} <= _tables(database_url)


def test_migration_adopts_a_database_rasa_already_started_on(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(sa.text(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
            "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
            "action_name VARCHAR(255), data TEXT)"))
    engine.dispose()
    upgrade(database_url)
    engine = make_engine(database_url)
    indexes = {ix["name"] for ix in sa.inspect(engine).get_indexes("events")}
    engine.dispose()
    assert {"ix_events_sender_id", "ix_events_timestamp"} <= indexes


def test_rasa_tracker_store_writes_and_reads_conversations(database_url: str) -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    upgrade(database_url)
    store = SQLTrackerStore(Domain.empty(), host=database_url)
    tracker = DialogueStateTracker.from_events("citizen-1", [UserUttered("hej")])
    import asyncio

    asyncio.run(store.save(tracker))
    again = SQLTrackerStore(Domain.empty(), host=database_url)
    restored = asyncio.run(again.retrieve("citizen-1"))
    store.engine.dispose()
    again.engine.dispose()
    assert restored is not None and restored.latest_message.text == "hej"


def test_migration_creates_the_folder_of_a_new_sqlite_file(tmp_path: Path) -> None:
    upgrade(f"sqlite:///{tmp_path / 'new' / 'folder' / 'polisbot.db'}")
    assert (tmp_path / "new" / "folder" / "polisbot.db").exists()


def test_sqlite_runs_in_wal_mode_so_processes_can_share_it(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    engine.dispose()
