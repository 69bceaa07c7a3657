"""One dead process never silences the service: the launcher restarts it (with backoff)
while the others keep serving, /health shows it, and every citizen meanwhile gets an
honest answer."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.launcher import backoff
from tests.conftest import RunningSystem, running_system

HONEST = ("114 14", "112")


@pytest.fixture(scope="module")
def system(model_path: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[RunningSystem]:
    with running_system(model_path, tmp_path_factory, ACTION_TIMEOUT_SECONDS="3") as running:
        yield running


def _kill(system: RunningSystem, name: str) -> int:
    process = system.stack.service(name).process
    assert process is not None
    os.killpg(process.pid, signal.SIGKILL)
    return process.pid


def _health(system: RunningSystem) -> dict:
    return requests.get(f"http://127.0.0.1:{system.settings.web_port}/health", timeout=10).json()


def _wait(condition, seconds: float = 240.0) -> float:  # noqa: ANN001 - a test helper
    """Seconds until `condition()` held (polling); fails after `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            if condition():
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("did not happen in time")


def test_restart_delays_start_at_once_and_double_up_to_a_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [0.0, 1.0, 2.0, 4.0]
    assert backoff(50) == 30.0


def test_a_killed_action_server_under_load_gives_honest_answers_and_comes_back(
        system: RunningSystem) -> None:
    answers: list[tuple[int, str]] = []
    killed = threading.Event()
    done = threading.Event()

    def citizen() -> None:
        while not done.is_set():
            chat = system.chat()
            for text in ("hej", "jag vill tipsa polisen",
                         "Det langas narkotika vid skolan på kvällarna", "hur kontaktar jag er?"):
                reply = requests.post(f"{system.rasa_url}/webhooks/rest/webhook", timeout=60,
                                      headers={"Authorization": f"Bearer {system.rest_token}"},
                                      json={"sender": chat.sender, "message": text})
                said = "\n".join(m.get("text", "") for m in reply.json()) if reply.ok else ""
                answers.append((reply.status_code, said if killed.is_set() else "before"))

    citizens = [threading.Thread(target=citizen) for _ in range(6)]
    for thread in citizens:
        thread.start()
    _wait(lambda: len(answers) >= 12, 60)
    old_pid = _kill(system, "actions")
    killed.set()
    killed_at = time.monotonic()
    rasa_pid, web_pid = (system.stack.service(n).process.pid for n in ("rasa", "web"))
    recovered = _wait(lambda: _health(system)["components"]["actions"]["ok"], 120)
    chat = system.chat()
    assert "Vad vill du tipsa om?" in chat.say("jag vill tipsa polisen"), "custom actions work"
    _wait(lambda: sum(1 for _, said in answers if said != "before") >= 24, 120)
    done.set()
    for thread in citizens:
        thread.join(timeout=120)
    print(f"\naction server killed: back in {recovered:.1f} s "
          f"({time.monotonic() - killed_at:.1f} s to a working custom action); "
          f"{len(answers)} answers, {sum(1 for _, s in answers if s != 'before')} after the kill")
    after = [(status, said) for status, said in answers if said != "before"]
    assert all(status == 200 for status, _ in after), [s for s, _ in after if s != 200]
    assert all(said.strip() for _, said in after), "nobody got an empty answer"
    assert any(any(h in said for h in HONEST) for _, said in after)
    assert system.stack.service("actions").process.pid != old_pid
    assert (system.stack.service("rasa").process.pid,
            system.stack.service("web").process.pid) == (rasa_pid, web_pid), "others untouched"
    supervisor = _health(system)["components"]["supervisor"]
    assert supervisor["services"]["actions"]["restarts"] >= 1
    assert supervisor["services"]["actions"]["last_exit_code"] == -signal.SIGKILL


def test_a_killed_rasa_server_leaves_the_web_service_serving_and_comes_back(
        system: RunningSystem) -> None:
    web = f"http://127.0.0.1:{system.settings.web_port}"
    _kill(system, "rasa")
    _wait(lambda: not _health(system)["components"]["rasa"]["ok"], 30)
    assert requests.get(f"{web}/health/live", timeout=10).status_code == 200
    assert requests.get(f"{web}/health", timeout=10).status_code == 503, "honest readiness"
    recovered = _wait(lambda: requests.get(
        f"{system.rasa_url}/status", params={"token": system.token}, timeout=5).ok)
    print(f"\nRasa server killed: answering again after {recovered:.1f} s")
    assert "114 14" in system.chat().say("hur kontaktar jag polisen?")
    assert _health(system)["components"]["supervisor"]["services"]["rasa"]["restarts"] >= 1
