"""Build ``data/promises/more.yml`` (and the local police areas its sources name) from the
reference list of further published promises (``promises_more.csv`` and its notes).

    python -m bot.promises.build_more ../shared/data/promises_more.csv data/promises

The product never reads the reference folder: this turns it, once and reviewably, into the
importer's own format (docs/promises-import.md). What the CSV encodes in its wording becomes
fields: the period as stated beside dates only as precise as the source ("2023–2025" gives
years), commitments cut off in the excerpt ("avkortade i källutdraget") become
``excerpt_truncated``, "[gemensamt]"/"[polis]"/"[kommun]"/"[partner: X]" become owners, and
several sources ("url ; url") become ``source_url`` and ``more_sources``. What the notes say in
prose (signatories, disagreeing sources, unverified signing) is kept in the tables below,
each entry with the reason. A rebuild from the same input gives the same files.
"""

from __future__ import annotations

import argparse
import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.promises.importer import _Dumper  # the importer's own YAML style (quoted codes)
from bot.settings import PROJECT_ROOT

PLACES = PROJECT_ROOT / "data" / "places"

# (municipality, area as in the CSV) -> (district, further districts, the area as stated).
# Districts must exist in data/places/districts.csv; promise areas that are a place inside a
# town (a town centre, a travel centre, a shopping area) stay whole-municipality promises with
# the area named, so "Halmstad" answers with "Halmstad – Stadskärnan".
AREAS: dict[tuple[str, str], tuple[str | None, tuple[str, ...], str]] = {
    ("Malmö", "Rosengård söder om Amiralsgatan"): (
        "Rosengård", (), "Rosengård söder om Amiralsgatan"),
    ("Malmö", "Möllevången och Rådmansvången"): (
        "Möllevången", ("Rådmansvången",), "Möllevången och Rådmansvången"),
    ("Göteborg", "Biskopsgården (Hisingen)"): ("Biskopsgården", (), "Biskopsgården"),
    ("Göteborg", "Norra Hisingen"): ("Norra Hisingen", (), "Norra Hisingen"),
    ("Göteborg", "Askim-Frölunda-Högsbo och Västra Göteborg"): (
        "Askim-Frölunda-Högsbo", ("Västra Göteborg",),
        "Askim-Frölunda-Högsbo och Västra Göteborg"),
    ("Stockholm", "Kungsholmen"): ("Kungsholmen", (), "Kungsholmen"),
    ("Uppsala", "Resecentrum"): (None, (), "Resecentrum"),
    ("Halmstad", "Stadskärnan"): (None, (), "Stadskärnan"),
    ("Skellefteå", "Stadskärnan"): (None, (), "Stadskärnan"),
    ("Söderhamn", "Centrum"): (None, (), "Centrum"),
    ("Mora", "Noret handelsområde"): (None, (), "Noret handelsområde"),
    ("Gagnef", "Björbo"): (None, (), "Björbo"),
    ("Östhammar", "Alunda och Österbybruk"): (None, (), "Alunda och Österbybruk"),
    ("Nyköping", "Brandkärr"): (None, (), "Brandkärr"),
    ("Oxelösund", "Centrala Oxelösund"): (None, (), "Centrala Oxelösund"),
}

