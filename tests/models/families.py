"""Tiny random-weight checkpoints of every vision-language family the `vlm:` adapter supports, for the family
matrix (tests/test_families.py): built from transformers' own config and processor classes in seconds, offline.

One `build_<family>(folder) -> folder` per family: the model made from a config and saved with save_pretrained
(safetensors) beside its processor (a BPE tokenizer trained here on a few words, the family's image processor,
its video processor where it has one, a chat template modelled on the real one where the family has one), so that
`vlm:<folder>` loads it exactly as it loads a hub checkpoint. Adding a family to the matrix is adding one builder.
Sizes are the smallest that work: 32 px images, 8 px patches, 2-layer language models of width 32.
"""

from __future__ import annotations

from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

WORDS = (
    "what is in this image choice list choose one option from the answer with its letter in format "
    "red orange yellow green blue purple circle square triangle star a photo of picture user assistant "
    "system you are helpful model here original and some crops to help see better Answer Choice: A B C D E"
)

# --------------------------------------------------------------------------------------------- tokenizer


def tokenizer(specials: list[str], extra: dict[str, str] | None = None, *, bos: str | None = None,
              eos: str, pad: str, unk: str | None = "<unk>", add_bos: bool = False, **kwargs):
    """A tiny BPE (trained on WORDS) wrapped in PreTrainedTokenizerFast.

    `specials` go first in the vocabulary (ids 0..n-1), as special tokens; `extra` names some of them as the
    attributes a processor reads (`tokenizer.image_token`, `tokenizer.image_token_id`, ...) through
    `extra_special_tokens`. `add_bos`: a post-processor puts `bos` in front, as Llama/Gemma/Mistral do.
    """
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=unk))
    tok.normalizer = normalizers.NFKC()
    # Metaspace keeps spaces (and "\n" survives as its own byte-ish char in the alphabet), so decode() round-trips.
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="never")
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;'\"[]<>()-_?!/|=\n\u2581")
    tok.train_from_iterator([WORDS], trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                                        initial_alphabet=alphabet, show_progress=False))
    if add_bos:
        tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A $B",
                                                           special_tokens=[(bos, specials.index(bos))])
    names = dict(bos_token=bos, eos_token=eos, pad_token=pad, unk_token=unk)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **{k: v for k, v in names.items() if v},
                                   extra_special_tokens=extra or {}, padding_side="left", **kwargs)
    return fast


def ids(tok, *names):
    return [tok.convert_tokens_to_ids(n) for n in names]


def text_kw(tok, **kw):
    """Common tiny text-config settings."""
    d = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
             num_hidden_layers=2,
             num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=512)
    d.update(pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
             bos_token_id=tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id)
    d.update(kw)
    return d


def save(model_cls, config, processor, folder: Path) -> Path:
    torch.manual_seed(0)
    model = model_cls(config)
    with torch.no_grad():  # some families start projections at zero (Gemma 3): every image would look the same
        for weight in model.parameters():
            if weight.ndim > 1 and not weight.any():
                weight.normal_(0, 0.02)
    model.save_pretrained(folder)  # safetensors is the default
    processor.save_pretrained(folder)
    return folder


# ------------------------------------------------------------------------------------------ chat templates

QWEN2_TEMPLATE = (  # Qwen2-VL / Qwen2.5-VL instruct: default system prompt, <|vision_start|><|image_pad|><|vision_end|>
    "{% set image_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

QWEN3_TEMPLATE = (  # Qwen3-VL instruct: no default system prompt
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

IDEFICS3_TEMPLATE = (  # SmolVLM / Idefics3: "<|im_start|>User:<image>question<end_of_utterance>\nAssistant:"
    "<|im_start|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)

GEMMA3_TEMPLATE = (  # Gemma 3 (bos in the template, as the real one; assistant -> model)
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "<start_of_turn>{{ role }}\n"
    "{% if message['content'] is string %}{{ message['content'] | trim }}"
    "{% else %}{% for item in message['content'] %}{% if item['type'] == 'image' %}<start_of_image>"
    "{% elif item['type'] == 'text' %}{{ item['text'] | trim }}{% endif %}{% endfor %}{% endif %}<end_of_turn>\n"
    "{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)

INTERNVL_TEMPLATE = (  # InternVL3-hf: Qwen2 chat markup, an <IMG_CONTEXT> placeholder per image
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' %}{{ '<IMG_CONTEXT>\n' }}"
    "{% elif content['type'] == 'video' %}{{ '<video>\n' }}{% elif content['type'] == 'text' %}{{ content['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

LLAVA_TEMPLATE = (  # llava-1.5-hf: "USER: <image>\nquestion ASSISTANT:"
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': ' }}{% endif %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' ' }}{% endfor %}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)

ONEVISION_TEMPLATE = (  # llava-onevision-qwen2-hf: images first, then text, Qwen2 markup
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + ' ' }}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\n' + content['text'] }}{% endfor %}"
    "{{ '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

MISTRAL3_TEMPLATE = (  # Mistral-Small-3.1 (Pixtral processor): [INST]...[IMG]...[/INST]answer</s>
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}[SYSTEM_PROMPT]{{ message['content'] }}[/SYSTEM_PROMPT]"
    "{% elif message['role'] == 'user' %}[INST]{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for block in message['content'] %}{% if block['type'] == 'text' %}{{ block['text'] }}"
    "{% elif block['type'] == 'image' %}[IMG]{% endif %}{% endfor %}{% endif %}[/INST]"
    "{% elif message['role'] == 'assistant' %}{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for block in message['content'] %}{{ block['text'] }}{% endfor %}{% endif %}{{ eos_token }}"
    "{% endif %}{% endfor %}"
)

