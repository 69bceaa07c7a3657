"""The staff API: bearer tokens from the command line, one tip by reference, tips since a time."""

# The database fixtures are imported from test_tips_store; test arguments "redefine" them.
# ruff: noqa: F811

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator, RefResolver
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.settings import Settings
from bot.tips.api import install, parse_since
from bot.tips.cli import register, register_purge
from bot.tips.crypto import TipCipher
from bot.tips.delivery import payload
from bot.tips.settings import TipSettings
from bot.tips.store import submit
from bot.tips.tokens import create_token, list_tokens, revoke_token, verify_token
from bot.web.app import create_app
from tests.test_tips_store import (  # noqa: F401 - fixtures
    GIF,
    PHONE,
    PNG,
    SECRET_TEXT,
    cipher,
    database_url,
    engine,
    make_draft,
    sessions,
)

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
async def client(
    aiohttp_client: Callable[..., Any], database_url: str, cipher: TipCipher
) -> TestClient:
    app = create_app(Settings.from_env({"DATABASE_URL": database_url}))
    install(app, TipSettings(), cipher=cipher)
    return await aiohttp_client(app)


@pytest.fixture
def token(engine: Engine) -> str:
    return create_token(engine, "pkc-test")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_without_a_token_the_api_answers_401(
    client: TestClient, sessions: sessionmaker, cipher: TipCipher
) -> None:
    reference = submit(sessions, make_draft(), "k", cipher=cipher).reference
    for path in (f"/api/tips/{reference}", "/api/tips", f"/api/tips/{reference}/attachments/1"):
        reply = await client.get(path)
        assert reply.status == 401
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        body = await reply.json()
        assert body["error"] == "unauthorised" and SECRET_TEXT not in str(body)


@pytest.mark.parametrize(
    "header",
    ["Bearer pbt_wrong", "Bearer ", "Basic dXNlcjpwYXNz", "pbt_no_scheme", "Bearer " + "x" * 5000],
)
async def test_a_wrong_token_gets_401(client: TestClient, token: str, header: str) -> None:
    reply = await client.get("/api/tips", headers={"Authorization": header})
    assert reply.status == 401


async def test_with_a_token_staff_read_a_tip_by_its_reference(
    client: TestClient, token: str, sessions: sessionmaker, cipher: TipCipher
) -> None:
    draft = make_draft(
        attachments=[("foto.png", "image/png", PNG), ("b.gif", "image/gif", GIF)],
        municipality_code="0180",
    )
    reference = submit(sessions, draft, "k", cipher=cipher, now=T0).reference
    reply = await client.get(f"/api/tips/{reference}", headers=bearer(token))
    assert reply.status == 200
    assert reply.headers["Cache-Control"] == "no-store"
    tip = await reply.json()
    assert tip["reference"] == reference
    assert tip["what"] == draft.what and tip["when"] == draft.when and tip["where"] == draft.where
    assert tip["how_known"] == "seen_myself"
    assert tip["anonymous"] is False and tip["contact"] == draft.contact
    assert tip["channel"] == "rest" and tip["language"] == "sv"
    assert tip["created_at"] == "2026-11-26T09:00:00Z"
    assert tip["municipality_code"] == "0180"
    assert tip["delivery"]["status"] == "pending" and tip["delivery"]["attempts"] == 0
    assert tip["attachments"] == [
        {
            "position": 1,
            "filename": "foto.png",
            "content_type": "image/png",
            "size": len(PNG),
            "url": f"/api/tips/{reference}/attachments/1",
        },
        {
            "position": 2,
            "filename": "b.gif",
            "content_type": "image/gif",
            "size": len(GIF),
            "url": f"/api/tips/{reference}/attachments/2",
        },
    ]
    picture = await client.get(tip["attachments"][0]["url"], headers=bearer(token))
    assert picture.status == 200 and picture.content_type == "image/png"
    assert await picture.read() == PNG
    assert picture.headers["X-Content-Type-Options"] == "nosniff"
    missing = await client.get(f"/api/tips/{reference}/attachments/3", headers=bearer(token))
    assert missing.status == 404


async def test_an_anonymous_tip_says_so(
    client: TestClient, token: str, sessions: sessionmaker, cipher: TipCipher
) -> None:
    reference = submit(sessions, make_draft(contact=None), "k", cipher=cipher).reference
    tip = await (await client.get(f"/api/tips/{reference}", headers=bearer(token))).json()
    assert tip["anonymous"] is True and tip["contact"] is None


async def test_a_reference_typed_in_lower_case_finds_the_tip(
    client: TestClient, token: str, sessions: sessionmaker, cipher: TipCipher
) -> None:
    reference = submit(sessions, make_draft(), "k", cipher=cipher).reference
    reply = await client.get(f"/api/tips/{reference.lower()}", headers=bearer(token))
    assert reply.status == 200 and (await reply.json())["reference"] == reference


@pytest.mark.parametrize("reference", ["T-AAAA-BBBB", "nonsense", "T-0000-0000"])
async def test_an_unknown_reference_is_404(client: TestClient, token: str, reference: str) -> None:
    reply = await client.get(f"/api/tips/{reference}", headers=bearer(token))
    assert reply.status == 404
    assert (await reply.json())["error"] == "not_found"


