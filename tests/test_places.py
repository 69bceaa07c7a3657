"""Place understanding: every municipality, districts, post towns, postcodes, typos, no place.

The index is loaded once per module; all checks run against the committed ``data/places``.
"""

from __future__ import annotations

import csv
import types
import unicodedata
from pathlib import Path

import pytest

import bot.places as places_module
from bot.places import Place, PlaceIndex, Resolution
from bot.places_build import build

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "places"
SHARED = ROOT.parent / "shared" / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _strip(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


MUNICIPALITIES = _rows("municipalities.csv")
DISTRICTS = _rows("districts.csv")
NAME_TO_CODE = {row["name"]: row["code"] for row in MUNICIPALITIES}


@pytest.fixture(scope="module")
def index() -> PlaceIndex:
    return PlaceIndex.load(DATA)


def _found(resolution: Resolution) -> Place:
    assert resolution.status == "found", resolution
    assert resolution.place is not None
    assert resolution.candidates == (resolution.place,)
    return resolution.place


def _codes(resolution: Resolution) -> set[str]:
    return {p.municipality_code for p in resolution.candidates}


# ---------------------------------------------------------------- data files


def test_municipalities_file_is_complete() -> None:
    codes = [row["code"] for row in MUNICIPALITIES]
    assert len(codes) == 290 == len(set(codes))
    assert all(len(c) == 4 and c.isdigit() for c in codes)
    assert "0114" in codes  # leading zeros kept
    regions = {row["police_region"] for row in MUNICIPALITIES}
    assert regions == {"Nord", "Mitt", "Stockholm", "Öst", "Väst", "Syd", "Bergslagen"}
    english = {row["name"]: row["english_name"] for row in MUNICIPALITIES if row["english_name"]}
    assert english == {"Göteborg": "Gothenburg"}


def test_postcodes_file_is_compact_and_consistent() -> None:
    rows = _rows("postcodes.csv")
    assert list(rows[0]) == ["postcode", "post_town", "municipality_code"]
    assert len(rows) > 15_000
    assert all(len(r["postcode"]) == 5 and r["postcode"].isdigit() for r in rows)
    assert {r["municipality_code"] for r in rows} <= set(NAME_TO_CODE.values())
    assert [r["postcode"] for r in rows] == sorted({r["postcode"] for r in rows})


def test_districts_file_has_stockholm_and_hand_made_aliases() -> None:
    by_code: dict[str, set[str]] = {}
    for row in DISTRICTS:
        by_code.setdefault(row["municipality_code"], set()).add(row["district"])
    assert len([r for r in DISTRICTS if r["source"].startswith("KTHHealthData")]) == 117
    assert all(r["source"] and r["tier"] in {"core", "neighbourhood"} for r in DISTRICTS)
    hand_made = {(r["municipality_code"], r["district"]) for r in DISTRICTS
                 if r["source"] == "hand-made"}
    assert {("1480", "Angered"), ("1480", "Hjällbo"), ("1280", "Rosengård")} <= hand_made
    assert {
        "Angered", "Hjällbo", "Hammarkullen", "Gårdsten", "Lövgärdet", "Bergsjön",
        "Biskopsgården", "Tynnered", "Backa", "Kortedala", "Frölunda", "Majorna",
        "Linnéstaden", "Hisingen",
    } <= by_code["1480"]  # fmt: skip
    assert {
        "Rosengård", "Hyllie", "Fosie", "Husie", "Kirseberg", "Limhamn", "Oxie",
        "Västra Innerstaden", "Södra Innerstaden", "Centrum",
    } <= by_code["1280"]  # fmt: skip
    assert {"Rinkeby", "Tensta", "Kista", "Södermalm"} <= by_code["0180"]


def test_local_police_areas_file() -> None:
    rows = _rows("local_police_areas.csv")
    assert len(rows) == 16
    assert all(r["source_url"].startswith("https://") for r in rows)
    assert all(r["municipality_code"] in NAME_TO_CODE.values() for r in rows)


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared reference lists not beside the repo")
def test_build_is_deterministic_and_committed_files_are_current(tmp_path: Path) -> None:
    counts = build(SHARED, tmp_path)
    assert counts["municipalities.csv"] == 290
    for name in counts:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


# ---------------------------------------------------------------- all 290 municipalities


@pytest.mark.parametrize("row", MUNICIPALITIES, ids=lambda r: r["code"])
def test_every_municipality_round_trips(index: PlaceIndex, row: dict[str, str]) -> None:
    name, code = row["name"], row["code"]
    plain = _strip(name)
    # "Håbo" without its ring is exactly "Habo", another municipality.
    plain_code = NAME_TO_CODE.get(plain, code)
    expectations = {
        name: code,
        name.lower(): code,
        name.upper(): code,
        row["full_name"]: code,
        f"vad har polisen lovat i {name}?": code,
        f"Vad gäller i {name.lower()}s kommun": code,
        plain: plain_code,
        plain.lower(): plain_code,
        f"what is the promise in {plain}": plain_code,
    }
    for query, expected in expectations.items():
        place = _found(index.resolve(query))
        assert (place.kind, place.municipality_code) == ("municipality", expected), query
    place = _found(index.resolve(name))
    assert place.municipality == name
    assert place.county == row["county"]
    assert place.police_region == row["police_region"]
    assert index.municipality(code) == place


# ---------------------------------------------------------------- inflections and forms


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Gävles", "2180"),
        ("i Karlstads kommun", "1780"),
        ("Karlstad kommun", "1780"),
        ("Umeås", "2480"),
        ("Stockholms stad", "0180"),
        ("Göteborgs Stad", "1480"),
        ("Malmö stad", "1280"),
        ("Region Gotland", "0980"),
        ("på Gotland", "0980"),
        ("Falu kommun", "2080"),
        ("Upplands-Bro", "0139"),
        ("upplands bro", "0139"),
        ("Malung-Sälens kommun", "2023"),
        ("Göteborgsområdet", "1480"),
        ("är det någon Malmöbo här", "1280"),
        ("sthlm", "0180"),
        ("Luleås medborgarlöfte", "2580"),
    ],
)
def test_inflected_and_official_forms(index: PlaceIndex, query: str, code: str) -> None:
    place = _found(index.resolve(query))
    assert (place.kind, place.municipality_code) == ("municipality", code)


