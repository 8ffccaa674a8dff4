"""Does the release gate cry wolf between two equally good releases, and does it catch real regressions?

    python scripts/reliability.py [--pairs 20] [--first-seed 100] [--samples 100] [--work DIR]

Every figure is measured on the main job's cells (the 127 shift cells and 56 in-context cells of `pytest
benchmarks`) through the suite's own gate (ood_fixtures/gating/release.py), the way `--baseline` applies it. Each pair
is one seed (fresh images, seeds 100 and up: away from the seeds the thresholds were calibrated on).

False alarms need candidates that are provably as good as the baseline, cell by cell, yet answer differently, as
a retrained release does. Rerunning one model gives identical answers, and a copy with noise in its weights is
worse. So two real models are mixed: the shipped reference CLIP and a sibling trained by the same script with
another seed (`train_reference_clip.py --seed 1`). A mixture answers each image with one of the two, chosen by a
keyed hash of (key, cell, sample): a coin independent of the image. For any key, a mixture's expected accuracy
on any cell is the mean of the two models' accuracies there, so the baseline (key 2k) and the candidate (key
2k + 1) are exactly as good in every cell, and differ on about half the images where the two models differ.

Regressions, each gated against the same pair's baseline mixture:
- one cell down 20 points: in one cell drawn per pair (among those with accuracy >= 0.3), each right answer of the
  candidate turns wrong with probability 0.20 / its accuracy there, an expected drop of 20 points;
- a corruption group down 10 points: the same in every cell of the group (--group), 0.10 / accuracy;
- degraded vision weights: the reference with Gaussian noise (--noise, relative to each tensor's spread) on its
  vision tower, gated against the reference itself;
- a group misread: scripts/degrade_reference.py's copy (fine-tuned to misread --group), against the reference.
Rates come with Clopper-Pearson 95% intervals. The models are built once into --work and reused.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generators.corruptions import CORRUPTIONS, SEVERITY_TABLE_VERSION  # noqa: E402
from ood_fixtures import adapters  # noqa: E402
from ood_fixtures.adapters import Settings  # noqa: E402
from ood_fixtures.adapters.families.clip import REFERENCE_PATH  # noqa: E402
from ood_fixtures.catalog import scenarios  # noqa: E402
from ood_fixtures.catalog.cells import Cell  # noqa: E402
from ood_fixtures.evaluation.predict import SampleResult, answer, render  # noqa: E402
from ood_fixtures.evaluation.score import Gating, score  # noqa: E402
from ood_fixtures.gating import release, thresholds as gate  # noqa: E402

MAIN_JOB_CELLS = 183


def main_job_cells() -> list[Cell]:
    """The cells of the main job, each once, in the order of the benchmark modules."""
    return scenarios.at(scenarios.DEFAULT_SIZE).cells()


def sibling(work: Path) -> Path:
    """A second reference CLIP: the same training script, another seed (about 12 minutes on 2 cores)."""
    path = work / "sibling"
    if not (path / "model.safetensors").exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "train_reference_clip.py"), "--seed", "1",
                        "--out", str(path)], check=True)  # fmt: skip
    return path


def noisy_vision(work: Path, noise: float) -> Path:
    """The reference with Gaussian noise of `noise` x each tensor's standard deviation on its vision tower."""
    path = work / f"noisy-vision-{noise:g}"
    if not (path / "model.safetensors").exists():
        import torch
        from transformers import CLIPModel

        model = CLIPModel.from_pretrained(REFERENCE_PATH)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for name, tensor in model.vision_model.named_parameters():
                if tensor.ndim > 1:  # weights, not norms and biases
                    tensor.add_(torch.randn(tensor.shape, generator=generator) * tensor.std() * noise)
        model.save_pretrained(path)
        for name in ("processor_config.json", "tokenizer.json", "tokenizer_config.json"):
            shutil.copy(REFERENCE_PATH / name, path / name)
    return path


def misreader(work: Path, group: str) -> Path:
    path = work / f"misreads-{group}"
    if not (path / "model.safetensors").exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "degrade_reference.py"), str(path), "--group", group],
                       check=True)  # fmt: skip
    return path


def answers(cells: list[Cell], models: dict[str, object], seed: int, samples: int) -> dict[str, dict[str, list]]:
    """Every model's answers on every cell; each cell's images are rendered once for all models."""
    out: dict[str, dict[str, list]] = {name: {} for name in models}
    for cell in cells:
        rendered = render(cell, seed, samples)
        for name, model in models.items():
            out[name][cell.id] = answer(cell, model, seed, rendered)[0]
    return out


def _coin(key: int, cell_id: str, sample_id: str) -> bool:
    return hashlib.sha256(f"{key}\x1f{cell_id}\x1f{sample_id}".encode()).digest()[0] < 128


def mixture(first: dict[str, list], second: dict[str, list], key: int) -> dict[str, list]:
    """Per sample the first model's answer or the second's, by a keyed coin independent of the image."""
    return {cell_id: [a if _coin(key, cell_id, a.sample_id) else b for a, b in zip(first[cell_id], second[cell_id])]
            for cell_id in first}  # fmt: skip


