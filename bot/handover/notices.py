"""What the citizen is told about the wait for a person: an estimate from the queue
position, in grammatical Swedish and English ("cirka 1 minut", "about 9 minutes")."""

from __future__ import annotations

LONG_WAIT_MINUTES = 60


def wait_estimate(minutes_per_citizen: int, position: int) -> int:
    """The wait for the citizen at `position`: each citizen ahead takes about what a
    recent citizen waited (the service's median claim wait), so the wait grows with the
    place in the queue. An estimate, never a promise."""
    return max(1, minutes_per_citizen) * max(1, position)


def wait_phrase(minutes: int, language: str) -> str:
    """'cirka 1 minut' / 'cirka 9 minuter' / 'mer än en timme' (English alike)."""
    english = language == "en"
    if minutes >= LONG_WAIT_MINUTES:
        return "more than an hour" if english else "mer än en timme"
    if english:
        return f"about {minutes} minute{'' if minutes == 1 else 's'}"
    return f"cirka {minutes} minut{'' if minutes == 1 else 'er'}"
