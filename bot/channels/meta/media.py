"""Pictures citizens send on Messenger, Instagram and WhatsApp, as tip attachments.

A picture is fetched from the platform (never from a plain-HTTP address elsewhere), refused
when it is larger than the cap or is not really a JPEG, PNG or GIF (the bytes decide, not the
declared type), and handed to a pluggable sink; Rasa only sees its type, size and SHA-256.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from bot.channels.meta.outgoing import PlatformSender
from bot.channels.meta.parse import Attachment

logger = logging.getLogger(__name__)

IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# Kinds that may hold a picture; video and audio are refused without downloading them.
FETCHED_KINDS = frozenset({"image", "file", "document"})


class Refusal(str, Enum):
    """Why a citizen's attachment was not accepted (safe to store and to log)."""

    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_type"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class AcceptedAttachment:
    """What Rasa (and the tip flow) learns about an accepted picture."""

    content_type: str
    size: int
    sha256: str

    def as_metadata(self) -> dict[str, str | int]:
        return {"content_type": self.content_type, "size": self.size, "sha256": self.sha256}


AttachmentSink = Callable[[AcceptedAttachment, bytes], Awaitable[None]]
"""``sink(info, data)``: keep the bytes of an accepted picture so the tip flow can pick them
up by ``info.sha256``. Raising means the picture is treated as unavailable."""


def sniff_image(data: bytes) -> str | None:
    """The picture's real type from its first bytes, or None when it is not JPEG/PNG/GIF."""
    for magic, content_type in IMAGE_SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


class FileAttachmentSink:
    """The default sink: ``<directory>/<sha256>``, owner-only, written atomically."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes

    def _write(self, info: AcceptedAttachment, data: bytes) -> None:
        if len(data) > self.max_bytes or len(info.sha256) != 64 or not info.sha256.isalnum():
            raise ValueError("attachment refused by the sink")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self.directory / info.sha256
        if target.exists():
            return
        temporary = self.directory / f".{info.sha256}.{secrets.token_hex(4)}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, target)
        finally:
            if temporary.exists():
                temporary.unlink()

    async def __call__(self, info: AcceptedAttachment, data: bytes) -> None:
        await asyncio.to_thread(self._write, info, data)


async def receive_attachment(
    sender: PlatformSender,
    attachment: Attachment,
    *,
    max_bytes: int,
    sink: AttachmentSink,
) -> AcceptedAttachment | Refusal:
    """Fetch, check and store one attachment; the result says what Rasa may be told."""
    if attachment.kind not in FETCHED_KINDS:
        return Refusal.UNSUPPORTED_TYPE
    reply = await sender.fetch_media(attachment.url, attachment.media_id, max_bytes)
    if reply.too_large:
        return Refusal.TOO_LARGE
    if reply.http_status != 200 or reply.body is None:
        logger.warning(
            "meta media: %s fetch failed (http=%s code=%s)",
            sender.platform.value,
            reply.http_status,
            reply.code,
        )
        return Refusal.UNAVAILABLE
    data = reply.body
    content_type = sniff_image(data)
    if content_type is None:
        return Refusal.UNSUPPORTED_TYPE
    info = AcceptedAttachment(content_type, len(data), hashlib.sha256(data).hexdigest())
    try:
        await sink(info, data)
    except Exception as error:  # noqa: BLE001 - the citizen is told; the bytes are not logged
        logger.warning("meta media: the attachment sink failed (%s)", type(error).__name__)
        return Refusal.UNAVAILABLE
    return info
