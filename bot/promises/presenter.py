"""Replies about promises: short enough for a phone screen, honest about period and status,
always with the source link. Plain Python over `PromiseView`; the Rasa action only sends
what this returns.

Only the precision the source gives: in Swedish the period is shown in the source's words, in
English as precisely as its dates were given ("2023–2025", "July 2023 – 2027"); a derived
day (2027 -> 31 December) is never shown. A promise that has ended says so and still tells
what was promised; where the source leaves the status open the reply says what it does know
("valid through 2026 according to the source") and never that the promise is current."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.promises.dates import DAY, YEAR, parse_partial, spoken
from bot.promises.models import CURRENT, EXPIRED, UNCERTAIN, UPCOMING
from bot.promises.repository import CommitmentView, PromiseView

LISTING_URL = ("https://polisen.se/om-polisen/medborgarloften-och-lokal-samverkan/"
               "medborgarloften/")
CONTACT_URL = "https://polisen.se/kontakt/"
TOP_COMMITMENTS = 3

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
    return spoken(value, DAY, language)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _end(view: PromiseView, language: str) -> str | None:
    return spoken(view.valid_to, view.valid_to_precision, language) if view.valid_to else None


def dates(view: PromiseView, language: str) -> str | None:
    """The derived period as precisely as the source gives it: "2023–2025", "1 juli 2023 –
    2027", "från 2022", "till och med 31 december 2025"; None when the source gives no dates."""
    start = (spoken(view.valid_from, view.valid_from_precision, language)
             if view.valid_from else None)
    end = _end(view, language)
    sv = language == "sv"
    if start and end:
        if start == end:
            return start
        years_only = view.valid_from_precision == view.valid_to_precision == YEAR
        return f"{start}–{end}" if years_only else f"{start} – {end}"
    if start:
        return f"{'från' if sv else 'from'} {start}"
    if end:
        return f"{'till och med' if sv else 'until'} {end}"
    return None


def period(view: PromiseView, language: str) -> str:
    """The period to show: in Swedish in the source's own words, in English from its dates."""
    if language == "sv" and view.period_stated:
        return view.period_stated
    return dates(view, language) or ("anges inte i källan" if language == "sv"
                                     else "not stated in the source")


def _ended(view: PromiseView, language: str) -> str:
    """"Ended in 2023." / "Löftet har gått ut: det gällde till och med 2023." """
    end = _end(view, language)
    if language == "sv":
        return f"Löftet har gått ut: det gällde till och med {end}." if end \
            else "Löftet har gått ut."
    preposition = "on" if view.valid_to_precision in (DAY, None) else "in"
    return f"Ended {preposition} {end}." if end else "It has ended."


def _uncertain(view: PromiseView, language: str, today: date) -> str:
    """What the source does say when it does not tell whether the promise applies today."""
    sv = language == "sv"
    end = _end(view, language)
    if view.valid_to and not view.period_uncertain and view.valid_to >= today:
        # An end given only as this year or this month.
        return (f"Gäller till och med {end} enligt källan." if sv
                else f"Valid through {end} according to the source.")
    if view.period_uncertain:
        line = ("Källan lämnar slutet öppet, så om löftet gäller nu kan jag inte säga." if sv
                else "The source leaves the end open, so I cannot say whether it applies now.")
    elif view.valid_from or view.valid_to:
        line = ("Källan anger inget slut, så om löftet gäller nu kan jag inte säga." if sv
                else "The source gives no end, so I cannot say whether it applies now.")
    else:
        line = ("Källan anger ingen giltighetstid, så om löftet gäller nu kan jag inte säga."
                if sv else
                "The source gives no period, so I cannot say whether it applies now.")
    published = parse_partial(view.source_date) if view.source_date else None
    if published:
        when = spoken(*published, language)
        line += f" Källan är från {when}." if sv else f" The source is from {when}."
    return line


def status_sentence(view: PromiseView, language: str, today: date) -> str:
    """Whether the promise applies on `today`, as far as the source lets us say."""
    status = view.status(today)
    sv = language == "sv"
    if status == CURRENT:
        return "Löftet gäller nu." if sv else "It is valid now."
    if status == EXPIRED:
        return _ended(view, language)
    if status == UPCOMING:
        return "Löftet har inte börjat gälla än." if sv else "It is not yet in force."
    return _uncertain(view, language, today)


def _status_line(view: PromiseView, language: str, today: date) -> str:
    status = view.status(today)
    sv = language == "sv"
    label = "Period" if sv else "Period"
    if status == CURRENT:
        return f"{label}: {period(view, language)} ({'gäller nu' if sv else 'valid now'})."
    return f"{label}: {period(view, language)}. {status_sentence(view, language, today)}"


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
        {"title": _source_title(view.source_url, language), "url": view.source_url},
    )


