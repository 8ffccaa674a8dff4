"""Log-likelihood of answer options after image+text prompts: each prompt runs once, the options read its cache.

    scores = score_options(model, processor, prompts, images, answers, encode=..., add_special_tokens=False)

`scores[i, k]` is the summed log-probability of the tokens that `answers[k]` adds when appended to `prompts[i]`
(after a space where the prompt does not end in whitespace) with the images `images[i]`. It equals, to float
error, the answer-token log-likelihood of one unbatched forward of `processor(text=prompts[i] + " " + answers[k],
images=images[i])` (for a processor with a `suffix` argument, PaliGemma: `processor(text=prompts[i],
suffix=answers[k], ...)`, see `_answer_is_suffix`); tests/test_families.py checks that in every family.

How it runs (transformers 5.x; every model input is built by the model's own generation code):

1. Prefill. The prompts (one batch per `add_special_tokens` value) go through the processor together, left-padded,
   and through the model once, as `generate` runs its first step: `model._prepare_position_ids_for_generation`
   (mask-based positions; Qwen: 3-D M-RoPE positions and `rope_deltas`), a `DynamicCache` from the text config
   (Gemma 3: sliding-window layers), `model.prepare_inputs_for_generation(..., is_first_iteration=True)` (PaliGemma:
   1-based positions; Gemma 3: token types for the bidirectional image blocks) and `logits_to_keep=1`. That last
   logit predicts every option's first token.
2. Shared answer prefix. The tokens that every option of every prompt starts with ("Answer Choice:" in the suite)
   are appended once per prompt, extending the prompt cache in place: every option needs exactly those states.
3. Branches: the rest of every option, from that cache. The inputs for appended tokens come from `model.
   _update_model_kwargs_for_generation` (mask ones, positions last + 1.., Qwen's mm_token_type_ids zeros,
   PaliGemma's token types 1 = suffix) and `prepare_inputs_for_generation(..., is_first_iteration=False)` (drops
   the image inputs, slices the rest, adds PaliGemma's +1). Two layouts give the same numbers:
   - "siblings" (default where possible): the K options of a prompt go side by side in that prompt's own row,
     each restarting at the prompt's next position and seeing only the prompt and its own earlier tokens (a 4-D
     mask made by the library's mask function for the model's attention implementation). The prompt cache is
     read, never copied per option, so the cost grows with K x answer length, not K x prompt length. Used when
     every cache layer is a plain full-attention layer that can be cropped back afterwards and the attention
     implementation takes a 4-D mask (sdpa, eager).
   - "rows" (the fallback, e.g. Gemma 3's sliding-window layers, whose cache holds only the window and whose mask
     the model must build itself): one (prompt, option) per batch row, from a row-selected copy of the cache, in
     length-sorted chunks of rows bounded by `token_budget`.
   Only the answer positions get logits (`logits_to_keep` as a boolean mask) and the log-softmax is
   `logit[target] - logsumexp(logits)` on those positions only.

Nothing here is keyed by model family: the few special cases are read off the processor's outputs and signature
(SEQUENCE_KEYS, `_answer_is_suffix`) and off the cache's layer types.
"""

from __future__ import annotations

import copy
import inspect
from typing import Callable, Sequence

import numpy as np
import torch

# --- what the processor returns / accepts, and what it means for scoring --------------------------------------

# Inputs aligned with the token sequence, the ones `generate` carries from step to step (its
# `_update_model_kwargs_for_generation` extends exactly these). They are extended for appended tokens (and
# row-selected in the "rows" layout). Everything else the processor returned (pixel_values, image_grid_thw,
# image_sizes, pixel_attention_mask, batch_num_images, ...) is consumed by the prefill and lives on in the cache.
#   attention_mask: the prompts' left padding;
#   position_ids: 2-D [rows, len], or Qwen's 3-D [4, rows, len] (text row + 3 M-RoPE axes, rows on dim 1);
#   token_type_ids: PaliGemma prefix 0 / suffix 1; Gemma 3 image 1 (dropped by Gemma 3 after the prefill);
#   mm_token_type_ids (moe_...): Qwen's text 0 / image 1, extended with zeros (text) for the answer.
SEQUENCE_KEYS = ("attention_mask", "position_ids", "token_type_ids", "mm_token_type_ids", "moe_mm_token_type_ids")

# Attention implementations that take a ready 4-D mask (masking_utils returns a 4-D mask as-is): the "siblings"
# layout needs one. flash attention only takes 2-D padding masks, so it gets the "rows" layout.
MASKED_ATTENTION = ("sdpa", "eager")


