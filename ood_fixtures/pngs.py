"""Images as base64 PNG text: how images travel in cache records, the HTML report and API requests."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def to_base64(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def from_base64(text: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))).convert("RGB"))
