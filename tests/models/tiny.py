"""Tiny random-weight checkpoints built from configs, saved with save_pretrained, for adapter tests offline.

Each builder writes a folder that `clip:`/`vlm:` load exactly as they load a hub checkpoint.
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


CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: "
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}<image>{% else %}{{ part['text'] }}"
    "{% endif %}{% endfor %}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)


def llava(folder: Path) -> Path:
    from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor, PreTrainedTokenizerFast)

    specials = ["<pad>", "<unk>", "<s>", "</s>", "<image>"]
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer(specials, "<s>"), bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", unk_token="<unk>", extra_special_tokens={"image_token": "<image>"})
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                              image_size=32, patch_size=16)
    text = LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=2, pad_token_id=0, bos_token_id=2, eos_token_id=3)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=4, image_seq_length=4,
                         vision_feature_select_strategy="default", vision_feature_layer=-1)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    LlavaProcessor(image_processor=images, tokenizer=fast, patch_size=16, vision_feature_select_strategy="default",
                   chat_template=CHAT_TEMPLATE, num_additional_image_tokens=1).save_pretrained(folder)
    return folder


def paligemma(folder: Path) -> Path:
    from transformers import (GemmaConfig, PaliGemmaConfig, PaliGemmaForConditionalGeneration, PaliGemmaProcessor,
                              PreTrainedTokenizerFast, SiglipImageProcessor, SiglipVisionConfig)

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<image>"]
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer(specials, "<bos>"), bos_token="<bos>",
                                   eos_token="<eos>", pad_token="<pad>", unk_token="<unk>",
                                   extra_special_tokens={"image_token": "<image>"})
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                image_size=32, patch_size=16, projection_dim=32)
    text = GemmaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                       num_attention_heads=2, num_key_value_heads=1, head_dim=16, pad_token_id=0, eos_token_id=1,
                       bos_token_id=2)
    config = PaliGemmaConfig(vision_config=vision, text_config=text, image_token_index=4, projection_dim=32)
    PaliGemmaForConditionalGeneration(config).save_pretrained(folder)
    images = SiglipImageProcessor(size={"height": 32, "width": 32})
    images.image_seq_length = 4  # (32 / 16) ** 2 patches, as PaliGemma checkpoints record it
    PaliGemmaProcessor(image_processor=images, tokenizer=fast, chat_template=CHAT_TEMPLATE).save_pretrained(folder)
    return folder


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
