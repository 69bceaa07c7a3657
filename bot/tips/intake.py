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
from bot.tips.draft import MAX_ATTACHMENTS, MAX_TOTAL_BYTES, TipDraft, cap_text
from bot.tips.models import HOW_KNOWN_CHOICES, OWN_WORDS
from bot.tips.pii import mask_personnummer
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
    "tip_question": "utter_tip_about",
}
TIP_QUESTION = "tip_question"
# Questions about the tip itself, recognised from the words whatever the classifier says:
# "vad händer med mitt tips?", "är jag anonym?", "will I get an answer?", "vem läser det här?"
_TIP_QUESTION = re.compile(
    r"^(?:(?:och|and|men|but|hej|hi|en fraga|a question|fraga|question)\s+)*(?:"
    r"vad hander (?:sen|sedan|med (?:mitt|tipset|det)|nu)|vad gor (?:ni|polisen) med|"
    r"vem (?:laser|ser|far se|far lasa|tar emot)|vilka (?:laser|ser)|"
    r"ar jag anonym|blir jag anonym|kan jag vara anonym|ar (?:det|tipset) anonymt|"
    r"far jag (?:nagot )?(?:svar|aterkoppling|veta)|kommer (?:ni|polisen|jag) (?:att )?"
    r"(?:hora av|svara|hora nagot|fa)|hor ni av er|"
    r"what happens (?:to|with|next|now)|what do you do with|what will (?:you|the police) do|"
    r"who (?:reads|sees|will read|will see|gets)|am i anonymous|will i be anonymous|"
    r"is (?:it|this|my tip) anonymous|can i (?:stay|be) anonymous|"
    r"will i (?:get|hear|receive)|do i get (?:an? )?(?:answer|reply|feedback)|"
    r"will (?:you|the police|someone) (?:contact|call|answer|reply)|"
    r"will anyone (?:contact|call|answer|reply)|"
    r"(?:maste|behover) jag (?:saga|uppge|lamna|beratta) (?:vem|mitt|namn)|"
    r"far (?:den|han|hon|de|dom|personen)\b.*\b(?:veta|reda pa)|"
    r"kommer (?:den|han|hon|de|dom|personen)\b.*\b(?:veta|fa reda)|"
    r"(?:do|must) i (?:have to )?(?:say|give|tell|leave) (?:who|my name)|"
    r"will (?:the person|he|she|they|anyone)\b.*\b(?:find out|know|learn))")
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
# A question-shaped answer ("måste jag säga vem jag är?") is a question at this confidence.
MODERATE_CONFIDENCE = 0.3
TIP_QUESTION_CONFIDENCE = 0.5
MAX_QUESTION_WORDS = 15