def test_visby_is_a_post_town_on_gotland(index: PlaceIndex) -> None:
    place = _found(index.resolve("vad har polisen lovat i Visby?"))
    assert (place.kind, place.municipality_code, place.matched) == ("post_town", "0980", "Visby")
    assert place.municipality == "Gotland"
    assert place.police_region == "Stockholm"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Gavle", "2180"),
        ("Malmo", "1280"),
        ("Lulea", "2580"),
        ("Goteborg", "1480"),
        ("vad har polisen lovat i gavle?", "2180"),
        ("Eskilstun", "0484"),
        ("Karlstadt", "1780"),
        ("Sundsval", "2281"),
        ("Götebrog", "1480"),
        ("Helsingborgg", "1283"),
        ("jönköpnig", "0680"),
        ("vad har polisen lovat i Linköpping", "0580"),
        ("medborgarlöfte Eskilstunna", "0484"),
        ("i Karlstadts kommun", "1780"),
    ],
)
def test_without_diacritics_and_with_typos(index: PlaceIndex, query: str, code: str) -> None:
    place = _found(index.resolve(query))
    assert (place.kind, place.municipality_code) == ("municipality", code)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Gothenburg", "1480"),
        ("gothenburg", "1480"),
        ("what is the promise in Gothenburg", "1480"),
        ("Gothenburg's citizen promise", "1480"),
        ("what have the police promised in Gothenberg?", "1480"),
        ("I live in Malmo", "1280"),
    ],
)
def test_english(index: PlaceIndex, query: str, code: str) -> None:
    assert _found(index.resolve(query)).municipality_code == code


def test_diacritics_decide_between_near_namesakes(index: PlaceIndex) -> None:
    assert _found(index.resolve("Habo")).municipality_code == "0643"
    assert _found(index.resolve("Håbo")).municipality_code == "0305"
    assert _found(index.resolve("Varberg")).municipality_code == "1383"
    vaarberg = _found(index.resolve("Vårberg"))
    assert (vaarberg.kind, vaarberg.district) == ("district", "Vårberg")


# ---------------------------------------------------------------- postcodes


@pytest.mark.parametrize(
    ("query", "code", "postcode"),
    [
        ("413 19", "1480", "413 19"),
        ("41319", "1480", "413 19"),
        ("mitt postnummer är 803 20, vad gäller här?", "2180", "803 20"),
        ("Storgatan 12, 75431 Uppsala", "0380", "754 31"),
        ("Storgatan 12 903 25 Umeå", "2480", "903 25"),
        ("promise for postcode SE-211 45", "1280", "211 45"),
    ],
)
def test_postcodes(index: PlaceIndex, query: str, code: str, postcode: str) -> None:
    place = _found(index.resolve(query))
    assert (place.kind, place.municipality_code, place.postcode) == ("postcode", code, postcode)


