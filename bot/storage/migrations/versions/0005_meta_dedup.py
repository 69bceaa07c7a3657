"""Meta channels: message ids already handled, so Meta's retried deliveries are dropped.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta_seen_messages",
        sa.Column("message_key", sa.String(255), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_meta_seen_messages_expires_at", "meta_seen_messages", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_meta_seen_messages_expires_at", "meta_seen_messages")
    op.drop_table("meta_seen_messages")
