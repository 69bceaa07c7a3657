"""Rasa's own checks: the training data validates and the test stories predict right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.launcher import service_env
from bot.model import TRAINING_DATA
from bot.settings import PROJECT_ROOT
from tests.conftest import RunningSystem


def test_rasa_data_validate_finds_no_errors() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--domain", "domain.yml",
         "--config", "config.yml", "--data", *TRAINING_DATA],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_rasa_test_stories_pass(system: RunningSystem, model_path: Path, tmp_path: Path) -> None:
    # Through bot.rasa_server: the stories run on what production runs, fixes included.
    result = subprocess.run(
        [sys.executable, "-m", "bot.rasa_server", "test", "core", "--model", str(model_path),
         "--stories", "tests/test_stories.yml", "--endpoints", "endpoints.yml",
         "--out", str(tmp_path), "--fail-on-prediction-errors", "--no-plot"],
        cwd=PROJECT_ROOT, env=service_env(system.settings), capture_output=True, text=True,
        timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
