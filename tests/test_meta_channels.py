"""Messenger, Instagram and WhatsApp channels: signatures, batching, duplicates, replies
within each platform's limits, pictures, locations, retries and the messaging window —
against a local fake Graph API — and one webhook through the real Rasa server."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from rasa.core.channels.channel import UserMessage

from bot.channels.meta.channels import (
    CANNOT_READ,
    NOT_A_PICTURE,
    CannotDeliver,
    InstagramInput,
    MessengerInput,
    MetaInput,
    MetaOutput,
    WhatsAppInput,
    conversation_id,
    platform_user_id,
)
from bot.channels.meta.dedup import RedisDedupStore, SqlDedupStore
from bot.channels.meta.models import meta_seen_messages
from bot.channels.meta.outgoing import (
    TEXT_LIMITS,
    GraphClient,
    PlatformSender,
    SendStatus,
    split_text,
    utf16_units,
)
from bot.channels.meta.parse import Platform, parse_webhook
from bot.channels.meta.settings import MetaSettings
from bot.channels.meta.signature import answer_handshake, sign, verify_signature
from bot.handover.keys import OUTSIDE_7D, OUTSIDE_24H
from bot.handover.rasa_link import delivery_problem
from bot.launcher import Stack, free_port, isolated_settings, service_env
from bot.promises.service import seed_database
from bot.settings import PROJECT_ROOT
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from bot.tips.crypto import generate_key
from bot.tips.models import staged_pictures
from bot.tips.settings import TipSettings
from bot.tips.uploads import PictureStaging
from tests.conftest import POSTGRES_ADMIN_URL
from tests.fake_graph import FakeGraph, FakeGraphServer
from tests.test_tips_store import PNG as TIP_PNG

SECRET = "test-app-secret-0123456789"
VERIFY = "test-verify-token"
PAGE_TOKEN = "EAAtest-page-token-secret"
IG_TOKEN = "EAAtest-instagram-token-secret"
WA_TOKEN = "EAAtest-whatsapp-token-secret"
PHONE_ID = "1098765432"
# Complete pictures (the tip's check refuses a cut-off one): a 1×1 PNG and a minimal JPEG.
PNG = TIP_PNG
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 300 + b"\xff\xd9"
TIP_KEY = generate_key()
CREDENTIALS_META = Path(__file__).parent / "data" / "credentials_meta.yml"

# --- payloads in Meta's documented formats --------------------------------------------------


def messaging(
    psid: str, mid: str | None = None, text: str | None = None, **message: Any
) -> dict[str, Any]:
    """One Messenger/Instagram `messaging` event with a `message`."""
    body: dict[str, Any] = dict(message)
    if mid is not None:
        body["mid"] = mid
    if text is not None:
        body["text"] = text
    return {
        "sender": {"id": psid},
        "recipient": {"id": "PAGE"},
        "timestamp": 1700000000000,
        "message": body,
    }


def page_delivery(*entries: list[dict[str, Any]], object_: str = "page") -> dict[str, Any]:
    return {
        "object": object_,
        "entry": [
            {"id": "PAGE", "time": 1700000000000, "messaging": list(events)} for events in entries
        ],
    }


def wa_message(wa_id: str, wamid: str, kind: str = "text", **body: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": "1700000000", "type": kind}
    message[kind] = body
    return message


def wa_delivery(
    messages: list[dict[str, Any]], statuses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "46700000000", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": "Test"}, "wa_id": m["from"]} for m in messages],
        "messages": messages,
    }
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
    }


def signed(body: dict[str, Any], secret: str = SECRET) -> tuple[bytes, str]:
    raw = json.dumps(body).encode("utf-8")
    return raw, sign(secret, raw)


# --- fixtures ------------------------------------------------------------------------------


class Recorder:
    """An on_new_message stub: records what Rasa would get, optionally answers."""

    def __init__(self, reply: Callable[[UserMessage], Awaitable[None]] | None = None) -> None:
        self.messages: list[UserMessage] = []
        self.reply = reply

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(message)
        if self.reply is not None:
            await self.reply(message)

    @property
    def texts(self) -> list[str | None]:
        return [m.text for m in self.messages]


@pytest.fixture
async def graph(aiohttp_client: Any) -> tuple[FakeGraph, str]:
    """The fake Graph API on aiohttp's test server, and its versioned base URL."""
    fake = FakeGraph()
    client = await aiohttp_client(fake.app())
    return fake, str(client.make_url("/v19.0"))


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    engine = make_engine(url)
    meta_seen_messages.create(engine)
    staged_pictures.create(engine)
    engine.dispose()
    return url


@pytest.fixture
def settings(graph: tuple[FakeGraph, str], database: str, tmp_path: Path) -> MetaSettings:
    return MetaSettings(
        app_secret=SECRET,
        verify_token=VERIFY,
        messenger_page_token=PAGE_TOKEN,
        instagram_page_token=IG_TOKEN,
        whatsapp_token=WA_TOKEN,
        whatsapp_phone_number_id=PHONE_ID,
        graph_url=graph[1],
        database_url=database,
        tips=TipSettings(encryption_keys=(TIP_KEY,), key_file=tmp_path / "tip.keys"),
        retry_base_seconds=0.01,
    )


ChannelFactory = Callable[..., MetaInput]


@pytest.fixture
async def make_channel(settings: MetaSettings) -> AsyncIterator[ChannelFactory]:
    made: list[MetaInput] = []

    def factory(cls: type[MetaInput] = MessengerInput, **overrides: Any) -> MetaInput:
        channel = cls(dataclasses.replace(settings, **overrides))
        made.append(channel)
        return channel

    yield factory
    for channel in made:
        await channel.drain(10)
        await channel.close()


async def deliver(
    channel: MetaInput, body: dict[str, Any], recorder: Recorder, secret: str = SECRET
) -> int:
    raw, signature = signed(body, secret)
    status = channel.accept(raw, signature, recorder)
    await channel.drain(10)
    return status


# --- security: signatures and the handshake --------------------------------------------------


async def test_a_signed_webhook_is_handled(make_channel: ChannelFactory) -> None:
    channel, recorder = make_channel(), Recorder()
    status = await deliver(channel, page_delivery([messaging("111", "m.1", "hej")]), recorder)
    assert status == 200
    assert recorder.texts == ["hej"]
    message = recorder.messages[0]
    assert message.sender_id == "messenger:111"
    assert message.message_id == "m.1"
    assert message.input_channel == "messenger"
    assert message.metadata == {"language": "sv"}


@pytest.mark.parametrize("header", [None, "", "sha256=", "sha1=abc", "sha256=" + "0" * 64])
async def test_an_unsigned_or_badly_signed_webhook_is_refused_and_nothing_handled(
    make_channel: ChannelFactory, header: str | None
) -> None:
    channel, recorder = make_channel(), Recorder()
    raw, _ = signed(page_delivery([messaging("111", "m.1", "hej")]))
    assert channel.accept(raw, header, recorder) == 403
    await channel.drain(10)
    assert recorder.messages == []


async def test_a_forged_webhook_is_refused(make_channel: ChannelFactory) -> None:
    channel, recorder = make_channel(), Recorder()
    raw, good = signed(page_delivery([messaging("111", "m.1", "hej")]))
    wrong_key = sign("someone-elses-secret", raw)
    tampered = raw.replace(b"hej", b"HEJ")
    assert channel.accept(raw, wrong_key, recorder) == 403
    assert channel.accept(tampered, good, recorder) == 403
    assert channel.accept(raw, good.upper().replace("SHA256=", "sha256="), recorder) == 200
    await channel.drain(10)
    assert recorder.texts == ["hej"], "only the genuine delivery (hex case-insensitive)"


async def test_without_an_app_secret_every_webhook_is_refused(make_channel: ChannelFactory) -> None:
    channel, recorder = make_channel(app_secret=""), Recorder()
    raw, _ = signed(page_delivery([messaging("111", "m.1", "hej")]), secret="")
    assert channel.accept(raw, sign("", raw), recorder) == 403
    assert not verify_signature("", raw, sign("", raw))


