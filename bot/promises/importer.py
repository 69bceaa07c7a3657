"""Import, export and list medborgarlöften (YAML, JSON or CSV; schema in docs/promises-import.md).

An import is all-or-nothing: every entry is validated against the schema and the reference
rows first, every problem is reported with the entry and field it concerns, and only a file
without problems is written, in one transaction. Promises are upserted by ``slug`` and
compared with what is stored, so importing the same file again changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.promises.dates import parse_partial, partial_text
from bot.promises.models import (
    BASIS_KINDS,
    OWNERS,
    District,
    LocalPoliceArea,
    Municipality,
    Promise,
    PromiseBasis,
    PromiseCommitment,
    PromiseDistrict,
    PromiseFollowUp,
    PromiseProblem,
    PromiseSignatory,
    PromiseSource,
    promise_status,
)

FORMAT_VERSION = 1
FORMATS = ("yaml", "json", "csv")
LIST_SEPARATOR = " | "

# The flat CSV layout: one row per promise; list cells hold items joined with " | ", and the
# columns of one group (e.g. the commitment_* columns) hold the same number of items.
CSV_COLUMNS = (
    "slug",
    "municipality",
    "district",
    "also_districts",
    "area_stated",
    "local_police_area",
    "title_sv",
    "title_en",
    "period_stated",
    "valid_from",
    "valid_to",
    "period_uncertain",
    "is_example",
    "source_url",
    "more_sources",
    "source_date",
    "current_url",
    "excerpt_truncated",
    "caveat_sv",
    "caveat_en",
    "signatories",
    "basis_kinds",
    "basis_sv",
    "basis_en",
    "problems_sv",
    "problems_en",
    "problem_focus",
    "commitment_owners",
    "commitment_partners",
    "commitments_sv",
    "commitments_en",
    "commitment_targets_sv",
    "commitment_targets_en",
    "followup_lead",
    "followup_dates",
    "followup_summaries_sv",
    "followup_summaries_en",
    "followup_urls",
)
_CSV_REQUIRED = ("slug", "municipality", "title_sv", "period_stated", "source_url")

_FIELDS = (
    "slug",
    "municipality",
    "district",
    "also_districts",
    "area_stated",
    "local_police_area",
    "title",
    "period_stated",
    "valid_from",
    "valid_to",
    "period_uncertain",
    "is_example",
    "source_url",
    "more_sources",
    "source_date",
    "current_url",
    "excerpt_truncated",
    "caveat",
    "signatories",
    "basis",
    "problems",
    "commitments",
    "follow_up",
)
_SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CODE_RE = re.compile(r"^\d{4}$")

Text = dict[str, Any]  # {"sv": str, "en": str | None}
Locate = Callable[[str], str]  # a field path inside one entry -> where to tell the user


class PromiseImportError(ValueError):
    """The file was rejected; ``errors`` lists every problem found, nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class ImportReport:
    """What an import did, by slug."""

    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged"
        )


@dataclass(frozen=True)
class PromiseListing:
    """One line of `promises list`."""

    slug: str
    area: str
    period: str
    status: str


# --------------------------------------------------------------------------- reading files


def import_file(session: Session, path: Path | str) -> ImportReport:
    """Validate and upsert every promise in a .yml/.yaml/.json/.csv file, all or nothing.

    Commits on success. On any problem the session is rolled back and
    :class:`PromiseImportError` lists every error as ``<entry>.<field>: <problem>``.
    """
    path = Path(path)
    entries = _read(path)
    try:
        reference = _Reference.load(session)
        errors: list[str] = []
        promises = _validate_all(entries, reference, errors)
        if errors:
            raise PromiseImportError(errors)
        report = _write(session, promises, reference)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report


