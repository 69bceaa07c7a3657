"""Services the soak suite and the cluster tests start for themselves, never the shared ones:
a `redis-server` on a free port of 127.0.0.1 (it can be restarted as a fault), and a
PostgreSQL database of its own on the local server."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
import sqlalchemy as sa

from bot.launcher import free_port


@dataclass
class LocalRedis:
    """A throwaway `redis-server` (no persistence) on 127.0.0.1."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """What the fault suite does to it: stop (every connection drops), start again."""
        self.stop()
        self.start()


@contextmanager
def local_redis(directory: Path) -> Iterator[LocalRedis]:
    server = LocalRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def postgres_database(admin_url: str, prefix: str = "polisbot_soak_") -> Iterator[str]:
    """A new database on the PostgreSQL server of `admin_url`, dropped afterwards."""
    admin = sa.create_engine(admin_url, future=True, isolation_level="AUTOCOMMIT")
    name = prefix + uuid.uuid4().hex[:8]
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield str(sa.engine.make_url(admin_url).set(database=name))
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
