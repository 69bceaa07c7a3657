"""What happened in one turn, read from Rasa's tracker, and whether it meets an expectation.

`observe` turns the events a turn added to the tracker (GET /conversations/{id}/tracker)
into a `TurnView`: the bot's replies, each named by the domain response it came from and
the action that sent it, and the slots before and after. `EXPECTATIONS` is the one table
from every `expect` value of tests/eval/README.md to its detection: adjust it there when
response or action names change.

Replies are named by `metadata.utter_action` when Rasa sent a domain response itself, and
otherwise (custom actions render responses themselves, see actions/responses.py) by
matching the text against every variant of every response in domain.yml.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.channels.reminders import REMINDER
from bot.promises import presenter
from bot.tips import intake

REFERENCE = re.compile(r"\bT-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}\b")
SESSION_START = "action_session_start"
PROMISE_ACTION = "action_promise"
# Domain responses by role. Names the other changes of issue 12 may add are matched by
# pattern, so they count as soon as they exist.
URGENT = re.compile(r"^utter_(emergency|self_harm)(?!_reminder|_number)")
CANCELLED = "utter_tip_cancelled"
# A question before the draft is thrown away (e.g. utter_ask_tip_discard, slot tip_discard).
CONFIRM_CANCEL = re.compile(r"(cancel|discard)\w*_(confirm|ask|sure)|(confirm|ask|sure)\w*_"
                            r"(cancel|discard)|^tip_discard$")
PNR_REMINDER = re.compile(r"pnr|personnummer|personal_?id|identity")
PNR_TEXT = re.compile(r"personnum|identity number|personal number|id number")
HANDOVER_RESPONSES = frozenset({"utter_handover_queued", "utter_handover_closed_hours"})
HANDOVER_LOOPS = frozenset({"handover_form", "callback_form"})
CONTACT_RESPONSES = frozenset({"utter_contact_police", "utter_emergency_number",
                               "utter_report_crime"})
OUT_OF_SCOPE_RESPONSES = frozenset({"utter_out_of_scope", "utter_help", "utter_ask_rephrase",
                                    "utter_default", "utter_tip_out_of_scope"})
OTHER_LANGUAGE = re.compile(r"other_language")
CONTAINED_MIN = 40


def fold(text: str) -> str:
    """Lower case without diacritics and with single spaces: how texts are compared."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


