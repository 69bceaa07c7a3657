"""A shared location → the municipality it is in or near: the committed GeoNames data, its
build, the resolver (known towns, borders, sea, abroad, forged values) and the NLU
components that put it into the dialogue."""

from __future__ import annotations

import csv
import math
import time
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.places_geo import MAX_DISTANCE_KM, LocalityIndex, coordinates
from bot.places_geo_build import HEADER, build
from bot.rasa_components import SafetyNet, SharedLocationPlacer
from bot.settings import PROJECT_ROOT

PLACES = PROJECT_ROOT / "data" / "places"


@pytest.fixture(scope="module")
def index() -> LocalityIndex:
    return LocalityIndex.load(PLACES)


# --- the committed data ----------------------------------------------------------------------


def test_every_municipality_has_a_locality_and_every_row_is_sane() -> None:
    with (PLACES / "municipalities.csv").open(encoding="utf-8") as fh:
        codes = {row["code"] for row in csv.DictReader(fh)}
    with (PLACES / "localities.csv").open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames or ()) == HEADER
        rows = list(reader)
    swedish = [r for r in rows if r["country"] == "SE"]
    assert {r["municipality_code"] for r in swedish} == codes, "all 290 municipalities"
    assert all(r["municipality_code"] == "" for r in rows if r["country"] != "SE")
    for row in rows:
        lat, lon = float(row["latitude"]), float(row["longitude"])
        assert 52 <= lat <= 72 and 2 <= lon <= 34, row
    assert len({r["geonameid"] for r in rows}) == len(rows)
    readme = (PLACES / "README.md").read_text(encoding="utf-8")
    assert "GeoNames" in readme and "CC BY 4.0" in readme


# --- the resolver ----------------------------------------------------------------------------

KNOWN = {
    "Göteborg, Brunnsparken": ((57.7068, 11.9689), "1480"),
    "Stockholm, Sergels torg": ((59.3326, 18.0649), "0180"),
    "Malmö, Stortorget": ((55.6050, 13.0038), "1280"),
    "Gävle": ((60.6749, 17.1413), "2180"),
    "Kiruna": ((67.8558, 20.2253), "2584"),
    "Visby": ((57.6348, 18.2948), "0980"),
    "Umeå": ((63.8258, 20.2630), "2480"),
    "Luleå": ((65.5848, 22.1547), "2580"),
    "Eskilstuna": ((59.3666, 16.5077), "0484"),
    "Borgholm on Öland": ((56.8790, 16.6560), "0885"),
    # Neighbouring municipalities of the big cities.
    "Solna, Råsunda": ((59.3650, 18.0010), "0184"),
    "Sundbyberg": ((59.3617, 17.9719), "0183"),
    "Mölndal": ((57.6554, 12.0138), "1481"),
    "Lund": ((55.7047, 13.1910), "1281"),
    # At the national border, on the Swedish side.
    "Haparanda": ((65.8355, 24.1368), "2583"),
    "Strömstad": ((58.9394, 11.1712), "1486"),
    "Charlottenberg (Eda)": ((59.8870, 12.2930), "1730"),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_known_towns_resolve_to_their_municipality(index: LocalityIndex, name: str) -> None:
    (lat, lon), code = KNOWN[name]
    match = index.locate(lat, lon)
    assert match is not None and match.municipality_code == code, (name, match)
    assert match.distance_km < 5


def test_just_across_the_finnish_border_is_near_haparanda(index: LocalityIndex) -> None:
    """Tornio's centre is 1.5 km from Haparanda's: "in or near Haparanda" is true, and the
    slack keeps Haparanda's own streets from being called Finnish."""
    match = index.locate(65.8480, 24.1470)
    assert match is not None and match.municipality_code == "2583"


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (59.9100, 10.7500),  # Oslo
        (55.6800, 12.5700),  # Copenhagen, 25 km from Malmö across the Öresund
        (60.1000, 19.9400),  # Mariehamn, Åland
        (60.1700, 24.9400),  # Helsinki
        (52.5200, 13.4000),  # Berlin
        (40.7128, -74.0060),  # New York
        (0.0, 0.0),  # the Gulf of Guinea
        (56.0000, 18.5000),  # the Baltic Sea south of Gotland
        (62.5000, 19.5000),  # the middle of the Bothnian Sea
        (57.0000, 11.5000),  # the Kattegat, nearer to Denmark
        (68.3500, 18.8300),  # Abisko: 80 km from the nearest locality, nearer to Norway's
    ],
)
def test_abroad_at_sea_or_too_far_gives_no_municipality(
    index: LocalityIndex, lat: float, lon: float
) -> None:
    assert index.locate(lat, lon) is None


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (math.nan, 18.0),
        (59.3, math.inf),
        (-math.inf, 18.0),
        ("59.33", "18.06"),
        (True, False),
        (None, None),
        (600, 18.0),
        (59.3, 181.0),
        ({"lat": 1}, [2]),
        (10**400, 1),
    ],
)
def test_forged_or_absurd_coordinates_are_ignored_without_error(
    index: LocalityIndex, lat: Any, lon: Any
) -> None:
    assert coordinates(lat, lon) is None
    assert index.locate(lat, lon) is None


