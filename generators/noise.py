"""Smooth random fields: the low-frequency variation (uneven paper, stain, mottling, backdrops) that the
generators lay over their images.
"""

from __future__ import annotations

import cv2
import numpy as np


def smooth_noise(rng: np.random.Generator, side: int, points: int, channels: int | None = None,
                 clip: bool = False) -> np.ndarray:  # fmt: skip
    """Noise of about [-1, 1] with features about `side / points` pixels across: `points` x `points` random
    values (uniform in [-1, 1]), bicubically enlarged to `side` x `side`.

    Args:
        rng: the stream the coarse values are drawn from (`points * points * (channels or 1)` draws).
        side: side of the result in pixels.
        points: coarse values per side.
        channels: None for a (side, side) array, else (side, side, channels) with independent channels.
        clip: cut the result to [-1, 1] exactly.
    """
    shape = (points, points) if channels is None else (points, points, channels)
    coarse = rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    noise = cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC)
    if channels is not None:
        noise = noise.reshape(side, side, channels)  # cv2 returns a single channel as (side, side)
    # Bicubic enlargement overshoots the coarse values (by up to about half their range between opposite
    # extremes). Histology and X-ray scale stain and brightness by noise known to lie in [-1, 1], so they clip;
    # the object styles were tuned with the overshoot. Each keeps its own, so that no image changes.
    return np.clip(noise, -1.0, 1.0) if clip else noise
