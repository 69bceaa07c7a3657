"""The socket.io channel end to end: replies reach the client (the stock channel's
un-awaited enter_room loses them), and sessions are the server's to give."""

from __future__ import annotations

import queue
from types import SimpleNamespace
from typing import Any

import pytest
import requests
import socketio

from bot.channels.session_token import SessionTokens
from bot.channels.socketio import NotConnected, SecureSocketIOInput, SocketOutput, reply_language
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
            # The web chat's transport (widget/src): WebSocket only.
            self.sio.connect(self.url, transports=["websocket"], socketio_path="/socket.io")
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

    def replies_to(self, text: str, session_id: str, language: str = "sv"
                   ) -> list[dict[str, Any]]:
        """Every bot_uttered of one turn, whole (as the widget sends: with its language)."""
        self.sio.emit("user_uttered", {"message": text, "session_id": session_id,
                                       "metadata": {"language": language}})
        replies = [self.replies.get(timeout=30)]
        while True:
            try:
                replies.append(self.replies.get(timeout=1.5))
            except queue.Empty:
                return replies

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
    assert resumed == token, "the same token: rasa-webchat compares it with the stored one"
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


def _language(reply: dict[str, Any]) -> str | None:
    return (reply.get("metadata") or {}).get("language")


RASA_KEYS = {"text", "quick_replies", "buttons", "attachment", "custom", "metadata"}


def test_every_reply_says_the_language_it_is_written_in(system: RunningSystem) -> None:
    """`metadata.language` on each bot_uttered, so the widget marks English replies on a
    Swedish page, and nothing outside Rasa's shapes (rasa-webchat drops such messages)."""
    client = Client(system.rasa_url)
    token = client.start()
    swedish = client.replies_to("hej", token)
    assert swedish and {_language(r) for r in swedish} == {"sv"}, swedish
    english = client.replies_to("hello, what can you help me with?", token)
    assert {_language(r) for r in english} == {"en"}, english
    assert any("help" in r.get("text", "").lower() for r in english)
    assert all(set(r) <= RASA_KEYS for r in swedish + english), swedish + english
    client.close()
    again = Client(system.rasa_url)
    resumed = again.start(token)
    kept = again.replies_to("ok", resumed)  # no evidence: the conversation stays English
    again.close()
    assert {_language(r) for r in kept} == {"en"}, kept


def test_a_reply_names_its_language_by_metadata_or_by_its_response_variant() -> None:
    assert reply_language({"text": "Hi", "language": "en-GB"}) == "en"
    english_variant = {"text": "Hi", "utter_action": "utter_greet",
                       "condition": [{"type": "slot", "name": "language", "value": "en"}]}
    assert reply_language(english_variant) == "en"
    assert reply_language({"text": "Hej", "utter_action": "utter_greet"}) is None
    assert reply_language({"text": "x", "language": "fi", "condition": "garbage"}) is None


class FakeSio:
    def __init__(self, rooms: dict[str, list[str]] | None = None) -> None:
        self.sent: list[Any] = []
        rooms = rooms or {}
        self.manager = SimpleNamespace(
            get_participants=lambda namespace, room: iter(
                (sid, sid) for sid in rooms.get(room, []) if namespace == "/"))

    async def emit(self, event: str, data: Any, room: str | None = None) -> None:
        self.sent.append(data)


class FakeTrackers:
    def __init__(self, slots: dict[str, dict[str, Any]]) -> None:
        self.slots = slots
        self.asked: list[str] = []

    async def retrieve(self, sender_id: str) -> Any:
        self.asked.append(sender_id)
        if sender_id not in self.slots:
            return None
        return SimpleNamespace(get_slot=self.slots[sender_id].get)