def test_a_look_up_is_fast(index: LocalityIndex) -> None:
    queries = [(55.0 + i * 0.0137 % 14.0, 11.0 + i * 0.0071 % 13.0) for i in range(5000)]
    started = time.perf_counter()
    for lat, lon in queries:
        index.locate(lat, lon)
    per_lookup = (time.perf_counter() - started) / len(queries)
    assert per_lookup < 0.001, f"{per_lookup * 1e6:.0f} µs per look-up"  # ~15 µs measured


# --- the build ---------------------------------------------------------------------------------


def _geoname(
    geonameid: int, name: str, lat: float, lon: float, country: str, admin2: str
) -> str:
    fields = [str(geonameid), name, name, "", str(lat), str(lon), "P", "PPL", country, "", "01",
              admin2, "", "", "600", "", "10", "Europe/Stockholm", "2024-01-01"]
    return "\t".join(fields) + "\n"


def test_the_build_maps_codes_keeps_near_neighbours_and_is_deterministic(
    tmp_path: Path,
) -> None:
    (tmp_path / "municipalities.csv").write_text(
        "code,name,full_name,county_code,county,police_region,english_name\n"
        "1480,Göteborg,Göteborgs kommun,14,Västra Götalands län,Väst,Gothenburg\n"
        "1407,Öckerö,Öckerö kommun,14,Västra Götalands län,Väst,\n",
        encoding="utf-8",
    )
    source = tmp_path / "cities500.txt"
    source.write_text(
        _geoname(2711537, "Göteborg", 57.70716, 11.96679, "SE", "1480")
        + _geoname(2713875, "Fotö", 57.66667, 11.65833, "SE", "")  # mapped by hand
        + _geoname(1, "Nowhere", 57.9, 12.3, "SE", "")  # no municipality: left out
        + _geoname(2, "Skagen", 57.72, 10.58, "DK", "")  # near: kept
        + _geoname(3, "München", 48.14, 11.58, "DE", "")  # far: left out
        + _geoname(4, "Oslo", 59.91, 10.75, "NO", ""),  # farther than 130 km: left out
        encoding="utf-8",
    )
    counts = build(source, tmp_path)
    first = (tmp_path / "localities.csv").read_bytes()
    assert build(source, tmp_path) == counts
    assert (tmp_path / "localities.csv").read_bytes() == first
    rows = list(csv.DictReader(first.decode("utf-8").splitlines()))
    assert [(r["name"], r["municipality_code"]) for r in rows] == [
        ("Fotö", "1407"), ("Göteborg", "1480"), ("Skagen", "")]
    assert counts["municipalities with at least one locality"] == 2
    assert counts["swedish rows without a municipality (left out)"] == 1

    source.write_text(_geoname(5, "Elsewhere", 57.7, 12.0, "SE", "9999"), encoding="utf-8")
    with pytest.raises(ValueError, match="unknown municipality"):
        build(source, tmp_path)


