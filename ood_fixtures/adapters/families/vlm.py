"""Generative image-text-to-text models (LLaVA, Qwen-VL, SmolVLM, Gemma 3, PaliGemma, InternVL, ...) from a local
folder or the hub.

`vlm:PATH_OR_ID` loads through `AutoModelForImageTextToText` and `AutoProcessor` and asks the study's
multiple-choice question. Everything family-specific is left to the family's own processor and model code:
- the prompt: the processor's chat template (`prompt=chat`) or, for checkpoints without one (PaliGemma pt/mix,
  base models), a plain prompt of the same question with the image tokens first (`prompt=plain`); chosen
  automatically, overridable with `--model-arg prompt=chat|plain`, recorded in the model's description;
- answers (`--answer-mode`): `generate` decodes greedily and parses (`ood_fixtures.adapters.parsing`; unparsed answers
  count as wrong); `score` ranks each option's answer ("Answer Choice: <option>") by its log-likelihood after
  the prompt, the prompt run once and every option scored from its cached state (`adapters.scoring`);
- several images in one conversation (`classify_in_context`): each example image with the question and its
  filled answer, then the query (`prompts.in_context_messages`);
- image features (`features`): `get_image_features` on everything the processor returns for one image, the
  image's tokens averaged: one vector per image of the language model's width, for every family.

`--model-arg` keys read here: `prompt`, `lettered` (true: options as "A. ...", answers as letters),
`max_new_tokens` (default 16), the resolution knobs of PROCESSOR_ARGS and MODEL_AND_PROCESSOR_ARGS, and the
loader's `dtype`, `revision`, `attn_implementation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ood_fixtures import adapters
from ood_fixtures.adapters.base import Adapter, Episode, Prediction, Settings, SpecError, Unsupported
from ood_fixtures.adapters.batching import Batcher
from ood_fixtures.adapters.hub import check_checkpoint, input_size, load_pretrained, local_folder, weights_fingerprint
from ood_fixtures.adapters.requirements import missing
from ood_fixtures.adapters.prompts import LETTERS, filled_answer, in_context_messages, multiple_choice_question

REFERENCE_PATH = Path(__file__).resolve().parents[2] / "reference" / "llava-reference"
ANSWER_MODES = ("generate", "score")
PROMPTS = ("chat", "plain")
# --image-size native for a dynamic-resolution family (Qwen2-VL, Pixtral), which takes any size: the middle of the
# fixed towers' range (LLaVA 336, InternVL 448, Gemma 3 896) that keeps an 8-shot episode to a few thousand tokens.
DYNAMIC_SIZE = 448
PROBE_SIZE = 64  # the suite's generated images are 64 x 64: the image tokens per image are stated at that size


def _flag(value: str) -> bool:
    if value.strip().lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise ValueError(f"expected true or false, got {value!r}")
    return value.strip().lower() in ("1", "true", "yes", "on")


# Resolution knobs, `--model-arg KEY=VALUE` -> AutoProcessor.from_pretrained(KEY=...), by the families that read
# them; a processor that reads none of them keeps its checkpoint's settings.
PROCESSOR_ARGS: dict[str, Callable[[str], Any]] = {
    "min_pixels": int, "max_pixels": int,  # Qwen2-VL, Qwen2.5-VL, Qwen3-VL: native resolution bounds
    "do_image_splitting": _flag,  # Idefics3, SmolVLM: tiles plus a global view
    "crop_to_patches": _flag, "min_patches": int, "max_patches": int,  # InternVL: tiling
    "do_pan_and_scan": _flag, "pan_and_scan_min_crop_size": int, "pan_and_scan_max_num_crops": int,  # Gemma 3
}
# LLaVA-OneVision recomputes its anyres layout from the model's config: the processor and the model must agree.
MODEL_AND_PROCESSOR_ARGS: dict[str, Callable[[str], Any]] = {"vision_aspect_ratio": str}


class VlmFactory:
    def check(self, argument: str, settings: Settings) -> None:
        if settings.answer_mode not in ANSWER_MODES:
            raise SpecError(f"--answer-mode {settings.answer_mode!r}: use one of {', '.join(ANSWER_MODES)}")
        prompt = settings.model_args.get("prompt", "auto")
        if prompt not in (*PROMPTS, "auto"):
            raise SpecError(f"--model-arg prompt={prompt}: use chat, plain or auto")
        for key, read in {**PROCESSOR_ARGS, **MODEL_AND_PROCESSOR_ARGS}.items():
            if key in settings.model_args:
                try:
                    read(settings.model_args[key])
                except ValueError as error:
                    raise SpecError(f"--model-arg {key}={settings.model_args[key]}: {error}") from None
        check_checkpoint("vlm", argument, settings)
        folder = local_folder(argument)
        problem = missing("vlm", folder) if folder is not None else None
        if problem:
            raise SpecError(problem)

    def create(self, argument: str, settings: Settings) -> Adapter:
        return VlmAdapter(argument, settings)

    def fingerprint(self, argument: str, settings: Settings) -> str | None:
        return weights_fingerprint(argument)

    def native_size(self, argument: str, settings: Settings) -> int | None:
        return input_size(argument) or DYNAMIC_SIZE


class VlmAdapter(Adapter):
    def __init__(self, name_or_path: str, settings: Settings) -> None:
        import torch
        from transformers import AutoModelForImageTextToText

        self.torch = torch
        self.name_or_path = name_or_path
        self.settings = settings
        args = settings.model_args
        self.resolution = {key: read(args[key]) for key, read in {**PROCESSOR_ARGS, **MODEL_AND_PROCESSOR_ARGS}.items()
                           if key in args}  # fmt: skip
        config_args = {k: v for k, v in self.resolution.items() if k in MODEL_AND_PROCESSOR_ARGS}
        self.model, self.processor = load_pretrained(AutoModelForImageTextToText, name_or_path, settings,
                                                     processor_kwargs=self.resolution, model_kwargs=config_args)  # fmt: skip
        self.dtype = self.model.dtype
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.tokenizer.padding_side = "left"  # batched prompts must end where the answer starts
        self.form = _prompt_form(args.get("prompt", "auto"), self.processor, self.spec_name)
        self.lettered = _flag(args.get("lettered", "false"))
        self.max_new_tokens = int(args.get("max_new_tokens", 16))
        self.batches = Batcher(settings.batch_size, settings.device)
        self.image_token = _image_token_id(self.model.config)
        self.image_tokens = self._image_tokens()

    @property
    def spec_name(self) -> str:
        return getattr(self, "spec", f"vlm:{self.name_or_path}")

    def describe(self) -> dict[str, Any]:
        return {
            "spec": self.spec, "adapter": "vlm",
            "name_or_path": "reference-vlm" if Path(self.name_or_path) == REFERENCE_PATH else self.name_or_path,
            "class": type(self.model).__name__, "processor": type(self.processor).__name__,
            "fingerprint": weights_fingerprint(self.name_or_path),
            "dtype": str(self.dtype).removeprefix("torch."), "answer_mode": self.settings.answer_mode,
            "prompt": self.form, "lettered": self.lettered, "max_new_tokens": self.max_new_tokens,
            "resolution": self.resolution, "image_tokens": {f"{PROBE_SIZE}x{PROBE_SIZE}": self.image_tokens},
            "question": multiple_choice_question(["<label 1>", "<label 2>"], self.lettered),
        }  # fmt: skip

    def prompt(self, labels: Sequence[str], examples: Sequence[str] = ()) -> str:
        """The question about one image, after the examples (their labels) shown with their filled answers."""
        question = multiple_choice_question(labels, self.lettered)
        answers = [filled_answer(label, labels, self.lettered) for label in examples]
        return self._render(question, answers)

    def _render(self, question: str, answers: Sequence[str]) -> str:
        if self.form == "chat":
            return self.processor.apply_chat_template(in_context_messages(question, answers), add_generation_prompt=True)
        # images first (PaliGemma's layout: its processor puts <bos> after the last image token and "\n" last)
        turns = "".join(f"{question}\n{answer}\n" for answer in answers)
        return self.processor.image_token * (len(answers) + 1) + turns + question

    def classify(self, images: Sequence[np.ndarray], labels: Sequence[str]) -> list[Prediction]:
        self._check(labels)
        prompt = self.prompt(labels)
        return self.batches.map(lambda batch: self._answer([prompt] * len(batch), [[i] for i in batch], labels), images)

    def classify_in_context(self, episodes: Sequence[Episode], labels: Sequence[str]) -> list[Prediction]:
        self._check(labels)

        def run(batch: list[Episode]) -> list[Prediction]:
            prompts = [self.prompt(labels, [label for _, label in e.examples]) for e in batch]
            return self._answer(prompts, [[*(image for image, _ in e.examples), e.image] for e in batch], labels)

        return self.batches.map(run, episodes)

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """One vector per image: the model's own `get_image_features` on everything its processor returns for
        one image per prompt (pixel_values, image_grid_thw, pixel_attention_mask, image_sizes, ...), the image's
        tokens (every tile, crop or patch the family makes) averaged. The features are the language model's
        input, projected: the same kind of vector, of the language model's width, for every family."""
        if not hasattr(self.model, "get_image_features"):
            raise Unsupported(f"{self.spec}: {type(self.model).__name__} has no get_image_features")
        prompt = self._render("", [])
        torch = self.torch

        def run(batch: list[np.ndarray]) -> list[np.ndarray]:
            inputs = self._inputs([prompt] * len(batch), [[image] for image in batch])
            with torch.inference_mode():
                output = self.model.get_image_features(**_image_inputs(self.model.get_image_features, inputs))
            pooled = getattr(output, "pooler_output", output)
            tokens = (torch.cat([p.reshape(-1, p.shape[-1]) for p in pooled]) if isinstance(pooled, (list, tuple))
                      else pooled.reshape(-1, pooled.shape[-1]))  # fmt: skip
            counts = (inputs["input_ids"] == self.image_token).sum(dim=1).tolist()
            if sum(counts) != tokens.shape[0]:
                raise Unsupported(f"{self.spec}: get_image_features gave {tokens.shape[0]} image tokens for the "
                                  f"{sum(counts)} placeholders in the prompts; cannot tell which are whose")  # fmt: skip
            return [chunk.float().mean(dim=0).cpu().numpy() for chunk in torch.split(tokens, counts)]

        return np.stack(self.batches.map(run, images))

    def _image_tokens(self) -> int:
        """Image tokens the processor makes for one PROBE_SIZE image (the cost driver of every prompt)."""
        probe = np.zeros((PROBE_SIZE, PROBE_SIZE, 3), np.uint8)
        inputs = self._inputs([self._render("", [])], [[probe]])
        return int((inputs["input_ids"] == self.image_token).sum())

    def _check(self, labels: Sequence[str]) -> None:
        if self.lettered and len(labels) > len(LETTERS):
            raise ValueError(f"lettered options allow at most {len(LETTERS)} labels, got {len(labels)}")

    def _answer(self, prompts: list[str], images: list[list[np.ndarray]], labels: Sequence[str]) -> list[Prediction]:
        run = self._generate if self.settings.answer_mode == "generate" else self._score
        return run(prompts, images, labels)

    def _inputs(self, texts: list[str], images: list[list[np.ndarray]]):
        """The processor's tensors for the prompts, on the device. A rendered chat template that starts with
        <bos> is tokenized without adding another (as transformers' own apply_chat_template does)."""
        try:
            batch = self.processor(text=texts, images=images, padding=True, return_tensors="pt",
                                   add_special_tokens=self._adds_special_tokens(texts))  # fmt: skip
        except (ValueError, TypeError) as error:
            if max(len(shown) for shown in images) > 1:
                first = str(error).strip().splitlines()[0]
                raise Unsupported(f"{self.spec}: {type(self.processor).__name__} does not take several images in "
                                  f"one prompt ({first})") from None  # fmt: skip
            raise
        batch.pop("labels", None)  # PaliGemma's processor always makes training labels
        return {key: self._on_device(value) for key, value in batch.items()}

    def _adds_special_tokens(self, texts: list[str]) -> bool:
        bos = getattr(self.tokenizer, "bos_token", None)
        return not (bos and all(text.startswith(bos) for text in texts))

    def _on_device(self, value: Any) -> Any:
        """A processor output on the model's device; pixel values (floats) in the model's dtype too."""
        if not isinstance(value, self.torch.Tensor):
            return value
        if self.torch.is_floating_point(value):
            return value.to(device=self.settings.device, dtype=self.dtype)
        return value.to(self.settings.device)

    def _generate(self, prompts: list[str], images: list[list[np.ndarray]], labels: Sequence[str]) -> list[Prediction]:
        from ood_fixtures.adapters.parsing import parse_answer

        inputs = self._inputs(prompts, images)
        with self.torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        texts = self.tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        return [Prediction(parse_answer(text, labels, lettered=self.lettered), text=text.strip()) for text in texts]

    def _score(self, prompts: list[str], images: list[list[np.ndarray]], labels: Sequence[str]) -> list[Prediction]:
        """Each option's answer ranked by its log-likelihood after the prompt; the prompt runs once."""
        from ood_fixtures.adapters.scoring import score_options

        answers = [filled_answer(label, labels, self.lettered) for label in labels]
        table = score_options(self.model, self.processor, prompts, images, answers, encode=self._inputs,
                              add_special_tokens=self._adds_special_tokens(prompts))  # fmt: skip
        probabilities = np.exp(table - table.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return [Prediction(labels[int(row.argmax())], tuple(float(p) for p in row)) for row in probabilities]


def _prompt_form(asked: str, processor: Any, spec: str) -> str:
    has_template = bool(getattr(processor, "chat_template", None))
    if asked == "chat" and not has_template:
        raise SpecError(f"{spec}: --model-arg prompt=chat, but {type(processor).__name__} has no chat template; "
                        f"use prompt=plain (or leave it out)")  # fmt: skip
    if asked == "plain" and not hasattr(processor, "image_token"):
        raise SpecError(f"{spec}: --model-arg prompt=plain needs the processor's image token, which "
                        f"{type(processor).__name__} does not name")  # fmt: skip
    return asked if asked in PROMPTS else "chat" if has_template else "plain"


def _image_token_id(config: Any) -> int:
    for name in ("image_token_id", "image_token_index"):
        value = getattr(config, name, None)
        if value is not None:
            return int(value)
    raise SpecError(f"{type(config).__name__} names no image token (image_token_id or image_token_index)")


# what processors return about images (transformers 5.24, all families of tests/models/families.py)
IMAGE_INPUTS = ("pixel_values", "image_grid_thw", "pixel_attention_mask", "image_sizes", "batch_num_images")


def _image_inputs(function: Callable, inputs: dict[str, Any]) -> dict[str, Any]:
    """The processor outputs `function` takes: those it names, and where it takes **kwargs the image ones."""
    import inspect

    parameters = inspect.signature(function).parameters.values()
    named = {p.name for p in parameters if p.kind is not p.VAR_KEYWORD}
    open_ended = any(p.kind is p.VAR_KEYWORD for p in parameters)
    return {k: v for k, v in inputs.items() if k in named or (open_ended and k in IMAGE_INPUTS)}


adapters.register("vlm", VlmFactory())
adapters.alias("reference-vlm", f"vlm:{REFERENCE_PATH}")
