"""Engine and session factories (SQLAlchemy 1.4 in 2.0 style).

Nothing is created at import: callers build an engine from the settings and own it, so tests
can point each case at its own database and the web service closes it on shutdown.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker


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
    """Create an engine for `database_url` with the pragmas and pooling each backend needs."""
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True}
    engine = create_engine(database_url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", tune_sqlite)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    """Sessions that do not expire objects on commit, so returned rows stay readable."""
    return sessionmaker(bind=engine, class_=Session, future=True, expire_on_commit=False)
