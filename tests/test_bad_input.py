"""Bad input gets a clear answer over the real REST channel: never an exception or a 500."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import Chat, RunningSystem

ODD_MESSAGES = {
    "empty": "", "whitespace": "   ", "newline and tab": "\n\t", "null": None,
    "emoji only": "🙂🙂🙂", "one emoji": "🚓", "script tag": "<script>alert(1)</script>",
    "html": "<b>hej</b>", "control bytes": "\x00\x01\x02binary\xff\xfe",
    "20 000 characters": "ä" * 20_000, "20 000 characters of words": "hej " * 5_000,
    "a lone slash": "/", "two slashes": "//", "braces": "{}",
    "payload with entities": '/give_tip{"language": "xx"}',
    "unknown intent payload": "/nonexistent_intent", "sql": "'; DROP TABLE events; --",
}


@pytest.mark.parametrize("message", ODD_MESSAGES.values(), ids=ODD_MESSAGES.keys())
def test_odd_messages_get_a_sensible_reply(chat: Chat, message: object) -> None:
    messages = chat.send(message)
    assert messages, "the citizen must always get an answer"
    assert all(m.get("text") for m in messages)


def test_empty_message_is_asked_to_be_rephrased(chat: Chat) -> None:
    chat.say("hej")
    assert "annat sätt" in chat.say("   ") or "alternativen" in chat.say("   ")


def test_html_comes_back_as_plain_text_not_markup(chat: Chat) -> None:
    for message in chat.send("<img src=x onerror=alert(1)>"):
        assert "<img" not in message["text"]


def test_forged_payload_cannot_set_slots(chat: Chat, system: RunningSystem) -> None:
    chat.send('/greet{"language": "en"}')
    tracker = requests.get(f"{system.rasa_url}/conversations/{chat.sender}/tracker",
                           params={"token": system.token}, timeout=10).json()
    assert tracker["slots"]["language"] == "sv"


def test_an_emergency_after_20000_characters_of_noise_is_still_answered(chat: Chat) -> None:
    assert "112" in chat.say("jag blir slagen just nu " + "x" * 20_000)


@pytest.mark.parametrize(("body", "status"), ids=lambda v: str(v)[:30], argvalues=[
    (b"not json", 400), (b"[1, 2, 3]", 400), (b'"text"', 400), (b"{}", 400),
    (b'{"sender": "", "message": "hej"}', 400), (b'{"sender": {"a": 1}, "message": "hej"}', 400),
    (b'{"sender": "abc", "message": 42}', 400), (b'{"sender": "abc", "message": ["x"]}', 400),
    (b"\xff\xfe\x00garbage", 400), (b'{"sender": "' + b"x" * 600_000 + b'"}', 413),
])
def test_malformed_requests_get_a_json_error(system: RunningSystem, body: bytes,
                                             status: int) -> None:
    reply = requests.post(f"{system.rasa_url}/webhooks/rest/webhook", data=body,
                          headers={"Content-Type": "application/json",
                                   "Authorization": f"Bearer {system.rest_token}"}, timeout=10)
    assert reply.status_code == status
    assert reply.json()["error"]


def test_rasa_http_api_needs_the_token(system: RunningSystem) -> None:
    reply = requests.get(f"{system.rasa_url}/conversations/x/tracker", timeout=10)
    assert reply.status_code == 401
    assert requests.get(f"{system.rasa_url}/status", params={"token": "wrong"},
                        timeout=10).status_code == 401