def lowered(run: dict[str, list], cells: set[str], drop: float, rng: np.random.Generator) -> dict[str, list]:
    """Each right answer in `cells` turns wrong with probability drop / accuracy: an expected drop of `drop`."""
    out = dict(run)
    for cell_id in cells:
        samples = run[cell_id]
        accuracy = np.mean([s.correct for s in samples])
        chance = min(1.0, drop / accuracy) if accuracy else 0.0
        out[cell_id] = [replace(s, prediction="(regressed)") if s.correct and rng.random() < chance else s
                        for s in samples]  # fmt: skip
    return out


def document(run: dict[str, list[SampleResult]], cells: list[Cell], seed: int, samples: int) -> dict:
    """The results.json form of a run, scored as the suite scores it (no thresholds, no baseline)."""
    accuracy = {cell_id: float(np.mean([s.correct for s in ss])) for cell_id, ss in run.items()}
    rows = [score(c, run[c.id], [], accuracy[c.reference.id] if c.reference else None, Gating({})).to_dict()
            for c in cells]  # fmt: skip
    return {"schema": 1, "seed": seed, "samples_per_cell": samples, "severity_table": SEVERITY_TABLE_VERSION,
            "cells": rows}


def gated(baseline: dict, candidate: dict, args: argparse.Namespace) -> release.RunGate:
    return compared(baseline, candidate, args)[1]


def compared(baseline: dict, candidate: dict, args: argparse.Namespace) -> tuple[list[dict], release.RunGate]:
    return release.compare_documents(candidate, baseline, args.tolerance / 100, args.alpha)


def rate(hits: int, total: int) -> str:
    from scipy.stats import binomtest

    interval = binomtest(hits, total).proportion_ci(method="exact") if total else None
    return f"{hits} of {total}" + (f" (95% CI {interval.low:.2f}-{interval.high:.2f})" if interval else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=100)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--group", default="noise", help="the corruption group the group regressions hit")
    parser.add_argument("--noise", type=float, default=0.4, help="vision-weight noise, x each tensor's spread")
    parser.add_argument("--tolerance", type=float, default=2.0, help="regression tolerance, accuracy points")
    parser.add_argument("--alpha", type=float, default=release.ALPHA, help="the run's false-alarm rate")
    parser.add_argument("--work", type=Path, default=ROOT / "reports" / "reliability", help="built models")
    args = parser.parse_args()

    started = time.time()
    args.work.mkdir(parents=True, exist_ok=True)
    settings = Settings(device="cpu", batch_size=128)
    models = {
        "reference": adapters.create("reference", settings),
        "sibling": adapters.create(f"clip:{sibling(args.work)}", settings),
        "noisy-vision": adapters.create(f"clip:{noisy_vision(args.work, args.noise)}", settings),
        "misreads-group": adapters.create(f"clip:{misreader(args.work, args.group)}", settings),
    }
    thresholds = gate.load(ROOT / "benchmarks" / "thresholds.toml")
    cells = main_job_cells()
    assert len(cells) == MAIN_JOB_CELLS, f"found {len(cells)} cells, the main job has {MAIN_JOB_CELLS}"
    group = {c.id for c in cells if c.family == "corruption" and CORRUPTIONS.get(c.shift, None)
             and CORRUPTIONS[c.shift].group == args.group}  # fmt: skip
    print(f"{len(cells)} cells, {args.pairs} pairs from seed {args.first_seed}, {args.samples} samples per cell; "
          f"models built in {time.time() - started:.0f}s", flush=True)  # fmt: skip

    tally: dict[str, list[release.RunGate]] = {k: [] for k in
                                              ("equal", "cell-20", "group-10", "noisy-vision", "misreads-group",
                                               "sibling")}  # fmt: skip
    discordance, threshold_runs, hit_cells = [], 0, []
    for pair in range(args.pairs):
        seed = args.first_seed + pair
        rng = np.random.default_rng(seed)
        run = answers(cells, models, seed, args.samples)
        base_run = mixture(run["reference"], run["sibling"], 2 * pair)
        cand_run = mixture(run["reference"], run["sibling"], 2 * pair + 1)
        doc = lambda r: document(r, cells, seed, args.samples)  # noqa: E731
        base, cand, reference = doc(base_run), doc(cand_run), doc(run["reference"])
        eligible = [c["id"] for c in cand["cells"] if c["accuracy"] >= 0.3]
        hit = eligible[int(rng.integers(len(eligible)))]
        hit_cells.append(hit)
        equal_cells, equal = compared(base, cand, args)
        tally["equal"].append(equal)
        tally["cell-20"].append(gated(base, doc(lowered(cand_run, {hit}, 0.20, rng)), args))
        tally["group-10"].append(gated(base, doc(lowered(cand_run, group, 0.10, rng)), args))
        tally["noisy-vision"].append(gated(reference, doc(run["noisy-vision"]), args))
        tally["misreads-group"].append(gated(reference, doc(run["misreads-group"]), args))
        tally["sibling"].append(gated(reference, doc(run["sibling"]), args))
        changed = [(c["gate"]["baseline"]["worse"] + c["gate"]["baseline"]["better"]) / c["n"] for c in equal_cells]
        discordance.append(float(np.mean(changed)))
        failing = [c.id for c in cells if _fails_thresholds(c, run["reference"], thresholds)]
        threshold_runs += bool(failing)
        print(f"pair {pair + 1} (seed {seed}): equal candidates {equal.outcome} ({len(equal.cells.inconclusive)} "
              f"inconclusive), answers differ on {discordance[-1]:.1%}; cell -20 ({hit}) "
              f"{tally['cell-20'][-1].outcome}; group -10 {tally['group-10'][-1].outcome}; noisy vision "
              f"{tally['noisy-vision'][-1].outcome}; misreader {tally['misreads-group'][-1].outcome}; "
              f"thresholds {failing or 'pass'}; {time.time() - started:.0f}s", flush=True)  # fmt: skip
    report(tally, discordance, threshold_runs, hit_cells, args, time.time() - started)


