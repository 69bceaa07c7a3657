"""Rate limits on the public endpoints: a flood from one conversation or address is slowed
down, a busy office behind one shared address at normal use is not, an emergency never is,
and with REDIS_URL every process shares the count."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from aiohttp.test_utils import TestClient
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.rasa_rate_limit import over_limit
from bot.ratelimit import MESSAGES_PER_CONVERSATION, RateLimits
from tests.test_widget_upload import (  # noqa: F401 - fixtures
    PNG,
    TOKENS,
    cipher,
    client,
    post,
    staging_db,
)

EMERGENCY = "hjälp någon bryter sig in hos mig just nu"


def _message(text: str, sender: str, channel: str = "socketio"
             ) -> tuple[UserMessage, CollectingOutputChannel]:
    output = CollectingOutputChannel()
    return UserMessage(text, output, sender, input_channel=channel,
                       metadata={"language": "sv"}), output


async def test_a_flooding_conversation_is_slowed_down_and_told_once() -> None:
    limits, sender = RateLimits(), "web:" + uuid.uuid4().hex
    outcomes = []
    for _ in range(40):
        message, output = _message("hej", sender)
        outcomes.append(await over_limit(limits, message))
    assert outcomes[:30] == [False] * 30 and all(outcomes[30:])
    message, output = _message("hej igen", sender)
    assert await over_limit(limits, message) and output.messages == [], "told only once"


async def test_an_emergency_and_integrations_are_never_limited() -> None:
    limits, sender = RateLimits(), "messenger:" + uuid.uuid4().hex
    for _ in range(35):
        await over_limit(limits, _message("hej", sender)[0])
    assert not await over_limit(limits, _message(EMERGENCY, sender)[0])
    for _ in range(35):
        assert not await over_limit(limits, _message("hej", "bench-1", channel="rest")[0])


async def test_a_busy_office_at_normal_use_is_not_limited() -> None:
    """40 colleagues chatting at once, 10 messages each in a minute, one shared address."""
    limits = RateLimits()
    colleagues = ["web:" + uuid.uuid4().hex for _ in range(40)]
    for _ in range(10):
        for sender in colleagues:
            assert not await over_limit(limits, _message("hur kontaktar jag er?", sender)[0])


async def test_uploads_are_limited_per_conversation_not_per_office(
        client: TestClient) -> None:  # noqa: F811
    tokens = [TOKENS.issue("web:" + uuid.uuid4().hex) for _ in range(40)]
    for token in tokens:  # 40 colleagues, 4 pictures each, from one address
        for _ in range(4):
            status, body = await post(client, token, PNG)
            assert status == 200, body
    flood: list[tuple[int, Any]] = [await post(client, tokens[0], PNG) for _ in range(20)]
    assert flood[-1][0] == 429 and flood[-1][1]["error"] == "rate"


def test_with_redis_every_process_shares_the_count() -> None:
    first, second = (RateLimits("redis://127.0.0.1:6379/0") for _ in range(2))
    key = "test-" + uuid.uuid4().hex
    hits = [limits.hit(MESSAGES_PER_CONVERSATION, "messages", key)
            for limits in (first, second) * 16]
    assert hits.count(True) == 30 and hits[-1] is False


def test_a_failing_store_lets_requests_through() -> None:
    assert RateLimits("redis://127.0.0.1:1/0").hit(MESSAGES_PER_CONVERSATION, "x")


def test_only_reports_that_would_be_stored_count_against_an_address(tmp_path: Any) -> None:
    from bot.ratelimit import FEEDBACK_PER_ADDRESS
    from bot.settings import Settings
    from bot.web.keys import RATE_LIMITS
    from tests.test_widget_browser import ServedApp, widget_app

    app = widget_app(Settings.from_env({"RASA_PORT": "5999"}, root=tmp_path),
                     tmp_path / "var" / "feedback.jsonl")
    app[RATE_LIMITS] = RateLimits.from_redis_url("")  # in memory, this app only
    with ServedApp(app) as served:
        def send(message: str) -> int:
            return requests.post(served.url + "/tillganglighet/feedback", timeout=5,
                                 data={"message": message}, allow_redirects=False).status_code

        assert {send("") for _ in range(30)} == {400}, "a form with an error costs nothing"
        allowed = FEEDBACK_PER_ADDRESS.amount
        assert [send(f"rapport {n}") for n in range(allowed)] == [303] * allowed
        assert send("en till") == 429
