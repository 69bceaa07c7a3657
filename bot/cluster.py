"""`python -m bot cluster` (`make cluster`): N Rasa servers, N action servers and M web
processes behind HAProxy, on PostgreSQL and Redis, on one machine.

Each process is started as `python -m bot run` starts it (`bot.launcher`), on a port of its
own; HAProxy listens on the ports one system would use (RASA_PORT, ACTIONS_PORT, WEB_PORT),
checks every process's health every second and sends each request to a healthy one. Every
process reaches the others through HAProxy (the Rasa servers call the action servers
through it, the web processes call Rasa through it), so a dead or restarting process is
routed around. Nothing depends on which process a citizen lands on: conversations are in
the database, their locks and the web chat's rooms in Redis. The socket.io backend still
sets a cookie, so long-polling clients stay on one server (engine.io needs that for
polling; the web chat itself uses WebSocket only): a fallback, not a requirement.

A process that exits is started again (after `RESTART_DELAY_SECONDS`), so a crash costs
capacity for a few seconds, not the service.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from bot.launcher import Service, Stack, _log_tail, _terminate, free_port, service_env, wait_ready
from bot.model import ensure_model
from bot.promises.service import seed_database
from bot.settings import Settings
from bot.storage.migrate import upgrade

RESTART_DELAY_SECONDS = 1.0
CHECK_INTERVAL_MS = 1000

HAPROXY_CONFIG = """\
# Written by bot/cluster.py for one run; see docs/deployment.md.
global
    maxconn 4000

defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout tunnel 1h
    timeout http-keep-alive 10s
    timeout check 2s
    # A request that could not reach a process goes to another one; a request a process
    # received is never sent twice (it may have stored a tip).
    option redispatch
    retries 3
    retry-on conn-failure
    default-server inter {check_ms} fastinter 500 fall 2 rise 1

frontend monitor
    bind 127.0.0.1:{monitor_port}
    monitor-uri /ready
    stats enable
    stats uri /stats

frontend rasa_in
    bind {rasa_host}:{rasa_port}
    acl socketio path_beg /socket.io
    use_backend rasa_socketio if socketio
    default_backend rasa

backend rasa
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    http-response set-header X-Served-By %s
{rasa_servers}

backend rasa_socketio
    balance leastconn
    option httpchk GET /health
    http-check expect status 200
    cookie polisbot_node insert indirect nocache httponly
{rasa_socketio_servers}

frontend actions_in
    bind 127.0.0.1:{actions_port}
    default_backend actions

backend actions
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
{actions_servers}

frontend web_in
    bind {web_host}:{web_port}
    default_backend web

backend web
    balance roundrobin
    option httpchk GET /health/live
    http-check expect status 200
    http-response set-header X-Served-By %s
{web_servers}
"""


def haproxy_config(settings: Settings, monitor_port: int, rasa: list[int], actions: list[int],
                   web: list[int]) -> str:
    """HAProxy's configuration for the public ports of `settings` and the given processes."""

    def servers(prefix: str, ports: list[int], cookie: bool = False) -> str:
        return "\n".join(
            f"    server {prefix}-{number} 127.0.0.1:{port} check"
            + (f" cookie {prefix}{number}" if cookie else "")
            for number, port in enumerate(ports, start=1))

    return HAPROXY_CONFIG.format(
        check_ms=CHECK_INTERVAL_MS, monitor_port=monitor_port,
        rasa_host=settings.rasa_host, rasa_port=settings.rasa_port,
        actions_port=settings.actions_port, web_host=settings.web_host,
        web_port=settings.web_port,
        rasa_servers=servers("rasa", rasa), rasa_socketio_servers=servers("rasa", rasa, True),
        actions_servers=servers("actions", actions), web_servers=servers("web", web))


def require_shared_stores(settings: Settings) -> None:
    """Several processes need a server database and Redis; say so plainly otherwise."""
    if sa.engine.make_url(settings.database_url).get_backend_name() == "sqlite":
        raise SystemExit("A cluster needs a server database: set DATABASE_URL to PostgreSQL, "
                         "e.g. postgresql://user:password@127.0.0.1:5432/polisbot.")
    if not settings.redis_url:
        raise SystemExit("A cluster needs Redis (conversation locks, web chat rooms): set "
                         "REDIS_URL, e.g. redis://127.0.0.1:6379/0.")


def ensure_database(database_url: str) -> None:
    """Create the PostgreSQL database of `database_url` when it does not exist yet."""
    url = sa.engine.make_url(database_url)
    admin = sa.create_engine(url.set(database="postgres"), future=True,
                             isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            found = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                       {"n": url.database}).first()
            if not found:
                connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
    finally:
        admin.dispose()


@dataclass
class Member:
    """One process of the cluster: a service with its own environment."""

    service: Service
    env: dict[str, str]
    restarts: int = 0


