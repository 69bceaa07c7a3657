"""Encryption at rest for tip text, contact details and pictures (Fernet / MultiFernet).

Keys come from the settings as a list, newest first: the newest encrypts, every listed key
decrypts. That is what makes rotation possible without downtime (docs/tips.md):

1. put a new key first in ``TIP_ENCRYPTION_KEYS`` and restart the services,
2. run ``python -m bot tips rotate-key`` (re-encrypts every stored value with the newest key),
3. remove the old key and restart again.

With no key configured a key is generated on first use and kept in a file under ``var/``
(mode 0600), so a fresh clone works; production sets the keys explicitly.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "KeyConfigError", "TipCipher", "generate_key", "load_or_create_key_file"]


class KeyConfigError(ValueError):
    """The configured keys are missing or malformed (the message never contains a key)."""


def generate_key() -> str:
    """A fresh Fernet key (url-safe base64 of 32 random bytes)."""
    return Fernet.generate_key().decode("ascii")


def _read_keys(path: Path) -> tuple[str, ...]:
    lines = path.read_text(encoding="ascii").splitlines()
    return tuple(k.strip() for k in lines if k.strip() and not k.lstrip().startswith("#"))


def load_or_create_key_file(path: Path) -> tuple[str, ...]:
    """The keys kept in `path` (one a line, newest first), creating the file with one new key.

    The new file is written aside and linked into place, which fails if another process got
    there first: two services starting at once then agree on the same key instead of each
    encrypting with its own.
    """
    if path.exists():
        return _read_keys(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tip-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(
                "# Fernet keys for tips at rest, newest first. Keep a copy: without it the\n"
                "# stored tips cannot be read. See docs/tips.md.\n" + generate_key() + "\n"
            )
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)
    return _read_keys(path)


class TipCipher:
    """Encrypts with the newest key and decrypts with any configured key."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise KeyConfigError("no tip encryption key configured")
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                raise KeyConfigError(
                    f"tip encryption key number {position} is not a valid Fernet key"
                ) from None
        self._newest = fernets[0]
        self._all = MultiFernet(fernets)

    def __repr__(self) -> str:
        return "TipCipher(<keys hidden>)"

    @classmethod
    def from_settings(cls, keys: Sequence[str], key_file: Path) -> TipCipher:
        """The configured keys, or those of the key file (created when missing) if none are."""
        return cls(keys if keys else load_or_create_key_file(key_file))

    def encrypt(self, data: bytes) -> bytes:
        """A Fernet token for `data`, made with the newest key."""
        return self._all.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        """The plain bytes of `token`; raises InvalidToken if no configured key made it."""
        return self._all.decrypt(token)

    def encrypt_text(self, text: str | None) -> str | None:
        """`text` encrypted to an ASCII token (None stays None, so "no answer" stays visible)."""
        if text is None:
            return None
        return self.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt_text(self, token: str | None) -> str | None:
        """The inverse of :meth:`encrypt_text`."""
        if token is None:
            return None
        return self.decrypt(token.encode("ascii")).decode("utf-8")

    def is_current(self, token: bytes) -> bool:
        """Whether `token` was made with the newest key (rotation skips those)."""
        try:
            self._newest.decrypt(token)
        except InvalidToken:
            return False
        return True

    def rotate(self, token: bytes) -> bytes:
        """`token` re-encrypted with the newest key."""
        return self._all.rotate(token)