# "How do you know?" read generously (folded text): someone else's account first ("a friend
# mentioned it", "grannen sa"), then hearing, then anything the citizen noticed, lives or
# works near, or passes by (seeing it themselves).
_HOW_KNOWN_WORDS = (
    ("told_by_someone", r"\b(berattade?|berattat|(?:nagon|han|hon|de|dom|folk|granne\w*|kompis\w*|"
                        r"van|vannen|vaninna\w*|kollega\w*|syster\w*|bror\w*|brorsa\w*|"
                        r"mamma|pappa|barnen|sonen|dottern) (?:sa|sager|namnde)|"
                        r"namnde|fick (?:hora|veta)|hort (?:fran|av|att)|horde (?:fran|av|att)|"
                        r"ryktas|rykte\w*|enligt|las(?:te)? (?:det|om)|told|someone said|"
                        r"(?:friend|neighbou?r|people|they|he|she|someone) (?:said|says|"
                        r"mentioned|told)|mentioned|heard (?:from|about|that|it from)|"
                        r"rumou?rs?|word is|according to|read (?:it|about))\b"),
    ("heard_myself", r"\b(horde|hort|heard|ljud\w*|skrik\w*|noise\w*|shout\w*|scream\w*|"
                     r"sounds?)\b"),
    ("seen_myself", r"\b(sag|sett|sjalv|saw|seen|myself|watched|noticed|spotted|observed|"
                    r"witness\w*|vittne|marker|markte|markt|upptackte|egna ogon|own eyes|"
                    r"bor (?:dar|har|bredvid|granne|i|pa|vid|nara)|i live|live (?:there|here|"
                    r"next|nearby|near|on|in|opposite)|jobbar (?:dar|har|i|pa|vid)|"
                    r"work (?:there|here|nearby|at|in)|walking|promenad\w*|gick forbi|"
                    r"passerar|walk past|pass (?:by|it)|fonster\w*|window|varje dag|"
                    r"every day)\b"),
)
# "Do you want to leave contact details?": any negation means anonymous ("I'd prefer not to
# leave my name", "ingen kontakt", "no contact details"); a plain "ja" or "call me" means
# contact.
_ANONYMOUS = re.compile(r"\b(anonym\w*|anonymous\w*|nej|no|nope|inte|ej|not|don't|dont|"
                        r"ingen|inga|inget|never|aldrig|rather not|prefer not|without|utan|"
                        r"hellre inte)\b")
_NOT_ANONYMOUS = re.compile(r"\b(?:inte|not|don'?t|do not)\s+(?:vill\s+)?(?:vara\s+|be\s+|"
                            r"want to be\s+|stay\s+)?anonym")
_CONTACT = re.compile(r"\b(ja|jo|yes|yeah|ok|okej|sure|absolut|kontakt\w*|contact|ring|call|"
                      r"mejl\w*|mail|e post|email|nummer|number|phone|telefon\w*)\b")

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
    folded = fold(text)
    return next((value for value, pattern in _HOW_KNOWN_WORDS if re.search(pattern, folded)),
                None)


def how_known_answer(text: str, earlier: str | None) -> tuple[str | None, str | None]:
    """The answer to "how do you know?" typed as `text`, and what to remember for later:
    a choice when the words say one; the first time they say none, nothing yet (the form
    asks once more, remembering `text`); the second time, the citizen's own words (the web
    form's free answer), never a third question. A second reply that is no account of how
    they know ("anonym", "skicka") keeps the first one's words."""
    choice = how_known_from_text(text)
    if choice is not None:
        return choice, None
    words = answer(text)[0]
    if not earlier:
        return None, words
    moved_on = (_ANONYMOUS.search(fold(text)) or _CONTACT.search(fold(text))
                or wants_to_send(text) or len(fold(text).split()) <= 1)
    return (earlier if moved_on else words), None


def contact_choice_from_text(text: str) -> str | None:
    """"anonymt" → anonymous, "ring mig" → contact; None when unclear."""
    folded = fold(text)
    if _NOT_ANONYMOUS.search(folded):
        return "contact"
    if _ANONYMOUS.search(folded):
        return "anonymous"
    return "contact" if _CONTACT.search(folded) else None


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
        if count > MAX_QUESTION_WORDS:
            return False
        if not words.endswith("?"):
            # "måste jag säga vem jag är" without its "?": a question about the tip when
            # the classifier says so and it starts like one.
            return (intent == TIP_QUESTION and confidence >= TIP_QUESTION_CONFIDENCE
                    and bool(_QUESTION_START.match(fold(words))))
        return confidence >= QUESTION_CONFIDENCE or (
            confidence >= MODERATE_CONFIDENCE and looks_like_question(words))
    if _answers(requested_slot, words):
        return False
    if intent == "out_of_scope" and not words.endswith("?"):
        return False  # "I live there": an answer the classifier could not place
    return confidence >= QUESTION_CONFIDENCE or words.endswith("?")


