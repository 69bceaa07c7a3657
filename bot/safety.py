"""Deterministic emergency safety net, run on every user message.

The ML classifier can miss an emergency; this module cannot be retrained into missing one.
If a message describes danger, an ongoing or just-happened crime, a fire, a medical
emergency or suicidal intent, `detect_emergency` returns a match and the bot answers
"Ring 112" whatever the classifier said.

How it decides (deliberately simple, so that a reviewer can reason about every case):

1. The text is normalised (lower case, diacritics folded, punctuation and emoji dropped) and
   runs of a repeated letter are squeezed ("inbrott" -> "inbrot", "hjäääälp" -> "hjalp"), so
   doubled-letter typos and shouting match the same patterns.  Patterns are written in plain
   (diacritic-free) spelling and squeezed the same way when compiled.
2. Trigger rules live in one data table per category.  Each rule has a *kind* that says how
   much context it needs before it counts:
   - URGENT: present-tense danger ("han slår mig", "not breathing").  Fires unless the
     message is a hypothetical question ("vad gör man om ...", "what should I do if ...")
     or a tip about something past or recurring.
   - PROBABLE: a completed act or an ambiguous statement ("blev knivhuggen", "has a gun").
     Fires unless the message has a past-time or habit marker, tip/report wording, or is
     hypothetical.
   - NOW_ONLY: a bare crime or fire noun ("inbrott", "shooting").  Fires only together with
     an explicit "now" marker ("just nu", "pågår", "right now").
3. The context markers (now, past, habitual, tip/report, hypothetical) are small regex
   tables too.  An explicit "now" overrides everything else.

Stdlib only, no mutable global state; everything is compiled at import.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

try:  # Python 3.11+ moved the regex parser (used only to index the rules, see below).
    from re import _parser as _sre_parser  # type: ignore[attr-defined]
except ImportError:  # Python 3.10
    import sre_parse as _sre_parser

__all__ = ["CATEGORIES", "EmergencyMatch", "detect_emergency", "normalize"]

CATEGORIES: Final = ("danger", "violence", "crime_now", "medical", "self_harm", "fire")

# Raw characters looked at (bounds normalisation time) and normalised characters examined.
_MAX_RAW_CHARS: Final = 8000
_MAX_EXAMINED_CHARS: Final = 2000


@dataclass(frozen=True)
class EmergencyMatch:
    """Why a message was treated as an emergency (safe to log: it never holds user text)."""

    category: str  # one of CATEGORIES
    rule: str  # short name of the rule that matched


# ----------------------------------------------------------------------------- normalising

# Apostrophes are deleted, so that "he's" -> "hes" and "don't" -> "dont" (the way users
# often type them anyway); the acute accent is among them because people type it as one.
_APOSTROPHES: Final = re.compile("['`\u00b4\u2018\u2019\u02bc\u2032]")
# Letters that Unicode decomposition does not fold to ASCII.
_UNDECOMPOSABLE: Final = {
    "ø": "o",
    "æ": "ae",
    "œ": "oe",
    "ð": "d",
    "þ": "th",
    "ł": "l",
    "đ": "d",
    "ı": "i",
}
_UNDECOMPOSABLE_TABLE: Final = str.maketrans(_UNDECOMPOSABLE)
_UNDECOMPOSABLE_LETTER: Final = re.compile(f"[{''.join(_UNDECOMPOSABLE)}]")
_COMBINING_MARKS: Final = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff]")
_NOT_WORD: Final = re.compile(r"[^a-z0-9]+")
_LETTER_BEFORE_SAME: Final = re.compile(r"([a-z])(?=\1)")
_REPEATED_PATTERN_LETTER: Final = re.compile(r"(?<!\\)([a-z])\1+")


def normalize(text: str) -> str:
    """Fold text to lower-case ASCII words separated by single spaces.

    "Någon SLÅR mig!!! 😱" -> "nagon slar mig".  Rules only ever see this form, so they need
    not care about case, diacritics, punctuation, emoji or control characters.  Non-string
    input (None, bytes) is tolerated because this runs on untrusted input.
    """
    if not isinstance(text, str):
        if text is None:
            return ""
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", errors="replace")
        else:
            text = str(text)
    folded = _APOSTROPHES.sub("", text.casefold())
    if not folded.isascii():  # the slow path only for text that needs it
        if _UNDECOMPOSABLE_LETTER.search(folded):
            folded = folded.translate(_UNDECOMPOSABLE_TABLE)
        folded = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", folded))
    return _NOT_WORD.sub(" ", folded).strip()


def _squeeze(text: str) -> str:
    """Collapse repeated letters so doubled-letter typos match ("knivhugen", "inbrot")."""
    return _LETTER_BEFORE_SAME.sub("", text)


# ----------------------------------------------------------------------------- rule tables

URGENT: Final = "urgent"
PROBABLE: Final = "probable"
NOW_ONLY: Final = "now_only"

# Reusable fragments (plain spelling, diacritics folded: å/ä -> a, ö -> o).
# People (and pets) that can be the victim after "min/mitt/mina", "my", ...
_SV_PERSON: Final = (
    r"(?:man|fru|sambo|pojkvan|flickvan|kille|tjej|partner|ex|exman|expojkvan|mamma|mor|pappa"
    r"|far|bror|syster|syskon|son|soner|dotter|dottrar|barn|bebis|baby|kompis|kompisar|van"
    r"|vanner|vaninna|granne|grannar|mormor|farmor|morfar|farfar|moster|faster|morbror"
    r"|farbror|kusin|kollega|klasskompis|elev|hund|katt)"
)
_SV_VICTIM: Final = (
    r"(?:mig|oss|dig|henne|honom|dem|dom|barnen|barnet|bebisen|mamma|pappa|nagon|folk|frun"
    r"|mannen|kvinnan|killen|tjejen|grannen|hunden|katten"
    r"|en (?:\w+ )?(?:kille|man|kvinna|tjej|person|pojke|flicka|unge|gubbe|tant|hund)"
    rf"|(?:min|mitt|mina|var|vart|vara|sin|sitt|sina|hans|hennes) (?:\w+ )?{_SV_PERSON})"
)
_SV_CLOSE_ONE: Final = (
    r"(?:man|pojkvan|sambo|ex|exman|expojkvan|pappa|far|bror|granne|partner|fru|flickvan"
    r"|mamma|son|dotter|kille|tjej)"
)
_SV_SOMEONE: Final = (
    rf"(?:han|hon|de|dom|nagon|nagra|en man|en kille|grannen|mannen|killen|min {_SV_CLOSE_ONE}"
    rf"|mitt ex)"
)
_SV_WEAPON: Final = (
    r"(?:kniv|kniven|knivar|pistol|pistolen|vapen|vapnet|gevar|gevaret|skjutvapen|yxa|yxan"
    r"|machete|hagelgevar|kpist|automatvapen|slagtra|jarnror|batong|balltra)"
)
_EN_PERSON: Final = (
    r"(?:wife|husband|partner|boyfriend|girlfriend|ex|mom|mum|mother|dad|father|brother|sister"
    r"|son|sons|daughter|daughters|child|children|kid|kids|baby|friend|friends|neighbour"
    r"|neighbor|grandma|grandmother|grandpa|grandfather|aunt|uncle|cousin|colleague"
    r"|roommate|flatmate|dog|cat)"
)
_EN_VICTIM: Final = (
    r"(?:me|us|her|him|them|someone|somebody|people|mom|mum|dad"
    rf"|(?:my|our|his|her|their) (?:\w+ )?{_EN_PERSON}"
    r"|a (?:man|woman|girl|boy|kid|child|guy|person)"
    r"|the (?:kids|children|baby|child|man|woman|girl|boy))"
)
_EN_SOMEONE: Final = (
    r"(?:he|hes|she|shes|they|theyre|someone|somebody|someones|my \w+|a man|the man|this guy)"
)
_EN_WEAPON: Final = (
    r"(?:knife|knives|gun|guns|pistol|rifle|shotgun|weapon|machete|axe|firearm|blade)"
    r"(?! licen[cs]e| permit)"
)
_EN_IS: Final = r"(?:is|are|am|s|re|m|hes|shes|theyre|im|its)"

_RuleRow = tuple[str, str, str]  # (rule name, kind, pattern)

_VIOLENCE_RULES: Final[tuple[_RuleRow, ...]] = (
    # Swedish: present tense with a victim ("han slår mig", "pappa misshandlar mamma").
    (
        "sv_beats_victim",
        URGENT,
        r"(?<!det )(?<!som )\b(?:slar|sparkar|misshandlar|stryper|kvaver|valdtar|attackerar"
        r"|angriper|knivhugger|hugger|skjuter pa|skjuter mot|skadar|pryglar|ger sig pa"
        rf"|kastar sig over) {_SV_VICTIM}\b",
    ),
    (
        "sv_being_beaten",
        URGENT,
        r"\b(?:misshandlas|valdtas|knivhuggs|attackeras|overfalls|slass|slas)\b"
        r"(?! (?:ihop|av|ut|upp|fast|samman)\b)(?! pa$)",
    ),
    (
        "sv_gets_beaten",
        URGENT,
        r"\b(?:blir|bli) (?:\w+ )?(?:slagen|slagna|misshandlad|misshandlade|knivhuggen|skjuten"
        r"|valdtagen|attackerad|overfallen|nedslagen|nerslagen|strypt)\b",
    ),
    (
        "sv_shooting_now",
        URGENT,
        r"(?<!fa )(?<!ge )(?<!fick )\b(?:skjuter|skjuts)\b"
        r"(?! (?:upp|fram|ihop|undan|till|hem|pa (?:det|att|tiden|saken|beslutet)))",
    ),
    (
        "sv_hears_shots",
        URGENT,
        r"\b(?:hor|hors|det hors) (?:\w+ )?(?:skott|skottlossning|smallar|skjutning)\b",
    ),
    (
        "sv_fight_outside",
        URGENT,
        r"\b(?:slagsmal|knivslagsmal|brak) (?:utanfor|pa gatan|i trapphuset|hos grannen)\b"
        r"|\bstryptag\b",
    ),
    (
        "sv_violence_happening",
        URGENT,
        r"\b(?:det ar|det e|det pagar) (?:ett )?(?:slagsmal|knivslagsmal|skottlossning"
        r"|skjutning|misshandel)\b|\bpagaende (?:misshandel|skottlossning|skjutning|slagsmal"
        r"|valdtakt)\b",
    ),
    (
        "sv_beat_victim_past",
        PROBABLE,
        r"(?<!det )\b(?:slog|sparkade|misshandlade|strop|strypte|kvavde|valdtog|attackerade|angrep"
        r"|knivhogg"
        r"|hogg|skot|har slagit|har misshandlat|har knivhuggit|har skjutit)"
        rf" (?:ner |ned |omkull )?{_SV_VICTIM}\b",
    ),
    (
        "sv_killed",
        PROBABLE,
        r"\b(?:slog ihjal|slagit ihjal|dodade|dodat|mordade|mordat|mordad|ihjalskjuten"
        r"|ihjalhuggen)\b",
    ),
    (
        "sv_victim_participle",
        PROBABLE,
        r"\b(?:kniv ?huggen|kniv ?huggna|knivskuren|skottskadad|skjuten|nedskjuten|nerskjuten"
        r"|misshandlad|nedslagen|nerslagen|ihjalslagen|valdtagen|overfallen|slagen"
        r"|knivhuggit|knivhuggits|skjutits|misshandlats)\b",
    ),
    ("sv_heard_shots", PROBABLE, r"\b(?:horde|hort|horts) (?:\w+ )?(?:skott|smallar)\b"),
    # English.
    (
        "en_hitting_victim",
        URGENT,
        r"\b(?:hitting|beating|kicking|punching|choking|strangling|stabbing|shooting at|raping"
        rf"|attacking|assaulting|hurting|abusing|beating up) {_EN_VICTIM}\b",
    ),
    (
        "en_hits_victim",
        URGENT,
        rf"\b(?:hits|beats|kicks|punches|chokes|strangles|rapes|abuses) {_EN_VICTIM}\b",
    ),
    (
        "en_being_beaten",
        URGENT,
        r"\b(?:being|getting) (?:beaten|beaten up|hit|attacked|assaulted|stabbed|shot|raped"
        r"|strangled|choked|kicked|punched|abused)\b",
    ),
    (
        "en_shooting_now",
        URGENT,
        rf"\b(?:{_EN_SOMEONE}|people|gunman|shooter) (?:is |are |s |re )?(?:shooting|firing)\b"
        r"|\bshots (?:fired|being fired)\b|\bactive shooter\b",
    ),
    (
        "en_hears_shots",
        URGENT,
        r"\b(?:hear|hearing|can hear) (?:\w+ ){0,2}(?:gunshots|gun shots|shots|gunfire"
        r"|shooting)\b",
    ),
    ("en_fighting_now", URGENT, rf"\b{_EN_IS} (?:fighting|brawling)\b"),
    (
        "en_victim_past",
        PROBABLE,
        r"\b(?:was|got|been|were|just got|has been|have been) (?:beaten|beaten up|hit|attacked"
        r"|assaulted|stabbed|shot|raped|strangled|choked|punched|knifed|mugged)\b",
    ),
    (
        "en_hit_victim_past",
        PROBABLE,
        r"\b(?!hit (?:me|us) up\b)(?:hit|beat|kicked|punched|choked|strangled|stabbed|shot|raped"
        rf"|attacked|assaulted|beat up|pushed|shoved|threw) {_EN_VICTIM}\b",
    ),
    ("en_stabbed_or_shot", PROBABLE, r"\b(?:stabbed|gunshot wound|gun shots|gunshots|gunfire)\b"),
)

_DANGER_RULES: Final[tuple[_RuleRow, ...]] = (
    # Threats to life: "han kommer döda mig", "jag är rädd att han dödar mig".
    (
        "sv_will_kill_me",
        URGENT,
        r"\b(?:doda|dodar|morda|mordar|sla ihjal|slar ihjal|ha ihjal|skjuta|knivhugga)"
        r" (?:mig|oss|dig|henne|honom|barnen|mina barn|oss alla)\b",
    ),
    (
        "sv_someone_takes_my_life",
        URGENT,
        rf"\b{_SV_SOMEONE} (?:\w+ ){{0,3}}(?:ta|tar) livet av (?:mig|oss)\b",
    ),
    (
        "sv_threatens",
        URGENT,
        rf"\bhotar (?:{_SV_VICTIM}|att (?:doda|skjuta|skada|sla|knivhugga|morda|ta livet"
        rf"|spranga|branna|tanda eld)|med (?:en |ett )?{_SV_WEAPON})",
    ),
    ("sv_is_threatened", URGENT, r"\b(?:blir|ar|bli) (?:\w+ )?(?:hotad|hotade)\b"),
    ("sv_was_threatened", PROBABLE, r"\b(?:blev|har blivit) (?:\w+ )?(?:hotad|hotade)\b"),
    (
        "sv_stalked",
        URGENT,
        r"\b(?:forfoljer|foljer efter|jagar|forfoljs|jagas) (?:mig|oss|henne|honom|min \w+"
        r"|mitt \w+)\b|\b(?:ar|blir|kanner mig) (?:\w+ )?forfoljd\b|\bforfoljs\b",
    ),
    ("sv_stalked_past", PROBABLE, r"\b(?:forfoljde|foljde efter) (?:mig|oss)\b|\bforfoljd\b"),
    (
        "sv_afraid_of_someone",
        URGENT,
        r"\b(?:radd|radda|livradd|skrackslagen) (?:att |for att |for )(?:han|hon|de|dom|nagon"
        rf"|honom|henne|min {_SV_CLOSE_ONE}|mitt ex|grannen|killen|mannen|hans|hennes)\b"
        r"|\b(?:radd|radda) (?:om|for) (?:mitt|vart|hennes|hans|barnens) liv\b|\blivradd\b",
    ),
    (
        "sv_in_danger",
        URGENT,
        r"\b(?:i fara|i livsfara|fara for (?:mitt|vart|hans|hennes) liv)\b",
    ),
    (
        "sv_trapped",
        URGENT,
        r"\b(?:inlast|instangd|instangda|hallen fangen|halls fangen|fasthallen|kidnappad"
        r"|kidnappat|kidnappar|kidnappade|bortrovad|gisslan)\b|\blast in (?:mig|oss)\b"
        r"|\blater (?:mig|oss) inte (?:ga|lamna|komma ut)\b|\bgommer (?:mig|oss)\b",
    ),
    (
        "sv_weapon_wielded",
        URGENT,
        rf"\b(?:viftar med|hotar med|riktar|siktar med|pekar med) (?:en |ett )?{_SV_WEAPON}\b",
    ),
    (
        "sv_has_weapon",
        PROBABLE,
        r"\b(?:har|med|bar|haller i|springer runt med|gar runt med) (?:en |ett |sin |sitt )?"
        rf"{_SV_WEAPON}\b|\b(?:bevapnad|bevapnade)\b",
    ),
    (
        "sv_screams_for_help",
        URGENT,
        r"\b(?:skriker|ropar|skrek|ropade|skrik) pa hjalp\b"
        r"|\b(?:hor|hors) (?:\w+ )?(?:skrik|skriker)\b",
    ),
    (
        "sv_cry_for_help",
        URGENT,
        r"^(?:snalla )?hjalp (?:mig|oss)(?: (?:snalla|nu|fort))*$|\bhjalp hjalp\b"
        r"|\bbehover (?:akut )?hjalp (?:akut|snabbt|omedelbart|fort)\b|\bbehover akut hjalp\b"
        r"|\b(?:kom fort|kom snabbt|skynda er)\b|\bsos\b(?! alarm)",
    ),
    (
        "sv_send_police",
        URGENT,
        r"(?<!hur )(?<!ska jag )\b(?:skicka|ring|larma) (?:hit )?(?:polis|polisen|snuten)\b",
    ),
    (
        "sv_emergency_now",
        URGENT,
        r"\b(?:det ar|det e|detta ar|har ar) (?:ett )?(?:nodlage|nodsituation|akut)\b",
    ),
    (
        "sv_bomb_or_gas",
        URGENT,
        r"\b(?:det finns|det ligger|har ligger|star) (?:en |ett )?(?:bomb|sprangladdning)\b"
        r"|\b(?:luktar gas|gaslacka|gaslukt)\b",
    ),
    (
        "bomb_or_explosive",
        PROBABLE,
        r"\b(?:bomb|bomben|bombhot|sprangladdning|handgranat|bomb threat|grenade)\b",
    ),
    (
        "sv_missing_child",
        URGENT,
        r"\b(?:mitt barn|barnet|min son|min dotter|var son|var dotter|vart barn|min lilla \w+)"
        r" (?:ar|har) (?:borta|forsvunnen|forsvunnet|forsvunnit|kidnappad|bortrovad)\b"
        r"|\bmy (?:child|son|daughter|kid|baby|little \w+) (?:is|s|has gone|went) missing\b"
        r"(?! (?:his|her|my|a|an|the|some|out)\b)",
    ),
    # English.
    (
        "en_will_kill_me",
        URGENT,
        r"\b(?:going to|gonna|will|wants to|want to|trying to|tried to|about to|coming to"
        r"|threatened to|threatening to|threatens to) (?:kill|murder|shoot|stab|hurt|rape"
        r"|strangle) (?:me|us|her|him|my \w+|the kids|the children)\b",
    ),
    (
        "en_threatening",
        URGENT,
        r"\b(?:threatening|threatens) (?:me|us|her|him|my \w+|to (?:kill|hurt|shoot|stab))\b"
        r"|\b(?:being|getting) threatened\b",
    ),
    (
        "en_stalked",
        URGENT,
        r"\b(?:following|stalking|chasing|hunting) (?:me|us|her|my \w+)\b"
        r"|\b(?:being|getting) (?:followed|stalked|chased)\b",
    ),
    ("en_followed_past", PROBABLE, r"\b(?:followed|stalked|chased) (?:me|us)\b"),
    (
        "en_afraid_of_someone",
        URGENT,
        rf"\b(?:scared|afraid|terrified|frightened) (?:that )?{_EN_SOMEONE} (?:will|is going to"
        r"|s going to|gonna|might|may|could|wants to) (?:kill|hurt|hit|beat|find|come|shoot"
        r"|stab|attack|rape)\b"
        r"|\b(?:fear|scared|afraid|terrified) for (?:my|our|his|her|their) (?:life|lives"
        r"|safety)\b",
    ),
    (
        "en_in_danger",
        URGENT,
        r"\bin (?:immediate |grave |serious |real )?danger\b"
        r"|\b(?:i|im|i am|we are|were) not safe\b",
    ),
    (
        "en_trapped",
        URGENT,
        r"\b(?:locked (?:me|us) in|held hostage|hostage|kidnapped|kidnapping|abducted"
        r"|trapped)\b|\b(?:im|i am|we are|were) locked in\b"
        r"|\b(?:wont|will not|doesnt|does not) let (?:me|us) (?:leave|go|out)\b"
        r"|\b(?:im|i am|we are|were) hiding (?:from|in)\b",
    ),
    (
        "en_weapon_wielded",
        URGENT,
        rf"\b(?:pointing|waving|aiming|brandishing) (?:a |an |the |his |her )?{_EN_WEAPON}\b",
    ),
    (
        "en_has_weapon",
        PROBABLE,
        rf"\b(?:has|have|got|holding|with|carrying) (?:a |an |the |his |her |some )?{_EN_WEAPON}"
        r"\b|\barmed\b(?! forces)",
    ),
    (
        "en_screams_for_help",
        URGENT,
        r"\b(?:screaming|shouting|crying|yelling) for help\b"
        r"|\b(?:hear|hearing|can hear) (?:\w+ ){0,2}(?:screaming|screams)\b",
    ),
    (
        "en_cry_for_help",
        URGENT,
        r"^(?:please )?help (?:me|us)(?: (?:please|now|quick|quickly))*$|\bhelp help\b"
        r"|\bneed help (?:right away|immediately|fast|quickly)\b|\bcome quick(?:ly)?\b"
        r"|\bmayday\b",
    ),
    (
        "en_send_police",
        URGENT,
        r"(?<!do i )(?<!can i )(?<!to )(?<!should i )(?<!should we )(?<!do you )(?<!number )"
        r"\b(?:send|call|get) (?:the |some )?(?:police|cops)\b",
    ),
    (
        "en_emergency_now",
        URGENT,
        r"\b(?:this is|its|it is|we have|i have|theres|there is) (?:an |a )?(?:real |medical )?"
        r"emergency\b",
    ),
    (
        "en_bomb_or_gas",
        URGENT,
        r"\b(?:theres|there is|there s) (?:a )?bomb\b"
        r"|\b(?:smell|smells|smelling) (?:of |like )?gas\b|\bgas leak\b",
    ),
)

_CRIME_NOW_RULES: Final[tuple[_RuleRow, ...]] = (
    (
        "sv_breaking_in",
        URGENT,
        r"\bbryter (?:sig )?(?:in|upp)\b|\bbryter sig (?:\w+ ){1,2}in\b"
        r"|\b(?:forsoker|haller pa att|haller pa och|ska) (?:bryta|ta|komma) (?:sig )?in\b"
        r"|\btar sig in\b|\bbryts in\b"
        r"|\b(?:rycker|drar|bankar|sparkar|hamrar) (?:i|pa) (?:min |var )?(?:dorr|dorren"
        r"|dorrhandtaget|handtaget|ytterdorren|fonstret)\b"
        r"|\bforsoker (?:oppna|bryta upp|dyrka upp|sparka in|ta sig in genom) (?:\w+ )?(?:dorr"
        r"|dorren|ytterdorren|altandorren|fonstret|fonster|laset)\b",
    ),
    ("sv_broke_in", PROBABLE, r"\b(?:brot|brutit|tog) sig in\b|\bbrot upp\b"),
    (
        "sv_intruder_inside",
        URGENT,
        r"\b(?:nagon|nagra|en man|en kvinna|en kille|tjuven|tjuvar|tjuvarna|inbrottstjuven"
        r"|inbrottstjuvar|okanda|en okand) (?:ar|e|star|gar|smyger) (?:inne )?(?:i|pa|runt"
        r"|vid|utanfor) (?:min|mitt|mina|var|vart|vara|huset|lagenheten|bostaden|hemmet"
        r"|garaget|kallaren|tradgarden|garden|dorren|fonstret|altanen)\b"
        r"|\bdet (?:ar|e) (?:nagon|nagra|en man|tjuvar|folk) (?:inne )?(?:i|pa) (?:min|mitt"
        r"|var|vart|huset|lagenheten|bostaden|garaget|kallaren|tradgarden)\b",
    ),
    (
        "sv_crime_happening",
        URGENT,
        r"\b(?:det ar|det e|det pagar) (?:ett )?(?:inbrott|ran|ranforsok)\b"
        r"|\bpagaende (?:inbrott|ran|brott)\b",
    ),
    (
        "sv_robbing",
        URGENT,
        rf"\branar (?:{_SV_VICTIM}|butiken|banken|affaren|kiosken|macken|en butik|en bank)\b"
        r"|\b(?:blir|bli) (?:\w+ )?(?:ranad|ranade)\b|\branas\b",
    ),
    ("sv_robbed", PROBABLE, r"\b(?:ranad|ranade|ranat|ranades)\b"),
    (
        "sv_stealing",
        PROBABLE,
        r"\b(?:stjal|snor) (?:min|mitt|mina|var|vart|vara|bilen|cykeln|vaskan|planboken)\b"
        r"|\bhaller pa att (?:stjala|sno|braka upp)\b",
    ),
    (
        "sv_vandalism",
        PROBABLE,
        r"\b(?:krossar|slar sonder|sparkar sonder|vandaliserar) (?:\w+ )?(?:rutor|rutan"
        r"|fonster|fonstret|bilen|bilar|dorren)\b",
    ),
    # English.
    (
        "en_breaking_in",
        URGENT,
        r"\b(?:kicking|breaking|forcing) (?:in |down )?(?:my|our|the) (?:door|window)\b"
        r"|\bbreaking (?:in|into)\b|\btrying to (?:get|break|climb|force (?:his|her|their|my)"
        r" way) (?:in|into)\b|\bbreak in in progress\b",
    ),
    ("en_broke_in", PROBABLE, r"\b(?:broke|has broken|have broken) (?:in|into)\b"),
    (
        "en_intruder_inside",
        URGENT,
        r"\b(?:someone|somebody|someones|somebodys|stranger|intruder|intruders|burglar"
        r"|burglars|thief|thieves|a man|men|people) (?:is |are |s )?(?:in|inside|in side"
        r"|outside) (?:my|our) (?:house|home|apartment|flat|room|bedroom|building|garage"
        r"|basement|yard|garden|car|door|window)\b"
        r"|\b(?:theres|there is|there s) (?:someone|somebody|a stranger|a man) (?:in|inside"
        r"|outside) (?:my|our|the)\b",
    ),
    (
        "en_crime_happening",
        URGENT,
        rf"\b{_EN_IS} (?:robbing|mugging|stealing|burgling|looting|vandalizing|vandalising"
        r"|smashing)\b|\b(?:being|getting) (?:robbed|mugged|burgled|burglarized)\b",
    ),
    ("en_intruder", PROBABLE, r"\bintruders?\b"),
    ("en_robbed", PROBABLE, r"\b(?:was|got|been|were|just got) (?:robbed|mugged|burgled)\b"),
)

_MEDICAL_RULES: Final[tuple[_RuleRow, ...]] = (
    (
        "sv_not_breathing",
        URGENT,
        r"\bandas (?:\w+ )?inte\b|\bslutat andas\b|\bkan inte andas\b"
        r"|\bfar (?:ingen|inte) luft\b|\bsvart att andas\b|\bandningsstillestand\b",
    ),
    (
        "sv_unconscious",
        URGENT,
        r"\b(?:medvetslos|medvetslosa|avsvimmad|livlos|livlosa)\b|\bgar inte att vacka\b"
        r"|\bvaknar inte\b|\breagerar inte pa tilltal\b|\bror sig inte\b"
        r"|\b(?:tappat|tappade|forlorat|forlorade) medvetandet\b",
    ),
    (
        "sv_fainted",
        PROBABLE,
        r"\b(?:svimmade|svimmat|svimmar|kollapsade|kollapsat|segnade ner|segnat ner)\b",
    ),
    (
        "sv_acute_condition",
        PROBABLE,
        r"\b(?:hjartattack|hjartinfarkt|hjartstopp|stroke(?! of)|krampanfall|epileptiskt anfall"
        r"|allergisk chock|anafylaktisk chock|anafylaxi|overdos|overdoserat|diabeteskoma"
        r"|insulinchock|blodpropp)\b",
    ),
    ("sv_bleeding", URGENT, r"\b(?:bloder|blodning|blodforlust)\b"),
    (
        "sv_badly_hurt",
        URGENT,
        r"\b(?:allvarligt|svart|illa) (?:skadad|skadade|skadat)\b|\blivshotande\b",
    ),
    ("sv_dying", URGENT, r"\bhaller pa att do\b|\bdoende\b|\bdrunknar\b"),
    (
        "sv_drowned_or_dead",
        PROBABLE,
        r"\b(?:drunknade|drunknat|ligger dod|hittat en dod|hittade en dod|dod kropp)\b",
    ),
    (
        "sv_ambulance",
        URGENT,
        r"(?<!hur )\b(?:behover|skicka|ring|ringa efter|larma) (?:en |hit |hit en )?ambulans"
        r"\w*\b|\bambulans\w* (?:behovs|kravs)\b",
    ),
    (
        "sv_accident",
        PROBABLE,
        r"\b(?:trafikolycka|bilolycka|olycka|krock|krockat|krockade|pakord|pakorda|korde pa"
        r"|korde over|kort pa|kort over)\b",
    ),
    (
        "sv_pills",
        URGENT,
        r"\b(?:tagit|tog|svalt|atit) (?:\w+ )?(?:massa|manga|alla|for manga|en burk)"
        r"(?: mina| hans| hennes| sina)? (?:tabletter|piller|somntabletter|medicin)\b"
        r"|\bforgiftad\b|\b(?:fatt i sig|druckit|atit|svalt) (?:\w+ )?(?:gift|rengoringsmedel"
        r"|tvattmedel|diskmedel|lut|klorin|frostskyddsvatska|batteri)\b",
    ),
    # English.
    (
        "en_not_breathing",
        URGENT,
        r"\b(?:not|isnt|is not|arent|wasnt|stopped|cant|can not|cannot|trouble|struggling to"
        r"|difficulty) breathing\b|\b(?:cant|can not|cannot|unable to) breathe\b",
    ),
    (
        "en_unconscious",
        URGENT,
        r"\b(?:unconscious|unresponsive|lifeless)\b|\b(?:wont|will not|doesnt|does not|not)"
        r" wak(?:e|ing) up\b|\blying on the (?:ground|floor) (?:and )?not moving\b"
        r"|\blost consciousness\b",
    ),
    ("en_fainted", PROBABLE, r"\b(?:passed out|fainted|collapsed|blacked out)\b"),
    (
        "en_acute_condition",
        PROBABLE,
        r"\b(?:heart attack|cardiac arrest|stroke(?! of)|seizure|seizures|anaphylactic|anaphylaxis"
        r"|allergic reaction|overdose|overdosed|overdosing|diabetic coma)\b",
    ),
    ("en_choking", URGENT, rf"\b{_EN_IS} choking\b(?! (?:me|her|him|us))"),
    ("en_bleeding", URGENT, r"\b(?:bleeding|bleeds|blood everywhere|losing blood)\b"),
    (
        "en_badly_hurt",
        URGENT,
        r"(?<!nobody )(?<!no one )(?<!noone )\b(?:is|are|s|re|im|badly|seriously|severely)"
        r" (?:badly |seriously |severely )?(?:injured|hurt|wounded)\b",
    ),
    ("en_dying", URGENT, rf"\b{_EN_IS} dying\b|\bdrowning\b"),
    ("en_drowned_or_dead", PROBABLE, r"\b(?:drowned|dead body|found a body|found \w+ dead)\b"),
    (
        "en_ambulance",
        URGENT,
        r"(?<!how do i )(?<!how to )\b(?:need|send|call|get|calling) (?:an |a |the )?ambulance\b",
    ),
    (
        "en_accident",
        PROBABLE,
        r"\b(?:car accident|car crash|hit by a car|(?:was|got|been) run over)\b"
        r"|\b(?:hit|ran over|run over) (?:a|the) (?:pedestrian|cyclist|child|kid|person|man"
        r"|woman|boy|girl)\b",
    ),
    (
        "en_pills",
        URGENT,
        r"\b(?:took|taken|swallowed|ate) (?:\w+ )?(?:lot of|lots of|too many|all (?:my|the|her"
        r"|his)|a bottle of|a handful of|a bunch of|bunch of|a whole (?:bottle|pack|box) of)"
        r" (?:pills|tablets|meds|medication|sleeping pills|painkillers)\b"
        r"|\bpoisoned\b|\b(?:swallowed|drank|ate) (?:a |some )?(?:batteries|battery|bleach"
        r"|poison|detergent|magnets|rat poison|antifreeze)\b",
    ),
)

_SELF_HARM_RULES: Final[tuple[_RuleRow, ...]] = (
    (
        "sv_take_my_life",
        URGENT,
        r"\b(?:ta|tar|tog|tanker ta) livet av (?:mig|sig|dig)\b|\b(?:ta|tar) mitt (?:eget )?liv\b"
        r"|\bavsluta (?:mitt liv|allt|livet)\b",
    ),
    (
        "sv_dont_want_to_live",
        URGENT,
        r"\b(?:vill|orkar) (?:bara )?inte (?:leva|finnas (?:kvar|langre|till))\b"
        r"|\bvill (?:bara |helst |hellre )?do\b",  # "vill dö"; "will do" squeezes to "wil do"
    ),
    ("sv_suicide", URGENT, r"\bsjalvmord\w*|\bsuicid\w*"),
    (
        "sv_self_harm",
        URGENT,
        r"\b(?:skada|skadar|skadat|skara|skar|skurit) (?:mig|sig) sjalv\b"
        r"|\b(?:hanga|hangt|hangde) (?:mig|sig)\b"
        r"|\bhoppa (?:framfor|fran|ut fran|ner fran|ut genom) (?:tag|taget|tunnelbanan|bron"
        r"|taket|balkongen|fonstret)\b",
    ),
    (
        "en_kill_myself",
        URGENT,
        r"\bkill(?:ing|ed)? (?:myself|himself|herself|themselves|themself)\b"
        r"|\b(?:end|ending|take|taking) (?:my|his|her|their) (?:own )?life\b|\bend it all\b",
    ),
    (
        "en_want_to_die",
        URGENT,
        r"\b(?:want|wants|wanna|going) (?:to )?die\b|\b(?:dont|do not|doesnt) want to"
        r" (?:live|be alive|exist)\b|\bno reason to live\b|\bbetter off dead\b",
    ),
    (
        "en_self_harm",
        URGENT,
        r"\b(?:hurt|harm|cut|cutting|harming|hurting) (?:myself|himself|herself|themselves)\b"
        r"|\bself ?harm\w*"
        r"|\bjump (?:off|from|in front of) (?:a|the) (?:bridge|roof|building|train|balcony"
        r"|cliff)\b",
    ),
)

_FIRE_RULES: Final[tuple[_RuleRow, ...]] = (
    (
        "sv_burning",
        URGENT,
        r"\bbrinner\b(?! for)|\bstar i (?:brand|lagor)\b|\bi lagor\b"
        r"|\b(?:fattat|tagit|fattar|tar|fattade|tog) eld\b"
        r"|\bbrandlarmet (?:gar|tjuter|piper|later)\b",
    ),
    (
        "sv_smoke",
        URGENT,
        r"\b(?:rok|roken) (?:valler|kommer|stiger|ur|fran|overallt)\b|\bluktar (?:rok|brant)\b"
        r"|\bdet ryker\b|\bfullt med rok\b",
    ),
    (
        "sv_fire_report",
        URGENT,
        r"\b(?:anmala|larma om|rapportera) (?:en )?(?:brand|eldsvada)\b"
        r"|\bdet ar (?:en )?(?:brand|eldsvada)\b",
    ),
    (
        "sv_fire_at_place",
        PROBABLE,
        r"\b(?:brand|eld) i (?:min|mitt|var|vart|huset|lagenheten|koket|trapphuset|kallaren"
        r"|bilen|skogen|byggnaden|soprummet|forradet|garaget)\b"
        r"|\b(?:brann|brunnit|satte eld pa|tande eld pa)\b",
    ),
    (
        "en_burning",
        URGENT,
        rf"\bon fire\b|\b{_EN_IS} burning\b|\bfire alarm (?:is )?(?:going off|ringing"
        r"|sounding)\b|\b(?:theres|there is|there s) (?:a )?(?:fire|blaze)\b",
    ),
    (
        "en_smoke",
        URGENT,
        r"\bsmoke (?:everywhere|coming|is coming|pouring|filling)\b|\b(?:smell|smells"
        r"|smelling) (?:of )?(?:smoke|burning)\b|\bfull of smoke\b",
    ),
    ("en_fire_report", URGENT, r"\breport (?:a |an )?fire\b"),
    (
        "en_fire_at_place",
        PROBABLE,
        r"\bfire (?:in|at) (?:my|our|the|a) \w+|\bcaught fire\b|\bset (?:\w+ )?on fire\b"
        r"|\bset fire to\b|\bburnt down\b|\bburned down\b",
    ),
)

# Bare nouns: they mean "call 112" only when the message says it is happening now.
_NOW_ONLY_RULES: Final[tuple[tuple[str, str], ...]] = (
    (
        "crime_now",
        r"\b(?:inbrott|inbrottet|ran|ranet|ranforsok|stold|stolden|snatteri|skadegorelse"
        r"|klotter|burglary|break in|robbery|theft|shoplifting|vandalism|graffiti|mugging)\b",
    ),
    (
        "violence",
        r"\b(?:misshandel|misshandeln|slagsmal|brak|skottlossning|skottlossningen|skjutning"
        r"|knivslagsmal|valdtakt|overfall|mord|vald|valdet|vald i hemmet|assault|fight|shooting"
        r"|stabbing|rape|murder|violence|domestic violence)\b",
    ),
    (
        "fire",
        r"\b(?:brand|branden|eldsvada|skogsbrand|husbrand|lagenhetsbrand|villabrand|bilbrand"
        r"|grasbrand|fire|wildfire|forest fire|house fire|arson|explosion|explosionen)\b",
    ),
    ("danger", r"\b(?:emergency|nodlage)\b"),
)


@dataclass(frozen=True)
class _Rule:
    category: str
    name: str
    kind: str
    regex: re.Pattern[str]


def _compile(pattern: str) -> re.Pattern[str]:
    """Compile a pattern written in plain spelling so that it matches squeezed text."""
    return re.compile(_REPEATED_PATTERN_LETTER.sub(r"\1", pattern))


def _build_rules() -> tuple[_Rule, ...]:
    """Flatten the category tables into one priority-ordered tuple."""
    tables = (
        # Danger first: its "han ska ta livet av mig" must win over self-harm's broader
        # "ta livet av mig", whose subject it cannot see.
        ("danger", _DANGER_RULES),
        ("self_harm", _SELF_HARM_RULES),
        ("medical", _MEDICAL_RULES),
        ("violence", _VIOLENCE_RULES),
        ("crime_now", _CRIME_NOW_RULES),
        ("fire", _FIRE_RULES),
    )
    rules = [
        _Rule(category, name, kind, _compile(pattern))
        for category, rows in tables
        for name, kind, pattern in rows
    ]
    rules += [
        _Rule(category, f"{category}_noun_now", NOW_ONLY, _compile(pattern))
        for category, pattern in _NOW_ONLY_RULES
    ]
    return tuple(rules)


_RULES: Final = _build_rules()

# ----------------------------------------------------------------------------- word index
#
# Trying ~100 regexes on every message is too slow, and most messages contain none of the
# trigger words.  So each rule is indexed by the first word its matches can start with (or
# the first letters of it), worked out from the compiled pattern itself, so that there is no
# second, hand-kept word list that could drift from the pattern.  A rule whose start cannot
# be worked out is tried on every message.  The index may only ever add candidates, never
# drop one; a test checks that the indexed path agrees with trying every rule.

_BUCKET_LEN: Final = 3
_ZERO_WIDTH_OPS: Final = frozenset({"ASSERT", "ASSERT_NOT"})
_WORD_START_ATS: Final = frozenset({"AT_BOUNDARY", "AT_BEGINNING", "AT_BEGINNING_STRING"})
_WORD_END_ATS: Final = frozenset({"AT_BOUNDARY", "AT_END", "AT_END_STRING"})
_REPEAT_OPS: Final = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})

# How a partial key ended: still being read, cut short (a prefix) or a whole word.
_OPEN, _PREFIX, _WORD = "open", "prefix", "word"
# A partial key: (letters so far, how it ended, a word boundary was asserted before it).
_KeyState = tuple[str, str, bool]


class _LoosePattern(Exception):
    """The pattern can start a match somewhere that the word index cannot describe."""


def _add_char(state: _KeyState, char: str) -> _KeyState:
    letters, end, at_word_start = state
    if end != _OPEN:
        return state
    if not letters and (char == " " or not at_word_start):
        raise _LoosePattern
    if char == " ":
        return (letters, _WORD, at_word_start)
    return (letters + char, _OPEN, at_word_start)


def _end(state: _KeyState, how: str) -> _KeyState:
    letters, end, at_word_start = state
    if end != _OPEN:
        return state
    if not letters:
        raise _LoosePattern
    return (letters, how, at_word_start)


def _charset(items: list[tuple[Any, Any]]) -> str | None:
    """The characters of a small [...] class, or None for a negated or large one."""
    chars = ""
    for op, value in items:
        name = getattr(op, "name", "")
        if name == "LITERAL" and isinstance(value, int):
            chars += chr(value)
        elif name == "RANGE" and isinstance(value, tuple) and value[1] - value[0] < 10:
            chars += "".join(chr(code) for code in range(value[0], value[1] + 1))
        else:
            return None
    return chars


def _walk(items: list[tuple[Any, Any]], states: set[_KeyState]) -> set[_KeyState]:
    """Advance the partial keys over a parsed regex sequence."""
    for op, value in items:
        if all(end != _OPEN for _, end, _ in states):
            return states
        name = getattr(op, "name", "")
        if name == "AT":
            at = getattr(value, "name", "")
            if at in _WORD_START_ATS:
                states = {(text, end, start or not text) for text, end, start in states}
            if at in _WORD_END_ATS:
                states = {state if not state[0] else _end(state, _WORD) for state in states}
        elif name in _ZERO_WIDTH_OPS:
            continue
        elif name == "LITERAL":
            states = {_add_char(state, chr(value)) for state in states}
        elif name == "IN" and (chars := _charset(value)) is not None:
            states = {_add_char(state, char) for state in states for char in chars}
        elif name == "SUBPATTERN":
            states = _walk(list(value[-1]), states)
        elif name == "BRANCH":
            states = set().union(*(_walk(list(alt), states) for alt in value[1]))
        elif name in _REPEAT_OPS:
            low, _high, body = value
            once = {_end(state, _PREFIX) for state in _walk(list(body), states)}
            states = once if low > 0 else states | once
        else:  # any other construct (\w, ., [^...]): the key is a prefix
            states = {_end(state, _PREFIX) for state in states}
    return states


def _word_keys(pattern: re.Pattern[str]) -> frozenset[tuple[str, bool]] | None:
    """(first word or its first letters, whether it is the whole word) for every match."""
    try:
        states = _walk(list(_sre_parser.parse(pattern.pattern)), {("", _OPEN, False)})
        ended = (_end(state, _PREFIX) for state in states)
        return frozenset((letters, end == _WORD) for letters, end, _ in ended)
    except _LoosePattern:
        return None


_IndexEntry = tuple[str, bool, int]  # (key, key is a whole word, rule number)


def _build_index() -> tuple[dict[str, tuple[_IndexEntry, ...]], tuple[int, ...]]:
    """Bucket the keys by their first three letters.

    A key shorter than that must be a whole word ("is", "i") to be found by its bucket; a
    rule with a shorter prefix key is tried on every message instead.
    """
    buckets: dict[str, list[_IndexEntry]] = {}
    always: list[int] = []
    for number, rule in enumerate(_RULES):
        keys = _word_keys(rule.regex)
        if keys is None or any(len(key) < _BUCKET_LEN and not whole for key, whole in keys):
            always.append(number)
            continue
        for key, whole_word in keys:
            buckets.setdefault(key[:_BUCKET_LEN], []).append((key, whole_word, number))
    return {bucket: tuple(entries) for bucket, entries in buckets.items()}, tuple(always)


_RULE_INDEX, _RULES_ALWAYS_TRIED = _build_index()


def _candidate_rules(text: str) -> list[_Rule]:
    """The rules whose first word occurs in `text`, in priority order."""
    numbers = set(_RULES_ALWAYS_TRIED)
    for word in set(text.split(" ")):
        for key, whole_word, number in _RULE_INDEX.get(word[:_BUCKET_LEN], ()):
            if word == key or (not whole_word and word.startswith(key)):
                numbers.add(number)
    return [_RULES[number] for number in sorted(numbers)]


# ----------------------------------------------------------------------------- context

# "It is happening now": overrides tip wording, past markers and question framing.
_NOW_MARKERS: Final = _compile(
    r"\bjust nu\b|\bi detta (?:nu|ogonblick)\b|\bi skrivande stund\b|\bmedan jag skriver\b"
    r"|\bpagar\b(?<!utredningen pagar)(?<!utredning pagar)(?<!arendet pagar)"
    r"(?! (?:utredning|fortfarande utred))|\bpagaende\b|\balldeles nyss\b|\bnyss\b|\bprecis nu\b"
    r"|\b(?:har|hande|hant|blev|blivit) precis\b"
    r"|\bprecis (?:har|hant|hande|blivit|blev|brutit|slagit|skjutit)\b|\bhander nu\b"
    r"|\bfortfarande (?:kvar|har|dar|inne|utanfor)\b|\bar kvar\b"
    r"|\bright now\b|\bjust now\b|\bas we speak\b|\bin progress\b|\bongoing\b|\bhappening\b"
    r"|\bgoing on\b|\bjust happened\b|\bat the moment\b"
    r"|\b(?:has|have|ive|hes|shes|theyve|weve) just (?:been|got|gotten|happened|broken|broke"
    r"|hit|shot|stabbed|attacked|collapsed|fallen|seen|heard|found)\b"
    r"|\bjust (?:got|been|broke|broken|happened|stabbed|shot|attacked|collapsed)\b"
    r"|\bstill (?:here|there|inside|outside|in the|in my|around)\b"
    r"|\bwhile i (?:type|write|am typing|m typing)\b"
)
# A plain "nu"/"now" counts only when nothing points to the past, and not as the opening
# discourse word ("Nu undrar jag ...", "Now, a question ...").  A cry for help that opens
# or closes the message ("Hjälp! Inbrott!", "fire!!! help") counts the same way.
_SOFT_NOW_MARKERS: Final = _compile(r" (?:nu|now)\b|^(?:hjalp|help)\b|\b(?:hjalp|help)$")
_PAST_MARKERS: Final = _compile(
    r"\bforra (?:veckan|manaden|aret|helgen|sommaren|vintern|varen|hosten|julen|natten"
    r"|mandagen|tisdagen|onsdagen|torsdagen|fredagen|lordagen|sondagen)\b"
    r"|\bi ?fjol\b|\bi ?gar\b|\bi ?forrgar\b|\bi (?:mandags|tisdags|onsdags|torsdags|fredags"
    r"|lordags|sondags|somras|vintras|varas|hostas)\b"
    r"|\bfor (?:\w+ ){1,2}(?:ar|aren|manad|manader|vecka|veckor|dag|dagar) (?:sedan|sen)\b"
    r"|\b(?:lange|ett tag|en tid) (?:sedan|sen)\b|\btidigare i (?:ar|host|var|sommar|vinter)\b"
    r"|\b(?:ar|i|in|during|back in) (?:19|20)\d\d\b"
    r"|\blast (?:year|month|week|weekend|summer|winter|spring|autumn|fall|night|christmas"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday|time)\b|\byesterday\b"
    r"|\b(?:a while|some time|a long time|long|ages) ago\b"
    r"|\b\w+ (?:years|months|weeks|days|year|month|week|day) ago\b"
    r"|\bearlier this (?:year|month|week)\b|\bthe other day\b"
    r"|\bnar jag var (?:liten|barn|yngre|ung|tonaring)\b|\bsom (?:liten|barn)\b"
    r"|\bwhen i was (?:little|young|younger|a kid|a child|a teenager)\b|\bas a (?:kid|child)\b"
)
_HABITUAL_MARKERS: Final = _compile(
    r"\b(?:brukar|ofta|regelbundet|ibland|hela tiden|sa mycket|sa ofta|sa manga)\b"
    r"|\bvarje (?:dag|natt|vecka|helg|kvall|manad)\b|\bpa (?:natterna|kvallarna|helgerna)\b"
    r"|\b(?:always|often|usually|regularly|sometimes|keeps|so much|so many|so often)\b"
    r"|\bevery (?:day|night|week|weekend|evening|month)\b|\bat night\b"
)
_REPORT_MARKERS: Final = _compile(
    r"\b(?:tipsa|tipsar|tipsade|tips|tipset|anmala|anmaler|anmalan|anmalde|anmalt"
    r"|polisanmal\w*|rapportera|rapporterar|vittne|vittnade|lamna uppgifter|beratta om"
    r"|informera)\b"
    r"|\b(?:tip|tip off|report|reporting|reported|file a report|witness|witnessed|inform"
    r"|let you know)\b"
)
# Hypothetical and general questions ("vad gör man om ...", "vad ska jag göra om jag blir
# hotad?", "when should you call 112 if ..."): they suppress every kind of rule, unless the
# message also says that it is happening now.
_HYPOTHETICAL_MARKERS: Final = _compile(
    r"\b(?:vad|hur|nar) (?!min |en |din |hennes |hans |var |den |sin |det )\w+ man\b"
    r"|\b(?:ska|bor|kan|far|maste) man (?:ringa|kontakta|anmala|gora|larma)\b"
    r"|\b(?:vad|hur|nar) (?:ska|bor|kan|gor) (?:jag|vi)(?: \w+){0,3} om (?:jag|man|nagon|det"
    r"|han|hon|de|dom|vi|ni|du|en|min|mitt|mina)\b"
    r"|\bvad hander om\b|\btank om\b|\bom det skulle\b|\bi handelse av\b|\bhypotetiskt\b"
    r"|\bar det (?:olagligt|brottsligt|ett brott)\b"
    r"|\b(?:what|when|how|who|which)(?: \w+){0,3} (?:should|do|does|can|would|must)"
    r" (?:i|we|you|one|people|someone)\b(?: \w+){0,4} (?:if|in case)\b"
    r"|\bwhat if\b|\bwhat happens if\b|\bin case of\b|\bhypothetically\b"
    r"|\bis it (?:illegal|a crime)\b"
)


_MARKERS: Final = {
    "now": _NOW_MARKERS,
    "soft_now": _SOFT_NOW_MARKERS,
    "past": _PAST_MARKERS,
    "habitual": _HABITUAL_MARKERS,
    "report": _REPORT_MARKERS,
    "hypothetical": _HYPOTHETICAL_MARKERS,
}


# Markers that make a PROBABLE rule, or a NOW_ONLY rule with a plain "nu"/"now", not count.
_PROBABLE_DOUBTS: Final = ("hypothetical", "past", "habitual", "report")
_NOW_ONLY_DOUBTS: Final = ("hypothetical", "past", "report")


class _Context:
    """The time and intent markers of one message, each looked up only when needed."""

    __slots__ = ("_found", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._found: dict[str, bool] = {}

    def has(self, marker: str) -> bool:
        if marker not in self._found:
            self._found[marker] = _MARKERS[marker].search(self._text) is not None
        return self._found[marker]

    def happening_now(self) -> bool:
        return self.has("now") or (self.has("soft_now") and not self.has("past"))

    def allows(self, kind: str) -> bool:
        """Whether a rule of this kind counts as an emergency in this context."""
        if kind == URGENT:
            if not (self.has("hypothetical") or self.has("report")):
                return True
            if self.happening_now():
                return True
            old_tip = self.has("report") and (self.has("past") or self.has("habitual"))
            return not (self.has("hypothetical") or old_tip)
        if kind == PROBABLE:
            doubtful = any(self.has(marker) for marker in _PROBABLE_DOUBTS)
            return not doubtful or self.happening_now()
        # NOW_ONLY: a bare noun needs an explicit statement that it is happening.
        if self.has("now"):
            return True
        doubtful = any(self.has(marker) for marker in _NOW_ONLY_DOUBTS)
        return self.has("soft_now") and not doubtful


def detect_emergency(text: str) -> EmergencyMatch | None:
    """Return why `text` must be answered with "Ring 112", or None if it need not be.

    Biased towards answering 112, because a missed emergency is the worst failure of the
    product: only clear signs (a general question, a tip about the past) suppress a
    present-tense trigger.  Never raises, and examines a bounded prefix of the text.
    """
    examined = _prepare(text)
    return _evaluate(examined, _candidate_rules(examined)) if examined else None


def _prepare(text: str) -> str:
    """Normalise, bound and squeeze the text the way every pattern expects it."""
    raw = text[:_MAX_RAW_CHARS] if isinstance(text, str) else text
    return _squeeze(normalize(raw)[:_MAX_EXAMINED_CHARS])


def _evaluate(examined: str, rules: Iterable[_Rule]) -> EmergencyMatch | None:
    """First rule (in priority order) that matches and that the context lets count."""
    context: _Context | None = None
    for rule in rules:
        if rule.regex.search(examined) is None:
            continue
        context = context or _Context(examined)
        if context.allows(rule.kind):
            return EmergencyMatch(category=rule.category, rule=rule.name)
    return None