async def test_tips_are_listed_since_a_time(
    client: TestClient, token: str, sessions: sessionmaker, cipher: TipCipher
) -> None:
    references = [
        submit(
            sessions, make_draft(), f"k{n}", cipher=cipher, now=T0 + timedelta(hours=n)
        ).reference
        for n in range(3)
    ]
    everything = await (await client.get("/api/tips", headers=bearer(token))).json()
    assert [t["reference"] for t in everything["tips"]] == references
    assert everything["count"] == 3 and everything["more"] is False
    for since in ("2026-11-26T10:00:00Z", "2026-11-26T11:00:00+01:00", "2026-11-26T10:00:00"):
        reply = await client.get("/api/tips", params={"since": since}, headers=bearer(token))
        assert reply.status == 200
        assert [t["reference"] for t in (await reply.json())["tips"]] == references[1:]
    # An unencoded "+" arrives as a space; the offset is still understood.
    reply = await client.get("/api/tips?since=2026-11-26T11:00:00+01:00", headers=bearer(token))
    assert [t["reference"] for t in (await reply.json())["tips"]] == references[1:]
    later = await client.get("/api/tips", params={"since": "2026-11-27"}, headers=bearer(token))
    assert (await later.json())["tips"] == []


async def test_a_long_list_comes_in_pages(
    client: TestClient, token: str, sessions: sessionmaker, cipher: TipCipher
) -> None:
    for n in range(5):
        submit(sessions, make_draft(), f"k{n}", cipher=cipher, now=T0 + timedelta(minutes=n))
    first = await (
        await client.get("/api/tips", params={"limit": "2"}, headers=bearer(token))
    ).json()
    assert first["count"] == 2 and first["more"] is True
    assert first["next_since"] == "2026-11-26T09:01:00Z"
    pending = await client.get("/api/tips", params={"status": "delivered"}, headers=bearer(token))
    assert (await pending.json())["tips"] == []


@pytest.mark.parametrize(
    "params",
    [
        {"since": "yesterday"},
        {"since": "2026-13-01"},
        {"since": ""},
        {"limit": "0"},
        {"limit": "many"},
        {"limit": "501"},
        {"status": "lost"},
    ],
)
async def test_a_bad_query_is_400(client: TestClient, token: str, params: dict[str, str]) -> None:
    reply = await client.get("/api/tips", params=params, headers=bearer(token))
    assert reply.status == 400
    assert (await reply.json())["error"].startswith("bad_")


async def test_a_bad_query_without_a_token_is_still_401(client: TestClient) -> None:
    reply = await client.get("/api/tips", params={"since": "yesterday"})
    assert reply.status == 401


async def test_the_api_logs_no_tip_text(
    client: TestClient,
    token: str,
    sessions: sessionmaker,
    cipher: TipCipher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reference = submit(sessions, make_draft(), "k", cipher=cipher).reference
    with caplog.at_level(logging.DEBUG):
        await client.get(f"/api/tips/{reference}", headers=bearer(token))
        await client.get("/api/tips", headers=bearer(token))
    for plain in (SECRET_TEXT, PHONE, "850709-9805", token):
        assert plain not in caplog.text


def test_tokens_are_stored_only_as_hashes(engine: Engine) -> None:
    token = create_token(engine, "pkc-stockholm", now=T0)
    with engine.connect() as connection:
        stored = " ".join(
            str(v) for v in connection.execute(sa.text("SELECT * FROM api_tokens")).one()
        )
    assert token not in stored and token[4:] not in stored
    assert verify_token(engine, token, now=T0 + timedelta(hours=1)) == "pkc-stockholm"
    (info,) = list_tokens(engine)
    assert info.name == "pkc-stockholm" and info.last_used_at == T0 + timedelta(hours=1)


async def test_a_revoked_token_no_longer_opens_the_api(
    client: TestClient, engine: Engine, token: str
) -> None:
    assert (await client.get("/api/tips", headers=bearer(token))).status == 200
    assert revoke_token(engine, "pkc-test")
    assert (await client.get("/api/tips", headers=bearer(token))).status == 401
    assert not revoke_token(engine, "pkc-test")


def test_the_token_command_prints_a_token_that_works(
    database_url: str,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    register(commands)
    register_purge(commands)
    args = parser.parse_args(["tips", "token", "create", "pkc-malmö"])
    assert args.func(args) == 0
    token = capsys.readouterr().out.strip()
    assert verify_token(engine, token) == "pkc-malmö"
    again = parser.parse_args(["tips", "token", "create", "pkc-malmö"])
    assert again.func(again) == 1  # names are unique


def test_since_accepts_the_common_iso_8601_forms() -> None:
    utc = timezone.utc
    assert parse_since("2026-11-26") == datetime(2026, 11, 26, tzinfo=utc)
    assert parse_since("2026-11-26T10:00:00Z") == datetime(2026, 11, 26, 10, tzinfo=utc)
    assert parse_since("2026-11-26T11:00:00.5+01:00") == datetime(
        2026, 11, 26, 10, 0, 0, 500000, tzinfo=utc
    )
    with pytest.raises(ValueError):
        parse_since("26/11/2026")


async def test_answers_match_the_published_openapi_description(
    client: TestClient, token: str, engine: Engine, sessions: sessionmaker, cipher: TipCipher
) -> None:
    spec = yaml.safe_load((Path(__file__).parent.parent / "docs" / "openapi.yaml").read_text())
    resolver = RefResolver.from_schema(spec)

    def check(schema: str, document: Any) -> None:
        validator = Draft202012Validator(spec["components"]["schemas"][schema], resolver=resolver)
        validator.validate(document)

    draft = make_draft(attachments=[("a.png", "image/png", PNG)], municipality_code="1480")
    reference = submit(sessions, draft, "k", cipher=cipher).reference
    submit(sessions, make_draft(contact=None, where=None), "k2", cipher=cipher)
    check("Tip", await (await client.get(f"/api/tips/{reference}", headers=bearer(token))).json())
    check("TipList", await (await client.get("/api/tips", headers=bearer(token))).json())
    check("Error", await (await client.get("/api/tips/T-AAAA-BBBB", headers=bearer(token))).json())
    built = payload(engine, cipher, 1, now=T0)
    assert built is not None
    check("DeliveredTip", json.loads(built[1]))
