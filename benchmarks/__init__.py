"""The standard benchmarks: one module per family of shifts, each a table of cells. Installed as the package
`ood_fixtures.benchmarks` (pyproject.toml maps it to this folder), so that `ood-fixtures run` finds them anywhere;
in the clone, `pytest benchmarks -n 4` runs them."""
