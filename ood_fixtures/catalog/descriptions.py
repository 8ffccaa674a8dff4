"""What each generated class looks like, in words: the descriptive label texts of the diagnosis's semantic probe.

Written from the generators (what they draw), not from any model's errors. Compositional labels (shapes, patterns)
are described part by part. The study's real datasets have none here, so their rows have no semantic probe; a --dataset card can give its own.
"""

from __future__ import annotations

SHAPES = {
    "circle": "a round shape with no corners",
    "square": "a shape with four equal sides and four right angles",
    "triangle": "a shape with three straight sides",
    "star": "a shape with five pointed tips",
}
COLOURS = ("red", "orange", "yellow", "green", "blue", "purple")
FILLS = {
    "striped": "filled with parallel stripes",
    "dotted": "filled with dots",
    "checked": "filled with a checkerboard",
    "solid": "filled with one flat colour",
}
DIGITS = {
    "0": "the digit zero, an oval ring", "1": "the digit one, a single upright stroke",
    "2": "the digit two, a curve over a flat base", "3": "the digit three, two bumps open to the left",
    "4": "the digit four, an angle crossed by an upright stroke", "5": "the digit five, a flat top over a round belly",
    "6": "the digit six, a loop at the bottom with a curved stem above", "7": "the digit seven, a flat top and a slanted stroke",
    "8": "the digit eight, two stacked loops", "9": "the digit nine, a loop at the top with a stem below",
}  # fmt: skip
OBJECTS = {
    "house": "a building with walls, a door, windows and a pointed roof",
    "tree": "a plant with a trunk and a crown of leaves",
    "car": "a road vehicle with a body on four wheels",
    "fish": "a swimming animal with fins and a tail",
    "boat": "a vessel on water with a hull and a sail",
    "flower": "a bloom of petals around a centre, on a stem",
    "cup": "a small open container with a handle, for drinking",
}
MEDICAL = {
    "normal tissue": "tissue with small, regular, evenly spaced nuclei",
    "tumor tissue": "tissue with crowded, enlarged, irregular dark nuclei",
    "clear lungs": "a chest x-ray whose lung fields are dark and clear",
    "lung opacity": "a chest x-ray with white cloudy patches in the lungs",
}
MOLECULES = {
    "halogen": "a molecule with a fluorine, chlorine, bromine or iodine atom",
    "carboxylic acid": "a molecule with a C(=O)OH group",
    "amine": "a molecule with a nitrogen atom bonded to carbon, as NH2 or NH",
}


def _compositional() -> dict[str, str]:
    table = {}
    for shape, looks in SHAPES.items():
        for colour in COLOURS:
            table[f"{colour} {shape}"] = f"{looks}, coloured {colour}"
        for fill, texture in FILLS.items():
            table[f"{fill} {shape}"] = f"{looks}, {texture}"
    return table


DESCRIPTIONS: dict[str, str] = {**_compositional(), **DIGITS, **OBJECTS, **MEDICAL, **MOLECULES}


def described(label: str, table: dict[str, str] = DESCRIPTIONS) -> str:
    """The label followed by its description, as an option of the question: "red circle (a round shape ...)"."""
    return f"{label} ({table[label]})"
