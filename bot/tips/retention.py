"""Retention: delete conversation transcripts and delivered tips once they are old enough.

``python -m bot purge`` calls :func:`purge` with ``RETENTION_TRANSCRIPT_DAYS`` and
``RETENTION_TIP_DAYS``. It is safe on a schedule: it deletes in small batches, each its own
short transaction (the services keep running), running it twice deletes nothing more, and
two runs at once only share the work.

- Transcripts: every row of Rasa's ``events`` table older than the limit. Conversations
  are resumed only from their latest session (sessions end after an hour of silence), so
  cutting old events never breaks a conversation that is under way.
- Tips: only those *delivered* to the police's systems, counted from the delivery. A tip
  that is pending or whose delivery failed is never purged: it exists nowhere else.
- Staged pictures (:mod:`bot.tips.uploads`): pictures a citizen sent for a tip that was
  never sent (abandoned, not cancelled: cancelling deletes them at once), counted in hours
  from their arrival.
- 0 days (or hours) keeps that kind of data for ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.storage.models import events
from bot.tips.models import DELIVERED, tip_attachments, tips
from bot.tips.store import as_utc
from bot.tips.uploads import purge_staged

BATCH = 1000


@dataclass(frozen=True)
class PurgeReport:
    """How much was deleted (counts only: what was deleted is gone, as intended)."""

    events: int = 0
    tips: int = 0
    attachments: int = 0
    staged_pictures: int = 0

    def __str__(self) -> str:
        return (
            f"deleted {self.events} conversation events, {self.tips} delivered tips "
            f"and {self.attachments} pictures, {self.staged_pictures} pictures of unsent tips"
        )


def _purge_events(engine: Engine, cutoff: datetime, batch: int) -> int:
    older = events.c.timestamp < cutoff.timestamp()
    deleted = 0
    while True:
        with engine.begin() as connection:
            ids = connection.execute(sa.select(events.c.id).where(older).limit(batch)).scalars()
            chunk = list(ids)
            if not chunk:
                return deleted
            connection.execute(events.delete().where(events.c.id.in_(chunk), older))
        deleted += len(chunk)


def _purge_tips(engine: Engine, cutoff: datetime, batch: int) -> tuple[int, int]:
    purgeable = sa.and_(tips.c.delivery_status == DELIVERED, tips.c.delivered_at < cutoff)
    deleted_tips = deleted_attachments = 0
    while True:
        with engine.begin() as connection:
            chunk = list(
                connection.execute(sa.select(tips.c.id).where(purgeable).limit(batch)).scalars()
            )
            if not chunk:
                return deleted_tips, deleted_attachments
            # Explicitly, not by ON DELETE CASCADE: SQLite only cascades with foreign keys on.
            deleted_attachments += connection.execute(
                tip_attachments.delete().where(tip_attachments.c.tip_id.in_(chunk))
            ).rowcount
            deleted_tips += connection.execute(
                tips.delete().where(tips.c.id.in_(chunk), purgeable)
            ).rowcount


def purge(
    engine: Engine,
    now: datetime,
    transcript_days: int,
    tip_days: int,
    *,
    staged_picture_hours: int = 0,
    batch_size: int = BATCH,
) -> PurgeReport:
    """Delete transcripts older than `transcript_days`, tips delivered over `tip_days` ago
    and staged pictures that arrived over `staged_picture_hours` ago (0 keeps each)."""
    if transcript_days < 0 or tip_days < 0 or staged_picture_hours < 0:
        raise ValueError("retention days must be 0 (keep) or more")
    moment = as_utc(now)
    deleted_events = 0
    if transcript_days:
        deleted_events = _purge_events(engine, moment - timedelta(days=transcript_days), batch_size)
    deleted_tips = deleted_attachments = 0
    if tip_days:
        deleted_tips, deleted_attachments = _purge_tips(
            engine, moment - timedelta(days=tip_days), batch_size
        )
    deleted_staged = 0
    if staged_picture_hours:
        deleted_staged = purge_staged(
            engine, moment - timedelta(hours=staged_picture_hours), batch_size
        )
    return PurgeReport(deleted_events, deleted_tips, deleted_attachments, deleted_staged)
