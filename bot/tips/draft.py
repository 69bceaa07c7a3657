"""A tip as the conversation hands it over: cleaned, capped and checked before it is stored.

The form collects answers one by one; building a :class:`TipDraft` is the last check before
:func:`bot.tips.store.submit`. Everything a citizen can get wrong comes back as a
:class:`Problem` with a plain sentence in Swedish and English, so the form can ask again
instead of failing:

- each free-text answer is cut to :data:`MAX_TEXT` characters (the draft records which ones
  in ``capped``, and :attr:`TipDraft.notices` says so to the citizen: keep what fits),
- control characters and invisible direction marks are removed, and HTML is kept as the
  text it is (escaping belongs to whoever displays it, never to the store),
- "when" and "what" are required; "how do you know" is one of :data:`HOW_KNOWN`, and with
  ``own_words`` the citizen's own answer is `how_known_text` (cleaned and capped too),
- pictures are recognised by their bytes, not by name or declared type: JPEG, PNG or GIF,
  at most :data:`MAX_ATTACHMENTS`, :data:`MAX_TOTAL_BYTES` together.

Text fields are left out of ``repr`` so a draft that ends up in a log line leaks nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.tips.models import HOW_KNOWN, LANGUAGES, OWN_WORDS

MAX_TEXT = 2000
MAX_ATTACHMENTS = 4
MAX_TOTAL_BYTES = 10 * 1024 * 1024
MAX_FILENAME = 100
TEXT_FIELDS = ("what", "when", "where", "contact")

JPEG, PNG, GIF = "image/jpeg", "image/png", "image/gif"
_EXTENSIONS = {JPEG: "jpg", PNG: "png", GIF: "gif"}

# Invisible characters that change how text is shown (direction overrides, zero-width space,
# byte-order mark). The zero-width joiner stays: emoji sequences need it.
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


@dataclass(frozen=True)
class Problem:
    """One thing to tell the citizen: which answer, a stable code, and the sentence to say."""

    field: str
    code: str
    sv: str
    en: str

    def text(self, language: str) -> str:
        """The sentence in `language` ("sv" or "en"; Swedish for anything else)."""
        return self.en if language == "en" else self.sv


class InvalidDraft(ValueError):
    """The answers cannot make a tip yet; `problems` says what to ask again."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(", ".join(f"{p.field}: {p.code}" for p in problems))
        self.problems = tuple(problems)


class AttachmentRefused(ValueError):
    """A picture was not accepted; `problem` gives the reason to tell the citizen."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.field}: {problem.code}")
        self.problem = problem


def _capped_notice(name: str) -> Problem:
    return Problem(
        name,
        "capped",
        f"Svaret var för långt. Vi sparade de första {MAX_TEXT} tecknen.",
        f"The answer was too long. We kept the first {MAX_TEXT:,} characters.",
    )


_REQUIRED = {
    "what": Problem(
        "what",
        "empty",
        "Berätta vad tipset handlar om.",
        "Please tell us what the tip is about.",
    ),
    "when": Problem(
        "when",
        "empty",
        "Berätta när det hände, till exempel ”igår kväll”, ”varje fredag” eller ett datum.",
        'Please tell us when it happened, for example "last night", "every Friday" or a date.',
    ),
}
_HOW_KNOWN_PROBLEM = Problem(
    "how_known",
    "invalid",
    "Berätta hur du vet det: har du sett eller hört det själv, eller har någon berättat det?",
    "Please tell us how you know: did you see or hear it yourself, or did someone tell you?",
)


def clean_text(value: str | None) -> str:
    """`value` without control characters or invisible marks, NFC, trimmed (not yet capped)."""
    if not value:
        return ""
    text = unicodedata.normalize("NFC", value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n").replace("\t", " ")
    text = _INVISIBLE.sub("", text)
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")
    return text.strip()


def cap_text(value: str | None) -> tuple[str, bool]:
    """The cleaned `value` cut to :data:`MAX_TEXT` characters, and whether it was cut."""
    text = clean_text(value)
    if len(text) <= MAX_TEXT:
        return text, False
    return text[:MAX_TEXT].rstrip(), True


@dataclass(frozen=True)
class Attachment:
    """One accepted picture; `content_type` is what its bytes are, whatever it was called."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


