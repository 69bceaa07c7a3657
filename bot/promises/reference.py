"""Load the place reference rows (regions, municipalities, districts, local police areas).

They come from the project's own ``data/places/*.csv`` (the files :mod:`bot.places` reads)
and the local police areas that promise sources name (``data/promises/local_police_areas.csv``,
same columns), not from a migration, so a corrected CSV reaches every database by running the
load again. Loading is an upsert by natural key: running it twice changes nothing, and rows that
promises point at are never deleted.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.promises.models import (
    District,
    LocalPoliceArea,
    LocalPoliceAreaMunicipality,
    Municipality,
    PoliceRegion,
)
from bot.settings import PROJECT_ROOT

PLACES_DIR = PROJECT_ROOT / "data" / "places"


@dataclass(frozen=True)
class ReferenceCounts:
    """Rows added or changed by one load, per table (all zero on a re-run)."""

    police_regions: int = 0
    municipalities: int = 0
    districts: int = 0
    local_police_areas: int = 0
    coverage: int = 0


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def _set(obj: object, values: dict[str, object]) -> bool:
    """Assign only what differs, so an unchanged row stays clean; True if anything changed."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def load_reference(session: Session, data_dir: Path = PLACES_DIR) -> ReferenceCounts:
    """Upsert the rows of ``data_dir`` (the ``data/places`` directory) and commit.

    Local police areas are scoped to a district only when their row says ``covers=area``
    (Angered in Göteborg); ``covers=municipality`` rows cover the whole municipality even if
    they name a locality (Visby on Gotland).
    """
    data_dir = Path(data_dir)
    municipality_rows = _read_csv(data_dir / "municipalities.csv")
    district_rows = _read_csv(data_dir / "districts.csv")
    lpo_rows = _read_csv(data_dir / "local_police_areas.csv")
    named_by_promises = data_dir.parent / "promises" / "local_police_areas.csv"
    if named_by_promises.exists():
        lpo_rows += _read_csv(named_by_promises)
    try:
        counts = _load(session, municipality_rows, district_rows, lpo_rows)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return counts


def _load(
    session: Session,
    municipality_rows: list[dict[str, str]],
    district_rows: list[dict[str, str]],
    lpo_rows: list[dict[str, str]],
) -> ReferenceCounts:
    regions = {r.name: r for r in session.scalars(select(PoliceRegion))}
    region_names = {row["police_region"] for row in municipality_rows + lpo_rows}
    new_regions = 0
    for name in sorted(region_names - set(regions)):
        regions[name] = PoliceRegion(name=name)
        session.add(regions[name])
        new_regions += 1
    session.flush()

    municipalities = {m.code: m for m in session.scalars(select(Municipality))}
    changed_munis = 0
    for row in municipality_rows:
        values: dict[str, object] = {
            "name": row["name"],
            "full_name": row["full_name"],
            "county_code": row["county_code"],
            "county": row["county"],
            "police_region": row["police_region"],
            "english_name": row.get("english_name") or None,
        }
        muni = municipalities.get(row["code"])
        if muni is None:
            muni = municipalities[row["code"]] = Municipality(code=row["code"])
            session.add(muni)
        changed_munis += _set(muni, values)
    session.flush()

    districts = {(d.municipality_code, d.name): d for d in session.scalars(select(District))}
    changed_districts = 0
    for row in district_rows:
        key = (row["municipality_code"], row["district"])
        district = districts.get(key)
        is_new = district is None
        if district is None:
            district = districts[key] = District(municipality_code=key[0], name=key[1])
            session.add(district)
        changed_districts += _set(district, {"area": row["area"] or None}) or is_new
    session.flush()

    areas = {a.name: a for a in session.scalars(select(LocalPoliceArea))}
    changed_areas = 0
    for row in lpo_rows:
        area = areas.get(row["local_police_area"])
        if area is None:
            area = areas[row["local_police_area"]] = LocalPoliceArea(name=row["local_police_area"])
            session.add(area)
        changed_areas += _set(area, {"police_region": row["police_region"]})
    session.flush()

    links = {
        (link.local_police_area_id, link.municipality_code, link.district_id): link
        for link in session.scalars(select(LocalPoliceAreaMunicipality))
    }
    changed_links = 0
    for row in lpo_rows:
        district_id = None
        if row["covers"] == "area":
            district = districts.get((row["municipality_code"], row["area"]))
            if district is None:
                raise ValueError(
                    f"local_police_areas.csv: area {row['area']!r} is not a district of "
                    f"{row['municipality_code']} in districts.csv"
                )
            district_id = district.id
        link_key = (areas[row["local_police_area"]].id, row["municipality_code"], district_id)
        link = links.get(link_key)
        is_new = link is None
        if link is None:
            link = links[link_key] = LocalPoliceAreaMunicipality(
                local_police_area_id=link_key[0],
                municipality_code=link_key[1],
                district_id=link_key[2],
            )
            session.add(link)
        changed_links += _set(link, {"source_url": row["source_url"] or None}) or is_new
    session.flush()

    return ReferenceCounts(
        police_regions=new_regions,
        municipalities=changed_munis,
        districts=changed_districts,
        local_police_areas=changed_areas,
        coverage=changed_links,
    )