def _heading(view: PromiseView, language: str) -> str:
    """The title, with the area unless the title already names it."""
    title = view.title.get(language)
    return title if view.area in title else f"{title} ({view.area})"


def where_current(view: PromiseView, language: str) -> str:
    """Where the promise in force is published: the municipality's or the police's page."""
    url = view.current_url or LISTING_URL
    sv = language == "sv"
    if url == view.source_url:
        return ("Det som gäller nu publiceras på samma sida som källan." if sv
                else "The current one is published on the same page as the source.")
    if "polisen.se" in url:
        return (f"Det som gäller nu hittar du på polisen.se: {url}" if sv
                else f"The current one is at polisen.se: {url}")
    return (f"Det som gäller nu hittar du på kommunens sida: {url}" if sv
            else f"The current one is on the municipality's page: {url}")


def sources_line(view: PromiseView, language: str) -> str:
    """"Källa: url", or every source when there are several (e.g. when they disagree)."""
    urls = (view.source_url, *view.more_sources)
    if len(urls) == 1:
        return f"{'Källa' if language == 'sv' else 'Source'}: {urls[0]}"
    joined = f"{', '.join(urls[:-1])} {'och' if language == 'sv' else 'and'} {urls[-1]}"
    return f"{'Källor' if language == 'sv' else 'Sources'}: {joined}"


def _source_title(url: str, language: str) -> str:
    """"Källa på polisen.se" only when the source is there; a municipality's page is "Källa"."""
    if "polisen.se" in url:
        return "Källa på polisen.se" if language == "sv" else "Source at polisen.se"
    return "Källa" if language == "sv" else "Source"


def _footer(view: PromiseView, language: str, today: date) -> list[str]:
    sv = language == "sv"
    lines = []
    if view.caveat:
        lines.append(view.caveat.get(language))
    if view.status(today) != CURRENT:
        lines.append(where_current(view, language))
    if view.is_example:
        lines.append("Obs: det här är exempeldata." if sv else "Note: this is example data.")
    lines.append(sources_line(view, language))
    return lines


def _gaps(view: PromiseView, language: str) -> list[str]:
    """Say plainly what is missing: no commitments at all, or only the first ones."""
    sv = language == "sv"
    if not view.commitments:
        if any(p.is_focus for p in view.problems):
            return ["Åtagandena har jag inte, bara inriktningen och perioden. Läs dem i källan."
                    if sv else "I do not have the commitments, only the focus and the period. "
                               "Read them at the source."]
        return ["Vad löftet innehåller har jag inte, bara perioden. Läs det i källan." if sv
                else "I do not have what the promise contains, only its period. Read it at "
                     "the source."]
    if view.excerpt_truncated:
        return ["Åtagandena är avkortade i källutdraget: här är de som är kända. Hela texten "
                "finns i källan." if sv else
                "The commitments were cut off in the excerpt I have: these are the ones known. "
                "The full text is at the source."]
    return []


def _in_swedish(view: PromiseView, language: str) -> str:
    """English replies say when the commitments are only published in Swedish."""
    if language == "en" and any(c.text.en is None for c in view.commitments):
        return " (published in Swedish)"
    return ""


def _focus(view: PromiseView, language: str) -> str | None:
    focus = [p.text.get(language).rstrip(".") for p in view.problems if p.is_focus]
    if not focus:
        return None
    return f"{'Fokus' if language == 'sv' else 'Focus'}: {_cap('; '.join(focus))}"


def promise_summary(view: PromiseView, language: str, today: date,
                    topic: Topic | None = None) -> Reply:
    """The promise in brief: title, period and status, focus problem, top commitments."""
    sv = language == "sv"
    lines = [_heading(view, language), _status_line(view, language, today)]
    focus = _focus(view, language)
    if focus:
        lines.append(focus)
    commitments: Sequence[CommitmentView] = view.commitments
    if commitments and topic is not None:
        about = [c for c in view.commitments if _matches(c, topic)]
        label = topic.label[language]
        if about:
            commitments = about
            lines.append(f"Om {label} lovar de:" if sv else f"On {label} they promise:")
        elif view.excerpt_truncated:  # the missing ones may well be about it
            lines.append(f"Bland de åtaganden jag har finns inget särskilt om {label}. Det här "
                         "lovar de:" if sv else
                         f"Among the commitments I have, none is specifically about {label}. "
                         "This is what they promise:")
        else:
            lines.append(f"Löftet säger inget särskilt om {label}. Det här lovar de:" if sv
                         else f"The promise says nothing specific about {label}. "
                              "This is what they promise:")
    elif commitments:
        lines.append(_promised(view, language, today))
    lines.extend(_commitment_line(c, language) for c in commitments[:TOP_COMMITMENTS])
    rest = len(commitments) - TOP_COMMITMENTS
    if rest > 0:
        lines.append(f"… och {rest} till." if sv else f"… and {rest} more.")
    lines.extend(_gaps(view, language))
    lines.extend(_footer(view, language, today))
    return Reply("\n".join(lines), _buttons(view, language))


