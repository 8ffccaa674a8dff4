"""Toy models for `--model python:tests.models.toy:NAME` in the suite's own tests."""

import numpy as np


def always_first(images, labels):
    """A model that always answers the first label: at chance on every cell."""
    return [labels[0] for _ in images]


def colour_only(images, labels):
    """Gets the colour right from the image mean but guesses the shape: clearly worse than the reference."""
    from generators.shapes import COLOURS

    answers = []
    for image in images:
        pixels = image.reshape(-1, 3).astype(int)
        chroma = pixels.max(1) - pixels.min(1)
        mean = pixels[chroma >= np.percentile(chroma, 95)].mean(0)
        colour = min(COLOURS, key=lambda c: np.abs(np.array(COLOURS[c]) - mean).sum())
        answers.append(next(label for label in labels if label.startswith(colour)))
    return answers


def script_writer(images, labels):
    """Answers with markup, to check the report escapes model text."""
    return ["<script>alert('pwned')</script>" for _ in images]


class Unloadable:
    """A model whose loading fails, as a checkpoint with a missing file would."""

    def __init__(self):
        raise OSError("weights file model.safetensors is truncated")

    def __call__(self, images, labels):
        raise AssertionError("never loaded")


def brightness_fragile(images, labels):
    """Answers by mean brightness in 5% bands: any brightness change of more than 5% flips every answer, and a
    smaller one flips the images near a band's edge."""
    return [labels[int(image.mean() / 255 / 0.05) % len(labels)] for image in images]


def noise_lover(images, labels):
    """The reference model, made wrong on smooth images (it answers the next label): its accuracy rises with
    the severity of gaussian noise, which the severity-curve property must catch."""
    from ood_fixtures import adapters
    from ood_fixtures.adapters import Settings

    global _REFERENCE
    if _REFERENCE is None:
        _REFERENCE = adapters.create("reference", Settings())
    answers = []
    for image, prediction in zip(images, _REFERENCE.classify(images, labels)):
        rough = np.abs(np.diff(image.astype(int), axis=1)).mean() > 12
        answers.append(prediction.label if rough else labels[(labels.index(prediction.label) + 1) % len(labels)])
    return answers


_REFERENCE = None


class ExampleCopier:
    """Answers a query with the label of its most similar example (nearest mean colour), and gives the mean
    colour as its image features: a model with both optional abilities."""

    def __call__(self, images, labels):
        return [labels[0] for _ in images]

    def features(self, images):
        return [image.reshape(-1, 3).mean(0) for image in images]

    def in_context(self, episodes, labels):
        answers = []
        for episode in episodes:
            if not episode.examples:
                answers.append(labels[0])
                continue
            query = episode.image.reshape(-1, 3).mean(0)
            distance = [np.abs(image.reshape(-1, 3).mean(0) - query).sum() for image, _ in episode.examples]
            answers.append(episode.examples[int(np.argmin(distance))][1])
        return answers
