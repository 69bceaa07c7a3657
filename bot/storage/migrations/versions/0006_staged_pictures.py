"""Staged pictures: what a citizen sent during a conversation, waiting for the tip.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staged_pictures",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("content_type", sa.String(20), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data_enc", sa.LargeBinary, nullable=False),
        sa.UniqueConstraint("conversation_id", "position", name="uq_staged_pictures_position"),
        sa.UniqueConstraint("conversation_id", "sha256", name="uq_staged_pictures_sha256"),
    )
    op.create_index("ix_staged_pictures_created_at", "staged_pictures", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_staged_pictures_created_at", "staged_pictures")
    op.drop_table("staged_pictures")
