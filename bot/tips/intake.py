"""The chat's tip intake: reading the citizen's answers, the summary they confirm, and the
hand-off to the tip store. Plain Python; the Rasa form only moves values in and out.

Pictures: on channels that can carry them (:data:`PICTURE_CHANNELS`) the form asks for
optional pictures; the channel stages each one (:mod:`bot.tips.uploads`) and tells the form
with the payload ``/pictures_added``; the form counts what is staged in the database (never
what a client claims) and submitting the tip takes the staged pictures with it.

Questions in the middle of the form ("what is a medborgarlöfte?") are answered and the form
asks its question again; :func:`is_interjection` decides when a message is such a question
rather than an answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.tips.crypto import TipCipher
from bot.tips.draft import HOW_KNOWN, MAX_ATTACHMENTS, MAX_TOTAL_BYTES, TipDraft, cap_text
from bot.tips.settings import TipSettings
from bot.tips.store import SubmitResult, submit
from bot.tips.uploads import PictureStaging

FIELDS = ("tip_what", "tip_when", "tip_where", "tip_how_known", "tip_pictures",
          "tip_contact_choice", "tip_contact")
UNKNOWN_PLACE = "-"

# Input channels (their names in bot/channels/) on which a citizen can send pictures: the
# web chat (socket.io, with its upload control) and Meta's apps. REST cannot.
PICTURE_CHANNELS = frozenset({"socketio", "messenger", "instagram", "whatsapp"})
# The custom payload that goes with the picture question, for the web chat's upload control.
UPLOAD_PAYLOAD = {"upload": {"accept": "image/jpeg,image/png,image/gif",
                             "max_files": MAX_ATTACHMENTS, "max_bytes": MAX_TOTAL_BYTES}}
PICTURES_ADDED = "/pictures_added"
NO_PICTURES, PICTURES_DONE, PICTURES_ARRIVED = "none", "done", "added"

_NO_PICTURES = re.compile(r"\b(inga|ingen|inget|nej|no|none|nope|skip|hoppa)\b", re.IGNORECASE)
_PICTURES_DONE = re.compile(r"\b(klar\w*|färdig\w*|fardig\w*|done|finished|ready|det var allt|"
                            r"that'?s all)\b", re.IGNORECASE)

# Mid-form questions that are answered before the form asks again (intent → response), and
# small talk ("hej", "tack") that gets a short answer.
QUESTION_RESPONSES = {
    "contact_police": "utter_contact_police",
    "ask_emergency_number": "utter_emergency_number",
    "what_is_promise": "utter_what_is_promise",
    "report_crime": "utter_report_crime",
    "help": "utter_help",
    "out_of_scope": "utter_tip_out_of_scope",
    "greet": "utter_tip_greet",
    "thank": "utter_tip_thank",
}
SMALL_TALK = frozenset({"greet", "thank"})
# Small talk counts only when it is all the message says: "every Saturday morning" may look
# like a greeting to the classifier, but it is an answer.
_SMALL_TALK_TEXT = re.compile(
    r"^(hej\w*|hallå|hallå där|tja|tjena|god (morgon|dag|kväll)|hello|hi|hey|good (morning|"
    r"afternoon|evening)|tack|tack så mycket|tusen tack|stort tack|thanks|thank you|"
    r"thank you very much|thanks a lot)[\s!.,:)]*$", re.IGNORECASE)
# Slots whose answer is the citizen's own words: anything can be an answer there.
FREE_TEXT_SLOTS = frozenset({"tip_what", "tip_when", "tip_where", "tip_contact"})
QUESTION_CONFIDENCE = 0.6
MAX_QUESTION_WORDS = 15

_HOW_KNOWN_WORDS = (
    ("told_by_someone", r"\b(berätta\w*|beratta\w*|någon sa|nagon sa|fick höra|hört från|"
                        r"told|someone said|heard from)"),
    ("heard_myself", r"\b(hörde|horde|hört|hort|heard)"),
    ("seen_myself", r"\b(såg|sag|sett|själv|sjalv|saw|seen|myself)"),
)
_ANONYMOUS = re.compile(r"\b(anonym\w*|anonymous\w*|nej|no|inte|not)\b", re.IGNORECASE)
_CONTACT = re.compile(r"\b(ja|yes|kontakt\w*|contact|ring|call|mejl|mail|e-post|email)\b",
                      re.IGNORECASE)

_LABELS = {
    "sv": {"tip_what": "Vad", "tip_when": "När", "tip_where": "Var", "tip_how_known": "Hur du vet",
           "tip_contact": "Kontakt", "anonymous": "anonym", "unknown": "vet inte",
           "seen_myself": "jag såg det själv", "heard_myself": "jag hörde det själv",
           "told_by_someone": "någon berättade det", "intro": "Så här ser ditt tips ut:",
           "pictures": "Bilder", "no_pictures": "inga",
           "question": "Stämmer det? Skicka, ändra något eller avbryt."},
    "en": {"tip_what": "What", "tip_when": "When", "tip_where": "Where",
           "tip_how_known": "How you know", "tip_contact": "Contact",
           "anonymous": "anonymous", "unknown": "don't know", "seen_myself": "I saw it myself",
           "heard_myself": "I heard it myself", "told_by_someone": "someone told me",
           "pictures": "Pictures", "no_pictures": "none",
           "intro": "This is your tip:", "question": "Is it right? Send it, change something "
                                                     "or cancel."},
}
_BUTTONS = {
    "sv": (("Skicka", "/affirm"), ("Ändra vad", "/tip_change_what"),
           ("Ändra när", "/tip_change_when"), ("Ändra var", "/tip_change_where"),
           ("Ändra hur du vet", "/tip_change_how"), ("Ändra bilder", "/tip_change_pictures"),
           ("Ändra kontakt", "/tip_change_contact"), ("Avbryt", "/cancel")),
    "en": (("Send", "/affirm"), ("Change what", "/tip_change_what"),
           ("Change when", "/tip_change_when"), ("Change where", "/tip_change_where"),
           ("Change how you know", "/tip_change_how"),
           ("Change pictures", "/tip_change_pictures"), ("Change contact", "/tip_change_contact"),
           ("Cancel", "/cancel")),
}


def how_known_from_text(text: str) -> str | None:
    """"Jag såg det" → seen_myself; None when the text does not say."""
    lowered = text.lower()
    return next((value for value, pattern in _HOW_KNOWN_WORDS if re.search(pattern, lowered)),
                None)


def contact_choice_from_text(text: str) -> str | None:
    """"anonymt" → anonymous, "ring mig" → contact; None when unclear."""
    if _ANONYMOUS.search(text):
        return "anonymous"
    return "contact" if _CONTACT.search(text) else None


def can_send_pictures(channel: str | None) -> bool:
    """Whether the citizen's channel can carry pictures (then the form asks for them)."""
    return channel in PICTURE_CHANNELS