@dataclass
class Cluster:
    """The processes of one cluster and the balancer in front of them."""

    settings: Settings
    model: Path
    env: dict[str, str]
    replicas: int = 2
    web_replicas: int = 2
    log_dir: Path | None = None
    members: list[Member] = field(default_factory=list)
    monitor_port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        s = self.settings
        rasa = [free_port() for _ in range(self.replicas)]
        actions = [free_port() for _ in range(self.replicas)]
        web = [free_port() for _ in range(self.web_replicas)]
        # What every process is told about the others: the balancer's ports.
        shared = {**self.env, "RASA_PORT": str(s.rasa_port), "ACTIONS_PORT": str(s.actions_port),
                  "WEB_PORT": str(s.web_port)}
        for number, port in enumerate(actions, start=1):
            own = dataclasses.replace(s, actions_port=port)
            self._add(f"actions-{number}", Stack(own, self.model, shared).services[0],
                      {**shared, "ACTIONS_PORT": str(port)})
        for number, port in enumerate(rasa, start=1):
            own = dataclasses.replace(s, rasa_port=port, rasa_host="127.0.0.1")
            service = Stack(own, self.model, shared).services[1]
            service.ready_url = f"http://127.0.0.1:{port}/health"
            self._add(f"rasa-{number}", service, {**shared, "RASA_PORT": str(port)})
        for number, port in enumerate(web, start=1):
            own = dataclasses.replace(s, web_port=port, web_host="127.0.0.1")
            self._add(f"web-{number}", Stack(own, self.model, shared).services[2],
                      {**shared, "WEB_PORT": str(port), "WEB_HOST": "127.0.0.1"})
        config = haproxy_config(s, self.monitor_port, rasa, actions, web)
        config_dir = self.log_dir or s.root / "var" / "cluster"
        config_dir.mkdir(parents=True, exist_ok=True)
        path = config_dir / "haproxy.cfg"
        path.write_text(config, encoding="utf-8")
        self._add("haproxy", Service("haproxy", ["haproxy", "-db", "-f", str(path)],
                                     f"http://127.0.0.1:{self.monitor_port}/ready"), shared)

    def _add(self, name: str, service: Service, env: dict[str, str]) -> None:
        service.name = name
        self.members.append(Member(service, env))

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.service.name == name)

    def _spawn(self, member: Member) -> None:
        out = None
        service = member.service
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            service.log = self.log_dir / f"{service.name}.log"
            out = open(service.log, "ab")  # noqa: SIM115 - the child owns the file
        service.process = subprocess.Popen(
            service.argv, cwd=self.settings.root, env=member.env, stdout=out,
            stderr=subprocess.STDOUT if out else None, start_new_session=True)

    def start(self, timeout: float = 300.0) -> None:
        """Start every process and wait until each answers; stop all if one fails."""
        try:
            for member in self.members:
                self._spawn(member)
            deadline = time.monotonic() + timeout
            for member in self.members:
                wait_ready(member.service, deadline)
        except BaseException:
            self.stop()
            raise

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one process (a crash, for the fault suite); `supervise` starts it again."""
        process = self.member(name).service.process
        if process is not None and process.poll() is None:
            process.send_signal(sig)

    def supervise(self) -> list[str]:
        """Start again every process that exited; the names of those restarted."""
        restarted = []
        for member in self.members:
            process = member.service.process
            if process is not None and process.poll() is not None:
                print(f"{member.service.name} exited ({process.returncode}); starting it again"
                      f"{_log_tail(member.service, 5)}", file=sys.stderr, flush=True)
                member.restarts += 1
                self._spawn(member)
                restarted.append(member.service.name)
        return restarted

    def stop(self) -> None:
        """Terminate every process this cluster started (the balancer first)."""
        for member in reversed(self.members):
            _terminate(member.service)


def run_cluster(settings: Settings, model: Path, env: dict[str, str], replicas: int,
                web_replicas: int, stopping: threading.Event) -> int:
    """Start a cluster, keep every process running until `stopping` is set, stop it."""
    cluster = Cluster(settings, model, env, replicas, web_replicas,
                      log_dir=settings.root / "var" / "cluster")
    print(f"Starting {replicas} Rasa servers, {replicas} action servers and {web_replicas} "
          "web processes behind HAProxy…", flush=True)
    cluster.start()
    s = settings
    print(f"""
Running (logs in var/cluster/):
  bot web service     http://{s.web_host}:{s.web_port}/
  REST channel        http://{s.rasa_host}:{s.rasa_port}/webhooks/rest/webhook
  socket.io channel   http://{s.rasa_host}:{s.rasa_port}/socket.io
  HAProxy status      http://127.0.0.1:{cluster.monitor_port}/stats
Press Ctrl-C to stop everything.""", flush=True)
    try:
        while not stopping.wait(RESTART_DELAY_SECONDS):
            cluster.supervise()
    finally:
        print("Stopping…", flush=True)
        cluster.stop()
    return 0


def cmd_cluster(args: argparse.Namespace) -> int:
    """Run N Rasa servers, N action servers and M web processes behind HAProxy."""
    settings = Settings.from_env()
    require_shared_stores(settings)
    if sa.engine.make_url(settings.database_url).get_backend_name() == "postgresql":
        ensure_database(settings.database_url)
    env = service_env(settings)
    upgrade(settings.database_url)
    seed_database(settings.database_url, settings.root)
    model = ensure_model(settings.root, settings.model_dir, env)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    return run_cluster(settings, model, env, args.replicas, args.web_replicas, stopping)


def register(commands: argparse._SubParsersAction) -> None:
    sub = commands.add_parser("cluster", help=(cmd_cluster.__doc__ or "").splitlines()[0])
    sub.add_argument("--replicas", type=int, default=2,
                     help="Rasa servers, and as many action servers (default 2)")
    sub.add_argument("--web-replicas", type=int, default=2, help="web processes (default 2)")
    sub.set_defaults(func=cmd_cluster)
