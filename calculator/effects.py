"""What a method does to the roofline: each effect kind as a change to the model, the settings or the rows.

`apply_effect(model, hardware, settings, effect)` returns an `Outcome`: the prefill stage, the decode
stage (one step at a context of `seq_len`), the time per generated token and the memory footprint, with
the method applied. `baseline(...)` is the same without it. `effect` is a plain dict as written in a
knowledge-base entry (`{"kind": "quantization", "weights": {"bits": 4}, ...}`). Formulas (docs/roofline.md,
"Method effects"):

- quantization / data_format: the bits go into `Settings`; the peak follows the compute format.
- sparsity: linear weight bytes x kept (n/m for N:M, else 1 - s) plus index metadata (N:M: 2 bits per kept
  weight; unstructured: a 1-bit mask per original weight); ops x kept for N:M and structured (hardware skips
  zeros), unchanged for unstructured (dense tensor cores). Memory: the linear weights shrink the same way.
- low_rank / distillation (params_kept): ops and bytes of the linear rows x params_kept; memory: the linear
  weights x params_kept (embeddings, norms and lm_head unchanged).
- early_exit: decoder-block rows of the decode step run average_depth x L times; prefill keeps every layer.
- contextual_sparsity: decode MLP rows x mlp_active; projection and attention rows x heads_active.
- architecture: the entry is a model (Mixtral, GQA, ...): it is analysed as that catalogue model against the
  comparable model its effect names (kb.analysis does that); applied to any other model it is refused.
- speculative (every draft-based method, one rule): a step runs g sequential draft passes, then one target
  pass over the V tokens drafted (V = g + 1 for a chain, the tree's size for a tree), and yields tau tokens
  (the paper's acceptance length, or (1 - a^(g+1)) / (1 - a) for a chain with per-token acceptance a,
  Leviathan et al.); time per token = (g * draft pass + verify(V)) / tau. A draft pass is the draft model's
  decode step (its own weights and KV), or n decoder layers of the target's shape plus its lm_head, or a
  stated fraction of the target's decode step.
- parallel_decoding (no separate draft): one target pass over V tokens (default ceil(tau)), divided by tau.
- kv_compression: decode attends to round(kv_kept x seq_len) tokens; the KV cache shrinks likewise.
- operator_fusion: flash attention (its baseline, `baseline_settings`, is the unfused form); fused
  element-wise rows move no DRAM bytes.
- offloading: `offloaded` x weight bytes cross the host link each decode step (added to the step time); they
  live in host memory, so the device holds (1 - offloaded) x the weights.
- token_reduction: prefill over round(prompt_kept x seq_len) tokens; decode at round(prompt_kept x context)
  (the whole context is scaled, a slight flattery when many tokens were generated); the time per token of the
  baseline's answer x output_kept (fewer tokens generated). Memory: the shorter context's KV cache.
- sparse_attention: the attention rows (scores, softmax, weighted sum, or the fused attention row) of prefill
  x prefill_density and of decode x decode_kv_read (or min(1, decode_kv_budget / context)), ops and bytes
  alike; window layers unchanged; memory unchanged (the whole cache stays).
- prefix_reuse: prefill computes the round((1 - prompt_reused) x seq_len) new tokens against the whole prompt;
  with cache_tier host the reused share of the KV cache's bytes crosses the host link (per direction, half the
  link's bandwidth), added to prefill, or the longer of the two with overlap. Decode unchanged.
- shared_prefix: decode's attention-row bytes x ((1 - shared) + shared / batch), the prefix's KV read once for
  the batch; the KV cache shrinks by the same factor; decode ops unchanged. Prefill: the prefix of
  P = round(shared x seq_len) tokens once (batch 1), then each sequence's own seq_len - P tokens against the whole
  context; each row is the sum of its two passes.
- host_resident (not a kind: applied to a run, the baseline's or a method's): a share of the weights and KV
  cache in host memory, read over the host link by every target forward pass (`host_resident`).
- serving (PagedAttention, SARATHI-Serve, DistServe, ...): not a change to one run; refused here with the
  --stage serve options that carry it (`refuse_serving`); kb.analysis compares it with calculator.serving.compare.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from calculator.core import _plan, _stage, analyze, expected_experts
from calculator.recipe import recipe
from calculator.result import Layer, Memory, Stage
from calculator.spec import CalculatorError, Hardware, Model, Settings

__all__ = ["EFFECT_KINDS", "HOST_RESIDENT_KINDS", "Outcome", "apply_effect", "baseline", "expected_tokens_per_step",
           "host_resident", "refuse_architecture",
           "refuse_serving", "serving_options",
           "baseline_settings", "tokens_per_step"]

EFFECT_KINDS = ("quantization", "sparsity", "low_rank", "distillation", "early_exit", "contextual_sparsity",
                "architecture", "speculative", "parallel_decoding", "kv_compression", "operator_fusion", "offloading",
                "data_format", "serving", "token_reduction", "sparse_attention", "prefix_reuse", "shared_prefix",
                "none")
LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "router")
MLP = ("gate_proj", "up_proj", "down_proj", "mlp_act")
HEADS = ("q_proj", "k_proj", "v_proj", "o_proj", "qk_matmul", "softmax", "sv_matmul", "attention")
ATTENTION = ("qk_matmul", "softmax", "sv_matmul", "attention")
ELEMENTWISE = ("attn_norm", "mlp_norm", "attn_add", "mlp_add", "mlp_act", "softmax")


@dataclass(frozen=True)
class Outcome:
    """A run with (or without) a method: stages, time per generated token and memory."""

    prefill: Stage
    decode: Stage
    decode_token_s: float  # time per generated token of one sequence-step (decode.time_s unless changed)
    memory: Memory
    notes: tuple[str, ...] = ()

    @property
    def memory_bytes(self) -> float:
        return self.memory.total_bytes


def expected_tokens_per_step(acceptance: float, draft_length: int) -> float:
    """Tokens a speculative step yields on average: (1 - a^(g+1)) / (1 - a); g + 1 when a = 1.

    Example: a = 0.8, g = 4 -> (1 - 0.8^5) / 0.2 = 3.3616.
    """
    if acceptance >= 1:
        return draft_length + 1.0
    return (1 - acceptance ** (draft_length + 1)) / (1 - acceptance)


def _restage(stage: Stage, rows: list, bw: float) -> Stage:
    """Totals of new rows; all-reduce bytes cross the interconnect, so they leave the DRAM total."""
    ops = byts = time_s = link = 0.0
    for row in rows:
        ops += row[1] * row[2]
        byts += row[1] * row[3]
        time_s += row[1] * row[4]
        if row[5] == "interconnect":
            link += row[1] * row[3]
    return Stage(stage.name, rows, ops, byts - link, time_s, link)


def _row(row: Layer, *, count: float | None = None, ops: float | None = None, byts: float | None = None,
         bw: float) -> Layer:
    """`row` with new count, ops or bytes; time and bound recomputed: max(ops / peak, bytes / bw)."""
    name, c, o, b, _t, bound, fmt, peak = row
    c = c if count is None else count
    o = o if ops is None else ops
    b = b if byts is None else byts
    if bound == "interconnect":
        return tuple.__new__(Layer, (name, c, o, b, row[4], bound, fmt, peak))
    ct, mt = o / peak, b / bw
    if ct > mt:
        return tuple.__new__(Layer, (name, c, o, b, ct, "compute", fmt, peak))
    return tuple.__new__(Layer, (name, c, o, b, mt, "memory", fmt, peak))


def _scale_rows(stage: Stage, names: tuple[str, ...], factor: float, bw: float) -> Stage:
    rows = [_row(r, ops=r[2] * factor, byts=r[3] * factor, bw=bw) if r[0] in names else r for r in stage.layers]
    return _restage(stage, rows, bw)


def refuse_other_layers(model: Model, kind: str) -> None:
    """Effects that rewrite named weight rows (sparsity, low rank, distillation by params_kept, contextual
    sparsity) know one uniform stack of layers with standard attention and a dense or Mixtral-style MLP.
    Latent or linear attention, shared experts and dense-prefix layers name other rows, so such a model is refused rather than changed in part (contextual sparsity also needs
    full attention: its head rows are the full-attention ones)."""
    groups = recipe(model)
    g = groups[0]
    attention = ("full",) if kind == "contextual_sparsity" else ("full", "window")
    if len(groups) > 1 or g.attention.kind not in attention or g.mlp.shared:
        raise CalculatorError(
            f"{kind} is modelled for models whose layers are all alike, with standard attention and a dense or "
            f"Mixtral-style MLP; {model.id} is not one (latent, linear or mixed attention, shared experts or "
            "dense-prefix layers)")


def refuse_recurrent_state(model: Model, kind: str) -> None:
    """Effects that scale the KV cache (eviction, a shared prefix) know attention caches; a layer with a recurrent
    state (Mamba, linear attention) keeps a fixed-size state the calculator counts in the same memory term."""
    if any(g.attention.kind in ("mamba", "linear") for g in recipe(model)):
        raise CalculatorError(f"{kind} is modelled for attention KV caches; {model.id} keeps a recurrent state in "
                              "some layers (Mamba or linear attention), which does not shrink that way")


def _weight_elements(model: Model, settings: Settings) -> dict[str, float]:
    """Weight elements of each linear layer on one device (tensor parallel share)."""
    n = settings.tp
    h, d = model.hidden_size, model.head_dim
    qo = model.num_attention_heads // n * d
    ko = -(-model.num_key_value_heads // n) * d
    i = recipe(model)[0].mlp.width // n  # per expert for a MoE (refuse_other_layers: one group)
    return {"q_proj": h * qo, "k_proj": h * ko, "v_proj": h * ko, "o_proj": qo * h,
            "gate_proj": h * i, "up_proj": h * i, "down_proj": i * h}


def _bytes_per_weight(settings: Settings) -> float:
    return settings.w_bits / 8 + (4 / settings.group_size if settings.group_size else 0.0)


def _kept(effect: dict) -> float:
    """Fraction of weights kept: n/m for an N:M pattern, else 1 - sparsity."""
    return effect["n"] / effect["m"] if effect["pattern"] == "n:m" else 1 - effect["sparsity"]


def _meta_bits(effect: dict) -> float:
    """Index bits per kept weight: 2 for N:M, a 1-bit mask per original weight for unstructured."""
    kept = _kept(effect)
    return 2 if effect["pattern"] == "n:m" else (1 / kept if effect["pattern"] == "unstructured" and kept else 0)


def _linear_weight_bytes(model: Model, settings: Settings) -> float:
    """Resident bytes of every linear layer's weights on one device (all experts of a MoE)."""
    elements = _weight_elements(model, settings)
    experts = max(1, model.num_local_experts)
    per_layer = sum(v * (experts if k in MLP else 1) for k, v in elements.items())
    return model.num_hidden_layers * per_layer * _bytes_per_weight(settings)