# Dates derived from the period as stated, only as precise as it is: (valid_from, valid_to,
# period_uncertain). Periods of the simple forms ("2024", "2023–2025", "2023-24") are read by
# _years(); these are the others. None means the source does not give it.
PERIODS: dict[str, tuple[str | None, str | None, bool]] = {
    # The sentence goes on "eller ti…" (cut off): the end may be later.
    'till 2025-12-31 (meningen fortsätter "eller ti…", avkortad i källan)': (
        None, "2025-12-31", True),
    "januari - december 2022": ("2022-01", "2022-12", False),
    "juni 2022–december 2023": ("2022-06", "2023-12", False),
    "maj 2024 - maj 2025": ("2024-05", "2025-05", False),
    "april 2021 till april 2022": ("2021-04", "2022-04", False),
    "fram till december 2021 (möjlighet till revidering 2020)": (None, "2021-12", False),
    "2021-2022 (tidsplan till och med december 2022)": ("2021", "2022-12", False),
    "2019-2023 (avtal på fyra år från 1/1 2019)": ("2019-01-01", "2023", False),
    "2018-07-01—2020-06-30": ("2018-07-01", "2020-06-30", False),
    "2022-01-01 - 2023-12-31": ("2022-01-01", "2023-12-31", False),
    "2 september – 31 december 2016": ("2016-09-02", "2016-12-31", False),
    "17 november 2016 – 18 maj 2017": ("2016-11-17", "2017-05-18", False),
    "2018 (förlängt att gälla även 2019)": ("2018", "2019", False),
    # Valid "until new ones are presented": the end is open.
    "2020-2021 (till dess nya presenteras)": ("2020", "2021", True),
    "gäller från våren 2017": ("2017", None, False),
    # A signing date is not a validity period.
    "undertecknat december 2015": (None, None, False),
    "undertecknat december 2022 (giltighetstid ej angiven i källan)": (None, None, False),
    "under ett år (år ej angivet)": (None, None, False),
    "": (None, None, False),
}
NO_PERIOD = "anges inte i källan"

# Parties named in the notes (promises_more_notes.md, "Signatories and parties").
SIGNATORIES: dict[str, tuple[str, ...]] = {
    "Malå": ("Lars Vestermark, chef för lokalpolisområdet", "Ewa Öberg Öström, kommunpolis",
             "Lennart Gustavsson, kommunalråd", "Douglas Almqvist, kommunchef"),
    "Älvsbyn": ("Johan Dahlqvist, kommunalråd",
                "Andreas Nyberg, chef för lokalpolisområde Piteå älvdal"),
    "Vilhelmina": ("Daniel Westerberg, tf. chef för lokalpolisområde södra Lappland",
                   "Andreas Eliasson, kommunstyrelsens ordförande",
                   "Karl-Johan Ottosson, kommunchef"),
    "Mullsjö": ("Mats Tingshagen, kommunalråd", "Kristoffer Axell, Polisen"),
    "Krokom": ("August Knutsson, chef för lokalpolisområdet",
               "Maria Jakobsson, kommunstyrelsens ordförande"),
    "Knivsta": ("Kristoffer Lundstedt, tf. chef för lokalpolisområde Uppsala/Knivsta",
                "Klas Bergström, kommunstyrelsens ordförande"),
    "Uddevalla": ("Jens Börretzen, biträdande chef för lokalpolisområde västra Fyrbodal",
                  "Malin Krantz, kommundirektör"),
    "Vännäs": ("Anna Frej, kommunalråd", "Michael Rystedt, chef för lokalpolisområdet"),
    "Oskarshamn": ("Anders Pleijel, lokalpolischef",
                   "Andreas Erlandsson, kommunstyrelsens ordförande"),
    "Härnösand": ("Andreas Sjölander, kommunstyrelsens ordförande",
                  "Andreas Dahlbom, lokalpolisen Södra Ångermanland",
                  "Räddningstjänsten Höga Kusten-Ådalen"),
    "Falköping": ("Adam Johansson, kommunstyrelsens ordförande",
                  "Mikael Winarve, säkerhetssamordnare",
                  "Jan Hellnevi, chef för lokalpolisområdet", "Anna-Lena Mann, kommunpolis"),
    "Alvesta": ("Ola Severinsson, kommunpolis (lokalpolisområde Växjö)",
                "Jessica Johansson, ordförande i strategiska rådet"),
    "Malmö/Möllevången och Rådmansvången": ("Polisen", "Malmö stad",
                                            "Fastighetsägare BID Möllevången"),
    "Göteborg/Biskopsgården (Hisingen)": ("Polisen", "Socialförvaltningen Hisingen"),
    "Laxå": ("Harry Lundin, kommunchef", "Mats Scherp, chef för lokalpolisområdet"),
    "Svenljunga": ("Stefan Carlsson, kommunalråd", "Magnus Nilsson, kommunchef",
                   "Tomas Jansson, chef för lokalpolisområdet"),
    "Svalöv": ("Teddy Nilsson, kommunstyrelsens ordförande", "Niklas Årcén, lokalpolisområde "
               "Klippan"),
    "Kramfors": ("Malin Svanholm, kommunstyrelsens ordförande", "Hans Björner"),
    "Ängelholm": ("Robin Holmberg, kommunstyrelsens ordförande",
                  "Karim Ottosson, chef för lokalpolisområdet"),
}

