"""ood_fixtures: a pytest suite that gates vision-language model releases on out-of-distribution robustness.

The public API is `ood_fixtures.api` (cells from your own images and shifts, hypothesis strategies, gates, and
the fixtures' types); the command line is `ood-fixtures` (`ood_fixtures.cli`). Every other module is internal
and may change in any release. This module stays light: pytest imports the package in every session.
"""

__version__ = "0.2.0"  # the one place the version is written (pyproject.toml reads it)
# results.json's schema: raised only when a reader of the older one would misread the new one (keys added are not
# a change); every results.json carries it with the suite_version that wrote it
RESULTS_SCHEMA = 1
