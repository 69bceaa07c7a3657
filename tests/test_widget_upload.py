"""The web chat's picture upload (`POST /widget/upload`, bot/web/upload.py) on the real app
factory: the signed session token decides the conversation; wrong type, size and count are
refused with the citizen's reason in Swedish and English and a fitting status; bad input
never gets a 500; nothing of a picture reaches the logs."""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.channels.session_token import SessionTokens
from bot.settings import Settings
from bot.storage.db import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.tips import TIP_CIPHER
from bot.tips.crypto import TipCipher, generate_key
from bot.tips.draft import MAX_TOTAL_BYTES
from bot.tips.uploads import PictureStaging
from bot.web.app import create_app
from tests.test_tips_store import GIF, JPEG, PNG

SECRET = "upload-test-secret-" + "x" * 40
TOKENS = SessionTokens(SECRET.encode("utf-8"))
ALLOWED_ORIGIN = "https://polisen.se"
FILENAME = "hemlig-bild-på-anna.png"


def png(size: int = 0, seed: int = 0) -> bytes:
    """A PNG that passes the picture check, padded to about `size` bytes; `seed` varies it."""
    padding = max(0, size - len(PNG)) + seed
    return PNG[:-12] + b"\x00" * padding + PNG[-12:]


@pytest.fixture
def staging_db(sqlite_url: str) -> str:
    upgrade(sqlite_url)
    return sqlite_url


@pytest.fixture
def cipher() -> TipCipher:
    return TipCipher([generate_key()])


@pytest.fixture
def staging(staging_db: str, cipher: TipCipher) -> PictureStaging:
    return PictureStaging(make_session_factory(make_engine(staging_db)), cipher)


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], staging_db: str, cipher: TipCipher
                 ) -> AsyncIterator[TestClient]:
    settings = Settings.from_env({"DATABASE_URL": staging_db, "SESSION_SECRET": SECRET,
                                  "CORS_ORIGINS": f"{ALLOWED_ORIGIN} https://www.polisen.se"})
    app = create_app(settings)
    app[TIP_CIPHER] = cipher
    yield await aiohttp_client(app)


def headers(token: str | None, content_type: str = "image/png", **extra: str
            ) -> dict[str, str]:
    result = {"Content-Type": content_type, "X-Filename": "hemlig-bild-p%C3%A5-anna.png", **extra}
    if token is not None:
        result["Authorization"] = f"Bearer {token}"
    return result


async def post(client: TestClient, token: str | None, data: bytes, **kwargs: Any
               ) -> tuple[int, dict[str, Any]]:
    reply = await client.post("/widget/upload", data=data, headers=headers(token, **kwargs))
    assert reply.headers["Cache-Control"] == "no-store"
    return reply.status, await reply.json()