def _with_linear_weights(memory: Memory, model: Model, settings: Settings, factor: float) -> Memory:
    """Memory with the linear weights scaled by `factor` (embeddings, norms and lm_head unchanged)."""
    lin = _linear_weight_bytes(model, settings)
    return Memory(memory.weights_bytes - lin + lin * factor, memory.kv_cache_bytes, memory.activations_bytes,
                  memory.capacity_bytes)


def _sparsify(stage: Stage, model: Model, settings: Settings, effect: dict, bw: float) -> Stage:
    kept = _kept(effect)
    pattern = effect["pattern"]
    meta_bits = _meta_bits(effect)
    per_weight = _bytes_per_weight(settings)
    elements = _weight_elements(model, settings)
    rows = []
    for r in stage.layers:
        if r[0] in elements:
            count_w = elements[r[0]]
            if model.num_local_experts and r[0] in MLP:  # only the experts this step touches are read
                tokens = settings.batch * (settings.seq_len if stage.name == "prefill" else 1)
                count_w *= expected_experts(model.num_local_experts, model.num_experts_per_tok, tokens)
            w = count_w * per_weight
            new_w = count_w * kept * (per_weight + meta_bits / 8)
            ops = r[2] if pattern == "unstructured" else r[2] * kept
            r = _row(r, ops=ops, byts=max(r[3] - w, 0.0) + new_w, bw=bw)
        rows.append(r)
    return _restage(stage, rows, bw)


