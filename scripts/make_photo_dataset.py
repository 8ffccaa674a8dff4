"""A small dataset of real photographs, for trying `--dataset` on images no one here made: scikit-image's texture
photos (brick wall, grass, gravel; 512 x 512 greyscale scans), cut into crops seen from two distances.

    python scripts/make_photo_dataset.py OUT          # writes OUT/<domain>/<class>/<n>.png and OUT/card.toml
    pytest benchmarks -n 4 --dataset OUT/card.toml --model clip:PATH

Domains: `close` (the source) crops 128 px from the photo's upper half; `far` crops 256 px from its lower half and
halves them, so the texture's grain is half as large: a change of viewing distance, on image regions the source
never shows. Which crops are taken derives from the seed alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = {"brick": "brick wall", "grass": "grass", "gravel": "gravel"}  # skimage.data name -> label
DESCRIPTIONS = {
    "brick wall": "rows of rectangular bricks with mortar lines between them",
    "grass": "many thin blades of grass",
    "gravel": "a heap of small rounded stones",
}
SIDE = 128  # each crop is saved at this size
DOMAINS = {"close": (0, 1), "far": (256, 2)}  # domain -> (first row of its half of the photo, crop scale)
CARD = '''\
# A dataset card (ood_fixtures/catalog/dataset_cards.py): scikit-image's texture photographs, seen close and far.
name = "textures"
source = "close"
domains = ["close", "far"]

[classes]
brick = {{ label = "brick wall", description = "{brick}" }}
grass = {{ label = "grass", description = "{grass}" }}
gravel = {{ label = "gravel", description = "{gravel}" }}

[images]
form = "domainbed"
root = "."
'''


def crops(photo: np.ndarray, top: int, scale: int, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    side = SIDE * scale
    rows = rng.integers(top, top + photo.shape[0] // 2 - side + 1, count)
    columns = rng.integers(0, photo.shape[1] - side + 1, count)
    out = []
    for row, column in zip(rows, columns):
        patch = Image.fromarray(photo[row : row + side, column : column + side]).convert("RGB")
        out.append(np.asarray(patch.resize((SIDE, SIDE), Image.Resampling.LANCZOS) if scale > 1 else patch))
    return out


def main() -> None:
    import skimage.data

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--per-class", type=int, default=80, help="crops per class and domain (default: 80)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    for name in CLASSES:
        photo = getattr(skimage.data, name)()
        for domain, (top, scale) in DOMAINS.items():
            rng = np.random.default_rng([args.seed, list(CLASSES).index(name), list(DOMAINS).index(domain)])
            folder = args.out / domain / name
            folder.mkdir(parents=True, exist_ok=True)
            for k, crop in enumerate(crops(photo, top, scale, args.per_class, rng)):
                Image.fromarray(crop).save(folder / f"{k:03d}.png")
    descriptions = {key: DESCRIPTIONS[label] for key, label in CLASSES.items()}
    (args.out / "card.toml").write_text(CARD.format(**descriptions), encoding="utf-8")
    print(f"wrote {len(CLASSES) * len(DOMAINS) * args.per_class} images and {args.out / 'card.toml'}")


if __name__ == "__main__":
    main()
