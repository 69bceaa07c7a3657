"""The safety tables through the whole trained NLU pipeline of the running server: the
classifier and the deterministic net together must still say "emergency" for every
emergency, and must not for the look-alikes."""

from __future__ import annotations

import pytest

from tests.conftest import RunningSystem
from tests.test_safety import EMERGENCIES, NOT_EMERGENCIES


@pytest.mark.parametrize(("text", "category"), [(t, c) for _, t, c in EMERGENCIES],
                         ids=[i for i, _, _ in EMERGENCIES])
def test_every_emergency_phrasing_is_an_emergency_for_the_server(
        system: RunningSystem, text: str, category: str) -> None:
    assert system.parse(text)["intent"]["name"] == "emergency"


# The classifier alone may still call an idiom ("jag brinner för…") an emergency; a needless
# "Ring 112" is far cheaper than a missed one, so the look-alikes are held to a rate.
MAX_FALSE_ALARM_RATE = 0.05


def test_look_alikes_rarely_get_112_from_the_server(system: RunningSystem) -> None:
    alarms = [i for i, text in NOT_EMERGENCIES
              if system.parse(text)["intent"]["name"] in ("emergency", "emergency_possible")]
    assert len(alarms) / len(NOT_EMERGENCIES) <= MAX_FALSE_ALARM_RATE, alarms