def _fails_thresholds(cell: Cell, run: dict[str, list], thresholds: gate.Thresholds) -> bool:
    samples = run[cell.id]
    reference = float(np.mean([s.correct for s in run[cell.reference.id]])) if cell.reference else None
    limits = thresholds.limits_for(cell.id, "reference")
    return score(cell, samples, [], reference, Gating(limits)).verdict.outcome == "fail"


def report(tally: dict[str, list[release.RunGate]], discordance: list[float], threshold_runs: int,
           hit_cells: list[str], args: argparse.Namespace, seconds: float) -> None:  # fmt: skip
    pairs = args.pairs
    failed = lambda key: sum(g.outcome == "fail" for g in tally[key])  # noqa: E731
    caught = lambda key, prefix: sum(any(a.outcome == "fail" and a.id.startswith(prefix) for a in g.aggregates)  # noqa: E731
                                     for g in tally[key])  # fmt: skip
    equal = tally["equal"]
    print(f"\n{pairs} pairs, {MAIN_JOB_CELLS} cells each, {args.samples} samples per cell, tolerance "
          f"{args.tolerance:g} points, alpha {args.alpha:g}; {seconds:.0f}s")
    print(f"equally good candidates (answers differ on {np.mean(discordance):.1%} of samples, "
          f"{min(discordance):.1%}-{max(discordance):.1%}):")
    print(f"  runs with any failing gate: {rate(failed('equal'), pairs)}")
    print(f"  inconclusive cells per run: {np.mean([len(g.cells.inconclusive) for g in equal]):.1f} "
          f"(max {max(len(g.cells.inconclusive) for g in equal)}) of {MAIN_JOB_CELLS}")
    reach = [[a.detectable for a in g.aggregates if a.detectable and a.measured.aggregate.kind != "mce"] for g in equal]
    print(f"  cells that cannot detect 10 points: {np.mean([len(g.cells.underpowered) for g in equal]):.0f}; "
          f"aggregates detect drops of {np.median([min(r) for r in reach]) * 100:.1f}"
          f"-{np.median([max(r) for r in reach]) * 100:.1f} points (medians over the pairs)")
    print("detection (runs that fail):")
    cell_self = sum(hit in g.cells.holm_failed for g, hit in zip(tally["cell-20"], hit_cells))
    print(f"  one cell down 20 points:        {rate(failed('cell-20'), pairs)}; by the cell itself "
          f"{rate(cell_self, pairs)}")
    print(f"  {args.group} group down 10 points:     {rate(failed('group-10'), pairs)}; by group/{args.group} "
          f"{rate(caught('group-10', f'group/{args.group}'), pairs)}, by family/corruption "
          f"{rate(caught('group-10', 'family/corruption'), pairs)}")
    print(f"  vision weights + {args.noise:g} noise:    {rate(failed('noisy-vision'), pairs)}; "
          f"{_typical(tally['noisy-vision'])}")
    print(f"  fine-tuned to misread {args.group}: {rate(failed('misreads-group'), pairs)}; "
          f"{_typical(tally['misreads-group'])}")
    print(f"sibling (retrained, seed 1) vs reference, not provably equal: {rate(failed('sibling'), pairs)} runs fail; "
          f"{_typical(tally['sibling'])}")
    print(f"shipped thresholds, reference, these cells: {rate(threshold_runs, pairs)} runs with a failing cell")


def _typical(gates: list[release.RunGate]) -> str:
    """What failed, how often: the aggregates and the number of cells."""
    counts: dict[str, int] = {}
    for g in gates:
        for a in g.aggregates:
            if a.outcome == "fail":
                counts[a.id] = counts.get(a.id, 0) + 1
    cells = np.mean([len(g.cells.holm_failed) for g in gates])
    top = ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])[:6])
    return f"failing aggregates (runs): {top or 'none'}; {cells:.1f} cells fail per run"


if __name__ == "__main__":
    main()
