"""Language detection: Swedish, English, or None when the message does not say."""

from __future__ import annotations

import pytest

from bot.language import ENGLISH_WORDS, SWEDISH_WORDS, detect_language

# (behaviour id, message, expected language)
CASES: list[tuple[str, str, str | None]] = [
    # --- single words
    ("sv-single-word-hej", "hej", "sv"),
    ("sv-single-word-tack", "tack", "sv"),
    ("sv-greeting-with-punctuation", "Hej!", "sv"),
    ("en-single-word-hello", "hello", "en"),
    ("en-single-word-hi", "hi", "en"),
    ("en-single-word-thanks", "thanks", "en"),
    ("en-greeting-caps", "HELLO!!", "en"),
    # --- sentences
    ("sv-wants-to-give-a-tip", "Jag vill tipsa om en sak", "sv"),
    ("sv-how-to-report-with-diacritics", "Hur anmäler jag en stöld?", "sv"),
    ("sv-how-to-report-without-diacritics", "hur anmaler jag", "sv"),
    ("sv-tip-without-diacritics", "jag vill tipsa", "sv"),
    ("sv-what-is-medborgarlofte", "Vad är medborgarlöftet?", "sv"),
    ("sv-talk-to-a-human", "Kan jag få prata med en människa", "sv"),
    ("sv-diacritic-word-alone", "Hjälp", "sv"),
    ("sv-all-caps-sentence", "JAG VILL ANMÄLA ETT INBROTT", "sv"),
    ("sv-sentence-with-english-loanword", "Jag har en fråga om min app", "sv"),
    ("en-wants-to-report", "I want to report a crime", "en"),
    ("en-how-to-report-theft", "How do I report a stolen bike?", "en"),
    ("en-contractions", "I'm not sure what's happening, can't find my wallet", "en"),
    ("en-talk-to-a-person", "I want to talk to a person", "en"),
    ("en-police-question", "What does the police do about burglaries?", "en"),
    ("en-curly-apostrophes", "I don’t know what to do", "en"),
    # --- names are no evidence
    ("en-sentence-with-swedish-city", "I live in Malmö and my bike was stolen", "en"),
    ("en-sentence-with-swedish-name", "Hello, my name is Björn", "en"),
    ("none-swedish-name-only", "Anna Svensson", None),
    ("none-english-name-only", "John Smith", None),
    ("none-name-with-diacritics-only", "Björn Östlund", None),
    # --- no evidence
    ("none-ok", "ok", None),
    ("none-112", "112", None),
    ("none-114-14", "114 14", None),
    ("none-emoji-only", "👍🙂", None),
    ("none-punctuation-only", "?!...", None),
    ("none-empty", "", None),
    ("none-whitespace", "   \n\t", None),
    ("none-control-characters", "\x00\x01\x7f", None),
    ("none-tie-between-languages", "hej hello", None),
    # --- mixed messages follow the majority
    ("en-mostly-english-with-hej", "Hej, I need help with my passport", "en"),
    ("sv-mostly-swedish-with-hello", "Hello, jag vill anmäla en stöld", "sv"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [pytest.param(text, expected, id=case_id) for case_id, text, expected in CASES],
)
def test_language_is_detected(text: str, expected: str | None) -> None:
    assert detect_language(text) == expected


def test_table_is_big_enough_and_ids_unique() -> None:
    assert len(CASES) >= 30
    assert len({case[0] for case in CASES}) == len(CASES)


def test_word_lists_do_not_overlap() -> None:
    """A word in both lists would count for both and decide nothing."""
    assert not SWEDISH_WORDS & ENGLISH_WORDS


def test_word_lists_are_ascii_lowercase() -> None:
    """Words are looked up after folding, so a list entry with diacritics would never match."""
    for word in SWEDISH_WORDS | ENGLISH_WORDS:
        assert word.isascii() and word.islower() and word.isalpha(), word


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a" * 20_000, id="20000-same-letter"),
        pytest.param("hej " * 5_000, id="20000-chars-of-swedish"),
        pytest.param(bytes(range(256)).decode("latin-1"), id="binary-junk"),
        pytest.param("\ud800\udfff lone surrogates", id="lone-surrogates"),
        pytest.param("\u202e\u200b\ufeff", id="invisible-unicode"),
    ],
)
def test_junk_input_does_not_raise(text: str) -> None:
    assert detect_language(text) in {"sv", "en", None}


def test_long_swedish_message_is_swedish() -> None:
    assert detect_language("hej " * 5_000) == "sv"


def test_none_input_is_tolerated() -> None:
    assert detect_language(None) is None  # type: ignore[arg-type]
