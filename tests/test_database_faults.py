"""On PostgreSQL, with the Rasa server's database connections being terminated while
citizens write, every answered message is in the database: a save is retried or the
citizen is told, never kept in process memory only."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from bot.launcher import Stack, isolated_settings, service_env
from bot.promises.service import seed_database
from bot.settings import PROJECT_ROOT
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from tests.conftest import POSTGRES_ADMIN_URL, RunningSystem

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pg_system(model_path: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[RunningSystem, str]]:
    admin = sa.create_engine(POSTGRES_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    name = "polisbot_faults_" + str(int(time.time() * 1000))[-9:]
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = str(sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name))
    settings = isolated_settings(url)
    upgrade(url)
    seed_database(url, PROJECT_ROOT)
    stack = Stack(settings, model_path, {**service_env(settings), "TRACKER_CACHE_SIZE": "0"},
                  log_dir=tmp_path_factory.mktemp("logs"))
    stack.start()
    try:
        yield RunningSystem(settings, stack), name
    finally:
        stack.stop()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _terminate_connections(database: str, stop: threading.Event, killed: list[int]) -> None:
    """Terminate every other connection to `database` every 0.3 s (a failing network)."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        while not stop.wait(0.3):
            killed.append(len(connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :d AND pid <> pg_backend_pid()"), {"d": database}).all()))
    admin.dispose()


def test_no_answered_message_is_missing_from_the_database(
        pg_system: tuple[RunningSystem, str]) -> None:
    system, database = pg_system
    answered: list[tuple[str, str]] = []
    told: list[str] = []
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_terminate_connections, args=(database, stop, killed))
    killer.start()

    def citizen(number: int) -> None:
        sender = f"pg-{number}-{time.time_ns()}"
        for text in (f"hej {number}", f"hur kontaktar jag polisen {number}?",
                     f"vad är ett medborgarlöfte {number}?"):
            reply = requests.post(f"{system.rasa_url}/webhooks/rest/webhook", timeout=120,
                                  headers={"Authorization": f"Bearer {system.rest_token}"},
                                  json={"sender": sender, "message": text})
            if reply.status_code == 200 and reply.json():
                answered.append((sender, text))
            else:
                assert reply.status_code == 503 and "114 14" in reply.json()["error"]
                told.append(text)

    try:
        citizens = [threading.Thread(target=citizen, args=(n,)) for n in range(8)]
        for thread in citizens:
            thread.start()
        for thread in citizens:
            thread.join(timeout=300)
    finally:
        stop.set()
        killer.join()
    engine = make_engine(system.settings.database_url)
    missing = []
    with engine.connect() as connection:
        for sender, text in answered:
            count = connection.execute(sa.text(
                "SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"),
                {"s": sender}).scalar_one()
            expected = sum(1 for s, _ in answered if s == sender)
            if count < expected:
                missing.append((sender, text))
    engine.dispose()
    print(f"\n{len(answered)} answered, {len(told)} told to call 114 14, "
          f"{sum(killed)} connections terminated, {len(missing)} answered but not stored")
    assert sum(killed) > 0, "the fault was injected"
    assert missing == []
