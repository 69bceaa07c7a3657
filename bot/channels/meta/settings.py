"""The Meta channel settings (Messenger, Instagram, WhatsApp), read from the environment here.

Only the variables in :data:`META_SETTINGS` are read here (plus ``DATABASE_URL`` through
:class:`bot.settings.Settings`, so every process finds the same database); every other module
of ``bot.channels.meta`` takes its values as parameters, so folding these into
``bot.settings.Settings`` later changes nothing but this file. Secrets never go into
``credentials.yml``: that file only switches the channels on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_ROOT, Setting, Settings

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v19.0"

META_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "META_APP_SECRET",
        "",
        "App secret of the Meta app: verifies X-Hub-Signature-256 on every webhook. Empty: "
        "every webhook is refused with 403.",
    ),
    Setting(
        "META_VERIFY_TOKEN",
        "",
        "The token you type into the app's webhook settings; the subscribe handshake is "
        "answered only to it. Empty: the handshake is refused.",
    ),
    Setting("MESSENGER_PAGE_TOKEN", "", "Page access token for sending Messenger replies."),
    Setting(
        "INSTAGRAM_PAGE_TOKEN",
        "",
        "Page access token of the Facebook page linked to the Instagram professional account.",
    ),
    Setting("WHATSAPP_TOKEN", "", "System-user access token for the WhatsApp Cloud API."),
    Setting("WHATSAPP_PHONE_NUMBER_ID", "", "WhatsApp business phone number id replies come from."),
    Setting(
        "META_GRAPH_URL",
        DEFAULT_GRAPH_URL,
        "Base URL of the Graph API, version included (tests point it at a local fake).",
    ),
    Setting(
        "REDIS_URL",
        "",
        "Redis for de-duplicating Meta's retried deliveries (SET NX EX). Empty: the "
        "meta_seen_messages table in the service database.",
    ),
    Setting(
        "META_DEDUP_TTL_SECONDS",
        "604800",
        "How long a delivered message id is remembered (Meta retries for up to 7 days).",
    ),
    Setting(
        "WEB_CHAT_URL",
        "https://polisen.se/",
        "The web chat offered for sensitive matters in the reminder on social media.",
    ),
    Setting(
        "META_REMINDER_TTL_SECONDS",
        "86400",
        "The 'do not post sensitive details here' reminder is added at most once per sender "
        "in this time (24 h: Meta's messaging window).",
    ),
    Setting(
        "META_ATTACHMENT_DIR",
        "var/attachments",
        "Where the default sink keeps accepted pictures, named by SHA-256 (relative to the "
        "project root).",
    ),
    Setting(
        "META_MAX_ATTACHMENT_BYTES",
        str(10 * 1024 * 1024),
        "Largest picture accepted from a citizen (bytes).",
    ),
    Setting(
        "META_SEND_ATTEMPTS", "4", "Attempts per Graph API call on 429, 5xx or network errors."
    ),
    Setting(
        "META_RETRY_BASE_SECONDS",
        "0.5",
        "First back-off delay; it doubles after every failed attempt.",
    ),
)


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
    attachment_dir: Path = field(default=PROJECT_ROOT / "var" / "attachments")
    max_attachment_bytes: int = 10 * 1024 * 1024
    send_attempts: int = 4
    retry_base_seconds: float = 0.5

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, root: Path = PROJECT_ROOT
    ) -> MetaSettings:
        """Read the settings from `environ` (the process environment by default)."""
        env = os.environ if environ is None else environ
        attachment_dir = Path(_env(env, "META_ATTACHMENT_DIR"))
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
            attachment_dir=attachment_dir
            if attachment_dir.is_absolute()
            else root / attachment_dir,
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
