"""Chat staffing hours: when agents answer, in Swedish wall-clock time.

The schedule is a setting (``CHAT_HOURS``) so the contact centre can change it without a
release. Its grammar, one entry per group of days, entries separated by ``;``::

    always                                   agents answer around the clock
    never                                    no chat staffing (callbacks only)
    mon-fri 08:00-20:00; sat 10:00-16:00     weekdays and Saturday
    mon,wed 08:00-12:00 13:00-17:00          several intervals a day (space or comma)
    fri 22:00-02:00                          an interval past midnight belongs to its start day
    sun 00:00-24:00                          the whole day

Days are ``mon tue wed thu fri sat sun`` (Swedish ``mån tis ons tor fre lör sön`` work too),
as single days, ranges (``mon-fri``, ``fri-mon`` wraps) or comma lists. Times are ``HH:MM``
in the Europe/Stockholm time zone, so the hours stay the same across daylight saving time.
A start equal to the end is an empty interval. Public holidays are not known here: give the
schedule for the week and staff close the queue by other means on holidays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SWEDISH_DAYS = {
    "mån": "mon",
    "man": "mon",
    "tis": "tue",
    "ons": "wed",
    "tor": "thu",
    "fre": "fri",
    "lör": "sat",
    "lor": "sat",
    "sön": "sun",
    "son": "sun",
}
_ENTRY = re.compile(r"^(?P<days>[^\d]+?)\s+(?P<times>\d.*)$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class ScheduleError(ValueError):
    """The schedule text cannot be read; the message says where."""


@dataclass(frozen=True)
class Interval:
    """Open from `start` minutes after midnight on `weekday` (0 = Monday) for `minutes`."""

    weekday: int
    start: int
    minutes: int


@dataclass(frozen=True)
class Schedule:
    """A parsed staffing schedule; build it with :meth:`parse`."""

    intervals: tuple[Interval, ...] = ()
    always: bool = False
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """Read `text` (grammar in the module docstring); raise ScheduleError if it is wrong."""
        source = text.strip()
        lowered = source.lower()
        if lowered in ("always", "alltid", "24/7"):
            return cls(always=True, text=source)
        if lowered in ("never", "aldrig", ""):
            return cls(text=source)
        intervals: list[Interval] = []
        for entry in (e.strip() for e in lowered.split(";")):
            if not entry:
                continue
            match = _ENTRY.match(entry)
            if not match:
                raise ScheduleError(f"{entry!r} is not 'days times' (e.g. 'mon-fri 08:00-20:00')")
            days = _parse_days(re.sub(r"\s+", "", match["days"]), entry)
            times = [t for t in re.split(r"[\s,]+", match["times"].strip()) if t]
            for item in times:
                start, end = _parse_interval(item, entry)
                length = end - start if end > start else end + 24 * 60 - start
                if start == end:
                    continue
                intervals.extend(Interval(day, start, length) for day in days)
        return cls(intervals=tuple(intervals), text=source)


def _day(name: str, entry: str) -> int:
    key = _SWEDISH_DAYS.get(name, name)
    if key not in DAYS:
        raise ScheduleError(f"unknown day {name!r} in {entry!r} (use mon, tue, … sun)")
    return DAYS.index(key)


def _parse_days(text: str, entry: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        first, dash, last = part.partition("-")
        if not dash:
            days.append(_day(first, entry))
            continue
        a, b = _day(first, entry), _day(last, entry)
        days.extend((a + i) % 7 for i in range((b - a) % 7 + 1))
    return days


def _parse_interval(text: str, entry: str) -> tuple[int, int]:
    match = _TIME.match(text)
    if not match:
        raise ScheduleError(f"{text!r} in {entry!r} is not a time interval like 08:00-20:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise ScheduleError(f"{text!r} in {entry!r} is not a valid time interval")
    return h1 * 60 + m1, h2 * 60 + m2


def _local(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("is_open needs an aware datetime (e.g. datetime.now(timezone.utc))")
    return now.astimezone(STOCKHOLM)


def _wall_minutes(moment: datetime) -> int:
    """Minutes since Monday 00:00 on the Stockholm wall clock."""
    return moment.weekday() * 24 * 60 + moment.hour * 60 + moment.minute


def is_open(now: datetime, schedule: Schedule) -> bool:
    """Whether agents answer at `now` (an aware datetime, in any time zone).

    Compared on the Stockholm wall clock, so "08:00" is eight in the morning in both winter
    and summer time.
    """
    local = _local(now)
    if schedule.always:
        return True
    week = 7 * 24 * 60
    position = _wall_minutes(local)
    for interval in schedule.intervals:
        start = interval.weekday * 24 * 60 + interval.start
        if (position - start) % week < interval.minutes:
            return True
    return False


def next_opening(now: datetime, schedule: Schedule) -> datetime | None:
    """When agents next answer (`now` itself if open), in Stockholm time; None if never.

    For the out-of-hours message ("we open at 08:00 on Monday").
    """
    local = _local(now)
    if schedule.always or is_open(local, schedule):
        return local
    candidates: list[datetime] = []
    today = local.date()
    for offset in range(8):
        day = today + timedelta(days=offset)
        for interval in schedule.intervals:
            if interval.weekday != day.weekday():
                continue
            wall = datetime.combine(day, time(interval.start // 60, interval.start % 60))
            # Through UTC, so every candidate is a real instant (fold and gaps resolved).
            start = wall.replace(tzinfo=STOCKHOLM).astimezone(timezone.utc).astimezone(STOCKHOLM)
            if start > local:
                candidates.append(start)
    return min(candidates) if candidates else None
