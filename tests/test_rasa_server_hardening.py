"""The Rasa server as the launcher runs it: its token is not on the command line, `/version`
needs it, and CORS answers only the allowed origins."""

from __future__ import annotations

import requests

from bot.rasa_server import with_token
from tests.conftest import RunningSystem


def test_the_token_is_added_inside_the_process_not_on_the_command_line(
        system: RunningSystem) -> None:
    process = system.stack.service("rasa").process
    assert process is not None
    with open(f"/proc/{process.pid}/cmdline", "rb") as cmdline:
        assert system.token.encode() not in cmdline.read()
    assert with_token(["rasa", "run", "--port", "1"], "t")[-1] == "--auth-token=t"
    assert with_token(["rasa", "run"], "-dash-first")[-1] == "--auth-token=-dash-first", \
        "a token that begins with '-' must not read as an option"
    assert with_token(["rasa", "train"], "t") == ["rasa", "train"]


def test_version_needs_the_token(system: RunningSystem) -> None:
    assert requests.get(f"{system.rasa_url}/version", timeout=10).status_code == 401
    reply = requests.get(f"{system.rasa_url}/version", params={"token": system.token},
                         timeout=10)
    assert reply.status_code == 200 and reply.json()["version"]


def test_rasa_does_not_reflect_a_foreign_origin(system: RunningSystem) -> None:
    own = f"http://127.0.0.1:{system.settings.web_port}"
    for path in ("/webhooks/rest/webhook", "/status", "/socket.io/?EIO=4&transport=polling"):
        foreign = requests.options(f"{system.rasa_url}{path}", timeout=10, headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert foreign.headers.get("Access-Control-Allow-Origin") in (None, ""), path
    allowed = requests.options(f"{system.rasa_url}/webhooks/rest/webhook", timeout=10, headers={
        "Origin": own, "Access-Control-Request-Method": "POST"})
    assert allowed.headers.get("Access-Control-Allow-Origin") == own
