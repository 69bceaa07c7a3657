"""The sentence-only featurizer makes exactly the sentence features Rasa's makes, and no
per-token features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.sentence_features import SentenceCountVectorsFeaturizer

ROOT = Path(__file__).parent.parent
CONFIGS = [{"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5}, {"analyzer": "word"}]
ODD_TEXTS = ["", "   ", "🙂🙂🙂", "<script>alert(1)</script>", "Ring 112 NU!!", "123 45 Gävle",
             "GÖTEBORG göteborg goteborg", "x" * 3000, "tab\there\nnew line", "ÅÄÖ åäö é",
             "zzzqqq unseen words only", "hej hej hej hej"]


def _training_data() -> TrainingData:
    return load_data(str(ROOT / "data" / "nlu"))


def _tokenized(texts: list[str], tokenizer: WhitespaceTokenizer) -> list[Message]:
    messages = [Message(data={TEXT: text}) for text in texts]
    tokenizer.process(messages)
    return messages


@pytest.fixture(scope="module")
def tokenizer() -> WhitespaceTokenizer:
    context = ExecutionContext(GraphSchema({}), node_name="tokenizer")
    return WhitespaceTokenizer.create(WhitespaceTokenizer.get_default_config(),
                                      None, None, context)  # type: ignore[arg-type]


def _featurizers(cls_config: dict, tmp_path: Path, training: TrainingData
                 ) -> tuple[CountVectorsFeaturizer, SentenceCountVectorsFeaturizer]:
    storage = LocalModelStorage(tmp_path)
    made = []
    for cls in (CountVectorsFeaturizer, SentenceCountVectorsFeaturizer):
        context = ExecutionContext(GraphSchema({}), node_name=f"{cls.__name__}_{len(made)}")
        featurizer = cls.create({**cls.get_default_config(), **cls_config}, storage,
                                Resource(context.node_name), context)  # type: ignore[arg-type]
        featurizer.train(training)
        made.append(featurizer)
    return made[0], made[1]  # type: ignore[return-value]


@pytest.mark.parametrize("config", CONFIGS, ids=[c["analyzer"] for c in CONFIGS])
def test_every_message_gets_rasas_sentence_features_and_no_token_features(
        config: dict, tmp_path: Path, tokenizer: WhitespaceTokenizer) -> None:
    training = _training_data()
    tokenizer.process_training_data(training)
    stock, sentence_only = _featurizers(config, tmp_path, training)
    texts = [m.get(TEXT) for m in training.training_examples if m.get(TEXT)] + ODD_TEXTS
    for text in texts:
        rasas, ours = _tokenized([text], tokenizer), _tokenized([text], tokenizer)
        stock.process(rasas)
        sentence_only.process(ours)
        rasa_sequence, rasa_sentence = rasas[0].get_sparse_features(TEXT)
        our_sequence, our_sentence = ours[0].get_sparse_features(TEXT)
        assert our_sequence is None, text
        if rasa_sentence is None:
            assert our_sentence is None, text
            continue
        expected, got = rasa_sentence.features, our_sentence.features  # type: ignore[union-attr]
        assert isinstance(got, scipy.sparse.coo_matrix)
        assert got.shape == expected.shape and got.dtype == expected.dtype, text
        assert np.array_equal(got.col, expected.col), text
        assert np.array_equal(got.data, expected.data), text
        assert np.array_equal(got.row, expected.row), text


def test_intents_are_featurized_as_rasa_does(tmp_path: Path,
                                             tokenizer: WhitespaceTokenizer) -> None:
    training = _training_data()
    tokenizer.process_training_data(training)
    stock, sentence_only = _featurizers({"analyzer": "word"}, tmp_path, training)
    for intent in sorted(training.intents)[:10]:
        rasas = [Message(data={INTENT: intent})]
        ours = [Message(data={INTENT: intent})]
        tokenizer.process(rasas)
        tokenizer.process(ours)
        stock.process(rasas)
        sentence_only.process(ours)
        rasa_sequence = rasas[0].get_sparse_features(INTENT)[0]
        our_sequence = ours[0].get_sparse_features(INTENT)[0]
        assert rasa_sequence is not None and our_sequence is not None
        assert (rasa_sequence.features != our_sequence.features).nnz == 0
