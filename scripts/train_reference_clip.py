"""Trains the shipped reference CLIP model on generated coloured shapes; CPU only, seeded, a few minutes.

    python scripts/train_reference_clip.py            # writes ood_fixtures/reference/clip-shapes/

The model is a transformers `CLIPModel` from a tiny config, with a BPE tokenizer trained by the `tokenizers`
library on the captions, saved with `save_pretrained` (safetensors) beside its processor, so that the suite loads
it through `from_pretrained` exactly as it loads a hub checkpoint. Training data are `ShapeGenerator` images drawn
under the scenario name "shapes-train", which the benchmark never uses, so evaluation images are always fresh.

The objective is CLIP's image-to-text contrastive loss taken against the captions of all classes at once
(each batch holds several images per class, so in-batch captions would count duplicates as negatives).
"""

from __future__ import annotations

import argparse
import json
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

from generators.shapes import ShapeGenerator  # noqa: E402
from ood_fixtures.prompts import TEMPLATES, captions  # noqa: E402

SPECIALS = ["<pad>", "<unk>", "<bos>", "<eos>"]  # eos must not be id 2: CLIP treats that id as a legacy config
MAX_TEXT_TOKENS = 16
IMAGE_MEAN = IMAGE_STD = [0.5, 0.5, 0.5]


MODEL_CARD = """\
# clip-shapes: the suite's reference CLIP model

A tiny `transformers.CLIPModel` ({parameters:,} parameters; ViT with {patch_size}-pixel patches on {image_size}-pixel
images, 4 layers; 2-layer text transformer; BPE tokenizer trained on the captions) that ships with the suite so
that the main job runs offline on a real vision-language model. Loaded with `from_pretrained` from this folder,
like any hub checkpoint. Not a general-purpose model: it knows 24 classes.

- **Training data**: {train_images:,} images from `generators.shapes.ShapeGenerator` (scenario name
  "shapes-train", seed {seed}): one of 6 colours x 4 shapes on a plain near-grey background, random size,
  position and rotation. Classes: {label_list}. Captions: the class in each prompt template of
  `ood_fixtures/prompts.py`.
- **Objective**: CLIP's image-to-text contrastive loss against the captions of all 24 classes (one template per
  step, rotating), {steps} steps of {batch_size} images, AdamW with a one-cycle schedule peaking at {lr}.
- **In-distribution zero-shot accuracy**: {heldout_zero_shot_accuracy:.4f} on {heldout_images:,} fresh images
  (scenario "shapes-heldout"), with template ensembling.
- **Trained in** {train_seconds:.0f} s on the CPU (torch {torch}).
- **Retrain**: `python scripts/train_reference_clip.py` (deterministic for a given torch build and thread count;
  the figures above are from `training.json`, which the script writes).
- **Out of distribution**: it never saw corrupted images; `pytest benchmarks` measures how it degrades.
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


def render(generator: ShapeGenerator, seed: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    samples = [generator.sample(seed, i) for i in range(count)]
    images = np.stack([s.image for s in samples])
    labels = np.array([generator.labels.index(s.label) for s in samples])
    return images, labels


def to_pixels(images: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - 0.5) / 0.5


def text_embeddings(model: CLIPModel, tokenizer, labels: list[str], templates: tuple[str, ...]) -> torch.Tensor:
    texts = [text for label in labels for text in captions(label, templates)]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    emb = F.normalize(model.get_text_features(**batch).pooler_output, dim=-1)
    return F.normalize(emb.view(len(labels), len(templates), -1).mean(1), dim=-1)


@torch.no_grad()
def zero_shot_accuracy(model: CLIPModel, tokenizer, images: np.ndarray, labels: np.ndarray, names: list[str]) -> float:
    model.eval()
    text = text_embeddings(model, tokenizer, names, TEMPLATES)
    image = F.normalize(model.get_image_features(pixel_values=to_pixels(images)).pooler_output, dim=-1)
    return float(((image @ text.T).argmax(1).numpy() == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "ood_fixtures" / "reference" / "clip-shapes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=3500)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-images", type=int, default=24_000)
    parser.add_argument("--eval-images", type=int, default=2_400)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1.5e-3)
    args = parser.parse_args()

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    started = time.time()

    train_gen = ShapeGenerator(args.image_size, name="shapes-train")
    eval_gen = ShapeGenerator(args.image_size, name="shapes-heldout")
    names = train_gen.labels
    tokenizer = build_tokenizer([text for label in names for text in captions(label)])
    model = build_model(len(tokenizer), args.image_size, args.patch_size)

    images, labels = render(train_gen, args.seed, args.train_images)
    eval_images, eval_labels = render(eval_gen, args.seed, args.eval_images)
    print(f"rendered {len(images)} training images in {time.time() - started:.0f}s", flush=True)

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.steps, pct_start=0.1)
    order = np.random.default_rng(args.seed)
    for step in range(args.steps):
        model.train()
        batch = order.choice(len(images), args.batch_size, replace=False)
        template = TEMPLATES[step % len(TEMPLATES)]
        text = text_embeddings(model, tokenizer, names, (template,))
        image = F.normalize(model.get_image_features(pixel_values=to_pixels(images[batch])).pooler_output, dim=-1)
        logits = model.logit_scale.exp().clamp(max=100) * image @ text.T
        loss = F.cross_entropy(logits, torch.from_numpy(labels[batch]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 250 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  loss {loss.item():.3f}  {time.time() - started:.0f}s", flush=True)

    accuracy = zero_shot_accuracy(model, tokenizer, eval_images, eval_labels, names)
    print(f"held-out zero-shot accuracy {accuracy:.4f} on {len(eval_images)} images", flush=True)

    image_processor = CLIPImageProcessor(
        size={"shortest_edge": args.image_size}, crop_size={"height": args.image_size, "width": args.image_size},
        image_mean=IMAGE_MEAN, image_std=IMAGE_STD,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(args.out)
    info = {
        "seed": args.seed, "steps": args.steps, "lr": args.lr, "patch_size": args.patch_size, "batch_size": args.batch_size, "train_images": args.train_images,
        "image_size": args.image_size, "labels": names, "templates": list(TEMPLATES),
        "heldout_images": args.eval_images, "heldout_zero_shot_accuracy": accuracy,
        "train_seconds": round(time.time() - started, 1), "torch": torch.__version__,
        "parameters": sum(p.numel() for p in model.parameters()),
    }  # fmt: skip
    (args.out / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    (args.out / "README.md").write_text(MODEL_CARD.format(**info, label_list=", ".join(names)))
    print(f"saved to {args.out} in {time.time() - started:.0f}s")


if __name__ == "__main__":
    main()