def _answer_is_suffix(processor) -> bool:
    """A processor with a `suffix` argument (PaliGemmaProcessor) builds prefix-LM inputs: the prompt is a
    bidirectional prefix (token_type_ids 0) and an answer must be a causal suffix (1), or its score is not a
    log-likelihood. It tokenizes the suffix as the second text of a pair (after putting "\\n" after the prompt
    itself), so that is how the answer tokens are found (`answer_token_ids`). Nothing else is needed: appended
    tokens get type 1 from the model's own `_update_model_kwargs_for_generation` (PaliGemma overrides it for this),
    and PaliGemma applies token types only on the first forward of an empty cache, so cached answers are causal."""
    try:
        return "suffix" in inspect.signature(type(processor).__call__).parameters
    except (TypeError, ValueError):
        return False


def _tokenizer(processor):
    return getattr(processor, "tokenizer", processor)


# --- answer tokens ------------------------------------------------------------------------------------------------


def answer_token_ids(processor, prompt: str, answers: Sequence[str], add_special_tokens: bool) -> list[list[int]]:
    """The tokens each answer adds after `prompt`, as the full string gets them.

    Every prompt+answer string is tokenized whole and the prompt's own tokens are cut off, so merges across the
    boundary and a leading space ("Ġred" / "▁red" vs "red") come out as in the full string, not as the answer
    alone would. Image placeholders stay unexpanded here: the processor replaces them by runs of special tokens,
    which end every merge, so the tail is the processor's (the family matrix compares the two in every family). If the
    prompt's own tokens change when the answer is appended (its last token merges with the answer's first
    characters), no token boundary separates prompt and answer and the answer's tokens are not defined: that
    raises, and the caller should move the boundary to where the tokenizer splits (e.g. a leading space).
    """
    tok = _tokenizer(processor)
    head = tok(prompt, add_special_tokens=add_special_tokens)["input_ids"]
    if _answer_is_suffix(processor):
        fulls = tok([prompt] * len(answers), text_pair=list(answers), add_special_tokens=add_special_tokens)
    else:
        fulls = tok([prompt + a for a in answers], add_special_tokens=add_special_tokens)
    out = []
    for answer, full in zip(answers, fulls["input_ids"]):
        if full[: len(head)] != head:
            raise ValueError(
                f"the prompt's tokens change when the answer {answer!r} is appended (a merge across the boundary): "
                f"the prompt ends {tok.convert_ids_to_tokens(head[-3:])}, prompt+answer has "
                f"{tok.convert_ids_to_tokens(full[max(0, len(head) - 3) : len(head) + 2])} there; put the boundary "
                f"where the tokenizer splits (e.g. a leading space in the answer)"
            )
        out.append(list(full[len(head) :]))
    return out


# --- helpers ------------------------------------------------------------------------------------------------------


class _Out(dict):
    """Stands for a model output in `_update_model_kwargs_for_generation`, which reads only `cache` from it."""


def _extend(model, kwargs: dict, cache, n: int) -> dict:
    """The sequence inputs after `n` more tokens, by the model's own generation update."""
    kwargs = model._update_model_kwargs_for_generation(_Out(cache=cache), dict(kwargs), num_new_tokens=n)
    kwargs.pop("cache", None)
    return kwargs


def _forward(model, input_ids, kwargs, cache, *, first: bool, n_new: int | None, keep):
    """One forward with the inputs `generate` builds for it; `keep`: logits_to_keep (int or a boolean mask
    [rows, n_new]). Returns logits: [rows, n, V] for an int, [kept, V] for a mask."""
    inputs = model.prepare_inputs_for_generation(
        input_ids, next_sequence_length=n_new, cache=cache, is_first_iteration=first, use_cache=True, **kwargs
    )
    if model._supports_logits_to_keep():
        inputs["logits_to_keep"] = keep
        return model(**inputs, return_dict=True).logits
    logits = model(**inputs, return_dict=True).logits
    return logits[:, -keep:] if isinstance(keep, int) else logits[:, -keep.shape[1] :][keep]


