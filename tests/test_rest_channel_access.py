"""The REST channel is for integrations, not citizens: it needs its token, and it never
reaches a conversation of another channel (whose id a stranger may know: a Meta user id, a
web-chat id shown in the console or returned by the staff API)."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import Chat, RunningSystem
from tests.test_socketio import Client


def _post(system: RunningSystem, sender: str, message: str,
          token: str | None = None) -> requests.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return requests.post(f"{system.rasa_url}/webhooks/rest/webhook", headers=headers,
                         json={"sender": sender, "message": message}, timeout=30)


@pytest.mark.parametrize("token", [None, "", "wrong", "nöt-ascii"], ids=str)
def test_the_rest_channel_refuses_a_request_without_its_token(system: RunningSystem,
                                                              token: str | None) -> None:
    reply = _post(system, "someone", "hej", token)
    assert reply.status_code == 401
    assert "token" in reply.json()["error"]


def test_a_web_chat_conversation_cannot_be_read_or_continued_over_rest(
        system: RunningSystem) -> None:
    citizen = Client(system.rasa_url)
    session = citizen.start()
    citizen.say("jag vill lämna ett tips", session)
    conversation_id = session.split(".")[0]
    citizen.close()
    for text in ("hej", "/affirm"):
        reply = _post(system, conversation_id, text, system.rest_token)
        assert reply.status_code == 403, reply.text
        assert "another channel" in reply.json()["error"]


def test_a_conversation_a_citizen_started_elsewhere_stays_out_of_rests_reach(
        system: RunningSystem) -> None:
    """Web-chat ids from before they carried their channel are refused by their record."""
    legacy = "Zq3xLegacyWebChatId_0123"
    reply = requests.post(f"{system.rasa_url}/conversations/{legacy}/tracker/events",
                          params={"token": system.token}, timeout=10,
                          json=[{"event": "action", "name": "action_session_start"},
                                {"event": "session_started"},
                                {"event": "action", "name": "action_listen"},
                                {"event": "user", "text": "hej", "input_channel": "socketio",
                                 "parse_data": {"intent": {"name": "greet", "confidence": 1},
                                                "entities": [], "text": "hej"}}])
    assert reply.status_code == 200, reply.text
    assert _post(system, legacy, "hej", system.rest_token).status_code == 403


@pytest.mark.parametrize("sender", ["messenger:1234567890", "whatsapp:46701234567",
                                    "instagram:17841400000000000", "web:anything"])
def test_ids_of_other_channels_are_refused(system: RunningSystem, sender: str) -> None:
    assert _post(system, sender, "hej", system.rest_token).status_code == 403


def test_an_integration_with_the_token_keeps_its_own_conversation(chat: Chat) -> None:
    assert "AI" in chat.say("hej")
    assert chat.say("hur kontaktar jag polisen?")
