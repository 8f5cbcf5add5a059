"""Pydantic models for every YAML file of the knowledge base: the single source of truth.

`python -m kb schema` writes the JSON Schemas generated from these models into `schema/`.
Cross-file rules (category exists, ids unique, catalogue ids resolve) live in `kb.load`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$"
ARXIV_PATTERN = r"^(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})$"
TAG_PATTERN = r"^[a-z0-9]+(?:[.+-][a-z0-9]+)*$"
BIT_WIDTHS = (1, 2, 3, 4, 5, 6, 8, 16, 32)
# Ids whose page methods/<id>.md would replace a generated page (kb.render writes methods/index.md).
RESERVED_IDS = frozenset({"index"})


# Every number of every file is bounded by calculator.limits.LIMITS, the table the calculator checks its own
# inputs with, so a value that passes `kb check` is one the calculator analyses (no 1e300 bandwidth reaches
# the build). A field is looked up by its name; these fields carry the calculator's quantity in other units.
_IN_UNITS = {
    "memory_bandwidth_gb_s": ("memory_bandwidth", 1e9), "bandwidth_gb_s": ("interconnect_bandwidth", 1e9),
    "peak_tops": ("peak_ops", 1e12), "memory_gib": ("memory_bytes", 2**30), "parameters_b": ("parameters", 1e9),
    "value": ("claim_value", 1),
}
ANY_NUMBER = (-1e15, 1e15)
"""The range of a number the table does not name (a score, a year, a time): finite and printable."""


def _check_bounds(name: str, value: object) -> None:
    from calculator.limits import LIMITS, show

    if isinstance(value, dict):
        for key, item in value.items():
            _check_bounds(key if isinstance(item, (int, float)) and key in LIMITS else name, item)
        return
    if isinstance(value, (list, tuple)):
        for item in value:
            _check_bounds(name, item)
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    key, scale = _IN_UNITS.get(name, (name, 1))
    lo, hi = (bound / scale for bound in LIMITS[key]) if key in LIMITS else ANY_NUMBER
    if value > hi:
        raise ValueError(f"must be at most {hi:g}, found {show(value)}")
    if value < lo:
        raise ValueError(f"must be at least {lo:g}, found {show(value)}")


class Strict(BaseModel):
    """Base: unknown fields are errors, so a typo never passes silently; every number is within its bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: object, info: ValidationInfo) -> object:
        _check_bounds(info.field_name, value)
        return value


def _https(url: str) -> str:
    if not re.match(r"^https://[^\s/$.?#][^\s<>\"']*$", url):
        raise ValueError("must be an https:// address")
    return url


HttpsUrl = Annotated[str, Field(description="An https:// address.")]


def _one_line(text: str) -> str:
    if "\n" in text or "\r" in text:
        raise ValueError("must be a single line")
    if not text.strip():
        raise ValueError("must not be empty")
    if "<" in text or ">" in text:
        raise ValueError("must not contain < or > (names and titles are plain text)")
    return text


# --------------------------------------------------------------------------- method entries


class Links(Strict):
    """Addresses related to a method; every one must be https."""

    paper: HttpsUrl | None = Field(None, description="The paper (abstract page or publisher page).")
    code: HttpsUrl | None = Field(None, description="The official code repository.")
    project: HttpsUrl | None = Field(None, description="A project page.")
    docs: HttpsUrl | None = Field(None, description="Documentation of a tool or system.")

    @field_validator("paper", "code", "project", "docs")
    @classmethod
    def _check_https(cls, v: str | None) -> str | None:
        return None if v is None else _https(v)


class Bits(Strict):
    """Bit-widths a quantization or data-format paper evaluates (16 = not quantized)."""

    weights: list[int] = Field(default_factory=list, description="Weight bit-widths evaluated.")
    activations: list[int] = Field(default_factory=list, description="Activation bit-widths evaluated.")
    kv_cache: list[int] = Field(default_factory=list, description="KV-cache bit-widths evaluated.")

    @field_validator("weights", "activations", "kv_cache")
    @classmethod
    def _in_range(cls, v: list[int]) -> list[int]:
        bad = [b for b in v if not 1 <= b <= 32]
        if bad:
            raise ValueError(f"bit-width {bad[0]} is outside 1..32")
        return v


class TensorFormat(Strict):
    """Storage format of one tensor class."""

    bits: int = Field(16, description="Bits per element.")
    group_size: int | None = Field(None, gt=0, description="Elements sharing one scale and zero point.")

    @field_validator("bits")
    @classmethod
    def _supported(cls, v: int) -> int:
        if v not in BIT_WIDTHS:
            raise ValueError(f"unsupported bit-width {v}; expected one of {list(BIT_WIDTHS)}")
        return v


Fraction = Annotated[float, Field(ge=0, le=1)]
BASIS = "Where the parameter values come from (paper table, or 'assumed ...')."
IGNORES = ("Costs of the method that the roofline bound leaves out, in words (e.g. 'the outlier decomposition's "
           "second FP16 matmul'); pages then call the number an upper bound that ignores them.")


class QuantizationEffect(Strict):
    kind: Literal["quantization"] = Field(description="Lower-precision weights, activations or KV cache.")
    weights: TensorFormat = Field(default_factory=TensorFormat, description="Weight format.")
    activations: TensorFormat = Field(default_factory=TensorFormat, description="Activation format.")
    kv_cache: TensorFormat = Field(default_factory=TensorFormat, description="KV-cache format.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class SparsityEffect(Strict):
    kind: Literal["sparsity"] = Field(description="Weights removed by pruning.")
    pattern: Literal["unstructured", "n:m", "structured"] = Field(description="Sparsity pattern.")
    sparsity: Fraction = Field(description="Fraction of weights removed.")
    n: int | None = Field(None, gt=0, description="N of an N:M pattern (non-zeros per group).")
    m: int | None = Field(None, gt=0, description="M of an N:M pattern (group size).")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)

    @model_validator(mode="after")
    def _nm(self) -> "SparsityEffect":
        if self.pattern == "n:m" and (self.n is None or self.m is None or self.n > self.m):
            raise ValueError("pattern n:m needs n and m with n <= m")
        if self.pattern == "n:m" and abs(self.sparsity - (1 - self.n / self.m)) > 1e-6:
            raise ValueError(f"sparsity {self.sparsity} contradicts pattern {self.n}:{self.m}, which removes "
                             f"{1 - self.n / self.m:g} of the weights; make sparsity and n, m agree")
        if self.pattern != "n:m" and (self.n is not None or self.m is not None):
            raise ValueError(f"n and m describe an n:m pattern, not pattern {self.pattern}; remove them")
        return self


