"""The socket.io channel end to end: replies reach the client (the stock channel's
un-awaited enter_room loses them), and sessions are the server's to give."""

from __future__ import annotations

import queue
from typing import Any

import requests
import socketio

from tests.conftest import RunningSystem


class Client:
    """A standard socket.io chat client, as a widget would use it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sio = socketio.Client(reconnection=False)
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.confirms: queue.Queue[Any] = queue.Queue()
        self.sio.on("bot_uttered", self.replies.put)
        self.sio.on("session_confirm", self.confirms.put)

    def start(self, session_id: str | None = None) -> str:
        if not self.sio.connected:
            self.sio.connect(self.url, transports=["polling"], socketio_path="/socket.io")
        self.sio.emit("session_request", {"session_id": session_id})
        return self.confirms.get(timeout=15)

    def say(self, text: str, session_id: str) -> list[str]:
        self.sio.emit("user_uttered", {"message": text, "session_id": session_id})
        texts = [self.replies.get(timeout=30).get("text", "")]
        while True:
            try:
                texts.append(self.replies.get(timeout=1.5).get("text", ""))
            except queue.Empty:
                return texts

    def close(self) -> None:
        self.sio.disconnect()


def _events(system: RunningSystem, conversation_id: str) -> list[dict[str, Any]]:
    reply = requests.get(f"{system.rasa_url}/conversations/{conversation_id}/tracker",
                         params={"token": system.token}, timeout=10)
    return reply.json()["events"]


def test_bot_replies_reach_the_socket_client(system: RunningSystem) -> None:
    client = Client(system.rasa_url)
    token = client.start()
    texts = client.say("hur kontaktar jag polisen?", token)
    client.close()
    assert any("AI" in t for t in texts), "the welcome must arrive"
    assert any("114 14" in t for t in texts), "the answer must arrive"


def test_a_reload_with_the_token_resumes_the_same_conversation(
        system: RunningSystem) -> None:
    first = Client(system.rasa_url)
    token = first.start()
    first.say("hej", token)
    first.close()
    second = Client(system.rasa_url)
    resumed = second.start(token)
    texts = second.say("tack", resumed)
    second.close()
    assert resumed.split(".")[0] == token.split(".")[0]
    assert not any("Jag är en AI" in t for t in texts), "same session: no second welcome"
    conversation_id = token.split(".")[0]
    user_texts = [e.get("text") for e in _events(system, conversation_id) if e["event"] == "user"]
    assert user_texts == ["hej", "tack"]


def test_a_forged_session_id_cannot_join_someone_elses_conversation(
        system: RunningSystem) -> None:
    victim = Client(system.rasa_url)
    token = victim.start()
    victim.say("hej", token)
    attacker = Client(system.rasa_url)
    conversation_id = token.split(".")[0]
    given = attacker.start(conversation_id)           # the bare id, no valid signature
    forged = attacker.start(conversation_id + ".9999999999.forged")
    assert given.split(".")[0] != conversation_id
    assert forged.split(".")[0] != conversation_id
    attacker.say("hej", forged)
    attacker.close()
    victim.close()
    assert [e.get("text") for e in _events(system, conversation_id)
            if e["event"] == "user"] == ["hej"]
