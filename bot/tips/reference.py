"""Tip references such as ``T-7KQM-H3XD``: what the citizen writes down and staff look up.

Random (from :mod:`secrets`), so a reference reveals neither how many tips there are nor
another citizen's reference; 8 characters from 32 give 2**40 possibilities. Uniqueness is
enforced by the database (the store draws again on a collision). The alphabet leaves out
0/O and 1/I, which are easy to confuse when read aloud or copied from a phone.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PREFIX = "T"
_PATTERN = re.compile(rf"^{PREFIX}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}$")


def new_reference() -> str:
    """A fresh random reference ``T-XXXX-XXXX``."""
    chars = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{PREFIX}-{chars[:4]}-{chars[4:]}"


def normalise(text: str) -> str | None:
    """The reference in `text` as stored (upper case, dashes), or None if it cannot be one.

    Staff and citizens type references in lower case or without dashes; accepting that is
    kinder than a 404, and the characters that are left out cannot be mistyped into others.
    """
    compact = re.sub(r"[\s-]", "", text).upper()
    if len(compact) != 9 or not compact.startswith(PREFIX):
        return None
    candidate = f"{PREFIX}-{compact[1:5]}-{compact[5:]}"
    return candidate if _PATTERN.match(candidate) else None


def is_reference(text: str) -> bool:
    """Whether `text` is a well-formed reference exactly as stored."""
    return bool(_PATTERN.match(text))