def pictures_phrase(count: int, language: str) -> str:
    """"1 bild", "2 bilder"; "1 picture", "2 pictures"."""
    one, many = ("picture", "pictures") if language == "en" else ("bild", "bilder")
    return f"{count} {one if count == 1 else many}"


def pictures_choice_from_text(text: str) -> str | None:
    """"inga bilder" → none, "klar" → done; None when the text says neither."""
    if _PICTURES_DONE.search(text):
        return PICTURES_DONE
    return NO_PICTURES if _NO_PICTURES.search(text) else None


def is_interjection(intent: str | None, confidence: float, text: str | None,
                    requested_slot: str | None) -> bool:
    """Whether a message in the middle of the form is a question to answer before going on,
    rather than the answer to what the form asked.

    A free-text answer ("what happened?") is kept as the answer unless it is plainly a
    question: it ends with "?", is short, and the classifier is fairly sure. Where the form
    asks for a choice, a confident question intent is enough, unless the text is itself a
    typed answer to that choice ("someone told me"). "Hej"/"tack" count only when they are
    all the message says. A button payload of an earlier message always counts.
    """
    if not requested_slot or intent not in QUESTION_RESPONSES:
        return False
    words = (text or "").strip()
    if words.startswith("/"):
        return True
    count = len(words.split())
    if intent in SMALL_TALK:
        return bool(_SMALL_TALK_TEXT.match(words))
    if requested_slot in FREE_TEXT_SLOTS:
        return (words.endswith("?") and confidence >= QUESTION_CONFIDENCE
                and count <= MAX_QUESTION_WORDS)
    if _answers(requested_slot, words):
        return False
    return confidence >= QUESTION_CONFIDENCE or words.endswith("?")