# ------------------------------------------------------------------------------------------------ builders

QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
                 "<|image_pad|>", "<|video_pad|>", "<unk>"]
QWEN_EXTRA = {"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
              "vision_start_token": "<|vision_start|>", "vision_end_token": "<|vision_end|>"}


def _qwen_tokenizer():
    # Qwen: no bos; pad = <|endoftext|>; eos of the instruct models = <|im_end|>
    return tokenizer(QWEN_SPECIALS, QWEN_EXTRA, eos="<|im_end|>", pad="<|endoftext|>")


def _qwen_processor(cls, tok, patch, merge, template, min_pixels, max_pixels):
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    images = Qwen2VLImageProcessor(size=size, patch_size=patch, merge_size=merge, temporal_patch_size=2)
    videos = Qwen2VLVideoProcessor(size=size, patch_size=patch, merge_size=merge, temporal_patch_size=2)
    return cls(image_processor=images, tokenizer=tok, video_processor=videos, chat_template=template)


def _qwen_ids(tok):
    image, video, start, end = ids(tok, "<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>")
    return dict(image_token_id=image, video_token_id=video, vision_start_token_id=start, vision_end_token_id=end)


def build_qwen2_vl(folder):
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLProcessor

    tok = _qwen_tokenizer()
    # patch 8, merge 2 -> one LM token per 16x16 pixels. embed_dim = vision width; hidden_size = LM width
    # (the merger's output). head_dim = embed_dim / num_heads must be even (2D rotary).
    vision = dict(depth=1, embed_dim=32, hidden_size=32, num_heads=2, mlp_ratio=2, patch_size=8,
                  spatial_merge_size=2, temporal_patch_size=2)
    # mrope_section sums to head_dim / 2 (16 / 2 = 8)
    text = text_kw(tok, rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                         "mrope_section": [2, 3, 3]})
    config = Qwen2VLConfig(text_config=text, vision_config=vision, **_qwen_ids(tok))
    processor = _qwen_processor(Qwen2VLProcessor, tok, 8, 2, QWEN2_TEMPLATE, 32 * 32, 64 * 64)
    return save(Qwen2VLForConditionalGeneration, config, processor, folder)


def build_qwen2_5_vl(folder):
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2_5_VLProcessor

    tok = _qwen_tokenizer()
    # Qwen2.5-VL vision: hidden_size = vision width, out_hidden_size = LM width; windowed attention in the
    # blocks not in fullatt_block_indexes, window_size in pixels (must be a multiple of patch*merge = 16).
    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=8, spatial_merge_size=2,
                  temporal_patch_size=2, window_size=32, fullatt_block_indexes=[1], out_hidden_size=32)
    text = text_kw(tok, rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                         "mrope_section": [2, 3, 3]})
    config = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **_qwen_ids(tok))
    processor = _qwen_processor(Qwen2_5_VLProcessor, tok, 8, 2, QWEN2_TEMPLATE, 32 * 32, 64 * 64)
    return save(Qwen2_5_VLForConditionalGeneration, config, processor, folder)


