"""Malformed input anywhere gets a clear 400, 401 or 413, never a 500: deeply nested JSON,
bodies that are not UTF-8, truncated multipart forms, tokens with non-ASCII characters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from aiohttp.test_utils import TestClient

from bot.channels.meta.channels import InstagramInput, MessengerInput, WhatsAppInput
from bot.channels.meta.signature import sign
from bot.channels.session_token import SessionTokens
from bot.launcher import free_port
from bot.settings import Settings
from bot.storage.migrate import upgrade
from bot.web.app import create_app
from tests.conftest import RunningSystem
from tests.test_meta_channels import (  # noqa: F401 - fixtures
    SECRET,
    ChannelFactory,
    Recorder,
    database,
    graph,
    make_channel,
    settings,
)
from tests.test_socketio import Client

NESTED = b'{"a": ' * 100_000 + b"1" + b"}" * 100_000
NOT_UTF8 = b"message=\xff\xfe\xfd&where=x"
TRUNCATED = b'--xx\r\nContent-Disposition: form-data; name="message"\r\n\r\nhej'


@pytest.fixture
async def web(tmp_path: Path, aiohttp_client: Any) -> TestClient:
    config = Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path}/web.db",
                                "SESSION_SECRET": "s" * 32, "RASA_PORT": str(free_port()),
                                "ACTIONS_PORT": str(free_port())})
    upgrade(config.database_url)
    return await aiohttp_client(create_app(config))


def test_deeply_nested_json_on_rest_is_a_400(system: RunningSystem) -> None:
    reply = requests.post(f"{system.rasa_url}/webhooks/rest/webhook", data=NESTED, timeout=30,
                          headers={"Authorization": f"Bearer {system.rest_token}",
                                   "Content-Type": "application/json"})
    assert reply.status_code in (400, 413)
    assert reply.json()["error"]


@pytest.mark.parametrize("cls", [MessengerInput, InstagramInput, WhatsAppInput])
async def test_deeply_nested_json_on_a_signed_meta_webhook_is_a_400(
        make_channel: ChannelFactory, cls: type) -> None:  # noqa: F811 - the fixture
    channel, recorder = make_channel(cls), Recorder()
    nested = b'{"a": ' * 50_000 + b"1" + b"}" * 50_000
    assert channel.accept(nested, sign(SECRET, nested), recorder) == 400
    await channel.drain(10)
    assert recorder.messages == []


def test_a_session_token_with_non_ascii_characters_is_simply_not_valid() -> None:
    tokens = SessionTokens(b"k" * 32)
    assert tokens.verify("åäö.123.abc") is None
    assert tokens.verify("web:x.9999999999.ñ") is None


def test_a_non_ascii_session_token_on_socketio_still_gets_a_new_session(
        system: RunningSystem) -> None:
    client = Client(system.rasa_url)
    token = client.start("åäö.123.signatur")
    client.close()
    assert token.startswith("web:")


async def test_a_non_ascii_bearer_token_on_the_upload_is_a_401(web: TestClient) -> None:
    reply = await web.post("/widget/upload", data=b"x",
                           headers={"Authorization": "Bearer åäö.1.x".encode().decode("latin-1"),
                                    "Content-Type": "image/png"})
    assert reply.status == 401


@pytest.mark.parametrize("path", ["/console/login", "/tillganglighet/feedback"])
@pytest.mark.parametrize(("body", "content_type"), [
    (NOT_UTF8, "application/x-www-form-urlencoded"),
    (TRUNCATED, "multipart/form-data; boundary=xx"),
    (b"garbage", "multipart/form-data"),
    (b"a=1", "application/x-www-form-urlencoded; charset=no-such-charset"),
], ids=["not utf-8", "truncated multipart", "no boundary", "unknown charset"])
async def test_a_form_that_cannot_be_read_is_a_400(web: TestClient, path: str, body: bytes,
                                                  content_type: str) -> None:
    reply = await web.post(path, data=body, headers={"Content-Type": content_type})
    assert reply.status == 400
    assert "could not be read" in await reply.text()
