"""Deterministic emergency safety net, run on every user message, in many languages.

The ML classifier can miss an emergency; this module cannot be retrained into missing one.
If a message describes danger, an ongoing or just-happened crime, a fire, a medical
emergency or suicidal intent, `detect_emergency` returns a match and the bot answers
"Ring 112" whatever the classifier said.

The rules are data, one file per language (`data/safety/<lang>.yml`, schema in
`data/safety/README.md`); this module is only the engine that reads them.  How it decides
(deliberately simple, so that a reviewer can reason about every case):

1. The text is normalised (`normalize`: case folded, NFKC/NFKD, combining marks, Arabic
   harakat and tatweel dropped, Arabic/Persian letter variants unified, Latin diacritics
   folded; every script's letters kept) and runs of a repeated letter are squeezed
   ("inbrott" -> "inbrot", "hjäääälp" -> "hjalp").  Patterns are folded and squeezed the
   same way when compiled, so they are written in plain spelling.
2. Idioms ("dying to know", "dör av skratt") are masked out of the text before any rule
   looks at it, so they neither trigger a rule nor hide a real emergency next to them.
3. Each rule has a *kind* that says how much context it needs before it counts:
   - URGENT: present-tense danger ("han slår mig", "not breathing").  Fires unless the
     message is hypothetical, a tip about something past or recurring, fiction, a planned
     drill or alarm test, or far away (abroad, on the news) - and not said to happen now.
   - PROBABLE: a completed act or an ambiguous statement ("blev knivhuggen", "has a gun").
     Fires unless the message also has one of those markers or a past-time or habit marker.
   - NOW_ONLY: a bare crime or fire noun ("inbrott", "shooting").  Fires only together with
     an explicit "now" marker ("just nu", "pågår", "right now").
   Self-harm is never explained away by a past, fictional, planned or far-away marker.
4. The context markers are the union over every language file: a message mixing languages
   is judged by all of them.

The net is built once (`load_net`, cached per directory) when the Rasa component is created
or at the first call of `detect_emergency`; nothing is read or compiled at import.
"""

from __future__ import annotations

import functools
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import yaml

try:  # Python 3.11+ moved the regex parser (used only to index the rules, see below).
    from re import _parser as _sre_parser  # type: ignore[attr-defined]
except ImportError:  # Python 3.10
    import sre_parse as _sre_parser

__all__ = [
    "CATEGORIES",
    "KINDS",
    "MARKER_KINDS",
    "NOT_NOW_MARKERS",
    "Assessment",
    "EmergencyMatch",
    "EmergencyNet",
    "LanguageData",
    "Rule",
    "detect_emergency",
    "load_net",
    "normalize",
]

CATEGORIES: Final = ("danger", "violence", "crime_now", "medical", "self_harm", "fire")
URGENT: Final = "urgent"
PROBABLE: Final = "probable"
NOW_ONLY: Final = "now_only"
KINDS: Final = (URGENT, PROBABLE, NOW_ONLY)
# Context markers a language file may define.  `idiom` is a mask, the rest are markers.
MARKER_KINDS: Final = ("now", "soft_now", "past", "habitual", "report", "hypothetical",
                       "fiction", "planned", "far_away", "idiom", "topic")
# "It is not happening here and now": with these a classifier-only guess of "emergency"
# gets the normal answer instead of the full 112 answer (see bot/rasa_components.py).
# `topic` ("a lecture about knife violence", "is Malmö safe? we are moving there") is a
# subject, not an event: it only ever sets a classifier-only guess aside, never a rule.
NOT_NOW_MARKERS: Final = ("past", "hypothetical", "fiction", "planned", "far_away", "idiom",
                          "topic")
REVIEW_STATES: Final = ("draft", "reviewed")

DEFAULT_DIR: Final = Path(__file__).resolve().parent.parent / "data" / "safety"

# Raw characters looked at (bounds normalisation time) and normalised characters examined.
_MAX_RAW_CHARS: Final = 8000
_MAX_EXAMINED_CHARS: Final = 2000


@dataclass(frozen=True)
class EmergencyMatch:
    """Why a message was treated as an emergency (safe to log: it never holds user text)."""

    category: str  # one of CATEGORIES
    rule: str  # short name of the rule that matched
    language: str = ""  # the rule file it came from ("sv", "ar", ...)


