"""The table that remembers which Meta deliveries were already handled.

It lives on the one ``metadata`` of :mod:`bot.storage.models`, which Alembic owns;
``bot/storage/migrations/versions/0005_meta_dedup.py`` creates it. Keys are
``<platform>:<message id>`` (or ``reminder:<platform>:<sender>``) — ids, never message text;
``last-message:<sha-256 of the sender>`` rows keep when a sender last wrote (``created_at``).
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.models import metadata

meta_seen_messages = sa.Table(
    "meta_seen_messages",
    metadata,
    sa.Column("message_key", sa.String(255), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Rows past this moment are purged, and a key past it may be claimed again.
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
)
