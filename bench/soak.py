"""`make soak`: the load and fault suite against a cluster of its own (docs/reliability.md).

Everything runs on 127.0.0.1 and is the suite's own: a PostgreSQL database on the local
server, a `redis-server` on a free port (never the shared one on 6379), a tip webhook
receiver, and `bot.cluster` with two Rasa servers, two action servers and two web
processes behind HAProxy.

1. Throughput of one Rasa process against two, in one run: closed-loop REST conversations
   first at one Rasa server directly, then through the balancer to both.
2. The soak: `CONVERSATIONS` concurrent citizens, each starting a new conversation when one
   ends: whole tip flows over REST and socket.io, promise questions with follow-ups, and
   handovers whose agent replies go through whichever Rasa server the balancer picks.
   REST turns are balanced per request (most switch server between messages); socket.io
   citizens are connected to one server and reconnect (resuming their conversation) to the
   other when theirs goes away. During the load, one at a time: a Rasa server and an action
   server are killed (and started again by the cluster), the database connections are
   terminated, the suite's Redis is restarted, and the webhook receiver answers 500 for a
   minute.
3. The ledger: tips confirmed to citizens, stored and delivered (each exactly once), false
   confirmations, lost messages, duplicate deliveries, agent replies delivered (and across
   servers), errors by kind, p50/p95 per turn before, during and after each fault, and
   recovery times. Printed, and written to results/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import queue
import random
import re
import signal
import time
import traceback
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio
import sqlalchemy as sa
from aiohttp import web

from bench.services import LocalRedis, postgres_database
from bot.cluster import Cluster
from bot.launcher import isolated_settings, service_env
from bot.model import ensure_model
from bot.promises.service import seed_database
from bot.settings import PROJECT_ROOT, Settings
from bot.storage.migrate import upgrade
from bot.tips.delivery import SIGNATURE_HEADER, verify_signature

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REFERENCE = re.compile(r"T-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")
WEBHOOK_SECRET = "soak-webhook-secret-0123456789"
TURN_TIMEOUT = 60.0
RESENDS = 3
# The fault plan, in seconds after the load starts: (when, name). The webhook answers 500
# from its start for WEBHOOK_OUTAGE seconds.
FAULTS = ((40, "kill rasa-1"), (80, "kill actions-1"), (120, "terminate database connections"),
          (160, "restart redis"), (200, "webhook answers 500"))
WEBHOOK_OUTAGE = 60.0
LOAD_SECONDS = 300.0
DRAIN_SECONDS = 180.0
WINDOW = 20.0  # before / during / after a fault: 20 s each


@dataclass
class Turn:
    at: float
    seconds: float
    kind: str
    server: str = ""


@dataclass
class Ledger:
    """Everything the suite observed."""

    started: float = field(default_factory=time.monotonic)
    turns: list[Turn] = field(default_factory=list)
    errors: list[tuple[float, str]] = field(default_factory=list)
    confirmed: list[str] = field(default_factory=list)  # references shown to citizens
    tip_flows: Counter[str] = field(default_factory=Counter)
    flows: Counter[str] = field(default_factory=Counter)
    lost: int = 0
    wrong: Counter[str] = field(default_factory=Counter)
    agent_replies: Counter[str] = field(default_factory=Counter)
    switches: int = 0
    rest_turn_pairs: int = 0
    conversations: Counter[str] = field(default_factory=Counter)
    faults: dict[str, float] = field(default_factory=dict)
    recovered: dict[str, float] = field(default_factory=dict)

    def now(self) -> float:
        return time.monotonic() - self.started

    def error(self, kind: str) -> None:
        self.errors.append((self.now(), kind))


class Receiver:
    """The police's tip system as the suite plays it: checks each signature, counts each
    reference, and answers 500 while `failing`."""

    def __init__(self) -> None:
        self.deliveries: Counter[str] = Counter()
        self.refused = 0
        self.bad_signatures = 0
        self.failing = False

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify_signature(WEBHOOK_SECRET, body, request.headers.get(SIGNATURE_HEADER)):
            self.bad_signatures += 1
            return web.Response(status=401)
        if self.failing:
            self.refused += 1
            return web.Response(status=500)
        self.deliveries[json.loads(body)["reference"]] += 1
        return web.json_response({"ok": True})


class Citizen:
    """One conversation's client side: REST through the balancer, or socket.io connected
    to one Rasa server (reconnecting to the other when it goes away)."""

    def __init__(self, soak: Soak, channel: str) -> None:
        self.soak = soak
        self.channel = channel
        self.sender = f"soak-{random.getrandbits(64):016x}"
        self.last_server = ""
        self.servers: set[str] = set()
        self.sio: socketio.Client | None = None
        self.session_token: str | None = None
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self.server_index = random.randrange(2)

    # --- socket.io (python-socketio's client in a thread: its asyncio client's WebSocket
    # transport needs a newer aiohttp than Rasa 3.6 allows) ----------------------------
    def _connect_blocking(self) -> None:
        servers = self.soak.rasa_servers
        for attempt in range(len(servers) * 3):
            index = (self.server_index + attempt) % len(servers)
            sio = socketio.Client(reconnection=False)
            confirmed: queue.Queue[str] = queue.Queue()
            sio.on("bot_uttered", self.replies.put)
            sio.on("session_confirm", confirmed.put)
            try:
                sio.connect(servers[index], transports=["websocket"],
                            socketio_path="/socket.io", wait_timeout=10)
                sio.emit("session_request", {"session_id": self.session_token})
                self.session_token = confirmed.get(timeout=15)
                self.sio, self.server_index = sio, index
                return
            except (socketio.exceptions.ConnectionError, queue.Empty, OSError):
                self.soak.ledger.error("socketio connect")
                sio.disconnect()
                time.sleep(1)
        raise ConnectionError("no Rasa server took the socket")

    def _socket_turn_blocking(self, text: str, expect: str | None
                              ) -> list[dict[str, Any]] | None:
        if self.sio is None or not self.sio.connected:
            self._connect_blocking()
        assert self.sio is not None
        while not self.replies.empty():
            self.replies.get_nowait()
        self.sio.emit("user_uttered", {"message": text, "session_id": self.session_token})
        try:
            replies = [self.replies.get(timeout=TURN_TIMEOUT)]
        except queue.Empty:
            return None
        # The rest of the turn: until the expected words came (a busy server sends a turn's
        # messages with pauses between them), else until a second passes without one.
        deadline = time.monotonic() + TURN_TIMEOUT
        while expect is None or not any(expect in str(r.get("text", "")) for r in replies):
            try:
                wait = 1.0 if expect is None else max(0.0, deadline - time.monotonic())
                replies.append(self.replies.get(timeout=wait))
            except queue.Empty:
                break
        return replies

    async def _socket_turn(self, text: str, expect: str | None) -> list[dict[str, Any]] | None:
        return await asyncio.to_thread(self._socket_turn_blocking, text, expect)

    async def pushed(self, text: str, seconds: float = 30.0) -> bool:
        """Whether a message containing `text` arrives on the socket within `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                reply = await asyncio.to_thread(self.replies.get,
                                                timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False
            if text in str(reply.get("text", "")):
                return True
        return False

    @property
    def conversation_id(self) -> str:
        if self.channel == "rest":
            return self.sender
        assert self.session_token is not None
        return self.session_token.split(".")[0]

    # --- REST ------------------------------------------------------------------------
    async def _rest_turn(self, text: str) -> list[dict[str, Any]] | None:
        try:
            async with self.soak.http.post(
                    f"{self.soak.balancer}/webhooks/rest/webhook", headers=self.soak.rest_headers,
                    json={"sender": self.sender, "message": text},
                    timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT)) as reply:
                server = reply.headers.get("X-Served-By", "")
                if reply.status != 200:
                    self.soak.ledger.error(f"rest {reply.status}")
                    return None
                answer = await reply.json()
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            self.soak.ledger.error(f"rest {type(error).__name__}")
            return None
        if self.last_server:
            self.soak.ledger.rest_turn_pairs += 1
            self.soak.ledger.switches += server != self.last_server
        self.last_server = server
        self.servers.add(server)
        return answer

    async def say(self, text: str, expect: str | None = None) -> str | None:
        """One turn, sent again (as a citizen would) after an error or no answer; the
        joined text of the answer, or None when it never came."""
        ledger = self.soak.ledger
        for _ in range(RESENDS):
            started = time.monotonic()
            at = ledger.now()
            try:
                replies = await (self._rest_turn(text) if self.channel == "rest"
                                 else self._socket_turn(text, expect))
            except ConnectionError:
                replies = None
            if replies is None:
                if self.channel != "rest":
                    ledger.error("socketio no answer")
                    if self.sio is not None:
                        await asyncio.to_thread(self.sio.disconnect)
                    self.server_index += 1
                await asyncio.sleep(1)
                continue
            ledger.turns.append(Turn(at, time.monotonic() - started, self.channel,
                                     self.last_server))
            text_out = "\n".join(str(r.get("text", "")) for r in replies)
            if any("kan inte svara just nu" in str(r.get("text", "")) for r in replies):
                ledger.error(f"{self.channel} 'cannot answer' reply")
            if expect is not None and expect not in text_out:
                ledger.wrong[expect] += 1
            return text_out
        ledger.lost += 1
        return None

    async def close(self) -> None:
        if self.sio is not None and self.sio.connected:
            await asyncio.to_thread(self.sio.disconnect)


class Soak:
    """The citizens, the agent and the faults, against a balancer and its Rasa servers."""

    def __init__(self, http: aiohttp.ClientSession, balancer: str, rasa_servers: list[str],
                 rest_token: str, api_token: str, think: float) -> None:
        self.http = http
        self.balancer = balancer
        self.rasa_servers = rasa_servers
        self.think = think
        self.ledger = Ledger()
        self.rest_headers = {"Authorization": f"Bearer {rest_token}"}
        self.api = {"token": api_token}
        self.tracebacks: set[str] = set()
        self.load_until = float("inf")

    async def pause(self) -> None:
        """A citizen's time to read and write; once the load is over, conversations in
        flight finish quickly."""
        think = self.think if self.ledger.now() < self.load_until else 0.5
        await asyncio.sleep(think * random.uniform(0.5, 1.5))

    # --- flows -----------------------------------------------------------------------
    async def tip_flow(self, citizen: Citizen, number: int) -> None:
        flow = f"tip over {citizen.channel}"
        steps = [("hej", None), ("jag vill tipsa polisen", "Vad vill du tipsa om?"),
                 (f"Det langas narkotika vid skola {number} på kvällarna", "När hände det?"),
                 ("varje fredag kväll", "Var hände det?"),
                 ("bakom Storskolan i Karlstad", "Hur vet du"),
                 ("/tip_seen", "Kontaktuppgifter"), ("/tip_anonymous", "Så här ser ditt tips ut")]
        if citizen.channel == "socketio":  # the web chat also offers to add pictures
            steps[5:6] = [("/tip_seen", None), ("/tip_no_pictures", "Kontaktuppgifter")]
        for text, expect in steps:
            if await citizen.say(text, expect) is None:
                self.ledger.tip_flows[f"{flow}: broken off"] += 1
                return
            await self.pause()
        done = await citizen.say("/affirm")
        found = REFERENCE.search(done or "")
        if found:
            self.ledger.confirmed.append(found.group())
            self.ledger.tip_flows[f"{flow}: confirmed"] += 1
        elif done is not None and "114 14" in done:
            self.ledger.tip_flows[f"{flow}: told it failed"] += 1
        else:
            self.ledger.tip_flows[f"{flow}: no confirmation"] += 1

    async def promise_flow(self, citizen: Citizen, number: int) -> None:
        steps = [("hej", None), ("vad har polisen lovat i Göteborg Angered?", "Angered"),
                 ("/promise_followup", "300"), ("vem ansvarar för löftet?", "Angered"),
                 ("hur kan jag lämna synpunkter?", "polisen.se")]
        for text, expect in steps:
            if await citizen.say(text, expect) is None:
                return
            await self.pause()
        self.ledger.flows["promise questions"] += 1

    async def agent_reply(self, conversation_id: str, channel: str, text: str) -> str | None:
        """What the web service's RasaLink does, through the balancer: the server that
        answered the last call (it pushes the reply), or None when it failed."""
        params = {**self.api, "output_channel": channel}
        base = f"{self.balancer}/conversations/{conversation_id}"
        server = ""
        try:
            for path, body in (("/tracker/events", [{"event": "slot", "name": "agent_message",
                                                     "value": text}]),
                               ("/execute", {"name": "action_relay_agent_message"})):
                async with self.http.post(base + path, params=params, json=body,
                                          timeout=aiohttp.ClientTimeout(total=30)) as reply:
                    if reply.status != 200:
                        self.ledger.error(f"agent reply {reply.status}")
                        return None
                    server = reply.headers.get("X-Served-By", "")
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            self.ledger.error(f"agent reply {type(error).__name__}")
            return None
        return server

    async def handover_flow(self, citizen: Citizen, number: int) -> None:
        if await citizen.say("hej") is None:
            return
        await self.pause()
        if await citizen.say("jag vill prata med en människa", "i kön") is None:
            return
        await self.pause()
        text = f"Hej, det här är Anna ({number})."
        sent = None
        for _ in range(RESENDS):
            sent = await self.agent_reply(citizen.conversation_id, citizen.channel, text)
            if sent is not None:
                break
            await asyncio.sleep(1)
        if sent is None:
            self.ledger.agent_replies["not accepted"] += 1
            return
        if citizen.channel == "rest":
            answer = await citizen.say("tack")
            arrived = answer is not None and text in answer
            across = False  # a REST citizen has no connection to cross
        else:
            arrived = await citizen.pushed(text)
            across = bool(sent) and sent != f"rasa-{citizen.server_index % 2 + 1}"
        self.ledger.agent_replies["delivered" if arrived else "lost"] += 1
        if arrived and across:
            self.ledger.agent_replies["delivered across servers"] += 1

    async def citizen_loop(self, index: int, until: float) -> None:
        """One of the concurrent citizens: conversation after conversation until `until`."""
        kinds: list[tuple[str, Callable[[Citizen, int], Awaitable[None]]]] = [
            ("rest", self.tip_flow), ("socketio", self.tip_flow), ("rest", self.tip_flow),
            ("rest", self.promise_flow), ("rest", self.promise_flow),
            ("socketio", self.handover_flow), ("rest", self.handover_flow),
            ("socketio", self.promise_flow)]
        number = index
        self.load_until = until
        await asyncio.sleep(random.uniform(0, self.think * 2))  # spread the first turns
        while self.ledger.now() < until:
            channel, flow = kinds[number % len(kinds)]
            citizen = Citizen(self, channel)
            try:
                await flow(citizen, number)
            except Exception as error:  # noqa: BLE001 - count it, keep the load going
                kind = f"flow {type(error).__name__}"
                self.ledger.error(kind)
                if kind not in self.tracebacks:  # the first of each kind, to fix it
                    self.tracebacks.add(kind)
                    traceback.print_exc()
                await asyncio.sleep(1)
            finally:
                await citizen.close()
                self.ledger.conversations["all"] += 1
                if len(citizen.servers) > 1:
                    self.ledger.conversations["served by both Rasa servers"] += 1
            number += 1000


class FaultySoak(Soak):
    """The soak against a cluster of its own, with the faults."""

    def __init__(self, http: aiohttp.ClientSession, cluster: Cluster, receiver: Receiver,
                 think: float) -> None:
        super().__init__(http, cluster.settings.rasa_url,
                         [cluster.member(f"rasa-{n}").service.ready_url.removesuffix("/health")
                          for n in (1, 2)], cluster.env["REST_TOKEN"], cluster.env["RASA_TOKEN"],
                         think)
        self.cluster = cluster
        self.receiver = receiver

    async def faults(self, redis_server: LocalRedis, database_url: str) -> None:
        for when, name in FAULTS:
            await asyncio.sleep(max(0.0, when - self.ledger.now()))
            self.ledger.faults[name] = self.ledger.now()
            print(f"[{self.ledger.now():6.1f}s] fault: {name}", flush=True)
            if name == "kill rasa-1":
                self.cluster.kill("rasa-1")
                asyncio.create_task(self._healthy_again(name, "rasa-1"))
            elif name == "kill actions-1":
                self.cluster.kill("actions-1")
                asyncio.create_task(self._healthy_again(name, "actions-1"))
            elif name == "terminate database connections":
                count = await asyncio.to_thread(terminate_connections, database_url)
                print(f"          {count} connections terminated", flush=True)
            elif name == "restart redis":
                await asyncio.to_thread(redis_server.restart)
            elif name == "webhook answers 500":
                self.receiver.failing = True
                await asyncio.sleep(WEBHOOK_OUTAGE)
                self.receiver.failing = False
                print(f"[{self.ledger.now():6.1f}s] webhook answers 200 again", flush=True)

    async def _healthy_again(self, fault: str, name: str) -> None:
        """The time from the kill until the process answers its health check again."""
        url = self.cluster.member(name).service.ready_url
        await asyncio.sleep(1)
        while True:
            try:
                await asyncio.to_thread(_get, url)
                self.ledger.recovered[fault] = self.ledger.now() - self.ledger.faults[fault]
                return
            except OSError:
                await asyncio.sleep(0.5)

    async def supervise(self, until: float) -> None:
        while self.ledger.now() < until:
            for name in self.cluster.supervise():
                print(f"[{self.ledger.now():6.1f}s] {name} started again", flush=True)
            await asyncio.sleep(1)


def _get(url: str) -> None:
    with urllib.request.urlopen(url, timeout=2) as reply:
        reply.read()


def terminate_connections(database_url: str) -> int:
    """pg_terminate_backend on every connection to the suite's own database."""
    name = sa.engine.make_url(database_url).database
    admin = sa.create_engine(POSTGRES_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            return len(connection.execute(sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name}).all())
    finally:
        admin.dispose()


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def window_figures(ledger: Ledger, start: float, end: float) -> dict[str, Any]:
    seconds = [t.seconds for t in ledger.turns if start <= t.at < end]
    errors = [kind for at, kind in ledger.errors if start <= at < end]
    return {"turns": len(seconds), "p50_ms": _ms(percentile(seconds, 0.5)),
            "p95_ms": _ms(percentile(seconds, 0.95)), "errors": len(errors)}


def _ms(value: float | None) -> int | None:
    return None if value is None else round(value * 1000)


def recovery(ledger: Ledger, fault_at: float, horizon: float = 40.0) -> float | None:
    """Seconds from the fault until its last error before the next fault (0: none)."""
    errors = [at for at, _ in ledger.errors if fault_at <= at < fault_at + horizon]
    return round(max(errors) - fault_at, 1) if errors else 0.0


# --- throughput: one Rasa process against two ---------------------------------------------
async def closed_loop(http: aiohttp.ClientSession, url: str, seconds: float,
                      concurrency: int, headers: dict[str, str]) -> float:
    """Messages per second answered by `url` with `concurrency` citizens that send the next
    message as soon as the answer came."""
    script = ["hej", "hur kontaktar jag polisen?", "vad är ett medborgarlöfte?",
              "när ska jag ringa 112?", "tack"]
    done = 0
    deadline = time.monotonic() + seconds

    async def one() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            sender = f"tp-{random.getrandbits(64):016x}"
            for text in script:
                if time.monotonic() >= deadline:
                    return
                async with http.post(f"{url}/webhooks/rest/webhook", headers=headers,
                                     json={"sender": sender, "message": text},
                                     timeout=aiohttp.ClientTimeout(total=60)) as reply:
                    await reply.read()
                    done += reply.status == 200

    started = time.monotonic()
    await asyncio.gather(*(one() for _ in range(concurrency)))
    return done / (time.monotonic() - started)


async def throughput_ratio(soak: Soak, seconds: float, concurrency: int) -> dict[str, float]:
    await closed_loop(soak.http, soak.balancer, 5, concurrency, soak.rest_headers)  # warm-up
    one = await closed_loop(soak.http, soak.rasa_servers[0], seconds, concurrency,
                            soak.rest_headers)
    two = await closed_loop(soak.http, soak.balancer, seconds, concurrency, soak.rest_headers)
    return {"one_rasa_msgs_per_s": round(one, 1), "two_rasa_msgs_per_s": round(two, 1),
            "ratio": round(two / one, 2) if one else 0.0}


# --- the run ------------------------------------------------------------------------------
def stored_references(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("SELECT reference FROM tips")).scalars())
    finally:
        engine.dispose()


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/tips", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    webhook_port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    redis_server = LocalRedis(work / "redis")
    redis_server.start()
    try:
        with postgres_database(POSTGRES_ADMIN_URL) as database_url:
            settings = dataclasses.replace(isolated_settings(database_url),
                                           redis_url=redis_server.url, database_pool_size=2,
                                           database_max_overflow=4)
            upgrade(database_url)
            seed_database(database_url, PROJECT_ROOT)
            env = {**service_env(settings), "REDIS_URL": redis_server.url,
                   "DATABASE_POOL_SIZE": "2", "DATABASE_MAX_OVERFLOW": "4",
                   "CHAT_HOURS": "always",
                   "TIP_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/tips",
                   "TIP_WEBHOOK_SECRET": WEBHOOK_SECRET}
            model = ensure_model(PROJECT_ROOT, Settings.from_env().model_dir, env)
            cluster = Cluster(settings, model, env, replicas=2, web_replicas=2,
                              log_dir=work / "logs")
            print("Starting the cluster (2 Rasa, 2 actions, 2 web, HAProxy)…", flush=True)
            await asyncio.to_thread(cluster.start)
            try:
                return await drive(cluster, receiver, redis_server, database_url, args)
            finally:
                await asyncio.to_thread(cluster.stop)
    finally:
        redis_server.stop()
        await runner.cleanup()


async def drive(cluster: Cluster, receiver: Receiver, redis_server: LocalRedis,
                database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        soak = FaultySoak(http, cluster, receiver, args.think)
        print("Throughput, one Rasa process against two…", flush=True)
        ratio = await throughput_ratio(soak, args.throughput_seconds, 16)
        print(f"  {ratio}", flush=True)
        soak.ledger = Ledger()
        load = args.load_seconds
        print(f"Soak: {args.conversations} concurrent conversations for {load:.0f} s…",
              flush=True)
        supervisor = asyncio.create_task(soak.supervise(load + DRAIN_SECONDS))
        faults = asyncio.create_task(soak.faults(redis_server, database_url)) \
            if not args.no_faults else None
        await asyncio.gather(*(soak.citizen_loop(i, load) for i in range(args.conversations)))
        if faults is not None:
            await faults
        print(f"[{soak.ledger.now():6.1f}s] load over; waiting for tip deliveries…", flush=True)
        confirmed = set(soak.ledger.confirmed)
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and not confirmed <= set(receiver.deliveries):
            await asyncio.sleep(2)
        supervisor.cancel()
    stored = await asyncio.to_thread(stored_references, database_url)
    return report(soak, receiver, stored, ratio, args)


def report(soak: FaultySoak, receiver: Receiver, stored: list[str], ratio: dict[str, float],
           args: argparse.Namespace) -> dict[str, Any]:
    ledger = soak.ledger
    confirmed = Counter(ledger.confirmed)
    delivered = receiver.deliveries
    faults = {}
    for name, at in ledger.faults.items():
        lasts = WEBHOOK_OUTAGE if name == "webhook answers 500" else WINDOW
        faults[name] = {
            "at_s": round(at, 1),
            "before": window_figures(ledger, at - WINDOW, at),
            "during": window_figures(ledger, at, at + lasts),
            "after": window_figures(ledger, at + lasts, at + lasts + WINDOW),
            "errors_until_s": recovery(ledger, at),
            "process_healthy_again_s": round(ledger.recovered[name], 1)
            if name in ledger.recovered else None,
        }
    seconds = [t.seconds for t in ledger.turns]
    result = {
        "settings": {"conversations": args.conversations, "load_seconds": args.load_seconds,
                     "think_seconds": args.think, "cores": os.cpu_count(),
                     "load_average_at_end": os.getloadavg()[0]},
        "throughput_one_vs_two_rasa": ratio,
        "turns": len(seconds), "p50_ms": _ms(percentile(seconds, 0.5)),
        "p95_ms": _ms(percentile(seconds, 0.95)),
        "rest_turns_switching_server": f"{ledger.switches}/{ledger.rest_turn_pairs}",
        "conversations": dict(ledger.conversations),
        "tips": {
            "confirmed_to_citizens": len(confirmed), "stored": len(stored),
            "delivered": len(delivered),
            "confirmed_and_delivered": len(set(confirmed) & set(delivered)),
            "false_confirmations": len(set(confirmed) - set(stored)),
            "stored_not_confirmed": len(set(stored) - set(confirmed)),
            "stored_not_delivered": len(set(stored) - set(delivered)),
            "confirmed_twice": sum(1 for n in confirmed.values() if n > 1),
            "duplicate_deliveries": sum(n - 1 for n in delivered.values()),
            "webhook_refused_500": receiver.refused,
            "bad_signatures": receiver.bad_signatures,
            "flows": dict(ledger.tip_flows)},
        "lost_messages": ledger.lost,
        "unexpected_answers": dict(ledger.wrong),
        "agent_replies": dict(ledger.agent_replies),
        "other_flows": dict(ledger.flows),
        "errors_by_kind": dict(Counter(kind for _, kind in ledger.errors)),
        "faults": faults,
    }
    return result


async def with_threads(work: Awaitable[dict[str, Any]], threads: int) -> dict[str, Any]:
    """Room for every socket.io citizen's blocking client calls at once."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(threads))
    return await work


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--load-seconds", type=float, default=LOAD_SECONDS)
    parser.add_argument("--think", type=float, default=20.0,
                        help="mean seconds a citizen takes between messages")
    parser.add_argument("--throughput-seconds", type=float, default=20.0)
    parser.add_argument("--no-faults", action="store_true")
    args = parser.parse_args(argv)
    work = PROJECT_ROOT / "var" / "soak"
    work.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    result = asyncio.run(with_threads(run(args, work), args.conversations + 50))
    print(json.dumps(result, indent=2, ensure_ascii=False))
    out = PROJECT_ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / "soak.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                                   encoding="utf-8")
    tips = result["tips"]
    ok = (tips["false_confirmations"] == 0 and tips["duplicate_deliveries"] == 0
          and tips["confirmed_to_citizens"] == tips["stored"] == tips["delivered"])
    print("\nTips confirmed = stored = delivered, none falsely, none twice:",
          "yes" if ok else "NO", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