_SEND_THE_TIP = re.compile(
    r"^(?:(?:ja|yes|ok|okej|nu|now|jag vill|i want to|can i|kan jag)\s+)*"
    r"(?:skicka|skicka in|send|submit|fortsatt med|continue|finish|slutfor|avsluta)\s+"
    r"(?:mitt|tipset|the|my)\s*(?:tips|tipset|tip)?(?:\s+(?:nu|now|tack|please))*$")


# An explicit request to talk to someone: a verb of talking or being put through, or a word
# that can only mean staff. "Will the person find out it was me?" names a person but asks
# nothing of the kind.
_PERSON = re.compile(
    r"\b(manniska\w*|handlaggare\w*|agent|human|operator|kopplad|koppla|transfer\w*|"
    r"prata med|tala med|snacka med|talk to|speak to|speak with|talk with|chatta med|"
    r"chat with|(?:en|a) riktig|real person|nagon (?:pa|hos) polisen|someone at the police|"
    r"riktig (?:person|polis)|live (?:agent|person)|"
    r"(?:vill ha|vill fa|behover|want|need|get me|give me|connect me with) (?:a |an |en |ett )?"
    r"(?:person|someone|somebody|officer|polis|human|manniska))\b|"
    r"^(?:en |a )?(?:person|personal|staff)(?: tack| please)?$")


def asks_for_a_person(text: str) -> bool:
    """Whether `text` names a person to talk to ("jag vill prata med en människa", "agent");
    mid-tip a request for a person needs such words, so an answer is never taken for one."""
    return bool(_PERSON.search(fold(text)))


_WANTS_TO_TIP = re.compile(
    r"\b(?:anmala|rapportera|report|tell (?:you|the police)|berattat?|tipsa|tip|inform|"
    r"let you know)\b.*\banonym\w*|"
    r"\banonym\w*\b.*\b(?:anmala|rapportera|report|tell (?:you|the police)|beratta|tipsa|tip)\b|"
    r"\b(?:vill|ville|skulle vilja|maste) (?:beratta|tala om|beratta om) (?:det|detta|nagot|nat|"
    r"nanting|en sak|vad jag sag|om det)? ?(?:for|till) (?:er|polisen|dig)\b|"
    r"\b(?:want|wanted|would like|need) to (?:tell|let) (?:you|the police)(?: know)?"
    r"(?: about)? (?:something|it|this|what i saw)\b")


def wants_to_tip(text: str) -> bool:
    """"I want to report something anonymously", "jag vill berätta det för er": a tip, not
    a police report (one needs the reporter's name) and not something out of scope."""
    return bool(_WANTS_TO_TIP.search(fold(text)))


def names_the_tip_to_send(text: str) -> bool:
    """"skicka tipset", "send my tip", "fortsätt med tipset": the citizen wants the tip
    they are writing (or kept during a handover) back, to send it."""
    return bool(_SEND_THE_TIP.match(fold(text)))


_HAPPENING_NOW = re.compile(
    r"\b(just nu|pagar\w*|haller pa att|i detta nu|i denna stund|right now|happening now|"
    r"is happening|as we speak|at this moment|going on now|still going on|ongoing)\b|"
    r"^(nu|now)\b(?!\s+(i|pa|in|on|this|den|det|och|and|then|da)\b)")


def happening_now(text: str) -> bool:
    """Whether an answer to "when did it happen?" says it is happening now ("just nu",
    "pågår", "right now"): then it is for 112, not a tip, whatever else it says."""
    return bool(_HAPPENING_NOW.search(fold(text)))


_QUESTION_START = re.compile(
    r"^(?:(?:och|and|men|but|hej|hi|en fraga|a question|fraga|question|ursakta|sorry|"
    r"excuse me)\s+)*(?:vad|vem|vems|vilken|vilket|vilka|hur|varfor|nar|var ar|"
    r"maste|behover|kan|kommer|far|ar|blir|ska|skall|vill|finns|gar|"
    r"what|who|whose|which|how|why|when|where (?:is|are|do|does|can|will)|"
    r"must|do|does|did|can|could|will|would|should|is|are|am|may|shall)\s+\w+")


