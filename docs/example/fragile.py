"""A deliberately fragile model (`--model python:fragile:answer`): it reads the label from the exact colour of the
shape's pixels, so any change of pixel values (JPEG, a vignette) leaves it guessing."""

import numpy as np

BY_COLOUR = {(215, 35, 35): "red circle", (40, 85, 220): "blue square", (40, 165, 60): "green triangle"}


def answer(images, labels):
    answers = []
    for image in images:
        pixels = image.reshape(-1, 3)
        counts = {label: int(np.all(pixels == colour, axis=1).sum()) for colour, label in BY_COLOUR.items()}
        best = max(counts, key=counts.get)
        answers.append(best if counts[best] >= 40 and best in labels else labels[0])  # 40: a whole shape, not a speck
    return answers
