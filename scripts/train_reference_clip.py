"""Trains the shipped reference CLIP model on the source domain of every generated family; CPU, seeded, minutes.

    python scripts/train_reference_clip.py            # writes ood_fixtures/reference/clip-reference/

The model is a transformers `CLIPModel` from a tiny config, with a BPE tokenizer trained by the `tokenizers`
library on the captions, saved with `save_pretrained` (safetensors) beside its processor, so that the suite loads
it through `from_pretrained` exactly as it loads a hub checkpoint.

Training data are the in-distribution (source) domains of each family in `TRAINING`
(`ood_fixtures/catalog/scenarios.py`), drawn under names that the
benchmarks never use ("-train"), so evaluation images are always fresh; target domains are never seen. Held-out
accuracy per family is measured on images drawn under "-heldout" names.

The objective is CLIP's image-to-text contrastive loss taken, for each image, against the captions of its own
family's classes (each batch holds several images per class, so in-batch captions would count duplicates as
negatives; and a benchmark cell only ever asks among one family's labels).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, PreTrainedTokenizerFast

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ood_fixtures.adapters.prompts import TEMPLATES, captions  # noqa: E402
from ood_fixtures.training import TRAINING, source, text_embeddings, to_pixels  # noqa: E402

SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]  # eos must not be id 2: CLIP treats that id as a legacy config
MAX_TEXT_TOKENS = 16
IMAGE_MEAN = IMAGE_STD = [0.5, 0.5, 0.5]


MODEL_CARD = """\
# clip-reference: the suite's reference CLIP model

A tiny `transformers.CLIPModel` ({parameters:,} parameters; ViT with {patch_size}-pixel patches on {image_size}-pixel
images, 4 layers; 2-layer text transformer; BPE tokenizer trained on the captions) that ships with the suite so
that the main job runs offline on a real vision-language model. Loaded with `from_pretrained` from this folder,
like any hub checkpoint. Not a general-purpose model: it knows the {classes} classes of the suite's generated
families.

- **Training data**: {train_images:,} images from the source (in-distribution) domain of each family, drawn under
  "-train" scenario names (seed {seed}) that the benchmarks never use:
{training_table}
  Captions: the class in each prompt template of `ood_fixtures/adapters/prompts.py`. No target domain, corruption or
  rotation was seen, nor the held-out pattern+shape combinations.
- **Objective**: CLIP's image-to-text contrastive loss against the captions of the image's own family's classes
  (one template per step, rotating), {steps} steps of {batch_size} images, AdamW with a one-cycle schedule
  peaking at {lr}.
- **In-distribution zero-shot accuracy** on {heldout_per_family:,} fresh images per source domain ("-heldout"
  names), with template ensembling:
{heldout_table}
- **Trained in** {train_seconds:.0f} s on the CPU (torch {torch}, {threads} threads).
- **Retrain**: `python scripts/train_reference_clip.py` (deterministic for a given torch build and thread count;
  the figures above are from `training.json`, which the script writes).