def test_the_handshake_answers_the_challenge_only_to_the_right_token() -> None:
    ok = answer_handshake(
        VERIFY, {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    )
    assert (ok.status, ok.body) == (200, "1158201444")
    for args in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY},
    ):
        refused = answer_handshake(VERIFY, args)
        assert refused.status == 403 and refused.body != args.get("hub.challenge")
    unset = answer_handshake(
        "", {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
    )
    assert unset.status == 403, "an unconfigured token verifies nothing"


# --- reliability: batches, order, duplicates --------------------------------------------------


async def test_every_event_of_a_batched_delivery_is_handled_in_order(
    make_channel: ChannelFactory,
) -> None:
    channel, recorder = make_channel(), Recorder()
    body = page_delivery(
        [messaging("111", "m.1", "ett"), messaging("222", "m.2", "två")],
        [messaging("111", "m.3", "tre"), messaging("222", "m.4", "fyra")],
    )
    assert await deliver(channel, body, recorder) == 200
    assert sorted(recorder.texts) == sorted(["ett", "två", "tre", "fyra"])
    by_sender: dict[str, list[str | None]] = {}
    for message in recorder.messages:
        by_sender.setdefault(message.sender_id, []).append(message.text)
    assert by_sender == {"messenger:111": ["ett", "tre"], "messenger:222": ["två", "fyra"]}

    one_sender, in_order = make_channel(WhatsAppInput), Recorder()
    whatsapp = wa_delivery([wa_message("4670", f"wamid.{i}", body=f"text {i}") for i in (1, 2)])
    whatsapp["entry"].append(
        wa_delivery([wa_message("4670", f"wamid.{i}", body=f"text {i}") for i in (3, 4)])["entry"][
            0
        ]
    )
    assert await deliver(one_sender, whatsapp, in_order) == 200
    assert in_order.texts == ["text 1", "text 2", "text 3", "text 4"]


async def test_the_webhook_is_acknowledged_before_slow_processing_and_order_is_kept(
    make_channel: ChannelFactory,
) -> None:
    channel = make_channel()
    release = asyncio.Event()

    async def slow(message: UserMessage) -> None:
        await release.wait()

    recorder = Recorder(slow)
    raw, signature = signed(
        page_delivery([messaging("111", f"m.{i}", f"meddelande {i}") for i in range(5)])
    )
    started = time.perf_counter()
    assert channel.accept(raw, signature, recorder) == 200
    assert time.perf_counter() - started < 0.05, "acknowledged in milliseconds"
    second_raw, second_signature = signed(page_delivery([messaging("111", "m.9", "sist")]))
    assert channel.accept(second_raw, second_signature, recorder) == 200
    await asyncio.sleep(0.05)
    assert recorder.texts == ["meddelande 0"], "the sender's next message waits its turn"
    release.set()
    await channel.drain(10)
    assert recorder.texts == [f"meddelande {i}" for i in range(5)] + ["sist"]


async def test_a_retried_delivery_is_handled_once(make_channel: ChannelFactory) -> None:
    channel, recorder = make_channel(), Recorder()
    body = page_delivery([messaging("111", "m.same", "hej")])
    await deliver(channel, body, recorder)
    await deliver(channel, body, recorder)
    await deliver(
        channel,
        page_delivery([messaging("111", "m.same", "hej"), messaging("111", "m.same", "hej")]),
        recorder,
    )
    assert recorder.texts == ["hej"]


async def test_a_retry_reaching_another_process_or_a_restarted_one_is_handled_once(
    make_channel: ChannelFactory,
) -> None:
    first, second = make_channel(), make_channel()  # two stores, two engines, one database
    recorder = Recorder()
    body = page_delivery([messaging("111", "m.shared", "hej")])
    await deliver(first, body, recorder)
    await deliver(second, body, recorder)
    await first.close()
    restarted = make_channel()
    await deliver(restarted, body, recorder)
    assert recorder.texts == ["hej"]


async def test_the_same_id_on_another_platform_is_not_a_duplicate(
    make_channel: ChannelFactory,
) -> None:
    messenger, instagram, recorder = make_channel(), make_channel(InstagramInput), Recorder()
    await deliver(messenger, page_delivery([messaging("1", "m.x", "hej")]), recorder)
    await deliver(
        instagram, page_delivery([messaging("1", "m.x", "hej")], object_="instagram"), recorder
    )
    assert [m.sender_id for m in recorder.messages] == ["messenger:1", "instagram:1"]


async def test_expired_claims_are_purged_and_may_be_claimed_again(database: str) -> None:
    store = SqlDedupStore(database)
    assert await store.claim("messenger:m.old", 60)
    assert not await store.claim("messenger:m.old", 60)
    engine = make_engine(database)
    with engine.begin() as connection:
        connection.execute(
            sa.update(meta_seen_messages).values(expires_at=sa.func.datetime("now", "-1 day"))
        )
    assert await store.claim("messenger:m.old", 60), "an expired id counts as new"
    with engine.begin() as connection:
        connection.execute(
            sa.update(meta_seen_messages).values(expires_at=sa.func.datetime("now", "-1 day"))
        )
    assert store.purge_sync() == 1
    engine.dispose()
    await store.close()


async def test_redis_de_duplicates_across_processes_when_configured() -> None:
    first, second = (
        RedisDedupStore("redis://127.0.0.1:6379/0"),
        RedisDedupStore("redis://127.0.0.1:6379/0"),
    )
    key = f"test:{uuid.uuid4().hex}"
    try:
        claimed = await first.claim(key, 60)
        client = first._get_client()
        if not await client.exists("polisbot:meta:" + key):
            pytest.skip("no Redis on 127.0.0.1:6379")
        assert claimed
        assert not await second.claim(key, 60)
        assert 0 < await client.ttl("polisbot:meta:" + key) <= 60
        await client.delete("polisbot:meta:" + key)
    finally:
        await first.close()
        await second.close()


async def test_with_redis_url_set_two_channels_handle_a_retry_once(
    make_channel: ChannelFactory,
) -> None:
    redis_url = "redis://127.0.0.1:6379/0"
    first, second = make_channel(redis_url=redis_url), make_channel(redis_url=redis_url)
    assert isinstance(first.dedup, RedisDedupStore)
    try:
        await first.dedup._get_client().ping()
    except Exception:  # noqa: BLE001
        pytest.skip("no Redis on 127.0.0.1:6379")
    recorder = Recorder()
    mid = f"m.redis.{uuid.uuid4().hex}"
    body = page_delivery([messaging("111", mid, "hej")])
    await deliver(first, body, recorder)
    await deliver(second, body, recorder)
    await first.dedup._get_client().delete(f"polisbot:meta:messenger:{mid}")
    assert recorder.texts == ["hej"]


async def test_a_broken_dedup_store_still_lets_the_message_through(tmp_path: Path) -> None:
    store = SqlDedupStore(f"sqlite:///{tmp_path / 'no-table.db'}")
    assert await store.claim("messenger:m.1", 60), "fail open: a lost message is worse"
    await store.close()


async def test_echoes_receipts_reactions_and_unknown_events_are_ignored(
    make_channel: ChannelFactory,
) -> None:
    channel, recorder = make_channel(), Recorder()
    sender = {"sender": {"id": "111"}, "recipient": {"id": "PAGE"}, "timestamp": 1}
    body = page_delivery(
        [
            messaging("111", "m.echo", "our own reply", is_echo=True, app_id=1),
            {**sender, "delivery": {"mids": ["m.1"], "watermark": 1}},
            {**sender, "read": {"watermark": 1}},
            {**sender, "reaction": {"mid": "m.1", "action": "react", "reaction": "love"}},
            {**sender, "something_new": {"x": 1}},
            messaging("111", "m.del", is_deleted=True),
            {"no": "sender"},
            "not even an object",
            messaging("111", "m.real", "hej"),
        ]
    )
    body["entry"].append({"id": "PAGE", "standby": [messaging("111", "m.sb", "standby")]})
    assert await deliver(channel, body, recorder) == 200
    assert recorder.texts == ["hej"]

    whatsapp, wa_recorder = make_channel(WhatsAppInput), Recorder()
    statuses = [{"id": "wamid.out", "status": "read", "timestamp": "1", "recipient_id": "4670"}]
    receipts = wa_delivery([], statuses=statuses)
    receipts["entry"][0]["changes"].append({"field": "account_update", "value": {}})
    reaction = wa_delivery(
        [wa_message("4670", "wamid.r", "reaction", message_id="wamid.x", emoji="👍")]
    )
    unknown = wa_delivery([wa_message("4670", "wamid.u", "unsupported")])
    for delivery in (receipts, reaction, unknown, {"object": "page", "entry": []}, {}):
        assert await deliver(whatsapp, delivery, wa_recorder) == 200
    assert wa_recorder.messages == []


async def test_signed_but_malformed_json_is_a_400_not_a_crash(make_channel: ChannelFactory) -> None:
    channel = make_channel()
    raw = b"{not json"
    assert channel.accept(raw, sign(SECRET, raw), Recorder()) == 400


def test_instagram_and_whatsapp_payloads_are_normalised() -> None:
    instagram = parse_webhook(
        Platform.INSTAGRAM,
        page_delivery(
            [
                messaging("ig1", "m.i1", "Hello", quick_reply={"payload": "/give_tip"}),
                {
                    "sender": {"id": "ig1"},
                    "recipient": {"id": "IG"},
                    "timestamp": 2,
                    "postback": {
                        "mid": "m.i2",
                        "title": "Kontakta polisen",
                        "payload": "/contact_police",
                    },
                },
            ],
            object_="instagram",
        ),
    )
    assert [(e.sender_id, e.message_id, e.payload) for e in instagram] == [
        ("ig1", "m.i1", "/give_tip"),
        ("ig1", "m.i2", "/contact_police"),
    ]
    assert (
        parse_webhook(
            Platform.MESSENGER, page_delivery([messaging("1", "m.1", "hej")], object_="instagram")
        )
        == []
    ), "another platform's object"
    whatsapp = parse_webhook(
        Platform.WHATSAPP,
        wa_delivery(
            [
                wa_message("4670", "wamid.1", "text", body="hej"),
                wa_message(
                    "4670",
                    "wamid.2",
                    "interactive",
                    type="button_reply",
                    button_reply={"id": "/give_tip", "title": "Lämna tips"},
                ),
                wa_message(
                    "4670",
                    "wamid.3",
                    "interactive",
                    type="list_reply",
                    list_reply={"id": "/request_human", "title": "Prata med en person"},
                ),
                wa_message(
                    "4670", "wamid.4", "image", id="MEDIA1", mime_type="image/jpeg", caption="bilen"
                ),
            ]
        ),
    )
    assert [(e.message_id, e.text, e.payload) for e in whatsapp] == [
        ("wamid.1", "hej", None),
        ("wamid.2", "Lämna tips", "/give_tip"),
        ("wamid.3", "Prata med en person", "/request_human"),
        ("wamid.4", "bilen", None),
    ]
    assert whatsapp[3].attachments[0].media_id == "MEDIA1"


async def test_a_button_payload_goes_to_rasa_but_forged_intents_lose_their_slash(
    make_channel: ChannelFactory,
) -> None:
    channel, recorder = make_channel(), Recorder()
    await deliver(
        channel,
        page_delivery(
            [
                messaging(
                    "111", "m.1", "Kontakta polisen", quick_reply={"payload": "/contact_police"}
                ),
                messaging("111", "m.2", '/inform{"name": "x"}'),
                messaging("111", "m.3", "hej\x00\x07 där"),
            ]
        ),
        recorder,
    )
    assert recorder.texts == ["/contact_police", 'inform{"name": "x"}', "hej där"]
    assert recorder.messages[0].metadata == {"language": "sv"}, "the title, not the payload"


async def test_the_language_follows_the_locale_else_the_text(make_channel: ChannelFactory) -> None:
    channel, recorder = make_channel(), Recorder()
    await deliver(
        channel,
        page_delivery(
            [
                {**messaging("1", "m.1", "ok"), "locale": "en_GB"},
                {**messaging("2", "m.2", "hello"), "locale": "sv_SE"},
                messaging("3", "m.3", "Where can I report a crime?"),
                messaging(
                    "4",
                    "m.4",
                    "hi",
                    nlp={"detected_locales": [{"locale": "sv_SE", "confidence": 0.95}]},
                ),
            ]
        ),
        recorder,
    )
    languages = {m.sender_id: (m.metadata or {}).get("language") for m in recorder.messages}
    assert languages == {
        "messenger:1": "en",
        "messenger:2": "sv",
        "messenger:3": "en",
        "messenger:4": "sv",
    }


# --- outgoing: limits, splitting, buttons ------------------------------------------------------


def test_split_text_cuts_at_sentence_ends_within_the_limit() -> None:
    sentences = [f"Mening nummer {i} handlar om något viktigt." for i in range(100)]
    text = " ".join(sentences)
    for limit in (1000, 2000, 4096):
        parts = split_text(text, limit)
        assert all(utf16_units(p) <= limit for p in parts)
        assert all(p.endswith(".") for p in parts), "every part ends a sentence"
        assert " ".join(parts) == text
    assert split_text("kort.", 10) == ["kort."]
    assert split_text("   ", 10) == []
    long_word = "a" * 2500
    assert [len(p) for p in split_text(long_word, 1000)] == [1000, 1000, 500]
    emoji = "🚓" * 600  # 1200 UTF-16 units
    assert all(utf16_units(p) <= 1000 for p in split_text(emoji, 1000))


@pytest.mark.parametrize("cls", [MessengerInput, InstagramInput, WhatsAppInput])
async def test_long_replies_are_split_at_sentences_within_each_platform_limit(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str], cls: type[MetaInput]
) -> None:
    fake, _ = graph
    channel = make_channel(cls)
    text = " ".join(f"Det här är mening {i} i ett långt svar från polisen." for i in range(150))
    await channel.output(reminder=False).send_text_message(
        conversation_id(channel.platform, "555"), text
    )
    limit = TEXT_LIMITS[channel.platform]
    bodies = fake.messages()
    if channel.platform is Platform.WHATSAPP:
        parts = [b["text"]["body"] for b in bodies]
        assert all(b["to"] == "555" and b["messaging_product"] == "whatsapp" for b in bodies)
    else:
        parts = [b["message"]["text"] for b in bodies]
        assert all(b["recipient"] == {"id": "555"} for b in bodies)
    assert len(parts) > 1
    assert all(utf16_units(p) <= limit and p.endswith(".") for p in parts)
    assert " ".join(parts) == text
    expected_token = {
        Platform.MESSENGER: PAGE_TOKEN,
        Platform.INSTAGRAM: IG_TOKEN,
        Platform.WHATSAPP: WA_TOKEN,
    }[channel.platform]
    assert all(r.headers["Authorization"] == f"Bearer {expected_token}" for r in fake.sends())
    assert all("token" not in r.path for r in fake.sends()), "tokens never in a URL"