def looks_like_question(text: str | None) -> bool:
    """Whether `text` is shaped like a question: a question word or a verb first ("måste
    jag säga vem jag är?", "will the person find out?") and a question mark; "i tisdags?"
    is an unsure answer, not a question."""
    stripped = (text or "").strip()
    return stripped.endswith("?") and bool(_QUESTION_START.match(fold(stripped)))


def asks_about_the_tip(text: str | None) -> bool:
    """Whether `text` is a question about the tip itself ("vad händer med mitt tips?",
    "är jag anonym?", "will I get an answer?"), from its words alone: such a question is
    answered and never stored as an answer, whatever the classifier made of it."""
    return bool(_TIP_QUESTION.match(fold(text or "")))


def _answers(requested_slot: str, text: str) -> bool:
    """Whether `text` is a typed answer to a choice the form asks ("someone told me")."""
    if requested_slot == "tip_how_known":
        return how_known_from_text(text) is not None
    if requested_slot == "tip_pictures":
        return pictures_choice_from_text(text) is not None
    return False


def answer(text: object) -> tuple[str | None, bool]:
    """A free-text answer cleaned, capped and with any personnummer masked (a tip never
    stores one): (text or None when empty, whether capped)."""
    value, capped = cap_text(text if isinstance(text, str) else None)
    return (mask_personnummer(value) or None), capped


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


def has_draft(values: Mapping[str, object]) -> bool:
    """Whether a tip is being written (something answered and not yet sent or thrown away)."""
    return any(values.get(name) not in (None, "") for name in ("tip_what", "tip_when"))


def draft_from(values: Mapping[str, object], channel: str, language: str,
               municipality_code: str | None) -> TipDraft:
    """The TipDraft for the form's values (raises InvalidDraft when something is missing)."""
    where = values.get("tip_where")
    how = str(values.get("tip_how_known") or "")
    return TipDraft(
        what=str(values.get("tip_what") or ""),
        when=str(values.get("tip_when") or ""),
        how_known=how if how in HOW_KNOWN_CHOICES else OWN_WORDS if how else "",
        how_known_text=None if how in HOW_KNOWN_CHOICES else how,
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


# --- Reading typed replies -------------------------------------------------------------------
# Citizens type instead of pressing buttons. What happens to a tip (sent, thrown away,
# corrected) is decided here, in plain Python, from the words themselves; the classifier's
# intent only helps where the words say nothing.

SEND, CANCEL, ANONYMOUS, CHANGE, CORRECT, UNCLEAR = (
    "send", "cancel", "anonymous", "change", "correct", "unclear")
YES, NO = "yes", "no"
_FOLD = str.maketrans("åäöéèüÅÄÖÉÈÜ", "aaoeeuAAOEEU")


def fold(text: str) -> str:
    """Lower case, without diacritics, punctuation as spaces: "Skicka tipset!" → "skicka
    tipset" (for matching only; values keep the citizen's own spelling)."""
    folded = text.translate(_FOLD).lower().replace("’", "'")
    return " ".join(re.sub(r"[^\w@'+]+", " ", folded).split())


def _near(word: str, target: str) -> bool:
    """`word` is `target` with at most one typo (a letter added, missing, changed or two
    neighbours swapped); short words must match exactly."""
    if word == target:
        return True
    if len(target) < 4 or abs(len(word) - len(target)) > 1:
        return False
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and word[diff[0]] == target[diff[1]]
                                  and word[diff[1]] == target[diff[0]])
    short, long_ = sorted((word, target), key=len)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


def _has_word(words: list[str], targets: tuple[str, ...]) -> bool:
    return any(_near(w, t) for w in words for t in targets)


