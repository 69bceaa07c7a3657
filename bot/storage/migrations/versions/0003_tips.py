"""Tips: the tip store with delivery state, tip pictures, and staff API tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copies of bot.tips.models.HOW_KNOWN / DELIVERY_STATES / LANGUAGES as of this revision.
HOW_KNOWN = ("seen_myself", "heard_myself", "told_by_someone")
DELIVERY_STATES = ("pending", "delivered", "failed")
LANGUAGES = ("sv", "en")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "tips",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(11), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
        _when("created_at", nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("how_known", sa.String(20), nullable=False),
        sa.Column("anonymous", sa.Boolean, nullable=False),
        sa.Column("what_enc", sa.Text, nullable=False),
        sa.Column("when_enc", sa.Text, nullable=False),
        sa.Column("where_enc", sa.Text),
        sa.Column("contact_enc", sa.Text),
        sa.Column("municipality_code", sa.String(4)),
        sa.Column("capped_fields", sa.String(100)),
        sa.Column("delivery_status", sa.String(10), nullable=False),
        sa.Column("delivery_attempts", sa.Integer, nullable=False),
        _when("delivery_next_at"),
        _when("delivery_last_attempt_at"),
        sa.Column("delivery_last_error", sa.String(40)),
        _when("delivered_at"),
        sa.Column("delivery_claim", sa.String(64)),
        _when("delivery_claimed_until"),
        sa.CheckConstraint(_in("how_known", HOW_KNOWN), name="ck_tips_how_known"),
        sa.CheckConstraint(_in("language", LANGUAGES), name="ck_tips_language"),
        sa.CheckConstraint(_in("delivery_status", DELIVERY_STATES), name="ck_tips_delivery_status"),
        sa.CheckConstraint("anonymous = (contact_enc IS NULL)", name="ck_tips_anonymous"),
    )
    op.create_index("ix_tips_created_at", "tips", ["created_at"])
    op.create_index("ix_tips_delivery_due", "tips", ["delivery_status", "delivery_next_at"])
    op.create_table(
        "tip_attachments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("content_type", sa.String(20), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("filename_enc", sa.Text, nullable=False),
        sa.Column("data_enc", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("tip_id", "position", name="uq_tip_attachments_position"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _when("created_at", nullable=False),
        _when("last_used_at"),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    op.drop_table("tip_attachments")
    op.drop_index("ix_tips_delivery_due", "tips")
    op.drop_index("ix_tips_created_at", "tips")
    op.drop_table("tips")
