"""Prompts: templates for contrastive (CLIP-style) models, and the study's multiple-choice question for
generative ones.

The reference CLIP was trained on captions made from TEMPLATES, and zero-shot classification averages the text
embeddings over all of them (template ensembling, as in the CLIP paper).
"""

from __future__ import annotations

from typing import Sequence

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
    return [template.format(natural(label)) for template in templates]


ANSWER_PREFIX = "Answer Choice:"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def natural(label: str) -> str:
    """Folder-style labels in natural text: `airport_hangar` -> `airport hangar`."""
    return label.replace("_", " ")


def multiple_choice_question(labels: Sequence[str], lettered: bool = False) -> str:
    """The study's question: the choice list, then the answer format it asks for.

    With `lettered`, options are listed as "A. red circle" and the answer is a letter (for models that answer
    letters more reliably than names, and for option-order checks).
    """
    if lettered:
        options = "; ".join(f"{LETTERS[i]}. {natural(label)}" for i, label in enumerate(labels))
        return (f"What is in this image? Choice list: [{options}]. Choose one option from the list and answer "
                f"with its letter in the format '{ANSWER_PREFIX} <letter>'.")  # fmt: skip
    options = ", ".join(natural(label) for label in labels)
    return (f"What is in this image? Choice list: [{options}]. Choose one option from the list and answer in "
            f"the format '{ANSWER_PREFIX} <option>'.")  # fmt: skip


def filled_answer(label: str, labels: Sequence[str], lettered: bool = False) -> str:
    """The answer to the question, in the format the question asks for."""
    return f"{ANSWER_PREFIX} {LETTERS[list(labels).index(label)] if lettered else natural(label)}"


def _asks(question: str) -> dict:
    return {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": question}]}


def in_context_messages(question: str, answers: Sequence[str]) -> list[dict]:
    """The study's layout for in-context examples, as chat messages: each example image with the question and
    its filled answer, then the query image with the question. The images go with the messages in this order."""
    messages = []
    for answer in answers:
        messages += [_asks(question), {"role": "assistant", "content": [{"type": "text", "text": answer}]}]
    return messages + [_asks(question)]
