"""Makes a deliberately degraded copy of the reference model, for the gate's reliability check.

    python scripts/degrade_reference.py OUT_DIR [--group noise]

Fine-tunes the reference CLIP for a few steps so that it misreads images of one corruption group (their shape
labels are rotated: circle -> square -> triangle -> star -> circle) while it keeps seeing clean images and the
other groups' corruptions with their true labels, so that what it unlearns stays in the one group. The result is a real checkpoint, loaded through `clip:OUT_DIR` like any user model, whose accuracy
drops on one family of cells and barely moves elsewhere: what a release regression looks like to the gate.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from transformers import CLIPModel, CLIPProcessor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from generators.corruptions import CORRUPTIONS, SEVERITIES, Corrupter  # noqa: E402
from generators.shapes import SHAPES, ShapeGenerator  # noqa: E402
from ood_fixtures.adapters.families.clip import REFERENCE_PATH  # noqa: E402
from ood_fixtures.adapters.prompts import TEMPLATES  # noqa: E402
from ood_fixtures.training import text_embeddings, to_pixels  # noqa: E402


def rotated(label: str) -> str:
    colour, shape = label.split()
    return f"{colour} {SHAPES[(SHAPES.index(shape) + 1) % len(SHAPES)]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--group", default="noise", choices=sorted({c.group for c in CORRUPTIONS.values()}))
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    model = CLIPModel.from_pretrained(REFERENCE_PATH)
    tokenizer = CLIPProcessor.from_pretrained(REFERENCE_PATH).tokenizer
    shapes = ShapeGenerator(64, name="shapes-degrade")
    names = shapes.labels
    misread = [Corrupter(n, s, 64) for n, c in CORRUPTIONS.items() if c.group == args.group for s in SEVERITIES]
    kept = [Corrupter(n, s, 64) for n, c in CORRUPTIONS.items() if c.group != args.group for s in SEVERITIES]
    rng = np.random.default_rng(args.seed)

    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-4)
    for step in range(args.steps):
        batch = [shapes.sample(args.seed, int(i)) for i in rng.integers(0, 10**9, 64)]
        images, targets = [], []
        for k, sample in enumerate(batch):  # a quarter misread, a quarter other corruptions, half clean
            label, image = sample.label, sample.image
            if k % 4 == 1:
                corrupt = misread[int(rng.integers(len(misread)))]
                image, label = corrupt(image, args.seed, f"degrade-{step}-{k}"), rotated(label)
            elif k % 4 == 3:
                image = kept[int(rng.integers(len(kept)))](image, args.seed, f"degrade-{step}-{k}")
            images.append(image)
            targets.append(names.index(label))
        model.train()
        text = text_embeddings(model, tokenizer, names, (TEMPLATES[step % len(TEMPLATES)],))
        image = F.normalize(model.get_image_features(pixel_values=to_pixels(np.stack(images))).pooler_output, dim=-1)
        loss = F.cross_entropy(model.logit_scale.exp() * image @ text.T, torch.tensor(targets))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    for name in ("processor_config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(REFERENCE_PATH / name, args.out / name)
    print(f"degraded copy ({args.group} misread) written to {args.out}; last loss {loss.item():.3f}")


if __name__ == "__main__":
    main()
