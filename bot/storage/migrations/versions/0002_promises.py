"""Medborgarlöften: places (regions, local police areas, municipalities, districts) and promises.

Only the schema: the reference rows come from data/places/*.csv through
bot.promises.reference.load_reference, and promises through bot.promises.importer, so data
fixes never need a migration.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Frozen copies of bot.promises.models.OWNERS / BASIS_KINDS as of this revision.
OWNERS = ("police", "municipality", "together", "partner", "unspecified")
BASIS_KINDS = ("dialogue", "survey", "statistics", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _promise_fk() -> sa.Column:
    return sa.Column(
        "promise_id",
        sa.Integer,
        sa.ForeignKey("promises.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "police_regions",
        sa.Column("name", sa.String(40), primary_key=True),
    )
    op.create_table(
        "municipalities",
        sa.Column("code", sa.String(4), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("full_name", sa.String(120), nullable=False),
        sa.Column("county_code", sa.String(2), nullable=False),
        sa.Column("county", sa.String(80), nullable=False),
        sa.Column(
            "police_region", sa.String(40), sa.ForeignKey("police_regions.name"), nullable=False
        ),
        sa.Column("english_name", sa.String(80)),
    )
    op.create_table(
        "districts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "municipality_code", sa.String(4), sa.ForeignKey("municipalities.code"), nullable=False
        ),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("area", sa.String(80)),
        sa.UniqueConstraint("municipality_code", "name", name="uq_districts_municipality_name"),
    )
    op.create_table(
        "local_police_areas",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column(
            "police_region", sa.String(40), sa.ForeignKey("police_regions.name"), nullable=False
        ),
    )
    op.create_table(
        "local_police_area_municipalities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "local_police_area_id",
            sa.Integer,
            sa.ForeignKey("local_police_areas.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "municipality_code", sa.String(4), sa.ForeignKey("municipalities.code"), nullable=False
        ),
        sa.Column("district_id", sa.Integer, sa.ForeignKey("districts.id")),
        sa.Column("source_url", sa.String(500)),
    )
    op.create_index(
        "ix_local_police_area_municipalities_municipality_code",
        "local_police_area_municipalities",
        ["municipality_code"],
    )
    op.create_table(
        "promises",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(80), nullable=False, unique=True),
        sa.Column(
            "municipality_code", sa.String(4), sa.ForeignKey("municipalities.code"), nullable=False
        ),
        sa.Column("district_id", sa.Integer, sa.ForeignKey("districts.id")),
        sa.Column("local_police_area_id", sa.Integer, sa.ForeignKey("local_police_areas.id")),
        sa.Column("title_sv", sa.Text, nullable=False),
        sa.Column("title_en", sa.Text),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date),
        sa.Column("source_url", sa.String(500), nullable=False),
        sa.Column("is_example", sa.Boolean, nullable=False),
        sa.Column("follow_up_lead", sa.Text),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="ck_promises_period"),
    )
    op.create_index("ix_promises_municipality_code", "promises", ["municipality_code"])
    op.create_table(
        "promise_basis",
        sa.Column("id", sa.Integer, primary_key=True),
        _promise_fk(),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text_sv", sa.Text, nullable=False),
        sa.Column("text_en", sa.Text),
        sa.UniqueConstraint("promise_id", "position", name="uq_promise_basis_position"),
        sa.CheckConstraint(_in("kind", BASIS_KINDS), name="ck_promise_basis_kind"),
    )
    op.create_table(
        "promise_problems",
        sa.Column("id", sa.Integer, primary_key=True),
        _promise_fk(),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("is_focus", sa.Boolean, nullable=False),
        sa.Column("text_sv", sa.Text, nullable=False),
        sa.Column("text_en", sa.Text),
        sa.UniqueConstraint("promise_id", "rank", name="uq_promise_problems_rank"),
    )
    op.create_table(
        "promise_commitments",
        sa.Column("id", sa.Integer, primary_key=True),
        _promise_fk(),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("owner", sa.String(20), nullable=False),
        sa.Column("partner", sa.String(200)),
        sa.Column("text_sv", sa.Text, nullable=False),
        sa.Column("text_en", sa.Text),
        sa.Column("target_sv", sa.Text),
        sa.Column("target_en", sa.Text),
        sa.UniqueConstraint("promise_id", "position", name="uq_promise_commitments_position"),
        sa.CheckConstraint(_in("owner", OWNERS), name="ck_promise_commitments_owner"),
        sa.CheckConstraint(
            "(owner = 'partner' AND partner IS NOT NULL) "
            "OR (owner <> 'partner' AND partner IS NULL)",
            name="ck_promise_commitments_partner",
        ),
    )
    op.create_table(
        "promise_signatories",
        sa.Column("id", sa.Integer, primary_key=True),
        _promise_fk(),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.UniqueConstraint("promise_id", "position", name="uq_promise_signatories_position"),
    )
    op.create_table(
        "promise_follow_ups",
        sa.Column("id", sa.Integer, primary_key=True),
        _promise_fk(),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("published_on", sa.Date),
        sa.Column("summary_sv", sa.Text, nullable=False),
        sa.Column("summary_en", sa.Text),
        sa.Column("url", sa.String(500)),
        sa.UniqueConstraint("promise_id", "position", name="uq_promise_follow_ups_position"),
    )


def downgrade() -> None:
    for table in (
        "promise_follow_ups",
        "promise_signatories",
        "promise_commitments",
        "promise_problems",
        "promise_basis",
    ):
        op.drop_table(table)
    op.drop_index("ix_promises_municipality_code", "promises")
    op.drop_table("promises")
    op.drop_index(
        "ix_local_police_area_municipalities_municipality_code",
        "local_police_area_municipalities",
    )
    op.drop_table("local_police_area_municipalities")
    op.drop_table("local_police_areas")
    op.drop_table("districts")
    op.drop_table("municipalities")
    op.drop_table("police_regions")
