import os
import stat

from ood_fixtures.reports import document


def test_results_json_is_readable_as_any_file_the_user_writes(tmp_path):
    path = tmp_path / "reports" / "results.json"
    previous = os.umask(0o022)
    try:
        document.write(path, {"schema": 1})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not the temporary file's 0600
    assert not list(path.parent.glob(".results.json.*"))  # no temporary file left behind


def _cell(cell_id, reference, accuracy, severity):
    family, scenario, shift, _ = cell_id.split("/")
    return {"id": cell_id, "family": family, "scenario": scenario, "shift": shift, "severity": severity,
            "reference": reference, "accuracy": accuracy, "retained": None}  # fmt: skip


def test_curves_start_from_each_cells_named_reference():
    cells = [_cell("icl/p/none/0", None, 0.5, 0), _cell("icl/p/target/2", "icl/p/none/0", 0.6, 2),
             _cell("icl/p/spurious/0", "icl/p/none/0", 0.4, 0), _cell("icl/p/spurious/2", "icl/p/none/0", 0.45, 2)]
    curves = document.icl_curves(cells)
    assert curves == {"p": {"target": [[0, 0.5], [2, 0.6]], "spurious": [[0, 0.4], [2, 0.45]]}}


def test_a_reference_cell_is_the_one_that_names_none_not_one_without_retained():
    # a shifted cell whose reference scored 0 has no `retained`, and is still a shifted cell
    shifted = {**_cell("natural/objects/sketch/0", "natural/objects/photo/0", 0.1, None), "retained": None}
    source = _cell("natural/objects/photo/0", None, 0.0, None)
    ordered = sorted([shifted, source], key=document.cell_order)
    assert ordered[0] is source
    from ood_fixtures.reports.summary import summarize

    family = summarize(ordered, None)["families"]["natural"]
    assert family["reference_accuracy"] == {"natural/objects/photo/0": 0.0}
    assert family["worst"]["id"] == "natural/objects/sketch/0"
