"""Meta's webhook payloads → a flat, ordered list of what citizens sent.

One delivery may batch several entries, each with several events (Rasa's stock channel
handles only the first). Every entry and every event is read, in order. What is not a
citizen's message — echoes of our own replies, delivery and read receipts, reactions,
deletions, status updates and event types Meta adds later — is skipped without error.

Formats (Graph API v19):
- Messenger (`object: page`) and Instagram (`object: instagram`):
  `entry[].messaging[]` with `sender.id`, `message{mid, text, quick_reply.payload,
  attachments[]}` or `postback{mid, title, payload}`.
- WhatsApp Cloud API (`object: whatsapp_business_account`): `entry[].changes[]` with
  `field: messages` and `value.messages[]` (`from`, `id`, `type`, ...); `value.statuses[]`
  are receipts.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

from bot.channels.hygiene import clean_sender


class Platform(str, Enum):
    """The three Meta platforms; the value is also the Rasa channel name."""

    MESSENGER = "messenger"
    INSTAGRAM = "instagram"
    WHATSAPP = "whatsapp"


WEBHOOK_OBJECT = {
    Platform.MESSENGER: "page",
    Platform.INSTAGRAM: "instagram",
    Platform.WHATSAPP: "whatsapp_business_account",
}


@dataclass(frozen=True)
class Attachment:
    """Something a citizen attached: a URL (Messenger, Instagram) or a media id (WhatsApp)."""

    kind: str
    url: str | None = None
    media_id: str | None = None
    mime_type: str | None = None


@dataclass(frozen=True)
class Location:
    """A shared location in WGS84 degrees."""

    lat: float
    long: float


@dataclass(frozen=True)
class InboundEvent:
    """One citizen message, normalised across the platforms."""

    platform: Platform
    sender_id: str
    message_id: str
    text: str = ""
    payload: str | None = None
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    locale: str | None = None
    # Something the assistant cannot read (shared contacts, content Meta marks unsupported):
    # the channel says so briefly. Stickers and reactions are not even events.
    unreadable: bool = False

    @property
    def dedup_key(self) -> str:
        """Unique per platform: Meta's retries carry the same mid / wamid."""
        return f"{self.platform.value}:{self.message_id}"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _coordinate(value: Any, limit: float) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and -limit <= number <= limit else None


def _location(lat: Any, long: Any) -> Location | None:
    latitude, longitude = _coordinate(lat, 90.0), _coordinate(long, 180.0)
    if latitude is None or longitude is None:
        return None
    return Location(latitude, longitude)


def _synthetic_id(*parts: Any) -> str:
    """An id for an event Meta sent without one (old postbacks): stable across retries."""
    text = "\x1f".join(str(p) for p in parts)
    return "synthetic-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def _messenger_locale(event: dict[str, Any], message: dict[str, Any]) -> str | None:
    """The locale when Meta gives one: an explicit `locale`, else built-in NLP's guess."""
    explicit = _str(event.get("locale")) or _str(_dict(event.get("sender")).get("locale"))
    if explicit:
        return explicit
    best, best_confidence = None, 0.0
    for detected in _list(_dict(message.get("nlp")).get("detected_locales")):
        detected = _dict(detected)
        confidence = detected.get("confidence")
        if isinstance(confidence, bool) or not isinstance(confidence, int | float):
            continue
        if _str(detected.get("locale")) and confidence > best_confidence:
            best, best_confidence = detected["locale"], float(confidence)
    return best if best_confidence >= 0.8 else None


def _messenger_attachments(
    message: dict[str, Any],
) -> tuple[tuple[Attachment, ...], Location | None]:
    attachments: list[Attachment] = []
    location = None
    for item in _list(message.get("attachments")):
        item = _dict(item)
        kind = _str(item.get("type")) or "unknown"
        payload = _dict(item.get("payload"))
        if kind == "location":
            coordinates = _dict(payload.get("coordinates"))
            location = location or _location(coordinates.get("lat"), coordinates.get("long"))
            continue
        if kind in {"fallback", "template", "story_mention", "share", "reel", "ig_reel"}:
            continue  # links and shared posts: no file of the citizen's
        if kind == "image" and payload.get("sticker_id") is not None:
            continue  # a sticker (the thumbs-up) is not a picture
        url = _str(payload.get("url"))
        if url:
            attachments.append(Attachment(kind=kind, url=url))
    return tuple(attachments), location


