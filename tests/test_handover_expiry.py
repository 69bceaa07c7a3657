"""Handover across Rasa's session expiry, end to end with the real servers and the real agent
console (issue #5): a citizen silent for more than the 60-minute session expiry is still with
the person when they write again (an emergency still gets 112), and the agent's replies after
the expiry reach the web chat, or — on REST, which cannot receive anything it did not ask
for — come with the answer to the citizen's next message, as the console says. Also: pictures
sent during a handover reach the agent as a plain line.

A conversation "silent for two hours" is a real one (made through the channel) copied to a new
conversation id with every event two hours earlier: exactly what Rasa would have stored."""

from __future__ import annotations

import queue
import re
import time
import uuid
from typing import Any

import pytest
import requests

from bot.handover import accounts, service
from bot.storage.db import make_engine, make_session_factory
from tests.conftest import Chat, RunningSystem
from tests.test_socketio import Client
from tests.test_tips_store import PNG

pytestmark = pytest.mark.servers

PASSWORD = "korrekt häst batteri"
SILENT_HOURS = 2


def _db(system: RunningSystem, func: Any, *args: Any, **kwargs: Any) -> Any:
    engine = make_engine(system.settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            return func(session, *args, **kwargs)
    finally:
        engine.dispose()


def _tracker(system: RunningSystem, conversation_id: str) -> dict[str, Any]:
    reply = requests.get(f"{system.rasa_url}/conversations/{conversation_id}/tracker",
                         params={"token": system.token, "include_events": "ALL"}, timeout=10)
    reply.raise_for_status()
    return reply.json()


def _settled(system: RunningSystem, conversation_id: str, user_messages: int) -> None:
    """Wait until Rasa has stored the conversation's turns (socket.io replies arrive before
    the conversation is saved)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tracker = _tracker(system, conversation_id)
        users = sum(e["event"] == "user" for e in tracker["events"])
        if users >= user_messages and tracker.get("latest_action_name") == "action_listen":
            return
        time.sleep(0.2)
    raise AssertionError(f"conversation {conversation_id} was not stored")


def _silent_copy(system: RunningSystem, source: str, target: str, channel: str) -> Any:
    """`target` becomes `source`'s conversation as it was SILENT_HOURS ago, queued for a
    person; returns the handover ticket."""
    shift = SILENT_HOURS * 3600
    events = [{**e, "timestamp": e["timestamp"] - shift}
              for e in _tracker(system, source)["events"]]
    # Rasa takes a conversation as given only when it begins with its session start.
    start = next(i for i, e in enumerate(events) if e["event"] == "session_started")
    began = events[0]["timestamp"]
    events = [{"event": "action", "name": "action_session_start", "timestamp": began},
              {"event": "session_started", "timestamp": began}, *events[start + 1:]]
    stored = requests.post(f"{system.rasa_url}/conversations/{target}/tracker/events",
                           params={"token": system.token}, json=events, timeout=30)
    assert stored.status_code == 200, stored.text
    return _db(system, service.open_handover, target, channel, "sv", None, "request_human")


def _sessions_started(system: RunningSystem, conversation_id: str) -> int:
    return sum(e["event"] == "session_started"
               for e in _tracker(system, conversation_id)["events"])


def _lines(system: RunningSystem, conversation_id: str) -> list[str]:
    return [m.text for m in _db(system, service.messages, conversation_id)]


class Console:
    """An agent using the running web service's console, as a browser would."""

    def __init__(self, system: RunningSystem) -> None:
        self.base = f"http://127.0.0.1:{system.settings.web_port}/console"
        self.username = "agent-" + uuid.uuid4().hex[:8]
        _db(system, accounts.create_agent, self.username, PASSWORD, "agent")
        self.http = requests.Session()
        login = self.http.get(f"{self.base}/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert token, login
        reply = self.http.post(f"{self.base}/login", timeout=10, allow_redirects=False, data={
            "csrf_token": token[1], "username": self.username, "password": PASSWORD,
            "next": "/console"})
        assert reply.status_code == 303, reply.text
        page = self.http.get(self.base, timeout=10).text
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
        assert csrf, page
        self.csrf = csrf[1]

    def post(self, handover_id: int, action: str, **data: str) -> requests.Response:
        return self.http.post(f"{self.base}/conversations/{handover_id}/{action}", timeout=30,
                              data={"csrf_token": self.csrf, **data})

    def page(self, handover_id: int) -> str:
        return self.http.get(f"{self.base}/conversations/{handover_id}", timeout=10).text

    def claim(self, handover_id: int) -> None:
        assert self.post(handover_id, "claim").status_code == 200

    def reply(self, handover_id: int, text: str) -> requests.Response:
        return self.post(handover_id, "reply", text=text)


def _pushed(client: Client, timeout: float = 15) -> dict[str, Any]:
    return client.replies.get(timeout=timeout)


def _nothing_pushed(client: Client, seconds: float = 3.0) -> bool:
    try:
        client.replies.get(timeout=seconds)
    except queue.Empty:
        return True
    return False


def _wait_for_line(system: RunningSystem, conversation_id: str, line: str) -> list[str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lines = _lines(system, conversation_id)
        if line in lines:
            return lines
        time.sleep(0.2)
    raise AssertionError(f"{line!r} never reached the agent: {_lines(system, conversation_id)}")


# --- the citizen writes after the session expired ---------------------------------------------


def test_after_the_session_expired_a_waiting_citizen_still_reaches_the_person(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    assert "i kön" in chat.say("jag vill prata med en människa")
    citizen = system.chat()
    _silent_copy(system, chat.sender, citizen.sender, "rest")
    assert _sessions_started(system, citizen.sender) == 1

    assert citizen.send("hallå, är ni kvar?") == [], "the bot stays silent: a person answers"
    assert _sessions_started(system, citizen.sender) == 2, "Rasa started a new session"
    assert "hallå, är ni kvar?" in _lines(system, citizen.sender), "forwarded to the agent"
    assert citizen.send("mitt nummer är 070-123 45 67") == []

    emergency = citizen.send("han slår mig just nu")
    assert emergency and emergency[0]["text"].startswith("Ring 112")
    lines = _lines(system, citizen.sender)
    assert "[112] han slår mig just nu" in lines
    assert not any("070-123 45 67" in line for line in lines), "masked for the console"

    assert "tillbaka hos den digitala assistenten" in citizen.say("avbryt")
    assert "114 14" in citizen.say("hur kontaktar jag polisen?"), "the bot answers again"


def test_a_citizen_whose_handover_was_closed_meanwhile_gets_the_assistant(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    chat.say("jag vill prata med en person")
    citizen = system.chat()
    ticket = _silent_copy(system, chat.sender, citizen.sender, "rest")
    _db(system, service.close, ticket.id, "someone")  # the hand-back never reached Rasa
    answer = citizen.say("hur kontaktar jag polisen?")
    assert "Jag är en AI" in answer and "114 14" in answer, "welcomed and answered"


# --- the agent replies after the session expired ----------------------------------------------


def test_console_replies_after_the_session_expired_reach_the_web_chat(
        system: RunningSystem) -> None:
    first = Client(system.rasa_url)
    token = first.start()
    first.say("hej", token)
    assert any("i kön" in t for t in first.say("jag vill prata med en människa", token))
    first.close()
    source = token.split(".")[0]
    _settled(system, source, 2)

    citizen = Client(system.rasa_url)
    session = citizen.start()
    conversation = session.split(".")[0]
    ticket = _silent_copy(system, source, conversation, "socketio")
    console = Console(system)
    try:
        console.claim(ticket.id)  # the first call after the silence: a new session
        joined = _pushed(citizen)
        assert "har anslutit" in joined.get("text", ""), joined
        state = _pushed(citizen)  # Rasa's shapes: the custom payload is a message of its own
        assert state.get("custom", {}).get("handover", {}).get("state") == "active", state

        for text in ("Hej, jag heter Anna. Hur kan jag hjälpa dig?", "Är du kvar?"):
            page = console.reply(ticket.id, text)
            assert page.status_code == 200 and "Svaret är levererat." in page.text
            pushed = _pushed(citizen)
            assert pushed.get("text") == f"Polisens kontaktcenter: {text}", pushed
            assert pushed["metadata"].get("agent") is True
            assert _pushed(citizen).get("custom") == {"agent": True}

        citizen.sio.emit("user_uttered", {"message": "ja, jag är kvar", "session_id": session})
        _wait_for_line(system, conversation, "ja, jag är kvar")
        assert _nothing_pushed(citizen), "forwarded to the agent, not answered by the bot"
        assert [line.delivered for line in _db(system, service.messages, conversation)
                if line.kind == "agent"] == [True, True]
    finally:
        citizen.close()

    time.sleep(1.0)  # the server has seen the window go
    refused = console.reply(ticket.id, "Hallå?")
    assert refused.status_code == 502
    assert "chattfönster är inte anslutet" in refused.text and "Skicka igen" in refused.text
    assert [line.delivered for line in _db(system, service.messages, conversation)
            if line.kind == "agent"] == [True, True, False]


def test_on_rest_console_replies_come_with_the_answer_to_the_next_message(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    chat.say("jag vill prata med en människa")
    citizen = system.chat()
    ticket = _silent_copy(system, chat.sender, citizen.sender, "rest")
    console = Console(system)
    console.claim(ticket.id)
    assert "REST-kanalen, som inte kan ta emot meddelanden direkt" in console.page(ticket.id)
    sent = console.reply(ticket.id, "Hej, Anna här.")
    assert sent.status_code == 200
    assert "Medborgaren ser det när hen skriver nästa gång" in sent.text
    assert "Svaret är levererat." not in sent.text

    shown = [m.get("text") for m in citizen.send("hallå?") if m.get("text")]
    assert shown == ["En person på polisens kontaktcenter har anslutit till samtalet.",
                     "Polisens kontaktcenter: Hej, Anna här."], "then silence: a person answers"
    assert citizen.send("tack") == [], "shown once"
    assert "hallå?" in _lines(system, citizen.sender)


# --- pictures during a handover ---------------------------------------------------------------


def test_a_picture_during_a_handover_is_a_plain_line_for_the_agent(
        system: RunningSystem) -> None:
    from bot.tips.uploads import PictureStaging

    staging = PictureStaging.from_settings(system.settings, system.stack.env)
    client = Client(system.rasa_url)
    token = client.start()
    conversation = token.split(".")[0]
    try:
        client.say("hej", token)
        client.say("jag vill prata med en människa", token)
        staging.stage(conversation, "IMG_1.png", "image/png", PNG)  # the widget's upload
        said = "\n".join(client.say("/pictures_added", token))
        assert "kan inte se bilder här" in said and "1 bild" in said and "112" in said
        assert "tips" in said
    finally:
        client.close()
    lines = _wait_for_line(system, conversation, "[Medborgaren skickade 1 bild. Bilder tas "
                                                 "emot som en del av ett tips och visas inte "
                                                 "här.]")
    assert "/pictures_added" not in lines
    assert len(staging.staged(conversation)) == 1, "the picture waits for a tip"


def test_a_picture_payload_without_a_picture_is_not_passed_on(
        chat: Chat, system: RunningSystem) -> None:
    chat.say("hej")
    chat.say("I want to talk to a person")
    assert "I have not received any picture." in chat.say("/pictures_added")
    assert not any("bild" in line or "pictures_added" in line
                   for line in _lines(system, chat.sender))
