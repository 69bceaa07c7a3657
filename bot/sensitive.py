"""Subjects where a person should be offered at once: violence or control in a close
relationship, honour-related violence. Deterministic, like the emergency net, so the offer
does not depend on the classifier; an emergency still comes first (see SafetyNet)."""

from __future__ import annotations

import re

from bot.safety import normalize

# Written without diacritics: `normalize` folds them (slår -> slar).
_PARTNER = r"(min|mitt|mina|my)\s+(man|make|fru|sambo|pojkvan|flickvan|partner|kille|tjej|" \
           r"pappa|mamma|styvpappa|bror|husband|wife|boyfriend|girlfriend|dad|father|mum|mom|" \
           r"mother|ex)"
_ACTS = r"(slar|slog|hotar|hotade|kontrollerar|tvingar|forfoljer|sparar|misshandlar|" \
        r"hits|hit|beats|threatens|controls|forces|stalks|hurts)"
_PATTERNS = (
    re.compile(rf"\b{_PARTNER}\b.{{0,40}}\b{_ACTS}\b"),
    re.compile(r"\b(vald i nara relation\w*|narstaendevald|hedersvald|hedersrelaterat?\w*|"
               r"domestic (violence|abuse)|honou?r (based|related) violence|"
               r"(abusive|violent) (relationship|partner|husband|boyfriend))\b"),
)


def is_sensitive(text: str) -> bool:
    """True when the message speaks of violence or control in a close relationship."""
    folded = normalize(text or "")[:2000]
    return any(p.search(folded) for p in _PATTERNS)