def _messenger_event(platform: Platform, event: Any) -> InboundEvent | None:
    event = _dict(event)
    sender = clean_sender(_dict(event.get("sender")).get("id"))
    if sender is None:
        return None
    if "message" in event:
        message = _dict(event.get("message"))
        if message.get("is_echo") or message.get("is_deleted"):
            return None
        mid = _str(message.get("mid"))
        if mid is None:
            return None
        if message.get("is_unsupported"):
            return InboundEvent(
                platform=platform,
                sender_id=sender,
                message_id=mid,
                locale=_messenger_locale(event, message),
                unreadable=True,
            )
        attachments, location = _messenger_attachments(message)
        text = _str(message.get("text")) or ""
        payload = _str(_dict(message.get("quick_reply")).get("payload"))
        if not text and payload is None and not attachments and location is None:
            return None
        return InboundEvent(
            platform=platform,
            sender_id=sender,
            message_id=mid,
            text=text,
            payload=payload,
            attachments=attachments,
            location=location,
            locale=_messenger_locale(event, message),
        )
    if "postback" in event:
        postback = _dict(event.get("postback"))
        payload = _str(postback.get("payload"))
        if payload is None:
            return None
        mid = _str(postback.get("mid")) or _synthetic_id(sender, event.get("timestamp"), payload)
        return InboundEvent(
            platform=platform,
            sender_id=sender,
            message_id=mid,
            text=_str(postback.get("title")) or "",
            payload=payload,
            locale=_messenger_locale(event, {}),
        )
    return None  # delivery, read, reaction, optin, referral, handover, unknown


def _whatsapp_message(message: Any) -> InboundEvent | None:
    message = _dict(message)
    sender = clean_sender(message.get("from"))
    wamid = _str(message.get("id"))
    if sender is None or wamid is None:
        return None
    kind = message.get("type")
    body = _dict(message.get(kind)) if isinstance(kind, str) else {}
    common: dict[str, Any] = {
        "platform": Platform.WHATSAPP,
        "sender_id": sender,
        "message_id": wamid,
    }
    if kind == "text":
        text = _str(body.get("body"))
        return InboundEvent(**common, text=text) if text else None
    if kind == "interactive":
        reply = _dict(body.get("button_reply")) or _dict(body.get("list_reply"))
        payload = _str(reply.get("id"))
        if payload is None:
            return None
        return InboundEvent(**common, text=_str(reply.get("title")) or "", payload=payload)
    if kind == "button":  # a quick-reply button of a template message
        payload = _str(body.get("payload")) or _str(body.get("text"))
        if payload is None:
            return None
        return InboundEvent(**common, text=_str(body.get("text")) or "", payload=payload)
    if kind == "location":
        location = _location(body.get("latitude"), body.get("longitude"))
        return InboundEvent(**common, location=location) if location else None
    if kind in {"image", "document", "video", "audio"}:
        media_id = _str(body.get("id"))
        if media_id is None:
            return None
        attachment = Attachment(kind=kind, media_id=media_id, mime_type=_str(body.get("mime_type")))
        return InboundEvent(
            **common, text=_str(body.get("caption")) or "", attachments=(attachment,)
        )
    if kind in {"contacts", "unsupported"}:
        return InboundEvent(**common, unreadable=True)
    return None  # reaction, sticker, order, system, unknown


def parse_webhook(platform: Platform, body: Any) -> list[InboundEvent]:
    """Every citizen message of one (verified) delivery, in the order Meta listed them.

    A delivery for another platform's object yields nothing: each channel reads only its own.
    """
    body = _dict(body)
    if body.get("object") != WEBHOOK_OBJECT[platform]:
        return []
    events: list[InboundEvent] = []
    for entry in _list(body.get("entry")):
        entry = _dict(entry)
        if platform is Platform.WHATSAPP:
            for change in _list(entry.get("changes")):
                change = _dict(change)
                if change.get("field") != "messages":
                    continue
                for message in _list(_dict(change.get("value")).get("messages")):
                    parsed = _whatsapp_message(message)
                    if parsed is not None:
                        events.append(parsed)
        else:
            for event in _list(entry.get("messaging")):
                parsed = _messenger_event(platform, event)
                if parsed is not None:
                    events.append(parsed)
    return events


def language_from_locale(locale: str | None) -> str | None:
    """'sv_SE' → 'sv', 'en_GB' → 'en'; any other locale says nothing (the text decides)."""
    if not locale:
        return None
    prefix = locale.replace("-", "_").split("_")[0].lower()
    return prefix if prefix in {"sv", "en"} else None
