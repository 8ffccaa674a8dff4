"""The process environment a run needs: each xdist worker's share of the CPU threads, and the property tests'
hypothesis profiles."""

from __future__ import annotations

import os

import pytest

# Thread pools that size themselves to every core: BLAS under numpy, scipy and scikit-learn, OpenMP under torch,
# OpenCV's. In every xdist worker each would take all cores, and oversubscribed pools spin against each other
# (the main job at -n 2 took 65 s with them, 54 s without).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENCV_FOR_THREADS_NUM")


def share_cores(config: pytest.Config) -> None:
    """Each xdist worker gets its share of the cores. Set on the controller before the workers start, so that
    every library reads it when a worker imports it; a value the user set is kept."""
    workers = getattr(config.option, "numprocesses", None)
    if not isinstance(workers, int) or workers < 1:
        return
    share = str(max(1, len(os.sched_getaffinity(0)) // workers))
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, share)


def hypothesis_profiles(config: pytest.Config) -> None:
    """The property tests' hypothesis profiles; `ci` unless --hypothesis-profile names another.

    All are derandomized (examples depend on the test alone, images on --seed: a run is reproducible) and keep no
    example database (a rerun must not depend on an earlier one). The fixtures the property tests use record
    the last falsifying example, which hypothesis replays last: that is the shrunk one the report shows.
    """
    from hypothesis import HealthCheck, settings

    common = dict(derandomize=True, database=None, deadline=None, print_blob=False,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
    settings.register_profile("ci", max_examples=10, **common)
    settings.register_profile("dev", max_examples=25, **common)
    settings.register_profile("nightly", max_examples=200, **common)
    if not config.getoption("--hypothesis-profile", None):
        settings.load_profile("ci")
