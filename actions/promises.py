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
        if not views:
            reply = presenter.no_promise(service.label(place), service.police_region(place),
                                         service.local_police_area(place), language)
        elif intent == "promise_commitments":
            reply = presenter.all_commitments(views[0], language, today)
        elif intent == "promise_responsible":
            reply = presenter.responsible(views[0], language)
        elif intent == "promise_followup":
            reply = presenter.follow_up(views[0], language)
        elif intent == "promise_participate":
            reply = presenter.participate(views[0], language)
        else:
            text = tracker.latest_message.get("text") or ""
            topic = presenter.find_topic(text, service.topics)
            reply = presenter.promise_summary(views[0], language, today, topic)
        dispatcher.utter_message(**reply.as_message())
        return [SlotSet("area", area_value)]
