"""Which language a message is written in, beyond Swedish and English, offline.

The assistant answers in Swedish and English only (`bot.language` decides between those
two for the `language` slot, and stays as it is). This module answers another question:
is the message in one of the other languages the emergency net knows (`data/safety`), so
that an emergency can be answered with a line in that language and anything else with an
honest "this chat answers in Swedish and English; 112 can connect an interpreter"?

Evidence, strongest first:
1. a rule of the net matched in language X (a Latin-script match is kept only when the
   text does not read as Swedish or English, so "ayuda" inside a Swedish sentence is not
   Spanish);
2. the script: Ethiopic is Tigrinya, Arabic script with Sorani letters is Sorani, Cyrillic
   with Ukrainian letters is Ukrainian, with Serbian letters Serbian, otherwise Russian;
   other Arabic script is told apart by py3langid (Arabic or Persian/Dari);
3. Latin script: the common words each rule file lists (`identify_words`) against the
   Swedish and English word lists of `bot.language`, confirmed by py3langid (restricted to
   the languages the net knows; on its own it is unreliable on chat-length text).

py3langid ships its model inside the package; it is loaded once, when the identifier is
created (with the Rasa component), never at import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bot.language import ENGLISH_WORDS, SWEDISH_WORDS, detect_language
from bot.safety import EmergencyMatch, EmergencyNet, normalize

__all__ = ["Identification", "LanguageIdentifier"]

HOME_LANGUAGES: Final = ("sv", "en")
_MAX_CHARS: Final = 2000
_SORANI_LETTERS: Final = frozenset("ڕڵێۆەڤھ")
_UKRAINIAN_LETTERS: Final = frozenset("іїєґ")
_SERBIAN_LETTERS: Final = frozenset("ђјљњћџ")
_SCRIPTS: Final = (
    ("ethiopic", re.compile("[\u1200-\u139f\u2d80-\u2ddf]")),
    ("arabic", re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")),
    ("cyrillic", re.compile("[\u0400-\u04ff]")),
    ("latin", re.compile("[a-zA-Z\u00c0-\u024f]")),
)
# py3langid's share for the top language before it counts as confirmation.
_LANGID_CONFIRMS: Final = 0.9


@dataclass(frozen=True)
class Identification:
    """The language of one message: a code of the net's files, or None when unknown."""

    code: str | None
    confident: bool  # strong enough to answer "this chat answers in Swedish and English"

    @property
    def other(self) -> bool:
        """A language other than Swedish and English, identified with confidence."""
        return self.confident and self.code is not None and self.code not in HOME_LANGUAGES


_UNKNOWN: Final = Identification(None, False)


def _script(text: str) -> str | None:
    counts = {name: len(regex.findall(text)) for name, regex in _SCRIPTS}
    name, count = max(counts.items(), key=lambda item: item[1])
    return name if count >= 2 else None


class LanguageIdentifier:
    """Immutable after creation: the net's languages and a restricted py3langid model."""

    def __init__(self, net: EmergencyNet, arabic_script: Any, latin_script: Any) -> None:
        """`arabic_script` and `latin_script`: py3langid models restricted, once, to the
        net's languages in those scripts (never changed afterwards)."""
        self._net = net
        self._arabic_script = arabic_script
        self._latin_script = latin_script
        # py3langid's code -> the net's file ("bs"/"hr"/"sr" -> "hbs").
        self._from_langid: Mapping[str, str] = {
            code: language.code for language in net.languages.values()
            for code in language.langid_codes}
        self._words: Mapping[str, frozenset[str]] = {
            code: language.identify_words for code, language in net.languages.items()
            if code not in HOME_LANGUAGES and language.identify_words}
        self._home_words = {"sv": SWEDISH_WORDS, "en": ENGLISH_WORDS}

    @classmethod
    def create(cls, net: EmergencyNet) -> LanguageIdentifier:
        from py3langid.langid import MODEL_FILE
        from py3langid.langid import LanguageIdentifier as Langid

        def restricted(script: str) -> Any:
            codes = sorted({code for language in net.languages.values()
                            if script in language.scripts for code in language.langid_codes})
            model = Langid.from_pickled_model(MODEL_FILE, norm_probs=True)
            model.set_languages(codes)
            return model

        return cls(net, restricted("arabic"), restricted("latin"))

    def _langid(self, model: Any, text: str) -> tuple[str, float]:
        code, probability = model.classify(text)
        return self._from_langid.get(code, code), float(probability)

    def identify(self, text: str, match: EmergencyMatch | None = None) -> Identification:
        """The language of `text`; `match` is the net's verdict on it, if it had one."""
        if not isinstance(text, str) or not text.strip():
            return _UNKNOWN
        text = text[:_MAX_CHARS]
        script = _script(text)
        found = self._by_script(text, script)
        if match is None:
            return found
        trusted = match.language in HOME_LANGUAGES or script != "latin" or \
            found.code == match.language or detect_language(text) is None
        return Identification(match.language, True) if trusted else found

    def _by_script(self, text: str, script: str | None) -> Identification:
        if script == "ethiopic":
            return Identification("ti", True)
        if script == "arabic":
            if _SORANI_LETTERS.intersection(text):
                return Identification("ckb", True)
            code, _ = self._langid(self._arabic_script, text)
            return Identification(code, True)
        if script == "cyrillic":
            lower = text.casefold()
            if _UKRAINIAN_LETTERS.intersection(lower):
                return Identification("uk", True)
            if _SERBIAN_LETTERS.intersection(lower):
                return Identification("hbs", True)
            return Identification("ru", True)
        if script == "latin":
            return self._latin(text)
        return _UNKNOWN

    def _latin(self, text: str) -> Identification:
        words = normalize(text).split()
        home = detect_language(text)
        home_hits = sum(1 for w in words if w in SWEDISH_WORDS or w in ENGLISH_WORDS)
        squeezed = [re.sub(r"([^\W\d_])(?=\1)", "", w) for w in words]
        hits = {code: sum(1 for w in squeezed if w in vocabulary)
                for code, vocabulary in self._words.items()}
        best = max(hits, key=lambda code: hits[code]) if hits else None
        if best is None or hits[best] == 0:
            return Identification(home, home is not None)
        if hits[best] >= 2 and hits[best] > 2 * home_hits:
            return Identification(best, True)
        code, probability = self._langid(self._latin_script, text)
        if code == best and probability >= _LANGID_CONFIRMS and home_hits == 0:
            return Identification(best, True)
        return Identification(home, home is not None)