class ResponseIndex:
    """Names a reply text by the domain response (any variant, any language) it comes from."""

    def __init__(self, responses: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        self._patterns: list[tuple[re.Pattern[str], str]] = []
        for name, variants in responses.items():
            for variant in variants:
                text = variant.get("text")
                if not isinstance(text, str):
                    continue
                parts = re.split(r"\{\w+\}", " ".join(text.split()))
                pattern = ".+?".join(re.escape(p) for p in parts)
                self._patterns.append((re.compile(pattern, re.DOTALL), name))

    @classmethod
    def from_domain(cls, path: Path) -> ResponseIndex:
        return cls(yaml.safe_load(path.read_text("utf-8")).get("responses") or {})

    def name_of(self, text: str) -> str | None:
        """The response whose variant is the whole text, else the one with the longest
        variant (of at least CONTAINED_MIN characters) inside it: an action may add a line
        to a response, e.g. 112 with a line in the citizen's language."""
        flat = " ".join(text.split())
        whole = next((name for pattern, name in self._patterns if pattern.fullmatch(flat)),
                     None)
        if whole is not None:
            return whole
        inside = [(len(pattern.pattern), name) for pattern, name in self._patterns
                  if len(pattern.pattern) >= CONTAINED_MIN and pattern.search(flat)]
        return max(inside)[1] if inside else None


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    names: tuple[str, ...]
    """Folded: the name, the full name ("Göteborgs kommun"), the English name."""


class PlaceNames:
    """Municipality names and codes from data/places/municipalities.csv."""

    def __init__(self, municipalities: Iterable[Municipality]) -> None:
        self.by_code = {m.code: m for m in municipalities}
        self._by_name = {name: m for m in self.by_code.values() for name in m.names}

    @classmethod
    def load(cls, places_dir: Path) -> PlaceNames:
        with (places_dir / "municipalities.csv").open(encoding="utf-8") as rows:
            return cls(Municipality(row["code"], row["name"], tuple(fold(row[k]) for k in
                                                       ("name", "full_name", "english_name")
                                                       if row.get(k)))
                       for row in csv.DictReader(rows))

    def code_of(self, name: str) -> str | None:
        found = self._by_name.get(fold(name)) or self._by_name.get(fold(name) + " kommun")
        return found.code if found else None

    def label(self, code: str | None) -> str:
        municipality = self.by_code.get(code or "")
        return municipality.name if municipality else str(code)


@dataclass(frozen=True)
class Reply:
    text: str
    response: str | None
    """The domain response it came from, or None (a text a custom action composed)."""
    action: str | None
    """The action whose events carried it (a form, when the form asked through it)."""
    buttons: tuple[str, ...] = ()


def _area(value: Any) -> tuple[str | None, str | None]:
    """The `area` slot ("1480/Angered") as (municipality code, folded district)."""
    if not value:
        return None, None
    code, _, district = str(value).partition("/")
    return code, (fold(district) or None)


@dataclass(frozen=True)
class TurnView:
    """What one user message caused, as the tracker records it."""

    user: str
    replies: tuple[Reply, ...]
    actions: tuple[str, ...]
    intent: str | None
    confidence: float
    slots_before: Mapping[str, Any]
    slots_after: Mapping[str, Any]
    loop_before: str | None
    loop_after: str | None
    places: PlaceNames
    stored_references: frozenset[str] = frozenset()
    """References shown in this turn that the tip store holds (filled in by the runner)."""
    http_ok: bool = True
    received: tuple[str, ...] = ()
    """The texts the channel sent back, which also hold what a channel adds outside the
    dialogue (the personnummer reminder, bot/channels/reminders.py)."""

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.replies]

    @property
    def answer(self) -> list[Reply]:
        """The replies to the message itself (not the first turn's welcome)."""
        return [r for r in self.replies if r.action != SESSION_START]

    def names(self) -> set[str]:
        """Response and action names of the answer."""
        return {n for r in self.answer for n in (r.response, r.action) if n}

    @property
    def references(self) -> set[str]:
        return {ref for text in self.texts for ref in REFERENCE.findall(text)}

    def area(self) -> tuple[str | None, str | None]:
        return _area(self.slots_after.get("area"))

    def area_set_here(self) -> bool:
        return bool(self.slots_after.get("area")) and \
            self.slots_after.get("area") != self.slots_before.get("area")

    def describe(self) -> str:
        """One line for the failure report."""
        responses = [r.response or (f"{r.action}:" + r.text[:40].replace("\n", " "))
                     for r in self.answer]
        slots = {k: self.slots_after.get(k) for k in ("area", "requested_slot", "handover")
                 if self.slots_after.get(k)}
        return (f"intent={self.intent}({self.confidence:.2f}) replies={responses} "
                f"loop={self.loop_after} slots={slots}"
                + ("" if self.http_ok else " HTTP-ERROR"))


def observe(user: str, events: Iterable[Mapping[str, Any]], slots_before: Mapping[str, Any],
            tracker: Mapping[str, Any], loop_before: str | None, places: PlaceNames,
            responses: ResponseIndex) -> TurnView:
    """The TurnView of `events` (what the turn added to the tracker) and `tracker` after it."""
    replies: list[Reply] = []
    actions: list[str] = []
    intent, confidence = None, 0.0
    action: str | None = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            parsed = (event.get("parse_data") or {}).get("intent") or {}
            intent, confidence = parsed.get("name"), float(parsed.get("confidence") or 0.0)
        elif kind == "action":
            action = event.get("name")
            if action and action != "action_listen":
                actions.append(action)
        elif kind == "bot":
            text = event.get("text") or ""
            metadata = event.get("metadata") or {}
            data = event.get("data") or {}
            buttons = tuple(str(b.get("payload") or b.get("url") or "")
                            for b in data.get("buttons") or [])
            replies.append(Reply(text, metadata.get("utter_action") or responses.name_of(text),
                                 action, buttons))
    loop = (tracker.get("active_loop") or {}).get("name")
    return TurnView(user, tuple(replies), tuple(actions), intent, confidence,
                    dict(slots_before), dict(tracker.get("slots") or {}), loop_before, loop,
                    places)


