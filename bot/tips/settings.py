"""The tip settings, read from the environment in one place until they join bot/settings.py.

Only the variables listed in :data:`TIP_SETTINGS` are read here; every other module of
``bot.tips`` takes its values as parameters, so folding these into ``bot.settings.Settings``
later changes nothing but this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bot.settings import PROJECT_ROOT, SETTINGS, Setting

TIP_NAMES = frozenset({"TIP_ENCRYPTION_KEYS", "TIP_WEBHOOK_URL", "TIP_WEBHOOK_SECRET",
                       "TIP_WEBHOOK_GIVE_UP_HOURS", "RETENTION_TRANSCRIPT_DAYS",
                       "RETENTION_TIP_DAYS", "RETENTION_STAGED_PICTURE_HOURS"})
TIP_SETTINGS: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.name in TIP_NAMES)

KEY_FILE = Path("var") / "tip-encryption.keys"
MIN_SECRET_LENGTH = 16


def _env(environ: Mapping[str, str], name: str) -> str:
    default = next(s.default for s in TIP_SETTINGS if s.name == name)
    return (environ.get(name, default) or default).strip()


def _non_negative_int(environ: Mapping[str, str], name: str) -> int:
    raw = _env(environ, name)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, not {value}")
    return value


@dataclass(frozen=True)
class TipSettings:
    """The resolved tip settings of one process."""

    encryption_keys: tuple[str, ...] = ()
    key_file: Path = PROJECT_ROOT / KEY_FILE
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_give_up: timedelta = timedelta(hours=72)
    retention_transcript_days: int = 30
    retention_tip_days: int = 90
    retention_staged_picture_hours: int = 24

    def __post_init__(self) -> None:
        # Fail at start-up, not at the first tip: a half-configured webhook would otherwise
        # send unsigned tips or none at all without anyone noticing.
        if self.webhook_url:
            parts = urlsplit(self.webhook_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("TIP_WEBHOOK_URL must be an http:// or https:// URL")
            if len(self.webhook_secret) < MIN_SECRET_LENGTH:
                raise ValueError(
                    f"TIP_WEBHOOK_SECRET must be at least {MIN_SECRET_LENGTH} characters "
                    "when TIP_WEBHOOK_URL is set"
                )

    def __repr__(self) -> str:  # keys and secret never end up in a log line
        return (
            f"TipSettings(keys={len(self.encryption_keys)}, key_file={str(self.key_file)!r}, "
            f"webhook_url={self.webhook_url!r}, retention_transcript_days="
            f"{self.retention_transcript_days}, retention_tip_days={self.retention_tip_days}, "
            f"retention_staged_picture_hours={self.retention_staged_picture_hours})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str], root: Path = PROJECT_ROOT) -> TipSettings:
        """Read the tip variables (and only those) from `environ`."""
        give_up = "TIP_WEBHOOK_GIVE_UP_HOURS"
        keys = tuple(k for k in _env(environ, "TIP_ENCRYPTION_KEYS").replace(",", " ").split())
        return cls(
            encryption_keys=keys,
            key_file=root / KEY_FILE,
            webhook_url=_env(environ, "TIP_WEBHOOK_URL"),
            webhook_secret=environ.get("TIP_WEBHOOK_SECRET", ""),
            webhook_give_up=timedelta(hours=_non_negative_int(environ, give_up)),
            retention_transcript_days=_non_negative_int(environ, "RETENTION_TRANSCRIPT_DAYS"),
            retention_tip_days=_non_negative_int(environ, "RETENTION_TIP_DAYS"),
            retention_staged_picture_hours=_non_negative_int(
                environ, "RETENTION_STAGED_PICTURE_HOURS"
            ),
        )


@dataclass(frozen=True)
class DeliveryConfig:
    """How the webhook worker delivers: where to, how it signs, how often it retries.

    Backoff doubles from `base_delay` up to `max_delay` seconds, each wait drawn between half
    and all of that (jitter, so many tips that failed together do not retry in lockstep).
    A tip is marked failed after `max_attempts` attempts or once it is `give_up_after` old.
    """

    url: str
    secret: str = field(repr=False)
    give_up_after: timedelta = timedelta(hours=72)
    max_attempts: int = 200
    base_delay: float = 10.0
    max_delay: float = 1800.0
    timeout: float = 15.0
    poll_interval: float = 5.0
    batch_size: int = 10

    @property
    def lease(self) -> timedelta:
        """How long a claimed batch is reserved for one worker: longer than it can take."""
        return timedelta(seconds=self.batch_size * (self.timeout + 5) + 60)

    @classmethod
    def from_settings(cls, settings: TipSettings) -> DeliveryConfig | None:
        """The delivery of `settings`, or None when no webhook is configured."""
        if not settings.webhook_url:
            return None
        return cls(settings.webhook_url, settings.webhook_secret, settings.webhook_give_up)
