"""The `ood-fixtures` command (also `python -m ood_fixtures`):

    ood-fixtures run [PYTEST OPTIONS]       the standard benchmarks, from any folder, reports into ./reports
    ood-fixtures compare OLD.json NEW.json  the release gate of NEW against OLD, as a markdown table
    ood-fixtures merge SHARD.json... [--report-dir DIR]   the --shard parts of a run as one run's reports

`run` is pytest on the installed benchmark modules with the suite's own pytest settings (not those of the project
it runs in); every pytest and suite option passes through: `ood-fixtures run -n 4 --model clip:./ckpt`.
"""

from __future__ import annotations

import sys
from pathlib import Path

USAGE = "usage: ood-fixtures {run,compare,merge} ... (ood-fixtures run --help lists the options)"


def run(argv: list[str]) -> int:
    import pytest

    from ood_fixtures.plugin.options import benchmarks_folder

    folder = benchmarks_folder()
    # The benchmarks' folder is the rootdir (test ids read test_corruptions.py::...), and -c keeps the settings of
    # a project around the working folder out; pytest's cache stays in the working folder, not in site-packages.
    # -p: the plugin also where entry points are not loaded (PYTEST_DISABLE_PLUGIN_AUTOLOAD).
    args = [str(folder), "-c", str(folder / "ood-fixtures.ini"), "--rootdir", str(folder), "-p", "ood_fixtures.plugin"]
    if "no:cacheprovider" not in argv:
        args += ["-o", f"cache_dir={Path.cwd() / '.pytest_cache'}"]
    return int(pytest.main([*args, *argv]))


def compare(argv: list[str]) -> int:
    from ood_fixtures.reports import compare

    return compare.main(argv)


def merge(argv: list[str]) -> int:
    from ood_fixtures.reports import merge

    return merge.main(argv)


COMMANDS = {"run": run, "compare": compare, "merge": merge}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])
