"""Retention for the contact centre's data: closed handovers with their (masked)
transcripts, handled callback requests, old live-update events and expired console
sessions. The audit log is kept: it is the record of who saw what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.handover.models import (
    callbacks,
    console_sessions,
    handover_events,
    handover_messages,
    handovers,
)

EVENTS_KEPT = timedelta(days=1)


@dataclass(frozen=True)
class HandoverPurge:
    handovers: int = 0
    messages: int = 0
    callbacks: int = 0

    def __str__(self) -> str:
        return (f"{self.handovers} closed handovers with {self.messages} transcript lines, "
                f"{self.callbacks} handled callback requests")


def purge_handover(engine: Engine, now: datetime, transcript_days: int,
                   callback_days: int) -> HandoverPurge:
    """Delete what is older than the retention periods (0 days keeps it)."""
    deleted_handovers = deleted_messages = deleted_callbacks = 0
    with engine.begin() as connection:
        if transcript_days:
            cutoff = now - timedelta(days=transcript_days)
            old = sa.select(handovers.c.id).where(handovers.c.status == "closed",
                                                  handovers.c.closed_at < cutoff)
            deleted_messages = connection.execute(handover_messages.delete().where(
                sa.or_(handover_messages.c.handover_id.in_(old),
                       sa.and_(handover_messages.c.handover_id.is_(None),
                               handover_messages.c.created_at < cutoff)))).rowcount
            deleted_handovers = connection.execute(
                handovers.delete().where(handovers.c.id.in_(old))).rowcount
        if callback_days:
            cutoff = now - timedelta(days=callback_days)
            deleted_callbacks = connection.execute(callbacks.delete().where(
                callbacks.c.status == "handled", callbacks.c.handled_at < cutoff)).rowcount
        connection.execute(handover_events.delete().where(handover_events.c.at < now - EVENTS_KEPT))
        connection.execute(console_sessions.delete().where(console_sessions.c.expires_at < now))
    return HandoverPurge(deleted_handovers, deleted_messages, deleted_callbacks)