def _token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log softmax(logits)[targets] without materializing the log-softmax: logits [N, V], targets [N, J] -> [N, J]
    (J > 1: the K options' next tokens read off one shared position)."""
    logits = logits.float()
    return logits.gather(-1, targets) - torch.logsumexp(logits, dim=-1, keepdim=True)


def _new_cache(model):
    """The cache `generate` makes by default: DynamicCache with per-layer types (sliding windows) from the config."""
    from transformers import DynamicCache

    return DynamicCache(config=model.config.get_text_config(decoder=True))


def _common_prefix(seqs: list[list[int]]) -> int:
    n = min(len(s) for s in seqs)
    for j in range(n):
        if any(s[j] != seqs[0][j] for s in seqs[1:]):
            return j
    return n


def _select_cache_rows(cache, rows: torch.Tensor):
    """A new cache holding `rows` of `cache` (repeats allowed), the original untouched. The structure is deep-copied
    with the key/value tensors shared (deepcopy's memo) until `batch_select_indices` replaces them by the selected
    rows, so the only tensors made are those rows (a plain deepcopy would first copy every row)."""
    memo = {}
    for layer in getattr(cache, "layers", ()):
        for name in ("keys", "values"):
            t = getattr(layer, name, None)
            if isinstance(t, torch.Tensor):
                memo[id(t)] = t
    new = copy.deepcopy(cache, memo)
    new.batch_select_indices(rows)
    return new


def _select_rows(kwargs: dict, rows: torch.Tensor) -> dict:
    """The sequence inputs of the given prompt rows (3-D position_ids: rows are dim 1, as generate expands them)."""
    out = {}
    for key in SEQUENCE_KEYS:
        value = kwargs.get(key)
        if isinstance(value, torch.Tensor):
            out[key] = value.index_select(1 if key == "position_ids" and value.ndim == 3 else 0, rows)
    return out


def siblings_supported(model, cache) -> bool:
    """The "siblings" layout needs a 4-D mask the model passes through unchanged, and a cache it can crop back:
    every layer a plain full-attention, croppable one (not sliding: Gemma 3's sliding layers keep only their window
    and get their own mask from the model), and an attention implementation that takes 4-D masks."""
    layers = getattr(cache, "layers", None)
    implementation = getattr(model.config.get_text_config(decoder=True), "_attn_implementation", None)
    return bool(layers) and implementation in MASKED_ATTENTION and all(
        getattr(layer, "is_croppable", False) and not getattr(layer, "is_sliding", False) for layer in layers
    )


# --- the scorer ---------------------------------------------------------------------------------------------


def score_options(
    model,
    processor,
    prompts: list[str],
    images: list[list[np.ndarray]],
    answers: list[str],
    *,
    encode: Callable[[list[str], list[list[np.ndarray]]], dict],
    add_special_tokens: bool,
    token_budget: int | None = None,
    layout: str = "auto",
) -> np.ndarray:
    """Summed log-likelihood of each answer's tokens after each prompt: an array [len(prompts), len(answers)].

    prompts: rendered prompt strings (a chat template with its generation prompt, or a plain prompt).
    images[i]: the HxWx3 uint8 images of prompts[i].
    answers: option strings; each follows its prompt after a space, unless the prompt ends in whitespace or the
        processor takes the answer as a suffix (PaliGemma puts "\n" itself).
    encode: (texts, images) -> the processor's tensors on the model's device, left-padded (the adapter's own
        input builder, so both answer modes see identical inputs).
    add_special_tokens: as `encode` tokenizes (False for a rendered template that writes the BOS itself).
    token_budget: the most key/value positions one continuation forward may hold, rows x (cached + new tokens);
        this bounds what the continuations allocate (new tokens, and in the "rows" layout the row-selected cache
        copies). None: twice the prompt batch's padded size (rows x prompt length).
    layout: "auto" (siblings where supported, else rows), "siblings" or "rows" (see the module docstring).
    """
    if len(images) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(images)} image lists")
    if layout not in ("auto", "siblings", "rows"):
        raise ValueError(f"layout {layout!r}: use auto, siblings or rows")
    if not prompts or not answers:
        return np.zeros((len(prompts), len(answers)), dtype=np.float64)
    suffix = _answer_is_suffix(processor)
    known: dict[str, list[list[int]]] = {}  # the suite asks one question of many images: tokenize each prompt once
    tokens = []  # [B][K] lists of ids
    for prompt in prompts:
        if prompt not in known:
            space = "" if suffix or prompt[-1:].isspace() else " "
            known[prompt] = answer_token_ids(processor, prompt, [space + a for a in answers], add_special_tokens)
        tokens.append(known[prompt])
    with torch.inference_mode():
        return _score(model, encode(prompts, images), tokens, token_budget, layout).numpy()