def assert_refused(status: int, body: dict[str, Any], expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert body["error"] == code
    assert body["reason"]["sv"] and body["reason"]["en"]
    assert body["reason"]["sv"] != body["reason"]["en"]


# --------------------------------------------------------------------------- the token


async def test_without_a_valid_session_token_nothing_is_staged(
        client: TestClient, staging: PictureStaging) -> None:
    conversation = "conv-" + "a" * 20
    valid = TOKENS.issue(conversation)
    _, expiry, signature = valid.split(".")
    tampered = f"conv-{'b' * 20}.{expiry}.{signature}"
    longer = f"{conversation}.{int(expiry) + 86400}.{signature}"
    expired = TOKENS.issue(conversation, now=time.time() - 13 * 3600)
    other_secret = SessionTokens(b"another secret").issue(conversation)
    for token in (None, "", "garbage", tampered, longer, expired, other_secret, "x" * 5000):
        status, body = await post(client, token, PNG)
        assert_refused(status, body, 401, "unauthorised")
        assert "Ladda om sidan" in body["reason"]["sv"] and "Reload" in body["reason"]["en"]
    basic = await client.post("/widget/upload", data=PNG,
                              headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status == 401 and basic.headers["WWW-Authenticate"].startswith("Bearer")
    assert staging.staged(conversation) == [] and staging.staged("conv-" + "b" * 20) == []

    status, body = await post(client, valid, PNG)
    assert status == 200, body
    assert body["picture"]["content_type"] == "image/png"
    assert body["picture"]["size"] == len(PNG)
    assert body["staged"] == 1 and body["bytes"] == len(PNG)
    assert body["max_files"] == 4 and body["max_bytes"] == MAX_TOTAL_BYTES
    (staged,) = staging.staged(conversation)
    assert staged.id == body["picture"]["id"], "the token decided the conversation"


async def test_without_a_session_secret_every_upload_is_refused(
        aiohttp_client: Callable[..., Any], staging_db: str, cipher: TipCipher) -> None:
    app = create_app(Settings.from_env({"DATABASE_URL": staging_db, "SESSION_SECRET": ""}))
    app[TIP_CIPHER] = cipher
    client = await aiohttp_client(app)
    forged = SessionTokens(b"").issue("conv-1")
    status, body = await post(client, forged, PNG)
    assert_refused(status, body, 401, "unauthorised")


# ------------------------------------------------------------------- type, size, count


async def test_jpeg_png_and_gif_are_taken_by_their_bytes(client: TestClient,
                                                         staging: PictureStaging) -> None:
    token = TOKENS.issue("conv-types")
    for data, declared in ((JPEG, "image/jpeg"), (GIF, "application/octet-stream"),
                           (PNG, "image/gif")):
        status, body = await post(client, token, data, content_type=declared)
        assert status == 200, body
    assert [p.content_type for p in staging.staged("conv-types")] == [
        "image/jpeg", "image/gif", "image/png"]


@pytest.mark.parametrize(("data", "declared", "status", "code", "words"), [
    (b"%PDF-1.7 not a picture", "image/png", 415, "unsupported", ("JPEG", "JPEG")),
    (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64, "video/mp4", 415, "video", ("Filmer", "Films")),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml", 415, "unsupported",
     ("PNG", "PNG")),
    (PNG[:40], "image/png", 422, "unreadable", ("skadad", "damaged")),
    (b"", "image/png", 400, "empty", ("tom", "empty")),
])
async def test_what_is_not_a_picture_is_refused_with_the_reason(
        client: TestClient, staging: PictureStaging, data: bytes, declared: str, status: int,
        code: str, words: tuple[str, str]) -> None:
    token = TOKENS.issue("conv-refused")
    got, body = await post(client, token, data, content_type=declared)
    assert_refused(got, body, status, code)
    assert words[0] in body["reason"]["sv"] and words[1] in body["reason"]["en"]
    assert staging.staged("conv-refused") == []


async def test_at_most_four_pictures_and_the_same_one_twice_counts_once(
        client: TestClient, staging: PictureStaging) -> None:
    token = TOKENS.issue("conv-count")
    for number in range(1, 5):
        status, body = await post(client, token, png(seed=number))
        assert status == 200 and body["staged"] == number
    status, body = await post(client, token, png(seed=2))
    assert status == 200 and body["staged"] == 4, "a double click adds nothing"
    status, body = await post(client, token, png(seed=9))
    assert_refused(status, body, 409, "too_many")
    assert "högst 4 bilder" in body["reason"]["sv"] and "at most 4" in body["reason"]["en"]
    assert len(staging.staged("conv-count")) == 4
    other = TOKENS.issue("conv-other")
    status, body = await post(client, other, png(seed=9))
    assert status == 200 and body["staged"] == 1, "another conversation has its own four"


async def test_more_than_10_mb_together_is_refused(client: TestClient,
                                                   staging: PictureStaging) -> None:
    token = TOKENS.issue("conv-size")
    status, body = await post(client, token, png(6 * 1024 * 1024))
    assert status == 200, body
    status, body = await post(client, token, png(5 * 1024 * 1024))
    assert_refused(status, body, 413, "too_large")
    assert "10 MB" in body["reason"]["sv"] and "10 MB" in body["reason"]["en"]
    status, body = await post(client, token, png(3 * 1024 * 1024))
    assert status == 200 and body["staged"] == 2 and body["bytes"] <= MAX_TOTAL_BYTES


async def test_a_body_over_the_cap_is_refused_before_it_is_read(
        client: TestClient, staging: PictureStaging) -> None:
    token = TOKENS.issue("conv-huge")
    status, body = await post(client, token, png(MAX_TOTAL_BYTES + 1))
    assert_refused(status, body, 413, "too_large")

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: cut off while reading
        yield PNG[:-12]
        for _ in range(12):
            yield b"\x00" * (1024 * 1024)

    reply = await client.post("/widget/upload", data=chunked(), headers=headers(token))
    assert reply.status == 413 and (await reply.json())["error"] == "too_large"
    assert staging.staged("conv-huge") == []


@pytest.mark.parametrize("extra", [
    {"Content-Type": "multipart/form-data; boundary=zzz"},
    {"Content-Type": 'image/png; charset="unterminated'},
    {"Content-Type": "image/png", "Authorization": "Bearer a.b.c", "X-Filename": ""},
    {"Content-Type": ""},
    {"X-Filename": "%ZZ%ff%00../../etc/passwd" + "%41" * 500},
    {"Content-Length": "12"},
])
async def test_garbage_and_forged_requests_never_get_a_500(
        client: TestClient, extra: dict[str, str]) -> None:
    token = TOKENS.issue("conv-garbage")
    sent = {**headers(token), **extra}
    for data in (b"\x00\xff" * 300, PNG):
        reply = await client.post("/widget/upload", data=data, headers=sent)
        assert reply.status < 500, (extra, reply.status, await reply.text())
        # JSON from the route; aiohttp's own HTTP parser answers malformed framing with 400.
        assert reply.content_type == "application/json" or reply.status == 400


async def test_a_compressed_body_is_refused_unread(client: TestClient,
                                                  staging: PictureStaging) -> None:
    token = TOKENS.issue("conv-gzip")
    bomb = gzip.compress(PNG[:-12] + b"\x00" * (50 * 1024 * 1024) + PNG[-12:])
    for body in (bomb, b"not gzip at all"):
        status, answer = await post(client, token, body, **{"Content-Encoding": "gzip"})
        assert_refused(status, answer, 415, "encoded")
    assert staging.staged("conv-gzip") == []


async def test_other_methods_are_refused(client: TestClient) -> None:
    for method in ("GET", "PUT", "DELETE"):
        reply = await client.request(method, "/widget/upload")
        assert reply.status == 405


# ------------------------------------------------------------------------- CORS, logs


async def test_cors_for_the_configured_origins_only(client: TestClient,
                                                    staging: PictureStaging) -> None:
    asked = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization,content-type,x-filename"}
    preflight = await client.options("/widget/upload",
                                     headers={"Origin": ALLOWED_ORIGIN, **asked})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
    allowed = {h.strip().lower()
               for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-filename"} <= allowed
    foreign = await client.options("/widget/upload",
                                   headers={"Origin": "https://evil.example", **asked})
    assert foreign.status == 403 and "Access-Control-Allow-Origin" not in foreign.headers

    token = TOKENS.issue("conv-cors")
    status, body = await post(client, token, PNG, Origin="https://evil.example")
    assert_refused(status, body, 403, "origin")
    reply = await client.post("/widget/upload", data=PNG,
                              headers=headers(token, Origin=ALLOWED_ORIGIN))
    assert reply.status == 200
    assert reply.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    refused = await client.post("/widget/upload", data=PNG,
                                headers=headers(None, Origin=ALLOWED_ORIGIN))
    assert refused.status == 401, "a refusal is readable by the widget too"
    assert refused.headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert len(staging.staged("conv-cors")) == 1


async def test_neither_the_picture_nor_its_name_is_logged(
        client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token = TOKENS.issue("conv-logs")
    marker = b"SECRET-PIXELS-" * 4
    await post(client, token, PNG[:-12] + marker + PNG[-12:])
    await post(client, token, b"not a picture " + marker)
    await post(client, None, marker)
    text = caplog.text
    assert FILENAME not in text and "hemlig" not in text
    assert "SECRET-PIXELS" not in text
    assert "conv-logs" not in text
