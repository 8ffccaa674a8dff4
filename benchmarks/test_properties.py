"""Property-based robustness checks with hypothesis (select with -m properties).

- invariance: for each mild, label-preserving perturbation (brightness, contrast, JPEG, rotation, translation,
  noise) hypothesis draws strengths; at each, the answers must not show that fewer than AGREEMENT of the images
  (or the model's `min_agreement` in the thresholds file) keep their clean answer (an exact test at the check's share of the run's error rate, `check_level`).
  On failure hypothesis shrinks the strength towards 0: the report shows the smallest strength found that
  breaks the property, with the first image whose answer changed, before and after.
- option order: permuting the candidate labels must not change the chosen label (VLMEvalKit's circular
  evaluation, as a property over permutations).
The severity-curve properties (monotone degradation, robustness boundary) live with the corruption cells in
test_corruptions.py. Profiles: `ci` (default), `dev`, `nightly` with --hypothesis-profile.
"""

import pytest
from hypothesis import given, strategies as st

from generators.perturbations import PERTURBATIONS, Perturb
from ood_fixtures.catalog.cells import Cell
from ood_fixtures.catalog.scenarios import SHAPES
from ood_fixtures.catalog.strategies import permutations, strengths
from ood_fixtures.evaluation.properties import AGREEMENT, Finding, agreement, example_pair

# images per drawn example: every example is a model call on all of them. At 96, a check fails when 21 or more
# answers change (at the ci profile's level, 7e-4): a check on a model keeping 75% of its answers fails 4 times in 5.
SAMPLES = 96
CLEAN = Cell("property", "invariance", "clean", None, SHAPES)


@pytest.mark.properties
@pytest.mark.parametrize("name", PERTURBATIONS)
@given(data=st.data())
def test_invariance(name, data, model, ood_run, record_finding, agreement_level, request):
    perturbation = PERTURBATIONS[name]
    strength = data.draw(strengths(perturbation.limit, perturbation.signed), label="strength")
    perturbed = Cell("property", "invariance", f"{name}@{strength:g}", None, SHAPES, Perturb(name, strength))
    seed, module = ood_run.options.seed, request.node.path
    result = agreement(model, CLEAN, perturbed, seed, SAMPLES, module)
    required = ood_run.limits(f"property/invariance/{name}").get("min_agreement", AGREEMENT)
    p_value, unit = result.p_value(required), PERTURBATIONS[name].unit
    values = {"perturbation": name, "strength": strength, "unit": unit, "agreement": result.share,
              "threshold": required, "samples": SAMPLES, "p_value": p_value, "level": agreement_level}  # fmt: skip
    if p_value >= agreement_level:
        kept = f"answers kept at every strength drawn (closest: {result.share:.1%} at {strength:g} {unit})"
        record_finding(Finding(f"invariance/{name}", True, kept, values))
        return
    pair = example_pair(CLEAN, perturbed, result, seed)
    summary = (f"at strength {strength:g} ({unit}) only {result.share:.1%} of {SAMPLES} answers stayed the same: "
               f"fewer than {required:.0%} at p={p_value:.2g} (this check's level {agreement_level:.2g}); "
               f"the smallest breaking strength hypothesis found")  # fmt: skip
    record_finding(Finding(f"invariance/{name}", False, summary, values, pair))
    pytest.fail(f"invariance/{name}: {summary}", pytrace=False)


class Permuted:
    """A source's images with its labels offered in another order."""

    def __init__(self, source, order: list[int]) -> None:
        self.source = source
        self.name = source.name
        self.labels = [source.labels[i] for i in order]

    def sample(self, seed, index):
        return self.source.sample(seed, index)


@pytest.mark.properties
@given(order=permutations(len(SHAPES.labels)))
def test_option_order(order, model, ood_run, record_finding, agreement_level, request):
    shuffled = Cell("property", "option-order", "order-" + "-".join(map(str, order)), None, Permuted(SHAPES, order))
    seed, module = ood_run.options.seed, request.node.path
    result = agreement(model, CLEAN, shuffled, seed, SAMPLES, module)
    required = ood_run.limits("property/option-order").get("min_agreement", AGREEMENT)
    p_value = result.p_value(required)
    values = {"agreement": result.share, "threshold": required, "samples": SAMPLES, "order": list(order),
              "p_value": p_value, "level": agreement_level}  # fmt: skip
    if p_value >= agreement_level:
        record_finding(Finding("option-order", True, "the chosen label did not depend on the options' order", values))
        return
    pair = example_pair(CLEAN, shuffled, result, seed)
    summary = (f"with the options reordered, only {result.share:.1%} of {SAMPLES} answers stayed the same: fewer "
               f"than {required:.0%} at p={p_value:.2g} (this check's level {agreement_level:.2g})")
    record_finding(Finding("option-order", False, summary, values, pair))
    pytest.fail(f"option-order: {summary}", pytrace=False)
