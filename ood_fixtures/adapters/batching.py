"""Batches for models on an accelerator: a fixed size, or `auto`, which finds the largest size that fits.

`auto` starts at `AUTO_START` images on CUDA and halves the batch whenever the device runs out of memory, then
keeps the size that worked for the rest of the run (accelerate's `find_executable_batch_size` does the same;
it is not worth a dependency for these few lines). On a CPU there is no out-of-memory error to recover from,
only a killed process, so `auto` is a fixed `CPU_BATCH`.
"""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

AUTO_START = 256
CPU_BATCH = 64


def is_out_of_memory(error: BaseException) -> bool:
    # torch.cuda.OutOfMemoryError is a RuntimeError; other backends only say so in the message.
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


class Batcher:
    """Maps a batch function over items. `size` None means auto."""

    def __init__(self, size: int | None, device: str) -> None:
        self.auto = size is None
        self.size = size or (AUTO_START if device.startswith("cuda") else CPU_BATCH)
        self.device = device

    def map(self, run: Callable[[list[Item]], list[Result]], items: Sequence[Item]) -> list[Result]:
        results: list[Result] = []
        start = 0
        while start < len(items):
            batch = list(items[start : start + self.size])
            try:
                results += run(batch)
            except Exception as error:
                if not (self.auto and self.size > 1 and is_out_of_memory(error)):
                    raise
                self._shrink()
                continue
            start += len(batch)
        return results

    def _shrink(self) -> None:
        self.size //= 2
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.empty_cache()  # the failed batch's blocks, so the smaller one can use them
