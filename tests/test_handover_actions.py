"""The custom actions behind handover and tips, called directly with a tracker (no servers):
a new session resumes a handover, a picture during handover is a line for the agent, and a
shared location answers the tip form's "where?"."""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.actions
import actions.handover
from actions.actions import ActionSessionStart
from actions.handover import ActionHandoverEmergency, ValidateHandoverForm
from actions.tips import ValidateTipForm

DOMAIN_FILE = Path(__file__).resolve().parents[1] / "domain.yml"


@cache
def domain() -> dict[str, Any]:
    return yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))


def tracker(slots: dict[str, Any] | None = None, text: str = "", intent: str = "greet",
            entities: list[dict[str, Any]] | None = None,
            metadata: dict[str, Any] | None = None, active_loop: str | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0},
               "entities": entities or [], "metadata": metadata or {}}
    return Tracker("citizen-1", {"language": "sv", **(slots or {})}, message,
                   [{"event": "user", "text": text, "input_channel": "whatsapp"}], False, None,
                   {"name": active_loop} if active_loop else {}, "action_listen")


class FakeDesk:
    def __init__(self, state: str | None) -> None:
        self.state = state
        self.forwarded: list[str] = []

    def handover_state(self, conversation_id: str) -> str | None:
        return self.state

    def banner(self) -> str | None:
        return None

    def forward(self, conversation_id: str, text: str) -> None:
        self.forwarded.append(text)


@pytest.fixture
def desk(monkeypatch: pytest.MonkeyPatch) -> FakeDesk:
    fake = FakeDesk("active")
    monkeypatch.setattr(actions.actions, "desk", lambda: fake)
    monkeypatch.setattr(actions.handover, "desk", lambda: fake)
    return fake


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# --- a new session (Rasa's 60-minute expiry) ---------------------------------------------------


def test_a_new_session_during_a_handover_is_silent_and_resumes_the_form(desk: FakeDesk) -> None:
    dispatcher = CollectingDispatcher()
    events = run(ActionSessionStart().run(
        dispatcher, tracker({"handover": "active", "requested_slot": "handover_message"}),
        domain()))
    assert dispatcher.messages == [], "no welcome while a person has the conversation"
    kinds = [(e["event"], e.get("name"), e.get("value")) for e in events]
    assert kinds[0][0] == "session_started" and kinds[-1] == ("action", "action_listen", None)
    assert ("active_loop", "handover_form", None) in kinds
    last_request = max(i for i, k in enumerate(kinds) if k[:2] == ("slot", "requested_slot"))
    assert kinds[last_request][2] == "handover_message"
    assert kinds.index(("active_loop", "handover_form", None)) < last_request
    assert ("slot", "handover", "active") in kinds


def test_a_new_session_after_the_handover_ended_welcomes_and_drops_its_traces(
        desk: FakeDesk) -> None:
    desk.state = None
    dispatcher = CollectingDispatcher()
    events = run(ActionSessionStart().run(
        dispatcher, tracker({"handover": "active", "requested_slot": "handover_message"}),
        domain()))
    assert "Jag är en AI" in dispatcher.messages[0]["text"]
    assert not any(e["event"] == "active_loop" for e in events)
    final = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert final["handover"] is None and final["requested_slot"] is None


# --- pictures during a handover ----------------------------------------------------------------


def _validate_handover(desk: FakeDesk, value: str, **kwargs: Any) -> CollectingDispatcher:
    dispatcher = CollectingDispatcher()
    result = run(ValidateHandoverForm().validate_handover_message(
        value, dispatcher, tracker(text=value, **kwargs), domain()))
    assert result == {"handover_message": None}
    return dispatcher


def test_a_picture_with_a_caption_reaches_the_agent_as_caption_and_line(
        desk: FakeDesk) -> None:
    attachments = [{"content_type": "image/png", "size": 70, "sha256": "x"}] * 2
    dispatcher = _validate_handover(desk, "så här ser bilen ut", intent="out_of_scope",
                                    metadata={"attachments": attachments})
    assert desk.forwarded == [
        "så här ser bilen ut",
        "[Medborgaren skickade 2 bilder. Bilder tas emot som en del av ett tips och visas "
        "inte här.]"]
    [said] = dispatcher.messages
    assert "kan inte se bilder" in said["text"] and "2 bilder" in said["text"]
    assert "Vid nödläge: ring 112." in said["text"]