def _read(path: Path) -> list[tuple[Any, Locate]]:
    """Parse a file into raw entries, each with how to name its fields in an error."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json", ".yml", ".yaml"):
        raise PromiseImportError([f"{path.name}: unknown format (use .yml, .json or .csv)"])
    text = path.read_text(encoding="utf-8-sig")
    if suffix == ".csv":
        return _read_csv(text)
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise PromiseImportError([f"{path.name}: cannot be parsed: {exc}"]) from None
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"version", "promises"})
        if unknown:
            raise PromiseImportError([f"{key}: unknown top-level field" for key in unknown])
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise PromiseImportError([f"version: only version {FORMAT_VERSION} is supported"])
        data = data.get("promises")
    if not isinstance(data, list):
        raise PromiseImportError(["promises: expected a list of promises"])
    return [(raw, _nested_locator(i)) for i, raw in enumerate(data)]


def _nested_locator(index: int) -> Locate:
    return lambda path: f"promises[{index}]" + (f".{path}" if path else "")


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class _Reference:
    """The reference rows an entry may point at (names matched case-insensitively)."""

    municipalities: dict[str, Municipality]
    districts: dict[tuple[str, str], District]
    areas: dict[str, LocalPoliceArea]

    @classmethod
    def load(cls, session: Session) -> _Reference:
        return cls(
            municipalities={m.code: m for m in session.scalars(select(Municipality))},
            districts={
                (d.municipality_code, d.name.casefold()): d
                for d in session.scalars(select(District))
            },
            areas={a.name.casefold(): a for a in session.scalars(select(LocalPoliceArea))},
        )


class _Checker:
    """Collects errors for one entry, naming each by its field path."""

    def __init__(self, where: Locate, errors: list[str]) -> None:
        self.where = where
        self.errors = errors

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{self.where(path)}: {message}")

    def string(self, value: Any, path: str, required: bool = False) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(path, "required")
            return None
        if not isinstance(value, str):
            self.error(path, "must be a text")
            return None
        return value.strip()

    def text(self, value: Any, path: str, required: bool = False) -> Text | None:
        """A text in Swedish (required) and English (optional): "text" or {sv: .., en: ..}."""
        if value is None or value == "":
            if required:
                self.error(path, "required")
            return None
        if isinstance(value, str):
            return {"sv": value.strip(), "en": None}
        if not isinstance(value, dict):
            self.error(path, "must be a text or a mapping with 'sv' and 'en'")
            return None
        for key in sorted(set(value) - {"sv", "en"}, key=str):
            self.error(f"{path}.{key}", "unknown language (use 'sv' or 'en')")
        sv = self.string(value.get("sv"), f"{path}.sv")
        if sv is None and value.get("sv") in (None, ""):
            self.error(f"{path}.sv", "the Swedish text is required")
        return {"sv": sv, "en": self.string(value.get("en"), f"{path}.en")}

    def day(self, value: Any, path: str, required: bool = False) -> date | None:
        if value is None or value == "":
            if required:
                self.error(path, "required")
            return None
        if isinstance(value, date) and type(value) is date:
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.error(path, f"not a date (use YYYY-MM-DD): {value!r}")
        return None

    def partial(self, value: Any, path: str, end: bool = False) -> str | None:
        """A date as precise as the source: "2027", "2023-07" or "2023-07-01" (canonical)."""
        if value is None or value == "":
            return None
        parsed = parse_partial(value, end)
        if parsed is None:
            self.error(path, f"not a date (use YYYY, YYYY-MM or YYYY-MM-DD): {value!r}")
            return None
        return partial_text(*parsed)

    def flag(self, value: Any, path: str) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.error(path, "must be true or false")
            return False
        return value

    def url(self, value: Any, path: str, required: bool = False) -> str | None:
        text = self.string(value, path, required)
        if text is not None and not _is_url(text):
            self.error(path, f"not an http(s) URL: {text!r}")
        return text

    def items(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, "must be a list")
            return []
        return value

    def mapping(self, value: Any, path: str, fields: Iterable[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.error(path, "must be a mapping")
            return {}
        for key in value:
            if key not in fields:
                self.error(f"{path}.{key}" if path else str(key), "unknown field")
        return value


def _validate_all(
    entries: list[tuple[Any, Locate]], reference: _Reference, errors: list[str]
) -> list[dict[str, Any]]:
    promises: list[dict[str, Any]] = []
    first_index: dict[str, str] = {}
    for raw, where in entries:
        promise = _validate(raw, _Checker(where, errors), reference)
        if promise is None:
            continue
        slug = promise["slug"]
        if slug in first_index:
            errors.append(f"{where('slug')}: duplicate slug {slug!r} (also {first_index[slug]})")
        first_index.setdefault(slug, where(""))
        promises.append(promise)
    return promises


def _validate(raw: Any, check: _Checker, ref: _Reference) -> dict[str, Any] | None:
    """Check one raw entry and return it in canonical form (None if it has errors)."""
    before = len(check.errors)
    entry = check.mapping(raw, "", _FIELDS)
    if not isinstance(raw, dict):
        return None

    slug = check.string(entry.get("slug"), "slug", required=True)
    if slug is not None and not _SLUG_RE.match(slug):
        check.error("slug", f"{slug!r}: use lowercase letters, digits and single hyphens")

    code = entry.get("municipality")
    if isinstance(code, int) and not isinstance(code, bool) and 1000 <= code <= 9999:
        code = str(code)
    if code is None or code == "":
        check.error("municipality", "required")
    elif not isinstance(code, str) or not _CODE_RE.match(code.strip()):
        check.error("municipality", f'{code!r} is not a four-digit code (write it as "0180")')
        code = None
    else:
        code = code.strip()
        if code not in ref.municipalities:
            hint = "" if ref.municipalities else " (no municipalities loaded: load_reference)"
            check.error("municipality", f"unknown municipality code {code!r}{hint}")
            code = None

    district = _district(check, entry.get("district"), "district", code, ref)
    also_districts = [
        _district(check, name, f"also_districts[{i}]", code, ref, required=True)
        for i, name in enumerate(check.items(entry.get("also_districts"), "also_districts"))
    ]
    if also_districts and district is None and entry.get("district") in (None, ""):
        check.error("district", "required when also_districts is given")

    area = check.string(entry.get("local_police_area"), "local_police_area")
    if area is not None:
        found_area = ref.areas.get(area.casefold())
        if found_area is None:
            check.error("local_police_area", f"unknown local police area {area!r}")
        else:
            area = found_area.name

    title = check.text(entry.get("title"), "title", required=True)
    period_stated = check.string(entry.get("period_stated"), "period_stated", required=True)
    valid_from = check.partial(entry.get("valid_from"), "valid_from")
    valid_to = check.partial(entry.get("valid_to"), "valid_to", end=True)
    if valid_from and valid_to:
        first, last = parse_partial(valid_from), parse_partial(valid_to, end=True)
        if first and last and last[0] < first[0]:
            check.error("valid_to", f"{valid_to} is before valid_from {valid_from}")

    is_example = check.flag(entry.get("is_example"), "is_example")
    source_url = check.url(entry.get("source_url"), "source_url", required=True)
    more_sources = [
        check.url(url, f"more_sources[{i}]", required=True)
        for i, url in enumerate(check.items(entry.get("more_sources"), "more_sources"))
    ]
    current_url = check.url(entry.get("current_url"), "current_url")

    signatories = [
        check.string(s, f"signatories[{i}]", required=True)
        for i, s in enumerate(check.items(entry.get("signatories"), "signatories"))
    ]

    basis = []
    for i, item in enumerate(check.items(entry.get("basis"), "basis")):
        path = f"basis[{i}]"
        item = check.mapping(item, path, ("kind", "text"))
        kind = item.get("kind")
        if kind is None:
            check.error(f"{path}.kind", "required")
        elif kind not in BASIS_KINDS:
            check.error(f"{path}.kind", f"unknown kind {kind!r} (use {', '.join(BASIS_KINDS)})")
        basis.append({"kind": kind, "text": check.text(item.get("text"), f"{path}.text", True)})

    problems = []
    for i, item in enumerate(check.items(entry.get("problems"), "problems")):
        path = f"problems[{i}]"
        item = check.mapping(item, path, ("text", "focus"))
        focus = item.get("focus", False)
        if not isinstance(focus, bool):
            check.error(f"{path}.focus", "must be true or false")
        problems.append(
            {"text": check.text(item.get("text"), f"{path}.text", True), "focus": focus}
        )

    commitments = []
    for i, item in enumerate(check.items(entry.get("commitments"), "commitments")):
        path = f"commitments[{i}]"
        item = check.mapping(item, path, ("owner", "partner", "text", "target"))
        owner = item.get("owner")
        if owner is None:
            check.error(f"{path}.owner", "required")
        elif owner not in OWNERS:
            check.error(f"{path}.owner", f"unknown owner {owner!r} (use {', '.join(OWNERS)})")
        partner = check.string(item.get("partner"), f"{path}.partner")
        if owner == "partner" and partner is None:
            check.error(f"{path}.partner", "required when the owner is 'partner'")
        if owner in OWNERS and owner != "partner" and partner is not None:
            check.error(f"{path}.partner", "only allowed when the owner is 'partner'")
        commitments.append(
            {
                "owner": owner,
                "partner": partner,
                "text": check.text(item.get("text"), f"{path}.text", required=True),
                "target": check.text(item.get("target"), f"{path}.target"),
            }
        )

    follow_up = entry.get("follow_up") or {}
    follow_up = check.mapping(follow_up, "follow_up", ("lead", "reports"))
    reports = []
    for i, item in enumerate(check.items(follow_up.get("reports"), "follow_up.reports")):
        path = f"follow_up.reports[{i}]"
        item = check.mapping(item, path, ("published_on", "summary", "url"))
        url = check.string(item.get("url"), f"{path}.url")
        if url is not None and not _is_url(url):
            check.error(f"{path}.url", f"not an http(s) URL: {url!r}")
        reports.append(
            {
                "published_on": check.day(item.get("published_on"), f"{path}.published_on"),
                "summary": check.text(item.get("summary"), f"{path}.summary", required=True),
                "url": url,
            }
        )

    result = {
        "slug": slug,
        "municipality": code,
        "district": district,
        "local_police_area": area,
        "also_districts": also_districts,
        "area_stated": check.string(entry.get("area_stated"), "area_stated"),
        "title": title,
        "period_stated": period_stated,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "period_uncertain": check.flag(entry.get("period_uncertain"), "period_uncertain"),
        "is_example": is_example,
        "source_url": source_url,
        "more_sources": more_sources,
        "source_date": check.partial(entry.get("source_date"), "source_date"),
        "current_url": current_url,
        "excerpt_truncated": check.flag(entry.get("excerpt_truncated"), "excerpt_truncated"),
        "caveat": check.text(entry.get("caveat"), "caveat"),
        "signatories": signatories,
        "basis": basis,
        "problems": problems,
        "commitments": commitments,
        "follow_up": {
            "lead": check.string(follow_up.get("lead"), "follow_up.lead"),
            "reports": reports,
        },
    }
    return None if len(check.errors) > before else result


def _district(
    check: _Checker, value: Any, path: str, code: str | None, ref: _Reference,
    required: bool = False,
) -> str | None:
    """A district of the municipality, as spelled in the place data (matched ignoring case)."""
    name = check.string(value, path, required)
    if name is None or code is None:
        return name
    found = ref.districts.get((code, name.casefold()))
    if found is None:
        check.error(path, f"{name!r} is not a known district of {code}")
        return name
    return found.name


def _is_url(value: str) -> bool:
    parsed = urlparse(value)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


# --------------------------------------------------------------------------- writing


def _write(session: Session, promises: list[dict[str, Any]], ref: _Reference) -> ImportReport:
    slugs = [p["slug"] for p in promises]
    existing = {p.slug: p for p in session.scalars(select(Promise).where(Promise.slug.in_(slugs)))}
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for data in promises:
        promise = existing.get(data["slug"])
        if promise is None:
            promise = Promise(slug=data["slug"])
            session.add(promise)
            created.append(data["slug"])
        elif _to_dict(promise) == data:
            unchanged.append(data["slug"])
            continue
        else:
            updated.append(data["slug"])
            # Children are replaced; deleting the old ones first keeps the (promise, position)
            # unique constraints satisfied within the flush.
            for collection in (
                promise.basis,
                promise.problems,
                promise.commitments,
                promise.signatories,
                promise.follow_ups,
                promise.more_sources,
                promise.also_districts,
            ):
                collection.clear()
            session.flush()
        _apply(promise, data, ref)
    session.flush()
    return ImportReport(tuple(created), tuple(updated), tuple(unchanged))


def _apply(promise: Promise, data: dict[str, Any], ref: _Reference) -> None:
    district = data["district"]
    area = data["local_police_area"]
    # Set the relationships, not only the keys, so loaded objects never show stale places.
    promise.municipality = ref.municipalities[data["municipality"]]
    promise.district = (
        ref.districts[(data["municipality"], district.casefold())] if district else None
    )
    promise.local_police_area = ref.areas[area.casefold()] if area else None
    promise.title_sv, promise.title_en = data["title"]["sv"], data["title"]["en"]
    promise.period_stated = data["period_stated"]
    start = parse_partial(data["valid_from"]) if data["valid_from"] else None
    end = parse_partial(data["valid_to"], end=True) if data["valid_to"] else None
    promise.valid_from, promise.valid_from_precision = start or (None, None)
    promise.valid_to, promise.valid_to_precision = end or (None, None)
    promise.period_uncertain = data["period_uncertain"]
    promise.area_stated = data["area_stated"]
    promise.is_example = data["is_example"]
    promise.source_url = data["source_url"]
    promise.source_date = data["source_date"]
    promise.current_url = data["current_url"]
    promise.excerpt_truncated = data["excerpt_truncated"]
    caveat = data["caveat"] or {"sv": None, "en": None}
    promise.caveat_sv, promise.caveat_en = caveat["sv"], caveat["en"]
    promise.follow_up_lead = data["follow_up"]["lead"]
    promise.more_sources = [
        PromiseSource(position=i, url=url) for i, url in enumerate(data["more_sources"], 1)
    ]
    promise.also_districts = [
        PromiseDistrict(position=i, district=ref.districts[(data["municipality"], name.casefold())])
        for i, name in enumerate(data["also_districts"], 1)
    ]
    promise.signatories = [
        PromiseSignatory(position=i, name=name) for i, name in enumerate(data["signatories"], 1)
    ]
    promise.basis = [
        PromiseBasis(position=i, kind=b["kind"], text_sv=b["text"]["sv"], text_en=b["text"]["en"])
        for i, b in enumerate(data["basis"], 1)
    ]
    promise.problems = [
        PromiseProblem(
            rank=i, is_focus=p["focus"], text_sv=p["text"]["sv"], text_en=p["text"]["en"]
        )
        for i, p in enumerate(data["problems"], 1)
    ]
    promise.commitments = [
        PromiseCommitment(
            position=i,
            owner=c["owner"],
            partner=c["partner"],
            text_sv=c["text"]["sv"],
            text_en=c["text"]["en"],
            target_sv=c["target"]["sv"] if c["target"] else None,
            target_en=c["target"]["en"] if c["target"] else None,
        )
        for i, c in enumerate(data["commitments"], 1)
    ]
    promise.follow_ups = [
        PromiseFollowUp(
            position=i,
            published_on=r["published_on"],
            summary_sv=r["summary"]["sv"],
            summary_en=r["summary"]["en"],
            url=r["url"],
        )
        for i, r in enumerate(data["follow_up"]["reports"], 1)
    ]


def _text(sv: str | None, en: str | None) -> Text | None:
    return None if sv is None else {"sv": sv, "en": en}


def _partial(value: date | None, precision: str | None) -> str | None:
    return None if value is None else partial_text(value, precision)


def _to_dict(promise: Promise) -> dict[str, Any]:
    """A stored promise in the canonical form validation produces (used to compare/export)."""
    return {
        "slug": promise.slug,
        "municipality": promise.municipality_code,
        "district": promise.district.name if promise.district else None,
        "local_police_area": promise.local_police_area.name if promise.local_police_area else None,
        "also_districts": [d.district.name for d in promise.also_districts],
        "area_stated": promise.area_stated,
        "title": _text(promise.title_sv, promise.title_en),
        "period_stated": promise.period_stated,
        "valid_from": _partial(promise.valid_from, promise.valid_from_precision),
        "valid_to": _partial(promise.valid_to, promise.valid_to_precision),
        "period_uncertain": bool(promise.period_uncertain),
        "is_example": bool(promise.is_example),
        "source_url": promise.source_url,
        "more_sources": [s.url for s in promise.more_sources],
        "source_date": promise.source_date,
        "current_url": promise.current_url,
        "excerpt_truncated": bool(promise.excerpt_truncated),
        "caveat": _text(promise.caveat_sv, promise.caveat_en),
        "signatories": [s.name for s in promise.signatories],
        "basis": [{"kind": b.kind, "text": _text(b.text_sv, b.text_en)} for b in promise.basis],
        "problems": [
            {"text": _text(p.text_sv, p.text_en), "focus": bool(p.is_focus)}
            for p in promise.problems
        ],
        "commitments": [
            {
                "owner": c.owner,
                "partner": c.partner,
                "text": _text(c.text_sv, c.text_en),
                "target": _text(c.target_sv, c.target_en),
            }
            for c in promise.commitments
        ],
        "follow_up": {
            "lead": promise.follow_up_lead,
            "reports": [
                {
                    "published_on": r.published_on,
                    "summary": _text(r.summary_sv, r.summary_en),
                    "url": r.url,
                }
                for r in promise.follow_ups
            ],
        },
    }


# --------------------------------------------------------------------------- export and list


def _all(session: Session) -> list[Promise]:
    return list(session.scalars(select(Promise).order_by(Promise.slug)).unique())


_FLAGS = ("focus", "period_uncertain", "excerpt_truncated")


def _compact(value: Any) -> Any:
    """Drop empty values (None, [], {}, focus: false) so exported files stay short."""
    if isinstance(value, dict):
        pairs = ((k, _compact(v)) for k, v in value.items())
        return {
            k: v for k, v in pairs if v not in (None, [], {}) and not (k in _FLAGS and v is False)
        }
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def export(session: Session, fmt: str = "yaml") -> str:
    """Every stored promise as a file in `fmt` (yaml, json or csv) that import_file accepts."""
    promises = [_to_dict(p) for p in _all(session)]
    if fmt == "csv":
        return _to_csv(promises)
    document = {"version": FORMAT_VERSION, "promises": [_compact(p) for p in promises]}
    if fmt == "yaml":
        return yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False, indent=2, default=_json_default) + "\n"
    raise ValueError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")


class _Dumper(yaml.SafeDumper):
    """Quotes digit-only strings, so a YAML 1.2 reader keeps "0484" a code, not 484."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = '"' if value.isdigit() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _json_default(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def area_label(municipality: str, district: str | None) -> str:
    """How an area is named to people: "Gävle", "Göteborg – Angered", "Halmstad – Stadskärnan"."""
    return f"{municipality} – {district}" if district else municipality


