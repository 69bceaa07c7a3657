"""Table models. One metadata object is the source of truth for Alembic."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import registry

mapper_registry = registry()
metadata = mapper_registry.metadata

# Rasa's SQL tracker store keeps every conversation event here. Rasa would create the table
# itself; declaring it lets Alembic own the schema (and add the index that retention needs).
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float, index=True),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)