class LowRankEffect(Strict):
    kind: Literal["low_rank"] = Field(description="Linear layers replaced by low-rank factors.")
    params_kept: Fraction = Field(description="Fraction of linear-layer parameters kept.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class DistillationEffect(Strict):
    kind: Literal["distillation"] = Field(description="A smaller student model replaces the teacher.")
    student: str | None = Field(None, description="Catalogue model id of the student.")
    params_kept: Fraction | None = Field(None, description="Student size as a fraction of the teacher's.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class EarlyExitEffect(Strict):
    kind: Literal["early_exit"] = Field(description="Tokens leave the network before the last layer.")
    average_depth: Fraction = Field(description="Average fraction of layers run per token.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class ContextualSparsityEffect(Strict):
    kind: Literal["contextual_sparsity"] = Field(description="Only input-dependent parts are computed.")
    mlp_active: Fraction | None = Field(None, description="Fraction of MLP neurons computed.")
    heads_active: Fraction | None = Field(None, description="Fraction of attention heads computed.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


ModelChanges = dict[Literal["num_key_value_heads", "num_attention_heads", "head_dim", "intermediate_size",
                           "num_hidden_layers"], int]


class ArchitectureEffect(Strict):
    kind: Literal["architecture"] = Field(
        description="The entry is a model architecture: analysed as its own model against a comparable one, "
                    "never applied to another model.")
    model: str = Field(description="Catalogue model id that has this architecture.")
    model_changes: ModelChanges = Field(default_factory=dict,
                                        description="Fields changed from `model` for the variant this entry "
                                                    "describes (e.g. num_key_value_heads: 1 for MQA).")
    baseline: str = Field(description="Catalogue model id it is compared against (comparable quality or size).")
    baseline_changes: ModelChanges = Field(default_factory=dict,
                                           description="Fields changed from `baseline`, e.g. "
                                                       "num_key_value_heads 64 for the MHA form of a GQA model.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class SpeculativeEffect(Strict):
    kind: Literal["speculative"] = Field(
        description="A cheap draft proposes tokens the target verifies in one pass (docs/roofline.md, "
                    "'Speculative and parallel decoding': one rule for every draft-based method).")
    draft_length: int = Field(gt=0, description="Sequential draft passes per step: the tokens drafted for a "
                                                "chain, the depth of a draft tree, 1 for heads that draft at once.")
    acceptance_rate: Fraction | None = Field(None, description="Per-token acceptance of a chain draft; gives "
                                                               "(1 - a^(g+1)) / (1 - a) tokens per step.")
    tokens_per_step: float | None = Field(None, ge=1, description="Mean tokens accepted per step (the paper's "
                                                                  "acceptance length tau), instead of acceptance_rate.")
    verify_tokens: int | None = Field(None, gt=0, description="Tokens the target verifies per step (a tree's "
                                                              "size); default draft_length + 1 (a chain).")
    draft_model: str | None = Field(None, description="Catalogue model id of the draft model.")
    draft_layers: int | None = Field(None, gt=0, description="Decoder layers of the target's own shape that one "
                                                             "draft pass runs, plus the target's lm_head (EAGLE-style "
                                                             "heads, layer-skipping self-speculation).")
    draft_cost: Fraction | None = Field(None, description="One draft pass as a fraction of the target's decode "
                                                          "step, where the draft is none of the above.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)

    @model_validator(mode="after")
    def _one_of_each(self) -> "SpeculativeEffect":
        if (self.acceptance_rate is None) == (self.tokens_per_step is None):
            raise ValueError("give exactly one of acceptance_rate and tokens_per_step")
        drafts = [k for k in ("draft_model", "draft_layers", "draft_cost") if getattr(self, k) is not None]
        if len(drafts) != 1:
            raise ValueError("give exactly one of draft_model, draft_layers and draft_cost"
                             + (f" (got {', '.join(drafts)})" if drafts else ""))
        if self.tokens_per_step is not None and self.tokens_per_step > (self.verify_tokens or self.draft_length + 1):
            raise ValueError("tokens_per_step cannot exceed the tokens verified per step")
        return self


class ParallelDecodingEffect(Strict):
    kind: Literal["parallel_decoding"] = Field(description="Several tokens accepted per forward pass, with no "
                                                           "separate draft pass (Jacobi, lookahead, retrieval, "
                                                           "non-autoregressive decoding).")
    tokens_per_step: float = Field(ge=1, description="Average tokens accepted per forward pass.")
    verify_tokens: int | None = Field(None, gt=0, description="Tokens each forward pass processes (candidates, "
                                                              "Jacobi block, lookahead branch); default "
                                                              "ceil(tokens_per_step).")

    @model_validator(mode="after")
    def _enough_tokens(self) -> "ParallelDecodingEffect":
        if self.verify_tokens is not None and self.tokens_per_step > self.verify_tokens:
            raise ValueError("tokens_per_step cannot exceed verify_tokens")
        return self
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class KVCompressionEffect(Strict):
    kind: Literal["kv_compression"] = Field(description="Part of the KV cache is evicted or merged.")
    kv_kept: Fraction = Field(description="Fraction of the KV cache kept.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class OperatorFusionEffect(Strict):
    kind: Literal["operator_fusion"] = Field(description="Kernels fused to avoid DRAM round trips.")
    flash_attention: bool = Field(False, description="IO-aware fused attention.")
    fused_elementwise: bool = Field(False, description="Norms, activations and adds fused into GEMMs.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class OffloadingEffect(Strict):
    kind: Literal["offloading"] = Field(description="Weights streamed from host memory.")
    offloaded: Fraction = Field(description="Fraction of weights streamed over the host link per step.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class DataFormatEffect(Strict):
    kind: Literal["data_format"] = Field(description="A new number format for weights/activations.")
    format: str = Field(description="Format name, e.g. fp8-e4m3, mxfp4, fp6.")
    weights_bits: int | None = Field(None, description="Bits per weight element.")
    activations_bits: int | None = Field(None, description="Bits per activation element.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class TokenReductionEffect(Strict):
    kind: Literal["token_reduction"] = Field(
        description="Fewer tokens processed: a compressed prompt (prompt compression) or a shorter answer "
                    "(concise reasoning, early stopping of a chain of thought); the model and its weights are "
                    "unchanged.")
    prompt_kept: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="Fraction of the prompt's tokens the model still reads (1 / compression ratio).")
    output_kept: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="Generated tokens as a fraction of the baseline's (e.g. 0.6 for 40% fewer tokens).")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)

    @model_validator(mode="after")
    def _some(self) -> "TokenReductionEffect":
        if self.prompt_kept is None and self.output_kept is None:
            raise ValueError("give prompt_kept, output_kept or both")
        return self


class SparseAttentionEffect(Strict):
    kind: Literal["sparse_attention"] = Field(
        description="Attention computes only part of the scores (prefill) or reads only part of the KV cache "
                    "(decode); the whole cache stays in memory (unlike kv_compression, which evicts).")
    prefill_density: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="Fraction of the causal attention scores computed at prefill (1 - block sparsity).")
    decode_kv_read: Annotated[float, Field(gt=0, le=1)] | None = Field(
        None, description="Fraction of the context's KV read per decode step.")
    decode_kv_budget: int | None = Field(
        None, gt=0, le=100_000_000, description="Tokens of KV read per decode step (a token budget), instead of "
                                                "decode_kv_read; the whole context when shorter.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)

    @model_validator(mode="after")
    def _some(self) -> "SparseAttentionEffect":
        if self.decode_kv_read is not None and self.decode_kv_budget is not None:
            raise ValueError("give decode_kv_read or decode_kv_budget, not both")
        if self.prefill_density is None and self.decode_kv_read is None and self.decode_kv_budget is None:
            raise ValueError("give prefill_density, decode_kv_read or decode_kv_budget")
        return self


class PrefixReuseEffect(Strict):
    kind: Literal["prefix_reuse"] = Field(
        description="The KV of part of the prompt comes from a cache (an earlier turn, a shared document) "
                    "instead of being recomputed: prefill runs only the new tokens, attending to the whole prompt.")
    prompt_reused: Annotated[float, Field(ge=0, lt=1)] = Field(
        description="Fraction of the prompt's tokens whose KV is reused.")
    cache_tier: Literal["device", "host"] = Field(
        "device", description="Where the reused KV waits: device memory (free to reuse) or host memory (its "
                              "bytes cross the host link before or during prefill).")
    overlap: bool = Field(False, description="With cache_tier host: the transfer overlaps the prefill "
                                             "(layer by layer), so prefill takes the longer of the two.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class SharedPrefixEffect(Strict):
    kind: Literal["shared_prefix"] = Field(
        description="The sequences of a batch share a prompt prefix (a system prompt, tree branches, parallel "
                    "samples) whose KV is stored once and read once per decode step for the whole batch.")
    shared: Annotated[float, Field(gt=0, lt=1)] = Field(
        description="Fraction of each sequence's context that is the prefix common to the whole batch.")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)


class ServingParams(Strict):
    """The parameters of a serving method (calculator.serving.compare) that a claim may change from its entry's
    effect (ClaimSetting.serving), e.g. the baseline's reservation when the paper compares with several servers."""

    baseline_allocator: Literal["paged", "reserve"] | None = Field(
        None, description="The baseline's KV-cache allocator (default reserve).")
    baseline_max_seq_len: int | None = Field(
        None, gt=0, le=100_000_000, description="Tokens the reserving baseline sets aside per request (default the "
                                                "model's positions); 1 = exactly the request's own length (an oracle "
                                                "that knows the output length).")
    block_size: int | None = Field(None, gt=0, le=1_000_000, description="Tokens per KV block (paged, default 16).")
    token_budget: int | None = Field(None, gt=0, le=10_000_000,
                                     description="Tokens per continuous-batching iteration (chunked prefill).")
    ttft_limit_s: float | None = Field(None, gt=0, le=1e5, description="Time-to-first-token limit, seconds.")
    tpot_limit_s: float | None = Field(None, gt=0, le=1e5, description="Time-per-output-token limit, seconds.")
    prefill_tp: int | None = Field(None, gt=0, le=1024, description="Devices of one prefill instance.")
    decode_tp: int | None = Field(None, gt=0, le=1024, description="Devices of one decode instance.")
    longest_output_ratio: float | None = Field(
        None, ge=1, le=1000, description="Scheduling: a request-level batch runs until its longest request ends, "
                                         "this many times the mean output (gen_len).")
    batch: int | None = Field(None, gt=0, le=1_000_000, description="Offload: the method's (effective) batch.")
    baseline_batch: int | None = Field(None, gt=0, le=1_000_000, description="Offload: the baseline's batch.")
    weights_fraction: float | None = Field(
        None, ge=0, le=1, description="Offload: share of the weights the method streams per step (default: what "
                                      "does not fit the device).")
    baseline_weights_fraction: float | None = Field(
        None, ge=0, le=1, description="Offload: share of the weights the baseline streams per step (default: what "
                                      "does not fit the device).")
    link_bandwidth_gb_s: float | None = Field(
        None, gt=0, le=1e6, description="Offload: one-direction GB/s of the slow tier (flash, SSD); default half "
                                        "the device's host link.")


class ServingEffect(ServingParams):
    kind: Literal["serving"] = Field(
        description="A serving method: it changes what a loaded server holds or how it schedules (KV allocator, "
                    "chunked prefill, disaggregated pools, iteration-level scheduling, offloading at a large "
                    "batch), not one forward pass; analysed by "
                    "calculator.serving.compare (--stage serve), never applied to a single run.")
    allocator: Literal["paged", "reserve"] | None = Field(
        None, description="The method's KV-cache allocator (PagedAttention: paged); compared at capacity with "
                          "baseline_allocator.")
    max_seq_len: int | None = Field(None, gt=0, le=100_000_000,
                                    description="Tokens the method reserves per request, with allocator reserve.")
    disaggregated: bool | None = Field(None, description="Prefill and decode on separate pools (DistServe, "
                                                         "Splitwise), against one colocated server.")
    scheduling: Literal["iteration"] | None = Field(
        None, description="Iteration-level scheduling (Orca's continuous batching) against request-level static "
                          "batches that run until their longest request ends (longest_output_ratio).")
    offload: bool | None = Field(
        None, description="An offloading engine (weights and cache streamed from host memory or flash) at its batch "
                          "against another at baseline_batch (FlexGen against ZeRO-Inference / Accelerate).")
    host_attention: bool | None = Field(
        None, description="Offload: attention over the host-resident cache runs on the host, so the cache never "
                          "crosses the link (FlexGen's CPU delegation).")
    basis: str | None = Field(None, description=BASIS)
    ignores: str | None = Field(None, description=IGNORES)

    @model_validator(mode="after")
    def _one_mode(self) -> "ServingEffect":
        check_serving(self.model_dump(exclude_none=True))
        return self


def check_serving(effect: dict) -> None:
    """Refuse a serving effect (or an effect with a claim's changes merged in) that compare() would not analyse
    as written: exactly one mode, and no parameter that mode ignores."""
    modes = [k for k in ("allocator", "token_budget", "disaggregated", "scheduling", "offload") if effect.get(k)]
    if len(modes) != 1:
        raise ValueError("a serving effect needs exactly one of allocator, token_budget and disaggregated: true "
                         "(or scheduling, offload: true)" + (f" (got {', '.join(modes)})" if modes else ""))
    mode = modes[0]
    own = {"allocator": {"allocator", "block_size", "max_seq_len", "baseline_allocator", "baseline_max_seq_len"},
           "token_budget": {"token_budget", "ttft_limit_s", "tpot_limit_s"},
           "disaggregated": {"disaggregated", "ttft_limit_s", "tpot_limit_s", "prefill_tp", "decode_tp"},
           "scheduling": {"scheduling", "longest_output_ratio", "ttft_limit_s", "tpot_limit_s"},
           "offload": {"offload", "batch", "baseline_batch", "weights_fraction", "baseline_weights_fraction",
                       "host_attention", "link_bandwidth_gb_s"}}[mode]
    stray = sorted(k for k in effect if k not in own | {"kind", "basis", "ignores"})
    if stray:
        raise ValueError(f"{', '.join(stray)} has no meaning with {mode}; remove it")
    if mode == "allocator":
        if effect.get("block_size") and effect["allocator"] != "paged":
            raise ValueError("block_size describes the paged allocator; remove it or use allocator: paged")
        if effect.get("max_seq_len") and effect["allocator"] != "reserve":
            raise ValueError("max_seq_len is the reservation of allocator reserve; remove it")
        if effect.get("baseline_max_seq_len") and effect.get("baseline_allocator", "reserve") != "reserve":
            raise ValueError("baseline_max_seq_len is the reservation of a reserving baseline; remove it")
    if mode == "disaggregated" and effect.get("ttft_limit_s") is None and effect.get("tpot_limit_s") is None:
        raise ValueError("disaggregated serving is compared by goodput within latency limits: give ttft_limit_s, "
                         "tpot_limit_s or both")


class NoEffect(Strict):
    kind: Literal["none"] = Field(description="Nothing a roofline can show.")
    reason: str = Field(min_length=10, description="Plain words: why a roofline cannot show this method.")


Effect = Annotated[
    Union[
        QuantizationEffect, SparsityEffect, LowRankEffect, DistillationEffect, EarlyExitEffect,
        ContextualSparsityEffect, ArchitectureEffect, SpeculativeEffect, ParallelDecodingEffect,
        KVCompressionEffect, OperatorFusionEffect, OffloadingEffect, DataFormatEffect, ServingEffect,
        TokenReductionEffect, SparseAttentionEffect, PrefixReuseEffect, SharedPrefixEffect, NoEffect,
    ],
    Field(discriminator="kind"),
]

EFFECTS = TypeAdapter(Effect)


def baseline_effect(changes: dict) -> BaseModel:
    """The effect a claim's baseline runs with (`setting.baseline_effect`): a whole effect, with its kind."""
    kind = changes.get("kind")
    if kind is None:
        raise ValueError("give a whole effect, with its kind")
    if kind in ("serving", "none"):
        raise ValueError(f"a baseline cannot run with an effect of kind {kind}")
    return _effect(changes)


def _effect(data: dict) -> BaseModel:
    """`data` validated as an effect; ValueError naming the first field that is wrong."""
    try:
        return EFFECTS.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "effect"
        raise ValueError(f"{where}: {first['msg']}") from None


def claim_effect(entry: BaseModel, changes: dict) -> BaseModel:
    """The effect a claim is held against: the entry's effect with the claim's changes merged in, or, where the
    changes name a `kind`, the changes alone (a whole effect); ValueError in plain words where it is not one."""
    if changes.get("kind", entry.kind) == "serving":
        raise ValueError("a serving comparison's changes go in setting.serving, not setting.effect")
    if "kind" not in changes and entry.kind == "none":
        raise ValueError("the entry's effect is kind none: give a whole effect, with its kind")
    return _effect(dict(changes) if "kind" in changes else {**entry.model_dump(exclude_none=True), **changes})


ClaimMetric = Literal[
    "speedup", "prefill_speedup", "decode_speedup", "throughput_gain", "kernel_speedup",
    "memory_reduction",
]


ClaimSettingKey = Literal["model", "hardware", "batch", "seq_len", "gen_len", "tp"]

# Why a claim cannot be judged by an inference roofline: a small fixed vocabulary (CLAIMS_FORMAT.md).
OUTSIDE_ROOFLINE = {
    "kernel-only": "a kernel or operator measured against another kernel, not a whole inference step",
    "accelerator-design": "a proposed accelerator (FPGA, ASIC or simulated hardware), not a catalogue device",
    "accuracy-only": "the number measures quality, not time or memory",
    "training": "the number is a training, fine-tuning or calibration cost, not inference",
    "energy": "the number is energy or power, which the roofline does not model",
    "different-metric": "the number measures something the calculator does not compute (FLOPs, tokens, "
                        "compression ratio, model size on disk, quantization time)",
    "effect-from-claim": "the entry's effect was set from this very number, so the roofline would only restate "
                         "it",
    "unmodelled-model": "the paper's model is of a kind the calculator does not model (vision, diffusion, "
                        "state-space, encoder-only)",
    "unpublished-model": "the paper's own model, whose layer shapes are not published where we read: the "
                         "catalogue cannot hold it",
    "unmodelled-hardware": "the paper's device is of a kind the catalogue does not hold (phone, mobile NPU, "
                           "embedded board) and no catalogue device stands in for it",
    "unmodelled-system": "the gain comes from system behaviour a single-request roofline does not show "
                         "(request scheduling, offloading to host or disk, multi-node serving)",
    "method-baseline": "the baseline is another compression method, not the uncompressed model the roofline "
                       "holds the method against",
    "unstated-setting": "the paper does not state the setting this number depends on (the model, the device, or "
                        "the lengths that decide it)",
}
# Reasons that no setting could remove: the number is not an inference time or footprint of a catalogue
# model on a catalogue device (or cannot be held without circularity); with the serving comparisons that have
# no finite bound. The others wait for more of the paper's setting in the entry (a kernel scope, a method
# baseline, a stated setting, an expressible effect).
BY_NATURE = ("accelerator-design", "accuracy-only", "training", "energy", "different-metric", "effect-from-claim",
             "unmodelled-model", "unpublished-model", "unmodelled-hardware", "unmodelled-system",
             "serving-metric", "serving-unbounded")
OutsideReason = Literal[
    "kernel-only", "accelerator-design", "accuracy-only", "training", "energy", "different-metric",
    "effect-from-claim", "unmodelled-model", "unpublished-model", "unmodelled-hardware", "unmodelled-system",
    "method-baseline", "unstated-setting",
]


class OutsideRoofline(Strict):
    """Why an inference roofline cannot judge a claim."""

    reason: OutsideReason = Field(description="One of a fixed vocabulary (kernel-only, accelerator-design, ...).")
    explanation: str | None = Field(None, min_length=5, description="The reason in words for this claim.")


# The operator a kernel claim measures (ClaimSetting.kernel): stage and part of the layer rows.
KernelScope = Literal["prefill-attention", "decode-attention", "prefill-linear", "decode-linear"]


class HostResident(Strict):
    """Shares of the model kept in host memory on both sides of a claim (an offloading engine's setting)."""

    weights: float = Field(0.0, ge=0, le=1, description="Share of the weights in host memory, read over the host "
                                                        "link by every target forward pass.")
    kv_cache: float = Field(0.0, ge=0, le=1, description="Share of the KV cache in host memory, read likewise.")

    @model_validator(mode="after")
    def _something(self) -> "HostResident":
        if not (self.weights or self.kv_cache):
            raise ValueError("give the share of the weights or of the KV cache kept in host memory")
        return self


class ClaimSetting(Strict):
    """The setting a claim was measured in; `model`/`hardware` are catalogue ids."""

    model: str | None = Field(None, description="Catalogue model id (kb/models).")
    hardware: str | None = Field(None, description="Catalogue hardware id (kb/hardware).")
    batch: int | None = Field(None, gt=0, description="Batch size.")
    seq_len: int | None = Field(None, gt=0, description="Prompt / context length in tokens.")
    gen_len: int | None = Field(None, gt=0, description="Generated tokens.")
    tp: int | None = Field(None, gt=0, description="Devices the model is split over (tensor parallel).")
    baseline_effect: dict[str, Any] | None = Field(
        None, description="A whole effect, with its kind, that the baseline runs with when it is a compressed model "
                          "no entry stands for at the paper's values (KIVI at 8 bits, an unnamed 2:4 model); not "
                          "with baseline_method.")
    host_resident: HostResident | None = Field(
        None, description="Both sides run with these shares of the weights and KV cache in host memory, read over "
                          "the host link by every target forward pass (an offloading engine such as ZeRO-Inference "
                          "on both sides); a time claim only.")
    baseline_tp: int | None = Field(
        None, gt=0, description="Devices the baseline is split over (tensor parallel) when they differ from the "
                                "method's `tp`: FP16 on two GPUs against 4-bit weights on one.")
    per_device: bool | None = Field(
        None, description="throughput_gain with baseline_tp: the paper divides each side's tokens/s by its device "
                          "count (tokens per GPU-second).")
    scenario: str | None = Field(
        None, description="A scenario id of kb/scenarios.yaml whose values stand in for those the paper does not "
                          "state (each marked assumed): for a number given without model, device or shape.")
    baseline_method: str | None = Field(
        None, description="The baseline is another entry of the knowledge base (its id): the claim is held against "
                          "that entry's effect instead of the plain model.")
    max_batch: bool | None = Field(
        None, description="Throughput with each side at the largest batch that fits the device (the paper raises "
                          "the batch until memory runs out); `batch` is then ignored.")
    assumed: list[ClaimSettingKey] | None = Field(
        None, description="Values above that the paper does not state for this number: chosen by us "
                          "(e.g. the closest catalogue model or device, a typical batch).")
    description: str | None = Field(None, description="The setting in words, as the paper gives it.")
    serving: ServingParams | None = Field(
        None, description="Serving effects only: parameters of this claim's comparison that differ from the "
                          "entry's effect (e.g. a baseline that reserves exactly the request's length).")
    effect: dict[str, Any] | None = Field(
        None, description="Effect values of this claim's comparison that differ from the entry's effect (e.g. the "
                          "token budget a sparse-attention kernel was timed at), merged into it; with `kind`, a "
                          "whole effect, for a claim the entry's own effect cannot show. Not for serving effects "
                          "(setting.serving).")
    kernel: KernelScope | None = Field(
        None, description="kernel_speedup only: the operator the kernel replaces, held against the roofline of "
                          "those rows alone (prefill or one decode step at `seq_len`; attention: the score, "
                          "softmax and value rows or the fused attention row; linear: the decoder layers' weight "
                          "matrices, lm_head and router excluded).")

    @model_validator(mode="after")
    def _assumed_named(self) -> "ClaimSetting":
        for key in ("model", "hardware"):
            if self.assumed and key in self.assumed and getattr(self, key) is None:
                raise ValueError(f"'{key}' is listed in assumed but not set")
        return self


class Claim(Strict):
    """A speedup or memory claim exactly as the paper states it, with its place in the paper."""

    metric: ClaimMetric = Field(description="What the number measures.")
    value: float = Field(gt=0, description="A ratio: x times faster, or x times less memory.")
    baseline: str = Field(min_length=1, description="What the method is compared against.")
    setting: ClaimSetting = Field(default_factory=ClaimSetting, description="Where it was measured.")
    source: str = Field(min_length=1, description="Where in the paper: Abstract, Table N, Figure N, Section N.")
    note: str | None = Field(None, description="Remark, e.g. a conversion from percent.")
    outside_roofline: OutsideRoofline | None = Field(
        None, description="Why an inference roofline cannot judge this claim; the claim then gets no verdict.")
    memory_of: Literal["total", "weights", "kv_cache"] | None = Field(
        None, description="For memory_reduction: what the ratio counts (default: the whole footprint at the "
                          "end of the request; weights or kv_cache when the paper counts only those).")
    explanation: str | None = Field(
        None, min_length=10, description="Why the claim exceeds the roofline bound, after reading the paper's "
                                         "setting (a weaker baseline, another metric, batching, ...).")

    @model_validator(mode="after")
    def _kernel_metric(self) -> "Claim":
        s = self.setting
        if s.kernel and self.metric != "kernel_speedup":
            raise ValueError(f"setting.kernel is for metric kernel_speedup, not {self.metric}")
        if s.baseline_tp and self.metric in ("kernel_speedup", "memory_reduction"):
            raise ValueError(f"setting.baseline_tp is for a whole run's time, not {self.metric}")
        if s.host_resident and (self.metric in ("kernel_speedup", "memory_reduction") or s.max_batch):
            raise ValueError("setting.host_resident is for the time of a run at a stated batch, not "
                             + ("max_batch" if s.max_batch else self.metric))
        if s.per_device and not (s.baseline_tp and self.metric == "throughput_gain"):
            raise ValueError("setting.per_device is for a throughput_gain whose baseline_tp differs from tp")
        return self


class PublishedAs(Strict):
    """The peer-reviewed version, when it appeared under another title or author list than the entry's."""

    title: str = Field(description="Title of the published version.")
    venue: str = Field(min_length=2, description="Where it was published, e.g. USENIX ATC 2024.")
    authors: list[str] | None = Field(None, description="Its author list, only when it differs from the entry's.")
    source: HttpsUrl = Field(description="The proceedings or publisher page that lists it.")

    @field_validator("title")
    @classmethod
    def _single_line(cls, v: str) -> str:
        return _one_line(v)

    @field_validator("source")
    @classmethod
    def _check_https(cls, v: str) -> str:
        return _https(v)


class Quality(Strict):
    """The accuracy cost a paper reports at its headline setting: the method's score next to its baseline's,
    on one named metric, model and setting, with the place in the paper."""

    metric: str = Field(min_length=2, description="What is measured, e.g. WikiText-2 perplexity, MMLU accuracy (%).")
    higher_is_better: bool = Field(description="False for perplexity, true for accuracy.")
    model: str = Field(min_length=2, description="The model as the paper names it, e.g. Llama-2-7B.")
    setting: str = Field(min_length=2, description="The method's setting, e.g. W4A16, group size 128.")
    value: float = Field(description="The method's score.")
    baseline: str = Field(min_length=2, description="What it is compared with, e.g. FP16.")
    baseline_value: float = Field(description="The baseline's score in the same table.")
    source: str = Field(min_length=2, description="Where in the paper: Table N, Figure N, Section N.")
    note: str | None = Field(None, description="Remark, e.g. the context length of the perplexity run.")


SupportStack = Literal["vLLM", "SGLang", "TensorRT-LLM", "llama.cpp", "MLC LLM", "Hugging Face Transformers",
                       "LMDeploy", "DeepSpeed", "ONNX Runtime", "ExLlamaV2", "Ollama"]


class Support(Strict):
    """A serving stack that ships the method, with the documentation page that says so."""

    stack: SupportStack = Field(description="The serving stack.")
    url: HttpsUrl = Field(description="The documentation page that says the stack supports the method.")
    read: dt.date = Field(description="The date that page was read (YYYY-MM-DD).")
    note: str | None = Field(None, description="What exactly is supported, e.g. INT4 weights with Marlin kernels.")

    @field_validator("url")
    @classmethod
    def _check_https(cls, v: str) -> str:
        return _https(v)


# Facts an entry may leave empty with a recorded reason (the others are required or always optional).
UnconfirmedFact = Literal["authors", "date", "venue", "arxiv", "code"]


ArchitectureFeature = Literal["latent-attention", "grouped-query-attention", "multi-query-attention",
                              "mixture-of-experts", "shared-experts", "sliding-window", "linear-attention",
                              "state-space", "state-space-2"]
"""Features read from a catalogue model's layer recipe (kb/features.py says how)."""


class Method(Strict):
    """One method, paper, system or hardware design: a file kb/methods/<category>/<id>.yaml."""

    id: str = Field(pattern=ID_PATTERN, description="Kebab-case id; equals the file name stem.")
    name: str = Field(description="Short display name.")
    aliases: list[str] = Field(default_factory=list, description="Other names, incl. the survey's misnomers.")
    survey_name: str | None = Field(None, description="The `name` cell of this method's row in the survey list.")
    title: str = Field(description="Exact title of the paper (or product).")
    authors: list[str] = Field(description="Authors in order (or the organisation); [] only when "
                               "`unconfirmed.authors` says why no source confirms them.")
    year: int = Field(ge=1950, le=2100, description="Year of the first public version.")
    date: dt.date | str | None = Field(None, description="First public version: YYYY-MM-DD or YYYY-MM.")
    venue: str | None = Field(None, description="Confirmed venue; leave out when unconfirmed.")
    published_as: PublishedAs | None = Field(
        None, description="The published version when its title or authors differ (then `venue` stays empty).")
    arxiv: str | None = Field(None, pattern=ARXIV_PATTERN, description="arXiv id, e.g. 2306.00978.")
    links: Links = Field(default_factory=Links, description="Paper, code, project and docs addresses.")
    kind: Literal["method", "hardware", "software", "tool"] = Field(
        "method", description="What the entry describes.")
    category: str = Field(description="A category of kb/taxonomy.yaml, e.g. compression/quantization/ptq.")
    survey_section: str | None = Field(None, description="Survey section discussing it, e.g. 3.1.2.")
    after_survey: bool = Field(False, description="True when first published after the survey (May 2024+).")
    tags: list[Annotated[str, Field(pattern=TAG_PATTERN)]] = Field(
        default_factory=list, description="Lower-case kebab-case keywords.")
    summary: str = Field(min_length=40, description="In our own words: what it does, why it is fast, its cost.")
    features: list[ArchitectureFeature] = Field(
        default_factory=list, description="Architecture features this entry introduced or defines (kb/features.py); "
                                          "its page lists the catalogue models that have all of them.")
    bits: Bits | None = Field(None, description="Bit-widths evaluated (quantization and formats).")
    effect: Effect = Field(description="What the roofline calculator applies for this method.")
    claims: list[Claim] = Field(default_factory=list, description="Speedup and memory claims with sources.")
    bibtex: str = Field(min_length=20, description="One BibTeX record.")
    unconfirmed: dict[UnconfirmedFact, Annotated[str, Field(min_length=20)]] = Field(
        default_factory=dict,
        description="Facts looked for but confirmed by no source, each with what was tried; those fields stay empty.")
    quality: list[Quality] = Field(default_factory=list, description="Accuracy cost at the headline setting, with sources.")
    support: list[Support] = Field(default_factory=list, description="Serving stacks that ship the method, with their docs.")
    added: dt.date | None = Field(None, description="When the entry joined the knowledge base (YYYY-MM-DD); "
                                  "tools/stamp_added.py fills it.")

    @field_validator("name", "title")
    @classmethod
    def _single_line(cls, v: str) -> str:
        return _one_line(v)

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v in RESERVED_IDS:
            raise ValueError(f"'{v}' is reserved: its page would replace the generated methods/{v}.md; "
                             "pick another id")
        return v

    @field_validator("tags")
    @classmethod
    def _tags_once(cls, v: list[str]) -> list[str]:
        twice = sorted({tag for tag in v if v.count(tag) > 1})
        if twice:
            raise ValueError(f"tag {', '.join(twice)} is listed twice; list each tag once")
        return v

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, v: object) -> object:
        if isinstance(v, str) and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?", v):
            raise ValueError("expected YYYY-MM-DD or YYYY-MM")
        return v

    @model_validator(mode="after")
    def _claim_serving(self) -> "Method":
        """A claim's `setting.serving` changes a serving effect: only there, and the merge must still analyse."""
        for i, claim in enumerate(self.claims):
            changes = claim.setting.serving
            if changes is None:
                continue
            if self.effect.kind != "serving":
                raise ValueError(f"claims.{i}.setting.serving changes a serving effect; this entry's effect is "
                                 f"{self.effect.kind}")
            try:
                check_serving({**self.effect.model_dump(exclude_none=True), **changes.model_dump(exclude_none=True)})
            except ValueError as exc:
                raise ValueError(f"claims.{i}.setting.serving: {exc}") from None
        return self

    @model_validator(mode="after")
    def _claim_effect(self) -> "Method":
        """A claim's `setting.effect` must make, with the entry's effect, an effect the calculator takes."""
        for i, claim in enumerate(self.claims):
            s = claim.setting
            if s.effect is not None:
                try:
                    claim_effect(self.effect, s.effect)
                except ValueError as exc:
                    raise ValueError(f"claims.{i}.setting.effect: {exc}") from None
            if s.baseline_effect is not None:
                if s.baseline_method:
                    raise ValueError(f"claims.{i}.setting.baseline_effect: give it or baseline_method, not both")
                try:
                    baseline_effect(s.baseline_effect)
                except ValueError as exc:
                    raise ValueError(f"claims.{i}.setting.baseline_effect: {exc}") from None
        return self

    def fact_value(self, fact: str) -> object:
        """The value behind an `unconfirmed` key (`code` lives under `links`)."""
        return self.links.code if fact == "code" else getattr(self, fact)

    @property
    def month(self) -> str | None:
        """First-version month as YYYY-MM, for the timeline."""
        return None if self.date is None else str(self.date)[:7]


# --------------------------------------------------------------------------- taxonomy


class TaxonomyNode(Strict):
    """One category of kb/taxonomy.yaml; its full id is the path of ids from the root."""

    id: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", description="Path segment, kebab-case.")
    title: str = Field(description="Display title (the survey's section name where it has one).")
    survey_section: str | None = Field(None, description="Survey section, e.g. 3.1.2.")
    after_survey: bool = Field(False, description="True for branches added after the survey.")
    accepts_entries: bool = Field(False, description="A non-leaf that also holds entries directly.")
    description: str = Field(min_length=40, description="One paragraph: what the family does, its bottleneck.")
    children: list["TaxonomyNode"] = Field(default_factory=list, description="Sub-categories.")


class Taxonomy(Strict):
    """The whole tree (the YAML file is the list of top-level nodes)."""

    roots: list[TaxonomyNode] = Field(min_length=1, description="Top-level categories.")


# --------------------------------------------------------------------------- analysis scenarios (kb/scenarios.yaml)


class Scenario(Strict):
    """A setting of the computed analysis: one model on one device (or tp devices), one request shape."""

    id: str = Field(pattern=ID_PATTERN, description="Kebab-case id.")
    label: str = Field(min_length=1, description="Short name shown on pages.")
    model: str = Field(description="Catalogue model id.")
    hardware: str = Field(description="Catalogue hardware id.")
    tp: int = Field(1, ge=1, le=64, description="Tensor-parallel devices.")
    batch: int = Field(ge=1, le=4096, description="Concurrent sequences.")
    seq_len: int = Field(ge=1, le=1_048_576, description="Prompt tokens.")
    gen_len: int = Field(ge=1, le=1_048_576, description="Generated tokens.")
    why: str = Field(min_length=10, description="What the setting stands for, in one sentence.")


class ScenarioChoice(Strict):
    """The scenarios shown for some taxonomy branches, and why."""

    categories: list[str] = Field(default_factory=list, description="Taxonomy paths (prefixes) it covers.")
    scenarios: list[str] = Field(min_length=1, description="Scenario ids, in the order pages show them.")
    why: str = Field(min_length=10, description="Why these scenarios show this family's regime.")


class Scenarios(Strict):
    """kb/scenarios.yaml: the scenarios and which branch is shown in which."""

    scenarios: list[Scenario] = Field(min_length=1)
    default: ScenarioChoice
    branches: list[ScenarioChoice] = Field(default_factory=list)
    architecture: ScenarioChoice = Field(description="Devices and request shapes for architecture entries.")


# --------------------------------------------------------------------------- catalogues


# Hosts whose pages are the maker's own (datasheets, whitepapers, product pages, documentation). A device
# source on any other host counts as third-party unless it says `kind: vendor` (a vendor document hosted
# elsewhere, e.g. AMD's ROCm docs repository on GitHub).
VENDOR_DOMAINS = ("nvidia.com", "amd.com", "apple.com", "intel.com", "google.com", "habana.ai", "arm.com",
                  "qualcomm.com", "cerebras.ai", "groq.com", "tenstorrent.com", "ampere.com")


class Source(Strict):
    """A document that states some of an entry's numbers."""

    url: HttpsUrl = Field(description="Address of the datasheet, whitepaper or config file.")
    fields: list[str] = Field(min_length=1, description="Fields whose numbers it states, or [all].")
    kind: Literal["vendor", "third-party"] | None = Field(
        None, description="vendor: a document the maker published (datasheet, whitepaper, product page, its "
                          "documentation), wherever it is hosted; third-party: a spec database, reseller, press "
                          "or blog page, even one that reproduces the datasheet. Default: vendor when the host "
                          "is one of kb.schema.VENDOR_DOMAINS, else third-party.")
    location: str | None = Field(None, description="Where in the document the numbers are (table, page).")

    @field_validator("url")
    @classmethod
    def _check_https(cls, v: str) -> str:
        return _https(v)

    @property
    def third_party(self) -> bool:
        """True unless the source is the maker's own document (see `kind`)."""
        if self.kind:
            return self.kind == "third-party"
        from urllib.parse import urlparse

        host = (urlparse(self.url).hostname or "").lower()
        return not any(host == d or host.endswith("." + d) for d in VENDOR_DOMAINS)


class Link(Strict):
    name: str = Field(description="Link name, e.g. NVLink 4.")
    bandwidth_gb_s: float = Field(gt=0, description="Total bidirectional bandwidth per device, GB/s.")


PeakFormat = Literal["fp32", "tf32", "bf16", "fp16", "fp8", "fp6", "fp4", "int8", "int4"]
PEAK_FORMATS = PeakFormat.__args__
HARDWARE_SOURCE_FIELDS = ("all", "year", "memory_gib", "memory_bandwidth_gb_s", "peak_tops", "interconnect",
                          "host_link")


class AltFigure(Strict):
    """A vendor figure for a device field that disagrees with the value the file uses."""

    field: str = Field(description="The field, as sources name it: memory_bandwidth_gb_s, peak_tops.fp8, ...")
    value: float = Field(description="The other figure, in the field's units (dense for peaks).")
    url: HttpsUrl = Field(description="The vendor document that states it.")
    note: str | None = Field(None, description="Which document revision or SKU, and why it is not the one used.")

    @field_validator("url")
    @classmethod
    def _check_https(cls, v: str) -> str:
        return _https(v)


class Hardware(Strict):
    """A device: kb/hardware/<id>.yaml. Peaks are dense, in 1e12 ops/s (a MAC is 2 ops)."""

    id: str = Field(pattern=ID_PATTERN, description="Kebab-case id; equals the file name stem.")
    name: str = Field(description="Product name.")
    vendor: str = Field(description="Maker.")
    kind: Literal["gpu", "cpu", "tpu", "accelerator", "soc"] = Field(description="Device class.")
    segment: Literal["datacenter", "workstation", "consumer", "edge", "laptop", "server-cpu"] = Field(
        description="Market segment.")
    year: int = Field(ge=1990, le=2100, description="Launch year.")
    memory_gib: float = Field(gt=0, description="Device memory capacity in GiB.")
    memory_bandwidth_gb_s: float = Field(gt=0, description="Memory bandwidth in 1e9 bytes/s.")
    peak_tops: dict[PeakFormat, float] = Field(
        min_length=1, description="Dense peak per compute format, 1e12 ops/s.")
    interconnect: Link | None = Field(None, description="Device-to-device link for tensor parallelism.")
    host_link: Link | None = Field(None, description="Link to host memory, for offloading (PCIe generation "
                                                     "and width, NVLink-C2C, ...), bandwidth as the vendor states it; "
                                                     "a source that gives only the PCIe generation and width is "
                                                     "entered at the x16 totals NVIDIA's datasheets print (Gen3 32, "
                                                     "Gen4 64, Gen5 128 GB/s, both directions).")
    unified_memory: bool = Field(False, description="The device computes out of the host's own memory (Apple "
                                                     "M-series, Jetson, GB10, a CPU): no host link to offload over.")
    sources: list[Source] = Field(min_length=1, description="Where every number comes from: every number field "
                                                            "(memory, bandwidth, each peak, links) must be "
                                                            "listed in some source's fields.")
    alternatives: list[AltFigure] = Field(
        default_factory=list, description="Vendor figures that disagree with the value used (another datasheet "
                                          "revision, a whitepaper); the field holds the one used.")
    notes: str | None = Field(None, description="SKU, clocks, or numbers left out and why.")

    @field_validator("peak_tops")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        for fmt, value in v.items():
            if value <= 0:
                raise ValueError(f"{fmt}: peak must be > 0")
        return v

    def number_fields(self) -> list[str]:
        """The number fields this device sets, as sources name them (peak_tops.fp16, host_link, ...); `year` is
        a label, listed in a source where one states it but not required to be."""
        out = ["memory_gib", "memory_bandwidth_gb_s"] + [f"peak_tops.{f}" for f in self.peak_tops]
        return out + [name for name in ("interconnect", "host_link") if getattr(self, name) is not None]

    @model_validator(mode="after")
    def _sourced(self) -> "Hardware":
        known = set(HARDWARE_SOURCE_FIELDS) | {f"peak_tops.{f}" for f in PEAK_FORMATS}
        for src in self.sources:
            bad = [f for f in src.fields if f not in known]
            if bad:
                raise ValueError(f"source {src.url}: unknown field '{bad[0]}' (expected one of "
                                 f"{', '.join(HARDWARE_SOURCE_FIELDS)} or peak_tops.<format>)")
        listed = {f for src in self.sources for f in src.fields}
        if "all" not in listed:
            for name in self.number_fields():
                if name not in listed and name.split(".")[0] not in listed:
                    raise ValueError(f"{name}: no source lists this field; add it to the fields of the source "
                                     "that states the number, or leave the number out")
        for alt in self.alternatives:
            if alt.field not in known - {"all", "peak_tops"}:
                raise ValueError(f"alternatives: unknown field '{alt.field}'")
        if self.unified_memory and self.host_link is not None:
            raise ValueError("unified_memory and host_link exclude each other")
        return self


class ModelParams(Strict):
    """A model's parameter counts as its publisher states them (model card or paper)."""

    total_b: float = Field(gt=0, description="Total parameters in billions (every expert), as stated.")
    active_b: float = Field(gt=0, description="Parameters used per token in billions; equals total_b for a "
                                              "dense model.")
    source: HttpsUrl = Field(description="Where the figures are stated.")
    location: str | None = Field(None, description="Where in that document, e.g. \"model card, 'Model Summary'\".")
    active_without_embedding: bool | None = Field(
        None, description="The publisher's active figure leaves out the input embedding (a table lookup, not a "
                          "matrix product), as OpenAI's gpt-oss card does; the test then compares it with "
                          "params_active minus the embedding matrix.")
    size_class: bool | None = Field(
        None, description="The stated total is a size class (the model's name, e.g. '7B' or '14-billion'), not a "
                          "count: the test holds it within 5% instead of 3%.")

    @field_validator("source")
    @classmethod
    def _check_https(cls, v: str) -> str:
        return _https(v)

    @model_validator(mode="after")
    def _active(self) -> "ModelParams":
        if self.active_b > self.total_b:
            raise ValueError("active_b exceeds total_b")
        return self


# Fields a `config:` block fills in (derived by calculator.hf); a file with `config:` gives none of them.
MODEL_SHAPE_FIELDS = (
    "architecture", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings", "tie_word_embeddings",
    "num_local_experts", "num_experts_per_tok", "qkv_bias", "o_bias", "mlp_bias", "sliding_window",
    "layer_types", "attention_sinks", "qk_norm", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
    "qk_rope_head_dim", "v_head_dim", "moe_intermediate_size", "num_shared_experts",
    "shared_expert_intermediate_size", "dense_layers", "linear_num_key_heads", "linear_num_value_heads",
    "linear_key_head_dim", "linear_value_head_dim", "linear_conv_kernel_dim", "mamba_d_state", "mamba_d_conv",
    "mamba_inner_size", "mamba_dt_rank", "mamba_n_heads", "mamba_n_groups", "mamba_conv_bias", "mamba_proj_bias",
    "no_mlp_layers", "attention_output_gate",
)


class ModelArch(Strict):
    """A model architecture: kb/models/<id>.yaml, field names as in Hugging Face config.json."""

    id: str = Field(pattern=ID_PATTERN, description="Kebab-case id; equals the file name stem.")
    name: str = Field(description="Display name.")
    family: str = Field(description="Model family label.")
    architecture: Literal["llama", "opt", "mixtral", "qwen2"] = Field(description="Layer structure.")
    hidden_size: int = Field(gt=0, description="Model width.")
    intermediate_size: int = Field(gt=0, description="MLP width (per expert for MoE).")
    num_hidden_layers: int = Field(gt=0, description="Decoder blocks.")
    num_attention_heads: int | None = Field(None, gt=0, description="Query heads; absent only for a model without "
                                                                    "attention layers (every layer a Mamba layer).")
    num_key_value_heads: int | None = Field(None, gt=0, description="Key/value heads (GQA/MQA when fewer); absent "
                                                                    "with num_attention_heads.")
    head_dim: int | None = Field(None, gt=0, description="Head width; default hidden/heads.")
    vocab_size: int = Field(gt=0, description="Vocabulary size.")
    max_position_embeddings: int = Field(ge=0, description="Longest supported context (0: none stated, e.g. Mamba).")
    tie_word_embeddings: bool = Field(False, description="lm_head shares the embedding matrix.")
    num_local_experts: int | None = Field(None, gt=0, description="Experts per MoE layer.")
    num_experts_per_tok: int | None = Field(None, gt=0, description="Experts each token uses.")
    qkv_bias: bool | None = Field(None, description="Biases on q/k/v (default from the architecture).")
    o_bias: bool | None = Field(None, description="Bias on o_proj (default from the architecture).")
    mlp_bias: bool | None = Field(None, description="Biases on the MLP / expert projections.")
    sliding_window: int | None = Field(None, gt=0, description="Window W of the window layers (tokens).")
    layer_types: list[Literal["full", "window", "linear", "mamba"]] | None = Field(
        None, description="Attention of each layer; absent with sliding_window: every layer a window layer.")
    attention_sinks: bool | None = Field(None, description="A learned sink logit per head (gpt-oss).")
    qk_norm: bool | None = Field(None, description="RMSNorm on each query and key head (Qwen3, Gemma 3).")
    q_lora_rank: int | None = Field(None, gt=0, description="Latent attention: query down-projection rank.")
    kv_lora_rank: int | None = Field(None, gt=0, description="Latent attention: KV latent width (cached).")
    qk_nope_head_dim: int | None = Field(None, gt=0, description="Latent attention: per-head q/k width without RoPE.")
    qk_rope_head_dim: int | None = Field(None, gt=0, description="Latent attention: RoPE width (cached).")
    v_head_dim: int | None = Field(None, gt=0, description="Latent attention: per-head value width.")
    moe_intermediate_size: int | None = Field(None, gt=0, description="Width of one routed expert.")
    num_shared_experts: int | None = Field(None, gt=0, description="Shared experts every token runs.")
    shared_expert_intermediate_size: int | None = Field(None, gt=0, description="Width of one shared expert.")
    dense_layers: list[int] | None = Field(None, description="Indices of the dense-MLP layers of a MoE model.")
    linear_num_key_heads: int | None = Field(None, gt=0, description="Linear attention (Gated DeltaNet): key heads.")
    linear_num_value_heads: int | None = Field(None, gt=0, description="Linear attention: value heads (one state "
                                                                       "each).")
    linear_key_head_dim: int | None = Field(None, gt=0, description="Linear attention: key head width.")
    linear_value_head_dim: int | None = Field(None, gt=0, description="Linear attention: value head width.")
    linear_conv_kernel_dim: int | None = Field(None, gt=0, description="Linear attention: causal convolution width.")
    mamba_d_state: int | None = Field(None, gt=0, description="Mamba layers: state size N per inner channel.")
    mamba_d_conv: int | None = Field(None, gt=0, description="Mamba layers: causal convolution width.")
    mamba_inner_size: int | None = Field(None, gt=0, description="Mamba layers: inner channels (expand x hidden).")
    mamba_dt_rank: int | None = Field(None, gt=0, description="Mamba-1 layers: rank of the time-step projection.")
    mamba_n_heads: int | None = Field(None, gt=0, description="Mamba-2 layers: heads.")
    mamba_n_groups: int | None = Field(None, gt=0, description="Mamba-2 layers: groups sharing B and C.")
    mamba_conv_bias: bool | None = Field(None, description="Mamba layers: a bias on the convolution.")
    mamba_proj_bias: bool | None = Field(None, description="Mamba layers: biases on in_proj and out_proj.")
    no_mlp_layers: list[int] | None = Field(None, description="Indices of the layers without an MLP (pure Mamba).")
    attention_output_gate: bool | None = Field(None, description="q_proj also writes a sigmoid gate on the attention "
                                                                 "output (Qwen3-Next).")
    config: dict | None = Field(None, description="The publisher's config.json, verbatim (architecture keys); "
                                                  "the shape fields are derived from it by calculator.hf.")
    params: ModelParams | None = Field(None, description="Total and active parameters as the publisher states "
                                                         "them; calculator's counts are tested against them.")
    parameters_b: float | None = Field(None, gt=0, description="Total parameters in billions, as stated.")
    sources: list[Source] = Field(min_length=1, description="Where every number comes from.")
    notes: str | None = Field(None, description="Remarks.")

    @model_validator(mode="before")
    @classmethod
    def _from_config(cls, data: object) -> object:
        """A `config:` block gives every shape field (calculator.hf reads it); none may be written beside it."""
        if not isinstance(data, dict) or data.get("config") is None:
            return data
        config = data["config"]
        both = [k for k in MODEL_SHAPE_FIELDS if k in data]
        if both:
            raise ValueError(f"give the shape in config only, not also as {', '.join(both)}")
        from calculator.hf import model_from_hf_config
        from calculator.spec import CalculatorError

        try:
            model = model_from_hf_config(config, model_id=str(data.get("id", "")), where="config")
        except CalculatorError as exc:
            raise ValueError(str(exc)) from None
        except (TypeError, ArithmeticError, RecursionError) as exc:  # a config no model_type reader expects
            raise ValueError(f"config: cannot be read ({type(exc).__name__})") from None
        return {**data, **model_shape(model)}

    @model_validator(mode="after")
    def _heads(self) -> "ModelArch":
        if self.num_attention_heads is None or self.num_key_value_heads is None:
            if (self.num_attention_heads, self.num_key_value_heads) != (None, None) or not self.layer_types or any(
                    t != "mamba" for t in self.layer_types):
                raise ValueError("num_attention_heads and num_key_value_heads are needed unless every layer is a "
                                 "mamba layer")
        elif self.num_attention_heads % self.num_key_value_heads:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
        if (self.num_local_experts is None) != (self.num_experts_per_tok is None):
            raise ValueError("num_local_experts and num_experts_per_tok go together")
        return self


def model_shape(model) -> dict:
    """The shape fields of a calculator Model, as a model file writes them (absent = default)."""
    out = {}
    for key in MODEL_SHAPE_FIELDS:
        value = getattr(model, key)
        if key in ("layer_types", "dense_layers", "no_mlp_layers"):
            value = list(value) if value else None
        elif key in ("num_local_experts", "num_experts_per_tok") or key in (
                "sliding_window", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim",
                "moe_intermediate_size", "num_shared_experts", "shared_expert_intermediate_size") or key.startswith(
                "linear_") or key.startswith("mamba_") or key in ("head_dim", "num_attention_heads",
                                                                  "num_key_value_heads"):
            value = value or None
        elif key in ("attention_sinks", "qk_norm", "attention_output_gate"):
            value = value or None
        if value is not None:
            out[key] = value
    return out


# --------------------------------------------------------------------------- data/methods.json


class ScenarioRow(Strict):
    """One stage of one standard scenario (kb/scenarios.yaml): the baseline against the method, as ideal
    roofline bounds. A side that does not fit its device has no time and no speedup."""

    scenario: str = Field(description="Scenario id, e.g. survey.")
    label: str = Field(description="Scenario in words.")
    model: str = Field(description="Catalogue model id the method runs on (an architecture's own model).")
    baseline_model: str = Field(description="Model of the baseline: the same, or the one an architecture is "
                                            "compared with.")
    hardware: str = Field(description="Catalogue hardware id.")
    tp: int = Field(gt=0, description="Tensor-parallel devices.")
    batch: int = Field(gt=0, description="Batch size.")
    seq_len: int = Field(gt=0, description="Prompt tokens.")
    gen_len: int = Field(gt=0, description="Generated tokens.")
    stage: Literal["prefill", "decode"] = Field(description="prefill: time to first token; decode: mean time per "
                                                            "output token over the request.")
    baseline_time_s: float | None = Field(gt=0, description="Baseline time in seconds; null when it does not fit.")
    method_time_s: float | None = Field(gt=0, description="Time with the method; null when it does not fit.")
    speedup: float | None = Field(gt=0, description="baseline_time_s / method_time_s; null unless both fit.")
    baseline_bound: str = Field(description="Bound of the rows taking most of the baseline's time.")
    method_bound: str = Field(description="The same with the method.")
    baseline_memory_bytes: float = Field(gt=0, description="Baseline footprint per device at the last token.")
    method_memory_bytes: float = Field(gt=0, description="Footprint with the method at the last token.")
    baseline_fits: bool = Field(description="The baseline fits the device at the last token.")
    method_fits: bool = Field(description="The method fits the device at the last token.")
    baseline_max_batch: int | None = Field(description="Largest batch of this request shape the baseline fits.")
    method_max_batch: int | None = Field(description="The same with the method.")
    changed_bounds: list[str] = Field(description="Layers whose bound changes, as 'name: before -> after'.")
    baseline_expected_s: float | None = Field(None, gt=0, description="Baseline time expected on real hardware "
                                              "(calculator.expected, calibrated on measurements); null when it "
                                              "does not fit.")
    method_expected_s: float | None = Field(None, gt=0, description="The same with the method.")
    expected_speedup: float | None = Field(None, gt=0, description="baseline_expected_s / method_expected_s: the "
                                           "speedup to expect, not the bound's.")


class ClaimCheck(Strict):
    """A claim held against the roofline prediction for its setting."""

    metric: ClaimMetric = Field(description="What the claim measures.")
    claimed: float = Field(gt=0, description="The paper's value.")
    predicted: float | None = Field(description="The roofline's bound for the same setting, if checkable.")
    verdict: Literal["plausible", "optimistic", "beyond the bound", "consistent", "above the roofline bound",
                     "not checkable"] = Field(
        description="Verdict. With an expected value (time claims): plausible (at most 1.1x the expected ratio), "
                    "optimistic (above it, within 1.1x the bound), beyond the bound. Without one (memory, serving): consistent (within 1.1x the bound) or above the roofline bound.")
    why: str | None = Field(description="Why it is not checkable.")
    source: str = Field(description="Where in the paper.")
    setting: str | None = Field(description="The setting it was checked in; unstated values marked assumed.")
    calculator_query: str | None = Field(
        description="Query string of the live calculator for that setting (method A, baseline B); None where the "
                    "claim has its own effect (setting.effect), which the live calculator does not take.")
    reason: str | None = Field(None, description="Short key of why it is not checkable (the outside_roofline "
                                                 "vocabulary, or a computed one such as effect-none).")
    explanation: str | None = Field(None, description="Why the claim exceeds the bound, from the entry.")
    baseline_share: float | None = Field(
        None, description="A time claim above its bound: bound / claimed, the largest share of its roofline speed the "
                          "baseline can have reached if the method reached its own.")
    expected: float | None = Field(None, description="The calibrated expected value for the same setting.")
    scenario: str | None = Field(None, description="Label of the scenario a claim with no stated setting is judged "
                                                   "in (an assumed setting), or the most favourable GPU of a time claim that names no device; None at the "
                                                   "paper's own setting.")


class ServingRow(Strict):
    """A serving method (effect kind serving) against its baseline server, at one request shape: ideal bounds."""

    scenario: str = Field(description="'paper' (a claim's own setting) or a kb/scenarios.yaml id.")
    label: str = Field(description="The setting in words.")
    model: str = Field(description="Catalogue model id.")
    hardware: str = Field(description="Catalogue hardware id.")
    tp: int = Field(gt=0, description="Tensor-parallel devices per instance.")
    seq_len: int = Field(gt=0, description="Prompt tokens of the request shape.")
    gen_len: int = Field(gt=0, description="Output tokens of the request shape.")
    metric: str = Field(description="throughput_at_capacity (tokens/s per device at the largest batch that fits), "
                                    "goodput (tokens/s per device within the latency limits) or offload_throughput "
                                    "(tokens/s per device with weights streamed from host memory or flash).")
    baseline: float = Field(ge=0, description="The baseline server's figure.")
    method: float = Field(ge=0, description="The method's figure.")
    gain: float | None = Field(description="method / baseline; null when the baseline is 0.")


class MethodRecord(Method):
    """An entry as published in data/methods.json, with its computed analysis."""

    source_file: str = Field(description="The entry's YAML file in the repository.")
    url: str = Field(description="The method page, relative to the site root.")
    scenarios: list[ScenarioRow] = Field(description="Standard scenarios, empty when not modelled.")
    primary_scenario: str | None = Field(description="The scenario that shows the method's regime (category "
                                                     "tables quote it).")
    analysis_note: str | None = Field(description="Why there is no analysis, when there is none.")
    serving: list[ServingRow] = Field(default_factory=list, description="A serving method against its baseline "
                                                                         "server; empty for other methods.")
    claim_checks: list[ClaimCheck] = Field(description="Each claim with its verdict, in claim order.")
    calculator_version: str = Field(description="Version of the calculator that computed the numbers.")


class MethodsData(Strict):
    """data/methods.json."""

    methods: list[MethodRecord] = Field(description="Every entry, by id.")


SCHEMAS = {"method": Method, "hardware": Hardware, "model": ModelArch, "methods-data": MethodsData}