def test_every_committed_postcode_resolves(index: PlaceIndex) -> None:
    for row in _rows("postcodes.csv")[::97]:
        code = row["postcode"]
        place = _found(index.resolve(f"{code[:3]} {code[3:]}"))
        assert place.municipality_code == row["municipality_code"]
        assert place.matched == f"{code[:3]} {code[3:]} {row['post_town']}"


@pytest.mark.parametrize(
    "query", ["000 00", "99999", "ring 070-123 45 67", "tel 08 413 19 00", "413 191", "1234"]
)
def test_unknown_postcodes_and_phone_numbers_give_none(index: PlaceIndex, query: str) -> None:
    assert index.resolve(query).status == "none"


# ---------------------------------------------------------------- districts


@pytest.mark.parametrize(
    "row", DISTRICTS, ids=lambda r: f"{r['municipality_code']}-{r['district']}"
)
def test_every_district_resolves(index: PlaceIndex, row: dict[str, str]) -> None:
    """By its name alone (unless a well-known namesake overshadows it), and always with its
    municipality as the qualifier ("Östermalm i Kalmar")."""
    wanted = ("district", row["municipality_code"], row["district"])
    municipality = index.municipality(row["municipality_code"])
    assert municipality is not None
    qualified = index.resolve(f"{row['district']} i {municipality.municipality}")
    assert (qualified.status, qualified.place and qualified.place.district) == (
        "found", row["district"])
    resolution = index.resolve(row["district"])
    got = [(p.kind, p.municipality_code, p.district) for p in resolution.candidates]
    overshadowed = row["tier"] != "core" and any(
        (p.district or "").casefold() == row["district"].casefold()
        and p.municipality_code != row["municipality_code"]
        for p in resolution.candidates
    )
    if not overshadowed:
        assert wanted in got


@pytest.mark.parametrize(
    ("query", "code", "district"),
    [
        ("vad har polisen lovat i Rinkeby", "0180", "Rinkeby"),
        ("what is the promise for Tensta", "0180", "Tensta"),
        ("Hässelby Strand", "0180", "Hässelby Strand"),
        ("gamla stan", "0180", "Gamla Stan"),
        ("Farsta", "0180", "Farsta"),
        ("Hjällbo", "1480", "Hjällbo"),
        ("hammarkullen", "1480", "Hammarkullen"),
        ("Gardsten", "1480", "Gårdsten"),
        ("vad lovar polisen i Biskopsgården", "1480", "Biskopsgården"),
        ("Hjällbo i Göteborg", "1480", "Hjällbo"),
        ("i Backa", "1480", "Backa"),
        ("Rosengård", "1280", "Rosengård"),
        ("rosengard", "1280", "Rosengård"),
        ("Södra Innerstaden", "1280", "Södra Innerstaden"),
        ("centrum i Malmö", "1280", "Centrum"),
        ("Göteborg, Centrum", "1480", "Centrum"),
    ],
)
def test_district_queries(index: PlaceIndex, query: str, code: str, district: str) -> None:
    place = _found(index.resolve(query))
    assert (place.kind, place.municipality_code, place.district) == ("district", code, district)


def test_postcode_is_more_specific_than_its_municipality(index: PlaceIndex) -> None:
    place = _found(index.resolve("Jag bor i Göteborg, 413 19"))
    assert place.kind == "postcode"


def test_postcode_and_name_that_disagree_are_ambiguous(index: PlaceIndex) -> None:
    resolution = index.resolve("Solna 413 19")
    assert resolution.status == "ambiguous"
    assert {(p.kind, p.municipality_code) for p in resolution.candidates} == {
        ("postcode", "1480"),
        ("municipality", "0184"),
    }


# ---------------------------------------------------------------- ambiguity


def test_post_town_spanning_two_municipalities_is_ambiguous(index: PlaceIndex) -> None:
    resolution = index.resolve("Åkarp")  # Burlöv and Staffanstorp
    assert resolution.status == "ambiguous" and resolution.place is None
    assert _codes(resolution) == {"1230", "1231"}
    assert {p.kind for p in resolution.candidates} == {"post_town"}


