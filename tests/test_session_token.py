"""Signed web-chat session tokens."""

from __future__ import annotations

from bot.channels.session_token import SessionTokens

TOKENS = SessionTokens(b"secret", ttl_seconds=60)


def test_a_token_resumes_its_own_conversation() -> None:
    token = TOKENS.issue("conv-1", now=1000)
    assert TOKENS.verify(token, now=1010) == "conv-1"


def test_new_tokens_get_random_conversation_ids() -> None:
    assert TOKENS.verify(TOKENS.issue()) != TOKENS.verify(TOKENS.issue())


def test_a_tampered_token_is_refused() -> None:
    conversation, expiry, signature = TOKENS.issue("conv-1", now=1000).split(".")
    assert TOKENS.verify(f"conv-2.{expiry}.{signature}", now=1010) is None
    assert TOKENS.verify(f"{conversation}.{int(expiry) + 999}.{signature}", now=1010) is None


def test_an_expired_token_is_refused() -> None:
    assert TOKENS.verify(TOKENS.issue("conv-1", now=1000), now=1061) is None


def test_a_token_from_another_secret_is_refused() -> None:
    assert SessionTokens(b"other").verify(TOKENS.issue("conv-1")) is None


def test_junk_is_refused() -> None:
    for junk in (None, "", "a.b", "a.b.c.d", 42, "x" * 500, "conv.notanumber.sig"):
        assert TOKENS.verify(junk) is None


def test_resuming_gives_the_same_token_back_until_half_its_life_is_over() -> None:
    token = TOKENS.issue("conv-1", now=1000)
    assert TOKENS.resume(token, now=1029) == ("conv-1", token), "no change for a client"
    conversation, renewed = TOKENS.resume(token, now=1031) or ("", "")
    assert conversation == "conv-1" and renewed != token
    assert TOKENS.verify(renewed, now=1080) == "conv-1", "a conversation in use does not run out"
    assert TOKENS.resume(token, now=1061) is None
    assert TOKENS.resume("conv-1") is None, "a client-chosen id is no token"
