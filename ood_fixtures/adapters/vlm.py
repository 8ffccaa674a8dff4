"""Generative image-text-to-text models (LLaVA, Qwen2-VL, SmolVLM, ...) from a local folder or the hub.

`vlm:PATH_OR_ID` loads through `AutoModelForImageTextToText` and `AutoProcessor` and asks the study's
multiple-choice question through the processor's chat template. Two answer modes (`--answer-mode`):

- `generate`: greedy decoding, the answer parsed by `ood_fixtures.parsing` (unparsed answers count as wrong);
- `score`: each option's answer ("Answer Choice: <option>") ranked by the model's log-likelihood after the
  prompt; no parsing, and per-label scores (softmax of the log-likelihoods) for calibration metrics.

Several images in one conversation (`classify_in_context`): each example image with the question and its filled
answer, then the query (`prompts.in_context_messages`). Image features (`features`) are the vision tower's pooled
output.

`--model-arg` keys read here: `lettered` (true: options as "A. ...", answers as letters), `max_new_tokens`
(default 16), and the loader's `dtype`, `revision`, `attn_implementation`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ood_fixtures import adapters
from ood_fixtures.adapters.base import Adapter, Episode, Prediction, Settings, SpecError, Unsupported
from ood_fixtures.adapters.batching import Batcher
from ood_fixtures.adapters.hub import check_checkpoint, load_pretrained, weights_fingerprint
from ood_fixtures.prompts import LETTERS, filled_answer, in_context_messages, multiple_choice_question

REFERENCE_PATH = Path(__file__).resolve().parents[1] / "reference" / "llava-reference"
ANSWER_MODES = ("generate", "score")


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


class VlmFactory:
    def check(self, argument: str, settings: Settings) -> None:
        if settings.answer_mode not in ANSWER_MODES:
            raise SpecError(f"--answer-mode {settings.answer_mode!r}: use one of {', '.join(ANSWER_MODES)}")
        check_checkpoint("vlm", argument, settings)

    def create(self, argument: str, settings: Settings) -> Adapter:
        return VlmAdapter(argument, settings)

    def fingerprint(self, argument: str, settings: Settings) -> str | None:
        return weights_fingerprint(argument)


class VlmAdapter(Adapter):
    def __init__(self, name_or_path: str, settings: Settings) -> None:
        import torch
        from transformers import AutoModelForImageTextToText

        self.torch = torch
        self.name_or_path = name_or_path
        self.settings = settings
        self.model, self.processor = load_pretrained(AutoModelForImageTextToText, name_or_path, settings)
        self.dtype = self.model.dtype
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.tokenizer.padding_side = "left"  # batched prompts must end where the answer starts
        self.lettered = _flag(settings.model_args.get("lettered", "false"))
        self.max_new_tokens = int(settings.model_args.get("max_new_tokens", 16))
        self.batches = Batcher(settings.batch_size, settings.device)

    def describe(self) -> dict[str, Any]:
        return {
            "spec": self.spec, "adapter": "vlm",
            "name_or_path": "reference-vlm" if Path(self.name_or_path) == REFERENCE_PATH else self.name_or_path,
            "class": type(self.model).__name__,
            "fingerprint": weights_fingerprint(self.name_or_path),
            "dtype": str(self.dtype).removeprefix("torch."), "answer_mode": self.settings.answer_mode,
            "lettered": self.lettered, "max_new_tokens": self.max_new_tokens,
            "question": multiple_choice_question(["<label 1>", "<label 2>"], self.lettered),
        }  # fmt: skip

    def prompt(self, labels: Sequence[str], examples: Sequence[str] = ()) -> str:
        """The question about one image, after the examples (their labels) shown with their filled answers."""
        question = multiple_choice_question(labels, self.lettered)
        answers = [filled_answer(label, labels, self.lettered) for label in examples]
        return self.processor.apply_chat_template(in_context_messages(question, answers), add_generation_prompt=True)

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
        """The vision tower's pooled output (before the projector): what the language model is shown."""
        tower = self.model.model.vision_tower if hasattr(self.model, "model") else None
        if tower is None or not hasattr(self.processor, "image_processor"):
            raise Unsupported(f"{self.spec}: no vision tower found to take image features from")

        def run(batch: list[np.ndarray]) -> list[np.ndarray]:
            pixels = self.processor.image_processor(images=batch, return_tensors="pt")["pixel_values"]
            with self.torch.inference_mode():
                output = tower(pixel_values=pixels.to(self.settings.device, self.dtype))
            pooled = getattr(output, "pooler_output", None)
            pooled = output.last_hidden_state.mean(1) if pooled is None else pooled
            return list(pooled.float().cpu().numpy())

        return np.stack(self.batches.map(run, images))

    def _check(self, labels: Sequence[str]) -> None:
        if self.lettered and len(labels) > len(LETTERS):
            raise ValueError(f"lettered options allow at most {len(LETTERS)} labels, got {len(labels)}")

    def _answer(self, prompts: list[str], images: list[list[np.ndarray]], labels: Sequence[str]) -> list[Prediction]:
        run = self._generate if self.settings.answer_mode == "generate" else self._score
        return run(prompts, images, labels)

    def _inputs(self, texts: list[str], images: list[list[np.ndarray]]):
        batch = self.processor(text=texts, images=images, padding=True, return_tensors="pt")
        return batch.to(self.settings.device)

    def _generate(self, prompts: list[str], images: list[list[np.ndarray]], labels: Sequence[str]) -> list[Prediction]:
        from ood_fixtures.parsing import parse_answer

        inputs = self._inputs(prompts, images)
        with self.torch.inference_mode():
            output = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        texts = self.tokenizer.batch_decode(output[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        return [Prediction(parse_answer(text, labels, lettered=self.lettered), text=text.strip()) for text in texts]

    def _score(self, prompts: list[str], images: list[list[np.ndarray]], labels: Sequence[str]) -> list[Prediction]:
        """Log-likelihood of each option's answer after its prompt; one forward pass per (question, option)."""
        torch = self.torch
        answers = [filled_answer(label, labels, self.lettered) for label in labels]
        texts = [p + ("" if p[-1:].isspace() else " ") + answer for p in prompts for answer in answers]
        repeated = [shown for shown in images for _ in answers]
        inputs = self._inputs(texts, repeated)
        prompt_lengths = [len(ids) for ids in self.processor(text=prompts, images=images)["input_ids"]]
        lengths = inputs["attention_mask"].sum(dim=1)
        with torch.inference_mode():
            logits = self.model(**inputs).logits.float()
        log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
        targets = inputs["input_ids"][:, 1:]
        token_scores = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        totals = []
        for row in range(len(texts)):
            answer_tokens = int(lengths[row]) - prompt_lengths[row // len(answers)]  # left padding: the row's tail
            totals.append(float(token_scores[row, -answer_tokens:].sum()))
        table = np.array(totals).reshape(len(prompts), len(answers))
        probabilities = np.exp(table - table.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        return [Prediction(labels[int(row.argmax())], tuple(float(p) for p in row)) for row in probabilities]


adapters.register("vlm", VlmFactory())
adapters.alias("reference-vlm", f"vlm:{REFERENCE_PATH}")
