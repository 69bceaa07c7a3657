"""Tables for medborgarlöften and the places they cover.

Geography: police region -> local police area (lokalpolisområde) <-> municipality (kommun)
-> optional district (stadsdel). A municipality can hold several local police areas and a
local police area can cover several municipalities, so they are linked through
``local_police_area_municipalities`` (optionally scoped to one district).

A promise covers one municipality, or one district of it. Texts a citizen reads are kept in
Swedish (required) and English (optional) side by side in ``*_sv`` / ``*_en`` columns, so one
row holds one item in both languages and rank, owner and targets are never duplicated.

Whether a promise is current, expired or upcoming is derived from its dates and the day asked
about (:func:`promise_status`), never stored: a stored status would silently go stale.

The tables live on the one ``metadata`` of :mod:`bot.storage.models`, which Alembic owns;
``bot/storage/migrations/versions/0002_promises.py`` creates them.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import relationship

from bot.storage.models import mapper_registry

# Any: SQLAlchemy 1.4 ships no type information, and mypy cannot use a generated base.
Base: Any = mapper_registry.generate_base()

# Who carries out a commitment. "unspecified" is for commitments whose published summary does
# not say who does it: the bot must then not claim "the police will…".
OWNERS = ("police", "municipality", "together", "partner", "unspecified")
# What a promise is based on (underlag).
BASIS_KINDS = ("dialogue", "survey", "statistics", "other")
LANGUAGES = ("sv", "en")

CURRENT, EXPIRED, UPCOMING, UNCERTAIN = "current", "expired", "upcoming", "uncertain"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class PoliceRegion(Base):
    """One of the seven police regions (since 2015), e.g. "Mitt"."""

    __tablename__ = "police_regions"

    name = sa.Column(sa.String(40), primary_key=True)


class Municipality(Base):
    """A kommun, keyed by its four-digit SCB code ("0180")."""

    __tablename__ = "municipalities"

    code = sa.Column(sa.String(4), primary_key=True)
    name = sa.Column(sa.String(80), nullable=False)
    full_name = sa.Column(sa.String(120), nullable=False)
    county_code = sa.Column(sa.String(2), nullable=False)
    county = sa.Column(sa.String(80), nullable=False)
    police_region = sa.Column(sa.String(40), sa.ForeignKey("police_regions.name"), nullable=False)
    english_name = sa.Column(sa.String(80))


class District(Base):
    """A stadsdel of a municipality; ``area`` is the larger district it belongs to, if any
    (Hjällbo -> Angered), so a promise for Angered also answers a question about Hjällbo."""

    __tablename__ = "districts"
    __table_args__ = (
        sa.UniqueConstraint("municipality_code", "name", name="uq_districts_municipality_name"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    municipality_code = sa.Column(
        sa.String(4), sa.ForeignKey("municipalities.code"), nullable=False
    )
    name = sa.Column(sa.String(80), nullable=False)
    area = sa.Column(sa.String(80))


class LocalPoliceArea(Base):
    """A lokalpolisområde, e.g. "Storgöteborg Nordost"."""

    __tablename__ = "local_police_areas"

    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(80), nullable=False, unique=True)
    police_region = sa.Column(sa.String(40), sa.ForeignKey("police_regions.name"), nullable=False)

    coverage = relationship(
        "LocalPoliceAreaMunicipality",
        back_populates="local_police_area",
        cascade="all, delete-orphan",
    )


class LocalPoliceAreaMunicipality(Base):
    """Which municipality (or which district of it) a local police area covers."""

    __tablename__ = "local_police_area_municipalities"

    id = sa.Column(sa.Integer, primary_key=True)
    local_police_area_id = sa.Column(
        sa.Integer, sa.ForeignKey("local_police_areas.id", ondelete="CASCADE"), nullable=False
    )
    municipality_code = sa.Column(
        sa.String(4), sa.ForeignKey("municipalities.code"), nullable=False, index=True
    )
    district_id = sa.Column(sa.Integer, sa.ForeignKey("districts.id"))
    source_url = sa.Column(sa.String(500))

    local_police_area = relationship("LocalPoliceArea", back_populates="coverage")
    district = relationship("District")


class Promise(Base):
    """One published medborgarlöfte for one municipality or district and one period.

    ``slug`` ("gavle-2018") is the natural key imports upsert by. ``period_stated`` is the
    period in the source's own words ("2023 till och med 2025 (kan förlängas)"); ``valid_from``
    and ``valid_to`` are dates derived from it for status only, each with the precision the
    source gives (a year-only end "2027" is stored as 2027-12-31 with precision "year").
    Either is NULL when the source does not give it. ``period_uncertain`` marks a period whose
    end the source leaves open ("till dess nya presenteras", a cut-off sentence).
    ``excerpt_truncated`` marks commitments cut off in the excerpt the data was taken from.
    ``is_example`` marks illustrative data that must never be presented as a real promise.
    """

    __tablename__ = "promises"
    __table_args__ = (
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="ck_promises_period"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    slug = sa.Column(sa.String(80), nullable=False, unique=True)
    municipality_code = sa.Column(
        sa.String(4), sa.ForeignKey("municipalities.code"), nullable=False, index=True
    )
    district_id = sa.Column(sa.Integer, sa.ForeignKey("districts.id"))
    local_police_area_id = sa.Column(sa.Integer, sa.ForeignKey("local_police_areas.id"))
    title_sv = sa.Column(sa.Text, nullable=False)
    title_en = sa.Column(sa.Text)
    valid_from = sa.Column(sa.Date)
    valid_to = sa.Column(sa.Date)
    source_url = sa.Column(sa.String(500), nullable=False)
    is_example = sa.Column(sa.Boolean, nullable=False, default=False)
    follow_up_lead = sa.Column(sa.Text)
    period_stated = sa.Column(sa.Text)
    valid_from_precision = sa.Column(sa.String(5))
    valid_to_precision = sa.Column(sa.String(5))
    period_uncertain = sa.Column(sa.Boolean, nullable=False, default=False)
    area_stated = sa.Column(sa.String(200))
    source_date = sa.Column(sa.String(10))
    excerpt_truncated = sa.Column(sa.Boolean, nullable=False, default=False)
    caveat_sv = sa.Column(sa.Text)
    caveat_en = sa.Column(sa.Text)
    current_url = sa.Column(sa.String(500))

    municipality = relationship("Municipality", lazy="joined")
    district = relationship("District", lazy="joined")
    local_police_area = relationship("LocalPoliceArea", lazy="joined")
    basis = relationship(
        "PromiseBasis",
        order_by="PromiseBasis.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    problems = relationship(
        "PromiseProblem",
        order_by="PromiseProblem.rank",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    commitments = relationship(
        "PromiseCommitment",
        order_by="PromiseCommitment.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    signatories = relationship(
        "PromiseSignatory",
        order_by="PromiseSignatory.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    follow_ups = relationship(
        "PromiseFollowUp",
        order_by="PromiseFollowUp.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    more_sources = relationship(
        "PromiseSource",
        order_by="PromiseSource.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )
    also_districts = relationship(
        "PromiseDistrict",
        order_by="PromiseDistrict.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


def _promise_fk() -> sa.Column:
    return sa.Column(sa.Integer, sa.ForeignKey("promises.id", ondelete="CASCADE"), nullable=False)


class PromiseBasis(Base):
    """What the promise is based on: a dialogue, a survey, statistics."""

    __tablename__ = "promise_basis"
    __table_args__ = (
        sa.UniqueConstraint("promise_id", "position", name="uq_promise_basis_position"),
        sa.CheckConstraint(_in("kind", BASIS_KINDS), name="ck_promise_basis_kind"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    promise_id = _promise_fk()
    position = sa.Column(sa.Integer, nullable=False)
    kind = sa.Column(sa.String(20), nullable=False)
    text_sv = sa.Column(sa.Text, nullable=False)
    text_en = sa.Column(sa.Text)


class PromiseProblem(Base):
    """One problem of the problem picture, in published order (rank 1 first)."""

    __tablename__ = "promise_problems"
    __table_args__ = (sa.UniqueConstraint("promise_id", "rank", name="uq_promise_problems_rank"),)

    id = sa.Column(sa.Integer, primary_key=True)
    promise_id = _promise_fk()
    rank = sa.Column(sa.Integer, nullable=False)
    is_focus = sa.Column(sa.Boolean, nullable=False, default=False)
    text_sv = sa.Column(sa.Text, nullable=False)
    text_en = sa.Column(sa.Text)


class PromiseCommitment(Base):
    """One thing promised, by whom, with its measurable target when the promise gives one."""

    __tablename__ = "promise_commitments"
    __table_args__ = (
        sa.UniqueConstraint("promise_id", "position", name="uq_promise_commitments_position"),
        sa.CheckConstraint(_in("owner", OWNERS), name="ck_promise_commitments_owner"),
        sa.CheckConstraint(
            "(owner = 'partner' AND partner IS NOT NULL) "
            "OR (owner <> 'partner' AND partner IS NULL)",
            name="ck_promise_commitments_partner",
        ),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    promise_id = _promise_fk()
    position = sa.Column(sa.Integer, nullable=False)
    owner = sa.Column(sa.String(20), nullable=False)
    partner = sa.Column(sa.String(200))
    text_sv = sa.Column(sa.Text, nullable=False)
    text_en = sa.Column(sa.Text)
    target_sv = sa.Column(sa.Text)
    target_en = sa.Column(sa.Text)


class PromiseSignatory(Base):
    """A party that signed the promise (a name or a role, as published)."""

    __tablename__ = "promise_signatories"
    __table_args__ = (
        sa.UniqueConstraint("promise_id", "position", name="uq_promise_signatories_position"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    promise_id = _promise_fk()
    position = sa.Column(sa.Integer, nullable=False)
    name = sa.Column(sa.String(200), nullable=False)


class PromiseFollowUp(Base):
    """A published follow-up; ``published_on`` is NULL when the source gives no date."""

    __tablename__ = "promise_follow_ups"
    __table_args__ = (
        sa.UniqueConstraint("promise_id", "position", name="uq_promise_follow_ups_position"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    promise_id = _promise_fk()
    position = sa.Column(sa.Integer, nullable=False)
    published_on = sa.Column(sa.Date)
    summary_sv = sa.Column(sa.Text, nullable=False)
    summary_en = sa.Column(sa.Text)
    url = sa.Column(sa.String(500))


class PromiseSource(Base):
    """A further source beyond ``source_url`` (e.g. when two sources disagree, both are kept)."""

    __tablename__ = "promise_sources"
    __table_args__ = (
        sa.UniqueConstraint("promise_id", "position", name="uq_promise_sources_position"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    promise_id = _promise_fk()
    position = sa.Column(sa.Integer, nullable=False)
    url = sa.Column(sa.String(500), nullable=False)


class PromiseDistrict(Base):
    """A further district the promise covers ("Askim-Frölunda-Högsbo och Västra Göteborg")."""

    __tablename__ = "promise_districts"
    __table_args__ = (
        sa.UniqueConstraint("promise_id", "position", name="uq_promise_districts_position"),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    promise_id = _promise_fk()
    position = sa.Column(sa.Integer, nullable=False)
    district_id = sa.Column(sa.Integer, sa.ForeignKey("districts.id"), nullable=False)

    district = relationship("District", lazy="joined")


class HasPeriod(Protocol):
    """Anything with a validity interval: an ORM promise or a repository view."""

    @property
    def valid_from(self) -> date | None: ...

    @property
    def valid_to(self) -> date | None: ...

    @property
    def valid_to_precision(self) -> str | None: ...

    @property
    def period_uncertain(self) -> bool: ...


def promise_status(promise: HasPeriod, today: date) -> str:
    """ "current", "expired", "upcoming" or "uncertain" on `today` (both end days count).

    Uncertain, never current, when the source does not let us say: no period at all, no end
    ("from 2017"), an end flagged as open, or an end given only as this year or this month
    ("2023-2026" in December 2026: "valid through 2026 according to the source").
    """
    start, end = promise.valid_from, promise.valid_to
    if promise.period_uncertain or (start is None and end is None):
        return UNCERTAIN
    if start is not None and today < start:
        return UPCOMING
    if end is not None and today > end:
        return EXPIRED
    if end is None:
        return UNCERTAIN
    precision = promise.valid_to_precision or "day"
    if precision == "year" and end.year == today.year:
        return UNCERTAIN
    if precision == "month" and (end.year, end.month) == (today.year, today.month):
        return UNCERTAIN
    return CURRENT
