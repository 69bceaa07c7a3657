"""Replies about promises: short enough for a phone screen, honest about period and status,
always with the source link. Plain Python over `PromiseView`; the Rasa action only sends
what this returns."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.promises.models import CURRENT, EXPIRED
from bot.promises.repository import CommitmentView, PromiseView

LISTING_URL = ("https://polisen.se/om-polisen/medborgarloften-och-lokal-samverkan/"
               "medborgarloften/")
CONTACT_URL = "https://polisen.se/kontakt/"
TOP_COMMITMENTS = 3

_MONTHS = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
_OWNER = {
    "sv": {"police": "Polisen", "municipality": "Kommunen", "together": "Polisen och kommunen"},
    "en": {"police": "Police", "municipality": "Municipality",
           "together": "Police and municipality"},
}


@dataclass(frozen=True)
class Reply:
    """One bot message: text and buttons (payload or url)."""

    text: str
    buttons: tuple[dict[str, str], ...] = field(default_factory=tuple)

    def as_message(self) -> dict[str, Any]:
        """Keyword arguments for a Rasa dispatcher's utter_message."""
        message: dict[str, Any] = {"text": self.text}
        if self.buttons:
            message["buttons"] = [dict(b) for b in self.buttons]
        return message


@dataclass(frozen=True)
class Topic:
    """A subject citizens ask about, with the word stems that signal it."""

    key: str
    label: Mapping[str, str]
    words: tuple[str, ...]

    def found_in(self, text: str) -> bool:
        words = _fold(text).split()
        return any(w.startswith(stem) for w in words for stem in self.words)


