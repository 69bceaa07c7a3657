"""The promise for the user's area: a thin adapter from the conversation to
`bot.promises` (place resolution happens in the NLU pipeline, replies in the presenter)."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.actions import current_language
from bot.promises import presenter
from bot.promises.repository import PromiseView
from bot.promises.service import PlaceRef, PromiseService
from bot.settings import Settings


@cache
def promise_service() -> PromiseService:
    """Built on first use in the action server process, then reused for every request."""
    return PromiseService.from_settings(Settings.from_env())


def _entities(tracker: Tracker, name: str) -> list[str]:
    return [str(e.get("value")) for e in tracker.latest_message.get("entities") or []
            if e.get("entity") == name]


def municipality_label(municipality_code: str, language: str) -> str:
    """"Göteborgs kommun" / "Göteborg municipality" (the code itself when unknown)."""
    municipality = promise_service().places.municipality(municipality_code)
    name = municipality.municipality if municipality else municipality_code
    if language != "sv":
        return f"{name} municipality"
    return (municipality.full_name if municipality and municipality.full_name
            else f"{name} kommun")


class ActionPromise(Action):
    """Answers every question about the local promise, for the place named now or the
    place remembered from earlier in the conversation (the `area` slot)."""

    def name(self) -> str:
        return "action_promise"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        language = current_language(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        service = promise_service()
        if (tracker.get_slot("user_language") or "-") != "-":
            # Asked in a language the bot cannot write ("mieszkam w Malmö..."): say so, then
            # still answer for the place that was understood.
            dispatcher.utter_message(response="utter_other_language")
        named = [p for p in map(PlaceRef.parse, _entities(tracker, "place")) if p]
        options = [p for p in map(PlaceRef.parse, _entities(tracker, "place_option")) if p]
        place = named[0] if named else None
        shared = _entities(tracker, "shared_location")
        if shared:  # a shared location (NLU: SharedLocationPlacer), only approximate
            if place is None:  # not in Sweden: never fall back to an earlier area
                dispatcher.utter_message(
                    **presenter.shared_location_unplaced(language).as_message())
                return []
            full = municipality_label(place.municipality_code, language)
            dispatcher.utter_message(
                **presenter.shared_location_near(full, language).as_message())
        if place is None and options:
            choices = [(service.label(p), f"{p.municipality_code}/{p.district}" if p.district
                        else p.municipality_code) for p in options]
            dispatcher.utter_message(**presenter.choose_place(choices, language).as_message())
            return []
        place = place or PlaceRef.parse(tracker.get_slot("area"))
        if place is None:
            reply = (presenter.participate(None, language) if intent == "promise_participate"
                     else presenter.unknown_place(language) if intent == "inform_place"
                     else presenter.ask_place(language))
            dispatcher.utter_message(**reply.as_message())
            return []
        today = date.today()
        views = service.promises(place, today)
        area_value = f"{place.municipality_code}/{place.district}" if place.district \
            else place.municipality_code
        whole = [v for v in views if not v.districts]
        parts = _one_per_district([v for v in views if v.districts])
        text = tracker.latest_message.get("text") or ""
        if not views:
            reply = presenter.no_promise(service.label(place), service.police_region(place),
                                         service.local_police_area(place), language)
            others = _one_per_district(
                service.promises(PlaceRef(place.municipality_code, None), today))
            if place.district and others:  # Husie has none, but other parts of Malmö do
                dispatcher.utter_message(**reply.as_message())
                municipality = service.label(PlaceRef(place.municipality_code, None))
                reply = presenter.district_choice(municipality, None, others, language, today)
        elif place.district is None and parts and (not whole or intent in _OVERVIEW_INTENTS):
            # The municipality asked about: its own promise first, and the districts that
            # have one offered (Malmö has only district promises: they are listed).
            reply = presenter.district_choice(service.label(place), whole[0] if whole else None,
                                              parts, language, today)
        else:
            # A neighbourhood without a promise of its own gets its municipality's.
            view = (parts if place.district and parts else whole or parts)[0]
            reply = _answer(intent, view, language, today,
                            presenter.find_topic(text, service.topics))
        dispatcher.utter_message(**reply.as_message())
        return [SlotSet("area", area_value)]


# Intents that ask about the promise as a whole, where a municipality's districts are offered.
_OVERVIEW_INTENTS = frozenset({"ask_promise", "inform_place", "promise_topic", None})


def _one_per_district(views: list[PromiseView]) -> list[PromiseView]:
    """The first (most relevant) promise of each district, in the order given."""
    seen: set[tuple[str, ...]] = set()
    kept = []
    for view in views:
        if view.districts not in seen:
            seen.add(view.districts)
            kept.append(view)
    return kept


def _answer(intent: str | None, view: PromiseView, language: str, today: date,
            topic: presenter.Topic | None) -> presenter.Reply:
    """The reply to a question about one promise, by what was asked."""
    if intent == "promise_commitments":
        return presenter.all_commitments(view, language, today)
    if intent == "promise_validity":
        return presenter.validity(view, language, today)
    if intent == "promise_responsible":
        return presenter.responsible(view, language)
    if intent == "promise_followup":
        return presenter.follow_up(view, language)
    if intent == "promise_participate":
        return presenter.participate(view, language)
    return presenter.promise_summary(view, language, today, topic)