_SEND_WORDS = ("skicka", "skickar", "skicke", "send", "sand", "submit", "skicka in")
_SEND_PHRASES = re.compile(
    r"^(ja|jo|japp|jepp|jadå|jada|yes|yeah|yep|yup|ok|okej|okay|okey|kor|go|go ahead|"
    r"ok go ahead|ja kor|absolut|sure|stammer|det stammer|ja det stammer|korrekt|allt stammer|"
    r"ratt|det ar ratt|that's right|thats right|looks good|all good|fine|perfect|perfekt|"
    r"ja tack|yes please|gor det|do it)( (tack|please|thanks|det|it|now|nu))*$")
_NEGATION = ("inte", "ej", "icke", "not", "dont", "don't", "do not", "never", "aldrig")
_CANCEL_WORDS = ("avbryt", "avbryta", "avbryter", "kasta", "radera", "cancel", "abort",
                 "delete", "discard", "stopp", "stop", "sluta", "quit")
_CANCEL_PHRASES = re.compile(
    r"\b(ta bort (allt|tipset|det)|glom (det|tipset)|strunta i (det|tipset)|throw (it )?away|"
    r"forget (it|the tip)|never mind|nevermind|skicka inte|don'?t send|do not send|"
    r"jag angrar mig|i changed my mind|vill inte skicka|want to stop|vill sluta)\b")
_ANONYMOUS_WORDS = re.compile(r"\banonym\w*|\banonymous\w*|\bwithout (my )?(name|contact)"
                              r"|\butan (mina )?(kontakt\w*|namn|uppgifter)")
_CHANGE_WORDS = re.compile(r"\b(andra|andras|byt|byta|ratta|ratt till|change|correct|fix|edit|"
                           r"update|fel|wrong|mistake)\b")
_NO_ONLY = re.compile(r"^(nej|no|nope|nah|nej det stammer inte|no that's wrong|inte riktigt)$")
_YES_ONLY = re.compile(r"^(ja|jo|japp|jepp|jadå|jada|yes|yeah|yep|yup|ok|okej|okay|sure|absolut|"
                       r"ja tack|ja kasta|ja kasta det|ja kasta tipset|ja radera|ja ta bort|"
                       r"kasta|kasta det|kasta tipset|radera|radera det|ta bort det|"
                       r"yes throw it away|throw it away|yes delete|delete it|yes please|"
                       r"ja avbryt|avbryt|cancel|yes cancel)( (det|it|tack|please))*$")
_NO_REPLY = re.compile(r"^(nej|no|nope|nah|behall|behall det|behall tipset|keep|keep it|"
                       r"keep the tip|nej tack|no thanks|nej behall|nej fortsatt|fortsatt|"
                       r"continue|go on|nej jag vill fortsatta|no keep it|no continue)"
                       r"( (det|it|tack|thanks|please|tipset|the tip))*$")

# Which answer a correction is about: the field's own name first, then words typical of the
# value (a weekday is a "when", "at the" a "where").
_FIELD_NAMES = (
    ("tip_when", r"\b(nar|tiden|tidpunkt\w*|datum\w*|dagen|klockslag\w*|when|time|date|day)\b"),
    ("tip_where", r"\b(platsen|plats|stallet|stalle|adress\w*|gatan|where|place|location|"
                  r"address|street|spot)\b"),
    ("tip_how_known", r"\b(hur jag vet|hur du vet|how i know|how you know)\b"),
    ("tip_contact", r"\b(kontakt\w*|numret|nummer|telefon\w*|mejl\w*|mail\w*|e post|"
                    r"contact|number|phone|email)\b"),
    ("tip_what", r"\b(vad som hande|beskrivning\w*|what happened|description|"
                 r"det handlar om|it is about|it's about)\b"),
)
_WEEKDAYS = (r"mandag\w*|tisdag\w*|onsdag\w*|torsdag\w*|fredag\w*|lordag\w*|sondag\w*|"
             r"monday|tuesday|wednesday|thursday|friday|saturday|sunday")
