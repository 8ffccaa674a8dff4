"""Property-based robustness checks with hypothesis (select with -m properties).

- invariance: for each mild, label-preserving perturbation (brightness, contrast, JPEG, rotation, translation,
  noise) hypothesis draws strengths; at each, the answers must not show that fewer than AGREEMENT of the images
  (or the model's `min_agreement` in the thresholds file) keep their clean answer (an exact test at the check's share of the run's error rate, `check_level`).
  On failure hypothesis shrinks the strength towards 0: the report shows the smallest strength found that
  breaks the property, with the first image whose answer changed, before and after.
- option order: permuting the candidate labels must not change the chosen label (VLMEvalKit's circular
  evaluation, as a property over permutations).
The severity-curve properties (monotone degradation, robustness boundary) live with the corruption cells in
test_corruptions.py. Each check runs on the shapes and on each --dataset's source domain (ids "<dataset>-<name>").
Profiles: `ci` (default), `dev`, `nightly` with --hypothesis-profile.
"""

import pytest
from hypothesis import given, strategies as st

from generators.perturbations import PERTURBATIONS, Perturb
from ood_fixtures.catalog.cells import Cell
from ood_fixtures.catalog.scenarios import Catalog
from ood_fixtures.catalog.strategies import permutations, strengths
from ood_fixtures.evaluation.properties import AGREEMENT, Finding, agreement, example_pair
from ood_fixtures.plugin import cells

# images per drawn example: every example is a model call on all of them. At 96, a check fails when 21 or more
# answers change (at the ci profile's level, 7e-4): a check on a model keeping 75% of its answers fails 4 times in 5.
SAMPLES = 96


class Checked:
    """The in-distribution images a property perturbs: the shapes, or a --dataset's source domain. `name` prefixes
    the check's id ("invariance/<dataset>/jpeg") and its cells' scenario, where it is a dataset's."""

    def __init__(self, source, dataset: str | None = None) -> None:
        self.source = source
        self.dataset = dataset
        self.scenario = "invariance" if dataset is None else f"invariance-{dataset}"
        self.clean = Cell("property", self.scenario, "clean", None, source)

    def check(self, name: str) -> str:
        return name if self.dataset is None else f"{name}/{self.dataset}"


def sources(catalog: Catalog) -> list[Checked]:
    return [Checked(catalog.shapes), *(Checked(d.source, d.name) for d in catalog.datasets)]


def invariance_cases(catalog: Catalog):
    for checked in sources(catalog):
        for name in PERTURBATIONS:
            yield pytest.param((checked, name), id=name if checked.dataset is None else f"{checked.dataset}-{name}")


@pytest.mark.properties
@cells(invariance_cases, argname="case")
@given(data=st.data())
def test_invariance(case, data, model, ood_run, record_finding, agreement_level, request):
    checked, name = case
    perturbation = PERTURBATIONS[name]
    strength = data.draw(strengths(perturbation.limit, perturbation.signed), label="strength")
    perturbed = Cell("property", checked.scenario, f"{name}@{strength:g}", None, checked.source,
                     Perturb(name, strength))  # fmt: skip
    seed, module, check = ood_run.options.seed, request.node.path, checked.check(f"invariance/{name}")
    result = agreement(model, checked.clean, perturbed, seed, SAMPLES, module)
    required = ood_run.limits(f"property/{check}").get("min_agreement", AGREEMENT)
    p_value, unit = result.p_value(required), PERTURBATIONS[name].unit
    values = {"perturbation": name, "strength": strength, "unit": unit, "agreement": result.share,
              "threshold": required, "samples": SAMPLES, "p_value": p_value, "level": agreement_level}  # fmt: skip
    if p_value >= agreement_level:
        kept = f"answers kept at every strength drawn (closest: {result.share:.1%} at {strength:g} {unit})"
        record_finding(Finding(check, True, kept, values))
        return
    pair = example_pair(checked.clean, perturbed, result, seed)
    summary = (f"at strength {strength:g} ({unit}) only {result.share:.1%} of {SAMPLES} answers stayed the same: "
               f"fewer than {required:.0%} at p={p_value:.2g} (this check's level {agreement_level:.2g}); "
               f"the smallest breaking strength hypothesis found")  # fmt: skip
    record_finding(Finding(check, False, summary, values, pair))
    pytest.fail(f"{check}: {summary}", pytrace=False)


class Permuted:
    """A source's images with its labels offered in another order."""

    def __init__(self, source, order: list[int]) -> None:
        self.source = source
        self.name = source.name
        self.labels = [source.labels[i] for i in order]

    def __len__(self):
        return len(self.source)  # a TypeError for a generated source, which has no end

    def sample(self, seed, index):
        return self.source.sample(seed, index)


@pytest.mark.properties
@cells(lambda catalog: [pytest.param(c, id=c.dataset or "shapes") for c in sources(catalog)], argname="checked")
@given(data=st.data())
def test_option_order(checked, data, model, ood_run, record_finding, agreement_level, request):
    order = data.draw(permutations(len(checked.source.labels)), label="order")
    shuffled = Cell("property", checked.scenario.replace("invariance", "option-order"),
                    "order-" + "-".join(map(str, order)), None, Permuted(checked.source, order))  # fmt: skip
    seed, module, check = ood_run.options.seed, request.node.path, checked.check("option-order")
    result = agreement(model, checked.clean, shuffled, seed, SAMPLES, module)
    required = ood_run.limits(f"property/{check}").get("min_agreement", AGREEMENT)
    p_value = result.p_value(required)
    values = {"agreement": result.share, "threshold": required, "samples": SAMPLES, "order": list(order),
              "p_value": p_value, "level": agreement_level}  # fmt: skip
    if p_value >= agreement_level:
        record_finding(Finding(check, True, "the chosen label did not depend on the options' order", values))
        return
    pair = example_pair(checked.clean, shuffled, result, seed)
    summary = (f"with the options reordered, only {result.share:.1%} of {SAMPLES} answers stayed the same: fewer "
               f"than {required:.0%} at p={p_value:.2g} (this check's level {agreement_level:.2g})")
    record_finding(Finding(check, False, summary, values, pair))
    pytest.fail(f"{check}: {summary}", pytrace=False)
