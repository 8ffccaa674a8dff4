"""A pytest plugin for the suite's own tests (`-p tests.fake_gpus`): the machine seems to have FAKE_GPUS CUDA
devices (default 4), so that --device's assignment of GPUs to xdist workers runs on a CPU. Only `python:` models
should run under it: they put nothing on a device."""

import os

from ood_fixtures.plugin import options

options.cuda_devices = lambda: int(os.environ.get("FAKE_GPUS", "4"))
options._cuda_possible = lambda: True
