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

    def __post_init__(self) -> None:
        where = f"model {self.id}: " if self.id else "model: "
        if self.architecture not in ARCHITECTURES:
            raise CalculatorError(
                f"{where}architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}"
            )
        for field in (
            "hidden_size",
            "intermediate_size",
            "num_hidden_layers",
            "num_attention_heads",
            "vocab_size",
        ):
            _positive_int(where, field, getattr(self, field))
        check_range(where, "max_position_embeddings", self.max_position_embeddings)
        set_ = object.__setattr__
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
        if self.architecture == "mixtral":
            _positive_int(where, "num_local_experts", self.num_local_experts)
            _positive_int(where, "num_experts_per_tok", self.num_experts_per_tok)
            if self.num_experts_per_tok > self.num_local_experts:
                raise CalculatorError(
                    f"{where}num_experts_per_tok ({self.num_experts_per_tok}) exceeds "
                    f"num_local_experts ({self.num_local_experts})"
                )
        elif self.num_local_experts or self.num_experts_per_tok:
            raise CalculatorError(
                f"{where}experts are only modelled for architecture mixtral, not {self.architecture}"
            )
        opt = self.architecture == "opt"
        if self.qkv_bias is None:
            set_(self, "qkv_bias", opt or self.architecture == "qwen2")
        if self.o_bias is None:
            set_(self, "o_bias", opt)
        if self.mlp_bias is None:
            set_(self, "mlp_bias", opt)
        if not self.name:
            set_(self, "name", self.id)

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
        h, i, d = self.hidden_size, self.intermediate_size, self.head_dim
        q = self.num_attention_heads * d
        kv = self.num_key_value_heads * d
        layer = h * q + 2 * h * kv + q * h
        if self.qkv_bias:
            layer += q + 2 * kv
        if self.o_bias:
            layer += h
        mlp = (3 if self.gated_mlp else 2) * h * i
        if self.mlp_bias:
            mlp += i + h
        if self.is_moe:
            mlp = mlp * self.num_local_experts + h * self.num_local_experts
        norm_params = 2 * h if self.norm == "layernorm" else h
        layer += mlp + 2 * norm_params
        total = self.num_hidden_layers * layer + norm_params
        total += self.vocab_size * h * (1 if self.tie_word_embeddings else 2)
        if self.architecture == "opt":
            total += self.max_position_embeddings * h
        return total

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
        }


@dataclass(frozen=True, slots=True)
class Hardware:
    """One device.

    `memory_bandwidth` is DRAM/HBM bandwidth in bytes/s; `peak_ops` maps a compute format (see
    `FORMATS`) to its dense peak in ops/s (pass a dict; it is stored as a sorted tuple of pairs);
    `memory_bytes` is the capacity (0 = unknown); `interconnect_bandwidth` is the device-to-device
    link's total bidirectional bandwidth in bytes/s as datasheets print it (0 = none).
    `peaks` is `peak_ops` as a dict (derived, read-only by convention).
    """

    id: str
    memory_bandwidth: float
    peak_ops: tuple
    name: str = ""
    memory_bytes: float = 0
    interconnect_bandwidth: float = 0
    interconnect_name: str = ""
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
        }