def build_qwen3_vl(folder):
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    tok = _qwen_tokenizer()
    # Qwen3-VL vision: learned position table of num_position_embeddings (a square: 4x4 here, interpolated
    # to the grid), deepstack mergers at deepstack_visual_indexes (< depth) add vision features to the first
    # LM layers. Text: head_dim explicit, interleaved M-RoPE with mrope_section summing to head_dim / 2.
    vision = dict(depth=2, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=8, spatial_merge_size=2,
                  temporal_patch_size=2, out_hidden_size=32, num_position_embeddings=16, deepstack_visual_indexes=[0])
    text = text_kw(tok, head_dim=16, rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                      "mrope_section": [4, 2, 2], "mrope_interleaved": True})
    for k in ("bos_token_id", "eos_token_id"):
        text.pop(k)  # Qwen3VLTextConfig takes neither
    config = Qwen3VLConfig(text_config=text, vision_config=vision, **_qwen_ids(tok))
    size = {"shortest_edge": 32 * 32, "longest_edge": 64 * 64}
    images = Qwen2VLImageProcessor(size=size, patch_size=8, merge_size=2, temporal_patch_size=2)
    videos = Qwen3VLVideoProcessor(size=size, patch_size=8, merge_size=2, temporal_patch_size=2)
    processor = Qwen3VLProcessor(image_processor=images, tokenizer=tok, video_processor=videos,
                                 chat_template=QWEN3_TEMPLATE)
    return save(Qwen3VLForConditionalGeneration, config, processor, folder)


IDEFICS3_SPECIALS = (["<|endoftext|>", "<|im_start|>", "<end_of_utterance>", "<fake_token_around_image>", "<image>",
                      "<global-img>", "<video>", "<unk>"]
                     + [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)])


def _idefics3_like(family):
    """SmolVLM and Idefics3 share the layout: each image resized to longest edge `size`, split into tiles of
    `max_image_size` (the vision tower's image_size) plus one global view; image_seq_len tokens per tile =
    (image_size / patch_size)^2 / scale_factor^2 = (32 / 8)^2 / 2^2 = 4."""
    import transformers as T

    smol = family == "smolvlm"
    extra = {"image_token": "<image>", "fake_image_token": "<fake_token_around_image>",
             "global_image_token": "<global-img>", "end_of_utterance_token": "<end_of_utterance>",
             "video_token": "<video>"} if smol else {}
    # SmolVLM: no bos, eos = <end_of_utterance>. Idefics3 (Llama 3): bos <|im_start|> stands in for <|begin_of_text|>
    tok = tokenizer(IDEFICS3_SPECIALS, extra, bos=None if smol else "<|im_start|>", add_bos=not smol,
                    eos="<end_of_utterance>", pad="<|endoftext|>")
    vision_cls = T.SmolVLMVisionConfig if smol else T.Idefics3VisionConfig
    vision = vision_cls(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                        image_size=32, patch_size=8)
    text = text_kw(tok, model_type="llama", num_key_value_heads=2)
    config_cls = T.SmolVLMConfig if smol else T.Idefics3Config
    config = config_cls(text_config=text, vision_config=vision.to_dict(), scale_factor=2,
                        image_token_id=tok.convert_tokens_to_ids("<image>"))
    image_kw = dict(size={"longest_edge": 64}, max_image_size={"longest_edge": 32}, do_image_splitting=True)
    if smol:
        images = T.SmolVLMImageProcessor(**image_kw)
        videos = T.SmolVLMVideoProcessor(size={"longest_edge": 32}, max_image_size={"longest_edge": 32})
        processor = T.SmolVLMProcessor(image_processor=images, tokenizer=tok, video_processor=videos,
                                       image_seq_len=4, chat_template=IDEFICS3_TEMPLATE)
        model_cls = T.SmolVLMForConditionalGeneration
    else:
        images = T.Idefics3ImageProcessor(**image_kw)
        processor = T.Idefics3Processor(image_processor=images, tokenizer=tok, image_seq_len=4,
                                        chat_template=IDEFICS3_TEMPLATE)
        model_cls = T.Idefics3ForConditionalGeneration
    return model_cls, config, processor


def build_smolvlm(folder):
    return save(*_idefics3_like("smolvlm"), folder)


def build_idefics3(folder):
    return save(*_idefics3_like("idefics3"), folder)


