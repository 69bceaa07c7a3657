"""Dates as precise as their source: "2027", "2023-07" or "2023-07-01".

A source that says "2023–2027" gives years, not days. Such a date is kept as a whole date
(the first or last day of the year or month, for status) together with its precision, so a
reply can show exactly what the source said and never an invented day or month.
"""

from __future__ import annotations

import calendar
import re
from datetime import date

YEAR, MONTH, DAY = "year", "month", "day"
_PARTIAL_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")

MONTHS = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}


def parse_partial(value: object, end: bool = False) -> tuple[date, str] | None:
    """"2027" -> (2027-01-01 or, as an end, 2027-12-31, "year"); a date -> (it, "day").

    None when the value is not a year, a year-month or a date (an impossible day included).
    """
    if isinstance(value, date):
        return value, DAY
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    match = _PARTIAL_RE.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if month is None:
            return (date(year, 12, 31) if end else date(year, 1, 1)), YEAR  # type: ignore[arg-type]
        if day is None:
            last = calendar.monthrange(year, month)[1]  # type: ignore[arg-type]
            return date(year, month, last if end else 1), MONTH  # type: ignore[arg-type]
        return date(year, month, day), DAY  # type: ignore[arg-type]
    except (ValueError, calendar.IllegalMonthError):
        return None


def partial_text(value: date, precision: str | None) -> str:
    """The stored date written as precisely as it was given: "2027", "2023-07", "2023-07-01"."""
    if precision == YEAR:
        return f"{value.year}"
    if precision == MONTH:
        return f"{value.year}-{value.month:02d}"
    return value.isoformat()


def spoken(value: date, precision: str | None, language: str) -> str:
    """"2027", "juli 2023" / "July 2023", "1 juli 2023" / "1 July 2023"."""
    if precision == YEAR:
        return f"{value.year}"
    month = MONTHS[language][value.month - 1]
    if precision == MONTH:
        return f"{month} {value.year}"
    return f"{value.day} {month} {value.year}"
