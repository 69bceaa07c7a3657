"""Start and stop the whole system: Rasa server, action server and bot web service.

`python -m bot run` uses it, and so does the test suite, so the tests drive exactly what an
operator runs.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bot.settings import Settings

QUIET_ENV = {
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "RASA_TELEMETRY_ENABLED": "false",
    "PYTHONUNBUFFERED": "1",
    "PYTHONWARNINGS": "ignore",
}


def service_env(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every child process gets: the settings, resolved once, and quiet logs.

    Secrets left empty are generated here, so all processes of one start share them.
    """
    env = dict(os.environ if base is None else base)
    env.update(QUIET_ENV)
    env.update(
        {
            "DATABASE_URL": settings.database_url,
            "ACTION_ENDPOINT_URL": f"{settings.actions_url}/webhook",
            "RASA_TOKEN": settings.rasa_token or secrets.token_urlsafe(24),
            "SESSION_SECRET": settings.session_secret or secrets.token_hex(32),
            "REST_TOKEN": settings.rest_token or secrets.token_urlsafe(24),
            "RASA_PORT": str(settings.rasa_port),
            "ACTIONS_PORT": str(settings.actions_port),
            "WEB_PORT": str(settings.web_port),
            "SANIC_HOST": "127.0.0.1",
            # Rasa's own tracker-store engine (50 + 100 by default) gets the same bounds.
            "SQL_POOL_SIZE": str(settings.database_pool_size),
            "SQL_MAX_OVERFLOW": str(settings.database_max_overflow),
            "MPLCONFIGDIR": str(settings.root / "var" / "matplotlib"),
        }
    )
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def isolated_settings(database_url: str, **overrides: str) -> Settings:
    """Settings for a second system beside any other (tests, benchmark): free ports, its
    own database and fresh secrets; `overrides` are further settings by variable name."""
    return Settings.from_env({
        **os.environ,
        **overrides,
        "DATABASE_URL": database_url,
        "RASA_PORT": str(free_port()),
        "ACTIONS_PORT": str(free_port()),
        "WEB_PORT": str(free_port()),
        "RASA_TOKEN": secrets.token_urlsafe(24),
        "SESSION_SECRET": secrets.token_hex(32),
    })


# Restart delays after a crash: at once, then doubling up to the cap; a service that ran for
# STABLE_SECONDS starts again from the first delay.
FIRST_BACKOFF_SECONDS = 0.0
MAX_BACKOFF_SECONDS = 30.0
STABLE_SECONDS = 60.0
SUPERVISE_EVERY_SECONDS = 0.5


@dataclass
class Service:
    """One child process and the URL that answers once it is ready."""

    name: str
    argv: list[str]
    ready_url: str
    process: subprocess.Popen | None = None
    log: Path | None = None
    restarts: int = 0
    crashes_in_a_row: int = 0
    started_at: float = 0.0
    restart_at: float | None = None
    last_exit: int | None = None


def backoff(crashes_in_a_row: int) -> float:
    """Seconds to wait before restarting a service that crashed this many times running."""
    if crashes_in_a_row <= 1:
        return FIRST_BACKOFF_SECONDS
    return min(MAX_BACKOFF_SECONDS, 2.0 ** (crashes_in_a_row - 2))