def _score(model, inputs: dict, tokens: list[list[list[int]]], token_budget, layout) -> torch.Tensor:
    device = model.device
    B, K = len(tokens), len(tokens[0])
    scores = torch.zeros(B, K, dtype=torch.float64)

    # 1. prefill: one forward of the padded prompt batch, inputs as generate builds them ----------------------------
    kwargs = dict(inputs)
    ids = kwargs.pop("input_ids")
    if not bool((kwargs["attention_mask"][:, -1] == 1).all()):
        raise ValueError("score_options needs left-padded prompts: every row's last token must be real")
    L = ids.shape[1]
    if "position_ids" in inspect.signature(model.forward).parameters:
        # mask-based positions, so that a left-padded row's cached keys sit where its continuation expects them
        # (Qwen: 3-D M-RoPE positions, and model.model.rope_deltas for later steps)
        kwargs["position_ids"] = model._prepare_position_ids_for_generation(ids, kwargs)
    cache = _new_cache(model)
    logits = _forward(model, ids, kwargs, cache, first=True, n_new=None, keep=1)  # fills `cache` in place
    first = torch.tensor([[t[0] if t else 0 for t in row] for row in tokens], device=device)
    has = torch.tensor([[bool(t) for t in row] for row in tokens])
    scores += torch.where(has, _token_logprobs(logits[:, -1], first).double().cpu(), 0.0)
    seq = {k: kwargs[k] for k in SEQUENCE_KEYS if k in kwargs}
    del kwargs, logits

    # 2. shared prefix: the tokens every option of every prompt starts with, appended once per prompt -----------
    c = min(_common_prefix(row) for row in tokens)
    done = 1  # tokens scored so far in every row that has that many
    if c and max(len(t) for row in tokens for t in row) > 1:
        shared = torch.tensor([row[0][:c] for row in tokens], device=device)  # [B, c]
        seq = _extend(model, seq, cache, c)
        ids = torch.cat([ids, shared], 1)
        logits = _forward(model, ids, seq, cache, first=False, n_new=c, keep=c)  # [B, c, V]
        if c > 1:  # shared tokens 1..c-1: the same for all options of a prompt
            part = _token_logprobs(logits[:, :-1].reshape(B * (c - 1), -1), shared[:, 1:].reshape(-1, 1))
            scores += part.view(B, c - 1).sum(1).double().cpu()[:, None]
        # position c-1 predicts token c, which differs per option (where the option has one)
        nxt = torch.tensor([[t[c] if len(t) > c else 0 for t in row] for row in tokens], device=device)
        more = torch.tensor([[len(t) > c for t in row] for row in tokens])
        scores += torch.where(more, _token_logprobs(logits[:, -1], nxt).double().cpu(), 0.0)
        done = c + 1
        del logits

    # 3. branches: option (i, k) feeds tokens[done-1 : n-1] and is scored on tokens[done : n] -----------------------
    budget = token_budget if token_budget is not None else 2 * B * L
    use_siblings = layout == "siblings" or (layout == "auto" and siblings_supported(model, cache))
    branch = _siblings if use_siblings else _rows
    branch(model, cache, ids, seq, tokens, done, budget, scores)
    return scores