# What the notes say the text cannot: disagreeing sources, unverified facts, an open end.
CAVEATS: dict[str, dict[str, str]] = {
    "Malå": {
        "sv": "Källorna skiljer sig åt om ungdomsinsatsen: polisen.se-nyheten från februari "
              "2024 säger minst sex tillfällen per år (en insats om alkohol, narkotika och "
              "motorburen problematik), polisen.se-sidan om löftet säger minst tre tillfällen "
              "per år (extra resurser mot ungdomsfester). Jag vet inte vilket som gäller: "
              "läs båda källorna.",
        "en": "The sources disagree about the youth effort: the polisen.se news item of "
              "February 2024 says at least six times a year (an effort on alcohol, drugs and "
              "motor-vehicle problems), the polisen.se page of the promise says at least three "
              "times a year (extra resources against youth parties). I do not know which "
              "applies: read both sources.",
    },
    "Umeå": {
        "sv": "Källan beskriver löftet som under framtagande, att skrivas under våren 2025. "
              "Att det skrevs under har jag inte kunnat bekräfta. Källan är Umeå kommuns text "
              "som den sparats i ett arkiv under ett annat domännamn.",
        "en": "The source describes the promise as being drawn up, to be signed in spring "
              "2025. I could not confirm that it was signed. The source is Umeå municipality's "
              "text as saved in an archive under another domain name.",
    },
    "Älvsbyn": {
        "sv": "Meningen om perioden är avkortad i källan (\"till 2025-12-31 eller ti…\"), så "
              "löftet kan gälla längre.",
        "en": "The sentence giving the period is cut off in the source (\"till 2025-12-31 "
              "eller ti…\"), so the promise may run longer.",
    },
    "Kramfors": {
        "sv": "Enligt källan gäller löftet tills nya löften presenteras.",
        "en": "According to the source the promise applies until new ones are presented.",
    },
}

# A commitment text replaced where the CSV keeps two versions in one cell, or only a note.
COMMITMENT_TEXTS = {
    # Malå: two sources, two numbers; neither is shown as certain (see CAVEATS).
    "särskild ungdomsinsats om ANDT och motorburen problematik vid minst sex tillfällen per år "
    "(polisen.se-sidans version: extra resurser mot ungdomsfester vid minst tre tillfällen "
    "per år)": "särskild ungdomsinsats om alkohol, narkotika och motorburen problematik flera "
               "gånger per år (källorna anger olika antal, se nedan)",
    "åtaganden (avkortade)": "egna åtaganden (finns i källan)",
}

_OWNER_TAGS = {"gemensamt": "together", "polis": "police", "kommun": "municipality"}
_PARTY_NAMES = {"gemensamt": ("polisen", "kommunen"), "polis": ("polisen",),
                "kommun": ("kommunen",)}
_TAG_RE = re.compile(r"^\s*((?:\[[^\]]+\]\s*\+?\s*)+)(.*)$")
_NEWS_RE = re.compile(r"/(aktuellt|nyheter|nyhetsarkiv|arkiv|nyhet)/|pressmeddelande",
                      re.IGNORECASE)
_YEARS_RE = re.compile(
    r"^(?:överenskommelsen gäller )?(\d{4})(?:\s*(?:[-–−]|till och med)\s*(\d{2}|\d{4}))?\b")


@dataclass(frozen=True)
class Row:
    """One CSV row, with the stated-period text and the derived dates."""

    raw: dict[str, str]

    @property
    def key(self) -> str:
        area = self.raw["omrade"]
        return f"{self.raw['kommun']}/{area}" if area else self.raw["kommun"]


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")


def _years(stated: str) -> tuple[str | None, str | None, bool]:
    """"2024" -> 2024–2024; "2023-24" -> 2023–2024; "2023 till och med 2025 (…)" likewise."""
    if stated in PERIODS:
        return PERIODS[stated]
    match = _YEARS_RE.match(stated)
    if match is None:
        raise ValueError(f"period {stated!r}: add it to PERIODS")
    start, end = match.group(1), match.group(2) or match.group(1)
    if len(end) == 2:
        end = start[:2] + end
    return start, end, False


