"""Understand where in Sweden a citizen means: municipality, district, post town or postcode.

Citizens ask "what have the police promised where I live?" in free text, with inflections
("Gävles", "i Karlstads kommun"), without diacritics ("Malmo"), with typos ("Eskilstun"),
in English ("Gothenburg") or with a postcode ("123 45"). ``PlaceIndex`` answers such questions
from the project's own files in ``data/places/`` (built by ``bot.places_build``), entirely in
memory: everything is precomputed once in :meth:`PlaceIndex.load`, so a query is a handful of
dictionary look-ups (typos via a deletion-neighbourhood index, SymSpell style) and never scans
the 15 000 postcodes or the 6 000 names.

Precision over recall for everyday words: a word becomes a place only with place evidence
(see :func:`_enough`). Municipalities and well-known districts (the Stockholm list, the
hand-made aliases, the police's listed areas) count by name unless the name is also an
everyday word ("Mark", "Vara", "Backa": then "i Mark", "Marks kommun" or the name alone).
The ~4 000 neighbourhoods from SCB's RegSO names and the cities' district lists, and the post
towns, need a preposition, a capital inside the sentence, a question about an area, a
multi-word name or the name alone; those that are also everyday words (``everyday_words.txt``:
"bära" ~ Bara, "sälen") need a capital letter as well. An everyday word is never a typo of a
place ("i första hand" is not Farsta), names of at most four letters are never matched
fuzzily, and a municipality named beside a neighbourhood ("Alby i Botkyrka") picks the
namesake there and rules out namesakes elsewhere.
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
# A citizen correcting themselves ("Norrköping ... nej vänta, jag menar Linköping"): the
# place named after the last such marker wins.
_CORRECTION_RE = re.compile(
    r"\b(?:jag menar|menar jag|jag menade|menade jag|nej vänta|nej förlåt|förlåt|rättelse|"
    r"eller nej|eller snarare|förresten|skrev fel|inte .{1,40}? utan|(?:nej|nä|no)(?=\s*,)|"
    r"i mean|i meant|no wait|sorry|or rather|actually|scratch that|my bad|correction)\b",
    re.IGNORECASE,
)
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

# The biggest cities as people write them in other languages: Cyrillic (Russian/Ukrainian,
# with the locative and genitive forms), Arabic and Persian script, and the exonyms of
# Finnish, Polish, Spanish, Italian and Bosnian/Croatian/Serbian; so a message in another
# language that names one still gets its promise ("я живу в Уппсале", "asun Tukholmassa").
_OTHER_LANGUAGES = MappingProxyType({
    "0180": "Стокгольм Стокгольме Стокгольма Стокгольмі ستوكهولم استوكهولم استکهلم Tukholma "
            "Sztokholm Sztokholmie Estocolmo Stoccolma Stokholm Stokholmu Štokholm Štokholmu",
    "1480": "Гётеборг Гетеборг Гётеборге Гетеборге Гётеборга Гетеборга Йотеборг Йотеборзі "
            "Йотеборге يوتبوري غوتنبرغ جوتنبرج گوتنبرگ يوتيبوري یوتبوری Göteborgu Geteborg "
            "Geteborgu Gotemburgo",
    "1280": "Мальмё Мальме Мальмьо مالمو",
    "0380": "Уппсала Уппсале Уппсалы Уппсалі أوبسالا اوبسالا اپسالا",
    "1880": "Эребру Эребро Еребру أوريبرو اوربرو",
    "1980": "Вестерос Вестеросе Вестеросі فيستيروس وستروس",
    "0580": "Линчёпинг Линчепинг Линчёпинге Линчепинге لينشوبينغ لينشوبينك",
    "0581": "Норрчёпинг Норрчепинг Норрчёпинге Норрчепинге نورشوبينغ نورشوبينك",
    "1283": "Хельсингборг Хельсинборг Хельсингборге هلسنغبوري هلسينبوري",
    "0680": "Йёнчёпинг Йончепинг Йёнчёпинге Йончепинге يونشوبينغ يونشوبينك",
    "2480": "Умео Умеа أوميو اوميو",
    "2180": "Евле Ёвле يافله",
    "1281": "Лунд Лунде لوند",
    "0780": "Векшё Вехше Векше فيكخو فيكشو",
    "1490": "Бурос Бурусе بوروس",
})

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

# Words that make a message a question about an area ("vad har polisen lovat sanna"): place
# evidence for a neighbourhood or post town named without a preposition.
_AREA_QUESTION = _wordset(
    """
    lovat lovar lovade löfte löftet löften lofte loftet loften medborgarlöfte medborgarlöftet
    medborgarlöften medborgarlofte medborgarloftet medborgarloften bor bo område området
    omrade omradet stadsdel stadsdelen promise promises promised pledge live lives living
    area neighbourhood neighborhood district
    """,
)

# Arabic one-letter prepositions and "and", written onto the next word (ب in, ل to, و and).
_ARABIC_PREFIXES = "بلو"

# Suffixes of compounds built on a municipality name ("Malmöbo", "Göteborgsområdet"), and
# the case endings other languages put on it: Finnish ("Västeråsissa", "Uppsalassa") and
# Turkish ("Örebro'da"; the apostrophe is dropped before matching).
_COMPOUND_SUFFIXES = (
    "issa", "issä", "ista", "istä", "ssa", "ssä", "sta", "stä", "lla", "llä", "lta", "ltä",
    "iin", "hin",
    "dan", "den", "tan", "ten", "da", "de", "ta", "te", "ya", "ye",
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
    kärra karra lunden flaten skäret skaret nyland byske langas långas söder soder lina
    klippan
    """,
)