_FIELD_VALUES = (
    ("tip_when", rf"\b({_WEEKDAYS}|igar\w*|idag|i dag|forrgar|i morse|ikvall|i kvall|inatt|"
                 r"i natt|kl|klockan|yesterday|today|tonight|last night|this morning|"
                 r"o'clock|am|pm|januari|februari|mars|april|maj|juni|juli|augusti|september|"
                 r"oktober|november|december|january|february|march|may|june|july|august|"
                 r"october|veckan|week|manad\w*|month)\b|\b\d{1,2}[:.]\d{2}\b|"
                 r"\b\d{1,2}/\d{1,2}\b"),
    ("tip_where", r"\b(vid|utanfor|bakom|framfor|pa gatan|at the|outside|behind|in front of|"
                  r"near|nara|parkering\w*|car park|parking)\b"),
)
_CLAUSE = re.compile(r"\s*(?:[,;]|\s-\s|\bmen\b|\butan\b|\bbut\b|\brather\b|\binstead\b)\s*",
                     re.IGNORECASE)
_LEAD_INS = re.compile(
    r"^(?:(?:nej|no|nope|ja|yes|oj|oops|sorry|förlåt|forlat|ursäkta|ursakta|actually|"
    r"egentligen|alltså|alltsa|well|och|and|jag menar|i mean|rättelse|rattelse|correction)"
    r"\b[\s,.:!]*)+", re.IGNORECASE)
_SUBJECT = re.compile(
    r"^(?:(?:the\s+)?(?:place|location|address|time|date|day|contact|number|phone|email)|"
    r"(?:platsen|stället|stallet|adressen|tiden|datumet|dagen|kontakten|numret|mejlen)|"
    r"det|it|that|this)\s+(?:var|är|ar|was|is|were|hände|hande|happened)\s+",
    re.IGNORECASE)