def period_label(promise: Promise) -> str:
    """The derived period as precisely as stated ("2023-07 – 2027", "– 2025-12-31"), or the
    period in the source's words when it gives no dates."""
    start = _partial(promise.valid_from, promise.valid_from_precision)
    end = _partial(promise.valid_to, promise.valid_to_precision)
    if start is None and end is None:
        return promise.period_stated or ""
    return f"{start or ''} – {end or ''}".strip()


def list_promises(session: Session, today: date) -> list[PromiseListing]:
    """Slug, area, period and status on `today` of every stored promise, by area and start."""
    rows = sorted(
        _all(session),
        key=lambda p: (
            p.municipality.name, p.district.name if p.district else "", p.valid_from or date.min
        ),
    )
    return [
        PromiseListing(
            slug=p.slug,
            area=area_label(
                p.municipality.name, p.area_stated or (p.district.name if p.district else None)
            ),
            period=period_label(p),
            status=promise_status(p, today),
        )
        for p in rows
    ]


# --------------------------------------------------------------------------- CSV

# Groups of parallel list columns: the first column decides how many items there are.
_CSV_GROUPS = {
    "basis": ("basis_sv", "basis_en", "basis_kinds"),
    "problems": ("problems_sv", "problems_en"),
    "commitments": (
        "commitments_sv",
        "commitments_en",
        "commitment_owners",
        "commitment_partners",
        "commitment_targets_sv",
        "commitment_targets_en",
    ),
    "reports": (
        "followup_summaries_sv",
        "followup_summaries_en",
        "followup_dates",
        "followup_urls",
    ),
}

