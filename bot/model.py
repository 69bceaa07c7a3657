"""The trained Rasa model, cached by a hash of everything training reads.

Training is skipped when a model for the current content already exists, so `make run` and
`make test` train only after the data, domain, config or Rasa version changed.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

TRAINING_DATA = ("data/nlu", "data/rules.yml", "data/stories.yml")
# The trained featurizer's own code makes the features the classifier is trained on.
TRAINING_INPUTS = ("config.yml", "domain.yml", "requirements.txt", "bot/sentence_features.py",
                   *TRAINING_DATA)


def _files(root: Path) -> list[Path]:
    files: list[Path] = []
    for name in TRAINING_INPUTS:
        path = root / name
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
    return files


def content_hash(root: Path) -> str:
    """SHA-256 over the names and bytes of all training inputs (first 16 hex digits)."""
    digest = hashlib.sha256()
    for path in _files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(root: Path, model_dir: Path) -> Path:
    """Where the model for the current content lives (it may not exist yet)."""
    return model_dir / f"{content_hash(root)}.tar.gz"


def ensure_model(root: Path, model_dir: Path, env: dict[str, str]) -> Path:
    """Return the model for the current content, training it first when there is none."""
    target = model_path(root, model_dir)
    if target.exists():
        return target
    model_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--config",
        "config.yml",
        "--domain",
        "domain.yml",
        "--data",
        *TRAINING_DATA,
        "--out",
        str(model_dir),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    subprocess.run(command, cwd=root, env=env, check=True)
    return target