def load_topics(path: Path) -> tuple[Topic, ...]:
    """Read the topic table (data/promises/topics.yml)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(Topic(key, v["label"], tuple(_fold(w) for w in v["words"]))
                 for key, v in data.items())


def find_topic(text: str, topics: Sequence[Topic]) -> Topic | None:
    """The first topic the message is about, if any."""
    return next((t for t in topics if t.found_in(text)), None)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9\- ]+", " ", plain)


def _day(value: date, language: str) -> str:
    month = _MONTHS[language][value.month - 1]
    return f"{value.day} {month} {value.year}"


def period(view: PromiseView, language: str) -> str:
    """"1 juli 2023 – 31 december 2027", or "från 1 januari 2022" when open-ended."""
    start = _day(view.valid_from, language)
    if view.valid_to is None:
        return f"{'från' if language == 'sv' else 'from'} {start}"
    return f"{start} – {_day(view.valid_to, language)}"


def _status_line(view: PromiseView, language: str, today: date) -> str:
    status = view.status(today)
    sv = language == "sv"
    if status == CURRENT:
        note = "gäller nu" if sv else "valid now"
    elif status == EXPIRED:
        note = "har gått ut" if sv else "has expired"
    else:
        note = "har inte börjat gälla än" if sv else "not yet in force"
    return f"{'Period' if sv else 'Period'}: {period(view, language)} ({note})."


def _owner(commitment: CommitmentView, language: str) -> str:
    if commitment.owner == "partner" and commitment.partner:
        return commitment.partner
    return _OWNER[language].get(commitment.owner, "")


def _commitment_line(commitment: CommitmentView, language: str) -> str:
    owner = _owner(commitment, language)
    text = commitment.text.get(language)
    target = f" ({commitment.target.get(language)})" if commitment.target else ""
    return f"• {owner}: {text}{target}" if owner else f"• {text}{target}"


def _matches(commitment: CommitmentView, topic: Topic) -> bool:
    return topic.found_in(commitment.text.sv) or topic.found_in(commitment.text.en or "")


def _buttons(view: PromiseView, language: str) -> tuple[dict[str, str], ...]:
    sv = language == "sv"
    return (
        {"title": "Alla åtaganden" if sv else "All commitments",
         "payload": "/promise_commitments"},
        {"title": "Uppföljning" if sv else "Follow-up", "payload": "/promise_followup"},
        {"title": "Källa på polisen.se" if sv else "Source at polisen.se",
         "url": view.source_url},
    )


def _footer(view: PromiseView, language: str, today: date) -> list[str]:
    sv = language == "sv"
    lines = []
    if view.status(today) == EXPIRED:
        lines.append("Löftet har gått ut. Det som gäller nu hittar du på polisen.se: "
                     f"{LISTING_URL}" if sv else
                     f"This promise has expired. The current one is at polisen.se: {LISTING_URL}")
    if view.is_example:
        lines.append("Obs: det här är exempeldata." if sv else "Note: this is example data.")
    lines.append(f"{'Källa' if sv else 'Source'}: {view.source_url}")
    return lines


def promise_summary(view: PromiseView, language: str, today: date,
                    topic: Topic | None = None) -> Reply:
    """The promise in brief: title, period and status, focus problem, top commitments."""
    sv = language == "sv"
    lines = [f"{view.title.get(language)} ({view.area})", _status_line(view, language, today)]
    focus = next((p for p in view.problems if p.is_focus), None)
    if focus:
        lines.append(f"{'Fokus' if sv else 'Focus'}: {focus.text.get(language)}")
    commitments: Sequence[CommitmentView] = view.commitments
    if topic is not None:
        about = [c for c in view.commitments if _matches(c, topic)]
        label = topic.label[language]
        if about:
            commitments = about
            lines.append(f"Om {label} lovar de:" if sv else f"On {label} they promise:")
        else:
            lines.append(f"Löftet säger inget särskilt om {label}. Det här lovar de:" if sv
                         else f"The promise says nothing specific about {label}. "
                              "This is what they promise:")
    else:
        lines.append("Det här lovar de:" if sv else "This is what they promise:")
    lines.extend(_commitment_line(c, language) for c in commitments[:TOP_COMMITMENTS])
    rest = len(commitments) - TOP_COMMITMENTS
    if rest > 0:
        lines.append(f"… och {rest} till." if sv else f"… and {rest} more.")
    lines.extend(_footer(view, language, today))
    return Reply("\n".join(lines), _buttons(view, language))


def all_commitments(view: PromiseView, language: str, today: date) -> Reply:
    """Every commitment with its owner, and the problem picture."""
    sv = language == "sv"
    lines = [f"{view.title.get(language)} ({view.area})", _status_line(view, language, today)]
    if view.problems:
        lines.append("Problembild:" if sv else "Problem picture:")
        lines.extend(f"{p.rank}. {p.text.get(language)}"
                     + (" (fokus)" if sv and p.is_focus else " (focus)" if p.is_focus else "")
                     for p in view.problems)
    lines.append("Åtaganden:" if sv else "Commitments:")
    lines.extend(_commitment_line(c, language) for c in view.commitments)
    lines.extend(_footer(view, language, today))
    return Reply("\n".join(lines), _buttons(view, language)[1:])


def responsible(view: PromiseView, language: str) -> Reply:
    """Who stands behind the promise."""
    sv = language == "sv"
    parts = []
    if view.signatories:
        names = ", ".join(view.signatories)
        parts.append(f"Löftet för {view.area} står {names} bakom." if sv
                     else f"The promise for {view.area} is made by {names}.")
    if view.local_police_area:
        parts.append(f"Från polisens sida är det lokalpolisområde {view.local_police_area}." if sv
                     else f"For the police it is the local police area {view.local_police_area}.")
    if view.follow_up_lead:
        parts.append(f"Uppföljningen leds av {view.follow_up_lead}." if sv
                     else f"The follow-up is led by {view.follow_up_lead}.")
    if not parts:
        parts.append("Det står inte i det jag har om löftet." if sv
                     else "That is not in what I have about the promise.")
    parts.append(f"{'Källa' if sv else 'Source'}: {view.source_url}")
    return Reply("\n".join(parts))


def follow_up(view: PromiseView, language: str) -> Reply:
    """Published follow-ups, or plainly that none is registered."""
    sv = language == "sv"
    lines = []
    if view.follow_up_lead:
        lines.append(f"Uppföljningen leds av {view.follow_up_lead}." if sv
                     else f"The follow-up is led by {view.follow_up_lead}.")
    if view.follow_ups:
        lines.append("Publicerad uppföljning:" if sv else "Published follow-up:")
        for item in view.follow_ups:
            when = f"{_day(item.published_on, language)}: " if item.published_on else ""
            link = f" ({item.url})" if item.url else ""
            lines.append(f"• {when}{item.summary.get(language)}{link}")
    else:
        lines.append("Jag har ingen publicerad uppföljning registrerad för det här löftet." if sv
                     else "I have no published follow-up registered for this promise.")
    lines.append(f"{'Källa' if sv else 'Source'}: {view.source_url}")
    return Reply("\n".join(lines))


def participate(view: PromiseView | None, language: str) -> Reply:
    """How a citizen can take part: facts about how promises are made, and where opinions go."""
    sv = language == "sv"
    text = (
        "Medborgarlöften bygger på dialoger med invånare, trygghetsundersökningar och "
        "brottsstatistik. Synpunkter och frågor till polisen lämnar du via kontaktformulären på "
        f"polisen.se ({CONTACT_URL}) eller på 114 14. Du kan också kontakta din kommun."
        if sv else
        "Citizen promises build on dialogues with residents, safety surveys and crime "
        "statistics. Give the police your views through the contact forms at polisen.se "
        f"({CONTACT_URL}) or on 114 14. You can also contact your municipality."
    )
    if view is not None:
        text += f"\n{'Källa' if sv else 'Source'}: {view.source_url}"
    return Reply(text)


def no_promise(area: str, police_region: str | None, local_police_area: str | None,
               language: str) -> Reply:
    """Plainly: nothing registered here, who the police are locally, where promises are."""
    sv = language == "sv"
    lines = [f"Jag har inget medborgarlöfte registrerat för {area}." if sv
             else f"I have no citizen promise registered for {area}."]
    if local_police_area:
        lines.append(f"{area} hör till lokalpolisområde {local_police_area}"
                     f"{f' i polisregion {police_region}' if police_region else ''}." if sv
                     else f"{area} belongs to the local police area {local_police_area}"
                     f"{f' in police region {police_region}' if police_region else ''}.")
    elif police_region:
        lines.append(f"{area} hör till polisregion {police_region}." if sv
                     else f"{area} belongs to police region {police_region}.")
    lines.append("Alla medborgarlöften publiceras på polisen.se." if sv
                 else "All citizen promises are published at polisen.se.")
    title = "Medborgarlöften på polisen.se" if sv else "Citizen promises at polisen.se"
    return Reply("\n".join(lines), ({"title": title, "url": LISTING_URL},))


def ask_place(language: str) -> Reply:
    """Where? A municipality, a district or a postcode."""
    return Reply("Var bor du? Skriv kommun, stadsdel eller postnummer." if language == "sv"
                 else "Where do you live? Write your municipality, district or postcode.")


def choose_place(options: Sequence[tuple[str, str]], language: str) -> Reply:
    """Several places fit: ask which, with one button per (label, value)."""
    text = "Vilken plats menar du?" if language == "sv" else "Which place do you mean?"
    return Reply(text, tuple({"title": label, "payload": f'/inform_place{{"place": "{value}"}}'}
                             for label, value in options))


def shared_location_near(municipality: str, language: str) -> Reply:
    """A shared location was placed by its nearest locality: say that it is approximate."""
    return Reply(f"Platsen du delade ligger i eller nära {municipality}." if language == "sv"
                 else f"The place you shared is in or near {municipality}.")


def shared_location_unplaced(language: str) -> Reply:
    """A shared location outside Sweden, at sea or too far from any locality."""
    return Reply("Jag kunde inte placera platsen du delade i någon svensk kommun, den verkar "
                 "ligga utanför Sverige eller långt från närmaste ort. Skriv namnet på kommunen, "
                 "orten eller ett postnummer." if language == "sv" else
                 "I could not place the location you shared in a Swedish municipality: it seems "
                 "to be outside Sweden or far from the nearest town. Write the name of the "
                 "municipality, the town or a postcode.")


def unknown_place(language: str) -> Reply:
    """The text named no place the index knows."""
    return Reply("Jag hittar inte den platsen. Skriv namnet på kommunen, stadsdelen eller ett "
                 "postnummer." if language == "sv" else
                 "I cannot find that place. Write the name of the municipality, the district or "
                 "a postcode.")