# Everyday nouns in definite form ("ont i handen", "i centrum"): a cue counts only when the
# word is capitalised ("i Handen").
_CAPITALISED_ONLY = _wordset(
    "handen viken salen hallen stigen boden trädet tradet insjön insjon heden lunden flaten "
    "skäret skaret centrum backen söder soder klippan"
)

# Well-known districts whose name is also an everyday noun ("en gammal kista på vinden"):
# lower-case, they need a preposition or the name alone like any other place.
_NOUN_DISTRICTS = _wordset("kista")

# A capitalised word right after one of these is a person's name, not a place ("min farmor
# Vilhelmina", "min granne Peter Lund", "my daughter Dorotea"), unless it is cued itself.
_PERSON_BEFORE = _wordset(
    """
    mamma mor morsan pappa far farsan farmor farfar mormor morfar dotter dottern son sonen
    bror brorsan brodern syster systern syrran granne grannen grannar kompis kompisen vän
    vännen väninna väninnan kollega kollegan sambo sambon fru frun make maken flickvän
    pojkvän kusin kusinen moster mostern faster fastern morbror farbror barnbarn svärmor
    svärfar chef chefen lärare läraren
    mother mom mum father dad daughter son brother sister neighbour neighbor friend wife
    husband grandma grandmother grandpa grandfather aunt uncle cousin colleague boyfriend
    girlfriend partner boss teacher
    anna eva maria karin sara lena kerstin emma ingrid marie malin christina birgitta
    sofia linnea elin ida johanna hanna julia elsa alice maja ebba wilma moa agnes lisa
    erik lars karl anders johan per peter mikael jan hans lennart olof thomas nils bengt
    magnus fredrik daniel jonas oskar oscar lucas liam william hugo elias alexander adam
    noah ali mohammed ahmed sven gustav axel filip isak ludvig viktor emil anton david
    """,
)

# "heter Dorotea" names a person unless a place noun comes first ("orten heter Mora").
_NAMED = _wordset("heter hette named called")
_PLACE_NOUNS = _wordset(
    "kommun kommunen stad staden ort orten by byn område området stadsdel stadsdelen stället "
    "platsen town city place village area municipality district suburb"
)

# Entries of _PERSON_BEFORE that are also everyday words: a name follows them only capitalised.
_WORD_NAMES = _wordset("per hans far mor son jan partner boss chef")

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
    core: bool  # a municipality or well-known district: its name alone means the place


@dataclass(frozen=True)
class _Mention:
    """A place found in the message, with every municipality it may belong to."""

    places: tuple[Place, ...]
    strength: int  # _STRONG, _CUED (everyday word with a cue) or _REFINE_ONLY
    codes: frozenset[str]
    # Neighbourhoods that a well-known district of the same name overshadows ("Gamla stan"
    # in Motala beside Stockholm's): candidates only where their municipality is named too.
    minor: frozenset[Place] = frozenset()


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


