"""The three inputs of an analysis: a model architecture, a device and the settings of a run.

All three are frozen dataclasses that check themselves when built, so an analysis never meets a
negative batch or a zero bandwidth: a bad value raises `CalculatorError` (a `ValueError`) whose
message is one readable line, e.g. ``batch must be a positive integer, got -1``.

Units are fixed: bytes, bytes per second, operations per second (1 multiply-accumulate = 2 ops).
Model field names follow Hugging Face ``config.json`` (Llama naming).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ALLOWED_BITS",
    "ARCHITECTURES",
    "FORMATS",
    "STAGES",
    "CalculatorError",
    "Hardware",
    "Model",
    "Settings",
]

ARCHITECTURES = ("llama", "opt", "mixtral", "qwen2")
"""Layer structures the calculator knows (Mistral is `llama`; see `calculator.hf`)."""

ALLOWED_BITS = (1, 2, 3, 4, 5, 6, 8, 16, 32)
"""Bit widths accepted for weights, activations and the KV cache."""

FORMATS = ("fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4")
"""Compute formats a device may list a peak for (the catalogue's `peak_tops` keys)."""

STAGES = ("prefill", "decode", "generate", "all")
"""What an analysis computes: one stage, the generate summary, or everything."""

NUMBER_FORMATS = ("int", "fp")


class CalculatorError(ValueError):
    """A value the calculator cannot work with; the message is one line meant for a user."""


from calculator.limits import check_range, show  # noqa: E402 (limits raises CalculatorError, defined above)


def _positive_int(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CalculatorError(f"{owner}{name} must be a positive integer, got {show(value)}")
    check_range(owner, name, value)  # and at most its physically meaningful bound (calculator.limits)


def _positive_number(owner: str, name: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not value > 0
        or value == float("inf")
    ):
        raise CalculatorError(f"{owner}{name} must be a positive number, got {show(value)}")
    check_range(owner, name, value, integer=False)


@dataclass(frozen=True, slots=True)
class Model:
    """A decoder-only transformer, described by the fields of its Hugging Face config.

    `architecture` decides the layer structure:

    - ``llama``: RMSNorm, gated SiLU MLP (gate/up/down), GQA/MQA through `num_key_value_heads`.
    - ``qwen2``: as llama, with biases on the q/k/v projections.
    - ``mixtral``: as llama, the MLP replaced by `num_local_experts` experts of which
      `num_experts_per_tok` run per token, picked by a `router`.
    - ``opt``: LayerNorm, plain ReLU MLP (``fc1``/``fc2``, named `up_proj`/`down_proj` here),
      biases on every linear layer, learned position embeddings.

    The bias flags default from the architecture and can be set explicitly (a llama config with
    ``attention_bias: true`` sets `qkv_bias` and `o_bias`).

    Today's families are data on top (`calculator.recipe` turns them into layer groups; `calculator.hf`
    reads them from a config.json): `sliding_window` with `layer_types` (``full``, ``window``,
    ``linear`` per layer; without layer_types a sliding_window makes every layer a window layer),
    `attention_sinks`, `qk_norm`, multi-head latent attention (`kv_lora_rank` with `q_lora_rank`,
    `qk_nope_head_dim`, `qk_rope_head_dim`, `v_head_dim`), MoE beyond Mixtral (`moe_intermediate_size`,
    `num_shared_experts`, `shared_expert_intermediate_size`, `dense_layers`: the layers whose MLP is
    dense) and Gated DeltaNet linear attention (`linear_num_key_heads`, `linear_num_value_heads`,
    `linear_key_head_dim`, `linear_value_head_dim`, `linear_conv_kernel_dim`) and Mamba state-space layers
    (``mamba`` in `layer_types`; `mamba_d_state`, `mamba_d_conv`, `mamba_inner_size`, with `mamba_dt_rank`
    for Mamba-1 or `mamba_n_heads` and `mamba_n_groups` for Mamba-2, `mamba_conv_bias`, `mamba_proj_bias`;
    `no_mlp_layers`: the layers without an MLP, every layer of a pure Mamba model). A model whose every layer
    is a Mamba layer has no attention: `num_attention_heads` may then be 0. `attention_output_gate`: q_proj also
    writes a sigmoid gate on the attention output (Qwen3-Next's gated attention). `recipe` and `kinds`
    are derived. `params_total`, `params_active`, `kv_bytes_per_token()` and `attention_kind` describe
    the model for pages and JSON.
    """

    id: str
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    vocab_size: int
    architecture: str = "llama"
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    name: str = ""
    max_position_embeddings: int = 0
    tie_word_embeddings: bool = False
    num_local_experts: int = 0
    num_experts_per_tok: int = 0
    qkv_bias: bool | None = None
    o_bias: bool | None = None
    mlp_bias: bool | None = None
    # Architecture as data (calculator.recipe): every field below defaults to "absent".
    sliding_window: int = 0
    layer_types: tuple | None = None
    attention_sinks: bool = False
    qk_norm: bool = False
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    moe_intermediate_size: int = 0
    num_shared_experts: int = 0
    shared_expert_intermediate_size: int = 0
    dense_layers: tuple = ()
    linear_num_key_heads: int = 0
    linear_num_value_heads: int = 0
    linear_key_head_dim: int = 0
    linear_value_head_dim: int = 0
    linear_conv_kernel_dim: int = 0
    mamba_d_state: int = 0
    mamba_d_conv: int = 0
    mamba_inner_size: int = 0
    mamba_dt_rank: int = 0
    mamba_n_heads: int = 0
    mamba_n_groups: int = 0
    mamba_conv_bias: bool = False
    mamba_proj_bias: bool = False
    no_mlp_layers: tuple = ()
    attention_output_gate: bool = False
    recipe: tuple = field(init=False, repr=False, compare=False, default=())
    kinds: tuple = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        where = f"model {self.id}: " if self.id else "model: "
        if self.architecture not in ARCHITECTURES:
            raise CalculatorError(
                f"{where}architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}"
            )
        types = self.layer_types
        no_attention = (self.num_attention_heads == 0 and not isinstance(self.num_attention_heads, bool)
                        and isinstance(types, (list, tuple)) and bool(types) and all(t == "mamba" for t in types))
        for field in (
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "vocab_size",
        ):
            if not (no_attention and field == "num_attention_heads"):
                _positive_int(where, field, getattr(self, field))
        check_range(where, "max_position_embeddings", self.max_position_embeddings)
        set_ = object.__setattr__
        if no_attention:  # every layer a Mamba layer: no heads
            if self.num_key_value_heads not in (None, 0) or self.head_dim not in (None, 0):
                raise CalculatorError(f"{where}a model without attention layers has no num_key_value_heads or "
                                      f"head_dim")
            set_(self, "num_key_value_heads", 0)
            set_(self, "head_dim", 0)
        else:
            if self.num_key_value_heads is None:
                set_(self, "num_key_value_heads", self.num_attention_heads)
            _positive_int(where, "num_key_value_heads", self.num_key_value_heads)
            if self.num_attention_heads % self.num_key_value_heads:
                raise CalculatorError(
                    f"{where}num_attention_heads ({self.num_attention_heads}) must be a multiple of "
                    f"num_key_value_heads ({self.num_key_value_heads})"
                )
            if self.head_dim is None:
                if self.hidden_size % self.num_attention_heads:
                    raise CalculatorError(
                        f"{where}hidden_size ({self.hidden_size}) is not a multiple of num_attention_heads "
                        f"({self.num_attention_heads}); give head_dim"
                    )
                set_(self, "head_dim", self.hidden_size // self.num_attention_heads)
            _positive_int(where, "head_dim", self.head_dim)
        experts = self.num_local_experts or self.num_experts_per_tok
        if experts and self.architecture == "opt":
            raise CalculatorError(f"{where}experts are not modelled for architecture opt")
        if self.architecture == "mixtral" or experts:  # mixtral needs them; any other family may have them
            _positive_int(where, "num_local_experts", self.num_local_experts)
            _positive_int(where, "num_experts_per_tok", self.num_experts_per_tok)
            if self.num_experts_per_tok > self.num_local_experts:
                raise CalculatorError(
                    f"{where}num_experts_per_tok ({self.num_experts_per_tok}) exceeds "
                    f"num_local_experts ({self.num_local_experts})"
                )
        self._check_recipe(where)
        opt = self.architecture == "opt"
        if self.qkv_bias is None:
            set_(self, "qkv_bias", opt or self.architecture == "qwen2")
        if self.o_bias is None:
            set_(self, "o_bias", opt)
        if self.mlp_bias is None:
            set_(self, "mlp_bias", opt)
        if not self.name:
            set_(self, "name", self.id)
        from calculator.recipe import recipe, recipe_kinds

        groups = recipe(self)
        set_(self, "recipe", groups)
        set_(self, "kinds", recipe_kinds(groups))

    def _check_recipe(self, where: str) -> None:
        """The architecture-as-data fields: each a non-negative integer in range, consistent."""
        set_ = object.__setattr__
        for name, key in (("sliding_window", "seq_len"), ("q_lora_rank", "hidden_size"),
                          ("kv_lora_rank", "hidden_size"), ("qk_nope_head_dim", "head_dim"),
                          ("qk_rope_head_dim", "head_dim"), ("v_head_dim", "head_dim"),
                          ("moe_intermediate_size", "intermediate_size"),
                          ("num_shared_experts", "num_local_experts"),
                          ("shared_expert_intermediate_size", "intermediate_size"),
                          ("linear_num_key_heads", "num_attention_heads"),
                          ("linear_num_value_heads", "num_attention_heads"), ("linear_key_head_dim", "head_dim"),
                          ("linear_value_head_dim", "head_dim"), ("linear_conv_kernel_dim", "head_dim"),
                          ("mamba_d_state", "head_dim"), ("mamba_d_conv", "head_dim"),
                          ("mamba_inner_size", "intermediate_size"), ("mamba_dt_rank", "hidden_size"),
                          ("mamba_n_heads", "num_attention_heads"), ("mamba_n_groups", "num_attention_heads")):
            value = getattr(self, name)
            if value:
                _positive_int(where, name, value)
                check_range(where, name, value, key)
            elif value is not None and value != 0 or isinstance(value, bool):
                raise CalculatorError(f"{where}{name} must be a positive integer, got {show(value)}")
            else:
                set_(self, name, 0)
        for name in ("attention_sinks", "qk_norm", "mamba_conv_bias", "mamba_proj_bias", "attention_output_gate"):
            if not isinstance(getattr(self, name), bool):
                raise CalculatorError(f"{where}{name} must be true or false, got {show(getattr(self, name))}")
        if self.kv_lora_rank:
            for name in ("qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"):
                if not getattr(self, name):
                    raise CalculatorError(f"{where}latent attention (kv_lora_rank) needs {name}")
        elif self.q_lora_rank:
            raise CalculatorError(f"{where}q_lora_rank needs kv_lora_rank (latent attention)")
        expert_fields = ("moe_intermediate_size", "num_shared_experts", "shared_expert_intermediate_size")
        if not self.num_local_experts and (any(getattr(self, n) for n in expert_fields) or self.dense_layers):
            raise CalculatorError(f"{where}expert fields need num_local_experts")
        if self.shared_expert_intermediate_size and not self.num_shared_experts:
            raise CalculatorError(f"{where}shared_expert_intermediate_size needs num_shared_experts")
        linear = ("linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim",
                  "linear_conv_kernel_dim")
        if any(getattr(self, n) for n in linear) and not all(getattr(self, n) for n in linear):
            raise CalculatorError(f"{where}linear attention needs all of {', '.join(linear)}")
        if self.linear_num_value_heads % (self.linear_num_key_heads or 1):
            raise CalculatorError(f"{where}linear_num_value_heads ({self.linear_num_value_heads}) must be a multiple "
                                  f"of linear_num_key_heads ({self.linear_num_key_heads})")
        mamba = self.mamba_d_state or self.mamba_d_conv or self.mamba_inner_size or self.mamba_dt_rank \
            or self.mamba_n_heads or self.mamba_n_groups
        if mamba:
            for name in ("mamba_d_state", "mamba_d_conv", "mamba_inner_size"):
                if not getattr(self, name):
                    raise CalculatorError(f"{where}Mamba layers need {name}")
            if bool(self.mamba_dt_rank) == bool(self.mamba_n_heads):
                raise CalculatorError(f"{where}Mamba layers need mamba_dt_rank (Mamba-1) or mamba_n_heads (Mamba-2), "
                                      f"not both")
            if self.mamba_n_heads:
                if not self.mamba_n_groups:
                    raise CalculatorError(f"{where}Mamba-2 layers (mamba_n_heads) need mamba_n_groups")
                if self.mamba_inner_size % self.mamba_n_heads or self.mamba_n_heads % self.mamba_n_groups:
                    raise CalculatorError(f"{where}mamba_n_heads ({self.mamba_n_heads}) must divide mamba_inner_size "
                                          f"({self.mamba_inner_size}) and be a multiple of mamba_n_groups "
                                          f"({self.mamba_n_groups})")
            elif self.mamba_n_groups:
                raise CalculatorError(f"{where}mamba_n_groups needs mamba_n_heads (Mamba-2)")
        layers = self.num_hidden_layers
        if self.layer_types is not None:
            types = tuple(self.layer_types)
            if len(types) != layers or any(t not in ("full", "window", "linear", "mamba") for t in types):
                kinds = "'full', 'window', 'linear' or 'mamba'" if mamba else "'full', 'window' or 'linear'"
                raise CalculatorError(f"{where}layer_types must list {kinds} for each of the {layers} layers")
            if "mamba" in types and not mamba:
                raise CalculatorError(f"{where}mamba layers need mamba_d_state and the other mamba_ fields")
            if "window" in types and not self.sliding_window:
                raise CalculatorError(f"{where}window layers need sliding_window")
            if "linear" in types and not self.linear_num_value_heads:
                raise CalculatorError(f"{where}linear layers need linear_num_value_heads and the other linear_ fields")
            set_(self, "layer_types", types)
        elif self.linear_num_value_heads:
            raise CalculatorError(f"{where}linear attention fields need layer_types naming the linear layers")
        if mamba and (self.layer_types is None or "mamba" not in self.layer_types):
            raise CalculatorError(f"{where}mamba fields need layer_types naming the mamba layers")
        for name in ("dense_layers", "no_mlp_layers"):
            indices = tuple(getattr(self, name))
            if any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < layers for i in indices):
                raise CalculatorError(f"{where}{name} must be layer indices from 0 to {layers - 1}")
            set_(self, name, tuple(sorted(set(indices))))

    @property
    def gated_mlp(self) -> bool:
        """True for the SwiGLU MLP (gate_proj, up_proj, down_proj); False for OPT's fc1/fc2."""
        return self.architecture != "opt"

    @property
    def norm(self) -> str:
        """``rmsnorm`` or ``layernorm`` (OPT)."""
        return "layernorm" if self.architecture == "opt" else "rmsnorm"

    @property
    def is_moe(self) -> bool:
        return self.num_local_experts > 0

    @property
    def parameters(self) -> int:
        """Total parameter count (all experts, embeddings, norms and biases; tied matrices once)."""
        return self._counts()[0]

    @property
    def params_total(self) -> int:
        """Total parameters (= `parameters`): every expert, embeddings, norms and biases."""
        return self._counts()[0]

    @property
    def params_active(self) -> int:
        """Parameters one token uses: as `params_total` with top_k of the routed experts of each MoE layer
        (shared experts, router, attention, embedding and lm_head all count, as model cards count them)."""
        return self._counts()[1]

    @property
    def params_active_without_embedding(self) -> int:
        """`params_active` less the input embedding matrix (a lookup, not a product), the count some publishers
        state (gpt-oss); a tied embedding is the lm_head too and stays."""
        return self._counts()[1] - (0 if self.tie_word_embeddings else self.vocab_size * self.hidden_size)

    def _counts(self) -> tuple[int, int]:
        """(total, active) parameters from the recipe; integers, so exact in any order."""
        from calculator.recipe import mamba_weights

        h, d = self.hidden_size, self.head_dim
        heads, kv_heads = self.num_attention_heads, self.num_key_value_heads
        norm_params = 2 * h if self.norm == "layernorm" else h
        total = active = 0
        for group in self.recipe:
            att, mlp = group.attention, group.mlp
            if att.kind == "latent":
                rq, r = att.q_lora_rank, att.kv_lora_rank
                dn, dr, dv = att.qk_nope_head_dim, att.qk_rope_head_dim, att.v_head_dim
                qk = heads * (dn + dr)
                layer = (h * rq + rq + rq * qk) if rq else h * qk
                layer += h * (r + dr) + r + r * heads * (dn + dv) + heads * dv * h
            elif att.kind == "linear":
                kd, vd = att.linear_key_heads * att.linear_key_dim, att.linear_value_heads * att.linear_value_dim
                nv = att.linear_value_heads
                # in_proj_qkvz, in_proj_ba, conv1d, A_log + dt_bias, gated norm, out_proj
                layer = h * (2 * kd + 2 * vd) + h * 2 * nv + (2 * kd + vd) * att.conv_kernel + 2 * nv
                layer += att.linear_value_dim + vd * h
            elif att.kind == "mamba":
                layer = sum(mamba_weights(att, h, 1))
            else:
                q, kv = heads * d, kv_heads * d
                layer = h * q + 2 * h * kv + q * h + (h * q if att.output_gate else 0)
                if self.qkv_bias:
                    layer += q + 2 * kv + (q if att.output_gate else 0)
                if self.o_bias:
                    layer += h
                if att.qk_norm:
                    layer += 2 * d
            if att.sinks:
                layer += heads
            layer += 2 * norm_params
            i = mlp.width
            if mlp.kind == "none":  # no MLP, no MLP norm
                total += group.count * (layer - norm_params)
                active += group.count * (layer - norm_params)
                continue
            if mlp.kind == "moe":
                expert = 3 * h * i + ((2 * i + h) if self.mlp_bias else 0)
                base = layer + h * mlp.experts + (mlp.experts if self.mlp_bias else 0)
                base += mlp.shared * 3 * h * mlp.shared_width
                total += group.count * (base + mlp.experts * expert)
                active += group.count * (base + mlp.top_k * expert)
                continue
            layer += (3 if mlp.kind == "gated" else 2) * h * i
            if self.mlp_bias:
                layer += i + h
            total += group.count * layer
            active += group.count * layer
        rest = norm_params + self.vocab_size * h * (1 if self.tie_word_embeddings else 2)
        if self.architecture == "opt":
            rest += self.max_position_embeddings * h
        return total + rest, active + rest

    def kv_bytes_per_token(self, bits: int = 16) -> float:
        """KV-cache bytes one token adds over all layers at `bits` per value: 2 x kv_heads x head_dim per
        full or window layer (a window layer stops growing at `sliding_window` tokens), kv_lora_rank +
        qk_rope_head_dim per latent layer."""
        total = 0
        for group in self.recipe:
            att = group.attention
            if att.kind == "latent":
                total += group.count * (att.kv_lora_rank + att.qk_rope_head_dim)
            elif att.kind in ("linear", "mamba"):
                continue  # a fixed state per sequence: no bytes per token
            else:
                total += group.count * 2 * self.num_key_value_heads * self.head_dim
        return total * bits / 8

    @property
    def attention_kind(self) -> str:
        """The attention in words: MHA, GQA, MQA or MLA, with the window layers, e.g.
        ``GQA, sliding window 1024 on 52 of 62 layers``."""
        linear = sum(g.count for g in self.recipe if g.attention.kind == "linear")
        mamba = sum(g.count for g in self.recipe if g.attention.kind == "mamba")
        version = "Mamba-2" if self.mamba_n_heads else "Mamba"
        if mamba == self.num_hidden_layers:
            return f"none: {version} state space on all {mamba} layers"
        if self.kv_lora_rank:
            text = "MLA"
        elif self.num_key_value_heads == 1:
            text = "MQA"
        elif self.num_key_value_heads < self.num_attention_heads:
            text = "GQA"
        else:
            text = "MHA"
        window = sum(g.count for g in self.recipe if g.attention.kind == "window")
        if window == self.num_hidden_layers:
            text += f", sliding window {self.sliding_window}"
        elif window:
            text += f", sliding window {self.sliding_window} on {window} of {self.num_hidden_layers} layers"
        if linear:
            text += f", linear attention (Gated DeltaNet) on {linear} of {self.num_hidden_layers} layers"
        if mamba:
            text += f", {version} state space on {mamba} of {self.num_hidden_layers} layers"
        if self.attention_sinks:
            text += ", sinks"
        return text

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "architecture": self.architecture,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": self.num_key_value_heads,
            "head_dim": self.head_dim,
            "vocab_size": self.vocab_size,
            "max_position_embeddings": self.max_position_embeddings,
            "tie_word_embeddings": self.tie_word_embeddings,
            "num_local_experts": self.num_local_experts,
            "num_experts_per_tok": self.num_experts_per_tok,
            "parameters": self.parameters,
            "params_total": self.params_total,
            "params_active": self.params_active,
            "params_active_without_embedding": self.params_active_without_embedding,
            "attention_kind": self.attention_kind,
            "kv_bytes_per_token_16bit": self.kv_bytes_per_token(16),
            "recipe": [{"count": g.count, "attention": {k: v for k, v in g.attention._asdict().items() if v},
                        "mlp": {k: v for k, v in g.mlp._asdict().items() if v}} for g in self.recipe],
        }


@dataclass(frozen=True, slots=True)
class Hardware:
    """One device.

    `memory_bandwidth` is DRAM/HBM bandwidth in bytes/s; `peak_ops` maps a compute format (see
    `FORMATS`) to its dense peak in ops/s (pass a dict; it is stored as a sorted tuple of pairs);
    `memory_bytes` is the capacity (0 = unknown); `interconnect_bandwidth` is the device-to-device
    link's total bidirectional bandwidth in bytes/s as datasheets print it (0 = none);
    `host_link_bandwidth` is the device-to-host link (PCIe, or a unified-memory path) in bytes/s,
    both directions together as datasheets print it (PCIe 5.0 x16: 128e9); offloaded weights or KV
    cache stream over one direction, half of it (0 = unknown; see `calculator.serving.offload`).
    `peaks` is `peak_ops` as a dict (derived, read-only by convention).
    """

    id: str
    memory_bandwidth: float
    peak_ops: tuple
    name: str = ""
    memory_bytes: float = 0
    interconnect_bandwidth: float = 0
    interconnect_name: str = ""
    host_link_bandwidth: float = 0
    peaks: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        where = f"hardware {self.id}: " if self.id else "hardware: "
        _positive_number(where, "memory_bandwidth", self.memory_bandwidth)
        peaks = self.peak_ops
        items = peaks.items() if isinstance(peaks, dict) else peaks
        try:
            pairs = tuple(sorted((str(k), v) for k, v in items))
        except (TypeError, ValueError):
            raise CalculatorError(f"{where}peak_ops must map formats to ops/s") from None
        if not pairs:
            raise CalculatorError(f"{where}peak_ops is empty: at least one compute format is needed")
        for fmt, value in pairs:
            if fmt not in FORMATS:
                raise CalculatorError(f"{where}unknown compute format {fmt!r} (known: {', '.join(FORMATS)})")
            _positive_number(where, f"peak_ops[{fmt}]", value)
        object.__setattr__(self, "peak_ops", pairs)
        object.__setattr__(self, "peaks", dict(pairs))
        if self.memory_bytes != 0:
            _positive_number(where, "memory_bytes", self.memory_bytes)
        if self.interconnect_bandwidth != 0:
            _positive_number(where, "interconnect_bandwidth", self.interconnect_bandwidth)
        if self.host_link_bandwidth != 0:
            _positive_number(where, "host_link_bandwidth", self.host_link_bandwidth)
        if not self.name:
            object.__setattr__(self, "name", self.id)

    def peak(self, fmt: str) -> float | None:
        """Dense peak of `fmt` in ops/s, or None when the device does not list it."""
        return self.peaks.get(fmt)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "memory_bandwidth": self.memory_bandwidth,
            "peak_ops": dict(self.peak_ops),
            "memory_bytes": self.memory_bytes,
            "interconnect_bandwidth": self.interconnect_bandwidth,
            "host_link_bandwidth": self.host_link_bandwidth,
        }


