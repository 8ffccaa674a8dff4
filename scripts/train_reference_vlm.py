"""Trains the shipped generative reference model (`--model reference-vlm`): a tiny LLaVA; CPU, seeded, minutes.

    python scripts/train_reference_vlm.py            # writes ood_fixtures/reference/llava-reference/

A transformers `LlavaForConditionalGeneration` from a small config: the vision tower is the reference CLIP's
(ood_fixtures/reference/clip-reference, frozen), the projector and a small Llama language model are trained to
answer the study's multiple-choice question ("What is in this image? Choice list: [...]") in its format
("Answer Choice: red circle") about the source domain of every generated family (`ood_fixtures.catalog.scenarios.TRAINING`,
drawn under "-train" names), alone or after in-context examples.

Training sequences are in-context episodes in exactly the layout the adapter builds at test time
(`prompts.in_context_messages` through the processor's chat template): up to 9 turns of [image, question] then
[filled answer], all images of one family and source domain, the choice list shuffled once per episode. The loss
is on every answer (the k-th answer is a prediction after k-1 examples, the first one a single-image question).
To make the model read its context rather than its memory:

- in some episodes the family's class names are permuted (a red circle is called "blue star" throughout the
  episode): an answer can then only come from an earlier example of the same class, and answers whose class has
  not been shown yet are left out of the loss;
- in some episodes every image gets the same pseudo-shift (colour inversion, a channel permutation, grey-scale,
  horizontal flip), so that the examples are the best guide to what the classes look like now. These are not the
  shifts the benchmarks test (no rotation, contrast change, sketch style or molecule size).

Speed: the vision tower is frozen, so its features (the hidden states the projector consumes) are computed once
per training image and shift, and training feeds `inputs_embeds` with the projected features scattered at the
`<image>` positions (checked against the model's own pixel path before training).

Tokenizer: BPE trained with the `tokenizers` library on the prompts; a chat template makes `apply_chat_template`
work as for hub models. Saved with save_pretrained (safetensors) beside its processor, and loaded through `vlm:`
like any hub checkpoint. The evaluation at the end goes through the suite's own adapter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (CLIPImageProcessor, CLIPModel, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration,
                          LlavaProcessor, PreTrainedTokenizerFast)  # fmt: skip

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from ood_fixtures.adapters.prompts import (ANSWER_PREFIX, filled_answer, in_context_messages,  # noqa: E402
                                  multiple_choice_question)
from ood_fixtures.training import TRAINING, source, to_pixels  # noqa: E402

CLIP_PATH = ROOT / "ood_fixtures" / "reference" / "clip-reference"
IMAGE_SIZE = 64
IMAGE_TOKENS = 16  # (64 / 16)^2 patches; the CLS token is dropped ("default" feature select strategy)
MAX_TOKENS = 2048
SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", "<image>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}USER: {% else %}ASSISTANT: {% endif %}"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image> {% else %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "{% if message['role'] == 'assistant' %}</s>{% endif %}\n"
    "{% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)  # fmt: skip

# Domains whose class names name colours: a colour pseudo-shift would contradict their labels, so they get none.
COLOUR_NAMED = {"shapes/shapes"}
# Episode-level pseudo-shifts (all images of an episode get the same one). Not the benchmarks' shifts.
SHIFTS = ("none", "invert", "channels_gbr", "channels_bgr", "grey", "hflip")

# How often each source domain is drawn for an episode (harder, many-class families more often).
DOMAIN_WEIGHTS = {"shapes/shapes": 3.0, "digits/grey": 1.5, "digits/coloured": 1.0, "patterns/seen": 2.5,
                  "domains/photo": 2.0, "histology/hospital_1": 0.7, "xray/scanner_a": 0.7,
                  "molecules/source": 1.0}  # fmt: skip

MODEL_CARD = """\
# llava-reference: the suite's generative reference model

A tiny `transformers.LlavaForConditionalGeneration` ({parameters:,} parameters) that ships with the suite so that
generative (MLLM) code paths, in-context (several images per question) included, run offline: the reference
CLIP's vision tower (frozen), a 2-layer MLP projector and a {layers}-layer Llama language model (hidden size
{hidden}, {heads} heads, context {max_tokens} tokens). Use it with `--model reference-vlm`. It knows the classes of
every generated family's source domain.