def buttons(count: int) -> list[dict[str, str]]:
    return [{"title": f"Alternativ nummer {i}", "payload": f"/choice_{i}"} for i in range(count)]


async def test_buttons_become_at_most_13_messenger_quick_replies(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    output = make_channel().output(reminder=False)
    await output.send_text_with_buttons("messenger:1", "Välj ett alternativ.", buttons(4))
    await output.send_text_with_buttons("messenger:1", "Välj ett alternativ.", buttons(20))
    first, second = (m["message"] for m in fake.messages())
    assert first["text"] == "Välj ett alternativ."
    assert [q["payload"] for q in first["quick_replies"]] == [f"/choice_{i}" for i in range(4)]
    assert all(
        q["content_type"] == "text" and len(q["title"]) <= 20 for q in first["quick_replies"]
    )
    assert len(second["quick_replies"]) == 13


async def test_whatsapp_gets_up_to_three_reply_buttons_and_a_list_beyond(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    output = make_channel(WhatsAppInput).output(reminder=False)
    for count in (3, 4, 12):
        await output.send_text_with_buttons("whatsapp:4670", "Vad vill du göra?", buttons(count))
    three, four, twelve = (m["interactive"] for m in fake.messages())
    assert three["type"] == "button"
    assert [b["reply"]["id"] for b in three["action"]["buttons"]] == [
        "/choice_0",
        "/choice_1",
        "/choice_2",
    ]
    assert all(len(b["reply"]["title"]) <= 20 for b in three["action"]["buttons"])
    assert three["body"]["text"] == "Vad vill du göra?"
    assert four["type"] == "list"
    assert len(four["action"]["sections"][0]["rows"]) == 4
    assert len(twelve["action"]["sections"][0]["rows"]) == 10
    assert all(len(r["title"]) <= 24 for r in twelve["action"]["sections"][0]["rows"])
    assert len(four["action"]["button"]) <= 20


async def test_a_long_text_with_buttons_sends_the_text_first_and_buttons_last(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    output = make_channel(WhatsAppInput).output(reminder=False)
    text = " ".join(f"Mening {i} om hur du lämnar tips." for i in range(60))  # > 1024
    await output.send_text_with_buttons("whatsapp:4670", text, buttons(2))
    bodies = fake.messages()
    assert bodies[-1]["type"] == "interactive"
    assert len(bodies[-1]["interactive"]["body"]["text"]) <= 1024
    assert all(b["type"] == "text" for b in bodies[:-1])


# --- pictures and locations ------------------------------------------------------------------


def staging_of(settings: MetaSettings) -> PictureStaging:
    return PictureStaging.from_database(settings.database_url, settings.tips)


async def test_a_picture_is_accepted_as_a_tip_attachment(
    make_channel: ChannelFactory,
    graph: tuple[FakeGraph, str],
    settings: MetaSettings,
    tmp_path: Path,
) -> None:
    fake, base = graph
    fake.add_media("photo1", PNG, "image/png")
    fake.add_media("MEDIA1", JPEG, "image/jpeg")
    kept: list[tuple[str, str, bytes]] = []

    messenger, recorder = make_channel(), Recorder()
    url = base.replace("/v19.0", "/cdn/photo1")
    await deliver(
        messenger,
        page_delivery(
            [messaging("111", "m.img", attachments=[{"type": "image", "payload": {"url": url}}])]
        ),
        recorder,
    )
    whatsapp = make_channel(WhatsAppInput)

    async def sink(conversation: str, info: Any, data: bytes) -> None:
        kept.append((conversation, info.sha256, data))

    whatsapp.attachment_sink = sink
    await deliver(
        whatsapp,
        wa_delivery(
            [wa_message("4670", "wamid.img", "image", id="MEDIA1", mime_type="image/jpeg")]
        ),
        recorder,
    )
    import hashlib

    png_sha, jpeg_sha = hashlib.sha256(PNG).hexdigest(), hashlib.sha256(JPEG).hexdigest()
    assert [m.text for m in recorder.messages] == ["/pictures_added", "/pictures_added"]
    assert recorder.messages[0].metadata["attachments"] == [
        {"content_type": "image/png", "size": len(PNG), "sha256": png_sha}
    ]
    assert recorder.messages[1].metadata["attachments"] == [
        {"content_type": "image/jpeg", "size": len(JPEG), "sha256": jpeg_sha}
    ]
    staging = staging_of(settings)
    (staged,) = staging.staged("messenger:111")
    assert (staged.content_type, staged.size, staged.sha256) == ("image/png", len(PNG), png_sha)
    assert staging.data("messenger:111", staged.id) == PNG, "staged for the tip, encrypted"
    assert not (tmp_path / "attachments").exists(), "no plaintext picture directory"
    assert kept == [("whatsapp:4670", jpeg_sha, JPEG)], "a pluggable sink gets the bytes"
    media_calls = [r for r in fake.requests if r.path in ("/v19.0/MEDIA1", "/cdn/MEDIA1")]
    assert all(r.headers.get("Authorization") == f"Bearer {WA_TOKEN}" for r in media_calls)


async def test_a_too_big_or_wrong_type_picture_is_refused_and_the_citizen_told(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str], settings: MetaSettings
) -> None:
    fake, base = graph
    fake.add_media("huge", b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024))
    fake.add_media("html", b"<html><script>alert(1)</script></html>", "image/png")
    fake.add_media("stream", PNG + b"\x00" * 300_000, "image/png", chunked=True)
    fake.add_media("WAHUGE", JPEG, declared_size=50 * 1024 * 1024)
    channel, recorder = make_channel(), Recorder()

    def picture(mid: str, name: str) -> dict[str, Any]:
        url = base.replace("/v19.0", f"/cdn/{name}")
        return messaging("111", mid, attachments=[{"type": "image", "payload": {"url": url}}])

    await deliver(
        channel, page_delivery([picture("m.1", "huge"), picture("m.2", "html")]), recorder
    )
    small = make_channel(max_attachment_bytes=100_000)
    await deliver(small, page_delivery([picture("m.3", "stream")]), recorder)
    whatsapp = make_channel(WhatsAppInput)
    await deliver(
        whatsapp, wa_delivery([wa_message("4670", "wamid.h", "image", id="WAHUGE")]), recorder
    )
    video = make_channel()
    await deliver(
        video,
        page_delivery(
            [
                messaging(
                    "111",
                    "m.4",
                    "titta",
                    attachments=[{"type": "video", "payload": {"url": base + "/cdn/x"}}],
                )
            ]
        ),
        recorder,
    )
    assert recorder.texts == ["titta"], "refused pictures never reach Rasa"
    assert "attachments" not in (recorder.messages[0].metadata or {})
    notices = [m for m in fake.messages()]
    assert len(notices) == 5
    assert all(
        "JPEG, PNG eller GIF"
        in (m.get("message", {}).get("text") or m.get("text", {}).get("body", ""))
        for m in notices
    )
    assert staging_of(settings).staged("messenger:111") == []
    assert not any(r.path == "/cdn/WAHUGE" for r in fake.requests), "not even downloaded"


async def test_voice_video_and_other_files_are_told_only_pictures_are_taken(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str], settings: MetaSettings
) -> None:
    fake, base = graph
    fake.add_media("PDF1", b"%PDF-1.7 ...", "application/pdf")
    fake.add_media("doc", b"%PDF-1.7 ...", "application/pdf")
    whatsapp, messenger, recorder = make_channel(WhatsAppInput), make_channel(), Recorder()
    for n, (kind, body) in enumerate([("audio", {"id": "VOICE1", "voice": True}),
                                      ("video", {"id": "VIDEO1"}),
                                      ("document", {"id": "PDF1"})]):
        await deliver(whatsapp, wa_delivery([wa_message("4670", f"wamid.f{n}", kind, **body)]),
                      recorder)
    english = messaging("111", "m.voice", attachments=[
        {"type": "audio", "payload": {"url": base.replace("/v19.0", "/cdn/x")}}])
    english["message"]["text"] = "listen to this"
    await deliver(messenger, page_delivery([english]), recorder)
    file = messaging("222", "m.file", attachments=[
        {"type": "file", "payload": {"url": base.replace("/v19.0", "/cdn/doc")}}])
    await deliver(messenger, page_delivery([file]), recorder)
    texts = [m["message"]["text"] if "message" in m else m["text"]["body"]
             for m in fake.messages()]
    assert texts == [NOT_A_PICTURE["sv"]] * 3 + [NOT_A_PICTURE["en"], NOT_A_PICTURE["sv"]]
    assert "inte röstmeddelanden, filmer eller andra filer" in NOT_A_PICTURE["sv"]
    assert "bilden" not in NOT_A_PICTURE["sv"], "a voice message is not called a picture"
    assert NOT_A_PICTURE["sv"].endswith("Vid nödläge: ring 112.")
    assert NOT_A_PICTURE["en"].endswith("In an emergency, call 112.")
    assert recorder.texts == ["listen to this"], "only the words reach the assistant"
    assert not any(r.path.endswith(("VOICE1", "VIDEO1", "/cdn/x")) for r in fake.requests)
    assert staging_of(settings).staged("whatsapp:4670") == []


