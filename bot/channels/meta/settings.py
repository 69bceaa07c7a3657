"""The Meta channel settings (Messenger, Instagram, WhatsApp), read from the environment here.

Only the variables in :data:`META_SETTINGS` are read here (plus ``DATABASE_URL`` through
:class:`bot.settings.Settings`, so every process finds the same database, and the tip keys
through :class:`bot.tips.settings.TipSettings`, which encrypt staged pictures); every other module
of ``bot.channels.meta`` takes its values as parameters, so folding these into
``bot.settings.Settings`` later changes nothing but this file. Secrets never go into
``credentials.yml``: that file only switches the channels on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_ROOT, SETTINGS, Setting, Settings
from bot.tips.settings import TipSettings

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v19.0"

META_NAMES = frozenset({
    "META_APP_SECRET",
    "META_VERIFY_TOKEN",
    "MESSENGER_PAGE_TOKEN",
    "INSTAGRAM_PAGE_TOKEN",
    "WHATSAPP_TOKEN",
    "WHATSAPP_PHONE_NUMBER_ID",
    "META_GRAPH_URL",
    "REDIS_URL",
    "META_DEDUP_TTL_SECONDS",
    "WEB_CHAT_URL",
    "META_REMINDER_TTL_SECONDS",
    "META_MAX_ATTACHMENT_BYTES",
    "META_SEND_ATTEMPTS",
    "META_RETRY_BASE_SECONDS",
})
META_SETTINGS: tuple[Setting, ...] = tuple(s for s in SETTINGS if s.name in META_NAMES)


def _env(environ: Mapping[str, str], name: str) -> str:
    default = next(s.default for s in META_SETTINGS if s.name == name)
    return (environ.get(name) or default).strip()


@dataclass(frozen=True)
class MetaSettings:
    """The resolved Meta channel settings of one process."""

    app_secret: str = ""
    verify_token: str = ""
    messenger_page_token: str = ""
    instagram_page_token: str = ""
    whatsapp_token: str = ""
    whatsapp_phone_number_id: str = ""
    graph_url: str = DEFAULT_GRAPH_URL
    redis_url: str = ""
    database_url: str = ""
    dedup_ttl_seconds: int = 604800
    web_chat_url: str = "https://polisen.se/"
    reminder_ttl_seconds: int = 86400
    # The tip keys: accepted pictures are staged encrypted for the conversation's tip.
    tips: TipSettings = field(default_factory=TipSettings)
    max_attachment_bytes: int = 10 * 1024 * 1024
    send_attempts: int = 4
    retry_base_seconds: float = 0.5

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, root: Path = PROJECT_ROOT
    ) -> MetaSettings:
        """Read the settings from `environ` (the process environment by default)."""
        env = os.environ if environ is None else environ
        return cls(
            app_secret=_env(env, "META_APP_SECRET"),
            verify_token=_env(env, "META_VERIFY_TOKEN"),
            messenger_page_token=_env(env, "MESSENGER_PAGE_TOKEN"),
            instagram_page_token=_env(env, "INSTAGRAM_PAGE_TOKEN"),
            whatsapp_token=_env(env, "WHATSAPP_TOKEN"),
            whatsapp_phone_number_id=_env(env, "WHATSAPP_PHONE_NUMBER_ID"),
            graph_url=_env(env, "META_GRAPH_URL").rstrip("/"),
            redis_url=_env(env, "REDIS_URL"),
            database_url=Settings.from_env(env, root).database_url,
            dedup_ttl_seconds=max(60, int(_env(env, "META_DEDUP_TTL_SECONDS"))),
            web_chat_url=_env(env, "WEB_CHAT_URL"),
            reminder_ttl_seconds=max(60, int(_env(env, "META_REMINDER_TTL_SECONDS"))),
            tips=TipSettings.from_env(env, root),
            max_attachment_bytes=max(1, int(_env(env, "META_MAX_ATTACHMENT_BYTES"))),
            send_attempts=max(1, int(_env(env, "META_SEND_ATTEMPTS"))),
            retry_base_seconds=max(0.0, float(_env(env, "META_RETRY_BASE_SECONDS"))),
        )

    def __repr__(self) -> str:
        """Never show a secret or token (settings objects end up in tracebacks and logs)."""
        hidden = {
            "app_secret",
            "verify_token",
            "messenger_page_token",
            "instagram_page_token",
            "whatsapp_token",
            "redis_url",
            "database_url",
        }
        shown = ", ".join(
            f"{name}={'***' if name in hidden and value else repr(value)}"
            for name, value in self.__dict__.items()
        )
        return f"MetaSettings({shown})"