def _plain_for(typed: str, name: str) -> bool:
    """Is ``typed`` the name with some diacritics left out (never changed or added)?"""
    return len(typed) == len(name) and all(
        t == n or (t.isascii() and _fold(n) == t) for t, n in zip(typed, name, strict=True)
    )


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
    Solna). A district beats a post town of the same name in its own municipality and beyond
    ("Farsta"; its post town spills over), but a post town that merely shares the name of a
    district elsewhere stays a candidate ("Solberga").
    """
    entries = tuple(entries)
    munis = tuple(e for e in entries if e.tier == 0)
    if munis:
        return munis
    districts = tuple(e for e in entries if e.tier == 1)
    towns = tuple(e for e in entries if e.tier == 2)
    codes = {e.place.municipality_code for e in districts}
    if any(t.place.municipality_code in codes for t in towns):
        towns = ()  # the district is what the name means ("Farsta"; its post town spills over)
    return districts + towns


@dataclass(frozen=True)
class _Evidence:
    """What around a matched name says it is a place."""

    cue: bool  # a preposition before it, or "kommun"/"stad" after it
    alone: bool  # nothing else in the message but such words: a bare answer to "where?"
    capitalised: bool  # typed with a capital letter
    inside: bool  # not a sentence's first word (so a capital is not just sentence case)
    question: bool  # the message asks about an area ("vad har polisen lovat ...")
    multi_word: bool  # a name of several words matched whole ("Hässelby Strand")


@dataclass(frozen=True)
class _Message:
    """The words of one message: lower-case, folded, and whether each was capitalised."""

    raw: tuple[str, ...]
    folded: tuple[str, ...]
    capitals: tuple[bool, ...]
    # Where a capital says nothing: the first word of a sentence, or every word of a message
    # written in capitals.
    sentence_start: tuple[bool, ...]

    @classmethod
    def of(cls, text: str) -> _Message:
        text = _APOSTROPHES_RE.sub("", unicodedata.normalize("NFC", text))
        matches = list(_WORD_RE.finditer(text))
        words = [m.group() for m in matches]
        shouting = not any(ch.islower() for ch in text)
        starts = tuple(
            shouting or not text[: m.start()].rstrip() or text[: m.start()].rstrip()[-1] in ".!?"
            for m in matches
        )
        raw = tuple(w.lower() for w in words)
        return cls(
            raw, tuple(_fold(w) for w in raw), tuple(w[0].isupper() for w in words), starts
        )

    def around(self, start: int, size: int) -> tuple[str, str]:
        """The words just before and just after a span ("" at the edges)."""
        before = self.raw[start - 1] if start > 0 else ""
        after = self.raw[start + size] if start + size < len(self.raw) else ""
        return before, after

    def evidence(self, start: int, size: int) -> _Evidence:
        before, after = self.around(start, size)
        rest = self.raw[:start] + self.raw[start + size :]
        return _Evidence(
            cue=before in _CUES_BEFORE or after in _CUES_AFTER,
            alone=all(w in _CUES_BEFORE or w in _CUES_AFTER for w in rest),
            capitalised=self.capitals[start],
            inside=not self.sentence_start[start],
            question=any(w in _AREA_QUESTION for w in rest),
            multi_word=size > 1,
        )


def _a_persons_name(msg: _Message, start: int) -> bool:
    """Is the word at ``start`` a name after a kinship word or a first name ("min farmor
    Vilhelmina", "peter lund")? After a first name that is also a word ("per", "hans")
    only when capitalised."""
    # In a message in capitals every word "starts a sentence": there only the words count.
    new_sentence = msg.sentence_start[start] and not all(msg.sentence_start)
    before = msg.raw[start - 1] if start > 0 and not new_sentence else ""
    if before in _NAMED:  # "min dotter (som) heter Dorotea", not "en stad som heter Mora"
        noun = start - 2
        if noun >= 0 and msg.raw[noun] in ("som", "that", "which"):
            noun -= 1
        return noun < 0 or msg.raw[noun] not in _PLACE_NOUNS
    return before in _PERSON_BEFORE and (msg.capitals[start] or before not in _WORD_NAMES)


def _enough(core: bool, common: bool, capital_only: bool, ev: _Evidence) -> bool:
    """Is there enough place evidence for one spelling of a name?

    - A municipality or well-known district that is no everyday word: its name suffices.
    - One that is an everyday word ("Mark", "Vara", "Backa"): a preposition ("i Mark"; for
      definite nouns such as "handen" only when capitalised), or the name alone.
    - A neighbourhood or post town: a preposition, the name alone, a capital inside the
      sentence, a question about an area, or a multi-word name.
    - One that is also an everyday word or better known as something else ("bara", "halla",
      "sälen", "Skansen"): typed capitalised, and alone ("i Bara") or in a question about an
      area ("vad har polisen lovat i Sälen?").
    """
    if core:
        return not common or ev.alone or (ev.cue and (ev.capitalised or not capital_only))
    if not common:
        return ev.cue or ev.alone or (ev.capitalised and ev.inside) or ev.question \
            or ev.multi_word
    return ev.capitalised and (ev.alone or ev.question)


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
        everyday: frozenset[str] = _COMMON_WORDS,
        one_typo: frozenset[str] = frozenset(),
    ) -> None:
        self._municipalities = municipalities
        self._county_sizes = county_sizes
        self._names = names
        self._deletes = deletes
        self._fuzzy_shapes = fuzzy_shapes
        self._one_typo = one_typo  # names that tolerate one typo whatever their length
        self._postcodes = postcodes
        self._local_areas = local_areas
        self._district_areas = district_areas
        # Everyday words (as typed, lower-case) that are or resemble a place name: they need
        # place evidence, and are never taken for a typo of one.
        self._everyday = everyday
        self._max_words = max((k.count(" ") + 1 for k in names), default=1)
        # First words of multi-word names: other words need no multi-word look-ups.
        self._multi_first = frozenset(k.split(" ", 1)[0] for k in names if " " in k)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, data_dir: Path, everyday_words: bool = True) -> PlaceIndex:
        """Read ``data/places/*`` and precompute every look-up table (about 0.7 s).

        ``everyday_words=False`` leaves out ``everyday_words.txt`` (only its own build does).
        """
        data_dir = Path(data_dir)
        municipalities: dict[str, Place] = {}
        county_of: dict[str, str] = {}
        spellings: dict[str, dict[str, _Entry]] = defaultdict(dict)

        def add(name: str, tier: int, place: Place, weight: int = 0, core: bool = True) -> None:
            raw, folded = _key(name)
            if not folded:
                return
            ident = f"{raw}|{tier}|{place.municipality_code}|{place.district}|{place.matched}"
            spellings[folded].setdefault(ident, _Entry(raw, tier, place, weight, core))

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
        for code, spellings_there in _OTHER_LANGUAGES.items():
            for spelling in spellings_there.split():
                add(spelling, 0, municipalities[code])

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
            add(row["district"], 1, place, core=row["tier"] == "core")
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
            add(town, 2, place, count, core=False)

        names = {
            folded: tuple(sorted(by_id.values(), key=lambda e: (e.tier, -e.weight, e.raw)))
            for folded, by_id in spellings.items()
        }

        everyday_file = data_dir / "everyday_words.txt"
        everyday = _COMMON_WORDS | (
            frozenset(everyday_file.read_text(encoding="utf-8").split())
            if everyday_words
            else frozenset()
        )
        deletes: dict[str, set[str]] = defaultdict(set)
        shapes: dict[tuple[str, int], set[int]] = defaultdict(set)
        one_typo: set[str] = set()
        for folded, entries in names.items():
            budget = _budget(len(folded))
            if any(e.raw in everyday for e in entries):
                continue
            # Short names of post towns and neighbourhoods sit one typo away from everyday
            # words ("granne" ~ Gränna, "stole" ~ Stöde), so only well-known names get
            # fuzzy matching there.
            if not any(e.core for e in entries):
                if len(folded) < _LONG_NAME:
                    continue
                # Long neighbourhood and post-town names: one typo (keeps the index small).
                budget = 1
                one_typo.add(folded)
            if budget:
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
            one_typo=frozenset(one_typo),
            postcodes=postcodes,
            local_areas={k: tuple(v) for k, v in local_areas.items()},
            district_areas=district_areas,
            everyday=everyday,
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

    def meets_place_name(self, word: str) -> bool:
        """Is a lower-case word a spelling of a place name that is not well known, or within
        typo distance of any name the index guesses? (Builds ``everyday_words.txt``.)"""
        folded = _fold(word)
        entries, _stem = self._lookup_inflected(word, folded, True)
        if entries:
            return not any(e.core for e in entries)
        if len(folded) < 5:
            return False
        return bool(self._fuzzy_lookup(folded)) or (
            folded.endswith("s") and len(folded) > 5 and bool(self._fuzzy_lookup(folded[:-1]))
        )

    def resolve(self, text: str) -> Resolution:
        """Find the place a message (or a bare place name) refers to.

        A postcode must exist; names are matched exactly first (diacritics optional,
        inflections stripped), and only if nothing matched, with a bounded edit distance.
        Several mentions that agree on one municipality give its most specific place
        ("Hjällbo i Göteborg" -> district Hjällbo); disagreeing ones give "ambiguous".
        """
        text = _SPACES_RE.sub(" ", unicodedata.normalize("NFC", text or ""))
        corrections = list(_CORRECTION_RE.finditer(text))
        if corrections:
            corrected = self._resolve(text[corrections[-1].end() :])
            if corrected.status != "none":
                return corrected
        return self._resolve(text)

    def _resolve(self, text: str) -> Resolution:
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

        msg = _Message.of(text)
        rejected: set[int] = set()
        for start, size, entries, strength in self._exact_mentions(msg, rejected):
            if " ".join(msg.folded[start : start + size]) in towns_in_address:
                continue  # the post town of an address line, already covered by its postcode
            mentions.append(self._mention(entries, strength))
        if not any(m.strength > _REFINE_ONLY for m in mentions):
            for entries in self._fuzzy_mentions(msg, rejected):
                mentions.append(self._mention(entries, _STRONG))
        return _combine(mentions)

    # ------------------------------------------------------------------ matching

    def _mention(self, entries: tuple[_Entry, ...], strength: int) -> _Mention:
        places = tuple(dict.fromkeys(e.place for e in entries))
        famous = {_fold(e.raw) for e in entries if e.core and e.tier == 1}
        minor = frozenset(
            e.place for e in entries if e.tier == 1 and not e.core and _fold(e.raw) in famous
        )
        return _Mention(places, strength, frozenset(p.municipality_code for p in places), minor)

    def _lookup(self, folded: str, raw: str) -> tuple[_Entry, ...]:
        """Entries for a folded key; an exact diacritic match narrows "habo" to Habo, not Håbo."""
        bucket = self._names.get(folded)
        if not bucket:
            return ()
        same = tuple(e for e in bucket if e.raw == raw)
        # Folding forgives a missing diacritic ("Malmo"), not a different one: "bära" is not
        # Bara and "hallå" is not Hälla.
        return _best_tier(same or tuple(e for e in bucket if _plain_for(raw, e.raw)))

    def _lookup_inflected(
        self, raw: str, folded: str, single: bool
    ) -> tuple[tuple[_Entry, ...], str]:
        """Exact look-up allowing a genitive -s and, for one word, a compound suffix."""
        entries = self._lookup(folded, raw)
        if entries and any(e.raw == raw for e in entries):
            return entries, raw
        if raw.endswith("s") and len(raw) > 3:
            # "orsas" is Orsa's, not Örsås: a genitive spelt exactly beats a folded namesake.
            genitive = self._lookup(folded[:-1], raw[:-1])
            if any(e.raw == raw[:-1] for e in genitive):
                return genitive, raw[:-1]
        if entries:
            return entries, raw
        if raw.endswith("s") and len(raw) > 3:
            entries = self._lookup(folded[:-1], raw[:-1])
            if entries:
                return entries, raw[:-1]
        if single and raw[:1] in _ARABIC_PREFIXES and len(raw) > 4:
            # Arabic writes "in", "to" and "and" onto the name ("بستوكهولم", "لمالمو").
            found = tuple(e for e in self._lookup(folded[1:], raw[1:]) if e.tier == 0)
            if found:
                return found, raw[1:]
        if single:
            for suffix in _COMPOUND_SUFFIXES:
                if not raw.endswith(suffix) or len(raw) - len(suffix) < 4:
                    continue
                stem = raw[: -len(suffix)]
                for cand in (stem, stem[:-1]) if stem[-1] in "sa" else (stem,):
                    if len(cand) < 4 or cand in self._everyday:
                        continue
                    found = tuple(e for e in self._lookup(_fold(cand), cand) if e.tier == 0)
                    if found:
                        return found, cand
        return (), raw

    def _region_ok(self, msg: _Message, start: int, size: int, entries: tuple[_Entry, ...]) -> bool:
        """Counties and police regions are not places ("Stockholms län", "Region Skåne")."""
        before, after = msg.around(start, size)
        return not (
            (before in _REGION_BEFORE or after in _COUNTY_AFTER)
            and any(
                e.tier == 0 and self._county_sizes.get(e.place.municipality_code, 0) > 1
                for e in entries
            )
        )

    def _exact_mentions(
        self, msg: _Message, rejected: set[int]
    ) -> Iterator[tuple[int, int, tuple[_Entry, ...], int]]:
        """Longest-first, left-to-right exact matches; rejected word positions are recorded.

        Each spelling is kept only with the place evidence its kind needs (:func:`_enough`); a
        name without it may still say which part of a municipality named elsewhere is meant
        ("centrum i Malmö"), never which municipality.
        """
        raw, folded = msg.raw, msg.folded
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
                if not self._region_ok(msg, i, size, entries):
                    rejected.update(range(i, i + size))
                    continue
                common = raw_key in self._everyday or stem in self._everyday
                capital_only = raw_key in _CAPITALISED_ONLY
                evidence = msg.evidence(i, size)
                accepted = tuple(
                    e for e in entries if _enough(e.core, common, capital_only, evidence)
                )
                if raw_key in _NOUN_DISTRICTS and not (
                    evidence.capitalised or evidence.cue or evidence.alone
                ) or _a_persons_name(msg, i):
                    accepted = ()
                if accepted:
                    yield i, size, accepted, _CUED if common else _STRONG
                    others = tuple(e for e in entries if e not in accepted)
                    if others:  # "Södermalm i Kalmar": the namesake the qualifier points at
                        yield i, size, others, _REFINE_ONLY
                else:
                    yield i, size, entries, _REFINE_ONLY
                    rejected.update(range(i, i + size))
                i += size
                break
            else:
                i += 1

    def _fuzzy_mentions(self, msg: _Message, rejected: set[int]) -> Iterator[tuple[_Entry, ...]]:
        """Typo-tolerant matches of 1-3 words, best distance first, never overlapping.

        An everyday word is never a typo of a place ("i första hand" is not Farsta).
        """
        raw, folded = msg.raw, msg.folded
        found: list[tuple[int, int, int, tuple[_Entry, ...]]] = []
        for i in range(len(raw)):
            for size in range(1, min(3, len(raw) - i) + 1):
                last = raw[i + size - 1]
                if i + size - 1 in rejected or last in _STOPWORDS or last in self._everyday:
                    break
                key = " ".join(folded[i : i + size])
                if size == 1 and len(key) < 5:
                    continue
                best = self._fuzzy_lookup(key)
                if key.endswith("s") and len(key) > 5:
                    alt = self._fuzzy_lookup(key[:-1])
                    if alt and (not best or alt[0] < best[0]):
                        best = alt
                entries = self._fuzzy_context(msg, i, size, best[1]) if best else ()
                if best and entries:
                    found.append((best[0], -size, i, entries))
        taken: set[int] = set()
        for _dist, neg_size, start, entries in sorted(found, key=lambda f: (f[0], f[1], f[2])):
            span = set(range(start, start - neg_size))
            if span & taken:
                continue
            taken |= span
            yield entries

    def _fuzzy_context(
        self, msg: _Message, start: int, size: int, entries: tuple[_Entry, ...]
    ) -> tuple[_Entry, ...]:
        """The guessed names the context allows: a guess needs a preposition or a message with
        nothing else in it; a long well-known name (a typo of "Eskilstuna") may also stand
        among function and domain words ("medborgarlöfte Eskilstun")."""
        if not self._region_ok(msg, start, size, entries):
            return ()
        evidence = msg.evidence(start, size)
        if evidence.cue or evidence.alone:
            return entries
        rest = msg.raw[:start] + msg.raw[start + size :]
        if not all(w in _STOPWORDS or w in _CUES_AFTER for w in rest):
            return ()
        return tuple(e for e in entries if e.core and len(_fold(e.raw)) >= _LONG_NAME)

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
                    budget = 1 if name in self._one_typo else _budget(len(name))
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
    qualifiers = [
        m for m in mentions
        if m.strength > _REFINE_ONLY and all(p.kind == "municipality" for p in m.places)
    ]
    if qualifiers:
        # "X i Botkyrka": the municipality named qualifies X. A neighbourhood or post town
        # that has no namesake there is a misreading (Alby in Ånge), never an option.
        named = frozenset.union(*(m.codes for m in qualifiers))
        if common & named:
            common &= named
        elif not common:
            basis = [
                m for m in basis
                if m.codes & named or any(p.kind in ("municipality", "postcode") for p in m.places)
            ]
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
    minor = frozenset().union(*(m.minor for m in mentions))
    candidates = tuple(p for p in candidates if p not in minor) or candidates
    if len(candidates) == 1:
        return Resolution("found", candidates[0], candidates)
    return Resolution("ambiguous", None, candidates)