# --- the detection table -------------------------------------------------------------------

def _urgent(turn: TurnView) -> bool:
    return any(URGENT.match(r.response or "") for r in turn.answer)


def _asked_where(turn: TurnView) -> bool:
    asking = {fold(f(lang).text) for lang in ("sv", "en")
              for f in (presenter.ask_place, presenter.unknown_place)}
    chooser = {fold(presenter.choose_place((), lang).text) for lang in ("sv", "en")}
    return any(fold(r.text) in asking | chooser or re.search(r"ask_(place|area)", r.response or "")
               for r in turn.answer)


def _promise_answer(turn: TurnView) -> bool:
    """action_promise answered with a promise (or "none registered") for a place."""
    return any(r.action == PROMISE_ACTION for r in turn.answer) and not _asked_where(turn) \
        and bool(turn.slots_after.get("area"))


def _is_summary(reply: Reply) -> bool:
    intros = tuple(fold(intake.summary({}, lang)[0].splitlines()[0]) for lang in ("sv", "en"))
    return fold(reply.text).startswith(intros)


def emergency(turn: TurnView, _: str | None = None) -> bool:
    """The urgent "ring 112 now" answer: utter_emergency (also rendered by
    action_handover_emergency) or a self-harm answer (utter_self_harm*)."""
    return _urgent(turn)


def no_emergency(turn: TurnView, _: str | None = None) -> bool:
    """No urgent 112 answer; utter_emergency_reminder (one line) is allowed."""
    return not _urgent(turn)


def self_harm(turn: TurnView, _: str | None = None) -> bool:
    """The urgent answer and Självmordslinjen's 90101 in the same turn."""
    return _urgent(turn) and any("90101" in r.text for r in turn.answer)


def place(turn: TurnView, arg: str | None) -> bool:
    """The `area` slot is the expected municipality (code from municipalities.csv; district
    compared folded) and a reply names it (municipality or district, folded)."""
    wanted, _, district = (arg or "").partition("/")
    code = turn.places.code_of(wanted)
    got_code, got_district = turn.area()
    if code is None or got_code != code:
        return False
    if district and got_district != fold(district):
        return False
    said = fold(" ".join(r.text for r in turn.answer))
    municipality = turn.places.by_code[code]
    return any(n in said for n in municipality.names) or bool(district and fold(district) in said)


def no_place(turn: TurnView, _: str | None = None) -> bool:
    """No area was set and action_promise named no place (asking where is fine)."""
    if turn.area_set_here():
        return False
    return not any(r.action == PROMISE_ACTION for r in turn.answer) or _asked_where(turn)


def ask_place(turn: TurnView, _: str | None = None) -> bool:
    """The assistant asks where: presenter.ask_place / unknown_place / choose_place, or a
    response named ask_place / ask_area."""
    return _asked_where(turn)


def promise(turn: TurnView, _: str | None = None) -> bool:
    """action_promise answered for the conversation's area (a promise or "none registered")."""
    return _promise_answer(turn)


def followup(turn: TurnView, _: str | None = None) -> bool:
    """action_promise answered, and the area is the one from before this turn."""
    before = turn.slots_before.get("area")
    return _promise_answer(turn) and bool(before) and turn.slots_after.get("area") == before


def person(turn: TurnView, _: str | None = None) -> bool:
    """action_handover_start ran, the handover or callback form is active, the `handover`
    slot is set, or the queue / out-of-hours answer was given."""
    return ("action_handover_start" in turn.actions or turn.loop_after in HANDOVER_LOOPS
            or bool(turn.slots_after.get("handover"))
            or bool(turn.names() & HANDOVER_RESPONSES))


def tip(turn: TurnView, _: str | None = None) -> bool:
    """The tip form (`tip_form`) is the active loop after the turn."""
    return turn.loop_after == "tip_form"


def summary(turn: TurnView, _: str | None = None) -> bool:
    """A reply starts with the summary's intro (action_ask_tip_confirm, bot.tips.intake)."""
    return any(_is_summary(r) for r in turn.answer)


def tip_sent(turn: TurnView, _: str | None = None) -> bool:
    """A reference T-XXXX-XXXX is shown and the tip store holds it."""
    return bool(turn.references) and turn.references <= turn.stored_references


