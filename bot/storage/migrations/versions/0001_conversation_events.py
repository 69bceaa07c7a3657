"""Conversation events: the table Rasa's SQL tracker store writes.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A database that Rasa already started on has the table (without our indexes).
    if "events" not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            "events",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("sender_id", sa.String(255), nullable=False),
            sa.Column("type_name", sa.String(255), nullable=False),
            sa.Column("timestamp", sa.Float),
            sa.Column("intent_name", sa.String(255)),
            sa.Column("action_name", sa.String(255)),
            sa.Column("data", sa.Text),
        )
    indexes = {ix["name"] for ix in sa.inspect(op.get_bind()).get_indexes("events")}
    if "ix_events_sender_id" not in indexes:
        op.create_index("ix_events_sender_id", "events", ["sender_id"])
    if "ix_events_timestamp" not in indexes:
        op.create_index("ix_events_timestamp", "events", ["timestamp"])


def downgrade() -> None:
    op.drop_index("ix_events_timestamp", "events")
    op.drop_index("ix_events_sender_id", "events")
    op.drop_table("events")
