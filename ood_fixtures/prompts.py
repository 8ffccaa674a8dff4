"""Prompt templates for zero-shot classification with contrastive (CLIP-style) models.

The reference model was trained on captions made from these templates, and zero-shot classification averages the
text embeddings over all of them (template ensembling, as in the CLIP paper).
"""

from __future__ import annotations

TEMPLATES: tuple[str, ...] = (
    "a photo of a {}.",
    "a picture of a {}.",
    "an image of a {}.",
    "a {}.",
    "a drawing of a {}.",
    "a rendering of the {}.",
)


def captions(label: str, templates: tuple[str, ...] = TEMPLATES) -> list[str]:
    """The label in natural text (underscores become spaces) inside every template."""
    text = label.replace("_", " ")
    return [template.format(text) for template in templates]
