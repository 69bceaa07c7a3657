"""What every channel does to a citizen's raw input before Rasa sees it.

Bad input (binary, control characters, 20 000 characters, forged intent payloads) must give a
clear answer, never an exception; the text itself is never logged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bot.language import detect_language

MAX_MESSAGE_CHARS = 5000
MAX_SENDER_CHARS = 128
# Users may send what the bot's buttons send: a bare intent, or a place chosen from a list
# (a municipality code and an optional district) — never other entities that set slots.
_BUTTON_PAYLOAD = re.compile(r'^/[a-z_]{1,40}(\{"place": "[0-9]{4}(/[^"{}/\\]{1,60})?"\})?$')
_ALLOWED_METADATA = {"language"}
# The answer to a message with nothing in it (empty, whitespace, a client's empty start
# payload): a guess at what it meant ("Menade du: du hälsar?") helps no one.
EMPTY_MESSAGE_REPLY = {
    "sv": "Jag fick inget meddelande. Skriv din fråga, så svarar jag. Vid nödläge: ring 112.",
    "en": "I did not get a message. Write your question and I will answer. In an emergency, "
          "call 112.",
}


@dataclass(frozen=True)
class CleanMessage:
    """A message ready for Rasa, and whether it had to be shortened."""

    text: str
    truncated: bool


def clean_text(raw: Any) -> CleanMessage:
    """Printable text only, at most MAX_MESSAGE_CHARS; forged payloads lose their slash."""
    text = raw if isinstance(raw, str) else ""
    text = "".join(
        ch
        for ch in text
        if ch in "\n\t" or unicodedata.category(ch)[0] != "C" or unicodedata.category(ch) == "Cf"
    ).strip()
    truncated = len(text) > MAX_MESSAGE_CHARS
    text = text[:MAX_MESSAGE_CHARS]
    if text.startswith("/") and not _BUTTON_PAYLOAD.match(text):
        text = text.lstrip("/").strip()
    return CleanMessage(text=text, truncated=truncated)


def clean_sender(raw: Any) -> str | None:
    """A usable conversation id, or None when the client sent none we can accept."""
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        return None
    sender = str(raw).strip()
    if not sender or len(sender) > MAX_SENDER_CHARS or not sender.isprintable():
        return None
    return sender


def clean_metadata(raw: Any, text: str) -> dict[str, Any]:
    """Keep only the metadata keys the assistant uses; guess the language from the text
    when the channel did not say, so the very first reply is in the user's language."""
    metadata = (
        {k: v for k, v in raw.items() if k in _ALLOWED_METADATA and isinstance(v, str)}
        if isinstance(raw, dict)
        else {}
    )
    if "language" not in metadata:
        language = detect_language(text)
        if language:
            metadata["language"] = language
    return metadata
