"""Recognise and mask personnummer, Swedish phone numbers and e-mail addresses in free text.

A citizen writes these into a tip ("han heter Anna, 850709-9805, ring 070-123 45 67"). The
tip keeps them (staff need them), encrypted; everything else that shows or logs text —
transcripts, log lines — passes it through :func:`mask` first. Recognition leans towards
masking: a typo in a personnummer is still someone's identity, and an over-eager mask only
hides a number in a transcript, never in the tip itself.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

PERSONNUMMER, PHONE, EMAIL = "personnummer", "phone", "email"
MASKS = {PERSONNUMMER: "[personnummer]", PHONE: "[telefonnummer]", EMAIL: "[e-post]"}
# Where two kinds claim the same characters, the first in this order names the match.
_PRIORITY = (PERSONNUMMER, PHONE, EMAIL)

# YYMMDD or YYYYMMDD, an optional separator ("-", "+" for 100 years or older, a space), and
# four digits. Dates are checked afterwards; samordningsnummer have day + 60.
_PERSONNUMMER = re.compile(
    r"(?<!\d)(?P<century>1[89]|20)?(?P<date>\d{6})(?P<sep>[-+ \u00a0]?)(?P<tail>\d{4})(?!\d)"
)
# A Swedish number starts with the trunk 0 or +46 / 0046 (optionally "+46 (0)…"), then 7 to 9
# digits with spaces, dashes, dots, slashes or brackets in between: 070-123 45 67,
# 08-12 34 56, (031) 123 456, +46 70 123 45 67, 0046701234567. The short police numbers
# (112, 114 14) have no trunk 0 and are left alone, as are dates and times (a number glued to
# "2024-" or "12:" is not the start of a phone number).
_SEP = r"[ \u00a0./()\-\u2010-\u2013]{0,3}"
_PHONE = re.compile(
    rf"(?<![\w+])(?<!\d[-/.:,])(?<!\d )"
    rf"(?:(?:\+|00)[ \u00a0]?46{_SEP}(?:\(0\){_SEP})?|\(?0)"
    rf"[1-9](?:{_SEP}\d){{6,8}}(?!\d)"
)
# local@domain.tld, also the "(at)"/"[at]" spelling people use to dodge spam robots.
_EMAIL = re.compile(
    r"(?<![\w.+%-])[\w.+%-]+(?:@|[ \u00a0]?[(\[]at[)\]][ \u00a0]?)"
    r"[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Match:
    """One recognised item: its kind and where it sits in the text (``text[start:end]``)."""

    kind: str
    start: int
    end: int


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(digits):
        n = int(ch) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _date_ok(yymmdd: str) -> bool:
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    return 1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)


def _personnummer(text: str) -> list[Match]:
    found = []
    for m in _PERSONNUMMER.finditer(text):
        if not _date_ok(m["date"]):
            continue
        ten = m["date"] + m["tail"]
        # Ten bare digits starting with 0 are as likely a mobile number (0701234567); call
        # them a personnummer only when the check digit agrees. Either way they are masked.
        if not m["century"] and not m["sep"] and ten.startswith("0") and not _luhn_ok(ten):
            continue
        found.append(Match(PERSONNUMMER, m.start(), m.end()))
    return found


def find(text: str) -> list[Match]:
    """Every personnummer, phone number and e-mail address in `text`, in order, no overlaps."""
    candidates = (
        _personnummer(text)
        + [Match(PHONE, m.start(), m.end()) for m in _PHONE.finditer(text)]
        + [Match(EMAIL, m.start(), m.end()) for m in _EMAIL.finditer(text)]
    )
    candidates.sort(key=lambda m: (m.start, -(m.end - m.start), _PRIORITY.index(m.kind)))
    chosen: list[Match] = []
    for match in candidates:
        if not chosen or match.start >= chosen[-1].end:
            chosen.append(match)
    return chosen


def mask_personnummer(text: str) -> str:
    """`text` with each personnummer replaced by its label; phone numbers and e-mail
    addresses stay (a tip's contact details are meant for staff). A tip is stored this way:
    the police ask for an identity number themselves when they call back."""
    parts: list[str] = []
    position = 0
    for match in find(text):
        if match.kind == PERSONNUMMER:
            parts.extend((text[position : match.start], MASKS[PERSONNUMMER]))
            position = match.end
    parts.append(text[position:])
    return "".join(parts)


def kinds(text: str) -> set[str]:
    """Which kinds of personal data `text` contains (for flags, never the values)."""
    return {m.kind for m in find(text)}


def mask(text: str) -> str:
    """`text` with each personnummer, phone number and e-mail address replaced by a label."""
    parts: list[str] = []
    position = 0
    for match in find(text):
        parts.append(text[position : match.start])
        parts.append(MASKS[match.kind])
        position = match.end
    parts.append(text[position:])
    return "".join(parts)


class MaskingFilter(logging.Filter):
    """A logging filter that masks personal data in each record's message.

    Attach it to a handler (``handler.addFilter(MaskingFilter())``) so that whatever a
    library logs about a conversation reaches the log without identity numbers, phone
    numbers or e-mail addresses.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logging's own business
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True


def install_log_masking() -> None:
    """Mask personal data in every log record this process makes, whichever library logs
    it and whichever handler writes it (Rasa sets up its own handlers after we start, so a
    handler filter would miss them). Called once by a process's entry point."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks_personal_data", False):
        return
    masking = MaskingFilter()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        masking.filter(record)
        return record

    factory.masks_personal_data = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