def tokens_per_step(effect: dict) -> float:
    """tau: the acceptance length the paper gives, or the chain formula from a per-token acceptance rate."""
    if effect.get("tokens_per_step") is not None:
        return float(effect["tokens_per_step"])
    return expected_tokens_per_step(float(effect["acceptance_rate"]), int(effect["draft_length"]))


def _draft_pass_s(model: Model, hardware: Hardware, settings: Settings, decode: Stage, effect: dict,
                  draft: Model | None) -> float:
    """Seconds of one draft forward pass (see the module docstring)."""
    if effect.get("draft_model"):
        if draft is None:
            raise CalculatorError(f"draft model {effect['draft_model']} is not in the catalogue")
        return analyze(draft, hardware, replace(settings, stage="decode")).decode.time_s
    if effect.get("draft_layers") is not None:
        layers = int(effect["draft_layers"])
        if layers > model.num_hidden_layers:
            raise CalculatorError(f"draft_layers {layers} exceeds the {model.num_hidden_layers} layers of {model.id}")
        head = decode.layer("lm_head")[4]
        return (decode.time_s - head) * layers / model.num_hidden_layers + head
    if effect.get("draft_cost") is not None:
        return float(effect["draft_cost"]) * decode.time_s
    raise CalculatorError("speculative decoding needs a draft_model, draft_layers or draft_cost")


