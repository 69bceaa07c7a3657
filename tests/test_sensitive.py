"""Violence or control in a close relationship is recognised without the classifier."""

from __future__ import annotations

import pytest

from bot.sensitive import is_sensitive


@pytest.mark.parametrize("text", [
    "Min sambo kontrollerar allt jag gör", "min man hotar mig ibland", "min pojkvan slog mig",
    "jag vill veta mer om våld i nära relation", "hedersvåld", "my husband threatens me",
    "my boyfriend hits me when he is drunk", "I think I'm in an abusive relationship",
])
def test_close_relationship_violence_is_sensitive(text: str) -> None:
    assert is_sensitive(text)


@pytest.mark.parametrize("text", [
    "hej", "min cykel blev stulen", "jag vill tipsa om min granne", "min man heter Erik",
    "my dad works for the police", "", "🙂",
])
def test_ordinary_messages_are_not(text: str) -> None:
    assert not is_sensitive(text)
