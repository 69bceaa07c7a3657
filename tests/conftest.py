"""Shared fixtures: the real system (Rasa server, action server, web service) on free ports
with its own database, and a small REST chat client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from bot.launcher import Stack, isolated_settings, service_env
from bot.model import ensure_model
from bot.promises.service import seed_database
from bot.settings import PROJECT_ROOT, Settings
from bot.storage.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@dataclass
class Chat:
    """One citizen's conversation over the REST channel."""

    base_url: str
    sender: str = field(default_factory=lambda: "test-" + uuid.uuid4().hex)
    token: str = ""
    """The REST channel's token (REST is for integrations, not citizens)."""

    def send(self, text: Any, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"sender": self.sender, "message": text}
        if metadata is not None:
            body["metadata"] = metadata
        reply = requests.post(f"{self.base_url}/webhooks/rest/webhook", json=body, timeout=30,
                              headers={"Authorization": f"Bearer {self.token}"})
        assert reply.status_code == 200, reply.text
        return reply.json()

    def say(self, text: Any, metadata: dict[str, Any] | None = None) -> str:
        """All bot texts of one turn, joined: what the citizen reads."""
        return "\n".join(m.get("text", "") for m in self.send(text, metadata))


@dataclass
class RunningSystem:
    settings: Settings
    stack: Stack

    @property
    def rasa_url(self) -> str:
        return self.settings.rasa_url

    @property
    def token(self) -> str:
        return self.stack.env["RASA_TOKEN"]

    @property
    def rest_token(self) -> str:
        return self.stack.env["REST_TOKEN"]

    def chat(self) -> Chat:
        return Chat(self.rasa_url, token=self.rest_token)

    def parse(self, text: str) -> dict[str, Any]:
        reply = requests.post(f"{self.rasa_url}/model/parse", params={"token": self.token},
                              json={"text": text}, timeout=30)
        reply.raise_for_status()
        return reply.json()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite database file (the embedded default)."""
    return f"sqlite:///{tmp_path / 'polisbot.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway database on the PostgreSQL server at 127.0.0.1:5432 (production's kind)."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    name = "polisbot_test_" + uuid.uuid4().hex[:8]
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name))
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each storage test runs on SQLite and on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture(scope="session")
def model_path() -> Path:
    settings = Settings.from_env()
    return ensure_model(PROJECT_ROOT, settings.model_dir, service_env(settings))


@contextmanager
def running_system(model_path: Path, tmp_path_factory: pytest.TempPathFactory,
                   **env: str) -> Iterator[RunningSystem]:
    """A whole system on free ports and an SQLite file of its own; `env` adds settings."""
    database = tmp_path_factory.mktemp("system") / "polisbot.db"
    settings = isolated_settings(f"sqlite:///{database}", **env)
    upgrade(settings.database_url)
    seed_database(settings.database_url, PROJECT_ROOT)
    stack = Stack(settings, model_path, {**service_env(settings), **env},
                  log_dir=tmp_path_factory.mktemp("logs"))
    stack.start()
    try:
        yield RunningSystem(settings, stack)
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def system(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    """The whole system, started once for the test session."""
    with running_system(model_path, tmp_path_factory) as running:
        yield running


@pytest.fixture
def chat(system: RunningSystem) -> Chat:
    return system.chat()