def refuse_architecture(model: Model, effect: dict) -> None:
    """An architecture entry describes its own model: applying it to another one would compare two models."""
    own = effect.get("model")
    if model.id != own:
        raise CalculatorError(f"this entry is an architecture (model {own}), not a method that applies to "
                              f"{model.id}: analyse --model {own}; its page compares it with {effect.get('baseline')}")


def refuse_serving(effect: dict) -> None:
    """A serving effect (PagedAttention, SARATHI-Serve, DistServe, ...) changes what a loaded server holds or
    schedules, not one forward pass: it is analysed by calculator.serving.compare (--stage serve), never applied
    to a single run. The message names the --stage serve options that carry its parameters."""
    opts = serving_options(effect)
    raise CalculatorError("effect kind serving changes what a loaded server holds or schedules, not one forward "
                          "pass: analyse it with --stage serve" + (" " + opts if opts else ""))


def serving_options(effect: dict) -> str:
    """The --stage serve options that carry a serving effect's parameters, e.g. '--allocator paged --block-size 16'."""
    opts = []
    for key, flag in (("allocator", "--allocator"), ("block_size", "--block-size"), ("max_seq_len", "--max-seq-len"),
                      ("token_budget", "--token-budget"), ("ttft_limit_s", "--ttft"), ("tpot_limit_s", "--tpot")):
        value = effect.get(key)
        if value is not None:
            opts.append(f"{flag} {value}" if isinstance(value, str) else f"{flag} {value:.4g}")
    return " ".join(opts)


def _step_with_tokens(model: Model, hardware: Hardware, settings: Settings, tokens: int) -> Stage:
    """One target forward pass over `tokens` new tokens per sequence against a context of seq_len."""
    plan = _plan(model, hardware, settings)
    return _stage(plan, "verify", tokens, settings.seq_len + tokens - 1)


def baseline_settings(settings: Settings, effect: dict) -> Settings:
    """What a method is compared against: the plain run, except that fused attention is itself the method of
    an operator-fusion entry, whose baseline therefore runs the unfused attention rows."""
    if effect.get("kind") == "operator_fusion" and effect.get("flash_attention"):
        return replace(settings, flash_attention=False)
    return settings


def baseline(model: Model, hardware: Hardware, settings: Settings) -> Outcome:
    result = analyze(model, hardware, replace(settings, stage="all"))
    return Outcome(result.prefill, result.decode, result.decode.time_s, result.memory, result.notes)


