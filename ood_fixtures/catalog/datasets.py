"""The study's real datasets: what each contains, and a Source that reads one domain of one from disk.

The registry holds the 20 datasets evaluated by "On the Out-Of-Distribution Generalization of Multimodal Large
Language Models" (arXiv 2402.06599), as its authors listed them: domain and class folder names, in their order,
and a subject tag (nature, medical, satellite, molecule). The facts ship with the package in
data/study_datasets.json, because users do not have the study's files. (The study lists NIH-Chest's "Fibrosis"
twice; the registry lists it once.)

Users who have a dataset keep it in the DomainBed layout `ROOT/<dataset>/<domain>/<class>/<image>`. A
`FolderSource` draws a seeded, class-balanced choice of one domain's images: which file an index shows depends only
on (seed, dataset, domain, class) and the sorted file names, never on the order in which the file system lists
them, nor on the worker that asks.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from generators.seeding import rng_for
from generators.sample import Sample, SampleError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})  # compared lower-cased
LAYOUT = "<root>/<dataset>/<domain>/<class>/<image>"


@dataclass(frozen=True)
class DatasetInfo:
    """One dataset as the study lists it.

    Args:
        name: the dataset's folder name under the root ("PACS", "fmow_v1.1_processed").
        domains: the domain folder names, in the study's order.
        classes: the class folder names, in the study's order.
        subject: "nature", "medical", "satellite" or "molecule".
    """

    name: str
    domains: tuple[str, ...]
    classes: tuple[str, ...]
    subject: str

    @property
    def labels(self) -> tuple[str, ...]:
        """The class names as prompts write them: "airport_hangar" -> "airport hangar"; otherwise the folder name."""
        return tuple(folder.replace("_", " ") for folder in self.classes)


def _load_registry() -> dict[str, DatasetInfo]:
    data = resources.files("ood_fixtures") / "data" / "study_datasets.json"
    entries = json.loads(data.read_text(encoding="utf-8"))["datasets"]
    return {
        name: DatasetInfo(name, tuple(entry["domains"]), tuple(entry["classes"]), entry["subject"])
        for name, entry in entries.items()
    }


REGISTRY: dict[str, DatasetInfo] = _load_registry()


def get(name: str) -> DatasetInfo:
    """The registry entry of `name`; a ValueError naming the known datasets when there is none."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(REGISTRY)}") from None


def discover(root: Path) -> list[str]:
    """The registry's datasets that have a folder under `root`, in registry order."""
    return [name for name in REGISTRY if (Path(root) / name).is_dir()]


class DatasetError(ValueError):
    """A dataset on disk that cannot be used as it is; the message names the problem and the fix."""


class DatasetMissing(DatasetError):
    """A dataset's or domain's folder is absent: benchmarks over it are skipped, with this one-line message."""


def _some(names: Sequence[str], limit: int = 10) -> str:
    """Names for a message, shortened when there are many (drugood_scaffold has 6401 domains)."""
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} ... ({len(names)} in all)"


def _images(folder: Path) -> list[Path]:
    """The folder's image files, sorted by name, so that no file system's listing order leaks into the sampling."""
    # Dot files are left out: macOS archives leave "._photo.jpg" companions that have an image suffix but no image.
    found = (p for p in folder.iterdir() if not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES)
    return sorted(found, key=lambda p: p.name)