- **Out of distribution**: `pytest benchmarks` measures how it degrades on every family's target domains.
"""


def build_tokenizer(corpus: list[str]) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789.,-'")  # any word stays spellable, if not known
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=256, special_tokens=SPECIALS,
                                                        initial_alphabet=alphabet, show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>", special_tokens=[("<bos>", 2), ("<eos>", 3)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>",
        model_max_length=MAX_TEXT_TOKENS,
    )


def build_model(vocab_size: int, image_size: int, patch_size: int) -> CLIPModel:
    config = CLIPConfig(
        text_config=dict(vocab_size=vocab_size, hidden_size=96, intermediate_size=192, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=MAX_TEXT_TOKENS,
                         pad_token_id=0, bos_token_id=2, eos_token_id=3),
        vision_config=dict(image_size=image_size, patch_size=patch_size, hidden_size=128, intermediate_size=256,
                           num_hidden_layers=4, num_attention_heads=4),
        projection_dim=64,
    )  # fmt: skip
    return CLIPModel(config)


def render_rows(job: tuple[str, str, int, str, int, int]) -> tuple[np.ndarray, list[str]]:
    family, domain, size, split, seed, count = job
    generator = source(family, domain, size, split)
    samples = [generator.sample(seed, index) for index in range(count)]
    return np.stack([s.image for s in samples]), [s.label for s in samples]


def render_all(size: int, split: str, seed: int, counts: list[int]) -> list[tuple[np.ndarray, list[str]]]:
    """Every source domain's images, rendered in parallel (rendering is deterministic per image, so the
    result does not depend on the number of processes)."""
    jobs = [(family, domain, size, split, seed, count) for (family, domain, _), count in zip(TRAINING, counts)]
    with multiprocessing.get_context("spawn").Pool(min(len(jobs), multiprocessing.cpu_count())) as pool:
        return pool.map(render_rows, jobs)


def family_labels(size: int) -> dict[str, list[str]]:
    return {family: source(family, domain, size, "train").labels for family, domain, _ in TRAINING}


@torch.no_grad()
def zero_shot_accuracy(model: CLIPModel, tokenizer, images: np.ndarray, labels: list[str], names: list[str]) -> float:
    model.eval()
    text = text_embeddings(model, tokenizer, names, TEMPLATES)
    image = F.normalize(model.get_image_features(pixel_values=to_pixels(images)).pooler_output, dim=-1)
    predicted = (image @ text.T).argmax(1).numpy()
    return float(np.mean([names[p] == label for p, label in zip(predicted, labels)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "ood_fixtures" / "reference" / "clip-reference")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--image-scale", type=float, default=1.0, help="multiplies every training image count")
    parser.add_argument("--eval-images", type=int, default=400, help="held-out images per source domain")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1.5e-3)
    args = parser.parse_args()

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    started = time.time()

    per_family = family_labels(args.image_size)
    names = list(dict.fromkeys(label for labels in per_family.values() for label in labels))
    tokenizer = build_tokenizer([text for label in names for text in captions(label)])
    model = build_model(len(tokenizer), args.image_size, args.patch_size)

    counts = [round(count * args.image_scale) for _, _, count in TRAINING]
    rows = render_all(args.image_size, "train", args.seed, counts)
    heldout = render_all(args.image_size, "heldout", args.seed, [args.eval_images] * len(TRAINING))
    images = np.concatenate([r[0] for r in rows])
    labels = torch.tensor([names.index(label) for r in rows for label in r[1]])
    families = [family for (family, _, _), r in zip(TRAINING, rows) for _ in r[1]]
    # allowed[i, j]: caption j is a class of image i's family; the others are no candidates for it.
    masks = {f: torch.tensor([name in per_family[f] for name in names]) for f in per_family}
    allowed = torch.stack([masks[f] for f in families])
    print(f"rendered {len(images)} training images in {time.time() - started:.0f}s", flush=True)

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    order = np.random.default_rng(args.seed)
    for step in range(args.steps):
        model.train()
        batch = torch.from_numpy(order.choice(len(images), args.batch_size, replace=False))
        template = TEMPLATES[step % len(TEMPLATES)]
        text = text_embeddings(model, tokenizer, names, (template,))
        image = F.normalize(model.get_image_features(pixel_values=to_pixels(images[batch])).pooler_output, dim=-1)
        logits = model.logit_scale.exp().clamp(max=100) * image @ text.T
        loss = F.cross_entropy(logits.masked_fill(~allowed[batch], float("-inf")), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 250 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  {time.time() - started:.0f}s", flush=True)

    accuracy = {}
    for (family, domain, _), (held_images, held_labels) in zip(TRAINING, heldout):
        accuracy[f"{family}/{domain}"] = zero_shot_accuracy(model, tokenizer, held_images, held_labels,
                                                            per_family[family])  # fmt: skip
        print(f"held-out zero-shot accuracy {family}/{domain}: {accuracy[f'{family}/{domain}']:.4f}", flush=True)

    image_processor = CLIPImageProcessor(
        size={"shortest_edge": args.image_size}, crop_size={"height": args.image_size, "width": args.image_size},
        image_mean=IMAGE_MEAN, image_std=IMAGE_STD,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(args.out)
    info = {
        "seed": args.seed, "steps": args.steps, "lr": args.lr, "patch_size": args.patch_size,
        "batch_size": args.batch_size, "image_size": args.image_size, "templates": list(TEMPLATES),
        "training": [{"family": f, "domain": d, "images": n} for (f, d, _), n in zip(TRAINING, counts)],
        "train_images": len(images), "labels": per_family,
        "heldout_per_family": args.eval_images, "heldout_zero_shot_accuracy": accuracy,
        "train_seconds": round(time.time() - started, 1), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "parameters": sum(p.numel() for p in model.parameters()),
    }  # fmt: skip
    (args.out / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    training_table = "\n".join(f"  - {row['family']}/{row['domain']}: {row['images']:,} images, classes "
                               f"{', '.join(per_family[row['family']])}" for row in info["training"])  # fmt: skip
    heldout_table = "\n".join(f"  - {key}: {value:.4f}" for key, value in accuracy.items())
    (args.out / "README.md").write_text(MODEL_CARD.format(
        **info, classes=len(names), training_table=training_table, heldout_table=heldout_table))
    print(f"saved to {args.out} in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