def apply_effect(model: Model, hardware: Hardware, settings: Settings, effect: dict, *,
                 draft: Model | None = None, student: Model | None = None,
                 host_bandwidth: float | None = None) -> Outcome:
    """The run with a method's effect applied (see the module docstring for each kind's formula).
    `host_bandwidth` (offloading) defaults to the device's `host_link_bandwidth`."""
    kind = effect.get("kind")
    if host_bandwidth is None:
        host_bandwidth = hardware.host_link_bandwidth or None
    settings = replace(settings, stage="all")
    bw = float(hardware.memory_bandwidth)
    if kind == "none":
        raise CalculatorError(f"effect kind none cannot be modelled: {effect.get('reason', '')}")
    if kind == "serving":
        refuse_serving(effect)
    if kind == "quantization":
        fmt = {}
        for key, prefix in (("weights", "w"), ("activations", "a"), ("kv_cache", "kv")):
            part = effect.get(key) or {}
            fmt[f"{prefix}_bits"] = part.get("bits", 16)
        group = (effect.get("weights") or {}).get("group_size")
        kv_group = (effect.get("kv_cache") or {}).get("group_size")
        return baseline(model, hardware, replace(settings, **fmt, group_size=group, kv_group_size=kv_group))
    if kind == "data_format":
        name = str(effect.get("format", "")).lower()
        number_format = "int" if name.startswith("int") else "fp"
        w = effect.get("weights_bits") or 16
        a = effect.get("activations_bits") or 16
        return baseline(model, hardware, replace(settings, w_bits=w, a_bits=a, number_format=number_format))
    if kind == "operator_fusion":
        out = baseline(model, hardware, replace(settings, flash_attention=True) if effect.get("flash_attention")
                       else settings)
        if effect.get("fused_elementwise"):
            pre = _restage(out.prefill, [_row(r, byts=0.0, bw=bw) if r[0] in ELEMENTWISE else r
                                         for r in out.prefill.layers], bw)
            dec = _restage(out.decode, [_row(r, byts=0.0, bw=bw) if r[0] in ELEMENTWISE else r
                                        for r in out.decode.layers], bw)
            out = Outcome(pre, dec, dec.time_s, out.memory, out.notes)
        return out
    if kind == "distillation" and student is not None:
        return baseline(student, hardware, settings)
    if kind == "architecture":
        refuse_architecture(model, effect)
        changes = effect.get("model_changes") or {}
        return baseline(replace(model, **changes) if changes else model, hardware, settings)
    if kind in ("kv_compression", "shared_prefix"):
        refuse_recurrent_state(model, kind)
    if kind == "kv_compression":
        base = baseline(model, hardware, settings)
        kept = max(1, round(effect["kv_kept"] * settings.seq_len))
        short = analyze(model, hardware, replace(settings, seq_len=kept, stage="decode"))
        memory = Memory(base.memory.weights_bytes, base.memory.kv_cache_bytes * kept / settings.seq_len,
                        base.memory.activations_bytes, base.memory.capacity_bytes)
        return Outcome(base.prefill, short.decode, short.decode.time_s, memory, base.notes)

    if kind == "token_reduction":
        return _token_reduction(model, hardware, settings, effect)
    if kind == "prefix_reuse":
        return _prefix_reuse(model, hardware, settings, effect, host_bandwidth)

    base = baseline(model, hardware, settings)
    prefill, decode, memory = base.prefill, base.decode, base.memory
    notes = list(base.notes)
    if kind in ("sparsity", "low_rank", "distillation", "contextual_sparsity"):
        refuse_other_layers(model, kind)
    if kind == "sparsity":
        factor = _kept(effect) * (1 + _meta_bits(effect) / 8 / _bytes_per_weight(settings))
        prefill = _sparsify(prefill, model, settings, effect, bw)
        decode = _sparsify(decode, model, settings, effect, bw)
        memory = _with_linear_weights(memory, model, settings, factor)
    elif kind in ("low_rank", "distillation"):
        kept = effect.get("params_kept")
        if kept is None:
            raise CalculatorError("distillation needs a student model or params_kept")
        prefill = _scale_rows(prefill, LINEAR, kept, bw)
        decode = _scale_rows(decode, LINEAR, kept, bw)
        memory = _with_linear_weights(memory, model, settings, kept)
    elif kind == "early_exit":
        depth = effect["average_depth"]
        rows = [_row(r, count=r[1] * depth, bw=bw) if r[0] != "lm_head" else r for r in decode.layers]
        decode = _restage(decode, rows, bw)
    elif kind == "contextual_sparsity":
        mlp, heads = effect.get("mlp_active"), effect.get("heads_active")
        if mlp is not None:
            decode = _scale_rows(decode, MLP, mlp, bw)
        if heads is not None:
            decode = _scale_rows(decode, HEADS, heads, bw)
    elif kind == "sparse_attention":
        if effect.get("prefill_density") is not None:
            prefill = _scale_rows(prefill, ATTENTION, float(effect["prefill_density"]), bw)
        read = effect.get("decode_kv_read")
        if effect.get("decode_kv_budget") is not None:
            read = min(1.0, int(effect["decode_kv_budget"]) / settings.seq_len)
        if read is not None:
            decode = _scale_rows(decode, ATTENTION, float(read), bw)
    elif kind == "shared_prefix":
        factor = (1 - effect["shared"]) + effect["shared"] / settings.batch
        decode = _restage(decode, [_row(r, byts=r[3] * factor, bw=bw) if r[0] in ATTENTION else r
                                   for r in decode.layers], bw)
        memory = Memory(memory.weights_bytes, memory.kv_cache_bytes * factor, memory.activations_bytes,
                        memory.capacity_bytes)
        if settings.batch == 1:
            notes.append("shared_prefix changes nothing at batch 1: the prefix is shared by the sequences of a batch")
        else:
            prefill = _shared_prefill(model, hardware, settings, effect["shared"], bw)
    elif kind == "offloading":
        if not host_bandwidth:
            raise CalculatorError(f"hardware {hardware.id} has no host link bandwidth for offloading")
        extra = effect["offloaded"] * memory.weights_bytes / (host_bandwidth / 2)
        notes.append(f"offloading adds {extra:.4g} s per decode step over the host link")
        memory = Memory(memory.weights_bytes * (1 - effect["offloaded"]), memory.kv_cache_bytes,
                        memory.activations_bytes, memory.capacity_bytes)
        return Outcome(prefill, decode, decode.time_s + extra, memory, tuple(notes))
    elif kind == "speculative":
        g = int(effect["draft_length"])
        verify = _step_with_tokens(model, hardware, settings, int(effect.get("verify_tokens") or g + 1))
        draft_s = _draft_pass_s(model, hardware, settings, decode, effect, draft)
        per_token = (g * draft_s + verify.time_s) / tokens_per_step(effect)
        return Outcome(prefill, verify, per_token, memory, tuple(notes))
    elif kind == "parallel_decoding":
        tau = float(effect["tokens_per_step"])
        step = _step_with_tokens(model, hardware, settings, int(effect.get("verify_tokens") or math.ceil(tau)))
        return Outcome(prefill, step, step.time_s / tau, memory, tuple(notes))
    else:
        raise CalculatorError(f"unknown effect kind {kind!r}; expected one of {', '.join(EFFECT_KINDS)}")
    return Outcome(prefill, decode, decode.time_s, memory, tuple(notes))