@dataclass(frozen=True)
class Assessment:
    """What the net saw in one message: an emergency, or else the markers that say "not
    here and now" (only looked up when asked)."""

    match: EmergencyMatch | None
    not_now: tuple[str, ...]  # the NOT_NOW_MARKERS present (empty when it may be now)


# ----------------------------------------------------------------------------- normalising

# Apostrophes are deleted, so that "he's" -> "hes" and "don't" -> "dont" (the way users
# often type them anyway); the acute accent is among them because people type it as one.
_APOSTROPHES: Final = re.compile("['`\u00b4\u2018\u2019\u02bc\u2032]")
# Letters that Unicode decomposition does not fold, and one spelling for the Arabic-script
# letters people type interchangeably (Arabic, Persian, Dari, Sorani keyboards).
_LETTER_FOLDS: Final = {
    "ø": "o", "æ": "ae", "œ": "oe", "ð": "d", "þ": "th", "ł": "l", "đ": "d", "ı": "i",
    "ی": "ي", "ى": "ي", "ې": "ي", "ک": "ك", "ة": "ه", "ە": "ه", "ھ": "ه", "ۀ": "ه",
    "ێ": "ي", "ۆ": "و", "ڕ": "ر", "ڵ": "ل",  # Sorani letters often typed without their marks
    "ٱ": "ا", "\u0640": "",  # tatweel (kashida) stretches a word; it is not a letter
    "\u200c": " ",  # zero-width non-joiner: "می‌زند", "می زند" and "میزند" are one word
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits
}
_FOLD_TABLE: Final = str.maketrans(_LETTER_FOLDS)
# Combining marks of the Latin, Cyrillic and Greek letters, Arabic harakat, Quranic marks.
_COMBINING_MARKS: Final = re.compile(
    "[\u0300-\u036f\u0483-\u0489\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u135d-\u135f]"
)
_NOT_WORD: Final = re.compile(r"[\W_]+")
_LETTER_BEFORE_SAME: Final = re.compile(r"([^\W\d_])(?=\1)")
_REPEATED_PATTERN_LETTER: Final = re.compile(r"(?<!\\)([^\W\d_])\1+")


def fold(text: str) -> str:
    """The character folding shared by messages and patterns (no case folding: patterns
    are written in lower case, and `\\W` must stay `\\W`)."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return _COMBINING_MARKS.sub("", decomposed).translate(_FOLD_TABLE)


def normalize(text: str) -> str:
    """Fold text to lower-case words of any script separated by single spaces.

    "Någon SLÅR mig!!! 😱" -> "nagon slar mig"; "أنقذوني!" -> "انقذوني".  Rules only ever
    see this form, so they need not care about case, diacritics, harakat, letter variants,
    punctuation, emoji or control characters.  Non-string input (None, bytes) is tolerated
    because this runs on untrusted input.
    """
    if not isinstance(text, str):
        if text is None:
            return ""
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", errors="replace")
        else:
            text = str(text)
    folded = fold(_APOSTROPHES.sub("", unicodedata.normalize("NFKC", text).casefold()))
    return _NOT_WORD.sub(" ", folded).strip()


def _squeeze(text: str) -> str:
    """Collapse repeated letters so doubled-letter typos match ("knivhugen", "inbrot")."""
    return _LETTER_BEFORE_SAME.sub("", text)


def _compile(pattern: str) -> re.Pattern[str]:
    """Compile a pattern written in plain spelling so that it matches folded, squeezed text."""
    return re.compile(_REPEATED_PATTERN_LETTER.sub(r"\1", fold(pattern)))


# ----------------------------------------------------------------------------- data

_YAML_LOADER: Final = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # C speed when built
_FRAGMENT_REF: Final = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class Rule:
    language: str
    category: str
    name: str
    kind: str
    regex: re.Pattern[str]
    examples: tuple[str, ...] = ()
    near_misses: tuple[str, ...] = ()


@dataclass(frozen=True)
class LanguageData:
    """One rule file's identity and curated replies (not its rules)."""

    code: str
    name: str
    langid_codes: tuple[str, ...]  # what py3langid calls it (none for so, ti, ckb)
    scripts: tuple[str, ...]  # scripts it is written in ("latin", "arabic", ...)
    identify_words: frozenset[str]  # common words that mark the language (normalised)
    replies: Mapping[str, str]  # "emergency", "other_language" -> one line in the language
    review: str  # "draft" until a native speaker has reviewed the replies
    marker_examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


