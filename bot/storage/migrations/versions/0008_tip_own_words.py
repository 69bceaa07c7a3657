"""Tips: "how do you know?" may be the citizen's own words (as the web form's free answer)
when they are none of seen / heard / told; `how_known` is then "own_words" and the words
are kept, encrypted, in the new `how_known_enc`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copies of bot.tips.models.HOW_KNOWN before and after this revision.
_BEFORE = ("seen_myself", "heard_myself", "told_by_someone")
_AFTER = (*_BEFORE, "own_words")


def _in(values: tuple[str, ...]) -> str:
    return f"how_known IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table("tips") as batch:
        batch.drop_constraint("ck_tips_how_known", type_="check")
        batch.create_check_constraint("ck_tips_how_known", _in(_AFTER))
        batch.add_column(sa.Column("how_known_enc", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("tips") as batch:
        batch.drop_column("how_known_enc")
        batch.drop_constraint("ck_tips_how_known", type_="check")
        batch.create_check_constraint("ck_tips_how_known", _in(_BEFORE))
