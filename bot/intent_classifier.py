"""Rasa's `LogisticRegressionClassifier`, a little faster: a registered component
(`config.yml` names it), so neither Rasa's classifier nor scikit-learn's
`LogisticRegression` changes for anything else in the process (docs/performance.md).

Per message the stock classifier builds its row with scipy's `hstack` and `vstack` even when
there is nothing to stack, and scikit-learn re-validates the input and multiplies by a
transposed (non-contiguous) weight matrix: together about 1 ms of a ~8 ms message.
This one passes the one sparse row through as is, and computes the multinomial
probabilities as scikit-learn does (the same dot product, intercept and `softmax`) with the
weights transposed once; other cases go to Rasa and scikit-learn unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from sklearn.linear_model import LogisticRegression
from sklearn.utils.extmath import softmax


def is_multinomial(model: LogisticRegression) -> bool:
    """Whether scikit-learn's `predict_proba` takes the softmax path for `model`."""
    ovr = model.multi_class in ("ovr", "warn") or (
        model.multi_class == "auto"
        and (model.classes_.size <= 2 or model.solver == "liblinear"))
    coef = getattr(model, "coef_", None)
    return not ovr and coef is not None and coef.shape[0] > 2


class TransposedWeightsLogisticRegression(LogisticRegression):
    """A trained `LogisticRegression` whose multinomial `predict_proba` of a sparse row
    uses its weights transposed once (contiguous), with scikit-learn's own arithmetic."""

    def predict_proba(self, X: Any) -> Any:  # noqa: N803 - scikit-learn's name
        if (not is_multinomial(self) or not scipy.sparse.isspmatrix_csr(X)
                or X.shape[1] != self.coef_.shape[1]):
            return super().predict_proba(X)
        kept = self.__dict__.get("_coef_t")
        if kept is None or kept[0] is not self.coef_:
            kept = self.__dict__["_coef_t"] = (self.coef_, np.ascontiguousarray(self.coef_.T))
        return softmax(np.asarray(X @ kept[1] + self.intercept_, dtype=np.float64), copy=False)


def sentence_row(messages: list[Message]) -> scipy.sparse.csr_matrix | None:
    """The classifier's row for one message with sparse sentence features and no dense
    ones: the featurizers' sentence rows side by side, as Rasa's combination and `hstack`
    give (the unused sequence features are not combined). Rows with sorted columns (as the
    featurizers make them) become the CSR row directly. None for any other case."""
    if len(messages) != 1:
        return None
    features = [f for f in messages[0].features
                if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]
    if not features or not all(f.is_sparse() for f in features):
        return None
    rows = [f.features.tocoo() for f in features]
    offsets = np.cumsum([0] + [row.shape[1] for row in rows])
    columns = np.concatenate([row.col + offset for row, offset in
                              zip(rows, offsets[:-1], strict=True)])
    data = np.concatenate([row.data for row in rows]).astype(np.float64)
    shape = (1, int(offsets[-1]))
    if np.all(columns[1:] > columns[:-1]):  # already canonical: no conversion
        indptr = np.array([0, len(columns)], dtype=columns.dtype)
        return scipy.sparse.csr_matrix((data, columns, indptr), shape=shape)
    return scipy.sparse.csr_matrix((data, (np.zeros_like(columns), columns)), shape=shape)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class SparseRowLogisticRegressionClassifier(LogisticRegressionClassifier):
    """`LogisticRegressionClassifier` with the one-message row and probabilities above.
    Trains and persists exactly as Rasa's (the stored estimator is scikit-learn's own)."""

    def _create_X(self, messages: list[Message]) -> Any:  # noqa: N802 - Rasa's name
        row = sentence_row(messages)
        return row if row is not None else super()._create_X(messages)

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> SparseRowLogisticRegressionClassifier:
        component = super().load(*args, **kwargs)
        if type(component.clf) is LogisticRegression:  # a loaded, trained estimator
            component.clf.__class__ = TransposedWeightsLogisticRegression
        return component  # type: ignore[return-value]
