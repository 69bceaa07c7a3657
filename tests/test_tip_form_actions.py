"""The tip form's validation called directly with a tracker (no servers, no classifier):
what it does before an answer is read must not depend on the NLU."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.tips
from actions.tips import ValidateTipForm
from tests.test_handover_actions import domain


def _run(requested: str, text: str, intent: str = "give_tip",
         slots: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    events = [{"event": "user", "text": text, "input_channel": "rest"},
              {"event": "action", "name": "tip_form"}]
    tracker = Tracker("citizen-1", {"language": "sv", "requested_slot": requested,
                                    "tip_draft_id": "d1", "tip_what": "Klotter på skolan",
                                    **(slots or {})},
                      message, events, False, None, {"name": "tip_form"}, "tip_form")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateTipForm().run(dispatcher, tracker, domain()))
    return result, [m.get("text") or "" for m in dispatcher.messages]


def _slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture(autouse=True)
def no_pictures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    discarded: list[str] = []

    async def discard(tracker: Tracker) -> None:
        discarded.append(tracker.sender_id)

    monkeypatch.setattr(actions.tips, "discard_pictures", discard)
    return discarded


def test_an_emergency_answer_gets_112_and_is_not_stored_whatever_the_classifier_said() -> None:
    events, said = _run("tip_when", "just nu bryter någon sig in hos grannen",
                        intent="give_tip")
    assert said[0].startswith("Ring 112") and "väntar" in said[1]
    assert _slots(events) == {"tip_when": None, "requested_slot": "tip_when"}


def test_cancel_asks_first_and_keeps_everything() -> None:
    events, _ = _run("tip_where", "avbryt", intent="cancel")
    assert _slots(events) == {"tip_where": None, "tip_discard": "tip_where",
                              "requested_slot": "tip_discard"}


def test_no_to_throwing_away_goes_back_to_the_step(no_pictures: list[str]) -> None:
    events, said = _run("tip_discard", "nej", intent="deny", slots={"tip_discard": "tip_where"})
    assert _slots(events) == {"tip_discard": None, "tip_where": None,
                              "requested_slot": "tip_where"}
    assert "finns kvar" in said[0] and no_pictures == []


def test_yes_to_throwing_away_deletes_the_draft_and_its_pictures(no_pictures: list[str]) -> None:
    events, said = _run("tip_discard", "ja kasta det", intent="affirm",
                        slots={"tip_discard": "tip_confirm"})
    slots = _slots(events)
    assert slots["tip_what"] is None and slots["tip_draft_id"] is None
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    assert "skickades inte" in said[0] and no_pictures == ["citizen-1"]


def test_a_classifier_cancel_on_a_real_answer_keeps_the_answer() -> None:
    events, _ = _run("tip_where", "at the bus stop on Storgatan", intent="cancel")
    assert _slots(events)["tip_where"] == "at the bus stop on Storgatan"


def test_skicka_at_the_summary_sends_even_when_the_classifier_says_goodbye() -> None:
    events, _ = _run("tip_confirm", "skicka", intent="goodbye")
    assert _slots(events)["tip_confirm"] == "send"


def test_a_correction_at_the_summary_replaces_the_value_and_shows_the_summary_again() -> None:
    events, said = _run("tip_confirm", "nej det var i tisdags, inte igår", intent="deny",
                        slots={"tip_when": "igår"})
    assert _slots(events) == {"tip_when": "i tisdags", "tip_confirm": None,
                              "requested_slot": "tip_confirm"}
    assert "ändrat" in said[0]


def test_a_person_asked_for_mid_tip_is_left_to_the_rules() -> None:
    events, said = _run("tip_when", "jag vill prata med en människa", intent="request_human")
    assert events == [{"event": "action_execution_rejected", "name": "tip_form",
                       "policy": None, "confidence": None, "timestamp": None}]
    assert said == []


def test_an_answer_the_classifier_took_for_a_request_for_a_person_is_kept() -> None:
    events, _ = _run("tip_where", "vid kiosken bakom stationen", intent="request_human")
    assert _slots(events)["tip_where"] == "vid kiosken bakom stationen"


def test_right_now_as_the_when_answer_gets_112_even_as_a_request_for_a_person() -> None:
    events, said = _run("tip_when", "just nu, de håller på", intent="request_human")
    assert said[0].startswith("Ring 112")
    assert _slots(events) == {"tip_when": None, "requested_slot": "tip_when"}
