"""Build the project's own place data (``data/places/``) from the shared reference lists.

The product must not read the shared reference folder at run time, so this script copies
the facts it needs into small, committed CSV files in the project's own format. Running it
twice on the same input gives byte-identical output.

Usage: ``python -m bot.places_build /path/to/shared/data data/places``
"""

from __future__ import annotations

import csv
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path

STOCKHOLM_SOURCE = "KTHHealthData/stockholm-stadsdelar (CC0)"
HAND_MADE = "hand-made"
POLICE_2025 = "Polismyndigheten, utsatta områden 2025 (uso_2025.geojson)"
REGSO_SOURCE = "SCB RegSO 2025 (CC0)"

# Words in SCB's area names that describe a part, not a name people use on its own
# ("Lindesberg södra", "Morgongåva tätort"): such parts are dropped, or removed from the
# start or end of a part to give its base name ("Västra Flogsta" -> "Flogsta").
_RURAL_WORDS = frozenset(
    ["omland", "omlands", "landsbygd", "landsbygden", "glesbygd", "omnejd", "kommundel",
     "kommun", "övrigt"]
)
_POSITION_WORDS = frozenset(
    [
        "norra", "södra", "östra", "västra", "nordöstra", "nordvästra", "sydöstra",
        "sydvästra", "mellersta", "centrala", "övre", "nedre", "inre", "yttre", "norr",
        "söder", "öster", "väster", "nord", "syd", "öst", "väst", "nordost", "nordväst",
        "sydost", "sydväst", "centrum", "central", "city", "tätort", "tätorten", "centralort",
        "stad", "staden", "innerstaden",
    ]  # fmt: skip
)
# Alone, these are not a name ("Gamla" from "Gamla-Uppsala").
_NOT_A_NAME = _POSITION_WORDS | frozenset(["gamla", "nya", "stora", "lilla", "sankt", "s:t"])

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


def _fold(text: str) -> str:
    """Case- and diacritic-blind key, so "Gamla stan" and "Gamla Stan" are one district."""
    decomposed = unicodedata.normalize("NFKD", " ".join(text.casefold().split()))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def base_name(name: str) -> str:
    """A name without the position words at either end ("Västra Flogsta" -> "Flogsta",
    "Gottsunda centrum" -> "Gottsunda"); "" when nothing else is left."""
    words = name.split()
    while words and words[-1].casefold() in _POSITION_WORDS:
        words.pop()
    while words and words[0].casefold() in _POSITION_WORDS:
        words.pop(0)
    return " ".join(words)


def regso_parts(name: str) -> list[str]:
    """The names people use inside one SCB RegSO name, with their base forms.

    "RegSO-" (Malmö) is stripped, a composite name is split at its hyphens, parts about the
    countryside are dropped, and a position word at either end is removed for the base form:
    "Östra Flogsta-Ekeby-Berthåga" -> Östra Flogsta, Flogsta, Ekeby, Berthåga.
    """
    name = " ".join(name.removeprefix("RegSO-").split())
    found: list[str] = []
    for part in name.split("-"):
        words = part.split()
        if not words or any(w.casefold() in _RURAL_WORDS for w in words):
            continue
        for candidate in (" ".join(words), base_name(part)):
            if candidate and candidate not in found:
                found.append(candidate)
    return found


def _promise_areas(text: str) -> list[str]:
    """The place names in a promise's area ("Möllevången och Rådmansvången", "Biskopsgården
    (Hisingen)", "Rosengård söder om Amiralsgatan")."""
    text = re.sub(r"\(.*?\)", " ", text)
    text = re.split(r"\s(?:söder|norr|öster|väster) om\s", text)[0]
    return [" ".join(p.split()) for p in re.split(r"\s+och\s+|,", text) if p.strip()]