def _split_items(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _drop_cut_notes(text: str) -> tuple[str, bool]:
    """Remove "(… avkortade i källutdraget)" notes; True if there was one."""
    cut = False

    def keep(match: re.Match[str]) -> str:
        nonlocal cut
        parts = [p.strip() for p in match.group(1).split(",")]
        rest = [p for p in parts if "avkort" not in p]
        if len(rest) < len(parts):
            cut = True
        return f" ({', '.join(rest)})" if rest else ""

    return re.sub(r"\s*\(([^()]*)\)", keep, text).strip(), cut


def _commitment(item: str) -> tuple[dict[str, Any], bool]:
    match = _TAG_RE.match(item)
    if match is None:
        raise ValueError(f"commitment without an owner tag: {item!r}")
    tags = re.findall(r"\[([^\]]+)\]", match.group(1))
    body = match.group(2).strip()
    replaced = COMMITMENT_TEXTS.get(body, body)
    text, cut = _drop_cut_notes(replaced)
    cut = cut or "avkort" in body
    entry: dict[str, Any]
    if len(tags) == 1 and tags[0] in _OWNER_TAGS:
        entry = {"owner": _OWNER_TAGS[tags[0]]}
    else:
        names = [name for tag in tags for name in (
            (tag.split(":", 1)[1].strip(),) if tag.startswith("partner:") else _PARTY_NAMES[tag])]
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " och " + names[-1]
        entry = {"owner": "partner", "partner": joined[0].upper() + joined[1:]}
    entry["text"] = text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")
    return entry, cut


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _current_url(urls: list[str]) -> str | None:
    """The page where the municipality's promise is kept current: a polisen.se promise page
    or a municipality's promise page, never a news item."""
    for url in urls:
        if "polisen.se/om-polisen/medborgarloften" in url and "/uppfoljning" not in url:
            return url
    for url in urls:
        if "polisen.se" not in url and "medborgarlofte" in url.lower() \
                and not _NEWS_RE.search(url):
            return url
    return None


def _municipalities() -> dict[str, dict[str, str]]:
    with (PLACES / "municipalities.csv").open(encoding="utf-8", newline="") as fh:
        return {r["code"]: r for r in csv.DictReader(fh)}


def _known_areas() -> set[str]:
    with (PLACES / "local_police_areas.csv").open(encoding="utf-8", newline="") as fh:
        return {r["local_police_area"].casefold() for r in csv.DictReader(fh)}


# Local police area names as polisen.se spells them, where a source writes them otherwise.
_AREA_SPELLING = {"malmö söder": "Malmö Söder", "piteå älvdal": "Piteå älvdal"}


def _area_name(name: str) -> str:
    """"södra Lappland" -> "Södra Lappland"."""
    return _AREA_SPELLING.get(name.casefold(), name[0].upper() + name[1:])


def build(rows: list[dict[str, str]]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """The promise document and the local police area rows its sources name."""
    municipalities = _municipalities()
    known = _known_areas()
    promises: list[dict[str, Any]] = []
    areas: dict[tuple[str, str], dict[str, str]] = {}
    slugs: set[str] = set()
    for raw in rows:
        row = Row(raw)
        name, code, area = raw["kommun"], raw["kommunkod"], raw["omrade"]
        if code not in municipalities:
            raise ValueError(f"{row.key}: unknown municipality code {code}")
        district, also, area_stated = AREAS[(name, area)] if area else (None, (), None)
        stated = raw["period_as_stated"].strip()
        valid_from, valid_to, uncertain = _years(stated)
        if raw["valid_from"] and valid_from != raw["valid_from"]:
            raise ValueError(f"{row.key}: valid_from {raw['valid_from']} != {valid_from}")
        if raw["valid_to"] and valid_to != raw["valid_to"]:
            raise ValueError(f"{row.key}: valid_to {raw['valid_to']} != {valid_to}")
        label = f"{name} – {area_stated}" if area_stated else name
        years = (valid_from or "")[:4], (valid_to or "")[:4]
        when = (years[0] if years[0] == years[1] else f"{years[0]}–{years[1]}") \
            if all(years) else ""
        slug = "-".join(filter(None, (_slug(name), _slug(district or area_stated or ""),
                                      _slug(when) or years[0] or years[1] or "odaterat")))
        if slug in slugs:
            raise ValueError(f"duplicate slug {slug}")
        slugs.add(slug)
        urls = [u.split(" (")[0].strip() for u in raw["kalla"].split(" ; ")]
        commitments, cut = [], False
        for item in _split_items(raw["commitments"]):
            commitment, item_cut = _commitment(item)
            commitments.append(commitment)
            cut = cut or item_cut
        follow_up_text, follow_up_cut = _drop_cut_notes(raw["follow_up"])
        problems = [{"text": _sentence(t), "focus": True} for t in _split_items(raw["focus"])]
        problems += [{"text": _sentence(t)} for t in _split_items(raw["problems"])]
        promise: dict[str, Any] = {
            "slug": slug,
            "municipality": code,
            "district": district,
            "also_districts": list(also),
            "area_stated": area_stated,
            "title": {"sv": f"Medborgarlöfte för {label}" + (f" {when}" if when else ""),
                      "en": f"Citizen promise for {label}" + (f" {when}" if when else "")},
            "period_stated": stated or NO_PERIOD,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "period_uncertain": uncertain,
            "source_url": urls[0],
            "more_sources": urls[1:],
            "source_date": raw["kalla_datum"] or None,
            "current_url": _current_url(urls),
            "excerpt_truncated": cut or follow_up_cut,
            "caveat": CAVEATS.get(row.key),
            "signatories": list(SIGNATORIES.get(row.key, ())),
            "problems": problems,
            "commitments": commitments,
            "follow_up": {"reports": [{"summary": _sentence(follow_up_text)}]}
            if follow_up_text else None,
        }
        lpo = raw["lokalpolisomrade"].strip()
        if lpo:
            lpo = _area_name(lpo)
            promise["local_police_area"] = lpo
            if lpo.casefold() not in known:
                # An area that makes a district's promise covers (at least) that district.
                areas.setdefault((code, lpo.casefold()), {
                    "municipality_code": code, "area": district or "", "local_police_area": lpo,
                    "police_region": municipalities[code]["police_region"],
                    "covers": "area" if district else "municipality", "source_url": urls[0]})
        promises.append({k: v for k, v in promise.items() if v not in (None, [], {}, False)})
    names: dict[str, str] = {}
    for row_ in areas.values():  # one spelling per area name
        row_["local_police_area"] = names.setdefault(row_["local_police_area"].casefold(),
                                                     row_["local_police_area"])
    return {"version": 1, "promises": promises}, sorted(
        areas.values(), key=lambda r: (r["local_police_area"], r["municipality_code"]))


HEADER = """\
# Further published medborgarlöften: 92 rows for 89 municipalities, paraphrased from their
# sources (polisen.se promise pages and news, municipality pages, local newspapers).
# Built by `python -m bot.promises.build_more` from the reference list promises_more.csv and
# its notes; edit the tables in bot/promises/build_more.py, not this file. Schema and how to
# keep a promise current: docs/promises-import.md.
#
# period_stated is the period in the source's words; valid_from/valid_to are as precise as it
# (a year, a month or a day) and drive status only. excerpt_truncated: the commitments were
# cut off in the excerpt the row was taken from, the full text is at the source. Owners follow
# the source; where it lists activities without saying who does them the promise is joint
# ("together").
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="promises_more.csv")
    parser.add_argument("out", type=Path, help="the data/promises directory")
    args = parser.parse_args(argv)
    with args.source.open(encoding="utf-8", newline="") as fh:
        document, areas = build(list(csv.DictReader(fh)))
    text = yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    (args.out / "more.yml").write_text(HEADER + text, encoding="utf-8")
    columns = ("municipality_code", "area", "local_police_area", "police_region", "covers",
               "source_url")
    with (args.out / "local_police_areas.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(areas)
    print(f"{len(document['promises'])} promises, {len(areas)} local police area rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