async def test_every_refusal_reminds_of_112(make_channel: ChannelFactory) -> None:
    from bot.channels.meta.media import Refusal
    from bot.tips.draft import Problem

    channel = make_channel()
    tip_reason = Problem("attachments", "too_many", "Du kan skicka högst 4 bilder.",
                         "You can send at most 4 pictures.")
    for language, reminder in (("sv", "ring 112"), ("en", "call 112")):
        notices = channel._refusal_notices(
            [Refusal.TOO_LARGE, Refusal.UNAVAILABLE, Refusal.UNSUPPORTED_TYPE,
             Refusal.NOT_A_PICTURE, tip_reason], language)
        assert len(notices) == 3, "each reason once"
        assert all(n.count("112") == 1 and reminder in n for n in notices), notices


async def test_a_fifth_picture_is_refused_with_the_tips_own_reason(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str], settings: MetaSettings
) -> None:
    fake, base = graph
    channel, recorder = make_channel(), Recorder()
    pictures = [PNG[:-12] + bytes([n]) * 4 + PNG[-12:] for n in range(5)]  # five different
    for n, data in enumerate(pictures):
        fake.add_media(f"p{n}", data, "image/png")
    # The same picture again under another message id (a double send) is kept once.
    fake.add_media("again", pictures[0], "image/png")
    for n, name in enumerate([*(f"p{n}" for n in range(4)), "again", "p4"]):
        url = base.replace("/v19.0", f"/cdn/{name}")
        picture = {"type": "image", "payload": {"url": url}}
        await deliver(
            channel, page_delivery([messaging("222", f"m.{n}", attachments=[picture])]), recorder
        )
    assert len(staging_of(settings).staged("messenger:222")) == 4
    assert recorder.texts == ["/pictures_added"] * 5, "the fifth reached Rasa only as refused"
    (notice,) = fake.messages()
    assert "högst 4 bilder" in notice["message"]["text"]


