"""Read side for conversations: promises as plain frozen values, never ORM objects.

Actions get immutable :class:`PromiseView` values, so they can be cached for the life of a
process (:func:`all_promises`) and handed between threads without a session. A view holds no
status: status depends on the day, so it is asked for with :meth:`PromiseView.status`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.promises.models import (
    CURRENT,
    EXPIRED,
    UNCERTAIN,
    UPCOMING,
    District,
    Promise,
    promise_status,
)


@dataclass(frozen=True)
class LocalText:
    """A text in Swedish, and in English when there is a translation."""

    sv: str
    en: str | None = None

    def get(self, language: str) -> str:
        """The text in `language`, falling back to Swedish (the authoritative version)."""
        return self.en if language == "en" and self.en else self.sv


@dataclass(frozen=True)
class BasisView:
    kind: str  # dialogue | survey | statistics | other
    text: LocalText


@dataclass(frozen=True)
class ProblemView:
    rank: int
    is_focus: bool
    text: LocalText


@dataclass(frozen=True)
class CommitmentView:
    owner: str  # police | municipality | together | partner | unspecified
    partner: str | None
    text: LocalText
    target: LocalText | None


@dataclass(frozen=True)
class FollowUpView:
    published_on: date | None
    summary: LocalText
    url: str | None


@dataclass(frozen=True)
class PromiseView:
    """Everything a reply about one promise needs, including its source link."""

    slug: str
    municipality_code: str
    municipality: str
    district: str | None
    local_police_area: str | None
    title: LocalText
    valid_from: date | None
    valid_to: date | None
    source_url: str
    is_example: bool
    signatories: tuple[str, ...]
    basis: tuple[BasisView, ...]
    problems: tuple[ProblemView, ...]
    commitments: tuple[CommitmentView, ...]
    follow_up_lead: str | None
    follow_ups: tuple[FollowUpView, ...]
    period_stated: str | None = None
    valid_from_precision: str | None = "day"
    valid_to_precision: str | None = "day"
    period_uncertain: bool = False
    also_districts: tuple[str, ...] = ()
    area_stated: str | None = None
    source_date: str | None = None
    more_sources: tuple[str, ...] = ()
    current_url: str | None = None
    excerpt_truncated: bool = False
    caveat: LocalText | None = None

    def status(self, today: date) -> str:
        """ "current", "expired", "upcoming" or "uncertain" on `today`."""
        return promise_status(self, today)

    @property
    def districts(self) -> tuple[str, ...]:
        """Every district the promise covers (none for a whole municipality)."""
        return ((self.district,) if self.district else ()) + self.also_districts

    @property
    def area(self) -> str:
        """The area as people name it: "Gävle", "Göteborg – Angered", or as the source names
        it: "Malmö – Rosengård söder om Amiralsgatan"."""
        part = self.area_stated or self.district
        return f"{self.municipality} – {part}" if part else self.municipality


def fold_name(name: str) -> str:
    """A place name compared ignoring case and diacritics ("Rosengard" is "Rosengård")."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def _text(sv: str, en: str | None) -> LocalText:
    return LocalText(sv=sv, en=en)


def _view(p: Promise) -> PromiseView:
    return PromiseView(
        slug=p.slug,
        municipality_code=p.municipality_code,
        municipality=p.municipality.name,
        district=p.district.name if p.district else None,
        local_police_area=p.local_police_area.name if p.local_police_area else None,
        title=_text(p.title_sv, p.title_en),
        valid_from=p.valid_from,
        valid_to=p.valid_to,
        source_url=p.source_url,
        is_example=bool(p.is_example),
        signatories=tuple(s.name for s in p.signatories),
        basis=tuple(BasisView(b.kind, _text(b.text_sv, b.text_en)) for b in p.basis),
        problems=tuple(
            ProblemView(x.rank, bool(x.is_focus), _text(x.text_sv, x.text_en)) for x in p.problems
        ),
        commitments=tuple(
            CommitmentView(
                owner=c.owner,
                partner=c.partner,
                text=_text(c.text_sv, c.text_en),
                target=_text(c.target_sv, c.target_en) if c.target_sv else None,
            )
            for c in p.commitments
        ),
        follow_up_lead=p.follow_up_lead,
        follow_ups=tuple(
            FollowUpView(r.published_on, _text(r.summary_sv, r.summary_en), r.url)
            for r in p.follow_ups
        ),
        period_stated=p.period_stated,
        valid_from_precision=p.valid_from_precision,
        valid_to_precision=p.valid_to_precision,
        period_uncertain=bool(p.period_uncertain),
        also_districts=tuple(d.district.name for d in p.also_districts),
        area_stated=p.area_stated,
        source_date=p.source_date,
        more_sources=tuple(s.url for s in p.more_sources),
        current_url=p.current_url,
        excerpt_truncated=bool(p.excerpt_truncated),
        caveat=_text(p.caveat_sv, p.caveat_en) if p.caveat_sv else None,
    )


_STATUS_ORDER = {CURRENT: 0, UNCERTAIN: 1, UPCOMING: 2, EXPIRED: 3}


def ordered(views: Iterable[PromiseView], today: date) -> list[PromiseView]:
    """Current first (newest first), then uncertain (newest first), upcoming (soonest first),
    then expired (latest ended first): the order a citizen should hear them in."""

    def key(view: PromiseView) -> tuple[int, int, str]:
        status = view.status(today)
        first = (view.valid_from or view.valid_to or date.min).toordinal()
        if status == UPCOMING:
            day = first
        elif status == EXPIRED:
            day = -(view.valid_to or view.valid_from or date.min).toordinal()
        else:
            day = -first
        return _STATUS_ORDER[status], day, view.slug

    return sorted(views, key=key)


def select_promises(
    views: Iterable[PromiseView],
    municipality_code: str,
    district_names: Collection[str] = (),
    today: date | None = None,
) -> list[PromiseView]:
    """Filter cached views the way :func:`promises_for` does.

    With `district_names` (the district asked about and the larger district it belongs to),
    only whole-municipality promises and promises for one of those districts are kept;
    without, every promise of the municipality is kept (each view names its district).
    """
    wanted = {fold_name(name) for name in district_names}
    chosen = [
        v
        for v in views
        if v.municipality_code == municipality_code
        and (not wanted or not v.districts or any(fold_name(d) in wanted for d in v.districts))
    ]
    return ordered(chosen, today or date.today())


def promises_for(
    session: Session,
    municipality_code: str,
    district: str | None = None,
    today: date | None = None,
) -> list[PromiseView]:
    """Promises that apply in a municipality, or in one district of it, current first.

    A district also matches promises for the larger district it is part of, so a question
    about Hjällbo finds the promise for Angered.
    """
    rows = session.scalars(
        select(Promise).where(Promise.municipality_code == municipality_code)
    ).unique()
    names: set[str] = set()
    if district:
        names.add(district)
        row = next(
            (
                d
                for d in session.scalars(
                    select(District).where(District.municipality_code == municipality_code)
                )
                if fold_name(d.name) == fold_name(district)
            ),
            None,
        )
        if row is not None and row.area:
            names.add(row.area)
    return select_promises([_view(p) for p in rows], municipality_code, names, today)


def all_promises(session: Session) -> list[PromiseView]:
    """Every stored promise as views, by slug: for an in-memory cache built at start."""
    rows = session.scalars(select(Promise).order_by(Promise.slug)).unique()
    return [_view(p) for p in rows]
