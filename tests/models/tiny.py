"""Tiny random-weight contrastive checkpoints (CLIP, SigLIP) built from configs, saved with save_pretrained, for
adapter tests offline; the vision-language families are in tests/models/families.py.

Each builder writes a folder that `clip:` loads exactly as it loads a hub checkpoint.
"""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

WORDS = ("what is in this image choice list choose one option from the answer with its letter in format "
         "red orange yellow green blue purple circle square triangle star a photo of picture user assistant")


def tokenizer(specials: list[str], bos: str | None = None, padding_side: str = "left"):
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;'[]<>()-_?!")
    tok.train_from_iterator([WORDS], trainers.BpeTrainer(vocab_size=300, special_tokens=specials,
                                                        initial_alphabet=alphabet, show_progress=False))
    if bos:
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", special_tokens=[(bos, specials.index(bos))])
    return tok


def clip(folder: Path) -> Path:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, PreTrainedTokenizerFast

    specials = ["<pad>", "<unk>", "<bos>", "<eos>"]
    tok = tokenizer(specials)
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A <eos>", special_tokens=[("<bos>", 2), ("<eos>", 3)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                                   unk_token="<unk>")
    config = CLIPConfig(
        text_config=dict(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=64, pad_token_id=0, bos_token_id=2, eos_token_id=3),
        vision_config=dict(image_size=32, patch_size=16, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                           num_attention_heads=2),
        projection_dim=16,
    )
    CLIPModel(config).save_pretrained(folder)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=images, tokenizer=fast).save_pretrained(folder)
    return folder


def siglip(folder: Path) -> Path:
    from transformers import PreTrainedTokenizerFast, SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor

    specials = ["<pad>", "<unk>", "</s>"]
    tok = tokenizer(specials)
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 2)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    config = SiglipConfig(
        text_config=dict(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=64, projection_size=32),
        vision_config=dict(image_size=32, patch_size=16, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                           num_attention_heads=2),
    )
    SiglipModel(config).save_pretrained(folder)
    SiglipProcessor(image_processor=SiglipImageProcessor(size={"height": 32, "width": 32}),
                    tokenizer=fast).save_pretrained(folder)
    return folder
