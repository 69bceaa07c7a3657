"""Bearer tokens for the staff API, created on the command line.

Only a SHA-256 hash of each token is stored, so a copy of the database does not open the
API; the token itself is printed once, when it is made (``python -m bot tips token create``).
Tokens are 256-bit random values, so a plain hash (no salt, no slow KDF) is enough: there is
nothing to guess from a hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.tips.models import api_tokens
from bot.tips.store import as_utc, utcnow

PREFIX = "pbt_"
MAX_TOKEN_LENGTH = 200
# last_used_at is a hint for staff ("is this token still in use?"), not an audit log: it is
# written at most once a minute per token, so the API does not write on every read.
LAST_USED_RESOLUTION = timedelta(minutes=1)
_NAME = re.compile(r"^[\w.@-][\w .@-]{0,79}$")


class TokenNameTaken(ValueError):
    """A token with that name exists already (revoke it first to replace it)."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed: never the token itself."""

    name: str
    created_at: datetime
    last_used_at: datetime | None


def hash_token(token: str) -> str:
    """The stored form of `token`."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(engine: Engine, name: str, *, now: datetime | None = None) -> str:
    """Make a token called `name` (who or what holds it) and return it; it is not kept."""
    if not _NAME.match(name):
        raise ValueError("token name: 1 to 80 letters, digits, spaces or . @ - _")
    token = PREFIX + secrets.token_urlsafe(32)
    try:
        with engine.begin() as connection:
            connection.execute(
                api_tokens.insert().values(
                    name=name, token_hash=hash_token(token), created_at=as_utc(now) or utcnow()
                )
            )
    except IntegrityError:
        raise TokenNameTaken(f"a token named {name!r} exists already") from None
    return token


def verify_token(engine: Engine, presented: str, *, now: datetime | None = None) -> str | None:
    """The name of the token `presented`, or None if it is not a valid token."""
    if not presented or len(presented) > MAX_TOKEN_LENGTH:
        return None
    digest = hash_token(presented)
    moment = as_utc(now) or utcnow()
    with engine.begin() as connection:
        row = connection.execute(
            sa.select(api_tokens.c.id, api_tokens.c.name, api_tokens.c.token_hash).where(
                api_tokens.c.token_hash == digest
            )
        ).first()
        # The lookup is by hash, which an attacker cannot steer byte by byte; the
        # constant-time comparison keeps it that way should the lookup ever change.
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        connection.execute(
            api_tokens.update()
            .where(
                api_tokens.c.id == row.id,
                sa.or_(
                    api_tokens.c.last_used_at.is_(None),
                    api_tokens.c.last_used_at < moment - LAST_USED_RESOLUTION,
                ),
            )
            .values(last_used_at=moment)
        )
    return str(row.name)


def revoke_token(engine: Engine, name: str) -> bool:
    """Delete the token called `name`; False if there was none."""
    with engine.begin() as connection:
        result = connection.execute(api_tokens.delete().where(api_tokens.c.name == name))
    return bool(result.rowcount)


def list_tokens(engine: Engine) -> list[TokenInfo]:
    """Every token's name and times, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(
                api_tokens.c.name, api_tokens.c.created_at, api_tokens.c.last_used_at
            ).order_by(api_tokens.c.created_at, api_tokens.c.id)
        ).all()
    return [
        TokenInfo(r.name, as_utc(r.created_at) or utcnow(), as_utc(r.last_used_at)) for r in rows
    ]
