"""Pictures citizens send on Messenger, Instagram and WhatsApp, as tip attachments.

A picture is fetched from the platform (never from a plain-HTTP address elsewhere), refused
when it is larger than the cap or is not really a JPEG, PNG or GIF (the bytes decide, not the
declared type), and handed to a pluggable sink for the conversation; Rasa only sees its type,
size and SHA-256. The default sink, :class:`StagingSink`, stages it encrypted in the service
database for the conversation's tip (:mod:`bot.tips.uploads`), where the tip's own limits
apply (at most 4 pictures, 10 MB together, a complete picture); a picture refused there comes
back as the :class:`~bot.tips.draft.Problem` to tell the citizen.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum

from bot.channels.meta.outgoing import PlatformSender
from bot.channels.meta.parse import Attachment
from bot.tips.draft import AttachmentRefused, Problem
from bot.tips.uploads import PictureStaging

logger = logging.getLogger(__name__)

IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
# Kinds that may hold a picture; video and audio are refused without downloading them.
FETCHED_KINDS = frozenset({"image", "file", "document"})
# Kinds that may be a picture or any other file: one that is not a picture is "not a picture".
FILE_KINDS = frozenset({"file", "document"})


class Refusal(str, Enum):
    """Why a citizen's attachment was not accepted (safe to store and to log)."""

    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_type"  # sent as a picture, but not a JPEG, PNG or GIF
    NOT_A_PICTURE = "not_a_picture"  # a voice message, a video, a PDF, …
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class AcceptedAttachment:
    """What Rasa (and the tip flow) learns about an accepted picture."""

    content_type: str
    size: int
    sha256: str

    def as_metadata(self) -> dict[str, str | int]:
        return {"content_type": self.content_type, "size": self.size, "sha256": self.sha256}


AttachmentSink = Callable[[str, AcceptedAttachment, bytes], Awaitable[None]]
"""``sink(conversation_id, info, data)``: keep the bytes of an accepted picture for the
conversation's tip (the conversation id is the sender id Rasa uses). Raising
:class:`~bot.tips.draft.AttachmentRefused` refuses the picture with a reason for the citizen;
any other exception means the picture is treated as unavailable."""


def sniff_image(data: bytes) -> str | None:
    """The picture's real type from its first bytes, or None when it is not JPEG/PNG/GIF."""
    for magic, content_type in IMAGE_SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


class StagingSink:
    """The default sink: stages the picture for the conversation's tip, encrypted in the
    service database (:class:`bot.tips.uploads.PictureStaging`). Nothing is written to disk
    in the clear; a tip sent later takes the picture along, a cancelled one discards it.

    `staging` may be a factory, called on the first picture (so a channel that never gets
    one opens no database connection and reads no key)."""

    def __init__(self, staging: PictureStaging | Callable[[], PictureStaging]) -> None:
        self._staging: PictureStaging | None = (
            staging if isinstance(staging, PictureStaging) else None
        )
        self._factory = None if isinstance(staging, PictureStaging) else staging

    def staging(self) -> PictureStaging:
        if self._staging is None:
            assert self._factory is not None
            self._staging = self._factory()
        return self._staging

    async def __call__(self, conversation_id: str, info: AcceptedAttachment, data: bytes) -> None:
        staging = self.staging()
        await asyncio.to_thread(staging.stage, conversation_id, "", info.content_type, data)


async def receive_attachment(
    sender: PlatformSender,
    attachment: Attachment,
    *,
    conversation_id: str,
    max_bytes: int,
    sink: AttachmentSink,
) -> AcceptedAttachment | Refusal | Problem:
    """Fetch, check and store one attachment; the result says what Rasa may be told, or why
    it was refused (a :class:`Problem` when the tip's limits refused it: say its text)."""
    if attachment.kind not in FETCHED_KINDS:
        return Refusal.NOT_A_PICTURE
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
        return Refusal.NOT_A_PICTURE if attachment.kind in FILE_KINDS else Refusal.UNSUPPORTED_TYPE
    info = AcceptedAttachment(content_type, len(data), hashlib.sha256(data).hexdigest())
    try:
        await sink(conversation_id, info, data)
    except AttachmentRefused as refused:
        return refused.problem
    except Exception as error:  # noqa: BLE001 - the citizen is told; the bytes are not logged
        logger.warning("meta media: the attachment sink failed (%s)", type(error).__name__)
        return Refusal.UNAVAILABLE
    return info
