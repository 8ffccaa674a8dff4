"""Few-shot adaptation for models that take one image per question: Tip-Adapter (Zhang et al., 2022), training-free.

A contrastive model cannot read examples in a prompt. The analogous use of the same examples is Tip-Adapter's cache
model: each query's zero-shot logits plus the examples' one-hot labels, weighted by their feature affinity to the
query,

    logits = log p_zero_shot + ALPHA * exp(-BETA * (1 - cos(query, example))) @ one_hot(example labels)

(log-probabilities differ from the model's logits by a constant per query, which changes no ranking). ALPHA and
BETA are the paper's defaults, not tuned on any test data.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ood_fixtures.adapters.base import Adapter, Episode, Prediction, Unsupported

ALPHA = 1.0
BETA = 5.5


def classify(adapter: Adapter, episodes: Sequence[Episode], labels: Sequence[str]) -> list[Prediction]:
    zero_shot = adapter.classify([e.image for e in episodes], labels)
    if any(p.scores is None for p in zero_shot):
        raise Unsupported(f"{adapter.spec} gives no scores per label to adapt")
    shown = _distinct([image for e in episodes for image, _ in e.examples])
    features = _normalised(adapter.features([e.image for e in episodes] + list(shown.values())))
    queries, cached = features[: len(episodes)], dict(zip(shown, features[len(episodes) :]))
    predictions = []
    for episode, query, answer in zip(episodes, queries, zero_shot):
        logits = np.log(np.clip(np.array(answer.scores), 1e-12, None))
        for image, label in episode.examples:
            affinity = np.exp(-BETA * (1.0 - float(query @ cached[id(image)])))
            logits[labels.index(label)] += ALPHA * affinity
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        predictions.append(Prediction(labels[int(probabilities.argmax())], tuple(float(p) for p in probabilities)))
    return predictions


def _distinct(images: list[np.ndarray]) -> dict[int, np.ndarray]:
    """Each example image once: queries share examples from one pool, so features are computed once per image."""
    return {id(image): image for image in images}


def _normalised(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    return features / np.clip(np.linalg.norm(features, axis=1, keepdims=True), 1e-12, None)
