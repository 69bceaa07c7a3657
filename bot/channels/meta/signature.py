"""Is this webhook really from Meta? X-Hub-Signature-256 and the subscribe handshake.

Rasa's stock Facebook channel checks only the old SHA-1 header, compares in non-constant time
and answers 200 to a forged request; here a missing or wrong signature is a 403 and nothing
in the body is looked at.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

SIGNATURE_HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(app_secret: str, raw_body: bytes) -> str:
    """The header value Meta sends for `raw_body` (tests and the fake Graph API use it)."""
    digest = hmac.new(app_secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def verify_signature(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """True only for a valid HMAC-SHA256 of the raw body; constant-time comparison.

    An empty app secret verifies nothing: an unconfigured channel must refuse everything
    rather than accept signatures made with the empty key.
    """
    if not app_secret or not header or not isinstance(header, str):
        return False
    header = header.strip()
    if not header.lower().startswith(_PREFIX):
        return False
    expected = sign(app_secret, raw_body)
    received = _PREFIX + header[len(_PREFIX) :].lower()
    return hmac.compare_digest(expected.encode("ascii"), received.encode("ascii", "replace"))


@dataclass(frozen=True)
class HandshakeAnswer:
    """What the subscribe GET gets: the challenge (200) or a refusal (403)."""

    status: int
    body: str


def answer_handshake(verify_token: str, args: Mapping[str, str | None]) -> HandshakeAnswer:
    """Echo hub.challenge only for hub.mode=subscribe with the right hub.verify_token."""
    mode = args.get("hub.mode")
    token = args.get("hub.verify_token") or ""
    challenge = args.get("hub.challenge") or ""
    if (
        verify_token
        and mode == "subscribe"
        and challenge
        and hmac.compare_digest(token.encode("utf-8"), verify_token.encode("utf-8"))
    ):
        return HandshakeAnswer(200, challenge)
    return HandshakeAnswer(403, "forbidden")
