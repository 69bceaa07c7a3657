"""Signed web-chat session tokens: the server, not the client, decides the conversation id.

A token is `<conversation id>.<expiry unix time>.<HMAC-SHA256 signature>`; a client can only
resume a conversation whose token the server issued to it, and only until it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

DEFAULT_TTL_SECONDS = 12 * 3600


def _sign(secret: bytes, payload: str) -> str:
    digest = hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class SessionTokens:
    """Issues and verifies tokens with one secret."""

    secret: bytes
    ttl_seconds: int = DEFAULT_TTL_SECONDS

    def issue(self, conversation_id: str | None = None, now: float | None = None) -> str:
        """A token for `conversation_id` (a new random id when None)."""
        conversation = conversation_id or secrets.token_urlsafe(18)
        expiry = int((time.time() if now is None else now) + self.ttl_seconds)
        payload = f"{conversation}.{expiry}"
        return f"{payload}.{_sign(self.secret, payload)}"

    def verify(self, token: object, now: float | None = None) -> str | None:
        """The conversation id of a valid, unexpired token; None for anything else."""
        if (not isinstance(token, str) or not token.isascii() or token.count(".") != 2
                or len(token) > 200):
            return None
        conversation, expiry, signature = token.split(".")
        if not expiry.isdigit() or not hmac.compare_digest(
            signature, _sign(self.secret, f"{conversation}.{expiry}")
        ):
            return None
        if int(expiry) < (time.time() if now is None else now):
            return None
        return conversation

    def resume(self, token: object, now: float | None = None) -> tuple[str, str] | None:
        """(conversation id, token to give back) for a valid token; None for anything else.

        The token given back is the same one until half its life is over, then a fresh one
        for the same conversation: a client that compares session ids (rasa-webchat) sees
        the conversation it had, and one in daily use does not run out."""
        conversation = self.verify(token, now)
        if conversation is None:
            return None
        assert isinstance(token, str)
        remaining = int(token.split(".")[1]) - (time.time() if now is None else now)
        if remaining > self.ttl_seconds / 2:
            return conversation, token
        return conversation, self.issue(conversation, now)
