"""Images as data: base64 PNG text (how images travel in cache records, the HTML report and API requests) and a
content hash (how caches and memos recognise an image). A leaf module: numpy and pillow only, so that adapters,
the store and the reports can all use it."""

from __future__ import annotations

import base64
import hashlib
import io

import numpy as np
from PIL import Image


def to_base64(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def from_base64(text: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))).convert("RGB"))


def image_hash(image: np.ndarray) -> str:
    """sha256 of the pixels, with shape and dtype: the same bytes in another shape are another image."""
    array = np.ascontiguousarray(image)
    digest = hashlib.sha256(f"{array.shape}|{array.dtype.str}|".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()
