"""Input hygiene shared by every channel."""

from __future__ import annotations

from bot.channels.hygiene import MAX_MESSAGE_CHARS, clean_metadata, clean_sender, clean_text


def test_control_characters_and_nul_are_removed_but_newlines_kept() -> None:
    assert clean_text("a\x00b\x07c\nd").text == "abc\nd"


def test_long_text_is_capped_and_flagged() -> None:
    cleaned = clean_text("x" * (MAX_MESSAGE_CHARS + 10))
    assert len(cleaned.text) == MAX_MESSAGE_CHARS and cleaned.truncated


def test_a_button_payload_passes_but_a_payload_with_entities_loses_its_slash() -> None:
    assert clean_text("/give_tip").text == "/give_tip"
    assert clean_text('/give_tip{"language":"en"}').text == 'give_tip{"language":"en"}'


def test_non_text_becomes_empty() -> None:
    assert clean_text(None).text == "" and clean_text(42).text == ""


def test_senders_must_be_short_printable_strings() -> None:
    assert clean_sender("abc-123") == "abc-123"
    assert clean_sender(17) == "17"
    for bad in ("", " ", "x" * 200, "a\nb", None, True, {"a": 1}):
        assert clean_sender(bad) is None


def test_metadata_keeps_only_known_keys_and_guesses_the_language() -> None:
    assert clean_metadata({"language": "en", "evil": "x"}, "hej") == {"language": "en"}
    assert clean_metadata(None, "hej jag vill tipsa") == {"language": "sv"}
    assert clean_metadata("junk", "") == {}


def test_a_place_chosen_from_buttons_passes_but_other_entities_do_not() -> None:
    assert clean_text('/inform_place{"place": "1480/Angered"}').text.startswith("/")
    assert clean_text('/inform_place{"place": "2180"}').text.startswith("/")
    assert not clean_text('/inform_place{"area": "2180"}').text.startswith("/")
    assert not clean_text('/inform_place{"place": "x", "language": "en"}').text.startswith("/")
