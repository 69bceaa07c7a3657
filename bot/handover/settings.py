"""The handover and console settings, read from the environment in one place.

Only the variables in :data:`HANDOVER_SETTINGS` are read here, so folding them into
``bot.settings.Settings`` later changes nothing but this file. Wrong values fail at start-up
(``from_env`` raises), not at the first citizen who asks for a person.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.handover.hours import Schedule
from bot.settings import SETTINGS, Setting

HANDOVER_NAMES = frozenset({
    "CHAT_HOURS", "HANDOVER_QUEUES", "CONSOLE_SECURE_COOKIES", "CONSOLE_TRUST_PROXY",
    "CONSOLE_SESSION_HOURS", "CONSOLE_LOGIN_MAX_FAILURES", "HANDOVER_POLL_SECONDS",
})
HANDOVER_SETTINGS: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.name in HANDOVER_NAMES)

_QUEUE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _env(environ: Mapping[str, str], name: str) -> str:
    default = next(s.default for s in HANDOVER_SETTINGS if s.name == name)
    return (environ.get(name, default) or default).strip()


def _number(environ: Mapping[str, str], name: str, kind: type[float] | type[int]) -> float:
    raw = _env(environ, name)
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, not {raw!r}")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = _env(environ, name).lower()
    if raw not in _TRUE + _FALSE:
        raise ValueError(f"{name} must be true or false, not {raw!r}")
    return raw in _TRUE


@dataclass(frozen=True)
class HandoverSettings:
    """The resolved handover settings of one process."""

    chat_hours: Schedule = field(default_factory=lambda: Schedule(always=True, text="always"))
    queues: tuple[str, ...] = ("national",)
    secure_cookies: bool = False
    trust_proxy: bool = False
    session_lifetime: timedelta = timedelta(hours=8)
    login_max_failures: int = 5
    poll_interval: float = 1.0

    def __post_init__(self) -> None:
        if not self.queues:
            raise ValueError("HANDOVER_QUEUES needs at least one queue")
        for queue in self.queues:
            if not _QUEUE.match(queue):
                raise ValueError(
                    f"queue name {queue!r}: lower-case letters, digits, - or _ (at most 40)"
                )

    @property
    def default_queue(self) -> str:
        """Where new handovers wait."""
        return self.queues[0]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> HandoverSettings:
        """Read the handover variables (and only those) from `environ`."""
        secure = _env(environ, "CONSOLE_SECURE_COOKIES").lower()
        if secure not in ("auto", "always"):
            raise ValueError(f"CONSOLE_SECURE_COOKIES must be auto or always, not {secure!r}")
        names = _env(environ, "HANDOVER_QUEUES").lower().replace(",", " ").split()
        poll = _number(environ, "HANDOVER_POLL_SECONDS", float)
        return cls(
            chat_hours=Schedule.parse(_env(environ, "CHAT_HOURS")),
            queues=tuple(dict.fromkeys(names)),
            secure_cookies=secure == "always",
            trust_proxy=_flag(environ, "CONSOLE_TRUST_PROXY"),
            session_lifetime=timedelta(hours=_number(environ, "CONSOLE_SESSION_HOURS", float)),
            login_max_failures=int(_number(environ, "CONSOLE_LOGIN_MAX_FAILURES", int)),
            poll_interval=max(0.1, poll),
        )