def test_a_picture_without_text_counts_what_the_web_chat_staged(
        desk: FakeDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    async def staged(_: Tracker) -> int:
        return 1

    monkeypatch.setattr(actions.handover, "staged_pictures", staged)
    dispatcher = _validate_handover(desk, "/pictures_added", intent="pictures_added",
                                    slots={"language": "en"})
    assert desk.forwarded == ["[Medborgaren skickade 1 bild. Bilder tas emot som en del av ett "
                              "tips och visas inte här.]"]
    [said] = dispatcher.messages
    assert said["text"].startswith("The person at the contact centre cannot see pictures")
    assert "1 picture" in said["text"] and "call 112" in said["text"]


def test_plain_text_during_a_handover_is_forwarded_silently(desk: FakeDesk) -> None:
    assert _validate_handover(desk, "hallå?").messages == []
    assert desk.forwarded == ["hallå?"]


def test_an_emergency_with_a_picture_reaches_the_agent_both_lines(desk: FakeDesk) -> None:
    """The citizen's 112 answer comes from Rasa before this action (data/rules.yml), so it
    never waits for the action server; the action only tells the agent."""
    dispatcher = CollectingDispatcher()
    run(ActionHandoverEmergency().run(dispatcher, tracker(
        text="han har en kniv", intent="emergency",
        metadata={"attachments": [{"content_type": "image/jpeg", "size": 9, "sha256": "y"}]}),
        domain()))
    assert dispatcher.messages == []
    assert desk.forwarded == ["[112] han har en kniv", "[Medborgaren skickade 1 bild. Bilder "
                              "tas emot som en del av ett tips och visas inte här.]"]


# --- a shared location answers "where?" in the tip form ---------------------------------------


def _where(value: str, language: str = "sv", code: str | None = None,
           text_entities: list[dict[str, Any]] | None = None
           ) -> tuple[dict[str, Any], CollectingDispatcher]:
    entities = list(text_entities or [])
    if code is not None:
        entities.append({"entity": "shared_location", "value": code})
        if code != "none":
            entities.append({"entity": "place", "value": code})
    dispatcher = CollectingDispatcher()
    slots = {"language": language, "requested_slot": "tip_where"}
    result = ValidateTipForm().validate_tip_where(
        value, dispatcher, tracker(slots, text=value, intent="inform_place", entities=entities,
                                   active_loop="tip_form"), domain())
    return result, dispatcher


def test_a_shared_location_fills_where_and_the_area() -> None:
    result, dispatcher = _where("", code="1480")
    assert result == {"tip_where": "Delad plats: i eller nära Göteborgs kommun", "area": "1480"}
    assert [m["text"] for m in dispatcher.messages] == [
        "Platsen du delade ligger i eller nära Göteborgs kommun."]
    result, _ = _where("", language="en", code="1480")
    assert result["tip_where"] == "Shared location: in or near Göteborg municipality"


def test_a_shared_location_outside_sweden_is_explained_and_asked_again() -> None:
    result, dispatcher = _where("", code="none")
    assert result == {"tip_where": None}
    assert "kunde inte placera platsen" in dispatcher.messages[0]["text"]


def test_a_typed_place_is_still_the_citizens_own_words() -> None:
    result, dispatcher = _where("vid Brunnsparken i Göteborg",
                                text_entities=[{"entity": "place", "value": "1480"}])
    assert result == {"tip_where": "vid Brunnsparken i Göteborg"}
    assert dispatcher.messages == []
    assert _where("-")[0] == {"tip_where": "-"}


# --- REST: what the contact centre sent waits for the citizen's next message -----------------


def test_rest_shows_what_came_after_the_answer_to_the_citizens_last_message() -> None:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.channels.rest import waiting_messages
    from bot.channels.waiting import WaitingConversations

    def state(*events: Any) -> DialogueStateTracker:
        return DialogueStateTracker.from_events("c", list(events))

    listen = ActionExecuted("action_listen")
    turn = [UserUttered("jag vill prata med en person"), ActionExecuted("action_handover_start"),
            BotUttered("Du är nummer 1 i kön."), listen]
    pushed = [ActionExecuted("action_handover_claimed"), BotUttered("En person har anslutit."),
              listen, ActionExecuted("action_relay_agent_message"),
              BotUttered("Polisens kontaktcenter: Hej", data={"custom": {"agent": True}}),
              listen]
    found = waiting_messages(state(listen, *turn, *pushed))
    assert [e.text for e in found or []] == ["En person har anslutit.",
                                             "Polisens kontaktcenter: Hej"]
    assert waiting_messages(state(listen, *turn)) == [], "the answer itself is not repeated"
    assert waiting_messages(state(SessionStarted(), listen, *pushed)) is None, \
        "no citizen message in this session: look further back"

    waiting = WaitingConversations(size=2)
    for conversation in ("a", "b", "c"):
        asyncio.run(waiting.add(conversation))
    assert "a" not in waiting, "the oldest is forgotten beyond the bound"
    assert asyncio.run(waiting.take("b")) and not asyncio.run(waiting.take("b"))