def asks_again(turn: TurnView, _: str | None = None) -> bool:
    """The form asks the same step again (same requested_slot, still empty), after
    answering: at least one reply that is not the step's own question."""
    step = turn.slots_before.get("requested_slot")
    if not step or turn.loop_before is None or turn.loop_after != turn.loop_before:
        return False
    if turn.slots_after.get("requested_slot") != step or turn.slots_after.get(step):
        return False
    own = (f"utter_ask_{step}", f"action_ask_{step}")
    return any(r.response not in own and not (step == "tip_confirm" and _is_summary(r))
               for r in turn.answer)


def confirm_cancel(turn: TurnView, _: str | None = None) -> bool:
    """A reply or the requested slot named for a question before cancelling (cancel or
    discard, with ask / confirm / sure: utter_ask_tip_discard, tip_discard), and the tip was
    not thrown away."""
    asked = any(CONFIRM_CANCEL.search(n) for n in turn.names()) or \
        bool(CONFIRM_CANCEL.search(str(turn.slots_after.get("requested_slot") or "")))
    return asked and CANCELLED not in turn.names()


def tip_cancelled(turn: TurnView, _: str | None = None) -> bool:
    """utter_tip_cancelled was said and the draft is gone (no tip_draft_id)."""
    return CANCELLED in turn.names() and not turn.slots_after.get("tip_draft_id")


def tip_kept(turn: TurnView, _: str | None = None) -> bool:
    """The draft still exists (tip_draft_id set) and was not cancelled."""
    return bool(turn.slots_after.get("tip_draft_id")) and CANCELLED not in turn.names()


def pnr_reminder(turn: TurnView, _: str | None = None) -> bool:
    """A response named for personal identity numbers, an answer (not the welcome) that
    mentions them, or the channel's reminder among the texts the citizen received."""
    return (any(PNR_REMINDER.search(n) for n in turn.names())
            or any(PNR_TEXT.search(fold(r.text)) for r in turn.answer)
            or any(text in REMINDER.values() for text in turn.received))


def contact_info(turn: TurnView, _: str | None = None) -> bool:
    """utter_contact_police, utter_emergency_number or utter_report_crime (also as an
    answer in the middle of a form), or an unnamed text with 114 14."""
    return bool(turn.names() & CONTACT_RESPONSES) or any(
        r.response is None and "114 14" in r.text for r in turn.answer)


def out_of_scope(turn: TurnView, _: str | None = None) -> bool:
    """Nothing happened (no urgent answer, tip form, person or place) and the answer is the
    out-of-scope answer, the help text, the fallback's rephrase request or the
    other-language answer."""
    if _urgent(turn) or (turn.loop_after == "tip_form" and turn.loop_before != "tip_form") \
            or person(turn) or turn.area_set_here():
        return False
    return bool(turn.names() & OUT_OF_SCOPE_RESPONSES) or any(
        OTHER_LANGUAGE.search(n) for n in turn.names())


Check = Callable[[TurnView, str | None], bool]
EXPECTATIONS: dict[str, Check] = {
    "emergency": emergency,
    "no_emergency": no_emergency,
    "self_harm": self_harm,
    "place": place,
    "no_place": no_place,
    "ask_place": ask_place,
    "promise": promise,
    "followup": followup,
    "person": person,
    "tip": tip,
    "summary": summary,
    "tip_sent": tip_sent,
    "asks_again": asks_again,
    "confirm_cancel": confirm_cancel,
    "tip_cancelled": tip_cancelled,
    "tip_kept": tip_kept,
    "pnr_reminder": pnr_reminder,
    "contact_info": contact_info,
    "out_of_scope": out_of_scope,
}


@dataclass
class Verdict:
    """The outcome of one turn's expectations."""

    failed: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failed


def judge(turn: TurnView, expects: Iterable[Any]) -> Verdict:
    """Which of `expects` (corpus.Expect) the turn does not meet; a turn without any must
    still get an answer (an empty one only while handed over to a person)."""
    verdict = Verdict()
    if not turn.http_ok:
        verdict.failed.append("error")
    for expect in expects:
        if not EXPECTATIONS[expect.name](turn, expect.arg):
            verdict.failed.append(str(expect))
    if not turn.replies and not turn.slots_before.get("handover"):
        verdict.failed.append("an answer")
    return verdict
