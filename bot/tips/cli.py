"""`python -m bot tips …` and `python -m bot purge`: tokens, keys, redelivery, retention.

Wire it in from ``bot.cli.build_parser``: ``register(commands)`` adds the ``tips`` command
group and ``register_purge(commands)`` the top-level ``purge``. Every command migrates the
database first (a no-op when it is current), so each works on a fresh one.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine

from bot.handover.retention import purge_handover
from bot.settings import Settings
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.tips.crypto import TipCipher, generate_key
from bot.tips.delivery import requeue
from bot.tips.reference import normalise
from bot.tips.retention import purge
from bot.tips.settings import TipSettings
from bot.tips.store import reencrypt_all, utcnow
from bot.tips.tokens import TokenNameTaken, create_token, list_tokens, revoke_token


def _settings() -> tuple[Settings, TipSettings]:
    settings = Settings.from_env()
    return settings, TipSettings.from_env(os.environ, settings.root)


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def cmd_token_create(args: argparse.Namespace) -> int:
    """Create a staff API token; it is printed once and cannot be shown again."""
    settings, _ = _settings()
    with _engine(settings) as engine:
        try:
            token = create_token(engine, args.name)
        except (TokenNameTaken, ValueError) as error:
            print(error, file=sys.stderr)
            return 1
    print(token)
    print(
        f"Token {args.name!r} created. It is shown only now: hand it over safely "
        "(Authorization: Bearer <token>).",
        file=sys.stderr,
    )
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    """List staff API tokens: name, created, last used (never the token)."""
    settings, _ = _settings()
    with _engine(settings) as engine:
        tokens = list_tokens(engine)
    if not tokens:
        print("No tokens.")
    for t in tokens:
        last = t.last_used_at.isoformat(timespec="minutes") if t.last_used_at else "never"
        print(f"{t.name}\tcreated {t.created_at.isoformat(timespec='minutes')}\tlast used {last}")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    """Revoke (delete) a staff API token by name."""
    settings, _ = _settings()
    with _engine(settings) as engine:
        revoked = revoke_token(engine, args.name)
    print(f"Token {args.name!r} revoked." if revoked else f"No token named {args.name!r}.")
    return 0 if revoked else 1


def cmd_rotate_key(args: argparse.Namespace) -> int:
    """Re-encrypt every stored tip with the newest key (run after adding a key first)."""
    settings, tip_settings = _settings()
    cipher = TipCipher.from_settings(tip_settings.encryption_keys, tip_settings.key_file)
    with _engine(settings) as engine:
        report = reencrypt_all(engine, cipher)
    print(
        f"Re-encrypted {report.tips} tips and {report.attachments} pictures (and "
        f"{report.staged_pictures} pictures waiting for their tip) with the newest key. "
        "Older keys can be removed once every service runs with the new list."
    )
    return 0


def cmd_generate_key(_: argparse.Namespace) -> int:
    """Print a new encryption key (put it first in TIP_ENCRYPTION_KEYS)."""
    print(generate_key())
    return 0


def cmd_redeliver(args: argparse.Namespace) -> int:
    """Queue failed tips (or one tip by reference) for webhook delivery again."""
    reference = None
    if args.reference:
        reference = normalise(args.reference)
        if reference is None:
            print(f"Not a tip reference: {args.reference!r}", file=sys.stderr)
            return 1
    settings, _ = _settings()
    with _engine(settings) as engine:
        count = requeue(engine, reference=reference)
    print(f"Queued {count} tip(s) for delivery.")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete old transcripts, delivered tips and pictures of unsent tips (RETENTION_*)."""
    settings, tip_settings = _settings()
    with _engine(settings) as engine:
        now = utcnow()
        report = purge(
            engine,
            now,
            tip_settings.retention_transcript_days,
            tip_settings.retention_tip_days,
            staged_picture_hours=tip_settings.retention_staged_picture_hours,
        )
        handover = purge_handover(
            engine, now, tip_settings.retention_transcript_days, tip_settings.retention_tip_days
        )
    print(f"Purge: {report}; {handover}.")
    return 0


def _add(commands: Any, name: str, func: Any) -> argparse.ArgumentParser:
    sub = commands.add_parser(name, help=(func.__doc__ or "").splitlines()[0])
    sub.set_defaults(func=func)
    return sub


def register(subparsers: Any) -> None:
    """Add `tips token create|list|revoke`, `tips rotate-key|generate-key|redeliver`."""
    parser = subparsers.add_parser("tips", help="Staff API tokens, encryption keys, delivery.")
    commands = parser.add_subparsers(dest="tips_command", required=True)

    token = commands.add_parser("token", help="Create, list and revoke staff API tokens.")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    _add(token_commands, "create", cmd_token_create).add_argument(
        "name", help="who or what holds the token, e.g. 'pkc-stockholm'"
    )
    _add(token_commands, "list", cmd_token_list)
    _add(token_commands, "revoke", cmd_token_revoke).add_argument("name")

    _add(commands, "rotate-key", cmd_rotate_key)
    _add(commands, "generate-key", cmd_generate_key)
    _add(commands, "redeliver", cmd_redeliver).add_argument(
        "reference", nargs="?", help="one tip (default: every failed tip)"
    )


def register_purge(subparsers: Any) -> None:
    """Add the top-level `purge` command."""
    _add(subparsers, "purge", cmd_purge)