def _siblings(model, cache, ids, seq, tokens, done, budget, scores):
    """All options of a prompt side by side in its row: option k takes a slot of w_k columns (its longest branch
    over the prompts; shorter ones are padded at the slot's end, which no real token can see), with positions
    restarting at the prompt's next position and a mask that lets each slot see the cached prompt (minus its
    padding) and its own earlier tokens only. Options are chunked so that rows x (cached + slots) <= budget; after
    each chunk the cache is cropped back to the prompt."""
    device = ids.device
    B, K = len(tokens), len(tokens[0])
    past = ids.shape[1]
    widths = [max(len(tokens[i][k]) - done for i in range(B)) for k in range(K)]
    todo = [k for k in range(K) if widths[k] > 0]
    text = model.config.get_text_config(decoder=True)
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS

    make_mask = ALL_MASK_ATTENTION_FUNCTIONS[text._attn_implementation]
    start = 0
    while start < len(todo):
        chunk, n = [], 0
        while start < len(todo) and (not chunk or B * (past + n + widths[todo[start]]) <= budget):
            chunk.append(todo[start])
            n += widths[todo[start]]
            start += 1
        group = torch.empty(n, dtype=torch.long)  # slot of each new column
        offset = torch.empty(n, dtype=torch.long)  # its index inside the slot
        fed = torch.empty(B, n, dtype=torch.long)
        target = torch.zeros(B, n, dtype=torch.long)
        keep = torch.zeros(B, n, dtype=torch.bool)
        col = 0
        for s, k in enumerate(chunk):
            w = widths[k]
            group[col : col + w] = s
            offset[col : col + w] = torch.arange(w)
            for i in range(B):
                t = tokens[i][k]
                m = len(t) - done
                if m > 0:
                    fed[i, col : col + m] = torch.tensor(t[done - 1 : done - 1 + m])
                    target[i, col : col + m] = torch.tensor(t[done : done + m])
                    keep[i, col : col + m] = True
                # padding: repeats of the option's last fed token (any id would do: nothing real attends to it)
                fed[i, col + max(m, 0) : col + w] = t[-2] if len(t) >= 2 else ids[i, -1]
            col += w
        fed, target, keep = fed.to(device), target.to(device), keep.to(device)
        group, offset = group.to(device), offset.to(device)
        extended = _extend(model, seq, cache, n)
        if "position_ids" in extended:  # the machinery's positions for n appended tokens, restarted per slot
            pos = extended["position_ids"]
            extended["position_ids"] = torch.cat([pos[..., :past], pos[..., past:].index_select(-1, offset)], -1)

        def siblings_mask(batch_idx, head_idx, q_idx, kv_idx, past=past, group=group):
            new_kv = (kv_idx - past).clamp(min=0)
            new_q = (q_idx - past).clamp(min=0)
            return (kv_idx < past) | ((group[new_kv] == group[new_q]) & (kv_idx <= q_idx))

        extended["attention_mask"] = make_mask(
            batch_size=B, q_length=n, kv_length=past + n, q_offset=past, kv_offset=0, mask_function=siblings_mask,
            attention_mask=extended["attention_mask"].bool(), allow_is_causal_skip=False, dtype=model.dtype,
            config=text, use_vmap=False, device=device,
        )
        logits = _forward(model, torch.cat([ids, fed], 1), extended, cache, first=False, n_new=n, keep=keep)
        lp = _token_logprobs(logits, target[keep][:, None])[:, 0].double().cpu()
        where = keep.nonzero().cpu()  # (row, column) of each kept logit, in the same (row-major) order
        slot_k = torch.tensor(chunk)[group.cpu()[where[:, 1]]]
        scores.index_put_((where[:, 0], slot_k), lp, accumulate=True)
        cache.crop(-n)  # back to the prompt (+ shared prefix) for the next chunk
        del logits


def _rows(model, cache, ids, seq, tokens, done, budget, scores):
    """One (prompt, option) per batch row, from a row-selected copy of the cache; rows sorted by length and chunked
    so that rows x (cached + widest row) <= budget; right padding repeats the row's last fed token (never read:
    causal)."""
    device = ids.device
    B, K = len(tokens), len(tokens[0])
    past = ids.shape[1]
    rows = [(i, k, len(tokens[i][k]) - done) for i in range(B) for k in range(K) if len(tokens[i][k]) > done]
    rows.sort(key=lambda r: -r[2])
    start = 0
    while start < len(rows):
        width = rows[start][2]  # the longest in this chunk (sorted)
        n = max(1, min(len(rows) - start, budget // (past + width)))
        chunk = rows[start : start + n]
        start += n
        prompt_rows = torch.tensor([i for i, _, _ in chunk], device=device)
        fed = torch.empty(n, width, dtype=torch.long)
        target = torch.zeros(n, width, dtype=torch.long)
        keep = torch.zeros(n, width, dtype=torch.bool)
        for r, (i, k, m) in enumerate(chunk):
            t = tokens[i][k]
            fed[r, :m] = torch.tensor(t[done - 1 : done - 1 + m])
            fed[r, m:] = t[done - 2 + m]
            target[r, :m] = torch.tensor(t[done : done + m])
            keep[r, :m] = True
        fed, target, keep = fed.to(device), target.to(device), keep.to(device)
        branch_cache = _select_cache_rows(cache, prompt_rows)
        extended = _extend(model, _select_rows(seq, prompt_rows), branch_cache, width)
        full = torch.cat([ids.index_select(0, prompt_rows), fed], 1)
        logits = _forward(model, full, extended, branch_cache, first=False, n_new=width, keep=keep)
        lp = _token_logprobs(logits, target[keep][:, None])[:, 0].double().cpu()
        where = keep.nonzero().cpu()
        chunk_i = torch.tensor([i for i, _, _ in chunk])[where[:, 0]]
        chunk_k = torch.tensor([k for _, k, _ in chunk])[where[:, 0]]
        scores.index_put_((chunk_i, chunk_k), lp, accumulate=True)
        del branch_cache, logits
