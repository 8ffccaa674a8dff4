"""Why accuracy drops (the study's diagnosis), per family and target domain: zero-shot accuracy, a linear probe on
the model's own image features (cross-validated), the mapping gap between them, and the gain from descriptive
label texts (your --dataset's descriptions, where its card gives them). The gate is on the probe (the features must still tell the classes apart) and on the gap; the
verdict names the explanations the figures support (ood_fixtures/evaluation/diagnosis.py). Select with -m diagnosis.
"""

import pytest

from ood_fixtures.plugin import assert_gate, cells


@pytest.mark.diagnosis
@cells(lambda catalog: [*catalog.diagnosis_targets, *(c for d in catalog.datasets for c in d.diagnosis_targets)],
       ids=lambda c: "-".join(str(p) for p in c.id.split("/")[1:]))
def test_diagnosis(cell, diagnose):
    assert_gate(diagnose(cell))