async def test_every_message_of_a_reply_carries_its_language_in_metadata_and_custom_goes_alone(
        ) -> None:
    channel = SecureSocketIOInput(SessionTokens(b"k"), [])
    trackers = FakeTrackers({"known": {"language": "en"}})
    channel.app = SimpleNamespace(ctx=SimpleNamespace(agent=SimpleNamespace(
        tracker_store=trackers)))
    sio = FakeSio()
    output = SocketOutput(sio, "bot_uttered", channel.language_of)  # type: ignore[arg-type]
    await output.send_response("known", {"text": "One.\n\nTwo."})  # split in two
    await output.send_response("known", {"text": "Pick", "buttons": [
        {"title": "A", "payload": "/a"}], "custom": {"upload": {"max_files": 4}}})
    await output.send_response("known", {"text": "Hej", "language": "sv",
                                         "custom": {"agent": True}})
    await output.send_response("new", {"custom": {"handover": {"state": "active"}}})
    english = {"language": "en"}
    assert sio.sent == [
        {"text": "One.", "metadata": english},
        {"text": "Two.", "metadata": english},
        {"text": "Pick", "quick_replies": [{"content_type": "text", "title": "A",
                                            "payload": "/a"}], "metadata": english},
        {"custom": {"upload": {"max_files": 4}}, "metadata": english},
        {"text": "Hej", "metadata": {"language": "sv", "agent": True}},
        {"custom": {"agent": True}, "metadata": {"language": "sv", "agent": True}},
        {"custom": {"handover": {"state": "active"}}},
    ]
    await output.send_response("known", {"text": "Again"})
    assert trackers.asked == ["known", "new"], "a known language is remembered"

    # A turn: the text's language, else the conversation's, else the channel's metadata.
    assert await channel._turn_language("known", "ok", {"language": "sv"}) == "en"
    assert await channel._turn_language("known", "hej hur mår du", {}) == "sv"
    assert await channel._turn_language("known", "/give_tip", {"language": "en"}) == "sv"
    assert await channel._turn_language("fresh", "112", {"language": "en"}) == "en"
    channel.app = None  # no tracker store: nothing breaks
    assert await channel._turn_language("other", "ok", {}) == "sv"


async def test_an_agents_reply_to_a_conversation_without_a_window_is_refused() -> None:
    sio = FakeSio({"open": ["sid-1"]})
    api = SocketOutput(sio, "bot_uttered", agent_needs_listener=True)  # type: ignore[arg-type]
    agent = {"text": "Polisens kontaktcenter: Hej", "custom": {"agent": True}}
    await api.send_response("open", agent)
    with pytest.raises(NotConnected) as refused:
        await api.send_response("closed", agent)
    assert "Hej" not in str(refused.value), "the error never quotes the reply"
    # The bot's own messages (an agent joined, back with the assistant) are not refused,
    # and a citizen's own turn never is.
    await api.send_response("closed", {"text": "En person har anslutit",
                                       "custom": {"handover": {"state": "active"}}})
    turn = SocketOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    await turn.send_response("closed", agent)
    assert [m["text"] for m in sio.sent if "text" in m] == [
        "Polisens kontaktcenter: Hej", "En person har anslutit", "Polisens kontaktcenter: Hej"]


def test_long_polling_answers_carry_each_cors_header_once(system: RunningSystem) -> None:
    """Browsers refuse an answer with two Access-Control-Allow-Origin headers, and
    rasa-webchat starts with long polling: the Rasa server's CORS alone answers them."""
    page = f"http://127.0.0.1:{system.settings.web_port}"  # an allowed origin (CORS_ORIGINS)
    reply = requests.get(f"{system.rasa_url}/socket.io/",
                         params={"EIO": "4", "transport": "polling"},
                         headers={"Origin": page}, timeout=10)
    assert reply.status_code == 200 and reply.text.startswith("0{")
    headers = reply.raw.headers
    assert headers.getlist("Access-Control-Allow-Origin") in (["*"], [page])
    assert len(headers.getlist("Access-Control-Allow-Credentials")) <= 1


def test_a_page_on_another_origin_cannot_connect() -> None:
    channel = SecureSocketIOInput(SessionTokens(b"k"), ["https://polisen.se"])
    assert channel.origin_allowed("https://polisen.se")
    assert channel.origin_allowed(None), "not a browser: no Origin header"
    assert not channel.origin_allowed("https://evil.example")
    assert SecureSocketIOInput(SessionTokens(b"k"), ["*"]).origin_allowed("https://x.example")


def test_an_empty_message_gets_a_clear_answer_not_a_guess(system: RunningSystem) -> None:
    client = Client(system.rasa_url)
    token = client.start()
    for empty in ("", "   ", None, "\n\t"):
        client.sio.emit("user_uttered", {"session_id": token, "message": empty,
                                         "customData": {"language": "sv"}})
        reply = client.replies.get(timeout=30)
        assert reply["text"].startswith("Jag fick inget meddelande"), reply
        assert "Menade du" not in reply["text"]
    client.close()
    english = Client(system.rasa_url)
    english_token = english.start()
    english.sio.emit("user_uttered", {"session_id": english_token,
                                      "customData": {"language": "en"}})
    assert english.replies.get(timeout=30)["text"].startswith("I did not get a message")
    english.close()
    assert [e for e in _events(system, token.split(".")[0]) if e["event"] == "user"] == [], \
        "nothing reached the bot"