# --- into the dialogue: the NLU components ----------------------------------------------------


def _message(text: str, metadata: Any, intent: str = "nlu_fallback",
             entities: list[dict[str, Any]] | None = None) -> Message:
    return Message(data={
        "text": text,
        "metadata": metadata,
        "intent": {"name": intent, "confidence": 0.4},
        "intent_ranking": [{"name": intent, "confidence": 0.4}],
        "entities": entities or [],
    })


@pytest.fixture(scope="module")
def safety_net() -> SafetyNet:
    return SafetyNet.from_rule_files()


def _run(placer: SharedLocationPlacer, safety_net: SafetyNet, message: Message) -> Message:
    placer.process([message])
    safety_net.process([message])
    return message


def _entities(message: Message) -> dict[str, str]:
    """The place entities (SafetyNet also adds the language it identified to every message)."""
    return {e["entity"]: e["value"] for e in message.get("entities") or []
            if e["entity"] != "user_language"}


@pytest.fixture(scope="module")
def placer(index: LocalityIndex) -> SharedLocationPlacer:
    return SharedLocationPlacer(index)


def test_a_shared_location_with_no_text_becomes_inform_place(
    placer: SharedLocationPlacer, safety_net: SafetyNet,
) -> None:
    message = _run(placer, safety_net,
                   _message("", {"location": {"lat": 57.7068, "long": 11.9689}}))
    assert message.get("intent")["name"] == "inform_place", "not the fallback"
    assert _entities(message) == {"shared_location": "1480", "place": "1480"}


def test_a_location_abroad_says_so_instead_of_falling_back(
    placer: SharedLocationPlacer, safety_net: SafetyNet,
) -> None:
    message = _run(placer, safety_net, _message("", {"location": {"lat": 59.91, "long": 10.75}}))
    assert message.get("intent")["name"] == "inform_place"
    assert _entities(message) == {"shared_location": "none"}


@pytest.mark.parametrize(
    "metadata",
    [
        {"location": {"lat": "NaN", "long": "x"}},
        {"location": {"lat": float("nan"), "long": 18.0}},
        {"location": {"lat": 600, "long": 18.0}},
        {"location": "57.7,11.9"},
        {"location": None},
        {},
        None,
        "not a dict",
    ],
)
def test_forged_metadata_is_ignored_and_an_empty_text_stays_a_fallback(
    placer: SharedLocationPlacer, safety_net: SafetyNet, metadata: Any
) -> None:
    message = _run(placer, safety_net, _message("", metadata))
    assert _entities(message) == {}
    assert message.get("intent")["name"] == "nlu_fallback"


def test_the_emergency_net_still_wins_over_a_shared_location(
    placer: SharedLocationPlacer, safety_net: SafetyNet,
) -> None:
    message = _run(
        placer, safety_net,
        _message("hjälp han har en kniv", {"location": {"lat": 57.7068, "long": 11.9689}}),
    )
    assert message.get("intent")["name"] == "emergency"
    assert _entities(message)["place"] == "1480", "the place is still known"


def test_a_place_named_in_the_text_wins_over_the_location(
    placer: SharedLocationPlacer, safety_net: SafetyNet,
) -> None:
    named = [{"entity": "place", "value": "1280", "start": 0, "end": 0}]
    message = _run(
        placer, safety_net,
        _message("Malmö", {"location": {"lat": 57.7068, "long": 11.9689}}, "inform_place",
                 named),
    )
    assert _entities(message) == {"place": "1280"}


def test_a_question_with_a_location_keeps_its_intent(placer: SharedLocationPlacer,
                                                     safety_net: SafetyNet) -> None:
    message = _run(
        placer, safety_net,
        _message("vad gör polisen åt narkotika här?",
                 {"location": {"lat": 60.6749, "long": 17.1413}}, "promise_topic"),
    )
    assert message.get("intent")["name"] == "promise_topic"
    assert _entities(message) == {"shared_location": "2180", "place": "2180"}


def test_the_maximum_distance_is_sane() -> None:
    assert 20 <= MAX_DISTANCE_KM <= 100