@dataclass
class Stack:
    """The three processes of one running system."""

    settings: Settings
    model: Path
    env: dict[str, str]
    log_dir: Path | None = None
    credentials: Path | str = "credentials.yml"
    services: list[Service] = field(default_factory=list)
    supervise: bool = True
    """Restart a crashed service (with backoff) while the others keep serving."""

    def __post_init__(self) -> None:
        s = self.settings
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None
        self.status_file = (self.log_dir or s.root / "var") / "supervisor.json"
        self.env.setdefault("SUPERVISOR_STATUS_FILE", str(self.status_file))
        token = self.env["RASA_TOKEN"]
        self.services = [
            Service(
                "actions",
                [
                    sys.executable,
                    "-m",
                    "rasa_sdk",
                    "--actions",
                    "actions",
                    "--port",
                    str(s.actions_port),
                    "--quiet",
                ],
                f"{s.actions_url}/health",
            ),
            Service(
                "rasa",
                [
                    sys.executable,
                    "-m",
                    "bot.rasa_server",
                    "run",
                    "--model",
                    str(self.model),
                    "--enable-api",  # its token comes from RASA_TOKEN (not shown by ps)
                    "--interface",
                    s.rasa_host,
                    "--port",
                    str(s.rasa_port),
                    "--credentials",
                    str(self.credentials),
                    "--endpoints",
                    "endpoints.yml",
                    "--cors",
                    *s.cors_origins,
                ],
                f"{s.rasa_url}/status?token={token}",
            ),
            Service(
                "web",
                [sys.executable, "-m", "bot", "web"],
                f"http://127.0.0.1:{s.web_port}/health/live",
            ),
        ]

    def _spawn(self, service: Service) -> None:
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            service.log = self.log_dir / f"{service.name}.log"
            out = open(service.log, "ab")  # noqa: SIM115 - the child owns the file
        service.process = subprocess.Popen(
            service.argv,
            cwd=self.settings.root,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )
        service.started_at = time.monotonic()
        service.restart_at = None

    def start(self, timeout: float = 240.0) -> None:
        """Start every service and wait until each answers; stop all if one fails. Then,
        with `supervise`, watch them: a crashed service is restarted, the others go on."""
        try:
            self.status_file.parent.mkdir(parents=True, exist_ok=True)
            for service in self.services:
                self._spawn(service)
            deadline = time.monotonic() + timeout
            for service in self.services:
                wait_ready(service, deadline)
        except BaseException:
            self.stop()
            raise
        self._write_status()
        if self.supervise:
            self._supervisor = threading.Thread(target=self._watch, name="supervisor",
                                                daemon=True)
            self._supervisor.start()

    def restart(self, name: str, timeout: float = 240.0) -> None:
        """Stop one service and start it again (what a deployment or a crash does)."""
        service = self.service(name)
        with self._lock:
            _terminate(service)
            self._spawn(service)
        wait_ready(service, time.monotonic() + timeout)

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    def _watch(self) -> None:
        """The supervisor: notice exits, restart after the backoff, keep the status file."""
        while not self._stopping.wait(SUPERVISE_EVERY_SECONDS):
            with self._lock:
                if self._stopping.is_set():
                    return
                changed = any([self._check(service) for service in self.services])
            if changed:
                self._write_status()

    def _check(self, service: Service) -> bool:
        """Handle one service's exit or due restart; whether its state changed."""
        now = time.monotonic()
        if service.process is None or service.process.poll() is None:
            return False
        if service.restart_at is None:
            service.last_exit = service.process.returncode
            ran = now - service.started_at
            service.crashes_in_a_row = 1 if ran >= STABLE_SECONDS else service.crashes_in_a_row + 1
            delay = backoff(service.crashes_in_a_row)
            service.restart_at = now + delay
            print(f"supervisor: {service.name} stopped unexpectedly (exit code "
                  f"{service.last_exit}) after {ran:.0f} s; restarting it in {delay:.0f} s, "
                  "the other services keep serving", file=sys.stderr, flush=True)
            return True
        if now < service.restart_at:
            return False
        service.restart_at = None
        service.restarts += 1
        self._spawn(service)
        print(f"supervisor: {service.name} restarted (restart {service.restarts})",
              file=sys.stderr, flush=True)
        return True

    def status(self) -> dict[str, dict[str, object]]:
        """What the supervisor knows of each service (shown in the web service's /health)."""
        return {
            s.name: {
                "running": s.process is not None and s.process.poll() is None,
                "restarts": s.restarts,
                "last_exit_code": s.last_exit,
                "restarting": s.restart_at is not None,
            }
            for s in self.services
        }

    def _write_status(self) -> None:
        temporary = self.status_file.with_suffix(".tmp")
        temporary.write_text(json.dumps({"services": self.status(), "at": time.time()}))
        temporary.replace(self.status_file)

    def stop(self) -> None:
        """Terminate every process group this stack started (SIGTERM, then SIGKILL)."""
        self._stopping.set()
        with self._lock:
            for service in self.services:
                if service.process and service.process.poll() is None:
                    os.killpg(service.process.pid, signal.SIGTERM)
            for service in self.services:
                _terminate(service)
        if self._supervisor is not None and self._supervisor is not threading.current_thread():
            self._supervisor.join(timeout=5)

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _terminate(service: Service) -> None:
    """SIGTERM the service's process group, SIGKILL it if it is still there after 15 s."""
    if service.process is None:
        return
    if service.process.poll() is None:
        os.killpg(service.process.pid, signal.SIGTERM)
    try:
        service.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait()


def _log_tail(service: Service, lines: int = 30) -> str:
    if service.log is None or not service.log.exists():
        return ""
    tail = service.log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    return "; last log lines:\n" + "\n".join(tail)


def wait_ready(service: Service, deadline: float) -> None:
    """Poll the service's ready URL until it answers 200; fail early if it exits."""
    while time.monotonic() < deadline:
        assert service.process is not None
        if service.process.poll() is not None:
            raise RuntimeError(f"{service.name} exited with code {service.process.returncode}"
                               f"{_log_tail(service)}")
        try:
            with urllib.request.urlopen(service.ready_url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{service.name} did not become ready in time")