def _answers(requested_slot: str, text: str) -> bool:
    """Whether `text` is a typed answer to a choice the form asks ("someone told me")."""
    if requested_slot == "tip_how_known":
        return how_known_from_text(text) is not None
    if requested_slot == "tip_pictures":
        return pictures_choice_from_text(text) is not None
    return False


def answer(text: object) -> tuple[str | None, bool]:
    """A free-text answer cleaned and capped: (text or None when empty, whether capped)."""
    value, capped = cap_text(text if isinstance(text, str) else None)
    return (value or None), capped


def capped_slots(known: object, slot: str, capped: bool) -> list[str]:
    """The form's capped answers (`tip_capped`) after `slot` was answered, capped or not."""
    names = {name for name in known or [] if name in FREE_TEXT_SLOTS} if isinstance(
        known, list) else set()
    if capped:
        names.add(slot)
    else:
        names.discard(slot)
    return sorted(names)


def summary(values: Mapping[str, object], language: str,
            pictures: int | None = None) -> tuple[str, list[dict[str, str]]]:
    """The whole tip as the citizen will send it, and the send/change/cancel buttons.

    `pictures` is how many pictures go with it (None: the channel cannot send pictures, so
    neither the line nor "change pictures" is shown).
    """
    labels = _LABELS[language]
    where = values.get("tip_where")
    how = str(values.get("tip_how_known") or "")
    contact = (labels["anonymous"] if values.get("tip_contact_choice") != "contact"
               else str(values.get("tip_contact") or ""))
    lines = [
        labels["intro"],
        f"{labels['tip_what']}: {values.get('tip_what')}",
        f"{labels['tip_when']}: {values.get('tip_when')}",
        f"{labels['tip_where']}: {labels['unknown'] if where == UNKNOWN_PLACE else where}",
        f"{labels['tip_how_known']}: {labels.get(how, how)}",
        f"{labels['tip_contact']}: {contact}",
        labels["question"],
    ]
    if pictures is not None:
        lines.insert(-2, f"{labels['pictures']}: {pictures or labels['no_pictures']}")
    buttons = [{"title": title, "payload": payload} for title, payload in _BUTTONS[language]
               if pictures is not None or payload != "/tip_change_pictures"]
    return "\n".join(lines), buttons


def draft_from(values: Mapping[str, object], channel: str, language: str,
               municipality_code: str | None) -> TipDraft:
    """The TipDraft for the form's values (raises InvalidDraft when something is missing)."""
    where = values.get("tip_where")
    how = str(values.get("tip_how_known") or "")
    return TipDraft(
        what=str(values.get("tip_what") or ""),
        when=str(values.get("tip_when") or ""),
        how_known=how if how in HOW_KNOWN else "",
        where=None if where in (None, UNKNOWN_PLACE) else str(where),
        contact=str(values.get("tip_contact") or "") if values.get("tip_contact_choice")
        == "contact" else None,
        channel=channel,
        language=language,
        municipality_code=municipality_code,
        capped=frozenset(name.removeprefix("tip_") for name in capped_slots(
            values.get("tip_capped"), "", False)),
    )


@dataclass(frozen=True)
class TipIntake:
    """The tip store as the conversation uses it: one session factory and one cipher."""

    sessions: sessionmaker
    cipher: TipCipher

    @property
    def staging(self) -> PictureStaging:
        """The conversation's pictures waiting for the tip (same database and cipher)."""
        return PictureStaging(self.sessions, self.cipher)

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str]) -> TipIntake:
        tips = TipSettings.from_env(environ, root=settings.root)
        return cls(sessions=make_session_factory(make_engine(settings.database_url)),
                   cipher=TipCipher.from_settings(tips.encryption_keys, tips.key_file))

    def submit(self, draft: TipDraft, conversation_id: str, draft_id: str) -> SubmitResult:
        """Commit the tip with the conversation's staged pictures; the same conversation and
        draft id never store a second tip. Raises TipNotStored when nothing was committed
        (the staged pictures then stay for the next attempt)."""
        return submit(self.sessions, draft, f"{conversation_id}:{draft_id}", cipher=self.cipher,
                      staged_conversation=conversation_id)


def key_file(root: Path) -> Path:
    """Where a generated tip key is kept (shared by every process of one installation)."""
    return TipSettings.from_env({}, root=root).key_file
