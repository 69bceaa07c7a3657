"""Tables for tips, their pictures, and the staff API's tokens.

They live on the one ``metadata`` of :mod:`bot.storage.models`, which Alembic owns;
``bot/storage/migrations/versions/0003_tips.py`` creates them, ``0006_staged_pictures.py``
the pictures waiting for their tip, ``0008_tip_own_words.py`` the own answer to "how do you
know?".

What a citizen wrote (what, when, where, contact details, picture names and bytes) is stored
only as Fernet tokens (columns ending in ``_enc``); the columns in the clear are the ones the
service must query on: reference, times, delivery state, channel, language and the choice
"how do you know". Delivery state sits on the tip row itself, so committing a tip and
queueing it for delivery are one insert, and a worker claims a tip with one update.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.models import metadata

# "How do you know?": one of three choices, or (like the web form's free answer) the citizen's
# own words when they are none of them, kept encrypted in `how_known_enc`.
HOW_KNOWN_CHOICES = ("seen_myself", "heard_myself", "told_by_someone")
OWN_WORDS = "own_words"
HOW_KNOWN = (*HOW_KNOWN_CHOICES, OWN_WORDS)
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
DELIVERY_STATES = (PENDING, DELIVERED, FAILED)
LANGUAGES = ("sv", "en")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _when(name: str, **kwargs: object) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), **kwargs)


tips = sa.Table(
    "tips",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(11), nullable=False, unique=True),
    # SHA-256 of the caller's idempotency key: a retried submission finds the first tip.
    sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
    _when("created_at", nullable=False, index=True),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("language", sa.String(2), nullable=False),
    sa.Column("how_known", sa.String(20), nullable=False),
    sa.Column("anonymous", sa.Boolean, nullable=False),
    sa.Column("what_enc", sa.Text, nullable=False),
    sa.Column("when_enc", sa.Text, nullable=False),
    sa.Column("where_enc", sa.Text),
    sa.Column("contact_enc", sa.Text),
    # The citizen's own answer to "how do you know?" when how_known is "own_words" (0008).
    sa.Column("how_known_enc", sa.Text),
    # Municipality code (SCB, "0180") when the place was understood; not personal data.
    sa.Column("municipality_code", sa.String(4)),
    # Comma-separated names of the answers that were cut to the length limit.
    sa.Column("capped_fields", sa.String(100)),
    sa.Column("delivery_status", sa.String(10), nullable=False),
    sa.Column("delivery_attempts", sa.Integer, nullable=False),
    _when("delivery_next_at"),
    _when("delivery_last_attempt_at"),
    sa.Column("delivery_last_error", sa.String(40)),
    _when("delivered_at"),
    # A worker's claim: which round holds the tip and until when (then another may take it).
    sa.Column("delivery_claim", sa.String(64)),
    _when("delivery_claimed_until"),
    sa.CheckConstraint(_in("how_known", HOW_KNOWN), name="ck_tips_how_known"),
    sa.CheckConstraint(_in("language", LANGUAGES), name="ck_tips_language"),
    sa.CheckConstraint(_in("delivery_status", DELIVERY_STATES), name="ck_tips_delivery_status"),
    sa.CheckConstraint("anonymous = (contact_enc IS NULL)", name="ck_tips_anonymous"),
    sa.Index("ix_tips_delivery_due", "delivery_status", "delivery_next_at"),
)

tip_attachments = sa.Table(
    "tip_attachments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tip_id", sa.Integer, sa.ForeignKey("tips.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("content_type", sa.String(20), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("filename_enc", sa.Text, nullable=False),
    sa.Column("data_enc", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("tip_id", "position", name="uq_tip_attachments_position"),
)

# Pictures a citizen sent during a conversation, waiting for the tip they belong to
# (bot/tips/uploads.py). Submitting the tip moves them into tip_attachments; cancelling the
# tip discards them; `python -m bot purge` deletes those older than
# RETENTION_STAGED_PICTURE_HOURS. Only what the service needs is in the clear: the
# conversation (Rasa's sender id), the order, the type and size the bytes proved, and their
# SHA-256 (so the same picture twice is kept once); the bytes are a Fernet token and no
# filename a citizen chose is kept at all.
staged_pictures = sa.Table(
    "staged_pictures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    # 1, 2, 3 …: unique per conversation, so two pictures arriving at once cannot both take
    # the last free place (one insert fails and is retried against the other).
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("content_type", sa.String(20), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    _when("created_at", nullable=False, index=True),
    sa.Column("data_enc", sa.LargeBinary, nullable=False),
    sa.UniqueConstraint("conversation_id", "position", name="uq_staged_pictures_position"),
    sa.UniqueConstraint("conversation_id", "sha256", name="uq_staged_pictures_sha256"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(80), nullable=False, unique=True),
    # SHA-256 of the token; the token itself is shown once, when it is created.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    _when("created_at", nullable=False),
    _when("last_used_at"),
)
