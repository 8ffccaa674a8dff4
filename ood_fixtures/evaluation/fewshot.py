"""Few-shot adaptation for models that take one image per question: Tip-Adapter (Zhang et al., 2022), training-free.

A contrastive model cannot read examples in a prompt. The analogous use of the same examples is Tip-Adapter's cache
model: each query's zero-shot logits plus the examples' one-hot labels, weighted by their feature affinity to the
query,

    logits = log p_zero_shot + alpha * exp(-beta * (1 - cos(query, example))) @ one_hot(example labels)

(log-probabilities differ from the model's logits by a constant per query, which changes no ranking).

alpha (how much the examples count against the zero-shot margins) and beta (how sharply affinity falls with
feature distance) are tuned as the method's authors tune them: by grid search for the best accuracy on labelled
examples held out from the queries (`tune`, on `icl.held_out` episodes). The paper's defaults (alpha 1, beta 5.5)
are for CLIP's logits at scale 100; a model with other margins drowns the cache term or is drowned by it: on the
shipped reference CLIP they moved in-context accuracy by -0.01 to +0.03 from zero-shot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ood_fixtures.adapters.base import Adapter, Episode, Prediction, Unsupported


@dataclass(frozen=True)
class Weights:
    alpha: float  # how much the examples count
    beta: float  # how sharply an example's weight falls with its feature distance to the query


PAPER = Weights(1.0, 5.5)
# The authors search alpha in 0.1..3 and beta in 0.1..7 on a linear grid for CLIP's x100 logits. The zero-shot term
# here is a log-probability at the model's own scale, so both span two decades, log-spaced; alpha 0 (ignore the
# examples) is a candidate, so tuning never makes the held-out accuracy worse than zero-shot.
ALPHAS = (0.0, *np.geomspace(0.1, 100.0, 16))
BETAS = tuple(np.geomspace(0.5, 50.0, 11))


def classify(adapter: Adapter, episodes: Sequence[Episode], labels: Sequence[str],
             weights: Weights = PAPER) -> list[Prediction]:  # fmt: skip
    logits = _Cache(adapter, episodes, labels).logits(weights.alpha, weights.beta)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return [Prediction(labels[int(p.argmax())], tuple(float(x) for x in p)) for p in probabilities]


def tune(adapter: Adapter, held_out: Sequence[tuple[Episode, str]], labels: Sequence[str]) -> Weights:
    """The grid's (alpha, beta) with the best accuracy on `held_out` (episode, true label) pairs; ties go to the
    higher mean log-probability of the true label (to 4 decimals: batch-size noise of about 1e-6 decides nothing),
    then to the smaller alpha and beta. No held-out episode: the paper's defaults."""
    if not held_out:
        return PAPER
    cache = _Cache(adapter, [episode for episode, _ in held_out], labels)
    truth = np.array([labels.index(label) for _, label in held_out])
    best, chosen = None, PAPER
    for alpha in ALPHAS:
        for beta in BETAS if alpha else BETAS[:1]:  # beta means nothing without the cache term
            logits = cache.logits(alpha, beta)
            log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
            right = int((logits.argmax(axis=1) == truth).sum())
            score = (right, round(float(log_p[np.arange(len(truth)), truth].mean()), 4))
            if best is None or score > best:
                best, chosen = score, Weights(float(alpha), float(beta))
    return chosen


class _Cache:
    """The parts of Tip-Adapter's logits that do not depend on alpha and beta: the zero-shot log-probabilities, and
    each example's cosine similarity to its query and class (padded to the longest episode)."""

    def __init__(self, adapter: Adapter, episodes: Sequence[Episode], labels: Sequence[str]) -> None:
        zero_shot = adapter.classify([e.image for e in episodes], labels)
        if any(p.scores is None for p in zero_shot):
            raise Unsupported(f"{adapter.spec} gives no scores per label to adapt")
        self.log_p = np.log(np.clip(np.array([p.scores for p in zero_shot], dtype=np.float64), 1e-12, None))
        # each image's features once: queries share examples, and a held-out query is another's example
        distinct = {id(image): image for e in episodes for image in (e.image, *(shown for shown, _ in e.examples))}
        cached = dict(zip(distinct, _normalised(adapter.features(list(distinct.values())))))
        width = max((len(e.examples) for e in episodes), default=0)
        self.similarity = np.ones((len(episodes), width))  # padding: distance 0, but on no class (mask below)
        self.classes = np.zeros((len(episodes), width), dtype=int)
        self.present = np.zeros((len(episodes), width))
        for row, episode in enumerate(episodes):
            for column, (image, label) in enumerate(episode.examples):
                self.similarity[row, column] = float(cached[id(episode.image)] @ cached[id(image)])
                self.classes[row, column] = labels.index(label)
                self.present[row, column] = 1.0

    def logits(self, alpha: float, beta: float) -> np.ndarray:
        logits = self.log_p.copy()
        if alpha:
            affinity = np.exp(-beta * (1.0 - self.similarity)) * self.present
            rows = np.repeat(np.arange(len(logits)), affinity.shape[1])
            np.add.at(logits, (rows, self.classes.ravel()), alpha * affinity.ravel())
        return logits


def _normalised(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    return features / np.clip(np.linalg.norm(features, axis=1, keepdims=True), 1e-12, None)
