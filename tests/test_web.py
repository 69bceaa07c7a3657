"""The bot web service on its own: the status page and the health report."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from bot.launcher import free_port
from bot.settings import Settings
from bot.storage.migrate import upgrade
from bot.web.app import create_app


def _settings(tmp_path: Path) -> Settings:
    # Rasa and the action server are deliberately not running on these ports.
    return Settings.from_env({"DATABASE_URL": f"sqlite:///{tmp_path}/web.db",
                              "RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port())})


async def test_health_reports_each_component_and_503_when_one_is_down(
        tmp_path: Path, aiohttp_client) -> None:
    settings = _settings(tmp_path)
    upgrade(settings.database_url)
    client: TestClient = await aiohttp_client(create_app(settings))
    reply = await client.get("/health")
    assert reply.status == 503
    report = await reply.json()
    assert report["components"]["database"]["ok"] is True
    assert report["components"]["rasa"]["ok"] is False
    assert report["components"]["actions"]["ok"] is False


async def test_the_page_shows_the_service_runs(tmp_path: Path, aiohttp_client) -> None:
    client: TestClient = await aiohttp_client(create_app(_settings(tmp_path)))
    reply = await client.get("/status")
    assert reply.status == 200
    page = await reply.text()
    assert "Tjänsten körs" in page and 'lang="sv"' in page


async def test_unknown_paths_are_404_not_500(tmp_path: Path, aiohttp_client) -> None:
    client: TestClient = await aiohttp_client(create_app(_settings(tmp_path)))
    assert (await client.get("/nope")).status == 404
    assert (await client.post("/health")).status == 405
