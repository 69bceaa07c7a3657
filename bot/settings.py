"""All run-time settings, read from environment variables in one place.

Every setting has a documented default so that `make run` works on a fresh clone with the
embedded SQLite database; production overrides them through the environment. Nothing else
in the project reads `os.environ` for configuration.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    """One documented environment variable (the README table is generated from these)."""

    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        "sqlite:///var/polisbot.db",
        "SQLAlchemy URL of the database (tracker store and service tables). "
        "A relative SQLite path is relative to the project root.",
    ),
    Setting(
        "DATABASE_POOL_SIZE",
        "5",
        "Connections each database engine keeps open to a server database (every process "
        "has a few engines; Rasa's tracker store one). With several replicas keep "
        "replicas x processes x engines x (pool + overflow) below PostgreSQL's "
        "max_connections, or put PgBouncer in front (docs/deployment.md).",
    ),
    Setting("DATABASE_MAX_OVERFLOW", "10",
            "Connections an engine may open beyond DATABASE_POOL_SIZE under load, closed "
            "again when returned."),
    Setting("RASA_HOST", "127.0.0.1", "Interface the Rasa server binds to."),
    Setting("RASA_PORT", "5005", "Port of the Rasa server (REST and socket.io channels)."),
    Setting("RASA_TOKEN", "", "Token for Rasa's HTTP API; generated per start when empty."),
    Setting(
        "REST_TOKEN",
        "",
        "Bearer token an integration must send to the REST channel (it is not a citizen "
        "channel); generated per start when empty, so the REST channel is closed to anyone "
        "who was not given it.",
    ),
    Setting("ACTIONS_PORT", "5055", "Port of the action server (bound to 127.0.0.1)."),
    Setting("RASA_URL", "",
            "How the other processes reach the Rasa server (in a cluster: its balancer or "
            "Kubernetes service, e.g. http://rasa:5005). Empty: http://127.0.0.1:RASA_PORT."),
    Setting("ACTIONS_URL", "",
            "How the other processes reach the action server (e.g. http://actions:5055). "
            "Empty: http://127.0.0.1:ACTIONS_PORT."),
    Setting("WEB_HOST", "127.0.0.1", "Interface the bot web service binds to."),
    Setting("WEB_PORT", "8080", "Port of the bot web service."),
    Setting("MODEL_DIR", "models", "Where trained models are kept, named by content hash."),
    Setting(
        "RASA_CONCURRENT_MESSAGES",
        "1",
        "Messages the Rasa server works on at once; the rest wait their turn in arrival order "
        "(so a busy server keeps every citizen's wait short and even). A message waiting for "
        "the action server lends its turn and comes back first. A message that has "
        "waited 2 seconds goes ahead anyway, so a stalled action server cannot hold up "
        "emergency replies. 0 admits every message at once (Rasa's own behaviour).",
    ),
    Setting(
        "ACTION_TIMEOUT_SECONDS",
        "10",
        "How long the Rasa server waits for a custom action (Rasa's own default is 300 s); "
        "then the citizen is told something went wrong, with 114 14, and what they wrote is "
        "kept. A session start waits at most 3 s and then starts in the Rasa server.",
    ),
    Setting(
        "SUPERVISOR_STATUS_FILE",
        "",
        "Set by the launcher: where its supervisor writes which services run and how often "
        "each was restarted (shown in /health). Empty: not shown.",
    ),
    Setting(
        "TRACKER_CACHE_SIZE",
        "2000",
        "Conversations the Rasa server keeps in memory between messages (each for at most 10 "
        "minutes idle; about 85 KB for a 7-message conversation), so a message costs one "
        "point query instead of a read of the whole session. Safe with several Rasa processes "
        "on one database: a conversation another process continued is read again.",
    ),
    Setting(
        "SESSION_SECRET",
        "",
        "Key that signs web-chat session tokens; generated per start when empty "
        "(sessions then do not survive a restart).",
    ),
    Setting(
        "CORS_ORIGINS",
        "",
        "Space-separated origins (the pages that embed the web chat, e.g. "
        "'https://polisen.se https://www.polisen.se') allowed to use the chat channels, the "
        "picture upload and Rasa's API from a browser. Empty: only this system's own demo "
        "page and Rasa server (http://127.0.0.1 and http://localhost at WEB_PORT and "
        "RASA_PORT). '*' allows every origin (never in production).",
    ),
    Setting("TIP_ENCRYPTION_KEYS", "",
            "Fernet keys that encrypt tips and conversation transcripts at rest, separated by "
            "spaces or commas, newest first (new data uses the first; all of them decrypt). "
            "Empty: a key is generated on first use and kept in var/tip-encryption.keys. See "
            "docs/tips.md for rotation."),
    Setting("TIP_WEBHOOK_URL", "",
            "Where new tips are delivered as signed JSON (POST). Empty: no delivery; tips wait "
            "in the store for staff."),
    Setting("TIP_WEBHOOK_SECRET", "",
            "Shared secret for the X-Polisbot-Signature HMAC-SHA256 header; required (at least "
            "16 characters) when TIP_WEBHOOK_URL is set."),
    Setting("TIP_WEBHOOK_GIVE_UP_HOURS", "72",
            "How long a tip's delivery is retried before it is marked failed (it then waits in "
            "the store; `python -m bot tips redeliver` queues it again)."),
    Setting("RETENTION_TRANSCRIPT_DAYS", "30",
            "`python -m bot purge` deletes conversations idle for this many days (0 keeps "
            "them)."),
    Setting("RETENTION_TIP_DAYS", "90",
            "`python -m bot purge` deletes tips this many days after their delivery (0 keeps "
            "them). Undelivered tips are never purged."),
    Setting("RETENTION_STAGED_PICTURE_HOURS", "24",
            "`python -m bot purge` deletes pictures a citizen sent that never became part of a "
            "sent tip (the tip was abandoned) this many hours after they arrived (0 keeps "
            "them)."),
    Setting(
        "CHAT_HOURS",
        "always",
        "When agents answer chats, Europe/Stockholm wall-clock time: 'always', 'never' or "
        "e.g. 'mon-fri 08:00-20:00; sat 10:00-16:00' (grammar in bot/handover/hours.py). "
        "Out of hours the bot offers 114 14 and a callback request.",
    ),
    Setting(
        "HANDOVER_QUEUES",
        "national",
        "Queues agents can transfer a conversation to, separated by spaces or commas; new "
        "handovers join the first one.",
    ),
    Setting(
        "CONSOLE_SECURE_COOKIES",
        "auto",
        "'auto': the console session cookie is Secure when the request came over https; "
        "'always': always Secure (set this in production behind TLS).",
    ),
    Setting(
        "CONSOLE_TRUST_PROXY",
        "false",
        "'true' when a reverse proxy you control sets X-Forwarded-Proto and X-Forwarded-Host "
        "(then they decide https and the origin check); otherwise they are ignored.",
    ),
    Setting(
        "CONSOLE_SESSION_HOURS",
        "8",
        "How long an agent stays logged in (a shift); then the console asks to log in again.",
    ),
    Setting(
        "CONSOLE_LOGIN_MAX_FAILURES",
        "5",
        "Failed logins of one user name from one client within 15 minutes before that client "
        "is refused that name for 15 minutes; a client failing 4 times as often over all "
        "names is refused every name (0 turns both off).",
    ),
    Setting(
        "HANDOVER_POLL_SECONDS",
        "1",
        "How often each web process reads new handover events from the database for its "
        "open consoles.",
    ),
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
        "https://graph.facebook.com/v19.0",
        "Base URL of the Graph API, version included (tests point it at a local fake).",
    ),
    Setting(
        "REDIS_URL",
        "",
        "Redis shared by every process: the Rasa servers' conversation locks (so two "
        "instances never work on one conversation at once), the web chat's socket.io rooms "
        "and who is connected (a push from any Rasa server reaches the citizen), the REST "
        "channel's marks of waiting contact-centre messages, the de-duplication of "
        "Meta's retried deliveries (SET NX EX), and the rate limits (bot/ratelimit.py). Empty: "
        "all of that in the one Rasa process, the meta_seen_messages table in the service "
        "database, and limits counted per process.",
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
    default = next(s.default for s in SETTINGS if s.name == name)
    return environ.get(name, default) or default


def own_origins(*ports: int) -> tuple[str, ...]:
    """This system's own origins (the demo page's, and the Rasa server's own for clients that
    name it): the default CORS allow-list."""
    return tuple(f"http://{host}:{port}" for port in ports for host in ("127.0.0.1", "localhost"))


def _absolute_database_url(url: str, root: Path) -> str:
    """Anchor a relative SQLite path at the project root so every process finds one file."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(root / url[len(prefix) :])
    return url


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one process."""

    database_url: str
    rasa_host: str
    rasa_port: int
    rasa_token: str
    actions_port: int
    web_host: str
    web_port: int
    model_dir: Path
    session_secret: str
    cors_origins: tuple[str, ...]
    tracker_cache_size: int = 2000
    rest_token: str = ""
    action_timeout_seconds: float = 10.0
    supervisor_status_file: str = ""
    rasa_concurrent_messages: int = 1
    redis_url: str = ""
    database_pool_size: int = 5
    database_max_overflow: int = 10
    rasa_service_url: str = ""
    actions_service_url: str = ""
    root: Path = field(default=PROJECT_ROOT)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, root: Path = PROJECT_ROOT
    ) -> Settings:
        """Read the settings from `environ` (the process environment by default)."""
        env = os.environ if environ is None else environ
        model_dir = Path(_env(env, "MODEL_DIR"))
        return cls(
            database_url=_absolute_database_url(_env(env, "DATABASE_URL"), root),
            rasa_host=_env(env, "RASA_HOST"),
            rasa_port=int(_env(env, "RASA_PORT")),
            rasa_token=env.get("RASA_TOKEN", ""),
            rest_token=env.get("REST_TOKEN", ""),
            action_timeout_seconds=max(0.1, float(_env(env, "ACTION_TIMEOUT_SECONDS"))),
            supervisor_status_file=env.get("SUPERVISOR_STATUS_FILE", ""),
            actions_port=int(_env(env, "ACTIONS_PORT")),
            web_host=_env(env, "WEB_HOST"),
            web_port=int(_env(env, "WEB_PORT")),
            model_dir=model_dir if model_dir.is_absolute() else root / model_dir,
            session_secret=env.get("SESSION_SECRET", ""),
            cors_origins=tuple(_env(env, "CORS_ORIGINS").split())
            or own_origins(int(_env(env, "WEB_PORT")), int(_env(env, "RASA_PORT"))),
            tracker_cache_size=max(0, int(_env(env, "TRACKER_CACHE_SIZE"))),
            rasa_concurrent_messages=max(0, int(_env(env, "RASA_CONCURRENT_MESSAGES"))),
            redis_url=_env(env, "REDIS_URL"),
            database_pool_size=max(1, int(_env(env, "DATABASE_POOL_SIZE"))),
            database_max_overflow=max(0, int(_env(env, "DATABASE_MAX_OVERFLOW"))),
            rasa_service_url=_env(env, "RASA_URL").rstrip("/"),
            actions_service_url=_env(env, "ACTIONS_URL").rstrip("/"),
            root=root,
        )

    @property
    def rasa_url(self) -> str:
        """Base URL other processes use to reach the Rasa server."""
        return self.rasa_service_url or f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        """Base URL other processes use to reach the action server."""
        return self.actions_service_url or f"http://127.0.0.1:{self.actions_port}"