class _Districts:
    """Districts by (folded name, municipality): the first source to name one wins, a later
    one may only add the larger area it belongs to."""

    def __init__(self, kommuner: list[dict[str, str]], post_towns: set[tuple[str, str]]) -> None:
        self.codes = {r["kommunkod"] for r in kommuner}
        # A municipality's own names ("Vingåker", "Vingåkers" from "Vingåkers kommun").
        self.own_names = {
            r["kommunkod"]: {
                _fold(r["kommun"]),
                _fold(r["kommun_fullnamn"].removesuffix(" kommun").removeprefix("Region ")),
            }
            for r in kommuner
        }
        # (folded post town, municipality): a neighbourhood of the same name adds nothing.
        self.post_towns = {(_fold(town), code) for town, code in post_towns}
        # A part that is a municipality's name is that municipality, not a district of it.
        self.municipality_keys = {_fold(r["kommun"]) for r in kommuner} | {
            _fold(r["kommun_fullnamn"].removesuffix(" kommun").removeprefix("Region "))
            for r in kommuner
        }
        self.rows: dict[tuple[str, str], list[str]] = {}

    def add(self, name: str, code: str, area: str, tier: str, source: str,
            derived: bool = True) -> None:
        name = " ".join(name.split())
        if code not in self.codes:
            raise ValueError(f"district {name!r}: unknown municipality {code}")
        key = (_fold(name), code)
        if derived and (
            key[0] in self.municipality_keys
            or sum(ch.isalpha() for ch in name) < 3
            or tier == "neighbourhood" and (
                name.casefold() in _NOT_A_NAME
                or not name[0].isupper()  # "Västra fältet" -> "fältet" is no name
                or key in self.post_towns
                # "Orsa centrala", "Vingåkers norra tätort", "Centrala Oxelösund"
                or any(key[0].startswith(own + " ") for own in self.own_names[code])
                or _fold(base_name(name)) in self.own_names[code]
            )
        ):
            return
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = [name, code, area, tier, source]
        elif area and not row[2]:
            row[2] = self.spelling(area, code)

    def spelling(self, name: str, code: str) -> str:
        """The spelling already used for a district ("Södra innerstaden" -> "Södra Innerstaden")."""
        row = self.rows.get((_fold(name), code))
        return row[0] if row else name

    def sorted_rows(self) -> list[list[str]]:
        """The rows, a neighbourhood tied to its base district where both are listed
        ("Gottsunda centrum" -> area Gottsunda), so a promise for that district applies."""
        for name, code, area, tier, _source in self.rows.values():
            base = base_name(name)
            if tier == "neighbourhood" and not area and base and base != name:
                row = self.rows.get((_fold(base), code))
                if row is not None:
                    self.rows[(_fold(name), code)][2] = row[0]
        return sorted(self.rows.values(), key=lambda r: (r[1], _sort_key(r[0]), r[0]))


_AREA_IN_SOURCE = re.compile(r"\(i (?:stadsdel )?([^)]+)\)")


def _districts(
    src: Path, kommuner: list[dict[str, str]], post_towns: set[tuple[str, str]]
) -> list[list[str]]:
    """Districts and neighbourhoods from every source, most authoritative first.

    ``tier`` "core": the Stockholm list, the hand-made aliases, the police's listed areas and
    their sub-areas - names that mean a place on their own. "neighbourhood": the cities' own
    district lists, SCB's RegSO names and the areas of published promises ("Resecentrum",
    last, so a name already listed keeps its source) - many are also everyday words, so the
    index asks for place evidence around them.
    """
    districts = _Districts(kommuner, post_towns)
    for r in _read(src / "stockholm_stadsdelar.csv"):
        districts.add(r["stadsdel_titel"], r["kommunkod"], "", "core", STOCKHOLM_SOURCE, False)
    for name, muni, area in HAND_MADE_DISTRICTS:
        districts.add(name, muni, area, "core", HAND_MADE, False)
    for r in _read(src / "utsatta_omraden.csv"):
        parts = [p.strip() for p in r["omrade"].split(" / ")]
        for part in parts:
            source = POLICE_2025 if len(parts) == 1 else f'{POLICE_2025}, part of "{r["omrade"]}"'
            districts.add(part, r["kommunkod"], "", "core", source)
    for r in _read(src / "delomraden.csv"):
        if r["relation"] == "ligger_i":  # the listed area lies in a wider, named place
            districts.add(r["omrade"], r["kommunkod"], "", "core", r["kalla"])
            continue
        area = r["omrade"] if r["relation"] == "lokalpolisomrade_2025" else ""
        for part in (p.strip() for p in r["delomrade"].split(" / ")):
            districts.add(part, r["kommunkod"], area, "core", r["kalla"])
    for r in _read(src / "stadsdelar_storre_stader.csv"):
        found = _AREA_IN_SOURCE.search(r["kalla"])
        area = r["namn"] if r["typ"] == "stadsdelsnamndsomrade" else ""
        if found and r["typ"] == "stadsdel":
            area = districts.spelling(found.group(1), r["kommunkod"])
        districts.add(r["namn"], r["kommunkod"], area, "neighbourhood", r["kalla"])
    for r in _read(src / "regso.csv"):
        source = f'{REGSO_SOURCE}, "{" ".join(r["regso_namn"].split())}" ({r["regso_kod"]})'
        for part in regso_parts(r["regso_namn"]):
            districts.add(part, r["kommunkod"], "", "neighbourhood", source)
    for r in _read(src / "promises_more.csv"):
        for part in _promise_areas(r["omrade"]):
            districts.add(part, r["kommunkod"], "", "neighbourhood",
                          f"area of a published promise: {r['kalla']}")
    return districts.sorted_rows()


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

    counts["districts.csv"] = _write(
        out / "districts.csv",
        ("district", "municipality_code", "area", "tier", "source"),
        _districts(src, kommuner, set(postcodes.values())),
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