- **Task**: the study's multiple-choice question (`ood_fixtures.adapters.prompts.multiple_choice_question`) over the
  classes of one family, answered as `{prefix} <option>`, options shuffled per episode; alone or after up to 8
  in-context examples in the adapter's layout (`prompts.in_context_messages`: each example image with the question
  and its filled answer, then the query image with the question).
- **Training data**: the source domain of every family, drawn under "-train" scenario names (seed {seed}); images
  per domain: {images_table}. Every image under the identity and the first {shift_images} of each domain under
  each of the episode pseudo-shifts {shifts} (frozen vision features precomputed once).
- **Stages**: each stage continues from the weights the one before wrote (`--init`); the card's figures are the
  last stage's:
{stages_table}
- **Curriculum** (stage 1): the first {first_single_steps} steps are single-image questions only (no shift, true
  names, every domain in each batch). Trained on episodes from the start, the model settled on a shortcut
  (answering with the labels already given in the episode) and never learned to look at the images.
- **Episodes** (after that): single-image batches in a share of the steps (`--single-share`), otherwise 2 to 9
  (image, question, answer) turns of one family and domain per step; the classes of an episode are drawn from a
  random subset of the family's classes (so classes repeat and can be copied). In a share of the episodes
  (`--permute`) the class names are permuted within the family (the only way to answer is to copy the label of
  an earlier example of the same class; from stage 2 such an episode shows at most `--copy-classes` classes, so
  that most of its answers can be copied); in {shift:.0%} every image gets the same pseudo-shift (never for
  shapes, whose names name colours). Loss: every answer's tokens (the k-th answer is a (k-1)-shot prediction;
  the first one is a single-image question), except answers in name-permuted episodes whose class had not been
  shown. Later stages draw the many-class domains more often (`--weight`) to win back single-image accuracy.
- **Optimisation**: steps of about {token_budget} tokens (padded), AdamW with a one-cycle schedule (5% warm-up)
  peaking at each stage's `--lr` (default 2e-3).
- **Held-out single-image accuracy** ({heldout_images} fresh images per domain, "-heldout" names; greedy
  generation through the suite's `vlm:` adapter, parsed by `ood_fixtures.adapters.parsing`):
{heldout_table}
- **In-context accuracy** through the adapter's `classify_in_context` on held-out source-domain images
  ({icl_episodes} episodes per cell; examples balanced over classes, class counts differing by at most one, the
  classes drawn at random when there are fewer examples than classes; the query drawn at random):
{icl_table}
  "permuted names": the family's class names permuted for the examples and the query alike, so that only the
  examples can tell which name is right (chance is 1 / classes); "inverted": every image colour-inverted (a
  training pseudo-shift, on held-out images).
- **Trained in** {total_seconds:.0f} s on the CPU over all stages (torch {torch}, {threads} threads); the
  last stage: {render_seconds:.0f} s rendering, {feature_seconds:.0f} s vision features, {loop_seconds:.0f} s
  training; evaluation {eval_seconds:.0f} s more.
- **Retrain**: run the stages' commands in order (seeded; the figures above are from `training.json`, which the
  script writes).
