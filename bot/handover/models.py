"""Tables of the handover: queue, transcript lines, events, audit log, agents and their
sessions, callback requests, and the emergency banner.

They live on the one ``metadata`` of :mod:`bot.storage.models`, which Alembic owns;
``bot/storage/migrations/versions/0004_handover.py`` creates them. Every piece of state the
console shows is here, not in a web process's memory, so several web processes can serve
consoles side by side.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from bot.storage.models import metadata

WAITING, ACTIVE, CLOSED = "waiting", "active", "closed"
STATUSES = (WAITING, ACTIVE, CLOSED)
OPEN_STATUSES = (WAITING, ACTIVE)
CITIZEN, BOT, AGENT, NOTE = "citizen", "bot", "agent", "note"
MESSAGE_KINDS = (CITIZEN, BOT, AGENT, NOTE)
ROLE_AGENT, ROLE_ADMIN = "agent", "admin"
ROLES = (ROLE_AGENT, ROLE_ADMIN)
NEW, HANDLED = "new", "handled"
CALLBACK_STATUSES = (NEW, HANDLED)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _when(name: str, **kwargs: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kwargs)


def utcnow() -> datetime:
    """Now, aware UTC: what every handover table stores."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """`value` as aware UTC; SQLite hands back naive datetimes, which were written as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


# One row per handover. At most one waiting or active handover per conversation: the partial
# unique index makes a second open_handover (a double tap, a retried action) find the first.
handovers = sa.Table(
    "handovers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("area", sa.String(120)),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("queue", sa.String(40), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("agent", sa.String(80)),
    _when("created_at", nullable=False),
    # First claim: the citizen's wait, which the estimate for the next citizens is made of.
    _when("claimed_at"),
    _when("closed_at"),
    sa.Column("closed_by", sa.String(80)),
    sa.CheckConstraint(_in("status", STATUSES), name="ck_handovers_status"),
    sa.Index(
        "uq_handovers_open_conversation",
        "conversation_id",
        unique=True,
        sqlite_where=sa.text(_in("status", OPEN_STATUSES)),
        postgresql_where=sa.text(_in("status", OPEN_STATUSES)),
    ),
    sa.Index("ix_handovers_queue", "status", "queue", "created_at"),
)

# Transcript lines shown in the console, already masked by the caller; notes are internal.
handover_messages = sa.Table(
    "handover_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("handover_id", sa.Integer, sa.ForeignKey("handovers.id", ondelete="CASCADE")),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("agent", sa.String(80)),
    sa.Column("text", sa.Text, nullable=False),
    _when("created_at", nullable=False),
    # Agent replies only: NULL not yet tried, true delivered, false failed (retry offered).
    sa.Column("delivered", sa.Boolean),
    sa.CheckConstraint(_in("kind", MESSAGE_KINDS), name="ck_handover_messages_kind"),
    sa.Index("ix_handover_messages_conversation", "conversation_id", "id"),
)

# What changed, in commit order (roughly): every web process polls it for its consoles.
handover_events = sa.Table(
    "handover_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _when("at", nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("handover_id", sa.Integer),
    sa.Column("conversation_id", sa.String(255)),
    sa.Column("queue", sa.String(40)),
    sa.Column("status", sa.String(10)),
    sa.Column("agent", sa.String(80)),
    # SQLite would otherwise reuse the highest id after a purge, and consoles would miss it.
    sqlite_autoincrement=True,
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _when("at", nullable=False, index=True),
    # A user name, not a foreign key: the log outlives accounts.
    sa.Column("agent", sa.String(80), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("object_type", sa.String(20), nullable=False),
    sa.Column("object_id", sa.String(255)),
    sa.Index("ix_audit_log_object", "object_type", "object_id"),
    sa.Index("ix_audit_log_agent_action", "agent", "action", "at"),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(80), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(10), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    _when("created_at", nullable=False),
    _when("last_login_at"),
    sa.CheckConstraint(_in("role", ROLES), name="ck_agents_role"),
)

# Server-side console sessions. Only a SHA-256 of the cookie value is stored, so a copy of
# the database does not log anyone in.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column(
        "agent_id", sa.Integer, sa.ForeignKey("agents.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    _when("created_at", nullable=False),
    _when("expires_at", nullable=False, index=True),
)

callbacks = sa.Table(
    "callbacks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(11), nullable=False, unique=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("phone", sa.String(40), nullable=False),
    sa.Column("name", sa.String(120)),
    sa.Column("best_time", sa.String(120)),
    sa.Column("language", sa.String(8), nullable=False),
    _when("created_at", nullable=False, index=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("handled_by", sa.String(80)),
    _when("handled_at"),
    sa.CheckConstraint(_in("status", CALLBACK_STATUSES), name="ck_callbacks_status"),
)

# The emergency banner (a major incident): one row with id 1, text NULL when none is shown.
banner = sa.Table(
    "banner",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("text", sa.Text),
    sa.Column("updated_by", sa.String(80)),
    _when("updated_at"),
)
