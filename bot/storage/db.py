"""Engine and session factories (SQLAlchemy 1.4 in 2.0 style).

Nothing is created at import: callers build an engine from the settings and own it, so tests
can point each case at its own database and the web service closes it on shutdown.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.settings import Settings


def tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the Rasa server, the action server and the web service share one file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL stays consistent after a crash and skips an fsync per commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(database_url: str) -> Engine:
    """Create an engine for `database_url` with the pragmas and pooling each backend needs.

    SQLite files get a connection pool (SQLAlchemy 1.4 would open a new connection, and run
    the pragmas, for every session; 2.0 pools by default too) and no pre-ping, which a local
    file does not need; a server database is pinged on checkout so a restart is survived.
    """
    kwargs: dict[str, Any] = {"future": True}
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        settings = Settings.from_env()  # pool bounds: every replica must fit the server
        kwargs.update(pool_pre_ping=True, pool_size=settings.database_pool_size,
                      max_overflow=settings.database_max_overflow)
    elif url.database not in (None, "", ":memory:"):
        kwargs.update(poolclass=QueuePool, pool_size=5, max_overflow=10,
                      connect_args={"check_same_thread": False})
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", tune_sqlite)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    """Sessions that do not expire objects on commit, so returned rows stay readable."""
    return sessionmaker(bind=engine, class_=Session, future=True, expire_on_commit=False)
