"""Understand where in Sweden a citizen means: municipality, district, post town or postcode.

Citizens ask "what have the police promised where I live?" in free text, with inflections
("Gävles", "i Karlstads kommun"), without diacritics ("Malmo"), with typos ("Eskilstun"),
in English ("Gothenburg") or with a postcode ("123 45"). ``PlaceIndex`` answers such questions
from the project's own files in ``data/places/`` (built by ``bot.places_build``), entirely in
memory: everything is precomputed once in :meth:`PlaceIndex.load`, so a query is a handful of
dictionary look-ups (typos via a deletion-neighbourhood index, SymSpell style) and never scans
the 15 000 postcodes or the 2 000 names.

Precision over recall for everyday words: names that are also ordinary words ("Mark", "Vara",
"Backa", "Ale", "Åre"/"are") count only with a locative cue ("i Mark", "Marks kommun", "in
Ale") or when the message is nothing but the name; names of at most four letters are never
matched fuzzily.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

KINDS = ("municipality", "district", "postcode", "post_town")

# More specific places win when several mentions agree on one municipality.
_SPECIFICITY = MappingProxyType({"municipality": 0, "post_town": 1, "district": 2, "postcode": 3})


def _wordset(text: str) -> frozenset[str]:
    """A frozen set of the whitespace-separated words in ``text`` (keeps word lists readable)."""
    return frozenset(text.split())


# Names at least this long tolerate two typos, and may be guessed without a locative cue.
_LONG_NAME = 9

# How much a mention counts: a plain name decides; an everyday word with a cue ("i Mark")
# decides only when nothing plain was named; one without a cue only narrows a decided place.
_STRONG, _CUED, _REFINE_ONLY = 2, 1, 0

_WORD_RE = re.compile(r"[^\W\d_]+")
# 5 digits, optionally "123 45" or "SE-123 45", and not the middle of a phone number.
_POSTCODE_RE = re.compile(r"(?<!\d)(\d{3}) ?(\d{2})(?! ?-?\d)")
_DIGITS_BEFORE_RE = re.compile(r"(\d+)[ -]$")
_APOSTROPHES_RE = re.compile(r"['’´`]")
_SPACES_RE = re.compile(r"\s+")
_FOLD_TABLE = MappingProxyType(
    str.maketrans({"æ": "ae", "ø": "o", "ß": "ss", "ð": "d", "þ": "th", "ł": "l"})
)

# Colloquial short names that are unambiguous in Swedish writing.
_NICKNAMES = MappingProxyType({"sthlm": "0180", "gbg": "1480"})

# Words before a name that mark it as a place ("i Mark", "in Ale", "på Gotland").
_CUES_BEFORE = _wordset(
    "i på pa in at near från fran from utanför utanfor nära nara inom kring runt around within vid",
)
# Words after a name that mark it as a municipality ("Marks kommun", "Vara stad").
_CUES_AFTER = _wordset("kommun kommuns kommune stad stads municipality city town")
# A municipality name right after these, or right before _COUNTY_AFTER, means a county or a
# police region ("Region Stockholm", "Stockholms län"), not the municipality - unless the
# county has just this one municipality ("Region Gotland").
_REGION_BEFORE = _wordset("region regionen polisregion polisregionen county")
_COUNTY_AFTER = _wordset("län läns lan lans county region regionen polisregion")

# Suffixes of compounds built on a municipality name ("Malmöbo", "Göteborgsområdet").
_COMPOUND_SUFFIXES = (
    "området",
    "omradet",
    "trakten",
    "polisen",
    "borna",
    "bor",
    "bo",
    "arna",
    "are",
)

# Ordinary Swedish/English words (as typed, lowercase) that are also place names or fold to
# one: they need a cue. Also never used as fuzzy queries.
_COMMON_WORDS = _wordset(
    """
    as ås or ro rö bor bro ed kil lit los lös lur ska äng are nås nas åsa asa aby
    bara fors holm horn kalv larv lima vara vega vena vita väja råda rada ange mala skog
    nora berg mark ale save tore vase ruda hede sala
    backe backa berga boden forsa hamra horda halta kosta kärna karna liden ljung valla
    viken stora salen skara skruv kinda torso faker hallen hammar handen stigen insjön
    insjon trädet tradet fristad trekanten centrum heden höglandet hoglandet tränas salem
    kärra karra lunden flaten skäret skaret nyland byske langas långas
    """,
)

# Everyday nouns in definite form ("ont i handen", "i centrum"): a cue counts only when the
# word is capitalised ("i Handen").
_CAPITALISED_ONLY = _wordset(
    "handen viken salen hallen stigen boden trädet tradet insjön insjon heden lunden flaten "
    "skäret skaret centrum backen"
)

# Function and domain words never worth a fuzzy look-up (they would only add false hits).
_STOPWORDS = _wordset(
    """
    och att det som en ett är ar av för for med till den har de inte om vad var jag du vi
    ni han hon man min mitt mina din ditt dina kan ska vill hur när nar vem vilka vilken
    vilket eller men så sa från fran här har där dar hej hejsan tack mycket bra nej ja
    också ocksa bara någon nagon något nagot några nagra finns gäller galler alla också
    polisen polis polis lovat lovar lovade löfte löften lofte loften medborgarlöfte
    medborgarlöften medborgarlofte medborgarloften kommun kommunen kommuner stad staden
    stadsdel stadsdelen område området omradet länet lanet region regionen hjälp hjalp
    behöver behover anmäla anmala tipsa tips fråga fraga frågor fragor undrar skulle
    kunna borde varför varfor eftersom efter innan under över over mellan utan sedan
    brott trygghet tryggt otrygg säkerhet sakerhet närheten narheten bostad adress
    bor bodde hemma hemort jobbar arbetar väldigt valdigt gärna garna hälsningar
    the a an is are was were be been what where when which who whom why how in on at of
    to for from with about into my your our their there here this that these those it
    its you we they he she i me us them and or but not no yes please thanks thank hello
    police promise promises promised citizen citizens citizenship local municipality
    city town area district live living lives near around would could should can will
    have has had does did do tell know want need help report crime safety
    """,
)


@dataclass(frozen=True)
class Place:
    """A place in Sweden, always tied to the municipality whose promise applies there.

    ``matched`` is the reference spelling that was recognised ("Visby", "Gothenburg",
    "123 45 Farsta"), so a reply can echo what was understood.
    """

    kind: str  # "municipality" | "district" | "postcode" | "post_town"
    municipality_code: str
    municipality: str
    county: str
    police_region: str
    district: str | None = None
    postcode: str | None = None
    matched: str = ""
    full_name: str = ""  # the municipality's official name ("Göteborgs kommun", "Region Gotland")


@dataclass(frozen=True)
class Resolution:
    """Outcome of :meth:`PlaceIndex.resolve`: found one place, several candidates, or none."""

    status: str  # "found" | "ambiguous" | "none"
    place: Place | None
    candidates: tuple[Place, ...]


@dataclass(frozen=True)
class _Entry:
    """One spelling of one place in the name index."""

    raw: str  # normalised spelling with diacritics, words joined by single spaces
    tier: int  # 0 municipality name or alias, 1 district, 2 post town
    place: Place
    weight: int  # postcodes behind a post town; orders candidates


@dataclass(frozen=True)
class _Mention:
    """A place found in the message, with every municipality it may belong to."""

    places: tuple[Place, ...]
    strength: int  # _STRONG, _CUED (everyday word with a cue) or _REFINE_ONLY
    codes: frozenset[str]


@dataclass(frozen=True)
class _LocalArea:
    area: str  # folded; "" when the row has no sub-area
    name: str
    covers_municipality: bool


def _fold(text: str) -> str:
    """Lowercase and strip diacritics ("Göteborg" -> "goteborg") for keyboard-agnostic keys."""
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text.translate(_FOLD_TABLE))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    """Split into words (case and diacritics kept); hyphens and punctuation separate words."""
    return _WORD_RE.findall(_APOSTROPHES_RE.sub("", unicodedata.normalize("NFC", text)))


def _key(text: str) -> tuple[str, str]:
    """The (raw, folded) index keys of a reference name."""
    raw = " ".join(_words(text.lower()))
    return raw, _fold(raw)


def _budget(length: int) -> int:
    """Edit distance tolerated for a name of this length: none for very short names."""
    if length <= 4:
        return 0
    return 1 if length < _LONG_NAME else 2


def _deletions(word: str, depth: int) -> set[str]:
    """All strings reachable from ``word`` by deleting up to ``depth`` characters."""
    result = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w)) if len(w) > 1}
        result |= frontier
    return result


def _osa_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, or ``limit + 1`` if larger."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, prev2[j - 2] + 1)
            cur[j] = value
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _postcodes_in(text: str) -> list[str]:
    """Five-digit postcodes in ``text``, skipping digit groups of phone numbers.

    A number just before is fine when it looks like a house number ("Storgatan 12 413 19"),
    not when it looks like an area code or another group ("070 123 45", "08-123 45").
    """
    found = []
    for match in _POSTCODE_RE.finditer(text):
        before = _DIGITS_BEFORE_RE.search(text, 0, match.start())
        if before and (len(before.group(1)) >= 3 or before.group(1).startswith("0")):
            continue
        found.append(match.group(1) + match.group(2))
    return found


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _best_tier(entries: Iterable[_Entry]) -> tuple[_Entry, ...]:
    """Pick what a name means when it names several things.

    A municipality name beats everything ("Stockholm" is not the post town that also covers
    Solna). A district beats a post town of the same name in the same municipality ("Farsta"),
    but a same-named post town elsewhere stays a candidate ("Solberga").
    """
    entries = tuple(entries)
    munis = tuple(e for e in entries if e.tier == 0)
    if munis:
        return munis
    districts = tuple(e for e in entries if e.tier == 1)
    towns = tuple(e for e in entries if e.tier == 2)
    if districts:
        codes = {e.place.municipality_code for e in districts}
        if any(t.place.municipality_code in codes for t in towns):
            towns = ()
        return districts + towns
    return towns


class PlaceIndex:
    """In-memory index of Swedish places; build once with :meth:`load`, then query freely."""

    def __init__(
        self,
        municipalities: dict[str, Place],
        county_sizes: dict[str, int],
        names: dict[str, tuple[_Entry, ...]],
        deletes: dict[str, tuple[str, ...]],
        fuzzy_shapes: dict[tuple[str, int], frozenset[int]],
        postcodes: dict[str, tuple[str, str]],
        local_areas: dict[str, tuple[_LocalArea, ...]],
        district_areas: dict[tuple[str, str], str],
    ) -> None:
        self._municipalities = municipalities
        self._county_sizes = county_sizes
        self._names = names
        self._deletes = deletes
        self._fuzzy_shapes = fuzzy_shapes
        self._postcodes = postcodes
        self._local_areas = local_areas
        self._district_areas = district_areas
        self._max_words = max((k.count(" ") + 1 for k in names), default=1)
        # First words of multi-word names: other words need no multi-word look-ups.
        self._multi_first = frozenset(k.split(" ", 1)[0] for k in names if " " in k)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, data_dir: Path) -> PlaceIndex:
        """Read ``data/places/*.csv`` and precompute every look-up table (about 0.2 s)."""
        data_dir = Path(data_dir)
        municipalities: dict[str, Place] = {}
        county_of: dict[str, str] = {}
        spellings: dict[str, dict[str, _Entry]] = defaultdict(dict)

        def add(name: str, tier: int, place: Place, weight: int = 0) -> None:
            raw, folded = _key(name)
            if not folded:
                return
            ident = f"{raw}|{tier}|{place.municipality_code}|{place.district}|{place.matched}"
            spellings[folded].setdefault(ident, _Entry(raw, tier, place, weight))

        for row in _read_csv(data_dir / "municipalities.csv"):
            code = row["code"]
            place = Place(
                kind="municipality",
                municipality_code=code,
                municipality=row["name"],
                county=row["county"],
                police_region=row["police_region"],
                matched=row["name"],
                full_name=row["full_name"],
            )
            municipalities[code] = place
            county_of[code] = row["county_code"]
            add(row["name"], 0, place)
            short = re.sub(r"^Region\s+|\s+kommun$", "", row["full_name"])
            if short not in (row["name"], row["name"] + "s"):
                add(short, 0, replace(place, matched=short))  # "Falu"
            if row.get("english_name"):
                english = row["english_name"]
                add(english, 0, replace(place, matched=english))
        for nickname, code in _NICKNAMES.items():
            add(nickname, 0, municipalities[code])

        county_sizes: dict[str, int] = defaultdict(int)
        for county in county_of.values():
            county_sizes[county] += 1
        sizes = {code: county_sizes[county] for code, county in county_of.items()}

        district_areas: dict[tuple[str, str], str] = {}
        for row in _read_csv(data_dir / "districts.csv"):
            muni = municipalities[row["municipality_code"]]
            place = replace(
                muni, kind="district", district=row["district"], matched=row["district"]
            )
            add(row["district"], 1, place)
            area_key = _key(row["area"])[1]
            district_areas[(muni.municipality_code, _key(row["district"])[1])] = area_key

        postcodes: dict[str, tuple[str, str]] = {}
        town_counts: dict[tuple[str, str], int] = defaultdict(int)
        for row in _read_csv(data_dir / "postcodes.csv"):
            postcodes[row["postcode"]] = (row["post_town"], row["municipality_code"])
            town_counts[(row["post_town"], row["municipality_code"])] += 1
        for (town, code), count in sorted(town_counts.items()):
            muni = municipalities[code]
            place = replace(muni, kind="post_town", matched=town)
            add(town, 2, place, count)

        names = {
            folded: tuple(sorted(by_id.values(), key=lambda e: (e.tier, -e.weight, e.raw)))
            for folded, by_id in spellings.items()
        }

        deletes: dict[str, set[str]] = defaultdict(set)
        shapes: dict[tuple[str, int], set[int]] = defaultdict(set)
        for folded, entries in names.items():
            budget = _budget(len(folded))
            if any(e.raw in _COMMON_WORDS for e in entries):
                continue
            # Short post-town names sit one typo away from everyday words ("granne" ~ Gränna,
            # "stole" ~ Stöde), so only municipalities and districts get fuzzy matching there.
            if budget and (len(folded) >= _LONG_NAME or any(e.tier < 2 for e in entries)):
                # Keyed by the first letter, which a fuzzy match must share (see _fuzzy_lookup).
                for variant in _deletions(folded[1:], budget):
                    deletes[folded[0] + variant].add(folded)
                shapes[(folded[0], folded.count(" ") + 1)].add(len(folded))

        local_areas: dict[str, list[_LocalArea]] = defaultdict(list)
        for row in _read_csv(data_dir / "local_police_areas.csv"):
            local_areas[row["municipality_code"]].append(
                _LocalArea(
                    area=_key(row["area"])[1],
                    name=row["local_police_area"],
                    covers_municipality=row["covers"] == "municipality",
                )
            )

        return cls(
            municipalities=municipalities,
            county_sizes=sizes,
            names=names,
            deletes={k: tuple(sorted(v)) for k, v in deletes.items()},
            fuzzy_shapes={k: frozenset(v) for k, v in shapes.items()},
            postcodes=postcodes,
            local_areas={k: tuple(v) for k, v in local_areas.items()},
            district_areas=district_areas,
        )

    # ------------------------------------------------------------------ public queries

    def municipality(self, code: str) -> Place | None:
        """The municipality with this SCB code ("0180"), or None if there is none."""
        return self._municipalities.get(code.strip().zfill(4)) if code else None

    def local_police_area(self, municipality_code: str, district: str | None = None) -> str | None:
        """Local police area (lokalpolisområde) for a municipality, or a district of it.

        Big cities hold several local police areas, so without a matching district they give
        None rather than a guess; a district is matched by name or by the larger area it is
        part of (Hjällbo -> Angered).
        """
        areas = self._local_areas.get(municipality_code, ())
        if district:
            wanted = _key(district)[1]
            parent = self._district_areas.get((municipality_code, wanted), "")
            for area in areas:
                if area.area and area.area in (wanted, parent):
                    return area.name
        for area in areas:
            if area.covers_municipality:
                return area.name
        return None

    def resolve(self, text: str) -> Resolution:
        """Find the place a message (or a bare place name) refers to.

        A postcode must exist; names are matched exactly first (diacritics optional,
        inflections stripped), and only if nothing matched, with a bounded edit distance.
        Several mentions that agree on one municipality give its most specific place
        ("Hjällbo i Göteborg" -> district Hjällbo); disagreeing ones give "ambiguous".
        """
        text = _SPACES_RE.sub(" ", unicodedata.normalize("NFC", text or ""))
        mentions: list[_Mention] = []
        towns_in_address: set[str] = set()
        for code in _postcodes_in(text):
            known = self._postcodes.get(code)
            if known is None:
                continue
            town, muni_code = known
            muni = self._municipalities[muni_code]
            pretty = f"{code[:3]} {code[3:]}"
            place = replace(muni, kind="postcode", postcode=pretty, matched=f"{pretty} {town}")
            mentions.append(_Mention((place,), _STRONG, frozenset({muni_code})))
            towns_in_address.add(_key(town)[1])

        words = _words(text)
        raw = [w.lower() for w in words]
        folded = [_fold(w) for w in raw]
        capitals = [w[0].isupper() for w in words]
        rejected: set[int] = set()
        exact = self._exact_mentions(raw, folded, capitals, rejected)
        for start, size, entries, strength in exact:
            if " ".join(folded[start : start + size]) in towns_in_address:
                continue  # the post town of an address line, already covered by its postcode
            mentions.append(self._mention(entries, strength))
        if not any(m.strength > _REFINE_ONLY for m in mentions):
            for entries in self._fuzzy_mentions(raw, folded, rejected):
                mentions.append(self._mention(entries, _STRONG))
        return _combine(mentions)

    # ------------------------------------------------------------------ matching

    def _mention(self, entries: tuple[_Entry, ...], strength: int) -> _Mention:
        places = tuple(dict.fromkeys(e.place for e in entries))
        return _Mention(places, strength, frozenset(p.municipality_code for p in places))

    def _lookup(self, folded: str, raw: str) -> tuple[_Entry, ...]:
        """Entries for a folded key; an exact diacritic match narrows "habo" to Habo, not Håbo."""
        bucket = self._names.get(folded)
        if not bucket:
            return ()
        same = tuple(e for e in bucket if e.raw == raw)
        return _best_tier(same or bucket)

    def _lookup_inflected(
        self, raw: str, folded: str, single: bool
    ) -> tuple[tuple[_Entry, ...], str]:
        """Exact look-up allowing a genitive -s and, for one word, a compound suffix."""
        entries = self._lookup(folded, raw)
        if entries:
            return entries, raw
        if raw.endswith("s") and len(raw) > 3:
            entries = self._lookup(folded[:-1], raw[:-1])
            if entries:
                return entries, raw[:-1]
        if single:
            for suffix in _COMPOUND_SUFFIXES:
                if not raw.endswith(suffix) or len(raw) - len(suffix) < 4:
                    continue
                stem = raw[: -len(suffix)]
                for cand in (stem, stem[:-1]) if stem[-1] in "sa" else (stem,):
                    if len(cand) < 4 or cand in _COMMON_WORDS:
                        continue
                    found = tuple(e for e in self._lookup(_fold(cand), cand) if e.tier == 0)
                    if found:
                        return found, cand
        return (), raw

    def _accept(
        self,
        raw: list[str],
        start: int,
        size: int,
        entries: tuple[_Entry, ...],
        common: bool,
        capitalised: bool = True,
    ) -> bool:
        """Check the context: cues for everyday words, and counties/regions are not places."""
        before = raw[start - 1] if start > 0 else ""
        after = raw[start + size] if start + size < len(raw) else ""
        if (before in _REGION_BEFORE or after in _COUNTY_AFTER) and any(
            e.tier == 0 and self._county_sizes.get(e.place.municipality_code, 0) > 1
            for e in entries
        ):
            return False
        if not common:
            return True
        cue = before in _CUES_BEFORE or after in _CUES_AFTER
        if cue and (capitalised or raw[start] not in _CAPITALISED_ONLY):
            return True
        rest = raw[:start] + raw[start + size :]
        return all(w in _CUES_BEFORE or w in _CUES_AFTER for w in rest)

    def _exact_mentions(
        self, raw: list[str], folded: list[str], capitals: list[bool], rejected: set[int]
    ) -> Iterator[tuple[int, int, tuple[_Entry, ...], int]]:
        """Longest-first, left-to-right exact matches; rejected word positions are recorded."""
        i = 0
        while i < len(raw):
            longest = min(self._max_words, len(raw) - i) if folded[i] in self._multi_first else 1
            for size in range(longest, 0, -1):
                raw_key = " ".join(raw[i : i + size])
                entries, stem = self._lookup_inflected(
                    raw_key, " ".join(folded[i : i + size]), size == 1
                )
                if not entries:
                    continue
                common = raw_key in _COMMON_WORDS or stem in _COMMON_WORDS
                if self._accept(raw, i, size, entries, common, capitals[i]):
                    yield i, size, entries, _STRONG if not common else _CUED
                    i += size
                    break
                if common and self._accept(raw, i, size, entries, False):
                    # An everyday word without a cue ("centrum i Malmö") may still say which
                    # part of a municipality named elsewhere is meant, never which municipality.
                    yield i, size, entries, _REFINE_ONLY
                    i += size
                    break
                rejected.update(range(i, i + size))
            else:
                i += 1

    def _fuzzy_mentions(
        self, raw: list[str], folded: list[str], rejected: set[int]
    ) -> Iterator[tuple[_Entry, ...]]:
        """Typo-tolerant matches of 1-3 words, best distance first, never overlapping."""
        found: list[tuple[int, int, int, tuple[_Entry, ...]]] = []
        for i in range(len(raw)):
            for size in range(1, min(3, len(raw) - i) + 1):
                last = raw[i + size - 1]
                if i + size - 1 in rejected or last in _STOPWORDS:
                    break
                key = " ".join(folded[i : i + size])
                if size == 1 and (len(key) < 5 or last in _COMMON_WORDS):
                    continue
                best = self._fuzzy_lookup(key)
                if key.endswith("s") and len(key) > 5:
                    alt = self._fuzzy_lookup(key[:-1])
                    if alt and (not best or alt[0] < best[0]):
                        best = alt
                if best and self._fuzzy_context_ok(raw, i, size, best[1]):
                    found.append((best[0], -size, i, best[1]))
        taken: set[int] = set()
        for _dist, neg_size, start, entries in sorted(found, key=lambda f: (f[0], f[1], f[2])):
            span = set(range(start, start - neg_size))
            if span & taken:
                continue
            taken |= span
            yield entries

    def _fuzzy_context_ok(
        self, raw: list[str], start: int, size: int, entries: tuple[_Entry, ...]
    ) -> bool:
        """A guessed name needs a locative cue, or a message with nothing else in it.

        Long names (a typo of "Eskilstuna") may also stand among function and domain words
        ("medborgarlöfte Eskilstun").
        """
        if not self._accept(raw, start, size, entries, False):
            return False
        before = raw[start - 1] if start > 0 else ""
        after = raw[start + size] if start + size < len(raw) else ""
        if before in _CUES_BEFORE or after in _CUES_AFTER:
            return True
        rest = raw[:start] + raw[start + size :]
        if all(w in _CUES_BEFORE or w in _CUES_AFTER for w in rest):
            return True
        long_name = all(len(_fold(e.raw)) >= _LONG_NAME for e in entries)
        return long_name and all(w in _STOPWORDS or w in _CUES_AFTER for w in rest)

    def _fuzzy_lookup(self, query: str) -> tuple[int, tuple[_Entry, ...]] | None:
        """Names within their edit budget of ``query``; all names at the best distance.

        Names must share the first letter, so both sides are keyed by it and only the rest is
        varied; deeper deletions are generated only when a long name could still be reached.
        """
        lengths = self._fuzzy_shapes.get((query[0], query.count(" ") + 1), ())
        size = len(query)
        if not any(abs(length - size) <= _budget(length) for length in lengths):
            return None
        head = query[0]
        best = 3
        hits: list[str] = []
        seen: set[str] = set()
        level = {query[1:]}
        for depth in range(3):
            if depth == 2 and (best <= 1 or size < 7):
                break
            if depth:
                level = {w[:i] + w[i + 1 :] for w in level for i in range(len(w))}
            for variant in level:
                for name in self._deletes.get(head + variant, ()):
                    if name in seen:
                        continue
                    seen.add(name)
                    budget = _budget(len(name))
                    dist = _osa_distance(query, name, budget)
                    if dist == 0 or dist > budget or dist > best:
                        continue
                    if dist < best:
                        best, hits = dist, []
                    hits.append(name)
            if depth == 1 and best <= 1:
                break
        if not hits:
            return None
        entries: list[_Entry] = []
        for name in sorted(hits):
            entries.extend(_best_tier(self._names[name]))
        return best, tuple(entries)


def _combine(mentions: list[_Mention]) -> Resolution:
    """Merge mentions: agreement on one municipality -> its most specific place."""
    if not mentions:
        return Resolution("none", None, ())
    basis = [m for m in mentions if m.strength == _STRONG]
    basis = basis or [m for m in mentions if m.strength == _CUED]
    if not basis:
        return Resolution("none", None, ())
    common = frozenset.intersection(*(m.codes for m in basis))
    if common:
        chosen: dict[str, Place] = {}
        for mention in mentions:
            for place in mention.places:
                code = place.municipality_code
                if code not in common:
                    continue
                if code not in chosen or _SPECIFICITY[place.kind] > _SPECIFICITY[chosen[code].kind]:
                    chosen[code] = place
        candidates = tuple(chosen.values())
    else:
        candidates = tuple(dict.fromkeys(p for m in basis for p in m.places))
    if len(candidates) == 1:
        return Resolution("found", candidates[0], candidates)
    return Resolution("ambiguous", None, candidates)