@dataclass(frozen=True, slots=True)
class Settings:
    """How the model is run. Every field is something a method's `effect` may change.

    - `batch` sequences of `seq_len` tokens; `decode` is one new token per sequence against a
      context of `seq_len`; `generate` makes `gen_len` tokens after a prompt of `seq_len`.
    - `w_bits`, `a_bits`, `kv_bits`: storage width of linear-layer weights, activations and the
      KV cache. `group_size` / `kv_group_size` add one fp16 scale and one fp16 zero point per group
      of that many weights / cached values (only for widths below 16).
    - `number_format`: whether sub-16-bit compute is integer (``int``) or floating point (``fp``,
      e.g. FP8); it picks the device peak (see `calculator.core.compute_format`).
    - `flash_attention`: one fused, IO-aware `attention` layer with causal skipping.
    - `tp`: tensor-parallel degree (Megatron-style split, two all-reduces per block).
    - `ep`: expert-parallel degree of a MoE model: ep devices each run attention data-parallel on batch/ep
      sequences and hold E/ep experts; tokens reach their experts by an all-to-all and come back by another.
    - `weight_format` / `kv_format`: a named number format (calculator.formats) instead of the bits above.
    - `quantize_head`: also store the vocabulary matrices (embedding, lm_head) at `w_bits`;
      by default they stay at 16 bits, as GPTQ/AWQ-style weight quantizers leave them.
    - `stage`: ``prefill``, ``decode``, ``generate`` or ``all``.
    """

    batch: int = 1
    seq_len: int = 2048
    gen_len: int = 128
    w_bits: int = 16
    a_bits: int = 16
    kv_bits: int = 16
    group_size: int | None = None
    kv_group_size: int | None = None
    number_format: str = "int"
    flash_attention: bool = True
    tp: int = 1
    quantize_head: bool = False
    stage: str = "all"
    weight_format: str | None = None
    kv_format: str | None = None
    ep: int = 1

    def __post_init__(self) -> None:
        for field in ("batch", "seq_len", "gen_len", "tp"):
            _positive_int("", field, getattr(self, field))
        for field in ("w_bits", "a_bits", "kv_bits"):
            value = getattr(self, field)
            if isinstance(value, bool) or value not in ALLOWED_BITS:
                allowed = ", ".join(map(str, ALLOWED_BITS))
                raise CalculatorError(f"{field} must be one of {allowed}, got {show(value)}")
        for field, bits_field in (("group_size", "w_bits"), ("kv_group_size", "kv_bits")):
            value = getattr(self, field)
            if value is None:
                continue
            _positive_int("", field, value)
            if getattr(self, bits_field) >= 16:
                raise CalculatorError(
                    f"{field} needs {bits_field} below 16 (scales are only stored for quantized values)"
                )
        if self.number_format not in NUMBER_FORMATS:
            raise CalculatorError(f"number_format must be 'int' or 'fp', got {self.number_format!r}")
        if self.stage not in STAGES:
            raise CalculatorError(f"stage must be one of {', '.join(STAGES)}, got {self.stage!r}")
        if not isinstance(self.flash_attention, bool) or not isinstance(self.quantize_head, bool):
            raise CalculatorError("flash_attention and quantize_head must be true or false")
        for field, bits_field, group_field in (("weight_format", "w_bits", "group_size"),
                                               ("kv_format", "kv_bits", "kv_group_size")):
            name = getattr(self, field)
            if name is None:
                continue
            from calculator.formats import PRESETS

            found = PRESETS.get(name) if isinstance(name, str) else None
            if found is None:
                raise CalculatorError(f"{field} must be one of {', '.join(PRESETS)}, got {show(name)}")
            if getattr(self, group_field) is not None:
                raise CalculatorError(f"{field} {name} includes its scales; give no {group_field}")
            if getattr(self, bits_field) not in (16, found.element_bits):
                raise CalculatorError(f"{field} {name} stores {found.element_bits}-bit elements; "
                                      f"{bits_field} {getattr(self, bits_field)} contradicts it")
            object.__setattr__(self, bits_field, found.element_bits)
        _positive_int("", "ep", self.ep)
        check_range("", "ep", self.ep, "tp")
        if self.ep > 1:
            if self.tp > 1:
                raise CalculatorError("ep runs attention data-parallel on each device: give tp 1 with ep")
            if self.batch % self.ep:
                raise CalculatorError(f"batch ({self.batch}) must be a multiple of ep ({self.ep}): each device "
                                      f"serves batch/ep sequences")

    def to_dict(self) -> dict:
        return {
            "batch": self.batch,
            "seq_len": self.seq_len,
            "gen_len": self.gen_len,
            "w_bits": self.w_bits,
            "a_bits": self.a_bits,
            "kv_bits": self.kv_bits,
            "group_size": self.group_size,
            "kv_group_size": self.kv_group_size,
            "number_format": self.number_format,
            "flash_attention": self.flash_attention,
            "tp": self.tp,
            "quantize_head": self.quantize_head,
            "stage": self.stage,
            "weight_format": self.weight_format,
            "kv_format": self.kv_format,
            "ep": self.ep,
        }