# Nested field path -> CSV column, for naming the column in an error.
_CSV_PATHS = (
    (r"title(\.sv)?", "title_sv"),
    (r"title\.en", "title_en"),
    (r"signatories\[(\d+)\]", "signatories"),
    (r"also_districts\[(\d+)\]", "also_districts"),
    (r"more_sources\[(\d+)\]", "more_sources"),
    (r"caveat(\.sv)?", "caveat_sv"),
    (r"caveat\.en", "caveat_en"),
    (r"basis\[(\d+)\]\.kind", "basis_kinds"),
    (r"basis\[(\d+)\]\.text(\.sv)?", "basis_sv"),
    (r"basis\[(\d+)\]\.text\.en", "basis_en"),
    (r"problems\[(\d+)\]\.text(\.sv)?", "problems_sv"),
    (r"problems\[(\d+)\]\.text\.en", "problems_en"),
    (r"problems(\[\d+\]\.focus)?", "problem_focus"),
    (r"commitments\[(\d+)\]\.owner", "commitment_owners"),
    (r"commitments\[(\d+)\]\.partner", "commitment_partners"),
    (r"commitments\[(\d+)\]\.text(\.sv)?", "commitments_sv"),
    (r"commitments\[(\d+)\]\.text\.en", "commitments_en"),
    (r"commitments\[(\d+)\]\.target(\.sv)?", "commitment_targets_sv"),
    (r"commitments\[(\d+)\]\.target\.en", "commitment_targets_en"),
    (r"follow_up\.lead", "followup_lead"),
    (r"follow_up\.reports\[(\d+)\]\.published_on", "followup_dates"),
    (r"follow_up\.reports\[(\d+)\]\.summary(\.sv)?", "followup_summaries_sv"),
    (r"follow_up\.reports\[(\d+)\]\.summary\.en", "followup_summaries_en"),
    (r"follow_up\.reports\[(\d+)\]\.url", "followup_urls"),
)