class RuleFileError(ValueError):
    """A rule file is malformed (named with the file and entry, so it can be fixed)."""


def _alternatives(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "|".join(value)
    raise RuleFileError(f"{where}: a pattern is a string or a list of strings")


def _expand(pattern: str, fragments: Mapping[str, str], where: str) -> str:
    def replace(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in fragments:
            raise RuleFileError(f"{where}: unknown fragment {{{name}}}")
        return fragments[name]

    for _ in range(5):  # fragments may use fragments
        expanded = _FRAGMENT_REF.sub(replace, pattern)
        if expanded == pattern:
            return pattern
        pattern = expanded
    raise RuleFileError(f"{where}: fragments nest too deeply")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise RuleFileError(f"{where}: expected a list of strings")


def _read_file(path: Path) -> tuple[LanguageData, list[Rule], dict[str, list[str]]]:
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506
    if not isinstance(doc, dict) or doc.get("language") != path.stem:
        raise RuleFileError(f"{path.name}: `language` must be {path.stem!r}")
    code = path.stem
    raw_fragments = doc.get("fragments") or {}
    fragments = {name: _alternatives(value, f"{path.name}: fragment {name}")
                 for name, value in raw_fragments.items()}
    fragments = {name: _expand(value, fragments, f"{path.name}: fragment {name}")
                 for name, value in fragments.items()}
    markers: dict[str, list[str]] = {}
    marker_examples: dict[str, tuple[str, ...]] = {}
    for kind, entry in (doc.get("markers") or {}).items():
        where = f"{path.name}: markers.{kind}"
        if kind not in MARKER_KINDS or not isinstance(entry, dict):
            raise RuleFileError(f"{where}: unknown marker kind")
        markers[kind] = [_expand(_alternatives(entry.get("patterns"), where), fragments, where)]
        marker_examples[kind] = _strings(entry.get("examples"), where)
    rules = []
    for number, entry in enumerate(doc.get("rules") or []):
        where = f"{path.name}: rules[{number}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise RuleFileError(f"{where}: a rule needs a name")
        where = f"{path.name}: rule {entry['name']}"
        if entry.get("category") not in CATEGORIES or entry.get("kind") not in KINDS:
            raise RuleFileError(f"{where}: category must be one of {CATEGORIES}, kind of {KINDS}")
        pattern = _expand(_alternatives(entry.get("pattern"), where), fragments, where)
        try:
            regex = _compile(pattern)
        except re.error as error:
            raise RuleFileError(f"{where}: {error}") from error
        rules.append(Rule(code, entry["category"], entry["name"], entry["kind"], regex,
                          _strings(entry.get("examples"), where),
                          _strings(entry.get("near_misses"), where)))
    replies = doc.get("reply") or {}
    review = replies.get("review", "")
    language = LanguageData(
        code=code,
        name=str(doc.get("name") or code),
        langid_codes=_strings(doc.get("langid"), f"{path.name}: langid"),
        scripts=_strings(doc.get("scripts") or ["latin"], f"{path.name}: scripts"),
        identify_words=frozenset(
            _squeeze(normalize(w)) for w in _strings(doc.get("identify_words"), path.name)),
        replies=MappingProxyType({k: str(v) for k, v in replies.items() if k != "review"}),
        review=str(review),
        marker_examples=MappingProxyType(marker_examples),
    )
    return language, rules, markers


# ----------------------------------------------------------------------------- word index
#
# Trying hundreds of regexes on every message is too slow, and most messages contain none
# of the trigger words.  So each rule is indexed by the first word its matches can start
# with (or the first letters of it), worked out from the compiled pattern itself, so that
# there is no second, hand-kept word list that could drift from the pattern.  A rule whose
# start cannot be worked out is tried on every message.  The index may only ever add
# candidates, never drop one; a test checks that the indexed path agrees with trying every
# rule.

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
            low, high, body = value
            if high == 1:  # "x?" is "x or nothing": both keep being read (Arabic prefixes)
                states = (states if low == 0 else set()) | _walk(list(body), states)
                continue
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


def _build_index(rules: tuple[Rule, ...]
                 ) -> tuple[dict[str, tuple[_IndexEntry, ...]], tuple[int, ...]]:
    """Bucket the keys by their first three letters.

    A key shorter than that must be a whole word ("is", "i") to be found by its bucket; a
    rule with a shorter prefix key is tried on every message instead.
    """
    buckets: dict[str, list[_IndexEntry]] = {}
    always: list[int] = []
    for number, rule in enumerate(rules):
        keys = _word_keys(rule.regex)
        if keys is None or any(len(key) < _BUCKET_LEN and not whole for key, whole in keys):
            always.append(number)
            continue
        for key, whole_word in keys:
            buckets.setdefault(key[:_BUCKET_LEN], []).append((key, whole_word, number))
    return {bucket: tuple(entries) for bucket, entries in buckets.items()}, tuple(always)


# ----------------------------------------------------------------------------- context

# Markers that make a PROBABLE rule, or a NOW_ONLY rule with a plain "nu"/"now", not count.
_PROBABLE_DOUBTS: Final = ("hypothetical", "past", "habitual", "report", "fiction", "planned",
                           "far_away")
_NOW_ONLY_DOUBTS: Final = ("hypothetical", "past", "report", "fiction", "planned", "far_away")
# Not here, not real, not now: these outweigh even an explicit "now" ("the drill is going on
# right now", "it is burning in California right now, I saw it on the news").
_ELSEWHERE: Final = ("fiction", "planned", "far_away")


class _Context:
    """The time and intent markers of one message, each looked up only when needed."""

    __slots__ = ("_found", "_markers", "_text")

    def __init__(self, text: str, markers: Mapping[str, re.Pattern[str]]) -> None:
        self._text = text
        self._markers = markers
        self._found: dict[str, bool] = {}

    def has(self, marker: str) -> bool:
        if marker not in self._found:
            regex = self._markers.get(marker)
            self._found[marker] = regex is not None and regex.search(self._text) is not None
        return self._found[marker]

    def happening_now(self) -> bool:
        return self.has("now") or (self.has("soft_now") and not self.has("past"))

    def allows(self, rule: Rule) -> bool:
        """Whether a rule of this kind counts as an emergency in this context."""
        elsewhere = any(self.has(marker) for marker in _ELSEWHERE)
        if rule.category == "self_harm":  # never explained away by time or place
            return self.happening_now() or not self.has("hypothetical")
        if elsewhere:
            return False
        if rule.kind == URGENT:
            if self.happening_now():
                return True
            old_tip = self.has("report") and (self.has("past") or self.has("habitual"))
            return not (self.has("hypothetical") or old_tip)
        if rule.kind == PROBABLE:
            doubtful = any(self.has(marker) for marker in _PROBABLE_DOUBTS)
            return not doubtful or self.happening_now()
        # NOW_ONLY: a bare noun needs an explicit statement that it is happening.
        if self.has("now"):
            return True
        doubtful = any(self.has(marker) for marker in _NOW_ONLY_DOUBTS)
        return self.has("soft_now") and not doubtful

    def not_now(self) -> tuple[str, ...]:
        if self.happening_now() and not any(self.has(m) for m in _ELSEWHERE):
            return ()
        return tuple(m for m in NOT_NOW_MARKERS if m != "idiom" and self.has(m))


# ----------------------------------------------------------------------------- the net


@dataclass(frozen=True)
class EmergencyNet:
    """Every language's rules, markers and replies, compiled once; immutable."""

    rules: tuple[Rule, ...]
    languages: Mapping[str, LanguageData]
    markers: Mapping[str, re.Pattern[str]]
    idioms: re.Pattern[str] | None
    index: Mapping[str, tuple[_IndexEntry, ...]]
    always_tried: tuple[int, ...]
    build_seconds: float = 0.0

    @classmethod
    def load(cls, directory: Path = DEFAULT_DIR) -> EmergencyNet:
        """Read and compile every `<lang>.yml` in `directory` (raises RuleFileError)."""
        started = time.perf_counter()
        languages: dict[str, LanguageData] = {}
        rules: list[Rule] = []
        markers: dict[str, list[str]] = {}
        for path in sorted(Path(directory).glob("*.yml")):
            language, file_rules, file_markers = _read_file(path)
            languages[language.code] = language
            rules += file_rules
            for kind, patterns in file_markers.items():
                markers.setdefault(kind, []).extend(patterns)
        names = [rule.name for rule in rules]
        if len(names) != len(set(names)):
            raise RuleFileError("rule names must be unique across the files")
        ordered = tuple(sorted(rules, key=_priority))
        index, always = _build_index(ordered)
        idioms = markers.pop("idiom", None)
        return cls(
            rules=ordered,
            languages=MappingProxyType(languages),
            markers=MappingProxyType({k: _compile("|".join(v)) for k, v in markers.items()}),
            idioms=_compile("|".join(idioms)) if idioms else None,
            index=MappingProxyType(index),
            always_tried=always,
            build_seconds=time.perf_counter() - started,
        )

    def prepare(self, text: str) -> str:
        """Normalise, bound, squeeze and mask idioms the way every pattern expects it."""
        raw = text[:_MAX_RAW_CHARS] if isinstance(text, str) else text
        examined = _squeeze(normalize(raw)[:_MAX_EXAMINED_CHARS])
        if self.idioms is not None and examined:
            examined = self.idioms.sub(" ~ ", examined)
        return examined

    def candidates(self, examined: str) -> list[Rule]:
        """The rules whose first word occurs in `examined`, in priority order."""
        numbers = set(self.always_tried)
        for word in set(examined.split(" ")):
            for key, whole_word, number in self.index.get(word[:_BUCKET_LEN], ()):
                if word == key or (not whole_word and word.startswith(key)):
                    numbers.add(number)
        return [self.rules[number] for number in sorted(numbers)]

    def evaluate(self, examined: str, rules: Iterable[Rule], *,
                 not_now: bool = True) -> Assessment:
        """First rule (in priority order) that matches and that the context lets count;
        without a match, and when asked, the markers that say it is not here and now."""
        context = _Context(examined, self.markers)
        for rule in rules:
            if rule.regex.search(examined) is not None and context.allows(rule):
                return Assessment(EmergencyMatch(rule.category, rule.name, rule.language), ())
        if not (not_now and examined):
            return Assessment(None, ())
        markers = context.not_now()
        if self.idioms is not None and "~" in examined.split(" "):
            markers = (*markers, "idiom")
        return Assessment(None, markers)

    def assess(self, text: str, *, not_now: bool = True) -> Assessment:
        """The net's whole view of `text`; never raises, examines a bounded prefix.
        `not_now=False` skips the markers that only matter without a match (faster)."""
        examined = self.prepare(text)
        if not examined:
            return Assessment(None, ())
        return self.evaluate(examined, self.candidates(examined), not_now=not_now)

    def detect(self, text: str) -> EmergencyMatch | None:
        return self.assess(text, not_now=False).match


def _priority(rule: Rule) -> tuple[int, int, int]:
    """Urgent danger first: its "han ska ta livet av mig" must win over self-harm's broader
    "ta livet av mig", whose subject it cannot see.  Then self-harm, so that "he says he
    will kill himself and he has a gun" gets the self-harm answer (112 and the support
    line) rather than a probable danger's plain 112; bare nouns last.  Stable in a group."""
    order = ("self_harm", "danger", "medical", "violence", "crime_now", "fire")
    urgent_danger = rule.category == "danger" and rule.kind == URGENT
    return (rule.kind == NOW_ONLY, 0 if urgent_danger else 1, order.index(rule.category))


@functools.lru_cache(maxsize=4)
def _cached_net(directory: Path) -> EmergencyNet:
    return EmergencyNet.load(directory)


def load_net(directory: Path = DEFAULT_DIR) -> EmergencyNet:
    """The net for `directory`, built once per process and shared by every caller."""
    return _cached_net(Path(directory).resolve())


def detect_emergency(text: str) -> EmergencyMatch | None:
    """Return why `text` must be answered with "Ring 112", or None if it need not be.

    Biased towards answering 112, because a missed emergency is the worst failure of the
    product: only clear signs (a general question, a tip about the past, a drill, the news)
    suppress a present-tense trigger.  Never raises, and examines a bounded prefix.
    """
    return load_net().detect(text)
