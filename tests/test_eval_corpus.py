"""The held-out corpus (tests/eval/) follows its schema, names real places, and was never
trained on: none of its texts is a training or holdout example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bench.corpus import Case, corpus_files, load_corpus
from bench.expectations import EXPECTATIONS, PlaceNames, fold
from bot.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "tests" / "eval"
TRAINING = sorted([*(PROJECT_ROOT / "data" / "nlu").glob("*.yml"),
                   *(PROJECT_ROOT / "tests" / "data").glob("*.yml")])
# Short answers inside a script ("ja", "skicka", "avbryt") are the form's own vocabulary and
# are trained on by design; every single message, and every longer turn, must be unseen.
SHORT_ANSWER_WORDS = 3
# Texts that were training examples before the corpus was written (see the file's header):
# the only overlap allowed, and it can only shrink.
OVERLAP_BEFORE_CORPUS = CORPUS / "overlap_before_corpus.txt"
ANNOTATION = re.compile(r"\[([^\]]*)\]\s*(\([^)]*\)|\{[^}]*\})")


def words(text: str) -> str:
    """Folded, punctuation dropped: two texts that differ only there are the same text."""
    return " ".join(re.findall(r"\w+", fold(text)))


def trained_texts(paths: list[Path]) -> set[str]:
    """Every example of every intent (entity annotations reduced to their text)."""
    texts = set()
    for path in paths:
        data = yaml.safe_load(path.read_text("utf-8")) or {}
        for block in data.get("nlu") or [] if isinstance(data, dict) else []:
            for line in str(block.get("examples") or "").splitlines():
                example = line.strip().removeprefix("- ").strip()
                if example:
                    texts.add(words(ANNOTATION.sub(r"\1", example)))
    return texts


def held_out(cases: list[Case]) -> list[tuple[str, str]]:
    return [(case.id, turn.user) for case in cases for turn in case.turns
            if not case.script or len(words(turn.user).split()) > SHORT_ANSWER_WORDS]


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    if not corpus_files(CORPUS):
        pytest.skip("tests/eval/ has no cases yet")
    return load_corpus(CORPUS, EXPECTATIONS)


def test_every_corpus_file_follows_the_schema(cases: list[Case]) -> None:
    assert cases
    assert len({c.id for c in cases}) == len(cases), "two scripts of one file share a name"


def test_every_expected_place_is_a_real_municipality(cases: list[Case]) -> None:
    places = PlaceNames.load(PROJECT_ROOT / "data" / "places")
    unknown = [(c.id, e.arg) for c in cases for t in c.turns for e in t.expects
               if e.name == "place" and places.code_of((e.arg or "").partition("/")[0]) is None]
    assert not unknown


def overlap_before_corpus() -> set[str]:
    lines = OVERLAP_BEFORE_CORPUS.read_text("utf-8").splitlines()
    return {line for line in lines if line and not line.startswith("#")}


def test_no_corpus_text_is_trained_on(cases: list[Case]) -> None:
    trained = trained_texts(TRAINING) - overlap_before_corpus()
    assert trained, "no training examples found"
    leaked = [(case_id, text) for case_id, text in held_out(cases) if words(text) in trained]
    assert not leaked, (f"{len(leaked)} corpus texts are training or holdout examples "
                        f"(first 20): {leaked[:20]}")


def test_the_leak_check_sees_an_annotated_example(tmp_path: Path) -> None:
    data = tmp_path / "nlu.yml"
    data.write_text('nlu:\n- intent: ask_promise\n  examples: |\n'
                    '    - vad har polisen lovat i [Gävle](place)?\n')
    assert words("Vad har polisen lovat i Gavle") in trained_texts([data])