async def test_attachment_urls_outside_https_or_the_graph_origin_are_not_fetched(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    channel, recorder = make_channel(), Recorder()
    await deliver(
        channel,
        page_delivery(
            [
                messaging(
                    "111",
                    "m.1",
                    "bild",
                    attachments=[
                        {
                            "type": "image",
                            "payload": {"url": "http://169.254.169.254/latest/meta-data"},
                        }
                    ],
                )
            ]
        ),
        recorder,
    )
    assert recorder.texts == ["bild"]
    assert "attachments" not in (recorder.messages[0].metadata or {})


async def test_a_shared_location_is_passed_on_as_metadata_with_empty_text(
    make_channel: ChannelFactory,
) -> None:
    whatsapp, messenger, recorder = make_channel(WhatsAppInput), make_channel(), Recorder()
    await deliver(
        whatsapp,
        wa_delivery(
            [
                wa_message(
                    "4670",
                    "wamid.loc",
                    "location",
                    latitude=59.3293,
                    longitude=18.0686,
                    name="Sergels torg",
                )
            ]
        ),
        recorder,
    )
    await deliver(
        messenger,
        page_delivery(
            [
                messaging(
                    "111",
                    "m.loc",
                    attachments=[
                        {
                            "type": "location",
                            "payload": {"coordinates": {"lat": 60.6749, "long": 17.1413}},
                        }
                    ],
                )
            ]
        ),
        recorder,
    )
    await deliver(
        messenger,
        page_delivery(
            [
                messaging(
                    "111",
                    "m.bad",
                    attachments=[
                        {"type": "location", "payload": {"coordinates": {"lat": 600, "long": "x"}}}
                    ],
                )
            ]
        ),
        recorder,
    )
    assert recorder.texts == ["", ""]
    assert recorder.messages[0].metadata["location"] == {"lat": 59.3293, "long": 18.0686}
    assert recorder.messages[1].metadata["location"] == {"lat": 60.6749, "long": 17.1413}


# --- retries, permanent errors, the messaging window, agent replies -------------------------


async def test_a_429_is_retried_and_the_reply_delivered_once(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    fake.answer_next(429, {"error": {"code": 4, "message": "rate"}}, times=2)
    output = make_channel().output(reminder=False)
    await output.send_text_message("messenger:1", "Tack för ditt meddelande.")
    assert len(fake.sends()) == 3
    assert [r.status for r in output.results] == [SendStatus.DELIVERED]
    assert output.results[0].attempts == 3
    assert output.results[0].message_ids == ("m_fake1",), "delivered exactly once"


async def test_a_5xx_is_retried_with_exponential_backoff(graph: tuple[FakeGraph, str]) -> None:
    fake, base = graph
    fake.answer_next(503, times=3)
    delays: list[float] = []

    async def no_sleep(seconds: float) -> None:
        delays.append(seconds)

    client = GraphClient(base, attempts=4, retry_base_seconds=0.5, sleep=no_sleep)
    sender = PlatformSender(Platform.MESSENGER, client, PAGE_TOKEN)
    result = await sender.send_text("1", "Hej.")
    await client.close()
    assert result.delivered and result.attempts == 4
    assert delays == [0.5, 1.0, 2.0]


async def test_a_permanent_error_is_logged_by_code_never_with_text_or_token(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, _ = graph
    fake.fail_next(400, code=100, subcode=2018001, message="No matching user found")
    output = make_channel().output(reminder=False)
    caplog.set_level(logging.DEBUG)
    await output.send_text_message("messenger:1", "Hemligt innehåll 19121212-1212.")
    assert len(fake.sends()) == 1, "a permanent error is not retried"
    result = output.results[0]
    assert (result.status, result.code, result.subcode) == (SendStatus.FAILED, 100, 2018001)
    assert "code=100" in caplog.text
    for secret in ("Hemligt", "19121212", PAGE_TOKEN, SECRET):
        assert secret not in caplog.text


async def test_outside_the_messaging_window_is_a_typed_cannot_deliver_result(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    fake.fail_next(
        400, code=10, subcode=2018278, message="This message is sent outside of allowed window."
    )
    messenger = make_channel().output(reminder=False)
    await messenger.send_text_message("messenger:1", "Svar från handläggaren.")
    assert messenger.results[0].status is SendStatus.OUTSIDE_WINDOW
    assert messenger.results[0].cannot_deliver
    assert (messenger.results[0].code, messenger.results[0].subcode) == (10, 2018278)

    fake.fail_next(400, code=131047, message="Re-engagement message")
    whatsapp_channel = make_channel(WhatsAppInput)
    agent_output = whatsapp_channel.get_output_channel()
    with pytest.raises(CannotDeliver) as raised:
        await agent_output.send_text_message("whatsapp:4670", "Svar från handläggaren.")
    assert raised.value.result.status is SendStatus.OUTSIDE_WINDOW
    assert raised.value.result.code == 131047
    assert "24-hour" in str(raised.value) and "handläggaren" not in str(raised.value)


@pytest.mark.parametrize("cls", [MessengerInput, InstagramInput, WhatsAppInput])
async def test_an_agent_reply_through_rasas_api_reaches_each_channel(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str], cls: type[MetaInput]
) -> None:
    fake, _ = graph
    channel = make_channel(cls)
    output = channel.get_output_channel()
    assert output.name() == channel.name()
    await output.send_response(
        conversation_id(channel.platform, "777"),
        {"text": "Hej, jag heter Anna och arbetar på polisen."},
    )
    (body,) = fake.messages()
    if channel.platform is Platform.WHATSAPP:
        assert body["to"] == "777"
        assert body["text"]["body"] == "Hej, jag heter Anna och arbetar på polisen."
        assert fake.sends()[0].path == f"/v19.0/{PHONE_ID}/messages"
    else:
        assert body["recipient"] == {"id": "777"}
        assert body["message"]["text"] == "Hej, jag heter Anna och arbetar på polisen."
        assert fake.sends()[0].path == "/v19.0/me/messages"
    assert "känsliga" not in json.dumps(body), "no reminder added to an agent's words"


async def test_an_output_never_sends_to_another_platforms_conversation(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    output = make_channel().output(reminder=False)
    await output.send_text_message("whatsapp:4670", "Hej.")
    assert fake.sends() == []
    assert output.results[0].status is SendStatus.FAILED
    await output.send_text_message("1234567890", "Hej.")
    assert fake.sends() == [], "nor to an id without the platform prefix (a REST sender)"
    assert platform_user_id(Platform.MESSENGER, "messenger:12") == "12"


async def test_the_sensitive_details_reminder_comes_once_with_the_first_reply(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph

    async def answer(message: UserMessage) -> None:
        await message.output_channel.send_text_message(message.sender_id, "Första svaret.")
        await message.output_channel.send_text_message(message.sender_id, "Andra svaret.")

    channel, recorder = make_channel(web_chat_url="https://polisen.se/chatt"), Recorder(answer)
    await deliver(
        channel,
        page_delivery([messaging("111", "m.1", "hej"), messaging("111", "m.2", "tack")]),
        recorder,
    )
    await deliver(channel, page_delivery([messaging("222", "m.3", "hello there")]), recorder)
    texts = [(m["recipient"]["id"], m["message"]["text"]) for m in fake.messages()]
    with_reminder = [t for t in texts if "https://polisen.se/chatt" in t[1]]
    assert [r for r, _ in with_reminder] == ["111", "222"], "once per sender"
    assert texts[0][1].startswith("Första svaret.") and "känsliga uppgifter" in texts[0][1]
    assert "sensitive details" in with_reminder[1][1], "in the citizen's language"
    assert texts[1][1] == "Andra svaret."


async def test_a_failure_inside_rasa_gets_the_citizen_an_answer(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str], caplog: pytest.LogCaptureFixture
) -> None:
    fake, _ = graph

    async def broken(message: UserMessage) -> None:
        raise RuntimeError("boom " + (message.text or ""))

    channel = make_channel()
    caplog.set_level(logging.DEBUG)
    await deliver(
        channel, page_delivery([messaging("111", "m.1", "hemlig text")]), Recorder(broken)
    )
    (body,) = fake.messages()
    assert "114 14" in body["message"]["text"]
    assert "RuntimeError" in caplog.text and "hemlig" not in caplog.text


# --- settings and schema ----------------------------------------------------------------------


def test_settings_come_from_the_environment_and_never_show_secrets() -> None:
    settings = MetaSettings.from_env(
        {
            "META_APP_SECRET": "s3cr3t",
            "WHATSAPP_TOKEN": "wa-9f8e7d",
            "DATABASE_URL": "sqlite:///var/x.db",
        }
    )
    assert settings.graph_url == "https://graph.facebook.com/v19.0"
    assert settings.max_attachment_bytes == 10 * 1024 * 1024
    assert settings.web_chat_url == "https://polisen.se/"
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'x.db'}"
    assert settings.redis_url == ""
    assert "s3cr3t" not in repr(settings) and "wa-9f8e7d" not in repr(settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.app_secret = "x"  # type: ignore[misc]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway database on the PostgreSQL server at 127.0.0.1:5432."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    name = "polisbot_meta_" + uuid.uuid4().hex[:8]
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError:
        admin.dispose()
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    try:
        yield str(sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name))
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
async def test_two_processes_on_postgresql_handle_a_delivery_once(postgres_url: str) -> None:
    upgrade(postgres_url)
    first, second = SqlDedupStore(postgres_url), SqlDedupStore(postgres_url)
    results = await asyncio.gather(
        *(store.claim("whatsapp:wamid.pg", 60) for store in (first, second, first, second))
    )
    assert sorted(results) == [False, False, False, True]
    assert await second.claim("whatsapp:wamid.other", 60), "the store still works afterwards"
    await first.close()
    await second.close()


def test_the_migrated_table_matches_the_model(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bot.storage.models import metadata

    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert [d for d in diff if "meta_seen_messages" in repr(d)] == []


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_migration_creates_the_dedup_table_and_rolls_back(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from alembic import command

    from bot.storage.migrate import alembic_config

    url = (
        f"sqlite:///{tmp_path / 'migrated.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    upgrade(url)
    engine = make_engine(url)
    inspector = sa.inspect(engine)
    assert "meta_seen_messages" in inspector.get_table_names()
    columns = {c["name"] for c in inspector.get_columns("meta_seen_messages")}
    assert columns == {"message_key", "created_at", "expires_at"}
    command.downgrade(alembic_config(url), "0004")
    assert "meta_seen_messages" not in sa.inspect(engine).get_table_names()
    engine.dispose()
    upgrade(url)


# --- end to end: a signed Messenger webhook through the real Rasa server ----------------------


@dataclasses.dataclass
class MetaSystem:
    rasa_url: str
    token: str
    fake: FakeGraph
    database_url: str = ""

    def post_webhook(
        self, body: dict[str, Any], secret: str = SECRET, platform: str = "messenger"
    ) -> requests.Response:
        raw, signature = signed(body, secret)
        return requests.post(
            f"{self.rasa_url}/webhooks/{platform}/webhook",
            data=raw,
            timeout=10,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
        )


@pytest.fixture(scope="module")
def meta_system(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetaSystem]:
    """The real stack with the Meta channels on, replying to a fake Graph API."""
    if "credentials" not in {f.name for f in dataclasses.fields(Stack)}:
        pytest.skip("bot.launcher.Stack has no `credentials` option to enable the channels")
    fake = FakeGraph()
    server = FakeGraphServer(fake, free_port())
    server.start()
    directory = tmp_path_factory.mktemp("meta_system")
    settings = isolated_settings(f"sqlite:///{directory / 'polisbot.db'}")
    upgrade(settings.database_url)
    seed_database(settings.database_url, PROJECT_ROOT)
    env = service_env(settings)
    env.update(
        {
            "META_APP_SECRET": SECRET,
            "META_VERIFY_TOKEN": VERIFY,
            "MESSENGER_PAGE_TOKEN": PAGE_TOKEN,
            "INSTAGRAM_PAGE_TOKEN": IG_TOKEN,
            "WHATSAPP_TOKEN": WA_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
            "META_GRAPH_URL": f"{server.url}/v19.0",
            "META_RETRY_BASE_SECONDS": "0.05",
            "REDIS_URL": "",
        }
    )
    stack = Stack(
        settings,
        model_path,
        env,
        log_dir=directory / "logs",  # type: ignore[call-arg]
        credentials=CREDENTIALS_META,
    )
    try:
        stack.start()
        yield MetaSystem(settings.rasa_url, env["RASA_TOKEN"], fake, settings.database_url)
    finally:
        stack.stop()
        server.stop()


@pytest.mark.servers
def test_a_signed_messenger_hej_gets_the_welcome_from_the_real_assistant(
    meta_system: MetaSystem,
) -> None:
    fake = meta_system.fake
    url = f"{meta_system.rasa_url}/webhooks/messenger/webhook"
    challenge = requests.get(
        url,
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "4242"},
        timeout=10,
    )
    assert (challenge.status_code, challenge.text) == (200, "4242")
    wrong = requests.get(
        url,
        params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "4242"},
        timeout=10,
    )
    assert wrong.status_code == 403
    body = page_delivery([messaging("PSID-e2e", "m.e2e.1", "hej")])
    assert meta_system.post_webhook(body, secret="wrong").status_code == 403
    started = time.monotonic()
    assert meta_system.post_webhook(body).status_code == 200
    assert time.monotonic() - started < 2.0, "acknowledged before the assistant answers"
    assert meta_system.post_webhook(body).status_code == 200  # Meta's retry of the delivery
    fake.wait_for_sends(2, timeout=60)
    time.sleep(2.0)  # anything a duplicate would have caused arrives by now
    messages = [m for m in fake.messages() if m["recipient"] == {"id": "PSID-e2e"}]
    assert messages, "the fake Graph API received no reply"
    texts = [m["message"].get("text", "") for m in messages]
    assert sum("Jag är en AI" in t for t in texts) == 1, "welcomed once: the retry was dropped"
    assert any("känsliga uppgifter" in t and "https://polisen.se/" in t for t in texts)
    assert all(len(t) <= 2000 for t in texts)
    assert any(len(m["message"].get("quick_replies", [])) >= 2 for m in messages), "buttons"
    assert all(r.headers["Authorization"] == f"Bearer {PAGE_TOKEN}" for r in fake.sends())


@pytest.mark.servers
def test_an_agent_reply_through_rasas_api_reaches_messenger_or_reports_the_window(
    meta_system: MetaSystem,
) -> None:
    fake = meta_system.fake
    assert (
        meta_system.post_webhook(
            page_delivery([messaging("PSID-agent", "m.agent.1", "hej")])
        ).status_code
        == 200
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(
        m["recipient"] == {"id": "PSID-agent"} for m in fake.messages()
    ):
        time.sleep(0.1)
    # The first reply is sent while Rasa still handles the message; the conversation is
    # stored when it has finished (back to listening).
    tracker_url = f"{meta_system.rasa_url}/conversations/messenger:PSID-agent/tracker"
    while time.monotonic() < deadline:
        tracker = requests.get(tracker_url, params={"token": meta_system.token}, timeout=10)
        events = tracker.json().get("events") or []
        if any(e["event"] == "user" for e in events) and \
                tracker.json().get("latest_action_name") == "action_listen":
            break
        time.sleep(0.2)
    before = len(fake.sends())
    url = f"{meta_system.rasa_url}/conversations/messenger:PSID-agent/execute"
    params = {"token": meta_system.token, "output_channel": "latest"}
    reply = requests.post(url, params=params, json={"name": "utter_greet"}, timeout=30)
    assert reply.status_code == 200, reply.text
    sent = fake.messages()[before:]
    assert sent and sent[0]["recipient"] == {"id": "PSID-agent"}

    fake.fail_next(400, code=10, subcode=2018278, message="outside of allowed window")
    refused = requests.post(url, params=params, json={"name": "utter_greet"}, timeout=30)
    assert refused.status_code == 500, "the console must not think it was delivered"
    assert "outside the 24-hour messaging window" in refused.json()["message"]


# --- agent replies and Meta's windows (issue #7) ---------------------------------------------

AGENT_TEXT = "Polisens kontaktcenter: Hej, Anna här."


async def agent_reply(channel: MetaInput, user_id: str, ago: timedelta | None) -> MetaOutput:
    """Send an agent's reply (the relay's custom `agent: true`) the way Rasa's API does, the
    citizen having last written `ago` before now (None: never seen)."""
    if ago is not None:
        await channel.note_message(user_id, datetime.now(timezone.utc) - ago)
    output = channel.get_output_channel()
    await output.send_response(
        conversation_id(channel.platform, user_id),
        {"text": AGENT_TEXT, "custom": {"agent": True}},
    )
    return output  # type: ignore[return-value]


@pytest.mark.parametrize("cls", [MessengerInput, InstagramInput])
async def test_an_agent_reply_after_30_hours_carries_the_human_agent_tag(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str], cls: type[MetaInput]
) -> None:
    fake, _ = graph
    output = await agent_reply(make_channel(cls), "777", timedelta(hours=30))
    (body,) = fake.messages()
    assert body["messaging_type"] == "MESSAGE_TAG" and body["tag"] == "HUMAN_AGENT"
    assert body["message"]["text"] == AGENT_TEXT
    assert output.results[0].delivered and output.results[0].tag == "HUMAN_AGENT"


async def test_within_24_hours_and_for_the_bot_no_tag_is_used(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    channel = make_channel()
    await agent_reply(channel, "777", timedelta(hours=2))
    await channel.note_message("888", datetime.now(timezone.utc) - timedelta(hours=30))
    await channel.get_output_channel().send_response(
        "messenger:888", {"text": "Du är tillbaka hos assistenten.", "custom": {"handover": {}}}
    )
    bodies = fake.messages()
    assert [b["messaging_type"] for b in bodies] == ["RESPONSE", "RESPONSE"]
    assert all("tag" not in b for b in bodies), "bot replies never use the tag"


@pytest.mark.parametrize(
    ("cls", "ago", "window"),
    [
        (MessengerInput, timedelta(days=8), "7-day human-agent window"),
        (InstagramInput, timedelta(days=8), "7-day human-agent window"),
        (WhatsAppInput, timedelta(hours=30), "24-hour messaging window"),
    ],
)
async def test_an_agent_reply_outside_what_meta_allows_is_refused_without_sending(
    make_channel: ChannelFactory,
    graph: tuple[FakeGraph, str],
    cls: type[MetaInput],
    ago: timedelta,
    window: str,
) -> None:
    fake, _ = graph
    with pytest.raises(CannotDeliver) as raised:
        await agent_reply(make_channel(cls), "777", ago)
    assert fake.sends() == [], "nothing is sent that Meta would refuse"
    assert raised.value.result.status is SendStatus.OUTSIDE_WINDOW
    assert window in str(raised.value) and "Anna" not in str(raised.value)
    assert delivery_problem(f"An unexpected error occurred. Error: {raised.value}") == (
        OUTSIDE_7D if "7-day" in window else OUTSIDE_24H
    )


async def test_when_meta_counts_the_window_closed_earlier_the_tag_is_tried_once(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    fake.fail_next(400, code=10, subcode=2018278, message="outside of allowed window")
    output = await agent_reply(make_channel(), "777", None)  # the time is not known
    first, second = fake.messages()
    assert first["messaging_type"] == "RESPONSE"
    assert (second["messaging_type"], second["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert output.results[0].delivered

    fake.fail_next(400, code=10, subcode=2018278, times=2)
    with pytest.raises(CannotDeliver) as raised:
        await agent_reply(make_channel(), "778", None)
    assert "7-day" in str(raised.value), "refused even with the tag: more than 7 days"


async def test_every_citizen_message_is_remembered_as_the_last_one(
    make_channel: ChannelFactory,
) -> None:
    channel, recorder = make_channel(), Recorder()
    assert await channel.last_message_at("111") is None
    await deliver(channel, page_delivery([messaging("111", "m.t1", "hej")]), recorder)
    seen = await channel.last_message_at("111")
    assert seen is not None and datetime.now(timezone.utc) - seen < timedelta(minutes=1)
    other = make_channel()  # another process sees it too (the shared store)
    assert await other.last_message_at("111") == seen
    assert await make_channel(InstagramInput).last_message_at("111") is None


# --- messages without text -------------------------------------------------------------------


async def test_stickers_and_reactions_get_no_answer_and_never_reach_rasa(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    messenger, whatsapp, recorder = make_channel(), make_channel(WhatsAppInput), Recorder()
    sticker = {"type": "image", "payload": {"url": "https://cdn/x.png", "sticker_id": 369239263}}
    await deliver(messenger, page_delivery([messaging("111", "m.s", attachments=[sticker])]),
                  recorder)
    await deliver(whatsapp, wa_delivery([wa_message("4670", "wamid.st", "sticker", id="S1")]),
                  recorder)
    await deliver(
        whatsapp,
        wa_delivery([wa_message("4670", "wamid.re", "reaction", message_id="x", emoji="👍")]),
        recorder,
    )
    assert recorder.messages == [] and fake.sends() == []


async def test_content_the_assistant_cannot_read_gets_a_short_answer_not_a_fallback(
    make_channel: ChannelFactory, graph: tuple[FakeGraph, str]
) -> None:
    fake, _ = graph
    messenger, whatsapp, recorder = make_channel(), make_channel(WhatsAppInput), Recorder()
    await deliver(messenger, page_delivery([messaging("111", "m.u", is_unsupported=True)]),
                  recorder)
    contacts = wa_message("4670", "wamid.c", "contacts")
    contacts["contacts"] = [{"name": {"formatted_name": "X"}, "phones": [{"phone": "+4670"}]}]
    await deliver(whatsapp, wa_delivery([contacts]), recorder)
    await deliver(whatsapp, wa_delivery([wa_message("4670", "wamid.un", "unsupported")]),
                  recorder)
    assert recorder.messages == [], "nothing for the assistant to misunderstand"
    texts = [m["message"]["text"] if "message" in m else m["text"]["body"]
             for m in fake.messages()]
    assert texts == [CANNOT_READ["sv"]] * 3
    assert "112" in CANNOT_READ["sv"] and "112" in CANNOT_READ["en"]



# --- end to end: shared locations and late agent replies through the real assistant ----------


def _replies_to(fake: FakeGraph, user: str, count: int, timeout: float = 60) -> list[str]:
    """The texts the fake received for one user after the welcome (a new conversation's
    first message), once there are `count` of them."""
    deadline = time.monotonic() + timeout
    texts: list[str] = []
    while time.monotonic() < deadline:
        texts = []
        for body in fake.messages():
            if body.get("to") == user:
                texts.append((body.get("text") or {}).get("body")
                             or (body.get("interactive") or {}).get("body", {}).get("text", ""))
            elif body.get("recipient") == {"id": user}:
                texts.append(body["message"].get("text", ""))
        texts = [t for t in texts if "Jag är en AI" not in t]
        if len(texts) >= count:
            break
        time.sleep(0.1)
    return texts


def _strip_reminder(text: str) -> str:
    return text.split("\n\nSkriv inte känsliga uppgifter")[0]


@pytest.mark.servers
def test_a_whatsapp_location_in_goteborg_gets_goteborgs_promise_answer(
    meta_system: MetaSystem,
) -> None:
    fake = meta_system.fake
    # What the assistant answers when Göteborg is named, for comparison.
    assert meta_system.post_webhook(page_delivery([messaging("PSID-gbg", "m.gbg", "Göteborg")]),
                                    ).status_code == 200
    named = [_strip_reminder(t) for t in _replies_to(fake, "PSID-gbg", 1)]
    time.sleep(1.0)  # every part of the answer has arrived
    named = [_strip_reminder(t) for t in _replies_to(fake, "PSID-gbg", 1)]
    location = wa_message("46700000001", "wamid.gbg", "location", latitude=57.7068,
                          longitude=11.9689, name="Brunnsparken")
    assert meta_system.post_webhook(wa_delivery([location]), platform="whatsapp"
                                    ).status_code == 200
    texts = [_strip_reminder(t) for t in _replies_to(fake, "46700000001", 1 + len(named))]
    assert texts[0] == "Platsen du delade ligger i eller nära Göteborgs kommun."
    # The same answer (WhatsApp's button message folds the line breaks).
    assert [" ".join(t.split())[:300] for t in texts[1:]] == [
        " ".join(t.split())[:300] for t in named], "then the normal promise answer"
    assert "Angered" in texts[1]


@pytest.mark.servers
def test_a_location_at_sea_or_abroad_gets_a_polite_answer(meta_system: MetaSystem) -> None:
    fake = meta_system.fake
    for wamid, user, (lat, lon) in (
        ("wamid.sea", "46700000002", (56.0, 18.5)),  # the Baltic Sea
        ("wamid.oslo", "46700000003", (59.91, 10.75)),  # Oslo
    ):
        location = wa_message(user, wamid, "location", latitude=lat, longitude=lon)
        assert meta_system.post_webhook(wa_delivery([location]), platform="whatsapp"
                                        ).status_code == 200
        (text,) = [_strip_reminder(t) for t in _replies_to(fake, user, 1)]
        assert text.startswith("Jag kunde inte placera platsen du delade i någon svensk kommun")
    forged = wa_message("46700000004", "wamid.nan", "location", latitude="NaN", longitude=1e999)
    assert meta_system.post_webhook(wa_delivery([forged]), platform="whatsapp"
                                    ).status_code == 200
    time.sleep(2.0)
    assert _replies_to(fake, "46700000004", 1, timeout=1) == [], "ignored, no error reply"


@pytest.mark.servers
def test_a_late_agent_reply_goes_out_tagged_after_the_session_expired_or_is_refused(
    meta_system: MetaSystem,
) -> None:
    """30 hours after the citizen's last Messenger message (so Rasa's session has expired
    too): the agent's reply goes out with HUMAN_AGENT, without a welcome, and so does the
    next one; at 8 days it is refused and the console learns why."""
    import aiohttp

    from bot.channels.meta.dedup import SqlDedupStore
    from bot.handover import service
    from bot.handover.rasa_link import RasaLink
    from bot.storage.db import make_session_factory

    fake, user = meta_system.fake, "PSID-late"
    conversation = f"messenger:{user}"
    then = time.time() - 30 * 3600
    events = [
        {"event": "action", "name": "action_session_start", "timestamp": then},
        {"event": "session_started", "timestamp": then},
        {"event": "action", "name": "action_listen", "timestamp": then},
        {"event": "user", "text": "jag vill prata med en person", "timestamp": then + 1,
         "input_channel": "messenger",
         "parse_data": {"intent": {"name": "request_human", "confidence": 1.0},
                        "entities": []}},
        {"event": "slot", "name": "handover", "value": "active", "timestamp": then + 2},
        {"event": "action", "name": "action_listen", "timestamp": then + 3},
    ]
    created = requests.post(
        f"{meta_system.rasa_url}/conversations/{conversation}/tracker/events",
        params={"token": meta_system.token}, json=events, timeout=30)
    assert created.status_code == 200, created.text
    engine = make_engine(meta_system.database_url)
    with make_session_factory(engine)() as session:
        ticket = service.open_handover(session, conversation, "messenger", "sv", None, "person")
        service.claim(session, ticket.id, "anna")
    store = SqlDedupStore(meta_system.database_url)
    store.note_message_sync(conversation, datetime.now(timezone.utc) - timedelta(hours=30))
    link_settings: Any = type("S", (), {"rasa_url": meta_system.rasa_url,
                                        "rasa_token": meta_system.token})()

    async def send(text: str) -> Any:
        async with aiohttp.ClientSession() as http:
            return await RasaLink(link_settings, lambda: http).deliver(conversation, text)

    before = len(fake.sends())
    assert asyncio.run(send("Hej, Anna här.")).delivered
    assert asyncio.run(send("Är du kvar?")).delivered, "also after the session restarted"
    sent = fake.messages()[before:]
    assert [m["message"]["text"] for m in sent] == [
        "Polisens kontaktcenter: Hej, Anna här.", "Polisens kontaktcenter: Är du kvar?"]
    assert all((m["messaging_type"], m["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT") for m in sent)

    store.note_message_sync(conversation, datetime.now(timezone.utc) - timedelta(days=8))
    refused = asyncio.run(send("Hallå?"))
    assert (refused.delivered, refused.problem) == (False, "outside_7d")
    assert len(fake.sends()) == before + 2, "nothing sent that Meta would refuse"
    engine.dispose()


def _said_to(fake: FakeGraph, user: str, needle: str, timeout: float = 60) -> list[str]:
    """Every text the fake received for `user`, once one contains `needle`."""
    deadline = time.monotonic() + timeout
    while True:
        texts = [_strip_reminder(t) for t in _replies_to(fake, user, 0, timeout=1)]
        if any(needle in t for t in texts) or time.monotonic() > deadline:
            return texts
        time.sleep(0.1)


def _wa_text(user: str, wamid: str, text: str) -> dict[str, Any]:
    return wa_delivery([wa_message(user, wamid, "text", body=text)])


@pytest.mark.servers
def test_a_location_shared_as_the_tips_where_fills_it_with_the_place(
    meta_system: MetaSystem,
) -> None:
    fake, user = meta_system.fake, "46700000010"
    steps = [("jag vill lämna ett tips", "Vad vill du tipsa om?"),
             ("En blå skåpbil lastar av stöldgods på nätterna", "När hände det?"),
             ("varje tisdag natt", "Var hände det?")]
    for n, (text, question) in enumerate(steps):
        assert meta_system.post_webhook(_wa_text(user, f"wamid.tip{n}", text),
                                        platform="whatsapp").status_code == 200
        assert any(question in t for t in _said_to(fake, user, question)), question
    location = wa_message(user, "wamid.tip.loc", "location", latitude=57.7068,
                          longitude=11.9689, name="Brunnsparken")
    assert meta_system.post_webhook(wa_delivery([location]), platform="whatsapp"
                                    ).status_code == 200
    texts = _said_to(fake, user, "Hur vet du det här?")
    assert "Platsen du delade ligger i eller nära Göteborgs kommun." in texts
    assert any("Hur vet du det här?" in t for t in texts), "the form goes on"
    assert not any(t.count("Var hände det?") for t in texts[texts.index(
        "Platsen du delade ligger i eller nära Göteborgs kommun."):]), "not asked again"
    time.sleep(1.0)  # the conversation is stored once the turn has ended
    slots = requests.get(f"{meta_system.rasa_url}/conversations/whatsapp:{user}/tracker",
                         params={"token": meta_system.token}, timeout=10).json()["slots"]
    assert slots["tip_where"] == "Delad plats: i eller nära Göteborgs kommun"
    assert slots["area"] == "1480"


@pytest.mark.servers
def test_a_picture_during_a_handover_on_whatsapp_reaches_the_agent_as_a_line(
    meta_system: MetaSystem,
) -> None:
    from bot.handover import service
    from bot.storage.db import make_session_factory

    fake, user = meta_system.fake, "46700000011"
    assert meta_system.post_webhook(_wa_text(user, "wamid.ho1", "jag vill prata med en människa"),
                                    platform="whatsapp").status_code == 200
    assert any("i kön" in t for t in _said_to(fake, user, "i kön"))
    fake.add_media("HOPIC", PNG, "image/png")
    picture = wa_message(user, "wamid.ho2", "image", id="HOPIC", mime_type="image/png",
                         caption="så här ser bilen ut")
    assert meta_system.post_webhook(wa_delivery([picture]), platform="whatsapp"
                                    ).status_code == 200
    texts = _said_to(fake, user, "kan inte se bilder här")
    said = next(t for t in texts if "kan inte se bilder här" in t)
    assert "1 bild" in said and "tips" in said and "112" in said
    engine = make_engine(meta_system.database_url)
    try:
        with make_session_factory(engine)() as session:
            lines = [m.text for m in service.messages(session, f"whatsapp:{user}")]
    finally:
        engine.dispose()
    assert lines[-2:] == ["så här ser bilen ut", "[Medborgaren skickade 1 bild. Bilder tas emot "
                                                 "som en del av ett tips och visas inte här.]"]
