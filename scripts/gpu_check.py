"""The suite's throughput on an accelerator against the same model's raw batched forward (issue #8, item 3).

    python scripts/gpu_check.py                      # CUDA, bf16: the check to run when a GPU machine is lent
    python scripts/gpu_check.py --device cpu --samples 48 --few 16 --batch 16    # the same code path on a CPU

Two random-weight models built from configs (no download): a CLIP ViT-B/32 at 224 px (`ood_fixtures.tools.vit_b32`, as scripts/bench.py's) and a
small LLaVA (that ViT's vision tower, a 4-layer Llama of width 512, the reference model's tokenizer and chat
template). For each, the suite runs one selection of cells (`pytest benchmarks -n 0 --no-cache --device D`) at
--samples and at --few images per cell; the difference of the two wall times is what the extra images cost the
suite, start-up (imports, model load, label texts, reports) cancelled out. Raw is the same model called directly
(processor + image features, or processor + generate with the adapter's prompt and token limit) on the same
rendered images, timed on the device. Printed: images per second both ways and their ratio (target >= 0.85),
and the start-up cost on its own. Models load as the adapters load them on that device (bf16 on CUDA).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ood_fixtures.tools import corruption_cells, raw_forward_s, suite_s, vit_b32  # noqa: E402

CORRUPTED = [("gaussian_noise", 3)]


def tiny_llava(folder: Path, clip: Path) -> Path:
    """A random-weight LLaVA on the ViT-B/32's vision tower, with the reference model's tokenizer and template."""
    import torch
    from transformers import (CLIPConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration,
                              LlavaProcessor)  # fmt: skip

    from ood_fixtures.adapters.families.vlm import REFERENCE_PATH

    processor = LlavaProcessor.from_pretrained(REFERENCE_PATH)
    processor.image_processor.size = {"shortest_edge": 224}
    processor.image_processor.crop_size = {"height": 224, "width": 224}
    processor.patch_size = 32
    tokenizer = processor.tokenizer
    vision = CLIPConfig.from_pretrained(clip).vision_config
    text = LlamaConfig(vocab_size=len(tokenizer), hidden_size=512, intermediate_size=1536, num_hidden_layers=4,
                       num_attention_heads=8, num_key_value_heads=8, max_position_embeddings=4096,
                       bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                       pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    config = LlavaConfig(vision_config=vision, text_config=text, image_seq_length=(224 // 32) ** 2,
                         image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
                         vision_feature_select_strategy="default", vision_feature_layer=-1)  # fmt: skip
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def check(key: str, name: str, spec: str, device: str, samples: int, few: int, batch: int, scratch: str) -> None:
    cells = corruption_cells(*CORRUPTED)
    extra = [cell.render(0, i).image for cell in cells for i in range(few, samples)]
    many = suite_s(spec, CORRUPTED, samples, batch, device, f"{scratch}/{key}-{samples}")
    some = suite_s(spec, CORRUPTED, few, batch, device, f"{scratch}/{key}-{few}")
    raw = raw_forward_s(spec, extra, batch, device)
    suite_rate, raw_rate = len(extra) / (many - some), len(extra) / raw
    start_up = some - raw * few / (samples - few)
    print(f"## {name} on {device}, {len(cells)} cells, batch {batch}: suite {suite_rate:.1f} images/s, raw "
          f"{raw_rate:.1f} images/s, {suite_rate / raw_rate:.2f}x   (target >= 0.85)\n"
          f"   the suite's wall time at {samples} and {few} images per cell: {many:.1f} s, {some:.1f} s; start-up "
          f"about {start_up:.1f} s; all {len(cells) * samples} images at the raw rate: "
          f"{len(cells) * samples / raw_rate:.1f} s", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--samples", type=int, default=1024, help="images per cell in the measured run")
    parser.add_argument("--few", type=int, default=64, help="images per cell in the start-up run")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--only", default="clip,vlm", help="comma-separated: clip, vlm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        clip = vit_b32(Path(scratch) / "vit-b32")
        models = {"clip": ("CLIP ViT-B/32", f"clip:{clip}"),
                  "vlm": ("LLaVA (ViT-B/32 + 4-layer Llama)", f"vlm:{tiny_llava(Path(scratch) / 'llava', clip)}")}
        for key in args.only.split(","):
            name, spec = models[key]
            check(key, name, spec, args.device, args.samples, args.few, args.batch, scratch)


if __name__ == "__main__":
    main()
