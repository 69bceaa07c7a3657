"""The wait a citizen is told: it follows the queue position and reads correctly."""

from __future__ import annotations

from bot.handover.notices import wait_estimate, wait_phrase


def test_the_wait_grows_with_the_place_in_the_queue() -> None:
    assert wait_estimate(1, 1) == 1
    assert wait_estimate(1, 9) == 9, "ninth in the queue does not wait one minute"
    assert wait_estimate(3, 4) == 12
    assert wait_estimate(0, 0) == 1, "never zero"


def test_the_wait_reads_correctly_in_swedish_and_english() -> None:
    assert wait_phrase(1, "sv") == "cirka 1 minut"
    assert wait_phrase(9, "sv") == "cirka 9 minuter"
    assert wait_phrase(1, "en") == "about 1 minute"
    assert wait_phrase(2, "en") == "about 2 minutes"
    assert wait_phrase(75, "sv") == "mer än en timme"
    assert wait_phrase(60, "en") == "more than an hour"