_CHANGE_TO = re.compile(
    r"\b(?:ändra|andra|byt|byta|rätta|ratta|change|correct|update|set)\b.*?\b(?:till|to)\s+"
    r"(?P<value>.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class SummaryReply:
    """What a typed reply to the summary asks for: `kind` is one of SEND, CANCEL, ANONYMOUS,
    CHANGE (ask `field` again, or ask which when None), CORRECT (`field` becomes `value`)
    or UNCLEAR."""

    kind: str
    field: str | None = None
    value: str | None = None


def _field_of(folded: str) -> str | None:
    """The one answer `folded` talks about, None when none or several."""
    named = {name for name, pattern in _FIELD_NAMES if re.search(pattern, folded)}
    if len(named) == 1:
        return named.pop()
    if named:
        return None
    valued = {name for name, pattern in _FIELD_VALUES if re.search(pattern, folded)}
    if contact_details(folded):
        valued.add("tip_contact")
    return valued.pop() if len(valued) == 1 else None


def corrected_value(text: str) -> str | None:
    """The new value in a correction: "nej det var i tisdags, inte igår" → "i tisdags";
    "the place was the car park, not the bus stop" → "the car park"; "ändra platsen till
    torget" → "torget". None when nothing is left."""
    changed = _CHANGE_TO.search(text)
    if changed:
        return changed["value"].strip(" .,!") or None
    for clause in _CLAUSE.split(text):
        words = fold(clause).split()
        if not words or _CHANGE_WORDS.search(" ".join(words)) or any(
                w in _NEGATION or w in ("wasn't", "isn't", "wasnt", "isnt") for w in words):
            continue
        value = _SUBJECT.sub("", _LEAD_INS.sub("", clause.strip())).strip(" .,!?")
        if value and fold(value) not in ("nej", "no", "ja", "yes"):
            return value
    return None


_LEAD = (r"^(?:(?:nej|no|oj|oops|sorry|forlat|förlåt|ursakta|ursäkta|forresten|förresten|"
         r"actually|egentligen|rattelse|rättelse|correction|jag menar|i mean)[\s,]+)*"
         r"(?:(?:det|it|that)\s+(?:var|är|ar|was|is)\s+)?")
# "inte X utan Y" / "not X but Y", "not X, Y", then "Y, inte X" / "Y, not X".
_NOT_THIS = (re.compile(_LEAD + r"(?:inte|not)\s+(?P<old>.+?)\s*,?\s+(?:utan|but|rather)\s+"
                                r"(?P<new>.+?)$", re.IGNORECASE),
             re.compile(_LEAD + r"(?:inte|not)\s+(?P<old>[^,;]+?)\s*[,;]\s*(?P<new>.+?)$",
                        re.IGNORECASE),
             re.compile(_LEAD + r"(?P<new>.+?)\s*(?:,\s*|\s)(?:och |and )?(?:inte|not|ej)\s+"
                                r"(?P<old>.+?)$", re.IGNORECASE))


def _plain(text: str) -> str:
    return text.translate(_FOLD).lower()


def amend_what(what: str, text: str) -> str | None:
    """`what` with a correction applied: "it was my neighbour, not his brother" replaces
    "his brother" in it with "my neighbour" ("det var grannens son, inte grannen" likewise),
    so the withdrawn detail is out and the corrected one in. None when `text` is no such
    correction or what it withdraws is not in `what`."""
    stripped = text.strip().rstrip(".!")
    found = next((m for m in (p.match(stripped) for p in _NOT_THIS) if m), None)
    if not found:
        return None
    new, old = found["new"].strip(" ,."), found["old"].strip(" ,.")
    if not new or not old:
        return None
    plain = _plain(what)
    pattern = re.compile(rf"(?<!\w){re.escape(_plain(old))}(?!\w)")
    hits = list(pattern.finditer(plain))
    if not hits:
        return None
    # Same length after folding (one letter for one), so positions carry over.
    pieces, last = [], 0
    for hit in hits:
        pieces += [what[last:hit.start()], new]
        last = hit.end()
    return "".join([*pieces, what[last:]])


def wants_anonymity(text: str) -> bool:
    """"anonym", "without my name", "utan namn" (and not "inte anonym")."""
    folded = fold(text)
    return bool(_ANONYMOUS_WORDS.search(folded)) and not _NOT_ANONYMOUS.search(folded)


def read_summary_reply(text: str) -> SummaryReply:
    """A typed reply to the summary ("skicka", "nej det var i tisdags", "jag vill vara
    anonym"), read from its words alone."""
    folded = fold(text)
    words = folded.split()
    if not words:
        return SummaryReply(UNCLEAR)
    negated = any(w in _NEGATION for w in words)
    if wants_to_cancel(text):
        return SummaryReply(CANCEL)
    if wants_anonymity(text):
        return SummaryReply(ANONYMOUS)
    field = _field_of(folded)
    if field is not None:
        value = corrected_value(text)
        return SummaryReply(CHANGE, field) if value is None else SummaryReply(CORRECT, field,
                                                                              value)
    if _CHANGE_WORDS.search(folded) or _NO_ONLY.match(folded):
        return SummaryReply(CHANGE)
    if _SEND_PHRASES.match(folded) or (_has_word(words, _SEND_WORDS) and not negated):
        return SummaryReply(SEND)
    return SummaryReply(UNCLEAR)


def wants_to_send(text: str) -> bool:
    """Whether a typed message asks to send the tip ("send it", "skicka", "skicka tipset"):
    never a request to stop, whatever the classifier says."""
    folded = fold(text)
    words = folded.split()
    negated = any(w in _NEGATION for w in words) or bool(_CANCEL_PHRASES.search(folded))
    return not negated and (_has_word(words, _SEND_WORDS) or names_the_tip_to_send(text))


def read_yes_no(text: str) -> str | None:
    """YES or NO for a typed reply to "Vill du kasta tipset?", None when it says neither.
    Only a clear yes throws the tip away: a send phrase keeps it (NO)."""
    folded = fold(text)
    if wants_to_send(text):
        return NO
    if _NO_REPLY.match(folded):
        return NO
    if _YES_ONLY.match(folded):
        return YES
    return None


def wants_to_cancel(text: str) -> bool:
    """Whether a message mid-form asks to stop ("avbryt", "glöm det", "cancel the tip"); the
    form then asks before anything is thrown away."""
    folded = fold(text)
    words = folded.split()
    if _CANCEL_PHRASES.search(folded) and len(words) <= 6:
        return True
    return len(words) <= 3 and _has_word(words, _CANCEL_WORDS) and not any(
        w in _NEGATION for w in words)


# --- Contact details -------------------------------------------------------------------------

CONTACT_OK, CONTACT_BAD_PHONE, CONTACT_BAD_EMAIL, CONTACT_NONE = "ok", "bad_phone", "bad_email", \
    "none"
_EMAIL_SHAPE = re.compile(r"^[\w.+%-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}$")
_EMAIL_LIKE = re.compile(r"[\w.+%-]*@[\w.-]*")
_PHONE_LIKE = re.compile(r"(?<![\w@])\+?[\d(][\d ()./\-]{4,}\d")


@dataclass(frozen=True)
class ContactCheck:
    """The contact details found in a message: `status` CONTACT_OK with `value` (what to
    store), CONTACT_BAD_PHONE / CONTACT_BAD_EMAIL (it looks like one but is not well formed),
    or CONTACT_NONE (no phone number or e-mail address in it)."""

    status: str
    value: str | None = None


def _phone_ok(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if candidate.strip().startswith("+") or digits.startswith("00"):
        international = digits.removeprefix("00")
        if international.startswith("46"):
            national = international[2:].removeprefix("0")
            return 7 <= len(national) <= 9 and not national.startswith("0")
        return 8 <= len(international) <= 15
    return digits.startswith("0") and not digits.startswith("00") and 8 <= len(digits) <= 10


_CONTACT_LEAD = re.compile(
    r"\b(mitt|min|my|nummer|numret|number|phone|telefon\w*|mobil\w*|mejl\w*|mail\w*|e post|"
    r"email|ar|is|ring|call|mig|me|pa|on|at|kontakt\w*|contact|reach|na|you can|ni kan|"
    r"and|och|eller|or|here|har)\b")


def only_contact_details(text: str) -> bool:
    """Whether `text` says nothing but contact details ("mitt nummer är 070-123 45 67"):
    then, typed at another step, it is no answer to that step."""
    rest = _PHONE_LIKE.sub(" ", _EMAIL_LIKE.sub(" ", text))
    return not _CONTACT_LEAD.sub(" ", fold(rest)).split()


def contact_details(text: str) -> ContactCheck | None:
    """Phone numbers (Swedish "070-123 45 67", "08-12 34 56", international "+46 70 123 45
    67", "+44 20 7946 0958") and e-mail addresses in `text`, checked. None when the text
    has neither nor anything that looks like one."""
    found: list[str] = []
    for candidate in _EMAIL_LIKE.findall(text):
        if "@" in candidate and len(candidate) > 1:
            if not _EMAIL_SHAPE.match(candidate.rstrip(".")):
                return ContactCheck(CONTACT_BAD_EMAIL)
            found.append(candidate.rstrip("."))
    without_email = _EMAIL_LIKE.sub(" ", text)
    for candidate in _PHONE_LIKE.findall(without_email):
        if len(re.sub(r"\D", "", candidate)) < 5:
            continue
        if not _phone_ok(candidate):
            return ContactCheck(CONTACT_BAD_PHONE)
        found.append(" ".join(candidate.split()))
    if not found:
        return None
    return ContactCheck(CONTACT_OK, ", ".join(found))