# Effect kinds whose run keeps one target forward pass per decode step (or per speculative step), so that a
# share of the weights or the KV cache held in host memory crosses the host link once per such pass.
HOST_RESIDENT_KINDS = ("quantization", "data_format", "sparsity", "low_rank", "distillation", "kv_compression",
                       "speculative", "parallel_decoding")


def host_resident(outcome: Outcome, effect: dict | None, host_bandwidth: float | None, *, weights: float = 0.0,
                  kv_cache: float = 0.0) -> Outcome:
    """A run (baseline: effect None) with a share of its weights and KV cache kept in host memory and read over
    the host link by every target forward pass, as offloading engines (ZeRO-Inference, FlexGen) run a model that
    does not fit. With H = host_bandwidth / 2 (one direction of the datasheet's two-way figure) a pass takes
    T = (weights x W + kv_cache x KV) / H seconds more, W and KV the run's own bytes at its context:
    decode time per token + T / tau (tau tokens per speculative step, 1 otherwise; a draft stays on the
    device); the prefill + (weights x W + kv_cache x KV_prompt) / H (the weights streamed once, the prompt's
    cache written out). The device then holds (1 - weights) x W and (1 - kv_cache) x KV. Transfers are added,
    not overlapped with compute: a bound for an engine that overlaps them would be lower, never higher."""
    kind = (effect or {}).get("kind")
    if kind is not None and kind not in HOST_RESIDENT_KINDS:
        raise CalculatorError(f"weights or KV cache in host memory are not modelled with effect kind {kind}")
    if not host_bandwidth:
        raise CalculatorError("the device has no host link bandwidth: nothing can be read from host memory")
    if not (0 <= weights <= 1 and 0 <= kv_cache <= 1):
        raise CalculatorError("host-resident shares are fractions between 0 and 1")
    m, rate = outcome.memory, host_bandwidth / 2
    moved = weights * m.weights_bytes + kv_cache * m.kv_cache_bytes
    tau = tokens_per_step(effect) if kind in ("speculative", "parallel_decoding") else 1.0
    p = outcome.prefill
    prefill = Stage(p.name, p.layers, p.ops, p.bytes, p.time_s + moved / rate, p.interconnect_bytes)
    memory = Memory(m.weights_bytes * (1 - weights), m.kv_cache_bytes * (1 - kv_cache), m.activations_bytes,
                    m.capacity_bytes)
    note = (f"{moved / rate:.4g} s per target pass over the host link ({weights:g} of the weights, "
            f"{kv_cache:g} of the KV)")
    return Outcome(prefill, outcome.decode, outcome.decode_token_s + moved / rate / tau, memory,
                   (*outcome.notes, note))