def _promised(view: PromiseView, language: str, today: date) -> str:
    """"This is what they promise:", in the past tense once the promise has ended."""
    ended = view.status(today) == EXPIRED
    if language == "sv":
        return "Det här lovade de:" if ended else "Det här lovar de:"
    return ("This is what they promised" if ended else "This is what they promise") \
        + _in_swedish(view, language) + ":"


def validity(view: PromiseView, language: str, today: date) -> Reply:
    """Is it still valid? The period as stated, the status as far as the source tells, and
    where the promise in force is published."""
    lines = [_heading(view, language), _status_line(view, language, today)]
    if view.caveat:
        lines.append(view.caveat.get(language))
    if view.status(today) != CURRENT:
        lines.append(where_current(view, language))
    lines.append(sources_line(view, language))
    return Reply("\n".join(lines), _buttons(view, language))


def district_choice(municipality: str, whole: PromiseView | None,
                    parts: Sequence[PromiseView], language: str, today: date) -> Reply:
    """The municipality's districts that have a promise, one button each; with the promise
    for the whole municipality first when there is one."""
    sv = language == "sv"
    if whole is not None:
        summary = promise_summary(whole, language, today)
        names = ", ".join(_part_name(v) for v in parts)
        text = summary.text + "\n" + (f"Det finns också löften för delar av {municipality}: "
                                      f"{names}." if sv else
                                      f"There are also promises for parts of {municipality}: "
                                      f"{names}.")
        return Reply(text, summary.buttons + _part_buttons(parts))
    lines = [f"För {municipality} som helhet har jag inget medborgarlöfte registrerat, men för "
             "de här delarna av kommunen:" if sv else
             f"I have no citizen promise registered for {municipality} as a whole, but for "
             "these parts of it:"]
    for view in parts:
        lines.append(f"• {_part_name(view)}: {period(view, language)} "
                     f"({_short_status(view, language, today)})")
    lines.append("Välj en del så berättar jag vad som lovats." if sv
                 else "Choose one and I will tell you what was promised.")
    return Reply("\n".join(lines), _part_buttons(parts))


def _part_name(view: PromiseView) -> str:
    return view.area_stated or view.district or view.municipality


def _part_buttons(parts: Sequence[PromiseView]) -> tuple[dict[str, str], ...]:
    return tuple({"title": _part_name(v),
                  "payload": f'/inform_place{{"place": "{v.municipality_code}/{v.districts[0]}"}}'}
                 for v in parts if v.districts)


def _short_status(view: PromiseView, language: str, today: date) -> str:
    status = view.status(today)
    sv = language == "sv"
    return {CURRENT: "gäller nu" if sv else "valid now",
            EXPIRED: "har gått ut" if sv else "ended",
            UPCOMING: "har inte börjat gälla" if sv else "not yet in force",
            UNCERTAIN: "osäkert om det gäller nu" if sv else "unclear whether it applies now",
            }[status]


def all_commitments(view: PromiseView, language: str, today: date) -> Reply:
    """Every commitment with its owner, and the problem picture."""
    sv = language == "sv"
    lines = [_heading(view, language), _status_line(view, language, today)]
    if view.problems:
        lines.append("Problembild:" if sv else "Problem picture:")
        lines.extend(f"{p.rank}. {_cap(p.text.get(language))}"
                     + (" (fokus)" if sv and p.is_focus else " (focus)" if p.is_focus else "")
                     for p in view.problems)
    if view.commitments:
        lines.append("Åtaganden:" if sv else f"Commitments{_in_swedish(view, language)}:")
    lines.extend(_commitment_line(c, language) for c in view.commitments)
    lines.extend(_gaps(view, language))
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
    parts.append(sources_line(view, language))
    return Reply("\n".join(parts))


def follow_up(view: PromiseView, language: str) -> Reply:
    """Published follow-ups, or plainly that none is registered."""
    sv = language == "sv"
    lines = []
    if view.follow_up_lead:
        lines.append(f"Uppföljningen leds av {view.follow_up_lead}." if sv
                     else f"The follow-up is led by {view.follow_up_lead}.")
    if view.follow_ups:
        lines.append("Uppföljning enligt källan:" if sv else "Follow-up according to the source:")
        for item in view.follow_ups:
            when = f"{_day(item.published_on, language)}: " if item.published_on else ""
            link = f" ({item.url})" if item.url else ""
            lines.append(f"• {when}{item.summary.get(language)}{link}")
    else:
        lines.append("Jag har ingen publicerad uppföljning registrerad för det här löftet." if sv
                     else "I have no published follow-up registered for this promise.")
    lines.append(sources_line(view, language))
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
        text += "\n" + sources_line(view, language)
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
