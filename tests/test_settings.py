"""Settings come from the environment, with defaults that run on a fresh clone."""

from __future__ import annotations

from pathlib import Path

from bot.settings import SETTINGS, Settings


def test_defaults_use_an_sqlite_file_inside_the_project(tmp_path: Path) -> None:
    settings = Settings.from_env({}, root=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path}/var/polisbot.db"
    assert settings.rasa_host == "127.0.0.1" and settings.rasa_port == 5005
    assert settings.model_dir == tmp_path / "models"


def test_environment_overrides_defaults() -> None:
    settings = Settings.from_env({"DATABASE_URL": "postgresql://u@h/db", "WEB_PORT": "9000",
                                  "CORS_ORIGINS": "https://polisen.se https://www.polisen.se"})
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.web_port == 9000
    assert settings.cors_origins == ("https://polisen.se", "https://www.polisen.se")


def test_an_empty_variable_means_the_default() -> None:
    assert Settings.from_env({"RASA_PORT": ""}).rasa_port == 5005


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`{setting.name}`" in readme


def test_cors_is_an_allow_list_of_the_own_page_by_default() -> None:
    settings = Settings.from_env({"WEB_PORT": "8123", "RASA_PORT": "5123"})
    assert settings.cors_origins == ("http://127.0.0.1:8123", "http://localhost:8123",
                                     "http://127.0.0.1:5123", "http://localhost:5123")
    assert "*" not in settings.cors_origins
