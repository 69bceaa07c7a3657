"""A count-vectors featurizer that makes only the sentence features, the only ones the
pipeline reads.

Rasa's `CountVectorsFeaturizer` counts every message twice: once token by token (sequence
features, for DIET or TED) and once as a whole (sentence features). The pipeline here
classifies with a logistic regression, which reads the sentence features alone, and the
rule policy reads no features at all; the per-token pass was a third of the Rasa server's
NLU time (docs/performance.md). This featurizer keeps the same vocabulary, training and
sentence rows, counted as scikit-learn's `CountVectorizer.transform` counts them, and adds
no sequence features. Attributes without sentence features (intents, action names) are
featurized as Rasa does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from sklearn.feature_extraction.text import CountVectorizer

Rows = list[scipy.sparse.spmatrix | None]


def sentence_row(vectorizer: CountVectorizer, analyze: Callable[[str], list[str]],
                 text: str) -> scipy.sparse.coo_matrix:
    """`vectorizer.transform([text])` as a sorted COO row: the same counts, columns, shape
    and dtype, without scikit-learn's per-call checks and matrix conversions."""
    vocabulary = vectorizer.vocabulary_
    counts: dict[int, int] = {}
    for feature in analyze(text):
        index = vocabulary.get(feature)
        if index is not None:
            counts[index] = counts.get(index, 0) + 1
    columns = np.array(sorted(counts), dtype=np.int32)
    data = (np.ones(len(columns), dtype=vectorizer.dtype) if vectorizer.binary
            else np.array([counts[c] for c in columns.tolist()], dtype=vectorizer.dtype))
    return scipy.sparse.coo_matrix((data, (np.zeros_like(columns), columns)),
                                   shape=(1, len(vocabulary)))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceCountVectorsFeaturizer(CountVectorsFeaturizer):
    """`bot.sentence_features.SentenceCountVectorsFeaturizer` in config.yml: Rasa's
    count-vectors featurizer (same options) that makes sentence features only."""

    def _create_features(self, attribute: str, all_tokens: list[list[str]]
                         ) -> tuple[Rows, Rows]:
        vectorizer: CountVectorizer | None = self.vectorizers.get(attribute)
        if vectorizer is None or attribute not in DENSE_FEATURIZABLE_ATTRIBUTES:
            return super()._create_features(attribute, all_tokens)
        analyze = self._analyzer(attribute, vectorizer)
        sentences: Rows = [sentence_row(vectorizer, analyze, " ".join(tokens)) if tokens
                           else None for tokens in all_tokens]
        return [None] * len(all_tokens), sentences

    def _analyzer(self, attribute: str, vectorizer: CountVectorizer
                  ) -> Callable[[str], list[str]]:
        """The vectorizer's analyzer, built once per fitted vectorizer (it is immutable
        once fitted; training replaces the vectorizer)."""
        kept: dict[str, tuple[CountVectorizer, Any]] = self.__dict__.setdefault(
            "_analyzers", {})
        if attribute not in kept or kept[attribute][0] is not vectorizer:
            kept[attribute] = (vectorizer, vectorizer.build_analyzer())
        return kept[attribute][1]