class FolderSource:
    """The images of one domain of one dataset, read from `root` in the DomainBed layout: a `Source`.

    For each class, the source takes a seeded choice of up to ceil(samples / classes) of the class folder's images
    (a permutation drawn from `rng_for(seed, dataset, domain, class)` over the files sorted by name) and deals the
    classes out in turn: index i shows class `labels[i % len(labels)]`, like the procedural generators, as long as
    every class has images left; a class that runs out is passed over rather than repeated, so `len(source)` can
    be less than `samples`. What an index shows does not depend on `samples`: a smaller run sees a prefix of a
    larger one.

    Args:
        root: the folder that holds the datasets, `root/<dataset>/<domain>/<class>/<image>`.
        dataset: a registry name, e.g. "PACS".
        domain: one of the dataset's domains, e.g. "sketch".
        samples: how many images to draw at most.
        size: the side that images are resized to (squarely, with LANCZOS); None keeps each image's own size.

    Raises:
        ValueError: for an unknown dataset, or a `samples` or `size` below 1.
        DatasetMissing: the dataset's or the domain's folder is absent.
        DatasetError: an unknown domain, or class folders that are missing, empty or unknown to the registry.

    `sample` raises `SampleError` for an image that cannot be read, and IndexError past `len(source)`. The folder
    is listed once, here; each seed's choice of files is made once, at its first sample, and kept.
    """

    def __init__(self, root: Path, dataset: str, domain: str, samples: int, size: int | None = None) -> None:
        self.info = get(dataset)
        if domain not in self.info.domains:
            raise DatasetError(f"{dataset} has no domain {domain!r}; its domains are: {_some(self.info.domains)}")
        if samples < 1 or (size is not None and size < 1):
            raise ValueError(f"samples and size must be at least 1, got samples={samples}, size={size}")
        self.root, self.dataset, self.domain, self.samples, self.size = Path(root), dataset, domain, samples, size
        self.name = f"{dataset}/{domain}"
        self.labels = list(self.info.labels)
        self.folder = self.root / dataset / domain
        self._files = self._list()  # class folder name -> its image files, sorted by name
        self._per_class = math.ceil(samples / len(self.info.classes))
        self._count = min(samples, sum(min(self._per_class, len(files)) for files in self._files.values()))
        self._plans: dict[int, list[tuple[str, Path]]] = {}  # seed -> (label, file) of each index

    def __len__(self) -> int:
        return self._count

    def content_key(self) -> str:
        """Changes whenever a listed file is added, removed, replaced or touched: the cache's cell records are
        keyed by it, since the code that reads a dataset says nothing of the files it reads."""
        digest = hashlib.sha256()
        for folder, files in self._files.items():
            for path in files:
                stat = path.stat()
                digest.update(f"{folder}/{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def _list(self) -> dict[str, list[Path]]:
        """Every class folder's images, after checking that the folders are the ones the registry names."""
        if not (self.root / self.dataset).is_dir():
            raise DatasetMissing(f"dataset {self.dataset} not found: expected the folder {self.root / self.dataset} "
                                 f"in the layout {LAYOUT}")  # fmt: skip
        if not self.folder.is_dir():
            raise DatasetMissing(f"domain {self.domain} of {self.dataset} not found: expected the folder "
                                 f"{self.folder} in the layout {LAYOUT}")  # fmt: skip
        on_disk = {p.name for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith(".")}
        unknown = sorted(on_disk - set(self.info.classes))
        if unknown:
            raise DatasetError(f"{self.folder} holds class folders that {self.dataset} does not have: "
                               f"{_some(unknown)}; probably a wrong dataset layout, expected {LAYOUT} with the "
                               f"study's class folder names")  # fmt: skip
        missing = [name for name in self.info.classes if name not in on_disk]
        if missing:
            raise DatasetError(f"missing class folder {self.folder / missing[0]} ({len(missing)} missing in all: "
                               f"{_some(missing)}); every class of {self.dataset} needs its folder")  # fmt: skip
        files = {name: _images(self.folder / name) for name in self.info.classes}
        empty = [name for name, found in files.items() if not found]
        if empty:
            raise DatasetError(f"empty class folder {self.folder / empty[0]} ({len(empty)} empty in all: "
                               f"{_some(empty)}); each class folder needs image files "
                               f"({', '.join(sorted(IMAGE_SUFFIXES))})")  # fmt: skip
        return files

    def _plan(self, seed: int) -> list[tuple[str, Path]]:
        """(label, file) of every index for `seed`: the classes in turn, each class's files in a seeded order."""
        plan = self._plans.get(seed)
        if plan is None:
            chosen: list[list[tuple[str, Path]]] = []
            for label, (folder, files) in zip(self.labels, self._files.items()):
                # A permutation's prefix, not rng.choice: a larger `samples` then extends the choice, not changes it.
                order = rng_for(seed, self.dataset, self.domain, folder).permutation(len(files))[: self._per_class]
                chosen.append([(label, files[k]) for k in order])
            # Classes take turns in a seeded order: with fewer samples than classes (DomainNet has 345), the
            # classes drawn are a seeded choice rather than the first ones in the registry.
            turns = rng_for(seed, self.dataset, self.domain, "classes").permutation(len(chosen))
            dealt = (pair for turn in itertools.zip_longest(*(chosen[k] for k in turns)) for pair in turn if pair)
            plan = self._plans[seed] = list(itertools.islice(dealt, self._count))
        return plan

    def sample(self, seed: int, index: int) -> Sample:
        """The image of `index` for `seed`, with the id "<class folder>/<file name>"."""
        plan = self._plan(seed)
        if not 0 <= index < len(plan):
            raise IndexError(f"{self.name} has {len(plan)} images to draw (samples={self.samples}), no index {index}")
        label, path = plan[index]
        sample_id = f"{path.parent.name}/{path.name}"
        return Sample(self._load(path, sample_id, label), label, sample_id)

    def _load(self, path: Path, sample_id: str, label: str) -> np.ndarray:
        try:
            with Image.open(path) as image:
                rgb = image.convert("RGB")
        # Pillow signals a bad file with many types (OSError, SyntaxError, ValueError, DecompressionBombError ...);
        # whichever it is, the file is at fault, and the error names it.
        except Exception as error:
            raise SampleError(sample_id, label, f"cannot read image {path}: {' '.join(str(error).split())}") from error
        if self.size is not None and rgb.size != (self.size, self.size):
            rgb = rgb.resize((self.size, self.size), Image.Resampling.LANCZOS)
        return np.array(rgb, dtype=np.uint8)


RealDatasets = tuple[list[FolderSource], list[str]]


def open_root(root: Path, samples: int) -> RealDatasets:
    """Every (dataset, domain) under `root` as a source, and one line per registry dataset that is absent or
    incomplete (the reason its cells are skipped).

    Raises DatasetError for a domain folder the registry does not know, or a domain that cannot be used as it is:
    those are mistakes to fix, not datasets to skip.
    """
    sources, missing = [], []
    for name, info in REGISTRY.items():
        folder = Path(root) / name
        if not folder.is_dir():
            missing.append(f"{name}: not found, expected the folder {folder} in the layout {LAYOUT}")
            continue
        on_disk = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
        unknown = [domain for domain in on_disk if domain not in info.domains]
        if unknown:
            raise DatasetError(f"{folder} holds domain folders that {name} does not have: {_some(unknown)}; its "
                               f"domains are: {_some(info.domains)}")  # fmt: skip
        absent = [domain for domain in info.domains if domain not in on_disk]
        if absent:
            missing.append(f"{name}: no folder for the domains {_some(absent)} under {folder}")
        sources += [FolderSource(root, name, domain, samples) for domain in info.domains if domain in on_disk]
    return sources, missing