def test_postcode_settles_a_post_town_spanning_municipalities(index: PlaceIndex) -> None:
    assert _found(index.resolve("23252 Åkarp")).municipality_code == "1230"


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("Hallnas", {"0360", "2404"}),  # Hållnäs and Hällnäs without diacritics
        ("Likoping", {"0580", "1494"}),  # Linköping or Lidköping: equally close typos
        ("Olofstorm", {"1060", "1480"}),  # Olofström or the post town Olofstorp (Göteborg)
        ("Solna och Sundbyberg", {"0184", "0183"}),
        ("Centrum", {"1280", "1480"}),
        ("Solberga", {"0180", "0682"}),  # Stockholm district or post town in Nässjö
        ("Vasastaden", {"0180", "1480"}),
    ],
)
def test_ambiguous(index: PlaceIndex, query: str, codes: set[str]) -> None:
    resolution = index.resolve(query)
    assert resolution.status == "ambiguous" and resolution.place is None
    assert _codes(resolution) == codes


# ---------------------------------------------------------------- no place, everyday words


@pytest.mark.parametrize(
    "query",
    [
        "",
        "hej",
        "jag vill tipsa",
        "what is a citizen promise",
        "tack så mycket",
        "hallå",
        "vad ska jag göra med min mark",
        "det kan vara bra",
        "jag har ont i handen",
        "vilka saker kan du hjälpa till med",
        "det langas på skolgården varje fredag",
        "någon dumpar sopor i skogen hela tiden",
        "jag tror att min granne odlar cannabis",
        "someone stole my bag",
        "what kind of things can you help with",
        "what are the promises",
        "beer and ale",
        "det måste tränas mer",
        "otryggt i centrum",
        "Stockholms län",
        "Region Stockholm",
        "polisregion Syd",
    ],
)
def test_no_place(index: PlaceIndex, query: str) -> None:
    assert index.resolve(query) == Resolution("none", None, ())


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("Mark", "1463"),
        ("i Mark", "1463"),
        ("Marks kommun", "1463"),
        ("in Ale", "1440"),
        ("Vara kommun", "1470"),
        ("vad har polisen lovat i Nora", "1884"),
        ("what are the promises in Are", "2321"),
        ("Kil", "1715"),
        ("Bjurholm", "2403"),
        ("Tranås", "0687"),
    ],
)
def test_everyday_words_count_with_a_cue(index: PlaceIndex, query: str, code: str) -> None:
    assert _found(index.resolve(query)).municipality_code == code


def test_short_names_are_never_guessed(index: PlaceIndex) -> None:
    assert index.resolve("i Mork").status == "none"  # not Mora/Mark: too short to guess
    assert index.resolve("i Hjoo").status == "none"


# ---------------------------------------------------------------- municipality() and LPO


def test_municipality_lookup(index: PlaceIndex) -> None:
    gavle = index.municipality("2180")
    assert gavle is not None
    assert (gavle.kind, gavle.municipality, gavle.county, gavle.police_region) == (
        "municipality",
        "Gävle",
        "Gävleborgs län",
        "Mitt",
    )
    assert index.municipality("180") == index.municipality("0180")
    assert index.municipality("9999") is None
    assert index.municipality("") is None


@pytest.mark.parametrize(
    ("code", "district", "expected"),
    [
        ("2180", None, "Gästrikland"),
        ("1780", None, "Karlstad"),
        ("1715", None, "Karlstad"),
        ("2582", None, "Luleå/Boden"),
        ("0980", None, "Gotland"),
        ("0980", "Visby", "Gotland"),
        ("1480", "Angered", "Storgöteborg Nordost"),
        ("1480", "Hjällbo", "Storgöteborg Nordost"),  # part of Angered
        ("1480", "hjallbo", "Storgöteborg Nordost"),
        ("1480", None, None),  # several local police areas: no guess
        ("1480", "Majorna", None),
        ("0114", None, None),  # no row yet
    ],
)
def test_local_police_area(
    index: PlaceIndex, code: str, district: str | None, expected: str | None
) -> None:
    assert index.local_police_area(code, district) == expected


# ---------------------------------------------------------------- hygiene


def test_module_holds_no_mutable_global_state() -> None:
    mutable = (dict, list, set, bytearray)
    offenders = [
        name
        for name, value in vars(places_module).items()
        if not name.startswith("__") and isinstance(value, mutable)
    ]
    assert offenders == []
    assert isinstance(places_module._SPECIFICITY, types.MappingProxyType)


def test_resolution_and_place_are_immutable(index: PlaceIndex) -> None:
    place = _found(index.resolve("Gävle"))
    with pytest.raises(AttributeError):
        place.municipality = "x"  # type: ignore[misc]
    assert hash(place) == hash(index.resolve("Gävle").place)
