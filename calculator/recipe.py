"""A model as data: a sequence of layer groups, each a count of identical decoder layers with one
attention kind and one MLP kind.

`recipe(model)` derives the groups from the fields of a `Model` (Hugging Face names); the cost
functions in `calculator.core` answer each kind, so a new family is new data, not a new branch.

Attention kinds (`Attention.kind`):

- ``full``: causal attention over every cached token (MHA, GQA or MQA through the KV heads);
- ``window``: sliding-window attention: a query sees at most `window` tokens (itself included), so
  the layer keeps and reads at most `window` tokens of KV;
- ``latent``: multi-head latent attention (DeepSeek-V2/V3): the cache holds one latent of
  ``kv_lora_rank + qk_rope_head_dim`` values per token per layer, shared by every head.
- ``linear``: linear attention with a gated delta rule (Gated DeltaNet, Qwen3-Next): a fixed state of
  ``linear_key_head_dim x linear_value_head_dim`` per value head and a short causal convolution per
  sequence, whatever the context length.

MLP kinds (`MLP.kind`): ``gated`` (SwiGLU/GeGLU: gate, up, down), ``plain`` (fc1, ReLU, fc2),
``moe`` (a router picks `top_k` of `experts` gated experts of width `width`, plus `shared`
shared experts of width `shared_width` that every token runs).

Layers with equal (attention, mlp) form one group; groups keep the order of their first layer.

    >>> [(g.count, g.attention.kind, g.mlp.kind) for g in recipe(deepseek_v3)]   # doctest: +SKIP
    [(3, 'latent', 'gated'), (58, 'latent', 'moe')]
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["MLP", "Attention", "LayerGroup", "recipe", "recipe_kinds"]


class Attention(NamedTuple):
    """The attention of one layer: its kind and the parameters the kind needs (0 when unused)."""

    kind: str  # full | window | latent
    window: int = 0  # window: tokens a query sees
    sinks: bool = False  # a learned sink logit per head (gpt-oss): H extra parameters, no KV
    qk_norm: bool = False  # RMSNorm over each query and key head (Qwen3, Gemma 3)
    q_lora_rank: int = 0  # latent: query down-projection rank (0: one q_proj)
    kv_lora_rank: int = 0  # latent: KV latent width
    qk_nope_head_dim: int = 0  # latent: per-head query/key width without RoPE
    qk_rope_head_dim: int = 0  # latent: RoPE part, shared by every head in the cache
    v_head_dim: int = 0  # latent: per-head value width
    linear_key_heads: int = 0  # linear: query/key heads
    linear_value_heads: int = 0  # linear: value heads (one state each)
    linear_key_dim: int = 0  # linear: width of a key head
    linear_value_dim: int = 0  # linear: width of a value head
    conv_kernel: int = 0  # linear: causal convolution width


class MLP(NamedTuple):
    """The MLP of one layer."""

    kind: str  # gated | plain | moe
    width: int  # intermediate size (per expert for moe)
    experts: int = 0  # moe: routed experts
    top_k: int = 0  # moe: experts per token
    shared: int = 0  # moe: shared experts every token runs
    shared_width: int = 0  # moe: width of one shared expert


class LayerGroup(NamedTuple):
    count: int
    attention: Attention
    mlp: MLP


def recipe(model) -> tuple[LayerGroup, ...]:
    """The layer groups of `model` (a `calculator.Model`), in the order of their first layer."""
    if model.kv_lora_rank:
        full = Attention("latent", 0, model.attention_sinks, model.qk_norm, model.q_lora_rank,
                         model.kv_lora_rank, model.qk_nope_head_dim, model.qk_rope_head_dim, model.v_head_dim)
        window = full
    else:
        full = Attention("full", 0, model.attention_sinks, model.qk_norm)
        window = Attention("window", model.sliding_window, model.attention_sinks, model.qk_norm)
    if model.num_local_experts:
        moe = MLP("moe", model.moe_intermediate_size or model.intermediate_size, model.num_local_experts,
                  model.num_experts_per_tok, model.num_shared_experts,
                  model.shared_expert_intermediate_size or model.moe_intermediate_size or model.intermediate_size)
        dense = MLP("gated", model.intermediate_size)
    else:
        moe = dense = MLP("gated" if model.architecture != "opt" else "plain", model.intermediate_size)
    linear = Attention("linear", 0, False, False, 0, 0, 0, 0, 0, model.linear_num_key_heads,
                       model.linear_num_value_heads, model.linear_key_head_dim, model.linear_value_head_dim,
                       model.linear_conv_kernel_dim) if model.linear_num_value_heads else None
    types = model.layer_types
    if not types and not model.dense_layers:  # one group: every layer alike
        return (LayerGroup(model.num_hidden_layers, window if model.sliding_window else full, moe),)
    dense_layers = set(model.dense_layers)
    counts: dict[tuple, int] = {}
    for index in range(model.num_hidden_layers):
        kind = types[index] if types else ("window" if model.sliding_window else "full")
        att = window if kind == "window" else linear if kind == "linear" else full
        mlp = dense if index in dense_layers else moe
        key = (att, mlp)
        counts[key] = counts.get(key, 0) + 1
    return tuple(LayerGroup(count, att, mlp) for (att, mlp), count in counts.items())


def recipe_kinds(groups: tuple) -> tuple:
    """What an analysis needs of the groups, derived once per model: (attention kinds with their layer
    counts, MLP kinds with theirs, uniform (one of each), mixed MLP kinds, a linear-attention hybrid, the
    first attention kind that is not linear)."""
    if len(groups) == 1:
        g = groups[0]
        atts, mlps = ((g.attention, g.count),), ((g.mlp, g.count),)
    else:
        a: dict = {}
        m: dict = {}
        for g in groups:
            a[g.attention] = a.get(g.attention, 0) + g.count
            m[g.mlp] = m.get(g.mlp, 0) + g.count
        atts, mlps = tuple(a.items()), tuple(m.items())
    first = next((k for k, _ in atts if k.kind != "linear"), atts[0][0])
    hybrid = any(k.kind == "linear" for k, _ in atts)
    return atts, mlps, len(atts) == 1 and len(mlps) == 1, len(mlps) > 1, hybrid, first