def _csv_locator(line: int) -> Locate:
    def where(path: str) -> str:
        for pattern, column in _CSV_PATHS:
            match = re.fullmatch(pattern, path)
            if match:
                item = match.group(1) if match.groups() else None
                if item and item.isdigit():
                    return f"line {line}, column {column} item {int(item) + 1}"
                return f"line {line}, column {column}"
        return f"line {line}, column {path}" if path else f"line {line}"

    return where


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split("|")] if cell.strip() else []


def _read_csv(text: str) -> list[tuple[Any, Locate]]:
    """Turn flat CSV rows into nested entries; column-level problems are reported here."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    errors = [f"line 1, column {c}: unknown column" for c in header if c not in CSV_COLUMNS]
    errors += [f"line 1, column {c}: missing column" for c in _CSV_REQUIRED if c not in header]
    if errors:
        raise PromiseImportError(errors)
    entries: list[tuple[Any, Locate]] = []
    line = reader.line_num + 1
    for row in reader:
        where = _csv_locator(line)
        entries.append((_csv_entry(row, where, errors), where))
        line = reader.line_num + 1
    if errors:
        raise PromiseImportError(errors)
    return entries


def _csv_entry(row: dict[str, Any], where: Locate, errors: list[str]) -> dict[str, Any]:
    cell = {c: (row.get(c) or "").strip() for c in CSV_COLUMNS}
    lists: dict[str, list[str | None]] = {}
    for group, columns in _CSV_GROUPS.items():
        size = len(_split(cell[columns[0]]))
        for column in columns:
            items = _split(cell[column])
            if not cell[column]:
                lists[column] = [None] * size
            elif len(items) != size:
                errors.append(
                    f"{where(column)}: {len(items)} items, but {columns[0]} has {size} "
                    f"(one per {group} item, separated by '|')"
                )
                lists[column] = [None] * size
            else:
                lists[column] = [item or None for item in items]

    def text(sv: str | None, en: str | None) -> Text | None:
        return {"sv": sv, "en": en} if sv or en else None

    problems_count = len(lists["problems_sv"])
    focus_ranks = set()
    for focus in _split(cell["problem_focus"]):
        if not focus.isdigit() or not 1 <= int(focus) <= problems_count:
            errors.append(f"{where('problems')}: {focus!r} is not the number of a problem")
        else:
            focus_ranks.add(int(focus))
    code = cell["municipality"]
    booleans = {"": False, "false": False, "no": False, "0": False, "true": True, "yes": True}
    follow_up: dict[str, Any] = {
        "lead": cell["followup_lead"] or None,
        "reports": [
            {
                "published_on": lists["followup_dates"][i],
                "summary": text(sv, lists["followup_summaries_en"][i]),
                "url": lists["followup_urls"][i],
            }
            for i, sv in enumerate(lists["followup_summaries_sv"])
        ],
    }
    def boolean(column: str) -> Any:
        value = cell[column].lower()
        return booleans.get(value, value)

    return {
        "slug": cell["slug"],
        # Spreadsheets drop leading zeros ("980" for Gotland's 0980).
        "municipality": code.zfill(4) if code.isdigit() and len(code) == 3 else code,
        "district": cell["district"] or None,
        "also_districts": _split(cell["also_districts"]),
        "area_stated": cell["area_stated"] or None,
        "local_police_area": cell["local_police_area"] or None,
        "title": text(cell["title_sv"] or None, cell["title_en"] or None),
        "period_stated": cell["period_stated"] or None,
        "valid_from": cell["valid_from"] or None,
        "valid_to": cell["valid_to"] or None,
        "period_uncertain": boolean("period_uncertain"),
        "is_example": boolean("is_example"),
        "source_url": cell["source_url"],
        "more_sources": _split(cell["more_sources"]),
        "source_date": cell["source_date"] or None,
        "current_url": cell["current_url"] or None,
        "excerpt_truncated": boolean("excerpt_truncated"),
        "caveat": text(cell["caveat_sv"] or None, cell["caveat_en"] or None),
        "signatories": _split(cell["signatories"]),
        "basis": [
            {"kind": kind, "text": text(sv, en)}
            for kind, sv, en in zip(
                lists["basis_kinds"], lists["basis_sv"], lists["basis_en"], strict=True
            )
        ],
        "problems": [
            {"text": text(sv, en), "focus": i in focus_ranks}
            for i, (sv, en) in enumerate(
                zip(lists["problems_sv"], lists["problems_en"], strict=True), 1
            )
        ],
        "commitments": [
            {
                "owner": owner,
                "partner": partner,
                "text": text(sv, en),
                "target": text(target_sv, target_en),
            }
            for owner, partner, sv, en, target_sv, target_en in zip(
                lists["commitment_owners"],
                lists["commitment_partners"],
                lists["commitments_sv"],
                lists["commitments_en"],
                lists["commitment_targets_sv"],
                lists["commitment_targets_en"],
                strict=True,
            )
        ],
        "follow_up": follow_up,
    }


def _to_csv(promises: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for p in promises:
        writer.writerow(_csv_row(p))
    return out.getvalue()


def _csv_row(p: dict[str, Any]) -> dict[str, str]:
    def joined(column: str, values: list[Any]) -> str:
        texts = ["" if v is None else str(v) for v in values]
        for value in texts:
            if "|" in value:
                raise ValueError(f"{p['slug']}: {column}: '|' cannot be written to CSV: {value!r}")
        return LIST_SEPARATOR.join(texts).strip() if any(texts) else ""

    def lang(texts: list[Text | None], language: str) -> list[Any]:
        return [t[language] if t else None for t in texts]

    commitments, reports = p["commitments"], p["follow_up"]["reports"]
    focus = [i for i, problem in enumerate(p["problems"], 1) if problem["focus"]]
    row = {
        "slug": p["slug"],
        "municipality": p["municipality"],
        "district": p["district"] or "",
        "also_districts": joined("also_districts", p["also_districts"]),
        "area_stated": p["area_stated"] or "",
        "local_police_area": p["local_police_area"] or "",
        "title_sv": p["title"]["sv"],
        "title_en": p["title"]["en"] or "",
        "period_stated": p["period_stated"] or "",
        "valid_from": p["valid_from"] or "",
        "valid_to": p["valid_to"] or "",
        "period_uncertain": "true" if p["period_uncertain"] else "false",
        "is_example": "true" if p["is_example"] else "false",
        "source_url": p["source_url"],
        "more_sources": joined("more_sources", p["more_sources"]),
        "source_date": p["source_date"] or "",
        "current_url": p["current_url"] or "",
        "excerpt_truncated": "true" if p["excerpt_truncated"] else "false",
        "caveat_sv": p["caveat"]["sv"] if p["caveat"] else "",
        "caveat_en": (p["caveat"]["en"] or "") if p["caveat"] else "",
        "signatories": joined("signatories", p["signatories"]),
        "basis_kinds": joined("basis_kinds", [b["kind"] for b in p["basis"]]),
        "problem_focus": joined("problem_focus", focus),
        "commitment_owners": joined("commitment_owners", [c["owner"] for c in commitments]),
        "commitment_partners": joined("commitment_partners", [c["partner"] for c in commitments]),
        "followup_lead": p["follow_up"]["lead"] or "",
        "followup_dates": joined("followup_dates", [r["published_on"] for r in reports]),
        "followup_urls": joined("followup_urls", [r["url"] for r in reports]),
    }
    for language in ("sv", "en"):
        for column, texts in (
            ("basis", [b["text"] for b in p["basis"]]),
            ("problems", [x["text"] for x in p["problems"]]),
            ("commitments", [c["text"] for c in commitments]),
            ("commitment_targets", [c["target"] for c in commitments]),
            ("followup_summaries", [r["summary"] for r in reports]),
        ):
            name = f"{column}_{language}"
            row[name] = joined(name, lang(texts, language))
    return row
