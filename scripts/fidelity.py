"""How faithful the suite's ImageNet-C corruptions are: a model's accuracy on the same images corrupted by ours and
by two reference implementations, per corruption and severity, averaged; |ours - a reference| > 0.1 is flagged.

    python scripts/fidelity.py                                 # 200 shapes at 224 px, every corruption, seed 0
    python scripts/fidelity.py --samples 50 --corruptions snow,spatter

References, each in a virtual environment of its own, made on first use (the suite never imports them):
- imagenet-c: `imagecorruptions` 1.1.2, the ImageNet-C authors' code as a package. It needs numpy < 2 (np.float_),
  scipy < 1.14 (scipy.ndimage.interpolation) and setuptools < 81 (pkg_resources); its blurs' `multichannel=True`
  is passed to today's scikit-image as `channel_axis=-1`.
- peer: corrupt-tta 0.1.7, the generation peer of scripts/bench.py: a port that redraws spatter (a blended brown
  mask, no water drops, its own parameters) and streaks snow with a uniform line.

The images are the shapes' source domain drawn natively at --size; every image's corruption is seeded from (seed,
corruption, severity, index) on every side. The model is the reference CLIP (its processor resizes to its 64 px),
so a difference is a difference in what the corruption leaves of the shape, as this model sees it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ood_fixtures.tools import PEER_PACKAGES, PEER_VENV, side_python  # noqa: E402

FLAG = 0.1
REFERENCES = {
    # name: (its environment, its module, whether it takes PIL images (else arrays), what it installs)
    "imagenet-c": (ROOT / ".bench-venv-imagenet-c", "imagecorruptions.corruptions", True,
                   ["imagecorruptions==1.1.2", "numpy<2", "scipy<1.14", "scikit-image<0.25", "setuptools<81",
                    "opencv-python-headless<4.11", "pillow"]),
    "peer": (PEER_VENV, "corrupt_tta.corruptions", False, PEER_PACKAGES),
}  # fmt: skip

CORRUPT_SCRIPT = r"""
import importlib, sys, warnings
import numpy as np
import skimage.filters
from PIL import Image
warnings.filterwarnings("ignore")
gaussian = skimage.filters.gaussian
def compatible(image, *args, multichannel=None, **kwargs):  # scikit-image >= 0.19 names it channel_axis
    return gaussian(image, *args, **({"channel_axis": -1} if multichannel else {}), **kwargs)
skimage.filters.gaussian = compatible
module = importlib.import_module(sys.argv[1])
if hasattr(module, "gaussian"):
    module.gaussian = compatible
images, seeds, name, out = np.load(sys.argv[2]), np.load(sys.argv[3]), sys.argv[4], sys.argv[5]
as_input = Image.fromarray if sys.argv[6] == "pil" else np.copy
fn = getattr(module, name, None)
if fn is None:  # a corruption this implementation lacks
    sys.exit(3)
corrupted = np.empty((seeds.shape[0],) + images.shape, dtype=np.uint8)
for s, row in enumerate(seeds):
    for i, image in enumerate(images):
        np.random.seed(int(row[i]))  # both draw from numpy's global state
        made = np.asarray(fn(as_input(image), s + 1), dtype=np.float64)
        corrupted[s, i] = np.uint8(np.clip(made, 0, 255))  # truncated, as ImageNet-C saves its images
np.save(out, corrupted)
"""


def accuracy(adapter, images: list[np.ndarray], truth: list[str], labels: list[str]) -> float:
    return float(np.mean([p.label == t for p, t in zip(adapter.classify(images, labels), truth)]))


def corrupted_by(reference: str, name: str, images_path: str, seeds: np.ndarray, scratch: str) -> np.ndarray | None:
    venv, module, pil, packages = REFERENCES[reference]
    np.save(f"{scratch}/seeds.npy", seeds)
    done = subprocess.run([str(side_python(venv, packages)), "-c", CORRUPT_SCRIPT, module, images_path,
                           f"{scratch}/seeds.npy", name, f"{scratch}/out.npy", "pil" if pil else "array"],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode == 3:
        return None
    if done.returncode:
        sys.exit(f"{reference} failed on {name}:\n{done.stderr[-3000:]}")
    return np.load(f"{scratch}/out.npy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200, help="images per severity (default 200)")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels (default 224, ImageNet-C's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--corruptions", default="", help="comma-separated (default: all)")
    args = parser.parse_args()

    from generators import shapes
    from generators.corruptions import CORRUPTIONS, SEVERITIES, Corrupter
    from generators.seeding import derive_seed
    from ood_fixtures import adapters
    from ood_fixtures.adapters import Settings

    names = [n for n in args.corruptions.split(",") if n] or list(CORRUPTIONS)
    unknown = sorted(set(names) - set(CORRUPTIONS))
    if unknown:
        sys.exit(f"unknown corruptions {', '.join(unknown)}; choose from {', '.join(CORRUPTIONS)}")
    source = shapes.domain(shapes.SOURCE_DOMAIN, args.size)
    samples = [source.sample(args.seed, index) for index in range(args.samples)]
    images, truth = np.stack([s.image for s in samples]), [s.label for s in samples]
    adapter = adapters.create("reference", Settings(device="cpu"))
    print(f"## fidelity: reference CLIP accuracy on {args.samples} shapes drawn at {args.size} px (seed {args.seed}), "
          f"severities 1-5; ours vs {', '.join(REFERENCES)}; |diff| > {FLAG} flagged\n   python scripts/fidelity.py "
          f"{' '.join(sys.argv[1:])}\nclean: {accuracy(adapter, list(images), truth, source.labels):.3f}")
    print(f"{'corruption':<18}{'':>11}" + "".join(f"{s:>7}" for s in SEVERITIES) + f"{'mean':>8}{'ours -':>9}")
    with tempfile.TemporaryDirectory() as scratch:
        np.save(f"{scratch}/images.npy", images)
        for name in names:
            seeds = np.array([[derive_seed(args.seed, "fidelity", name, s, i) for i in range(args.samples)]
                              for s in SEVERITIES], dtype=np.uint32)  # fmt: skip
            rows: dict[str, list[float]] = {"ours": []}
            for s, severity in enumerate(SEVERITIES):
                corrupter = Corrupter(name, severity, args.size)
                ours = [corrupter(image, args.seed, index) for index, image in enumerate(images)]
                rows["ours"].append(accuracy(adapter, ours, truth, source.labels))
            for reference in REFERENCES:
                made = corrupted_by(reference, name, f"{scratch}/images.npy", seeds, scratch)
                if made is not None:
                    rows[reference] = [accuracy(adapter, list(made[s]), truth, source.labels)
                                       for s in range(len(SEVERITIES))]  # fmt: skip
            mean = {side: float(np.mean(row)) for side, row in rows.items()}
            for side in ("ours", *REFERENCES):
                if side not in rows:
                    print(f"{'':<18}{side:>11}{'(has none)':>35}")
                    continue
                diff = "" if side == "ours" else f"{mean['ours'] - mean[side]:>+9.3f}"
                flag = "   <-- |diff| > 0.1" if diff and abs(mean["ours"] - mean[side]) > FLAG else ""
                cells = "".join(f"{a:>7.3f}" for a in rows[side])
                label = name if side == "ours" else ""
                print(f"{label:<18}{side:>11}{cells}{mean[side]:>8.3f}{diff}{flag}", flush=True)


if __name__ == "__main__":
    main()