- **Known limits**: it does not copy labels from its examples: with permuted names it stays near chance over
  every stage (the share of permuted-episode names it got right during training, first name token, is in the
  stages table), so it answers mostly from the query image; accuracy moves with examples only where they carry
  something the query image alone does not (see the benchmarks' in-context cells). A copy circuit needs an
  image match and a label fetch across about 100 tokens of question text; {layers} layers of width {hidden} did
  not form one in {episode_steps:,} episode steps on 2 CPU cores. Shapes are never pseudo-shifted (their names
  name colours: a channel-permuted red circle is no longer red), so its "inverted" row is at zero. Not trained on
  lettered options (`--model-arg lettered=true`): expect chance. Prompts over {max_tokens} tokens (more than
  about 12 examples of a 24-class family) are past its context.
"""


def build_processor(corpus: list[str]) -> LlavaProcessor:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;'[]<>()-_?!")
    trainer = trainers.BpeTrainer(vocab_size=800, special_tokens=SPECIALS, initial_alphabet=alphabet,
                                  show_progress=False)  # fmt: skip
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 2)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
        extra_special_tokens={"image_token": "<image>"}, model_max_length=MAX_TOKENS, padding_side="left",
    )  # fmt: skip
    clip_processor = CLIPImageProcessor.from_pretrained(CLIP_PATH)
    return LlavaProcessor(image_processor=clip_processor, tokenizer=tokenizer, patch_size=16,
                          vision_feature_select_strategy="default", chat_template=CHAT_TEMPLATE,
                          image_token="<image>", num_additional_image_tokens=1)  # fmt: skip


def build_model(tokenizer, hidden: int, layers: int, heads: int) -> LlavaForConditionalGeneration:
    clip = CLIPModel.from_pretrained(CLIP_PATH)
    text_config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=3 * hidden, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=MAX_TOKENS,
        tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    config = LlavaConfig(
        vision_config=clip.config.vision_config, text_config=text_config,
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"), image_seq_length=IMAGE_TOKENS,
        vision_feature_select_strategy="default", vision_feature_layer=-1, tie_word_embeddings=True,
    )  # fmt: skip
    model = LlavaForConditionalGeneration(config)
    model.model.vision_tower.load_state_dict(clip.vision_model.state_dict())
    model.model.vision_tower.requires_grad_(False)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def shifted(images: np.ndarray, shift: str) -> np.ndarray:
    """An episode pseudo-shift applied to N x H x W x 3 uint8 images."""
    if shift == "none":
        return images
    if shift == "invert":
        return 255 - images
    if shift == "channels_gbr":
        return np.ascontiguousarray(images[..., [1, 2, 0]])
    if shift == "channels_bgr":
        return np.ascontiguousarray(images[..., ::-1])
    if shift == "grey":
        grey = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        return np.repeat(np.round(grey).astype(np.uint8)[..., None], 3, axis=-1)
    if shift == "hflip":
        return np.ascontiguousarray(images[:, :, ::-1])
    raise ValueError(shift)


@torch.no_grad()
def vision_features(model: LlavaForConditionalGeneration, images: np.ndarray, batch: int = 500) -> torch.Tensor:
    """What the projector consumes: the tower's last hidden states (vision_feature_layer -1) without CLS."""
    tower = model.model.vision_tower
    out = []
    for start in range(0, len(images), batch):
        hidden = tower(to_pixels(images[start : start + batch]), output_hidden_states=True).hidden_states[-1]
        out.append(hidden[:, 1:].contiguous())
    return torch.cat(out)


class Episodes:
    """Training sequences: in-context episodes as token ids, image feature indices and loss masks."""

    def __init__(self, processor, labels: dict[str, list[str]], rng: np.random.Generator, permute: float,
                 shift: float, copy_classes: int) -> None:  # fmt: skip
        self.processor = processor
        self.copy_classes = copy_classes
        self.tokenizer = processor.tokenizer
        self.labels = labels
        self.rng = rng
        self.permute = permute
        self.shift = shift
        self.image_id = self.tokenizer.convert_tokens_to_ids("<image>")
        self.eos_id = self.tokenizer.eos_token_id
        self.answer_lengths: dict[str, int] = {}

    def answer_length(self, answer: str) -> int:
        if answer not in self.answer_lengths:
            self.answer_lengths[answer] = len(self.tokenizer(answer, add_special_tokens=False)["input_ids"])
        return self.answer_lengths[answer]

    def text(self, question: str, answers: list[str]) -> str:
        """The adapter's prompt for the last turn (earlier turns as examples), followed by the last answer."""
        prompt = self.processor.apply_chat_template(in_context_messages(question, answers[:-1]),
                                                    add_generation_prompt=True)  # fmt: skip
        return prompt + " " + answers[-1] + self.tokenizer.eos_token

    def tokens(self, text: str, answers: list[str], scored: list[bool]) -> tuple[list[int], list[bool], list[int]]:
        """Token ids with each `<image>` expanded to IMAGE_TOKENS, and which tokens are scored answer tokens
        (each answer ends at an end-of-turn token; the answer's own tokens come right before it)."""
        ids = self.tokenizer(text)["input_ids"]
        expanded: list[int] = []
        for token in ids:
            expanded += [token] * (IMAGE_TOKENS if token == self.image_id else 1)
        ends = [i for i, token in enumerate(expanded) if token == self.eos_id]
        assert len(ends) == len(answers), (len(ends), len(answers))
        mask = [False] * len(expanded)
        names = []  # the first token of each scored answer's class name (what a copy must get right)
        for end, answer, keep in zip(ends, answers, scored):
            if keep:
                start = end - self.answer_length(answer)
                for i in range(start, end + 1):
                    mask[i] = True
                names.append(start + self.answer_length(ANSWER_PREFIX))
        return expanded, mask, names

    def sample(self, domain: str, turns: int, pool: dict[str, np.ndarray], shift: str) -> dict:
        """One episode of `turns` (image, question, answer) turns from a domain's images (`pool`: label ->
        feature row indices under the chosen shift)."""
        rng = self.rng
        family = domain.split("/")[0]
        names = self.labels[family]
        classes = [c for c in names if len(pool.get(c, ())) > 0]
        if self.copy_classes:
            # Name-permuted episodes show few classes, so that most answers can be copied from an earlier example
            # and only matching the query image to the right example tells which shown name is right.
            permuted = bool(rng.random() < self.permute)
            most = min(self.copy_classes, len(classes)) if permuted else len(classes)
            least = min(2, most) if permuted and turns > 1 else 1
        else:  # any number of classes, drawn in the first stage's order (so that it retrains bit for bit)
            permuted, most, least = None, len(classes), 1
        subset = rng.choice(len(classes), size=int(rng.integers(least, most + 1)), replace=False)
        drawn = [classes[int(rng.choice(subset))] for _ in range(turns)]
        if permuted is None:
            permuted = bool(rng.random() < self.permute)
        rename = dict(zip(names, (names[i] for i in rng.permutation(len(names))))) if permuted else None
        options = [names[i] for i in rng.permutation(len(names))]
        question = multiple_choice_question(options)
        answers = [filled_answer(rename[c] if permuted else c, options) for c in drawn]
        scored = [not permuted or c in drawn[:t] for t, c in enumerate(drawn)]
        rows = [int(rng.choice(pool[c])) for c in drawn]
        ids, mask, name_starts = self.tokens(self.text(question, answers), answers, scored)
        # a scored answer of a name-permuted episode names a class shown before: it can only be copied
        return {"ids": ids, "mask": mask, "rows": rows, "permuted": permuted, "shift": shift,
                "answers": sum(scored), "copies": name_starts if permuted else []}  # fmt: skip


def embed(model: LlavaForConditionalGeneration, ids: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Token embeddings with the projected image features at the `<image>` positions (in order), as the model
    does with pixel values."""
    embeds = model.get_input_embeddings()(ids)
    image_mask = ids == model.config.image_token_id
    projected = model.model.multi_modal_projector(features).reshape(-1, embeds.shape[-1])
    return embeds.masked_scatter(image_mask.unsqueeze(-1), projected.to(embeds.dtype))


def check_embedding_path(model, processor, samples: list[np.ndarray], features: torch.Tensor) -> float:
    """Largest logit difference between the model's pixel path and the precomputed-feature path."""
    messages = in_context_messages(multiple_choice_question(["red circle", "blue star", "3"]),
                                   [filled_answer("blue star", ["red circle", "blue star", "3"])])  # fmt: skip
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    inputs = processor(text=[prompt], images=[list(samples)], return_tensors="pt")
    model.eval()
    with torch.no_grad():
        reference = model(**inputs).logits
        mine = model(inputs_embeds=embed(model, inputs["input_ids"], features),
                     attention_mask=inputs["attention_mask"]).logits  # fmt: skip
    return float((reference - mine).abs().max())


def arguments() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "ood_fixtures" / "reference" / "llava-reference")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=2800)
    parser.add_argument("--token-budget", type=int, default=5000, help="tokens per step (padded)")
    parser.add_argument("--image-scale", type=float, default=1.0, help="multiplies every training image count")
    parser.add_argument("--shift-images", type=int, default=1000, help="images per domain under each shift")
    parser.add_argument("--permute", type=float, default=0.5, help="share of episodes with permuted names")
    parser.add_argument("--shift", type=float, default=0.4, help="share of episodes with a pseudo-shift")
    parser.add_argument("--single-steps", type=int, default=600,
                        help="first steps on single-image questions only (no shift, no permuted names)")
    parser.add_argument("--copy-classes", type=int, default=0,
                        help="most classes a name-permuted episode shows (fewer: more answers can be copied); "
                             "0: any number")
    parser.add_argument("--single-share", type=float, default=0.25,
                        help="share of the episode-phase steps that train single-image questions")
    parser.add_argument("--weight", action="append", default=[], metavar="DOMAIN=W",
                        help="how often a source domain is drawn, over DOMAIN_WEIGHTS (repeatable)")
    parser.add_argument("--init", type=Path, help="continue training this saved model (skips --single-steps)")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--eval-images", type=int, default=200, help="held-out images per domain")
    parser.add_argument("--eval-episodes", type=int, default=96, help="in-context episodes per cell")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch threads (the shipped model: 2; 1 is steadier on a shared machine)")
    parser.add_argument("--skip-eval", action="store_true")
    return parser


