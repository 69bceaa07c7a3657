"""Build the project's own place data (``data/places/``) from the shared reference lists.

The product must not read the shared reference folder at run time, so this script copies
the facts it needs into small, committed CSV files in the project's own format. Running it
twice on the same input gives byte-identical output.

Usage: ``python -m bot.places_build /path/to/shared/data data/places``
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

STOCKHOLM_SOURCE = "KTHHealthData/stockholm-stadsdelar (CC0)"
HAND_MADE = "hand-made"

# Municipalities whose territory holds several local police areas (SOURCES.md): a pilot row
# with an `area` then covers only that area, not the whole municipality.
MULTI_LPO_MUNICIPALITIES = frozenset({"0180", "1280", "1480"})

# English exonyms, only where the English name differs from the Swedish one beyond diacritics.
ENGLISH_NAMES = {"1480": "Gothenburg"}

# Hand-made district aliases: (district, municipality code, larger area it belongs to or "").
# Stockholm: the city district administrations (stadsdelsområden) and common short names that
# are not in the reference list. Göteborg: areas grouped by the 2011-2020 district committees.
# Malmö: the ten former city districts and well-known neighbourhoods inside them.
HAND_MADE_DISTRICTS: tuple[tuple[str, str, str], ...] = (
    ("Bromma", "0180", ""),
    ("Enskede", "0180", ""),
    ("Enskede-Årsta-Vantör", "0180", ""),
    ("Hägersten-Älvsjö", "0180", ""),
    ("Hägersten-Liljeholmen", "0180", ""),
    ("Hässelby", "0180", ""),
    ("Hässelby-Vällingby", "0180", ""),
    ("Järva", "0180", ""),
    ("Rinkeby-Kista", "0180", ""),
    ("Skarpnäck", "0180", ""),
    ("Spånga", "0180", ""),
    ("Spånga-Tensta", "0180", ""),
    ("Vantör", "0180", ""),
    ("Angered", "1480", "Angered"),
    ("Hjällbo", "1480", "Angered"),
    ("Hammarkullen", "1480", "Angered"),
    ("Gårdsten", "1480", "Angered"),
    ("Lövgärdet", "1480", "Angered"),
    ("Rannebergen", "1480", "Angered"),
    ("Eriksbo", "1480", "Angered"),
    ("Agnesberg", "1480", "Angered"),
    ("Gunnared", "1480", "Angered"),
    ("Lärjedalen", "1480", "Angered"),
    ("Östra Göteborg", "1480", "Östra Göteborg"),
    ("Bergsjön", "1480", "Östra Göteborg"),
    ("Kortedala", "1480", "Östra Göteborg"),
    ("Gamlestaden", "1480", "Östra Göteborg"),
    ("Kviberg", "1480", "Östra Göteborg"),
    ("Centrum", "1480", "Centrum"),
    ("Inom Vallgraven", "1480", "Centrum"),
    ("Haga", "1480", "Centrum"),
    ("Vasastaden", "1480", "Centrum"),
    ("Johanneberg", "1480", "Centrum"),
    ("Lorensberg", "1480", "Centrum"),
    ("Heden", "1480", "Centrum"),
    ("Majorna-Linné", "1480", "Majorna-Linné"),
    ("Majorna", "1480", "Majorna-Linné"),
    ("Linnéstaden", "1480", "Majorna-Linné"),
    ("Kungsladugård", "1480", "Majorna-Linné"),
    ("Masthugget", "1480", "Majorna-Linné"),
    ("Sandarna", "1480", "Majorna-Linné"),
    ("Askim-Frölunda-Högsbo", "1480", "Askim-Frölunda-Högsbo"),
    ("Frölunda", "1480", "Askim-Frölunda-Högsbo"),
    ("Västra Frölunda", "1480", "Askim-Frölunda-Högsbo"),
    ("Askim", "1480", "Askim-Frölunda-Högsbo"),
    ("Högsbo", "1480", "Askim-Frölunda-Högsbo"),
    ("Järnbrott", "1480", "Askim-Frölunda-Högsbo"),
    ("Västra Göteborg", "1480", "Västra Göteborg"),
    ("Tynnered", "1480", "Västra Göteborg"),
    ("Styrsö", "1480", "Västra Göteborg"),
    ("Västra Hisingen", "1480", "Västra Hisingen"),
    ("Biskopsgården", "1480", "Västra Hisingen"),
    ("Torslanda", "1480", "Västra Hisingen"),
    ("Länsmansgården", "1480", "Västra Hisingen"),
    ("Lundby", "1480", "Lundby"),
    ("Eriksberg", "1480", "Lundby"),
    ("Lindholmen", "1480", "Lundby"),
    ("Sannegården", "1480", "Lundby"),
    ("Kyrkbyn", "1480", "Lundby"),
    ("Kvillebäcken", "1480", "Lundby"),
    ("Brämaregården", "1480", "Lundby"),
    ("Norra Hisingen", "1480", "Norra Hisingen"),
    ("Backa", "1480", "Norra Hisingen"),
    ("Tuve", "1480", "Norra Hisingen"),
    ("Säve", "1480", "Norra Hisingen"),
    ("Kärra", "1480", "Norra Hisingen"),
    ("Örgryte-Härlanda", "1480", "Örgryte-Härlanda"),
    ("Örgryte", "1480", "Örgryte-Härlanda"),
    ("Härlanda", "1480", "Örgryte-Härlanda"),
    ("Kålltorp", "1480", "Örgryte-Härlanda"),
    ("Bagaregården", "1480", "Örgryte-Härlanda"),
    ("Hisingen", "1480", ""),
    ("Centrum", "1280", "Centrum"),
    ("Västra Hamnen", "1280", "Centrum"),
    ("Gamla staden", "1280", "Centrum"),
    ("Södra Innerstaden", "1280", "Södra Innerstaden"),
    ("Möllevången", "1280", "Södra Innerstaden"),
    ("Rådmansvången", "1280", "Södra Innerstaden"),
    ("Sofielund", "1280", "Södra Innerstaden"),
    ("Seved", "1280", "Södra Innerstaden"),
    ("Västra Innerstaden", "1280", "Västra Innerstaden"),
    ("Ribersborg", "1280", "Västra Innerstaden"),
    ("Slottsstaden", "1280", "Västra Innerstaden"),
    ("Limhamn-Bunkeflo", "1280", "Limhamn-Bunkeflo"),
    ("Limhamn", "1280", "Limhamn-Bunkeflo"),
    ("Bunkeflostrand", "1280", "Limhamn-Bunkeflo"),
    ("Hyllie", "1280", "Hyllie"),
    ("Holma", "1280", "Hyllie"),
    ("Kroksbäck", "1280", "Hyllie"),
    ("Fosie", "1280", "Fosie"),
    ("Lindängen", "1280", "Fosie"),
    ("Nydala", "1280", "Fosie"),
    ("Hermodsdal", "1280", "Fosie"),
    ("Augustenborg", "1280", "Fosie"),
    ("Oxie", "1280", "Oxie"),
    ("Rosengård", "1280", "Rosengård"),
    ("Herrgården", "1280", "Rosengård"),
    ("Törnrosen", "1280", "Rosengård"),
    ("Örtagården", "1280", "Rosengård"),
    ("Husie", "1280", "Husie"),
    ("Kirseberg", "1280", "Kirseberg"),
)


def _read(path: Path) -> list[dict[str, str]]:
    """Read a reference CSV with stripped cells, so stray spaces never reach our data."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(fh)
        return [{k.strip(): (v or "").strip() for k, v in row.items()} for row in rows]


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    """Write UTF-8 CSV with LF line endings (deterministic, diff-friendly); return row count."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count


def _sort_key(text: str) -> str:
    """Sort Swedish names stably regardless of locale settings."""
    return text.casefold()


def build(src: Path, out: Path) -> dict[str, int]:
    """Regenerate every file in ``out`` from the reference lists in ``src``; return row counts."""
    out.mkdir(parents=True, exist_ok=True)
    kommuner = _read(src / "kommuner.csv")
    codes = {r["kommunkod"] for r in kommuner}
    if len(codes) != len(kommuner) or any(len(c) != 4 or not c.isdigit() for c in codes):
        raise ValueError("kommuner.csv: municipality codes must be unique 4-digit strings")
    region_of = {r["kommunkod"]: r["polisregion"] for r in kommuner}
    counts: dict[str, int] = {}

    counts["municipalities.csv"] = _write(
        out / "municipalities.csv",
        ("code", "name", "full_name", "county_code", "county", "police_region", "english_name"),
        (
            (
                r["kommunkod"],
                r["kommun"],
                r["kommun_fullnamn"],
                r["lanskod"],
                r["lan"],
                r["polisregion"],
                ENGLISH_NAMES.get(r["kommunkod"], ""),
            )
            for r in sorted(kommuner, key=lambda r: r["kommunkod"])
        ),
    )

    postcodes: dict[str, tuple[str, str]] = {}
    for r in _read(src / "postnummer_kommun.csv"):
        code = r["postal_code"].replace(" ", "")
        if len(code) != 5 or not code.isdigit():
            raise ValueError(f"postnummer_kommun.csv: bad postcode {r['postal_code']!r}")
        if r["municipality_code"] not in codes:
            raise ValueError(f"postnummer_kommun.csv: unknown municipality in {code}")
        if code in postcodes and postcodes[code] != (r["locality"], r["municipality_code"]):
            raise ValueError(f"postnummer_kommun.csv: conflicting rows for {code}")
        postcodes[code] = (r["locality"], r["municipality_code"])
    counts["postcodes.csv"] = _write(
        out / "postcodes.csv",
        ("postcode", "post_town", "municipality_code"),
        ((pc, town, muni) for pc, (town, muni) in sorted(postcodes.items())),
    )

    districts: dict[tuple[str, str], tuple[str, str]] = {}
    for r in _read(src / "stockholm_stadsdelar.csv"):
        if r["kommunkod"] not in codes:
            raise ValueError(f"stockholm_stadsdelar.csv: unknown municipality {r['kommunkod']}")
        districts[(r["stadsdel_titel"], r["kommunkod"])] = ("", STOCKHOLM_SOURCE)
    for name, muni, area in HAND_MADE_DISTRICTS:
        districts.setdefault((name, muni), (area, HAND_MADE))
    counts["districts.csv"] = _write(
        out / "districts.csv",
        ("district", "municipality_code", "area", "source"),
        (
            (name, muni, area, source)
            for (name, muni), (area, source) in sorted(
                districts.items(), key=lambda kv: (kv[0][1], _sort_key(kv[0][0]), kv[0][0])
            )
        ),
    )

    lpo_rows = []
    for r in _read(src / "pilot_lpo.csv"):
        muni = r["kommunkod"]
        if muni not in codes:
            raise ValueError(f"pilot_lpo.csv: unknown municipality {muni}")
        if r["polisregion"] != region_of[muni]:
            raise ValueError(f"pilot_lpo.csv: police region mismatch for {muni}")
        covers = "area" if r["omrade"] and muni in MULTI_LPO_MUNICIPALITIES else "municipality"
        lpo_rows.append(
            (muni, r["omrade"], r["lokalpolisomrade"], r["polisregion"], covers, r["kalla"])
        )
    counts["local_police_areas.csv"] = _write(
        out / "local_police_areas.csv",
        ("municipality_code", "area", "local_police_area", "police_region", "covers", "source_url"),
        sorted(lpo_rows),
    )
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: ``python -m bot.places_build SRC OUT``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    counts = build(Path(args[0]), Path(args[1]))
    for name, count in counts.items():
        print(f"{name}: {count} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
