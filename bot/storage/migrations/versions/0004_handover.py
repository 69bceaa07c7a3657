"""Handover to the contact centre: queue, transcript lines, events, audit log, agents,
console sessions, callback requests and the emergency banner.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Frozen copies of the value lists in bot.handover.models as of this revision.
STATUSES = ("waiting", "active", "closed")
OPEN_STATUSES = ("waiting", "active")
MESSAGE_KINDS = ("citizen", "bot", "agent", "note")
ROLES = ("agent", "admin")
CALLBACK_STATUSES = ("new", "handled")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("area", sa.String(120)),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("queue", sa.String(40), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("agent", sa.String(80)),
        _when("created_at", nullable=False),
        _when("claimed_at"),
        _when("closed_at"),
        sa.Column("closed_by", sa.String(80)),
        sa.CheckConstraint(_in("status", STATUSES), name="ck_handovers_status"),
    )
    op.create_index("ix_handovers_conversation_id", "handovers", ["conversation_id"])
    op.create_index(
        "uq_handovers_open_conversation",
        "handovers",
        ["conversation_id"],
        unique=True,
        sqlite_where=sa.text(_in("status", OPEN_STATUSES)),
        postgresql_where=sa.text(_in("status", OPEN_STATUSES)),
    )
    op.create_index("ix_handovers_queue", "handovers", ["status", "queue", "created_at"])
    op.create_table(
        "handover_messages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("handover_id", sa.Integer, sa.ForeignKey("handovers.id", ondelete="CASCADE")),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("agent", sa.String(80)),
        sa.Column("text", sa.Text, nullable=False),
        _when("created_at", nullable=False),
        sa.Column("delivered", sa.Boolean),
        sa.CheckConstraint(_in("kind", MESSAGE_KINDS), name="ck_handover_messages_kind"),
    )
    op.create_index(
        "ix_handover_messages_conversation", "handover_messages", ["conversation_id", "id"]
    )
    op.create_table(
        "handover_events",
        sa.Column("id", sa.Integer, primary_key=True),
        _when("at", nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("handover_id", sa.Integer),
        sa.Column("conversation_id", sa.String(255)),
        sa.Column("queue", sa.String(40)),
        sa.Column("status", sa.String(10)),
        sa.Column("agent", sa.String(80)),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        _when("at", nullable=False),
        sa.Column("agent", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("object_type", sa.String(20), nullable=False),
        sa.Column("object_id", sa.String(255)),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_object", "audit_log", ["object_type", "object_id"])
    op.create_index("ix_audit_log_agent_action", "audit_log", ["agent", "action", "at"])
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(80), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        _when("created_at", nullable=False),
        _when("last_login_at"),
        sa.CheckConstraint(_in("role", ROLES), name="ck_agents_role"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column(
            "agent_id",
            sa.Integer,
            sa.ForeignKey("agents.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        _when("created_at", nullable=False),
        _when("expires_at", nullable=False),
    )
    op.create_index("ix_console_sessions_expires_at", "console_sessions", ["expires_at"])
    op.create_table(
        "callbacks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(11), nullable=False, unique=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("name", sa.String(120)),
        sa.Column("best_time", sa.String(120)),
        sa.Column("language", sa.String(8), nullable=False),
        _when("created_at", nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("handled_by", sa.String(80)),
        _when("handled_at"),
        sa.CheckConstraint(_in("status", CALLBACK_STATUSES), name="ck_callbacks_status"),
    )
    op.create_index("ix_callbacks_conversation_id", "callbacks", ["conversation_id"])
    op.create_index("ix_callbacks_created_at", "callbacks", ["created_at"])
    op.create_table(
        "banner",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("text", sa.Text),
        sa.Column("updated_by", sa.String(80)),
        _when("updated_at"),
    )


def downgrade() -> None:
    op.drop_table("banner")
    op.drop_index("ix_callbacks_created_at", "callbacks")
    op.drop_index("ix_callbacks_conversation_id", "callbacks")
    op.drop_table("callbacks")
    op.drop_index("ix_console_sessions_expires_at", "console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("agents")
    op.drop_index("ix_audit_log_agent_action", "audit_log")
    op.drop_index("ix_audit_log_object", "audit_log")
    op.drop_index("ix_audit_log_at", "audit_log")
    op.drop_table("audit_log")
    op.drop_table("handover_events")
    op.drop_index("ix_handover_messages_conversation", "handover_messages")
    op.drop_table("handover_messages")
    op.drop_index("ix_handovers_queue", "handovers")
    op.drop_index("uq_handovers_open_conversation", "handovers")
    op.drop_index("ix_handovers_conversation_id", "handovers")
    op.drop_table("handovers")
