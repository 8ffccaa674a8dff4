"""The images of one domain of a card's dataset, as a `Source` (`dataset_cards.open_card` makes them)."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import numpy as np
from PIL import Image

from generators.sample import Sample, SampleError
from generators.seeding import rng_for
from ood_fixtures.catalog.icl import POOL_START

if TYPE_CHECKING:  # only their attributes are read here; dataset_cards imports this module
    from ood_fixtures.catalog.dataset_cards import Card, Entry


class DatasetSource:
    """The images of one domain of a card's dataset: a `Source`. Index i shows a seeded, class-balanced choice
    (classes dealt in a seeded turn, each class's images in a seeded order), as `FolderSource` does; images are
    decoded when drawn and, at `size`, resized as a CLIP-style processor would (shortest side to `size`, bicubic,
    then the centre square), so the model's own processor has nothing left to change.

    Every image of the domain has an index (`len`). A cell asks the first `queries` (--samples); in-context
    examples, drawn at indices from `icl.POOL_START` on, are the images after them, so no example is a query."""

    def __init__(self, card: Card, domain: str, entries: list[Entry], classes: Iterable[str],
                 labels: Iterable[str], queries: int, size: int | None) -> None:  # fmt: skip
        self.card, self.domain, self.size, self.queries = card, domain, size, queries
        self.name = f"{card.name}/{domain}"
        self.labels = list(labels)
        self.descriptions = card.descriptions
        self._label_of = dict(zip(classes, self.labels))
        by_class: dict[str, list[Entry]] = {k: [] for k in classes}
        for entry in sorted(entries, key=lambda e: e.sample_id):  # sorted: no listing or row order leaks in
            by_class[entry.key].append(entry)
        self._by_class = {k: v for k, v in by_class.items() if v}
        self._entries = entries
        self._plans: dict[int, list[Entry]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def content_key(self) -> str:
        """Changes when the data changes: each listed file's size and time, or the table files'."""
        digest = hashlib.sha256(json.dumps([self.card.form, self.card.images], sort_keys=True, default=str).encode())
        for entry in sorted(self._entries, key=lambda e: e.sample_id):
            if entry.path is not None:
                stat = entry.path.stat()
                digest.update(f"{entry.sample_id}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            else:
                digest.update(f"{entry.sample_id}\0{entry.key}\n".encode())
        for path in self._table_files():
            stat = path.stat()
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()

    def _table_files(self) -> list[Path]:
        if self.card.form not in ("manifest", "hf"):
            return []
        base, given = self.card.base, self.card.images["path"]
        folder = base / given
        return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else sorted(base.glob(given))

    def _plan(self, seed: int) -> list[Entry]:
        plan = self._plans.get(seed)
        if plan is None:
            chosen = []
            for key, entries in self._by_class.items():
                order = rng_for(seed, self.card.name, self.domain, key).permutation(len(entries))
                chosen.append([entries[k] for k in order])
            # dealt in turn: any prefix is class-balanced while every class has images left
            turns = rng_for(seed, self.card.name, self.domain, "classes").permutation(len(chosen))
            plan = self._plans[seed] = [e for turn in itertools.zip_longest(*(chosen[k] for k in turns))
                                        for e in turn if e]  # fmt: skip
        return plan

    def sample(self, seed: int, index: int) -> Sample:
        plan = self._plan(seed)
        position = self.queries + index - POOL_START if index >= POOL_START else index
        if not 0 <= position < len(plan):
            where = (f"in-context example {index - POOL_START} (image {position} of {len(plan)}: examples come "
                     f"after the first --samples {self.queries})" if index >= POOL_START else f"index {index}")
            raise IndexError(f"{self.name} has {len(plan)} images, too few for {where}")
        entry = plan[position]
        label = self._label_of[entry.key]
        return Sample(self._load(entry, label), label, entry.sample_id)

    def _load(self, entry: Entry, label: str) -> np.ndarray:
        try:
            with Image.open(entry.open()) as image:
                rgb = image.convert("RGB")
        # Pillow signals a bad file with many types (OSError, SyntaxError, ValueError, DecompressionBombError ...)
        except Exception as error:
            raise SampleError(entry.sample_id, label, f"cannot read image {entry.sample_id} of {self.name}: "
                                                      f"{' '.join(str(error).split())}") from error  # fmt: skip
        if self.size is not None:
            rgb = _processor_resize(rgb, self.size)
        return np.array(rgb, dtype=np.uint8)


def _processor_resize(image: Image.Image, size: int) -> Image.Image:
    """Shortest side to `size` (bicubic, CLIP's resample), then the centre `size` x `size` square."""
    width, height = image.size
    scale = size / min(width, height)
    resized = image.resize((max(size, round(width * scale)), max(size, round(height * scale))),
                           Image.Resampling.BICUBIC)  # fmt: skip
    left, top = (resized.width - size) // 2, (resized.height - size) // 2
    return resized.crop((left, top, left + size, top + size))