def main() -> None:
    parser = arguments()
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    started = time.time()

    domains = [f"{family}/{domain}" for family, domain, _ in TRAINING]
    labels = {family: source(family, domain, IMAGE_SIZE, "train").labels for family, domain, _ in TRAINING}
    corpus = []
    for family, names in labels.items():
        for i in range(300):
            options = [names[j] for j in rng.permutation(len(names))]
            corpus.append(multiple_choice_question(options) + " " + filled_answer(names[i % len(names)], options))
    corpus += ["USER: ASSISTANT:"]
    if args.init:
        args.single_steps = 0
        # Continue from a saved model (its tokenizer too): the episode phase alone, on a model that already
        # reads images.
        processor = LlavaProcessor.from_pretrained(args.init)
        model = LlavaForConditionalGeneration.from_pretrained(args.init)
        model.model.vision_tower.requires_grad_(False)
    else:
        processor = build_processor(corpus)
        model = build_model(processor.tokenizer, args.hidden, args.layers, args.heads)
    tokenizer = processor.tokenizer

    # Images (identity) per domain: the CLIP's training counts, halved.
    counts = {f"{family}/{domain}": round(n * args.image_scale / 2) for family, domain, n in TRAINING}
    features, pools = [], {}  # pools[domain][shift][label] -> row indices into the feature table
    render_seconds = feature_seconds = 0.0
    first_images = None
    row = 0
    for family, domain, _ in TRAINING:
        key = f"{family}/{domain}"
        t0 = time.time()
        generator = source(family, domain, IMAGE_SIZE, "train")
        samples = [generator.sample(args.seed, i) for i in range(counts[key])]
        images = np.stack([s.image for s in samples])
        names = np.array([s.label for s in samples])
        render_seconds += time.time() - t0
        t0 = time.time()
        if first_images is None:
            first_images = images[:2]
        pools[key] = {}
        for shift in SHIFTS:
            n = len(images) if shift == "none" else min(args.shift_images, len(images))
            features.append(vision_features(model, shifted(images[:n], shift)))
            pools[key][shift] = {label: row + np.flatnonzero(names[:n] == label) for label in labels[family]}
            row += n
        feature_seconds += time.time() - t0
        print(f"{key}: {len(images)} images, {row} feature rows, {time.time() - started:.0f}s", flush=True)
    features = torch.cat(features)
    difference = check_embedding_path(model, processor, first_images, features[[0, 1]])
    print(f"pixel path vs precomputed features: max logit difference {difference:.2e}", flush=True)
    assert difference < 1e-4, difference

    episodes = Episodes(processor, labels, rng, args.permute, args.shift, args.copy_classes)
    chosen = {**DOMAIN_WEIGHTS, **{d: float(w) for d, w in (item.split("=") for item in args.weight)}}
    weights = np.array([chosen[d] for d in domains])
    weights /= weights.sum()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=args.steps, pct_start=0.05)
    loop_started = time.time()
    totals = {"episodes": 0, "answers": 0}
    running, copied = [], [0, 0]  # copied: name-permuted answers whose class name's first token was right
    late = [0, 0]  # the same over the last LATE_STEPS steps, for the card
    for step in range(args.steps):
        model.train()
        single_phase = step < args.single_steps
        episodes.permute = 0.0 if single_phase else args.permute
        if single_phase or rng.random() < args.single_share:
            # Single-image questions, every domain in one batch (their lengths differ little).
            batch, length = [], 0
            while True:
                domain = domains[int(rng.choice(len(domains), p=weights))]
                shifting = not single_phase and rng.random() < args.shift
                shift = SHIFTS[int(rng.integers(1, len(SHIFTS)))] if shifting and domain not in COLOUR_NAMED else "none"
                e = episodes.sample(domain, 1, pools[domain][shift], shift)
                if batch and (len(batch) + 1) * max(length, len(e["ids"])) > args.token_budget:
                    break
                batch.append(e)
                length = max(length, len(e["ids"]))
            turns, domain, shift = 1, "mixed", "mixed"
        else:
            domain = domains[int(rng.choice(len(domains), p=weights))]
            turns = int(rng.integers(2, 10))
            shifting = rng.random() < args.shift and domain not in COLOUR_NAMED
            shift = SHIFTS[int(rng.integers(1, len(SHIFTS)))] if shifting else "none"
            first = episodes.sample(domain, turns, pools[domain][shift], shift)
            batch = [first] + [episodes.sample(domain, turns, pools[domain][shift], shift)
                               for _ in range(max(1, args.token_budget // len(first["ids"])) - 1)]  # fmt: skip
            length = max(len(e["ids"]) for e in batch)
        ids = torch.full((len(batch), length), tokenizer.pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(batch), length), dtype=torch.long)
        scored = torch.zeros((len(batch), length), dtype=torch.bool)
        for i, e in enumerate(batch):
            ids[i, : len(e["ids"])] = torch.tensor(e["ids"])
            attention[i, : len(e["ids"])] = 1
            scored[i, : len(e["ids"])] = torch.tensor(e["mask"])
        image_features = features[[r for e in batch for r in e["rows"]]]
        hidden = model.model.language_model(inputs_embeds=embed(model, ids, image_features),
                                            attention_mask=attention).last_hidden_state  # fmt: skip
        targets = scored[:, 1:]
        if not targets.any():  # only name-permuted episodes whose answers nothing shown could tell
            continue
        logits = model.lm_head(hidden[:, :-1][targets])
        loss = F.cross_entropy(logits, ids[:, 1:][targets])
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        totals["episodes"] += len(batch)
        totals["answers"] += sum(e["answers"] for e in batch)
        running.append(loss.item())
        copies = [(i, position) for i, e in enumerate(batch) for position in e["copies"]]
        if copies:
            with torch.no_grad():
                rows, positions = torch.tensor(copies).T
                guessed = model.lm_head(hidden[rows, positions - 1]).argmax(-1)
                copied[0] += int((guessed == ids[rows, positions]).sum())
                copied[1] += len(copies)
        if step % 50 == 0 or step == args.steps - 1:
            copy = f"{copied[0] / copied[1]:.2f} of {copied[1]}" if copied[1] else "-"
            print(f"step {step:5d}  loss {np.mean(running):.4f}  copied names {copy}  ({domain}, {turns} turns, "
                  f"{shift}, batch {len(batch)}x{length})  {time.time() - started:.0f}s", flush=True)  # fmt: skip
            running, copied = [], [0, 0]
        if step >= args.steps - LATE_STEPS and copies:
            late[0] += int((guessed == ids[rows, positions]).sum())
            late[1] += len(copies)
    late_copies = round(late[0] / late[1], 3) if late[1] else None
    loop_seconds = time.time() - loop_started
    train_seconds = time.time() - started
    print(f"trained in {train_seconds:.0f}s ({loop_seconds:.0f}s in the loop)", flush=True)

    model.eval()
    args.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.out)
    processor.save_pretrained(args.out)
    info = {"seed": args.seed, "steps": args.steps, "token_budget": args.token_budget, "lr": args.lr,
            "hidden": args.hidden, "layers": args.layers, "heads": args.heads, "max_tokens": MAX_TOKENS,
            "permute": args.permute, "shift": args.shift, "single_steps": args.single_steps, "shifts": list(SHIFTS[1:]),
            "single_share": args.single_share, "copy_classes": args.copy_classes, "domain_weights": chosen,
            "init": None if args.init is None else args.init.name,
            "shift_images": args.shift_images, "images": counts, **totals, "prefix": ANSWER_PREFIX,
            "parameters": sum(p.numel() for p in model.parameters()), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "render_seconds": round(render_seconds, 1),
            "feature_seconds": round(feature_seconds, 1), "loop_seconds": round(loop_seconds, 1),
            "train_seconds": round(train_seconds, 1), "pixel_path_max_logit_difference": difference}  # fmt: skip
    earlier = json.loads((args.init / "training.json").read_text()) if args.init else None
    info["stages"] = stages(earlier) + [{"command": command(parser, args), "steps": args.steps,
                                         "single_steps": args.single_steps, **totals,
                                         "train_seconds": round(train_seconds), "copied_late": late_copies}]
    if not args.skip_eval:
        t0 = time.time()
        info.update(evaluate(args.out, args.seed, args.eval_images, args.eval_episodes))
        info["eval_seconds"] = round(time.time() - t0, 1)
    (args.out / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    if not args.skip_eval:
        (args.out / "README.md").write_text(card(info))
    print(json.dumps(info, indent=2))


LATE_STEPS = 500
NOT_TRAINING = {"help", "out", "init", "skip_eval", "eval_images", "eval_episodes", "threads"}


def command(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """This stage's command line: the options that differ from their defaults (a continued stage overwrites
    the shipped folder it starts from)."""
    parts = ["python scripts/train_reference_vlm.py"]
    if args.init:
        parts.append("--init ood_fixtures/reference/llava-reference")
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if action.dest in NOT_TRAINING or value == action.default or (args.init and action.dest == "single_steps"):
            continue
        for item in value if isinstance(value, list) else [value]:
            parts.append(f"{action.option_strings[0]} {item}")
    return " ".join(parts)


def stages(earlier: dict | None) -> list[dict]:
    """The stages of the model a run continues from (a first stage recorded before stages were: its figures)."""
    if earlier is None:
        return []
    return earlier.get("stages") or [{"command": "python scripts/train_reference_vlm.py", "steps": earlier["steps"],
                                      "single_steps": earlier["single_steps"], "episodes": earlier["episodes"], "answers": earlier["answers"],
                                      "train_seconds": round(earlier["train_seconds"]), "copied_late": None}]


ICL_DOMAINS = ("shapes/shapes", "digits/grey", "domains/photo", "molecules/source")
ICL_SHOTS = (0, 2, 4, 8)


def balanced_examples(by_class: dict[str, list[int]], shots: int, rng: np.random.Generator) -> list[int]:
    """Example indices balanced over classes (counts differ by at most one; which classes get the extra ones, or
    which classes appear at all when shots < classes, at random), in random order."""
    classes = list(by_class)
    order = [classes[i] for i in rng.permutation(len(classes))]
    chosen = [order[i % len(order)] for i in range(shots)]
    picks = [int(rng.choice(by_class[c])) for c in chosen]
    return [picks[i] for i in rng.permutation(len(picks))]


def evaluate(path: Path, seed: int, count: int, episodes: int) -> dict:
    """Held-out accuracy through the suite's own adapter: what the benchmarks will measure."""
    from ood_fixtures import adapters
    from ood_fixtures.adapters import Settings
    from ood_fixtures.adapters.base import Episode

    model = adapters.create(f"vlm:{path}", Settings(batch_size=16))
    heldout, unparsed, icl = {}, {}, {}
    rng = np.random.default_rng(seed + 1)
    for family, domain, _ in TRAINING:
        key = f"{family}/{domain}"
        generator = source(family, domain, IMAGE_SIZE, "heldout")
        samples = [generator.sample(seed, i) for i in range(count)]
        predictions = model.classify([s.image for s in samples], generator.labels)
        heldout[key] = float(np.mean([p.label == s.label for p, s in zip(predictions, samples)]))
        unparsed[key] = sum(p.label is None for p in predictions)
        print(f"held-out {key}: {heldout[key]:.3f}", flush=True)
        if key not in ICL_DOMAINS:
            continue
        pool = [generator.sample(seed, count + i) for i in range(episodes * 9)]
        names = generator.labels
        for variant in ("source", "permuted names", "inverted"):
            images = [s.image for s in pool]
            if variant == "inverted":
                images = list(shifted(np.stack(images), "invert"))
            rename = dict(zip(names, (names[i] for i in rng.permutation(len(names))))) if variant == "permuted names" \
                else {n: n for n in names}  # fmt: skip
            for shots in ICL_SHOTS:
                queries = rng.choice(len(pool), episodes, replace=False)
                batch, truth = [], []
                for q in queries:
                    by_class: dict[str, list[int]] = {}
                    for i, s in enumerate(pool):
                        if i != q:
                            by_class.setdefault(s.label, []).append(i)
                    examples = balanced_examples(by_class, shots, rng)
                    batch.append(Episode(examples=tuple((images[i], rename[pool[i].label]) for i in examples),
                                         image=images[q]))  # fmt: skip
                    truth.append(rename[pool[q].label])
                predictions = model.classify_in_context(batch, names)
                accuracy = float(np.mean([p.label == t for p, t in zip(predictions, truth)]))
                icl.setdefault(key, {}).setdefault(variant, {})[str(shots)] = accuracy
                print(f"in-context {key} {variant} {shots} shots: {accuracy:.3f}", flush=True)
    return {"heldout_images": count, "heldout_accuracy": heldout, "heldout_unparsed": unparsed,
            "icl_episodes": episodes, "icl_accuracy": icl}  # fmt: skip


def card(info: dict) -> str:
    images_table = ", ".join(f"{k} {v:,}" for k, v in info["images"].items())
    heldout_table = "\n".join(f"  - {k}: {v:.3f} ({info['heldout_unparsed'][k]} unparsed)"
                              for k, v in info["heldout_accuracy"].items())  # fmt: skip
    head = "  | domain | variant | " + " | ".join(f"{s} shots" for s in ICL_SHOTS) + " |"
    rows = [head, "  |---|---|" + "---|" * len(ICL_SHOTS)]
    for key, variants in info["icl_accuracy"].items():
        for variant, by_shots in variants.items():
            rows.append(f"  | {key} | {variant} | " + " | ".join(f"{by_shots[str(s)]:.3f}" for s in ICL_SHOTS) + " |")
    stages_table = ["  | stage | command | steps | episodes | answers in the loss | permuted names copied* | seconds |",
                    "  |---|---|---|---|---|---|---|"]  # fmt: skip
    for number, stage in enumerate(info["stages"], 1):
        copied = "-" if stage["copied_late"] is None else f"{stage['copied_late']:.2f}"
        stages_table.append(f"  | {number} | `{stage['command']}` | {stage['steps']:,} | {stage['episodes']:,} | "
                            f"{stage['answers']:,} | {copied} | {stage['train_seconds']:,} |")  # fmt: skip
    stages_table.append(f"  \\* over the stage's last {LATE_STEPS} steps, the first token of the class name of answers "
                        "an earlier example could tell (picking one of the names already shown would get about "
                        "1 / names shown); the first stage did not log it.")  # fmt: skip
    first_single = info["stages"][0]["single_steps"]
    episode_steps = sum(stage["steps"] - stage["single_steps"] for stage in info["stages"])
    return MODEL_CARD.format(**{**info, "shifts": ", ".join(info["shifts"])}, images_table=images_table,
                             episode_steps=episode_steps, heldout_table=heldout_table, icl_table="\n".join(rows),
                             stages_table="\n".join(stages_table), first_single_steps=first_single,
                             total_seconds=sum(stage["train_seconds"] for stage in info["stages"]))  # fmt: skip


if __name__ == "__main__":
    main()
