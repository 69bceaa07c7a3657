"""Explicit requests for a person, recognised deterministically.

The classifier learns request_human from examples, but rude or indirect phrasings ("you're
useless, give me a person", "finns det en levande människa där?") fall between intents and
end in "Did you mean…?", which is the last thing someone who asked for a person should get.
This net only adds recall: the patterns (data/person_request.yml, with the examples they
must match and the near misses they must not) recognise explicit requests, and the pipeline
component (bot/rasa_person_request.py) then makes the intent request_human.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.settings import PROJECT_ROOT

PATTERNS_FILE = PROJECT_ROOT / "data" / "person_request.yml"

# A negation inside a match undoes it ("jag vill inte prata med en människa"); one in an
# earlier clause does not ("fattar du inte? jag vill ha en människa").
_NEGATION_RE = re.compile(r"\b(?:inte|ej|aldrig|not|don t|dont|do not|never|no)\b")


def _unmarked(text: str) -> str:
    """Without diacritics or other combining marks ("ئ" -> "ي", "ä" -> "a")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower case, no diacritics, punctuation as spaces, single spaces."""
    return " ".join(re.sub(r"[^\w]+", " ", _unmarked(text.casefold())).split())


@dataclass(frozen=True)
class PersonRequestNet:
    """Compiled patterns: `requests` (dropped when negated) and `always` (negation is part
    of the request: "I don't want to talk to a bot")."""

    requests: tuple[re.Pattern[str], ...]
    always: tuple[re.Pattern[str], ...]

    @classmethod
    def load(cls, path: Path = PATTERNS_FILE) -> PersonRequestNet:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        requests: list[re.Pattern[str]] = []
        always: list[re.Pattern[str]] = []
        for language in data.values():
            parts = language.get("parts", {})
            # Patterns keep their language's spelling; they meet the text without its marks.
            requests += [re.compile(_unmarked(p.format(**parts)))
                         for p in language.get("patterns", [])]
            always += [re.compile(_unmarked(p.format(**parts)))
                       for p in language.get("always", [])]
        return cls(tuple(requests), tuple(always))

    def matches(self, text: str) -> bool:
        """True when `text` explicitly asks for a person."""
        folded = fold(text)
        if any(p.search(folded) for p in self.always):
            return True
        for pattern in self.requests:
            if any(not _NEGATION_RE.search(m.group(0)) for m in pattern.finditer(folded)):
                return True
        return False
