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
- ``mamba``: a selective state-space layer (Mamba-1 when `ssm_dt_rank` is set, Mamba-2 when `ssm_heads`
  is): in_proj, a short depthwise causal convolution, the selective scan over a state of `ssm_state`
  values per inner channel (`ssm_inner` channels), out_proj. Its state per sequence replaces the KV cache
  and does not grow with the context.

MLP kinds (`MLP.kind`): ``gated`` (SwiGLU/GeGLU: gate, up, down), ``plain`` (fc1, ReLU, fc2),
``moe`` (a router picks `top_k` of `experts` gated experts of width `width`, plus `shared`
shared experts of width `shared_width` that every token runs), ``none`` (a layer without an MLP: the
layers of a pure Mamba model).

Layers with equal (attention, mlp) form one group; groups keep the order of their first layer.

    >>> [(g.count, g.attention.kind, g.mlp.kind) for g in recipe(deepseek_v3)]   # doctest: +SKIP
    [(3, 'latent', 'gated'), (58, 'latent', 'moe')]
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["MLP", "Attention", "LayerGroup", "mamba_weights", "recipe", "recipe_kinds"]


class Attention(NamedTuple):
    """The attention of one layer: its kind and the parameters the kind needs (0 when unused)."""

    kind: str  # full | window | latent | linear | mamba
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
    conv_kernel: int = 0  # linear and mamba: causal convolution width
    ssm_inner: int = 0  # mamba: inner channels (expand x hidden)
    ssm_state: int = 0  # mamba: state size N per channel
    ssm_dt_rank: int = 0  # mamba-1: rank of the time-step projection
    ssm_heads: int = 0  # mamba-2: heads (inner / head width)
    ssm_groups: int = 0  # mamba-2: groups sharing B and C
    ssm_conv_bias: bool = False  # mamba: a bias on the convolution
    ssm_proj_bias: bool = False  # mamba: biases on in_proj and out_proj
    output_gate: bool = False  # full / window: a sigmoid gate on the attention output from q_proj (Qwen3-Next)


class MLP(NamedTuple):
    """The MLP of one layer."""

    kind: str  # gated | plain | moe | none
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
        gate = model.attention_output_gate
        full = Attention("full", 0, model.attention_sinks, model.qk_norm, output_gate=gate)
        window = Attention("window", model.sliding_window, model.attention_sinks, model.qk_norm, output_gate=gate)
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
    mamba = Attention("mamba", 0, False, False, 0, 0, 0, 0, 0, 0, 0, 0, 0, model.mamba_d_conv,
                      model.mamba_inner_size, model.mamba_d_state, model.mamba_dt_rank, model.mamba_n_heads,
                      model.mamba_n_groups, model.mamba_conv_bias,
                      model.mamba_proj_bias) if model.mamba_d_state else None
    types = model.layer_types
    if not types and not model.dense_layers and not model.no_mlp_layers:  # one group: every layer alike
        return (LayerGroup(model.num_hidden_layers, window if model.sliding_window else full, moe),)
    dense_layers = set(model.dense_layers)
    no_mlp = set(model.no_mlp_layers)
    counts: dict[tuple, int] = {}
    for index in range(model.num_hidden_layers):
        kind = types[index] if types else ("window" if model.sliding_window else "full")
        att = window if kind == "window" else linear if kind == "linear" else mamba if kind == "mamba" else full
        mlp = _NO_MLP if index in no_mlp else dense if index in dense_layers else moe
        key = (att, mlp)
        counts[key] = counts.get(key, 0) + 1
    return tuple(LayerGroup(count, att, mlp) for (att, mlp), count in counts.items())


_NO_MLP = MLP("none", 0)
_RECURRENT = ("linear", "mamba")  # a fixed state per sequence instead of a KV cache


def recipe_kinds(groups: tuple) -> tuple:
    """What an analysis needs of the groups, derived once per model: (attention kinds with their layer
    counts, MLP kinds with theirs, uniform (one of each, with an MLP), mixed MLP kinds (two kinds with
    weights), a hybrid with recurrent layers (linear or mamba), the first attention kind that is not
    recurrent (the first kind when every layer is recurrent))."""
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
    first = next((k for k, _ in atts if k.kind not in _RECURRENT), atts[0][0])
    hybrid = any(k.kind in _RECURRENT for k, _ in atts)
    uniform = len(atts) == 1 and len(mlps) == 1 and mlps[0][0].kind != "none"
    mixed = sum(1 for k, _ in mlps if k.kind != "none") > 1
    return atts, mlps, uniform, mixed, hybrid, first


def mamba_weights(att, h: int, n: int) -> tuple:
    """(linear elements at w, small elements at hi) of one Mamba mixer per device (tp n), without its norm.

    Mamba-1: in_proj h*2I_d, x_proj I_d*(R + 2N), dt_proj R*I_d, out_proj I_d*h; small: conv I_d*c, dt_proj
    bias I_d, A I_d*N, D I_d (+ conv bias I_d, + in/out_proj biases 2I_d + h). Mamba-2: in_proj
    h*(2I_d + 2G_dN + H_d), out_proj I_d*h; small: conv (I_d + 2G_dN)*c, A, D and dt_bias 3H_d, the gated
    norm I_d (+ conv bias, + in/out_proj biases). Every integer, so exact in any order."""
    inner, N, c = att.ssm_inner // n, att.ssm_state, att.conv_kernel
    if att.ssm_heads:
        heads = att.ssm_heads // n
        bc = 2 * -(-att.ssm_groups // n) * N
        proj = 2 * inner + bc + heads
        channels = inner + bc
        linear = h * proj + inner * h
        small = channels * c + 3 * heads + inner
    else:
        r = att.ssm_dt_rank
        proj = 2 * inner
        channels = inner
        linear = h * proj + inner * (r + 2 * N) + r * inner + inner * h
        small = channels * c + inner + inner * N + inner
    if att.ssm_conv_bias:
        small += channels
    if att.ssm_proj_bias:
        small += proj + h
    return linear, small
