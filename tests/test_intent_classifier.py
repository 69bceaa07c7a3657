"""The faster intent classifier computes exactly what Rasa's and scikit-learn's do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from sklearn.linear_model import LogisticRegression

from bot.intent_classifier import (
    SparseRowLogisticRegressionClassifier,
    TransposedWeightsLogisticRegression,
)


def _transposed(model: LogisticRegression) -> LogisticRegression:
    fast = TransposedWeightsLogisticRegression.__new__(TransposedWeightsLogisticRegression)
    fast.__dict__.update(model.__dict__)
    return fast


def test_multinomial_probabilities_equal_scikit_learns() -> None:
    rng = np.random.default_rng(7)
    x = scipy.sparse.random(300, 500, density=0.02, format="csr", random_state=7)
    model = LogisticRegression(max_iter=300).fit(x, rng.integers(0, 6, 300))
    row = scipy.sparse.random(1, 500, density=0.05, format="csr", random_state=8)
    assert np.allclose(_transposed(model).predict_proba(row), model.predict_proba(row),
                       rtol=0, atol=1e-12)
    binary = LogisticRegression().fit(x, rng.integers(0, 2, 300))  # not multinomial: stock
    assert np.array_equal(_transposed(binary).predict_proba(row), binary.predict_proba(row))


def _featurized(*rows: scipy.sparse.coo_matrix) -> Message:
    message = Message(data={TEXT: "x"})
    for number, row in enumerate(rows):
        message.add_features(Features(row, FEATURE_TYPE_SENTENCE, TEXT, f"cvf{number}"))
        message.add_features(Features(scipy.sparse.vstack([row, row]).tocoo(),
                                      FEATURE_TYPE_SEQUENCE, TEXT, f"cvf{number}"))
    return message


def test_a_messages_classifier_row_is_the_one_rasa_builds() -> None:
    classifier = SparseRowLogisticRegressionClassifier.__new__(
        SparseRowLogisticRegressionClassifier)
    sorted_row = scipy.sparse.coo_matrix(([2, 1, 5], ([0, 0, 0], [3, 7, 40])), shape=(1, 50))
    unsorted_row = scipy.sparse.coo_matrix(([1, 4], ([0, 0], [9, 2])), shape=(1, 12))
    empty_row = scipy.sparse.coo_matrix((1, 30), dtype=np.int64)
    for rows in [(sorted_row,), (sorted_row, empty_row), (empty_row, sorted_row),
                 (unsorted_row, sorted_row), (sorted_row, sorted_row)]:
        messages = [_featurized(*rows)]
        expected = LogisticRegressionClassifier._create_X(classifier, messages)
        got = classifier._create_X(messages)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert got.has_canonical_format
        assert np.array_equal(got.toarray(), expected.toarray())


def test_the_model_runs_the_faster_classifier_and_leaves_scikit_learn_alone(
        model_path: Path) -> None:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    nodes = agent.processor.graph_runner._instantiated_nodes  # type: ignore[union-attr]
    classifiers = [node._component for node in nodes.values()
                   if isinstance(node._component, LogisticRegressionClassifier)]
    assert [type(c) for c in classifiers] == [SparseRowLogisticRegressionClassifier]
    assert type(classifiers[0].clf) is TransposedWeightsLogisticRegression
    assert LogisticRegression.predict_proba is not TransposedWeightsLogisticRegression.predict_proba
    assert LogisticRegressionClassifier._create_X is not \
        SparseRowLogisticRegressionClassifier._create_X