def build_gemma3(folder):
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3ImageProcessor,
        Gemma3Processor,
        SiglipVisionConfig,
    )

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>",
                "<end_of_image>", "<image_soft_token>"]
    # Gemma3Processor reads tokenizer.boi_token / eoi_token / image_token (and their *_id): the prompt holds one
    # <start_of_image> per image, expanded to "\n\n<start_of_image>" + <image_soft_token> * mm_tokens_per_image
    # + "<end_of_image>\n\n".
    tok = tokenizer(specials, {"boi_token": "<start_of_image>", "eoi_token": "<end_of_image>",
                               "image_token": "<image_soft_token>"},
                    bos="<bos>", add_bos=True, eos="<eos>", pad="<pad>")
    boi, eoi, soft = ids(tok, "<start_of_image>", "<end_of_image>", "<image_soft_token>")
    # SigLIP 32x32 / patch 8 -> 4x4 patches, average-pooled to sqrt(mm_tokens_per_image)^2 = 2x2 = 4 tokens
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                image_size=32, patch_size=8, vision_use_head=False)
    layers = text_kw(tok)["num_hidden_layers"]  # layer_types must have num_hidden_layers entries
    text = text_kw(tok, model_type="gemma3_text", head_dim=16, query_pre_attn_scalar=16, sliding_window=16,
                   layer_types=["sliding_attention"] * (layers - 1) + ["full_attention"], rope_parameters={
                       "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                       "full_attention": {"rope_type": "default", "rope_theta": 1000000.0}})
    config = Gemma3Config(text_config=text, vision_config=vision.to_dict(), mm_tokens_per_image=4,
                          boi_token_index=boi, eoi_token_index=eoi, image_token_index=soft)
    images = Gemma3ImageProcessor(size={"height": 32, "width": 32}, do_pan_and_scan=False,
                                  pan_and_scan_min_crop_size=16, pan_and_scan_max_num_crops=4,
                                  pan_and_scan_min_ratio_to_activate=1.2)
    processor = Gemma3Processor(image_processor=images, tokenizer=tok, image_seq_length=4,
                                chat_template=GEMMA3_TEMPLATE)
    return save(Gemma3ForConditionalGeneration, config, processor, folder)


def build_paligemma(folder):
    from transformers import (
        PaliGemmaConfig,
        PaliGemmaForConditionalGeneration,
        PaliGemmaProcessor,
        SiglipImageProcessor,
        SiglipVisionConfig,
    )

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<image>"]
    tok = tokenizer(specials, {"image_token": "<image>"}, bos="<bos>", add_bos=True, eos="<eos>", pad="<pad>")
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                image_size=32, patch_size=8, projection_dim=32, vision_use_head=False)
    text = text_kw(tok, model_type="gemma", head_dim=16)
    # PaliGemmaProcessor adds 1024 <locXXXX> + 128 <segXXX> tokens to the tokenizer (EXTRA_TOKENS): size the
    # embedding for them so that any token the tokenizer can produce is in range.
    vocab = len(tok) + 1024 + 128
    text["vocab_size"] = vocab
    config = PaliGemmaConfig(vision_config=vision.to_dict(), text_config=text, image_token_index=tok.image_token_id,
                             projection_dim=32)
    images = SiglipImageProcessor(size={"height": 32, "width": 32})
    images.image_seq_length = 16  # (32 / 8) ** 2 patches, no pooling; the processor reads it from here
    processor = PaliGemmaProcessor(image_processor=images, tokenizer=tok)  # no chat template, as the real ones
    assert len(processor.tokenizer) == vocab, (len(processor.tokenizer), vocab)
    return save(PaliGemmaForConditionalGeneration, config, processor, folder)


def build_llava(folder):
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tok = tokenizer(["<unk>", "<s>", "</s>", "<image>", "<pad>"], {"image_token": "<image>"}, bos="<s>",
                    add_bos=True, eos="</s>", pad="<pad>")
    # CLIP 32x32 / patch 8 = 16 patches + CLS; "default" strategy drops CLS -> 16 tokens per image
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              image_size=32, patch_size=8, projection_dim=32)
    text = text_kw(tok, model_type="llama", num_key_value_heads=2)
    config = LlavaConfig(vision_config=vision.to_dict(), text_config=text, image_token_index=tok.image_token_id,
                         image_seq_length=16, vision_feature_select_strategy="default", vision_feature_layer=-2)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(image_processor=images, tokenizer=tok, patch_size=8,
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=LLAVA_TEMPLATE)
    return save(LlavaForConditionalGeneration, config, processor, folder)


def build_internvl(folder):
    from transformers import (
        GotOcr2ImageProcessor,
        InternVLConfig,
        InternVLForConditionalGeneration,
        InternVLProcessor,
        InternVLVideoProcessor,
    )

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>", "<video>", "<unk>"]
    # InternVLProcessor reads tokenizer.start_image_token / end_image_token / context_image_token / video_token
    tok = tokenizer(specials, {"start_image_token": "<img>", "end_image_token": "</img>",
                               "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>"},
                    eos="<|im_end|>", pad="<|endoftext|>")
    # InternViT 32x32 / patch 8 = 4x4 patches; pixel shuffle with downsample_ratio 0.5 -> 2x2 = 4 tokens per tile
    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                  image_size=[32, 32], patch_size=[8, 8])
    text = text_kw(tok, model_type="qwen2")
    config = InternVLConfig(vision_config=vision, text_config=text, image_token_id=tok.context_image_token_id,
                            image_seq_length=4, downsample_ratio=0.5, vision_feature_layer=-1,
                            vision_feature_select_strategy="default")
    # tiles of 32x32 (the tower's image_size), between min_patches and max_patches tiles + 1 thumbnail
    images = GotOcr2ImageProcessor(size={"height": 32, "width": 32}, crop_to_patches=True, min_patches=1,
                                   max_patches=4, image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225])
    videos = InternVLVideoProcessor(size={"height": 32, "width": 32})
    processor = InternVLProcessor(image_processor=images, tokenizer=tok, video_processor=videos, image_seq_length=4,
                                  chat_template=INTERNVL_TEMPLATE)
    return save(InternVLForConditionalGeneration, config, processor, folder)


