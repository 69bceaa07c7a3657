"""The production description in deploy/ is checked: the Kubernetes manifests against the
Kubernetes schemas (offline, kubernetes-validate ships them), probes and secrets as the
operations guide says, and the database connections of every replica fit PostgreSQL."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
VALIDATOR_ENV = PROJECT_ROOT / "var" / "kubernetes-validate"
KUBERNETES_VERSION = "1.30.0"
APPS = ("rasa", "actions", "web")
# Database engines each process opens (bot/storage/db.make_engine): the Rasa server's
# tracker store; the action server's handover desk, promises, tips and picture staging;
# the web service's own and its handover desk.
ENGINES = {"rasa": 1, "actions": 4, "web": 2}
POSTGRES_RESERVED = 3  # superuser_reserved_connections


@pytest.fixture(scope="module")
def validator() -> Path:
    """kubernetes-validate in a virtualenv of its own (its jsonschema is newer than Rasa's),
    installed from the exact pins in deploy/requirements-validate.txt on first use."""
    command = VALIDATOR_ENV / "bin" / "kubernetes-validate"
    if not command.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VALIDATOR_ENV)], check=True)
        subprocess.run([str(VALIDATOR_ENV / "bin" / "pip"), "install", "--quiet", "-r",
                        str(DEPLOY / "requirements-validate.txt")], check=True, timeout=600)
    return command


def _validate(validator: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(validator), "--strict", "--quiet", "-k", KUBERNETES_VERSION,
                           *map(str, files)], capture_output=True, text=True, timeout=300)


def _resources() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS
            for doc in yaml.safe_load_all(path.read_text("utf-8")) if doc]


def _find(kind: str, name: str) -> dict[str, Any]:
    return next(r for r in _resources() if r["kind"] == kind and r["metadata"]["name"] == name)


def test_every_manifest_is_valid_against_the_kubernetes_schemas(validator: Path) -> None:
    result = _validate(validator, *MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_broken_manifest(validator: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text((DEPLOY / "kubernetes" / "rasa.yaml").read_text("utf-8").replace(
        "replicas: 2", "replica: 2", 1), encoding="utf-8")
    assert _validate(validator, broken).returncode != 0


@pytest.mark.parametrize("app", APPS)
def test_each_service_runs_as_a_deployment_with_probes_and_secrets_from_the_environment(
        app: str) -> None:
    deployment = _find("Deployment", app)
    assert deployment["spec"]["replicas"] >= 2
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"].startswith("/health")
    assert container["livenessProbe"]["httpGet"]["path"].startswith("/health")
    sources = container["envFrom"]
    assert {"secretRef": {"name": "polisbot-secrets"}} in sources
    assert "volumeMounts" not in container, "secrets are environment variables, not files"


def test_no_secret_is_written_into_the_description() -> None:
    assert not [r for r in _resources() if r["kind"] == "Secret"]
    config = _find("ConfigMap", "polisbot-config")["data"]
    for name in ("RASA_TOKEN", "SESSION_SECRET", "TIP_ENCRYPTION_KEYS", "DATABASE_URL",
                 "POSTGRES_PASSWORD", "TIP_WEBHOOK_SECRET"):
        assert name not in config
    compose = (DEPLOY / "compose.yaml").read_text("utf-8")
    for name in ("RASA_TOKEN", "SESSION_SECRET", "TIP_ENCRYPTION_KEYS", "POSTGRES_PASSWORD"):
        assert re.search(rf"\$\{{{name}:\?", compose), f"{name} must come from the environment"


def test_the_rasa_server_recognises_its_action_servers_endpoint() -> None:
    config = _find("ConfigMap", "polisbot-config")["data"]
    assert config["ACTION_ENDPOINT_URL"].startswith(config["ACTIONS_URL"])


def test_every_replica_at_its_maximum_fits_pgbouncer_and_postgresql() -> None:
    config = _find("ConfigMap", "polisbot-config")["data"]
    per_engine = int(config["DATABASE_POOL_SIZE"]) + int(config["DATABASE_MAX_OVERFLOW"])
    assert int(config["SQL_POOL_SIZE"]) + int(config["SQL_MAX_OVERFLOW"]) <= per_engine

    def most_replicas(app: str) -> int:
        scalers = [r for r in _resources() if r["kind"] == "HorizontalPodAutoscaler"
                   and r["spec"]["scaleTargetRef"]["name"] == app]
        return scalers[0]["spec"]["maxReplicas"] if scalers else \
            _find("Deployment", app)["spec"]["replicas"]

    clients = sum(most_replicas(app) * ENGINES[app] * per_engine for app in APPS)
    bouncer = _find("Deployment", "pgbouncer")
    env = {e["name"]: e.get("value") for e in bouncer["spec"]["template"]["spec"]
           ["containers"][0]["env"]}
    pods = bouncer["spec"]["replicas"]
    assert clients <= pods * int(env["PGBOUNCER_MAX_CLIENT_CONN"]) / 2, \
        "room for a PgBouncer pod to fail"
    server_side = pods * (int(env["PGBOUNCER_DEFAULT_POOL_SIZE"])
                          + int(env["PGBOUNCER_RESERVE_POOL_SIZE"]))
    postgres = _find("StatefulSet", "postgres")["spec"]["template"]["spec"]["containers"][0]
    max_connections = int(postgres["args"][postgres["args"].index("-c") + 1].split("=")[1])
    assert server_side <= max_connections - POSTGRES_RESERVED
    assert "@pgbouncer:6432/" in (DEPLOY / "kubernetes" / "config.yaml").read_text("utf-8")


def test_the_compose_file_runs_two_of_each_behind_the_balancer_through_pgbouncer() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text("utf-8"))
    services = compose["services"]
    assert {"postgres", "pgbouncer", "redis", "rasa", "actions", "web", "balancer",
            "migrate"} <= set(services)
    for app in APPS:
        assert services[app]["deploy"]["replicas"] >= 2
        assert "healthcheck" in services[app]
        assert "@pgbouncer:6432/" in services[app]["environment"]["DATABASE_URL"]
    environment = services["rasa"]["environment"]
    assert environment["ACTION_ENDPOINT_URL"].startswith(environment["ACTIONS_URL"]), \
        "the Rasa server recognises its action server's endpoint (bot/rasa_fixes.py)"
    assert environment["RASA_URL"] == "http://balancer:5005"
