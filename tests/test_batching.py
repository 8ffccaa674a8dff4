import pytest

from ood_fixtures.adapters.batching import AUTO_START, CPU_BATCH, Batcher


class Device:
    """Runs batches of up to `fits` items; larger ones fail as CUDA does when memory runs out."""

    def __init__(self, fits: int) -> None:
        self.fits = fits
        self.sizes: list[int] = []

    def __call__(self, batch):
        self.sizes.append(len(batch))
        if len(batch) > self.fits:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return [item * 10 for item in batch]


def test_auto_halves_until_the_batch_fits_and_keeps_that_size():
    device, batcher = Device(fits=100), Batcher(None, "cuda")
    assert batcher.map(device, list(range(500))) == [i * 10 for i in range(500)]
    assert device.sizes[:3] == [AUTO_START, AUTO_START // 2, AUTO_START // 4]
    assert batcher.size == 64 and set(device.sizes[3:]) <= {64, 500 % 64}


def test_a_fixed_size_is_never_changed_and_its_out_of_memory_error_is_raised():
    with pytest.raises(RuntimeError, match="out of memory"):
        Batcher(128, "cuda").map(Device(fits=100), list(range(500)))


def test_other_errors_are_raised_at_once():
    def broken(batch):
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        Batcher(None, "cuda").map(broken, [1, 2, 3])


def test_a_batch_of_one_that_does_not_fit_is_an_error():
    with pytest.raises(RuntimeError, match="out of memory"):
        Batcher(None, "cuda").map(Device(fits=0), [1, 2])


def test_auto_on_cpu_is_a_fixed_size():
    device = Device(fits=1000)
    assert Batcher(None, "cpu").map(device, list(range(150))) == [i * 10 for i in range(150)]
    assert device.sizes == [CPU_BATCH, CPU_BATCH, 150 - 2 * CPU_BATCH]