def _token_reduction(model: Model, hardware: Hardware, settings: Settings, effect: dict) -> Outcome:
    """Fewer tokens: the prompt cut to prompt_kept (prefill and the decode context), the answer to output_kept."""
    prompt = effect.get("prompt_kept")
    out = baseline(model, hardware, settings if prompt is None else
                   replace(settings, seq_len=max(1, round(float(prompt) * settings.seq_len))))
    kept = effect.get("output_kept")
    per_token = out.decode.time_s * (1.0 if kept is None else float(kept))
    return Outcome(out.prefill, out.decode, per_token, out.memory, out.notes)


def _prefix_reuse(model: Model, hardware: Hardware, settings: Settings, effect: dict,
                  host_bandwidth: float | None) -> Outcome:
    """Prefill of the new tokens only, against the whole prompt; the reused KV over the host link if it waits there."""
    base = baseline(model, hardware, settings)
    bw = float(hardware.memory_bandwidth)
    seq = settings.seq_len
    new = max(1, round((1 - float(effect["prompt_reused"])) * seq))
    prefill = _stage(_plan(model, hardware, settings), "prefill", new, seq)
    notes = list(base.notes)
    if effect.get("cache_tier", "device") == "host":
        if not host_bandwidth:
            raise CalculatorError(f"hardware {hardware.id} has no host link bandwidth for a cache in host memory")
        moved = base.memory.kv_cache_bytes * (seq - new) / seq
        load = moved / (host_bandwidth / 2)
        # A row of its own keeps the stage total an exact sum; overlapped, only what outlasts prefill shows.
        exposed = max(0.0, load - prefill.time_s) if effect.get("overlap") else load
        row = tuple.__new__(Layer, ("kv_from_host", 1, 0.0, moved, exposed, "interconnect", "link", 0.0))
        prefill = _restage(prefill, [*prefill.layers, row], bw)
        notes.append(f"loading the reused KV over the host link takes {load:.4g} s"
                     + (", overlapped with prefill" if effect.get("overlap") else ", added to prefill"))
    return Outcome(prefill, base.decode, base.decode.time_s, base.memory, tuple(notes))


def _shared_prefill(model: Model, hardware: Hardware, settings: Settings, shared: float, bw: float) -> Stage:
    """Prefill with a prefix common to the batch: the prefix once (batch 1), then every sequence's own tokens
    against the whole context; a row of each pass adds up (two kernels, each at its own bound)."""
    seq = settings.seq_len
    prefix = min(max(1, round(shared * seq)), seq - 1) if seq > 1 else 0
    if not prefix:
        return analyze(model, hardware, replace(settings, stage="prefill")).prefill
    once = _stage(_plan(model, hardware, replace(settings, batch=1)), "prefill", prefix, prefix)
    own = _stage(_plan(model, hardware, settings), "prefill", seq - prefix, seq)
    rows = []
    for a, b in zip(once.layers, own.layers):
        if a[0] != b[0] or a[1] != b[1]:
            raise CalculatorError(f"shared_prefix: the two prefill passes of {model.id} have different rows")
        bound = a[5] if a[4] > b[4] else b[5]
        rows.append(tuple.__new__(Layer, (a[0], a[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], bound, a[6], a[7])))
    return _restage(own, rows, bw)
