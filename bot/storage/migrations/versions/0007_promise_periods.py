"""Promises told with the precision of their source: the period as stated beside the derived
dates (each with its precision), a start that may be unknown, further sources and districts,
the area in the source's words, caveats, and whether the excerpt was cut off.

Existing rows keep their day-precise dates; their ``period_stated`` stays empty until the
next import fills it (the importer requires it).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("period_stated", sa.Text),
    ("valid_from_precision", sa.String(5)),
    ("valid_to_precision", sa.String(5)),
    ("area_stated", sa.String(200)),
    ("source_date", sa.String(10)),
    ("caveat_sv", sa.Text),
    ("caveat_en", sa.Text),
    ("current_url", sa.String(500)),
)
_FLAGS = ("period_uncertain", "excerpt_truncated")


def _child(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "promise_id", sa.Integer, sa.ForeignKey("promises.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        *columns,
        sa.UniqueConstraint("promise_id", "position", name=f"uq_{name}_position"),
    )


def upgrade() -> None:
    with op.batch_alter_table("promises") as batch:
        batch.alter_column("valid_from", existing_type=sa.Date, nullable=True)
        for name, type_ in _COLUMNS:
            batch.add_column(sa.Column(name, type_))
        for name in _FLAGS:
            batch.add_column(
                sa.Column(name, sa.Boolean, nullable=False, server_default=sa.false())
            )
    op.execute(
        "UPDATE promises SET valid_from_precision = 'day', "
        "valid_to_precision = CASE WHEN valid_to IS NULL THEN NULL ELSE 'day' END"
    )
    _child("promise_sources", sa.Column("url", sa.String(500), nullable=False))
    _child(
        "promise_districts",
        sa.Column("district_id", sa.Integer, sa.ForeignKey("districts.id"), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("promise_districts")
    op.drop_table("promise_sources")
    op.execute("DELETE FROM promises WHERE valid_from IS NULL")
    with op.batch_alter_table("promises") as batch:
        for name in _FLAGS:
            batch.drop_column(name)
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
        batch.alter_column("valid_from", existing_type=sa.Date, nullable=False)