def sniff(data: bytes) -> str | None:
    """The picture type of `data` from its signature, or None if it is not JPEG/PNG/GIF."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    return None


def _complete(content_type: str, data: bytes) -> bool:
    """Whether the picture has its end marker: a cut-off upload is refused, not stored."""
    if content_type == JPEG:
        return data.rfind(b"\xff\xd9") > 2
    if content_type == PNG:
        return data[12:16] == b"IHDR" and b"IEND" in data[-64:]
    return len(data) >= 14 and data.rstrip(b"\x00").endswith(b";")


def _looks_like_video(declared: str, data: bytes) -> bool:
    matroska = b"\x1aE\xdf\xa3"
    return declared.lower().startswith("video/") or data[4:8] == b"ftyp" or data[:4] == matroska


def _picture_problem(code: str, number: int) -> Problem:
    sv, en = {
        "empty": (
            f"Bild {number} är tom och kunde inte tas emot.",
            f"Picture {number} is empty and could not be received.",
        ),
        "video": (
            "Filmer kan inte skickas här. Lämna dina kontaktuppgifter så att polisen kan "
            "höra av sig, eller ring 114 14.",
            "Films cannot be sent here. Leave your contact details so that the police can get "
            "in touch, or call 114 14.",
        ),
        "unsupported": (
            f"Fil {number} är inte en bild som kan tas emot. Skicka JPEG, PNG eller GIF.",
            f"File {number} is not a picture that can be received. Please send JPEG, PNG or GIF.",
        ),
        "unreadable": (
            f"Bild {number} går inte att läsa. Filen verkar vara skadad eller ofullständig.",
            f"Picture {number} cannot be read. The file seems damaged or incomplete.",
        ),
        "too_many": (
            f"Du kan skicka högst {MAX_ATTACHMENTS} bilder.",
            f"You can send at most {MAX_ATTACHMENTS} pictures.",
        ),
        "too_large": (
            f"Bilderna får vara högst {MAX_TOTAL_BYTES // (1024 * 1024)} MB tillsammans, och "
            f"bild {number} får inte plats.",
            f"The pictures can be at most {MAX_TOTAL_BYTES // (1024 * 1024)} MB together, and "
            f"picture {number} does not fit.",
        ),
    }[code]
    return Problem("attachments", code, sv, en)


def _safe_filename(name: str, content_type: str, number: int) -> str:
    base = clean_text(re.split(r"[\\/]", name or "")[-1]).replace("\n", " ")
    base = base[-MAX_FILENAME:].lstrip(".") if base else ""
    return base or f"bild-{number}.{_EXTENSIONS[content_type]}"


def check_attachment(
    filename: str, content_type: str, data: bytes, accepted: Sequence[Attachment] = ()
) -> Attachment:
    """Accept one picture next to those `accepted` so far, or raise AttachmentRefused.

    The form calls this as each picture arrives, so a refused one is explained at once and
    the others are kept.
    """
    number = len(accepted) + 1
    if len(accepted) >= MAX_ATTACHMENTS:
        raise AttachmentRefused(_picture_problem("too_many", number))
    if not data:
        raise AttachmentRefused(_picture_problem("empty", number))
    kind = sniff(data)
    if kind is None:
        code = "video" if _looks_like_video(content_type or "", data) else "unsupported"
        raise AttachmentRefused(_picture_problem(code, number))
    if not _complete(kind, data):
        raise AttachmentRefused(_picture_problem("unreadable", number))
    if sum(a.size for a in accepted) + len(data) > MAX_TOTAL_BYTES:
        raise AttachmentRefused(_picture_problem("too_large", number))
    return Attachment(_safe_filename(filename, kind, number), kind, bytes(data))


AttachmentInput = Attachment | tuple[str, str, bytes]


@dataclass(frozen=True)
class TipDraft:
    """A complete, checked tip. Constructing one cleans and checks; it raises InvalidDraft.

    `contact` None (or blank) means the citizen chose to stay anonymous. `attachments` takes
    :class:`Attachment` objects or ``(filename, content_type, bytes)`` tuples.
    """

    what: str = field(repr=False)
    when: str = field(repr=False)
    how_known: str
    where: str | None = field(default=None, repr=False)
    contact: str | None = field(default=None, repr=False)
    attachments: tuple[Attachment, ...] = field(default=(), repr=False)
    channel: str = "unknown"
    language: str = "sv"
    municipality_code: str | None = None
    capped: frozenset[str] = frozenset()
    how_known_text: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        capped = set(self.capped)
        values: dict[str, str | None] = {}
        for name in TEXT_FIELDS:
            text, was_capped = cap_text(getattr(self, name))
            if was_capped:
                capped.add(name)
            values[name] = text or None
            if not text and name in _REQUIRED:
                problems.append(_REQUIRED[name])
        own_words = cap_text(self.how_known_text)[0] if self.how_known == OWN_WORDS else ""
        if self.how_known not in HOW_KNOWN or (self.how_known == OWN_WORDS and not own_words):
            problems.append(_HOW_KNOWN_PROBLEM)
        if self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, not {self.language!r}")
        code = self.municipality_code
        if code is not None and not re.fullmatch(r"\d{4}", code):
            raise ValueError("municipality_code must be a four-digit SCB code")
        attachments: list[Attachment] = []
        for item in self._attachment_inputs(self.attachments):
            filename, content_type, data = (
                (item.filename, item.content_type, item.data)
                if isinstance(item, Attachment)
                else item
            )
            try:
                attachments.append(check_attachment(filename, content_type, data, attachments))
            except AttachmentRefused as refused:
                problems.append(refused.problem)
        if problems:
            raise InvalidDraft(problems)
        channel = re.sub(r"[^a-z0-9_.-]", "", (self.channel or "").lower())[:40] or "unknown"
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "how_known_text", own_words or None)
        object.__setattr__(self, "attachments", tuple(attachments))
        object.__setattr__(self, "channel", channel)
        object.__setattr__(self, "capped", frozenset(capped))

    @staticmethod
    def _attachment_inputs(items: Iterable[AttachmentInput]) -> list[AttachmentInput]:
        return list(items or ())

    @property
    def anonymous(self) -> bool:
        """True when the citizen left no contact details."""
        return self.contact is None

    @property
    def notices(self) -> tuple[Problem, ...]:
        """What to tell the citizen about answers that were shortened."""
        return tuple(_capped_notice(name) for name in TEXT_FIELDS if name in self.capped)
