"""Benchmark: the full stack (NLU, policies, action server, SQL tracker store) against a
stock `rasa init` bot trained in a temporary folder, on the same machine in one run.

Two scripts per bot (SCRIPTS): FAQ-like questions, and a citizen's conversation (a promise
with follow-ups, then a whole tip with a typed correction). Prints p50/p95 latency and
throughput for each, sequentially and at 20 concurrent conversations, with the ratios and
whether the targets are met on both, and the NLU accuracy on the held-out set. The counts
are options (`python -m bench --help`; `make bench BENCH_ARGS="--concurrent 20"`) for a
quick, rougher run. Writes results/bench.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from bench.expectations import REFERENCE
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
from bot.promises.service import seed_database
from bot.settings import PROJECT_ROOT, Settings
from bot.storage.migrate import upgrade

# Two scripts each, the same number of turns for both bots: questions one after another
# (FAQ-like), and what citizens actually produce: the promise for a place with two
# follow-ups, then a whole tip with one correction typed at the summary.
OURS_SCRIPT = ["hej", "hur kontaktar jag polisen?", "vad är ett medborgarlöfte?",
               "när ska jag ringa 112?", "how do I report a crime?", "tack", "hej då"]
STOCK_SCRIPT = ["hello", "I am sad", "yes", "are you a bot?", "great", "thanks", "bye"]
OURS_CITIZEN_SCRIPT = [
    "vad har polisen lovat i Gävle?", "vad gör de åt narkotika?", "vem ansvarar?",
    "jag vill lämna ett tips", "det säljs narkotika vid busshållplatsen på kvällarna",
    "igår kväll", "vid busshållplatsen på Drottninggatan", "jag såg det själv",
    "jag vill vara anonym", "nej det var i förrgår, inte igår", "skicka"]
STOCK_CITIZEN_SCRIPT = ["hello", "I am sad", "no", "are you a bot?", "hey there", "I am great",
                        "good morning", "I am very sad", "yes", "are you a human?", "bye"]
SCRIPTS = {"faq": (OURS_SCRIPT, STOCK_SCRIPT),
           "citizen": (OURS_CITIZEN_SCRIPT, STOCK_CITIZEN_SCRIPT)}
SEQUENTIAL_CONVERSATIONS = 15
CONCURRENT_CONVERSATIONS = 60
CONCURRENCY = 20
TARGET_THROUGHPUT_RATIO = 4.0
TARGET_P95_RATIO = 1 / 3


@dataclass(frozen=True)
class Counts:
    """Conversations per run (overridable for a quick run: the figures are then rougher)."""

    sequential: int = SEQUENTIAL_CONVERSATIONS
    concurrent: int = CONCURRENT_CONVERSATIONS
    concurrency: int = CONCURRENCY


def measure(base_url: str, script: list[str], pids: tuple[int, ...],
            counts: Counts, rest_token: str = "") -> dict[str, Result]:
    asyncio.run(run_load(base_url, script, 3, 3, rest_token=rest_token))  # warm-up
    return {
        "sequential": asyncio.run(run_load(base_url, script, counts.sequential, 1, pids,
                                           rest_token)),
        "concurrent": asyncio.run(run_load(base_url, script, counts.concurrent,
                                           counts.concurrency, pids, rest_token)),
    }


def last_answer(base_url: str, script: list[str], rest_token: str = "") -> str:
    """Play `script` once and return the bot's texts for its last message: shows which path
    the measured conversations took (e.g. whether the tip was really sent)."""
    sender = "bench-check-" + uuid.uuid4().hex
    texts: list[str] = []
    for text in script:
        reply = requests.post(f"{base_url}/webhooks/rest/webhook", timeout=60,
                              json={"sender": sender, "message": text},
                              headers={"Authorization": f"Bearer {rest_token}"})
        texts = [m.get("text") or "" for m in reply.json()]
    return "\n".join(texts)


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
    return (f"{name:<36} {result.p50 * 1000:8.0f} {result.p95 * 1000:8.0f} "
            f"{result.throughput:8.1f} {result.cpu_ms_per_message:8.1f} {result.messages:6d} "
            f"{result.errors:4d}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--sequential", type=int, default=SEQUENTIAL_CONVERSATIONS,
                        help="conversations one at a time, per script (default 15)")
    parser.add_argument("--concurrent", type=int, default=CONCURRENT_CONVERSATIONS,
                        help="conversations in the concurrent run, per script (default 60)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY,
                        help="conversations at once in the concurrent run (default 20)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = Counts(args.sequential, args.concurrent, args.concurrency)
    results: dict[str, dict[str, dict[str, Result]]] = {"stock": {}, "ours": {}}
    with tempfile.TemporaryDirectory(prefix="polisbot-bench-") as tmp:
        tmpdir = Path(tmp)
        print("Training and starting a stock `rasa init` bot…", flush=True)
        process, stock_url = stock_bot(tmpdir / "stock")
        try:
            for name, (_, stock_script) in SCRIPTS.items():
                print(f"Measuring the stock bot ({name} script)…", flush=True)
                results["stock"][name] = measure(stock_url, stock_script, (process.pid,),
                                                 counts)
        finally:
            import signal

            os.killpg(process.pid, signal.SIGTERM)
            process.wait()

        settings = isolated_settings(f"sqlite:///{tmpdir / 'polisbot.db'}")
        upgrade(settings.database_url)
        seed_database(settings.database_url, PROJECT_ROOT)
        env = service_env(settings)
        model = ensure_model(PROJECT_ROOT, Settings.from_env().model_dir, env)
        print("Starting this assistant's full stack…", flush=True)
        with Stack(settings, model, env, log_dir=tmpdir / "logs") as stack:
            pids = tuple(s.process.pid for s in stack.services
                         if s.process is not None and s.name != "web")
            for name, (ours_script, _) in SCRIPTS.items():
                print(f"Measuring this assistant ({name} script)…", flush=True)
                results["ours"][name] = measure(settings.rasa_url, ours_script, pids, counts,
                                                  stack.env["REST_TOKEN"])
            tip_answer = last_answer(settings.rasa_url, OURS_CITIZEN_SCRIPT,
                                     stack.env["REST_TOKEN"])
            accuracy = holdout_accuracy(settings.rasa_url, stack.env["RASA_TOKEN"])

    print(f"\n{'run':<36} {'p50 ms':>8} {'p95 ms':>8} {'msg/s':>8} {'cpu ms':>8} {'msgs':>6} "
          f"{'err':>4}")
    for bot in ("stock", "ours"):
        for name, runs in results[bot].items():
            for mode, result in runs.items():
                print(row(f"{bot} {name} {mode}", result))
    for bot, scripts in results.items():
        for name, runs in scripts.items():
            failed = sorted({text for result in runs.values() for text in result.failed})
            if failed:
                print(f"{bot} {name}: an error or an empty answer for "
                      + ", ".join(map(repr, failed)))
    ratios: dict[str, dict[str, float]] = {}
    print()
    for name in SCRIPTS:
        ours, stock = results["ours"][name]["concurrent"], results["stock"][name]["concurrent"]
        ratios[name] = {
            "throughput_ratio_at_20": ours.throughput / stock.throughput,
            "p95_ratio_at_20": ours.p95 / stock.p95,
            "sequential_p50_ratio": results["ours"][name]["sequential"].p50
            / results["stock"][name]["sequential"].p50,
        }
        met = (ratios[name]["throughput_ratio_at_20"] >= TARGET_THROUGHPUT_RATIO
               and ratios[name]["p95_ratio_at_20"] <= TARGET_P95_RATIO)
        print(f"{name} script, {counts.concurrency} concurrent conversations: throughput x"
              f"{ratios[name]['throughput_ratio_at_20']:.1f} of the stock bot, p95 "
              f"{ratios[name]['p95_ratio_at_20']:.2f} of the stock bot's: targets (x4, 1/3) "
              f"{'met' if met else 'NOT met'}.")
    tip_sent = bool(REFERENCE.search(tip_answer))
    print("The citizen script's tip was " + ("sent (a reference was shown)." if tip_sent else
          "NOT sent: the conversations measured took another path. Its last answer: "
          + repr(tip_answer[:120])))
    print(f"NLU accuracy on the held-out set: {accuracy['accuracy']:.1%} "
          f"({accuracy['examples']} examples)")
    out = PROJECT_ROOT / "results" / "bench.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "results": {b: {n: {m: {**r.__dict__, "throughput": r.throughput}
                            for m, r in runs.items()} for n, runs in scripts.items()}
                    for b, scripts in results.items()},
        "ratios": ratios, "counts": counts.__dict__, "citizen_tip_sent": tip_sent,
        "holdout": accuracy, "cpus": os.cpu_count(),
    }, indent=2))
    print(f"Written to {out.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