def build_llava_onevision(folder):
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionForConditionalGeneration,
        LlavaOnevisionImageProcessor,
        LlavaOnevisionProcessor,
        LlavaOnevisionVideoProcessor,
        SiglipVisionConfig,
    )

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<image>", "<video>", "<unk>"]
    tok = tokenizer(specials, {"image_token": "<image>", "video_token": "<video>"}, eos="<|im_end|>",
                    pad="<|endoftext|>")
    # SigLIP 32x32 / patch 8 = 16 tokens per 32x32 view; "anyres": base view + the best grid of 32x32 tiles from
    # image_grid_pinpoints, unpadded, with an image_newline token per row; anyres_max_N caps it.
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                                image_size=32, patch_size=8, vision_use_head=False)
    pinpoints = [[32, 32], [32, 64], [64, 32], [64, 64]]
    text = text_kw(tok, model_type="qwen2")
    config = LlavaOnevisionConfig(vision_config=vision.to_dict(), text_config=text,
                                  image_token_index=tok.image_token_id, video_token_index=tok.video_token_id,
                                  vision_feature_select_strategy="full", vision_feature_layer=-1,
                                  image_grid_pinpoints=pinpoints, vision_aspect_ratio="anyres_max_9")
    images = LlavaOnevisionImageProcessor(size={"height": 32, "width": 32}, image_grid_pinpoints=pinpoints)
    videos = LlavaOnevisionVideoProcessor(size={"height": 32, "width": 32})
    processor = LlavaOnevisionProcessor(image_processor=images, tokenizer=tok, video_processor=videos,
                                        num_image_tokens=16, vision_feature_select_strategy="full",
                                        vision_aspect_ratio="anyres_max_9", chat_template=ONEVISION_TEMPLATE)
    return save(LlavaOnevisionForConditionalGeneration, config, processor, folder)


def build_mistral3(folder):
    from transformers import (
        Mistral3Config,
        Mistral3ForConditionalGeneration,
        PixtralImageProcessor,
        PixtralProcessor,
        PixtralVisionConfig,
    )

    specials = ["<unk>", "<s>", "</s>", "[INST]", "[/INST]", "[IMG]", "[IMG_BREAK]", "[IMG_END]", "[SYSTEM_PROMPT]",
                "[/SYSTEM_PROMPT]", "<pad>"]
    tok = tokenizer(specials, {"image_token": "[IMG]"}, bos="<s>", add_bos=True, eos="</s>", pad="<pad>")
    # Pixtral: native resolution (longest edge <= 64 here), 8x8 patches, 2D RoPE; Mistral3's patch merger
    # (spatial_merge_size 2) turns each 2x2 patch block into one token: [IMG] per 16x16 pixels, [IMG_BREAK] per
    # row, [IMG_END] last.
    vision = PixtralVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                 image_size=64, patch_size=8)
    text = text_kw(tok, model_type="mistral", head_dim=16, sliding_window=None)
    config = Mistral3Config(vision_config=vision.to_dict(), text_config=text, image_token_index=tok.image_token_id,
                            spatial_merge_size=2, vision_feature_layer=-1)
    images = PixtralImageProcessor(size={"longest_edge": 64}, patch_size={"height": 8, "width": 8})
    processor = PixtralProcessor(image_processor=images, tokenizer=tok, patch_size=8, spatial_merge_size=2,
                                 chat_template=MISTRAL3_TEMPLATE)
    return save(Mistral3ForConditionalGeneration, config, processor, folder)


FAMILIES = {name.removeprefix("build_"): fn for name, fn in list(globals().items()) if name.startswith("build_")}

# families whose processors need the vlm extras (torchvision, num2words): requirements.py must say so
NEED_EXTRAS = {"qwen2_vl", "qwen2_5_vl", "qwen3_vl", "smolvlm", "internvl", "llava_onevision", "mistral3"}
