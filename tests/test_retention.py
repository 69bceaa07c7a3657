"""Retention: old transcripts and delivered tips are purged; nothing undelivered ever is."""

# The database fixtures are imported from test_tips_store; test arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.storage.models import events
from bot.tips.cli import register_purge
from bot.tips.crypto import TipCipher
from bot.tips.models import tips
from bot.tips.retention import purge
from bot.tips.store import submit
from tests.test_tips_store import (  # noqa: F401 - fixtures
    PNG,
    cipher,
    count,
    database_url,
    engine,
    make_draft,
    sessions,
)

NOW = datetime(2026, 12, 31, 12, 0, tzinfo=timezone.utc)


def add_events(engine: Engine, sender: str, *ages: timedelta) -> None:
    with engine.begin() as connection:
        for age in ages:
            connection.execute(
                events.insert().values(
                    sender_id=sender,
                    type_name="user",
                    timestamp=(NOW - age).timestamp(),
                    data='{"text": "hej"}',
                )
            )


def add_tip(
    sessions: sessionmaker,
    engine: Engine,
    cipher: TipCipher,
    key: str,
    status: str,
    delivered_ago: timedelta | None = None,
) -> str:
    draft = make_draft(attachments=[("a.png", "image/png", PNG)])
    created = NOW - (delivered_ago or timedelta(0)) - timedelta(days=1)
    reference = submit(sessions, draft, key, cipher=cipher, now=created).reference
    values: dict[str, object] = {"delivery_status": status}
    if delivered_ago is not None:
        values["delivered_at"] = NOW - delivered_ago
    with engine.begin() as connection:
        connection.execute(tips.update().where(tips.c.reference == reference).values(values))
    return reference


def references(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(sa.select(tips.c.reference)).scalars())


def test_transcripts_older_than_the_limit_are_purged(engine: Engine) -> None:
    add_events(engine, "old", timedelta(days=45), timedelta(days=40))
    add_events(engine, "mixed", timedelta(days=31), timedelta(days=2))
    add_events(engine, "new", timedelta(hours=1))
    report = purge(engine, NOW, transcript_days=30, tip_days=90)
    assert report.events == 3
    with engine.connect() as connection:
        left = connection.execute(sa.select(events.c.sender_id).order_by(events.c.id)).scalars()
        assert list(left) == ["mixed", "new"]


def test_delivered_tips_are_purged_after_the_limit_with_their_pictures(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    old = add_tip(sessions, engine, cipher, "a", "delivered", timedelta(days=100))
    recent = add_tip(sessions, engine, cipher, "b", "delivered", timedelta(days=10))
    report = purge(engine, NOW, transcript_days=30, tip_days=90)
    assert (report.tips, report.attachments) == (1, 1)
    assert references(engine) == {recent} and old not in references(engine)
    assert count(engine, "tip_attachments") == 1


def test_a_tip_that_was_never_delivered_is_never_purged(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    waiting = add_tip(sessions, engine, cipher, "a", "pending")
    failed = add_tip(sessions, engine, cipher, "b", "failed")
    with engine.begin() as connection:  # both a year old
        connection.execute(tips.update().values(created_at=NOW - timedelta(days=365)))
    report = purge(engine, NOW, transcript_days=1, tip_days=1)
    assert report.tips == 0 and references(engine) == {waiting, failed}


def test_zero_days_keeps_everything(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    add_events(engine, "old", timedelta(days=400))
    add_tip(sessions, engine, cipher, "a", "delivered", timedelta(days=400))
    report = purge(engine, NOW, transcript_days=0, tip_days=0)
    assert (report.events, report.tips) == (0, 0)
    assert count(engine, "events") == 1 and count(engine, "tips") == 1


def test_purging_again_deletes_nothing_more(
    engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    add_events(engine, "old", *(timedelta(days=40 + n) for n in range(7)))
    for n in range(5):
        add_tip(sessions, engine, cipher, f"k{n}", "delivered", timedelta(days=100))
    first = purge(engine, NOW, transcript_days=30, tip_days=90, batch_size=2)
    assert (first.events, first.tips, first.attachments) == (7, 5, 5)
    second = purge(engine, NOW, transcript_days=30, tip_days=90, batch_size=2)
    assert (second.events, second.tips, second.attachments) == (0, 0, 0)


def test_negative_days_are_refused(engine: Engine) -> None:
    with pytest.raises(ValueError):
        purge(engine, NOW, transcript_days=-1, tip_days=90)


def test_the_purge_command_uses_the_retention_settings(
    database_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    offset = NOW - datetime.now(timezone.utc)  # the command purges as of the real now
    add_events(engine, "old", offset + timedelta(days=8))
    add_events(engine, "new", offset + timedelta(days=2))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("RETENTION_TRANSCRIPT_DAYS", "7")
    monkeypatch.setenv("RETENTION_TIP_DAYS", "7")
    parser = argparse.ArgumentParser()
    register_purge(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["purge"])
    assert args.func(args) == 0
    assert "deleted 1 conversation events, 0 delivered tips" in capsys.readouterr().out
    assert count(engine, "events") == 1
