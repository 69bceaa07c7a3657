"""The soak suite's citizens and agent (bench/soak.py) against the real system: each kind of
conversation completes and is counted, so a soak run measures the system, not its client."""

from __future__ import annotations

import aiohttp

from bench.soak import Citizen, Ledger, Soak, percentile, recovery, window_figures
from tests.conftest import RunningSystem


async def test_every_kind_of_soak_conversation_completes_against_the_system(
        system: RunningSystem) -> None:
    async with aiohttp.ClientSession() as http:
        soak = Soak(http, system.rasa_url, [system.rasa_url], system.rest_token, system.token,
                    think=0.0)
        for channel in ("rest", "socketio"):
            for flow in (soak.tip_flow, soak.promise_flow, soak.handover_flow):
                citizen = Citizen(soak, channel)
                try:
                    await flow(citizen, 7)
                finally:
                    await citizen.close()
    ledger = soak.ledger
    assert ledger.errors == [], ledger.errors
    assert ledger.lost == 0 and not ledger.wrong, (ledger.lost, ledger.wrong, ledger.tip_flows)
    assert ledger.tip_flows == {"tip over rest: confirmed": 1, "tip over socketio: confirmed": 1}
    assert len(set(ledger.confirmed)) == 2
    assert ledger.flows["promise questions"] == 2
    assert ledger.agent_replies == {"delivered": 2}, ledger.agent_replies


def test_figures_per_window_and_recovery() -> None:
    ledger = Ledger()
    ledger.errors = [(41.0, "rest 503"), (52.5, "rest 503"), (130.0, "rest 503")]
    assert recovery(ledger, 40.0) == 12.5
    assert recovery(ledger, 80.0) == 0.0
    assert percentile([0.1, 0.2, 0.3, 0.4], 0.5) == 0.3 and percentile([], 0.5) is None
    assert window_figures(ledger, 40.0, 60.0)["errors"] == 2
