"""Handover end to end with the real servers: the citizen is queued, the bot goes silent
and forwards every message, an emergency still gets 112, the agent's reply reaches the
citizen's own socket, and closing hands the conversation back to the bot."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import requests

from bot.handover import service
from bot.handover.rasa_link import RasaLink
from bot.storage.db import make_engine, make_session_factory
from tests.conftest import Chat, RunningSystem
from tests.test_socketio import Client


def _sessions(system: RunningSystem):  # noqa: ANN202
    return make_session_factory(make_engine(system.settings.database_url))


def _link_call(system: RunningSystem, method: str, *args: str) -> object:
    async def call() -> object:
        async with aiohttp.ClientSession() as http:
            settings = system.settings.__class__.from_env(
                {**system.stack.env}, root=system.settings.root)
            return await getattr(RasaLink(settings, lambda: http), method)(*args)
    return asyncio.run(call())


def _bot_texts(system: RunningSystem, conversation_id: str) -> list[str]:
    tracker = requests.get(f"{system.rasa_url}/conversations/{conversation_id}/tracker",
                           params={"token": system.token}, timeout=10).json()
    return [e.get("text") or "" for e in tracker["events"] if e["event"] == "bot"]


def test_asking_for_a_person_queues_and_the_bot_then_stays_silent(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    text = chat.say("jag vill prata med en människa")
    assert "i kön" in text and "avbryt" in text and "112" in text
    assert chat.send("hallå, är det någon där?") == []
    assert chat.send("mitt personnummer är 19800101-1234") == []
    with _sessions(system)() as session:
        ticket = service.status_of(session, chat.sender)
        assert ticket is not None and ticket.status == "waiting"
        lines = [m.text for m in service.messages(session, chat.sender)]
    assert "hallå, är det någon där?" in lines
    assert not any("19800101-1234" in line for line in lines), "identity numbers are masked"


def test_an_emergency_during_handover_still_gets_112(chat: Chat) -> None:
    chat.say("hej")
    chat.say("kan jag få prata med en handläggare?")
    messages = chat.send("han slår mig just nu")
    assert messages and messages[0]["text"].startswith("Ring 112")


def test_cancel_returns_to_the_assistant(chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    chat.say("jag vill prata med en person")
    assert "tillbaka hos den digitala assistenten" in chat.say("avbryt")
    assert "114 14" in chat.say("hur kontaktar jag polisen?")
    with _sessions(system)() as session:
        assert service.status_of(session, chat.sender).status == "closed"
        lines = [m.text for m in service.messages(session, chat.sender)]
    assert lines[-1] == "avbryt", "the agent's transcript shows the citizen left, and how"


def test_agent_reply_reaches_the_socket_client_and_closing_hands_back(
        system: RunningSystem) -> None:
    client = Client(system.rasa_url)
    token = client.start()
    client.say("hej", token)
    queued = client.say("jag vill prata med en människa", token)
    assert any("i kön" in t for t in queued)
    conversation_id = token.split(".")[0]
    with _sessions(system)() as session:
        ticket = service.status_of(session, conversation_id)
        service.claim(session, ticket.id, "agent-anna")
    _link_call(system, "claimed", conversation_id)
    assert _link_call(system, "deliver", conversation_id, "Hej, jag heter Anna. Hur kan jag "
                                                          "hjälpa dig?")
    pushed = _pushed_until(client, "Polisens kontaktcenter: Hej")
    assert any("har anslutit" in m.get("text", "") for m in pushed), pushed
    assert {"custom": {"handover": {"state": "active", "position": 0}},
            "metadata": {"language": "sv"}} in pushed
    agent = [m for m in pushed if m.get("text", "").startswith("Polisens kontaktcenter: Hej")]
    assert agent and agent[0]["metadata"]["agent"] is True, "the reply is marked as an agent's"
    with _sessions(system)() as session:
        service.close(session, ticket.id, "agent-anna")
    _link_call(system, "closed", conversation_id)
    assert _pushed_until(client, "Du är tillbaka")
    after = client.say("hur kontaktar jag polisen?", token)
    assert any("114 14" in t for t in after), after
    client.close()
    assert any(t.startswith("Polisens kontaktcenter:") for t in
               _bot_texts(system, conversation_id)), "agent replies are in the transcript"


def _pushed_until(client: Client, text: str) -> list[dict]:
    """What the server pushed to the citizen's window, up to the message starting `text`."""
    pushed: list[dict] = []
    while not any(m.get("text", "").startswith(text) for m in pushed):
        pushed.append(client.replies.get(timeout=15))
    return pushed


def _queued_and_claimed(system: RunningSystem) -> tuple[Client, str, int]:
    client = Client(system.rasa_url)
    token = client.start()
    client.say("hej", token)
    client.say("jag vill prata med en människa", token)
    conversation_id = token.split(".")[0]
    with _sessions(system)() as session:
        ticket = service.status_of(session, conversation_id)
        service.claim(session, ticket.id, "agent-anna")
    _link_call(system, "claimed", conversation_id)
    _pushed_until(client, "En person på polisens kontaktcenter har anslutit")
    return client, conversation_id, ticket.id


def test_a_transfer_tells_the_citizen_they_wait_again(system: RunningSystem) -> None:
    client, conversation_id, ticket_id = _queued_and_claimed(system)
    with _sessions(system)() as session:
        service.transfer(session, ticket_id, "agent-anna", "national")
        position = service.status_of(session, conversation_id).position
    _link_call(system, "transferred", conversation_id)
    pushed = _pushed_until(client, "Ditt samtal har flyttats till en annan kö")
    text = pushed[-1]["text"]
    assert f"Du är nummer {position} i kön" in text, text
    assert re.search(r"Uppskattad väntetid: (cirka 1 minut|cirka \d+ minuter|mer än en timme)\.",
                     text), text
    waiting = client.replies.get(timeout=15)
    assert waiting["custom"] == {"handover": {"state": "waiting", "position": position}}, \
        "the widget no longer says 'connected'"
    with _sessions(system)() as session:
        service.claim(session, ticket_id, "agent-bo")
    _link_call(system, "claimed", conversation_id)
    assert _pushed_until(client, "En person på polisens kontaktcenter har anslutit")
    client.close()


def test_the_staff_banner_shows_in_the_first_turn(system: RunningSystem) -> None:
    banner = "Stor händelse i Göteborg: följ polisens information på polisen.se."
    with _sessions(system)() as session:
        service.set_banner(session, banner, "boss")
    try:
        assert banner in system.chat().say("hej")
    finally:
        with _sessions(system)() as session:
            service.set_banner(session, "", "boss")
    assert banner not in system.chat().say("hej")
