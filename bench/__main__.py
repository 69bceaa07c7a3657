"""Benchmark: the full stack (NLU, policies, action server, SQL tracker store) against a
stock `rasa init` bot trained in a temporary folder, on the same machine in one run.

Prints p50/p95 latency and throughput, sequentially and at 20 concurrent conversations,
with the ratios, and the NLU accuracy on the held-out set. Writes results/bench.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import requests
import yaml

from bench.load import Result, run_load
from bot.launcher import (
    QUIET_ENV,
    Service,
    Stack,
    free_port,
    isolated_settings,
    service_env,
    wait_ready,
)
from bot.model import ensure_model
from bot.settings import PROJECT_ROOT, Settings
from bot.storage.migrate import upgrade

OURS_SCRIPT = ["hej", "hur kontaktar jag polisen?", "vad är ett medborgarlöfte?",
               "när ska jag ringa 112?", "how do I report a crime?", "tack", "hej då"]
STOCK_SCRIPT = ["hello", "I am sad", "yes", "are you a bot?", "great", "thanks", "bye"]
SEQUENTIAL_CONVERSATIONS = 15
CONCURRENT_CONVERSATIONS = 60
CONCURRENCY = 20


def measure(base_url: str, script: list[str], pids: tuple[int, ...],
            rest_token: str = "") -> dict[str, Result]:
    asyncio.run(run_load(base_url, script, 3, 3, rest_token=rest_token))  # warm-up
    return {
        "sequential": asyncio.run(run_load(base_url, script, SEQUENTIAL_CONVERSATIONS, 1,
                                           pids, rest_token)),
        "concurrent": asyncio.run(run_load(base_url, script, CONCURRENT_CONVERSATIONS,
                                           CONCURRENCY, pids, rest_token)),
    }


def holdout_accuracy(base_url: str, token: str) -> dict[str, float]:
    """Intent accuracy of the running model on tests/data/nlu_holdout.yml."""
    data = yaml.safe_load((PROJECT_ROOT / "tests/data/nlu_holdout.yml").read_text("utf-8"))
    right = total = 0
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            text = line.strip().removeprefix("- ").strip()
            if not text:
                continue
            parsed = requests.post(f"{base_url}/model/parse", params={"token": token},
                                   json={"text": text}, timeout=30).json()
            total += 1
            right += parsed["intent"]["name"] == block["intent"]
    return {"examples": total, "accuracy": right / total if total else 0.0}


def stock_bot(workdir: Path) -> tuple[subprocess.Popen, str]:
    """`rasa init` in a temporary folder (it trains the default pipeline) and serve it."""
    env = {**os.environ, **QUIET_ENV}
    workdir.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir",
                    str(workdir)], cwd=workdir, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "rasa", "run", "--port", str(port), "--interface", "127.0.0.1"],
        cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True)
    service = Service("stock", [], f"http://127.0.0.1:{port}/", process)
    import time

    wait_ready(service, time.monotonic() + 300)
    return process, f"http://127.0.0.1:{port}"


def row(name: str, result: Result) -> str:
    return (f"{name:<28} {result.p50 * 1000:8.0f} {result.p95 * 1000:8.0f} "
            f"{result.throughput:8.1f} {result.cpu_ms_per_message:8.1f} {result.messages:6d} "
            f"{result.errors:4d}")


def main() -> int:
    results: dict[str, dict[str, Result]] = {}
    with tempfile.TemporaryDirectory(prefix="polisbot-bench-") as tmp:
        tmpdir = Path(tmp)
        print("Training and starting a stock `rasa init` bot…", flush=True)
        process, stock_url = stock_bot(tmpdir / "stock")
        try:
            print("Measuring the stock bot…", flush=True)
            results["stock"] = measure(stock_url, STOCK_SCRIPT, (process.pid,))
        finally:
            import signal

            os.killpg(process.pid, signal.SIGTERM)
            process.wait()

        settings = isolated_settings(f"sqlite:///{tmpdir / 'polisbot.db'}")
        upgrade(settings.database_url)
        env = service_env(settings)
        model = ensure_model(PROJECT_ROOT, Settings.from_env().model_dir, env)
        print("Starting this assistant's full stack…", flush=True)
        with Stack(settings, model, env, log_dir=tmpdir / "logs") as stack:
            print("Measuring this assistant…", flush=True)
            pids = tuple(s.process.pid for s in stack.services
                         if s.process is not None and s.name != "web")
            results["ours"] = measure(settings.rasa_url, OURS_SCRIPT, pids,
                                      stack.env["REST_TOKEN"])
            accuracy = holdout_accuracy(settings.rasa_url, stack.env["RASA_TOKEN"])

    print(f"\n{'run':<28} {'p50 ms':>8} {'p95 ms':>8} {'msg/s':>8} {'cpu ms':>8} {'msgs':>6} "
          f"{'err':>4}")
    for bot in ("stock", "ours"):
        for mode, result in results[bot].items():
            print(row(f"{bot} {mode}", result))
    for bot, runs in results.items():
        failed = sorted({text for result in runs.values() for text in result.failed})
        if failed:
            print(f"{bot}: an error or an empty answer for " + ", ".join(map(repr, failed)))
    ours, stock = results["ours"]["concurrent"], results["stock"]["concurrent"]
    ratios = {
        "throughput_ratio_at_20": ours.throughput / stock.throughput,
        "p95_ratio_at_20": ours.p95 / stock.p95,
        "sequential_p50_ratio": results["ours"]["sequential"].p50
        / results["stock"]["sequential"].p50,
    }
    print(f"\nAt {CONCURRENCY} concurrent conversations: throughput x"
          f"{ratios['throughput_ratio_at_20']:.1f} of the stock bot, p95 "
          f"{ratios['p95_ratio_at_20']:.2f} of the stock bot's.")
    print(f"NLU accuracy on the held-out set: {accuracy['accuracy']:.1%} "
          f"({accuracy['examples']} examples)")
    out = PROJECT_ROOT / "results" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "results": {b: {m: {**r.__dict__, "throughput": r.throughput} for m, r in v.items()}
                    for b, v in results.items()},
        "ratios": ratios, "holdout": accuracy, "cpus": os.cpu_count(),
    }, indent=2))
    print(f"Written to {out.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
