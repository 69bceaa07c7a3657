"""The chat's tip intake: reading the citizen's answers, the summary they confirm, and the
hand-off to the tip store. Plain Python; the Rasa form only moves values in and out."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import sessionmaker

from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.tips.crypto import TipCipher
from bot.tips.draft import HOW_KNOWN, TipDraft, cap_text
from bot.tips.settings import TipSettings
from bot.tips.store import SubmitResult, submit

FIELDS = ("tip_what", "tip_when", "tip_where", "tip_how_known", "tip_contact_choice",
          "tip_contact")
UNKNOWN_PLACE = "-"

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
           "question": "Stämmer det? Skicka, ändra något eller avbryt."},
    "en": {"tip_what": "What", "tip_when": "When", "tip_where": "Where",
           "tip_how_known": "How you know", "tip_contact": "Contact",
           "anonymous": "anonymous", "unknown": "don't know", "seen_myself": "I saw it myself",
           "heard_myself": "I heard it myself", "told_by_someone": "someone told me",
           "intro": "This is your tip:", "question": "Is it right? Send it, change something "
                                                     "or cancel."},
}
_BUTTONS = {
    "sv": (("Skicka", "/affirm"), ("Ändra vad", "/tip_change_what"),
           ("Ändra när", "/tip_change_when"), ("Ändra var", "/tip_change_where"),
           ("Ändra hur du vet", "/tip_change_how"), ("Ändra kontakt", "/tip_change_contact"),
           ("Avbryt", "/cancel")),
    "en": (("Send", "/affirm"), ("Change what", "/tip_change_what"),
           ("Change when", "/tip_change_when"), ("Change where", "/tip_change_where"),
           ("Change how you know", "/tip_change_how"), ("Change contact", "/tip_change_contact"),
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


def answer(text: object) -> tuple[str | None, bool]:
    """A free-text answer cleaned and capped: (text or None when empty, whether capped)."""
    value, capped = cap_text(text if isinstance(text, str) else None)
    return (value or None), capped


def summary(values: Mapping[str, object], language: str) -> tuple[str, list[dict[str, str]]]:
    """The whole tip as the citizen will send it, and the send/change/cancel buttons."""
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
    buttons = [{"title": title, "payload": payload} for title, payload in _BUTTONS[language]]
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
    )


@dataclass(frozen=True)
class TipIntake:
    """The tip store as the conversation uses it: one session factory and one cipher."""

    sessions: sessionmaker
    cipher: TipCipher

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str]) -> TipIntake:
        tips = TipSettings.from_env(environ, root=settings.root)
        return cls(sessions=make_session_factory(make_engine(settings.database_url)),
                   cipher=TipCipher.from_settings(tips.encryption_keys, tips.key_file))

    def submit(self, draft: TipDraft, conversation_id: str, draft_id: str) -> SubmitResult:
        """Commit the tip; the same conversation and draft id never store a second tip.
        Raises TipNotStored when nothing could be committed."""
        return submit(self.sessions, draft, f"{conversation_id}:{draft_id}", cipher=self.cipher)


def key_file(root: Path) -> Path:
    """Where a generated tip key is kept (shared by every process of one installation)."""
    return TipSettings.from_env({}, root=root).key_file
