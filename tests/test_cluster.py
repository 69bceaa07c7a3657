"""Two Rasa servers and two action servers behind HAProxy, on PostgreSQL and Redis
(`python -m bot cluster`): a conversation stays right whichever server answers each turn,
and what one server pushes reaches a citizen connected to the other."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from bench.services import LocalRedis, local_redis, postgres_database
from bot.cluster import Cluster, haproxy_config
from bot.launcher import isolated_settings, service_env
from bot.promises.service import seed_database
from bot.settings import PROJECT_ROOT
from bot.storage.db import make_engine
from bot.storage.migrate import upgrade
from tests.conftest import POSTGRES_ADMIN_URL
from tests.test_socketio import Client

pytestmark = pytest.mark.postgres
REFERENCE = re.compile(r"T-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    with local_redis(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(model_path: Path, redis_server: LocalRedis,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with postgres_database(POSTGRES_ADMIN_URL, prefix="polisbot_cluster_") as url:
        settings = dataclasses.replace(isolated_settings(url), redis_url=redis_server.url,
                                       database_pool_size=2, database_max_overflow=3)
        upgrade(url)
        seed_database(url, PROJECT_ROOT)
        env = {**service_env(settings), "REDIS_URL": redis_server.url,
               "DATABASE_POOL_SIZE": "2", "DATABASE_MAX_OVERFLOW": "3"}
        running = Cluster(settings, model_path, env, replicas=2, web_replicas=1,
                          log_dir=tmp_path_factory.mktemp("cluster"))
        running.start()
        try:
            yield running
        finally:
            running.stop()


class SwitchingChat:
    """A REST citizen whose every turn goes to the next Rasa server in turn."""

    def __init__(self, servers: list[str], sender: str, rest_token: str) -> None:
        self.servers = servers
        self.sender = sender
        self.rest_token = rest_token
        self.turns = 0

    def say(self, text: str) -> str:
        server = self.servers[self.turns % len(self.servers)]
        self.turns += 1
        reply = requests.post(f"{server}/webhooks/rest/webhook", timeout=60,
                              json={"sender": self.sender, "message": text},
                              headers=_rest_auth(self.rest_token))
        assert reply.status_code == 200, reply.text
        return "\n".join(m.get("text", "") for m in reply.json())


def _rest_auth(token: str) -> dict[str, str]:
    """The REST channel is for integrations only: it wants the stack's token."""
    return {"Authorization": f"Bearer {token}"}


def _rasa(cluster: Cluster, number: int) -> str:
    """One Rasa server directly, past the balancer."""
    return cluster.member(f"rasa-{number}").service.ready_url.removesuffix("/health")


def _count(cluster: Cluster, table: str) -> int:
    engine = make_engine(cluster.settings.database_url)
    with engine.connect() as connection:
        count = connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return int(count)


def test_the_balancer_checks_rasas_health_route_and_sticks_only_socketio() -> None:
    settings = isolated_settings("postgresql://u@h/db")
    config = haproxy_config(settings, 9999, [1001, 1002], [2001], [3001])
    assert "option httpchk GET /health\n" in config
    assert "server rasa-2 127.0.0.1:1002 check cookie rasa2" in config
    assert config.count("cookie polisbot_node") == 1, "stickiness only for long-polling"


def test_two_interleaved_tips_switching_servers_are_each_stored_once(
        cluster: Cluster) -> None:
    before = _count(cluster, "tips")
    servers = [_rasa(cluster, 1), _rasa(cluster, 2)]
    first = SwitchingChat(servers, "cluster-a", cluster.env["REST_TOKEN"])
    second = SwitchingChat(servers[::-1], "cluster-b", cluster.env["REST_TOKEN"])
    script = [("hej", None), ("jag vill tipsa polisen", "Vad vill du tipsa om?"),
              ("Det langas narkotika vid skolan på kvällarna", "När hände det?"),
              ("varje fredag kväll", "Var hände det?"),
              ("bakom Storskolan i Karlstad", "Hur vet du"),
              ("/tip_seen", "Kontaktuppgifter är frivilliga"),
              ("/tip_anonymous", "Så här ser ditt tips ut")]
    for text, expected in script:  # turn by turn, the two conversations interleaved
        for chat in (first, second):
            answer = chat.say(text)
            assert expected is None or expected in answer, (chat.sender, text, answer)
    for chat in (first, second):
        assert REFERENCE.search(chat.say("/affirm"))
    assert _count(cluster, "tips") == before + 2


def test_the_balancer_spreads_requests_over_both_servers(cluster: Cluster) -> None:
    auth = _rest_auth(cluster.env["REST_TOKEN"])
    served = {requests.post(f"{cluster.settings.rasa_url}/webhooks/rest/webhook", timeout=60,
                            json={"sender": "cluster-spread", "message": "hej"}, headers=auth
                            ).headers.get("X-Served-By") for _ in range(4)}
    assert served == {"rasa-1", "rasa-2"}


def test_a_push_through_one_server_reaches_a_window_on_the_other(cluster: Cluster) -> None:
    client = Client(_rasa(cluster, 1))  # connected to rasa-1 only
    token = client.start()
    client.say("hej", token)
    conversation_id = token.split(".")[0]
    params: dict[str, Any] = {"token": cluster.env["RASA_TOKEN"], "output_channel": "socketio"}
    other = _rasa(cluster, 2)
    stored = requests.post(f"{other}/conversations/{conversation_id}/tracker/events",
                           params=params, timeout=30,
                           json=[{"event": "slot", "name": "agent_message", "value": "Hej!"}])
    assert stored.status_code == 200, stored.text
    relayed = requests.post(f"{other}/conversations/{conversation_id}/execute", params=params,
                            json={"name": "action_relay_agent_message"}, timeout=30)
    assert relayed.status_code == 200, relayed.text
    reply = client.replies.get(timeout=15)
    client.close()
    assert reply["text"].endswith("Hej!") and reply["metadata"]["agent"] is True


def test_a_message_pushed_to_a_rest_citizen_on_one_server_is_shown_by_the_other(
        cluster: Cluster) -> None:
    sender = "cluster-rest-waiting"
    auth = _rest_auth(cluster.env["REST_TOKEN"])
    assert requests.post(f"{_rasa(cluster, 1)}/webhooks/rest/webhook", timeout=60, headers=auth,
                         json={"sender": sender, "message": "hej"}).status_code == 200
    params = {"token": cluster.env["RASA_TOKEN"], "output_channel": "rest"}
    base = f"{_rasa(cluster, 2)}/conversations/{sender}"
    assert requests.post(f"{base}/tracker/events", params=params, timeout=30, json=[
        {"event": "slot", "name": "agent_message", "value": "Vi ringer dig."}]).ok
    assert requests.post(f"{base}/execute", params=params, timeout=30,
                         json={"name": "action_relay_agent_message"}).ok
    answer = requests.post(f"{_rasa(cluster, 1)}/webhooks/rest/webhook", timeout=60,
                           headers=auth, json={"sender": sender, "message": "tack"}).json()
    assert answer[0]["text"].endswith("Vi ringer dig."), answer


def test_a_cluster_refuses_sqlite_and_a_missing_redis_with_what_to_set() -> None:
    from bot.cluster import require_shared_stores

    with pytest.raises(SystemExit, match="DATABASE_URL"):
        require_shared_stores(isolated_settings("sqlite:///x.db"))
    with pytest.raises(SystemExit, match="REDIS_URL"):
        require_shared_stores(dataclasses.replace(isolated_settings("postgresql://u@h/db"),
                                                  redis_url=""))
