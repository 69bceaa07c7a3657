"""Bounded fuzz passes: the channel parsers never raise on anything, and the public
endpoints (the staff API of docs/openapi.yaml, the web chat's upload, the forms, the REST
channel) never answer 500, whatever the body, headers, token or path."""

from __future__ import annotations

import json
import string
import uuid
from typing import Any

import pytest
import requests
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.channels.hygiene import clean_metadata, clean_sender, clean_text
from bot.channels.meta.parse import WEBHOOK_OBJECT, Platform, parse_webhook
from bot.channels.session_token import SessionTokens
from bot.settings import PROJECT_ROOT
from bot.storage.db import make_engine
from bot.tips.tokens import create_token
from tests.conftest import RunningSystem

FAST = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
OVER_HTTP = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
META_KEYS = ["object", "entry", "messaging", "changes", "field", "value", "messages", "sender",
             "id", "message", "mid", "text", "quick_reply", "payload", "attachments", "type",
             "postback", "title", "from", "is_echo", "location", "latitude", "longitude",
             "image", "interactive", "button_reply", "statuses", "contacts", "url", "locale"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                    st.text(max_size=40), st.sampled_from(list(WEBHOOK_OBJECT.values())))
json_like = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(META_KEYS) | st.text(max_size=8),
                                            inner, max_size=5)),
    max_leaves=40)
anything = st.one_of(json_like, st.binary(max_size=40), st.tuples(st.integers()))
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255,
                                             blacklist_characters="\x7f"), max_size=60)


@FAST
@given(platform=st.sampled_from(list(Platform)), body=json_like)
def test_meta_payloads_never_break_the_parser(platform: Platform, body: Any) -> None:
    for event in parse_webhook(platform, body):
        assert event.sender_id.startswith(f"{platform.value}:")


@FAST
@given(raw=anything, metadata=anything)
def test_channel_hygiene_accepts_anything(raw: Any, metadata: Any) -> None:
    message = clean_text(raw)
    assert len(message.text) <= 5000
    sender = clean_sender(raw)
    assert sender is None or 0 < len(sender) <= 128
    assert set(clean_metadata(metadata, message.text)) <= {"language"}


@FAST
@given(token=st.one_of(st.text(max_size=220), anything))
def test_session_tokens_never_raise(token: Any) -> None:
    assert SessionTokens(b"k" * 32).verify(token) is None


def _openapi_paths() -> list[tuple[str, str]]:
    spec = yaml.safe_load((PROJECT_ROOT / "docs" / "openapi.yaml").read_text(encoding="utf-8"))
    return [(method.upper(), path) for path, item in spec["paths"].items()
            for method in item if method in ("get", "post", "put", "delete", "patch")]


PUBLIC = [("POST", "/widget/upload"), ("OPTIONS", "/widget/upload"),
          ("POST", "/tillganglighet/feedback"), ("POST", "/console/login"),
          ("GET", "/api/handovers"), ("GET", "/widget/banner")]


@pytest.mark.parametrize(("method", "path"), _openapi_paths() + PUBLIC,
                         ids=lambda v: str(v))
def test_the_web_service_never_answers_500(system: RunningSystem, method: str,
                                           path: str) -> None:
    base = f"http://127.0.0.1:{system.settings.web_port}"
    seen: list[int] = []
    engine = make_engine(system.settings.database_url)
    # a real staff token too, so the staff API's own checks are reached
    staff = create_token(engine, f"fuzz-{uuid.uuid4().hex[:12]}")
    engine.dispose()

    @OVER_HTTP
    @given(segment=st.text(alphabet=string.printable, max_size=30), body=st.binary(max_size=300),
           token=header_text | st.just("").map(lambda _: staff), content_type=st.sampled_from([
               "application/json", "application/x-www-form-urlencoded", "text/plain",
               "multipart/form-data", "multipart/form-data; boundary=xx", "image/png", ""]),
           query=st.dictionaries(st.sampled_from(["since", "limit", "status", "next"]),
                                 st.text(max_size=20), max_size=3))
    def one(segment: str, body: bytes, token: str, content_type: str,
            query: dict[str, str]) -> None:
        filled = path.replace("{reference}", requests.utils.quote(segment, safe="") or "x")
        filled = filled.replace("{position}", str(len(segment)))
        reply = requests.request(method, base + filled, data=body, params=query, timeout=30,
                                 headers={"Authorization": ("Bearer " + token).encode("utf-8"),
                                          "Content-Type": content_type})
        seen.append(reply.status_code)
        assert reply.status_code < 500, (method, filled, reply.status_code, reply.text[:200])

    one()
    print(f"\n{method} {path}: {len(seen)} cases, statuses {sorted(set(seen))}")


def test_the_rest_channel_never_answers_500(system: RunningSystem) -> None:
    seen: list[int] = []

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=st.one_of(st.binary(max_size=200),
                          json_like.map(lambda v: yaml.safe_dump(v).encode("utf-8")),
                          st.fixed_dictionaries({"sender": anything, "message": anything,
                                                 "metadata": anything})
                          .map(lambda v: json.dumps(v, default=repr).encode("utf-8"))))
    def one(body: bytes) -> None:
        reply = requests.post(f"{system.rasa_url}/webhooks/rest/webhook", data=body, timeout=60,
                              headers={"Authorization": f"Bearer {system.rest_token}",
                                       "Content-Type": "application/json"})
        seen.append(reply.status_code)
        assert reply.status_code < 500, reply.text[:200]

    one()
    print(f"\nREST: {len(seen)} cases, statuses {sorted(set(seen))}")
