"""The roofline model of a decoder-only transformer: every formula the calculator uses.

Conventions (fixed by Table 1 of the survey, arXiv 2402.16363, and explained with worked examples in
docs/roofline.md):

- OPs count 2 per multiply-accumulate; element-wise work counts 5 ops per softmax element, 7 per
  norm element, 1 per residual-add element, 6 per gated-SiLU element, 1 per ReLU element.
- bytes are DRAM traffic: weights read once per layer call, activations read once and written once,
  K/V read from (and written to) the KV cache at `kv_bits`.
- time = max(ops / peak, bytes / bandwidth); a layer is compute-bound when ops / peak is larger,
  i.e. when its arithmetic intensity ops / bytes is above the ridge point peak / bandwidth.

Symbols used in the docstrings below: b batch, q new tokens per sequence (s in prefill, 1 in decode),
n context length attended, T = b*q tokens, h hidden size, I intermediate size, H attention heads,
K key/value heads, d head dimension, V vocabulary, L layers, E experts, k experts per token,
N tensor-parallel degree; per-device values carry a `_d` (H_d = H/N, K_d = ceil(K/N), I_d = I/N,
V_d = V/N); w, a, kv, hi are bytes per element (see `_plan`).
"""

from __future__ import annotations

from functools import lru_cache
from math import floor

from calculator.formats import PRESETS
from calculator.recipe import mamba_weights
from calculator.result import Generate, Layer, Memory, Result, Stage
from calculator.spec import CalculatorError, Hardware, Model, Settings

__all__ = ["analyze", "compute_format", "expected_experts", "flash_pairs", "window_pairs"]

_new = tuple.__new__
_DEFAULT_SETTINGS = Settings()

_NORM_OPS = 7  # ops per element of RMSNorm / LayerNorm (Table 1: 59M ops for 2048 x 4096)
_SOFTMAX_OPS = 5  # ops per score (Table 1: 671M ops for 32 x 2048 x 2048): max, sub, exp, sum, div
_ADD_OPS = 1  # ops per element of a residual add (Table 1: 8M ops for 2048 x 4096)
_SILU_GATE_OPS = 6  # silu(g) * u: negate, exp, add, divide (sigmoid), multiply by g, multiply by u
_RELU_OPS = 1
_SIGMOID_GATE_OPS = 5  # o * sigmoid(g): negate, exp, add, divide, multiply
_SCALE_ZERO_BYTES = 4  # one fp16 scale + one fp16 zero point per quantization group


def compute_format(bits: int, number_format: str, hardware: Hardware) -> tuple[str, float, bool]:
    """The compute format, its peak (ops/s), and whether it is a fallback, for `bits`-wide operands.

    `bits` is the wider of the two operands (e.g. max(w_bits, a_bits) for a linear layer):

    - above 16 bits: fp32 (else tf32, fp16, bf16);
    - 9 to 16 bits: fp16 (else bf16, fp32), so W4A16 computes at the FP16 peak;
    - up to 8 bits, integer: int4 when bits <= 4 and the device has it, else int8, else fp16;
    - up to 8 bits, floating point: fp4 (bits <= 4), fp6 (bits <= 6), fp8, else fp16: a device
      without FP8 units upcasts FP8 data to FP16 rather than to INT8.

    Example: W4A4 on a device with int4 -> int4; on one without -> int8 (fallback = True).
    """
    if bits > 16:
        chain = ("fp32", "tf32", "fp16", "bf16")
    elif bits > 8:
        chain = ("fp16", "bf16", "fp32")
    elif number_format == "fp":
        if bits <= 4:
            chain = ("fp4", "fp6", "fp8", "fp16", "bf16", "fp32")
        elif bits <= 6:
            chain = ("fp6", "fp8", "fp16", "bf16", "fp32")
        else:
            chain = ("fp8", "fp16", "bf16", "fp32")
    elif bits <= 4:
        chain = ("int4", "int8", "fp16", "bf16", "fp32")
    else:
        chain = ("int8", "fp16", "bf16", "fp32")
    peaks = hardware.peaks
    for i, fmt in enumerate(chain):
        peak = peaks.get(fmt)
        if peak:
            return fmt, peak, i > 0
    # A device with none of the formats of the chain: use its fastest listed format.
    fmt, peak = max(hardware.peak_ops, key=lambda kv: kv[1])
    return fmt, peak, True


def expected_experts(num_experts: int, top_k: int, tokens: float) -> float:
    """Expected number of distinct experts that `tokens` tokens touch when each picks `top_k`.

    With uniform routing an expert is missed by one token with probability 1 - k/E, so
    ``E * (1 - (1 - k/E) ** tokens)``. Example: E=8, k=2, 1 token -> 2.0; 4 tokens -> 5.47;
    2048 tokens -> 8.0 (every expert's weights are read).
    """
    return num_experts * (1.0 - (1.0 - top_k / num_experts) ** tokens)


def flash_pairs(q: int, n: int) -> float:
    """Query-key pairs a causal fused attention computes: q new tokens after n - q earlier ones.

    Each new token i (1..q) sees the n - q earlier tokens and the first i new ones:
    ``q * (n - q) + q * (q + 1) / 2``. Prefill (q = n = s): s(s+1)/2, the lower triangle with its
    diagonal. Decode (q = 1): n.
    """
    return q * (n - q) + q * (q + 1) / 2


class _Plan:
    """Everything an analysis derives once from (model, hardware, settings)."""

    __slots__ = (
        "model", "hardware", "settings", "b", "h", "i", "d", "hq", "hk", "v", "L", "E", "k",
        "w", "a", "kv", "hi", "hb", "bw", "link", "tp", "fmts", "peaks", "notes", "flash",
        "groups", "ie", "ish", "mixed_mlp", "f_lin", "p_lin", "f_el", "p_el", "att_kinds", "mlp_kinds", "uniform",
        "ep", "hybrid", "first_att", "f_att", "p_att", "consts", "dense",
    )


def _plan(model: Model, hardware: Hardware, s: Settings) -> _Plan:
    p = _Plan()
    p.model, p.hardware, p.settings = model, hardware, s
    n = s.tp
    heads, kv_heads = model.num_attention_heads, model.num_key_value_heads
    notes = []
    if n > 1:
        if heads % n:
            raise CalculatorError(f"tp {n} does not divide num_attention_heads ({heads})")
        if model.intermediate_size % n:
            raise CalculatorError(f"tp {n} does not divide intermediate_size ({model.intermediate_size})")
        for name in ("moe_intermediate_size", "shared_expert_intermediate_size"):
            width = getattr(model, name)
            if width % n:
                raise CalculatorError(f"tp {n} does not divide {name} ({width})")
        for name in ("linear_num_key_heads", "linear_num_value_heads", "mamba_inner_size", "mamba_n_heads"):
            heads_ = getattr(model, name)
            if heads_ % n:
                raise CalculatorError(f"tp {n} does not divide {name} ({heads_})")
        if kv_heads % n and n % kv_heads and not model.kv_lora_rank:
            raise CalculatorError(
                f"tp {n} and num_key_value_heads ({kv_heads}) must divide one another"
            )
        if not hardware.interconnect_bandwidth:
            raise CalculatorError(
                f"hardware {hardware.id} has no interconnect bandwidth; tensor parallelism needs one"
            )
        if 0 < kv_heads < n and not model.kv_lora_rank:
            notes.append(f"{kv_heads} KV heads on {n} devices: each device keeps a copy of one KV head")
        if model.kv_lora_rank:
            notes.append(f"latent attention on {n} devices: each device keeps the whole latent KV cache")
    ep = p.ep = s.ep
    if ep > 1:
        if not model.num_local_experts:
            raise CalculatorError(f"ep {ep} needs a MoE model; {model.id} has no experts")
        if model.num_local_experts % ep:
            raise CalculatorError(f"ep {ep} does not divide num_local_experts ({model.num_local_experts})")
        if not hardware.interconnect_bandwidth:
            raise CalculatorError(
                f"hardware {hardware.id} has no interconnect bandwidth; expert parallelism needs one"
            )
        notes.append(f"expert parallelism on {ep} devices: each runs attention on {s.batch // ep} of the "
                     f"{s.batch} sequences and holds {model.num_local_experts // ep} experts; tokens reach "
                     f"them by all-to-all")
    p.b = s.batch // ep
    p.h = model.hidden_size
    p.i = model.intermediate_size // n
    p.d = model.head_dim
    p.hq = heads // n
    p.hk = -(-kv_heads // n)
    p.v = model.vocab_size / n
    p.L = model.num_hidden_layers
    p.E = model.num_local_experts
    p.k = model.num_experts_per_tok
    p.tp = n
    p.groups = groups = model.recipe
    p.ie = p.ish = 0
    if p.E:
        for g in groups:
            mlp = g.mlp
            if mlp.kind == "moe":
                p.ie = mlp.width // n  # expert width per device (experts split Megatron-style)
                p.ish = mlp.shared * mlp.shared_width // n  # all shared experts as one gated MLP
    p.att_kinds, p.mlp_kinds, p.uniform, p.mixed_mlp, p.hybrid, p.first_att = model.kinds
    if ep > 1:
        p.uniform = False  # the all-to-all rows: totals by count
    # the common case (every layer full or window attention with one dense MLP): one inlined block, _dense_block
    p.dense = (p.uniform and p.first_att.kind in ("full", "window") and not p.first_att.output_gate
               and p.mlp_kinds[0][0].kind in ("gated", "plain"))
    # Bytes per element. Linear-layer weights: w_bits plus one fp16 scale and zero point per group, or a named
    # format's bits per value with its scales (calculator.formats).
    p.w = s.w_bits / 8 + (_SCALE_ZERO_BYTES / s.group_size if s.group_size else 0.0)
    p.a = s.a_bits / 8
    p.kv = s.kv_bits / 8 + (_SCALE_ZERO_BYTES / s.kv_group_size if s.kv_group_size else 0.0)
    w_nf = kv_nf = s.number_format
    if s.weight_format:
        wf = PRESETS[s.weight_format]
        p.w, w_nf = wf.bits / 8, wf.number_format
    if s.kv_format:
        kf = PRESETS[s.kv_format]
        p.kv, kv_nf = kf.bits / 8, kf.number_format
    hi_bits = max(16, s.w_bits)
    p.hi = hi_bits / 8  # biases and norm weights: never below 16 bits
    head_bits = s.w_bits if s.quantize_head else hi_bits
    p.hb = p.w if s.quantize_head else hi_bits / 8  # embedding and lm_head matrices
    p.bw = float(hardware.memory_bandwidth)
    p.link = hardware.interconnect_bandwidth / 2  # per direction: the datasheet figure is both ways
    p.flash = s.flash_attention
    nf = s.number_format
    roles = (
        ("linear", max(s.w_bits, s.a_bits), w_nf),
        ("attention", max(s.a_bits, s.kv_bits), kv_nf),
        ("lm_head", max(head_bits, s.a_bits), w_nf if s.quantize_head else nf),
        ("elementwise", max(16, s.a_bits), nf),
    )
    fmt_items, peak_items, fallback_notes = _formats(hardware, roles)
    notes += fallback_notes
    p.fmts, p.peaks, p.notes = fmts, peaks, notes = dict(fmt_items), dict(peak_items), notes
    p.f_lin, p.p_lin, p.f_el, p.p_el = fmts["linear"], peaks["linear"], fmts["elementwise"], peaks["elementwise"]
    p.f_att, p.p_att = fmts["attention"], peaks["attention"]
    # what every row function reads, unpacked in one step
    p.consts = (p.h, p.w, p.a, p.kv, p.hi, p.bw, p.f_lin, p.p_lin, p.f_el, p.p_el)
    return p


@lru_cache(maxsize=512)
def _formats(hardware: Hardware, roles: tuple) -> tuple:
    """(format of each role, peak of each role, fallback notes) for `roles` ((role, operand bits, number
    format), ...) on `hardware`: compute_format per role, derived once per distinct combination."""
    fmts, peaks, fallbacks = {}, {}, {}
    for role, bits, number_format in roles:
        fmt, peak, fallback = compute_format(bits, number_format, hardware)
        fmts[role], peaks[role] = fmt, peak
        if fallback and role != "elementwise":
            kind = f"{number_format}{bits}" if bits <= 8 else ("fp16" if bits <= 16 else "fp32")
            fallbacks.setdefault((kind, fmt), []).append(role)
    notes = tuple(f"{hardware.id} lists no peak for {kind} compute: {', '.join(names)} layers use its {fmt} peak"
                  for (kind, fmt), names in fallbacks.items())
    return tuple(fmts.items()), tuple(peaks.items()), notes


def _row(name, count, ops, byts, fmt, peak, bw, _new=_new, _Layer=Layer):
    """One roofline row: time = max(ops / peak, bytes / bandwidth)."""
    ct = ops / peak
    mt = byts / bw
    if ct > mt:
        return _new(_Layer, (name, count, ops, byts, ct, "compute", fmt, peak))
    return _new(_Layer, (name, count, ops, byts, mt, "memory", fmt, peak))


def _linear(name, count, tokens, n_in, n_out, w, a, out_bytes, bias, hi, fmt, peak, bw,
            _new=_new, _Layer=Layer):
    """A linear layer: ops = 2*T*in*out (+ T*out with a bias);
    bytes = in*out*w (weights) + T*in*a (input) + T*out*out_bytes (output) (+ out*hi bias)."""
    ops = 2 * tokens * n_in * n_out
    byts = n_in * n_out * w + tokens * (n_in * a + n_out * out_bytes)
    if bias:
        ops += tokens * n_out
        byts += n_out * hi
    ct = ops / peak
    mt = byts / bw
    if ct > mt:
        return _new(_Layer, (name, count, ops, byts, ct, "compute", fmt, peak))
    return _new(_Layer, (name, count, ops, byts, mt, "memory", fmt, peak))


def _renamed(row: Layer, name: str) -> Layer:
    """The same values under another name (k_proj/v_proj, gate_proj/up_proj, the two norms)."""
    return _new(Layer, (name,) + row[1:])


def window_pairs(q: int, n: int, window: int) -> float:
    """Query-key pairs of causal attention where each query sees at most `window` tokens (itself
    included): token j (j = n - q + 1 .. n) sees min(j, W).

    ``flash_pairs(q, n)`` when n <= W; ``q * W`` when every new token is past the window
    (n - q >= W); else ``W(W+1)/2 - a(a+1)/2 + (n - W) * W`` with a = n - q.
    Example: q = 1 (decode), n = 10000, W = 4096 -> 4096 pairs.
    """
    if n <= window:
        return flash_pairs(q, n)
    before = n - q
    if before >= window:
        return q * window
    return window * (window + 1) / 2 - before * (before + 1) / 2 + (n - window) * window


def _latent_form(q: int, n: int) -> bool:
    """Latent attention runs absorbed (attention over the latent, an MQA of width kv_lora_rank +
    rope) when the step has cached context (decode, verify: q < n), and in the naive form
    (the latent up-projected to per-head K and V, an MHA) for a prefill from scratch (q = n > 1), as
    serving engines (vLLM, SGLang) do."""
    return q < n or q == 1


def _attention_core(p: _Plan, att, count: int, q: int, n: int) -> list:
    """The context-dependent rows of one attention kind: q new tokens per sequence attend to n tokens.

    full, unfused (Table 1): scores = b*H_d*q*n;
      qk_matmul ops 2*scores*d, bytes T*H_d*d*a (Q) + b*n*K_d*d*kv (K) + scores*a (S written);
      softmax   ops 5*scores,   bytes 2*scores*a;
      sv_matmul ops 2*scores*d, bytes scores*a + b*n*K_d*d*kv (V) + T*H_d*d*a (O written).
    full, fused (`flash_attention`): pairs = b*H_d*flash_pairs(q, n) (causal);
      attention ops pairs*(4d + 5), bytes 2*T*H_d*d*a (Q, O) + 2*b*n*K_d*d*kv (K, V once).
    window W (rows named window_*): pairs = b*H_d*window_pairs(q, n, W); keys read
      n_r = min(n, W + q - 1) (those any of the q queries sees); unfused scores = b*H_d*q*min(n, W).
    latent, absorbed (q < n): an MQA over the latent c (width r = kv_lora_rank, rope dr):
      ops pairs*(2(r + dr) + 2r + 5), bytes T*H_d*(r + dr)*a (Q) + T*H_d*r*a (O) + b*n*(r + dr)*kv
      (the latent read once: it is both K and V).
    latent, naive (q = n): an MHA with key width dn + dr and value width dv over the K and V that
      kv_b_proj wrote: ops pairs*(2(dn + dr) + 2dv + 5), bytes T*H_d*(dn + dr + dv)*a (Q, O)
      + b*n*H_d*(dn + dr + dv)*a (K, V).
    """
    kind = att.kind
    if kind == "full":
        b, hq, d = p.b, p.hq, p.d
        qo_bytes = b * q * hq * d * p.a
        kv_read = b * n * p.hk * d * p.kv
        if p.flash:  # inlined _row, the most common case
            ops = b * hq * (q * (n - q) + q * (q + 1) / 2) * (4 * d + _SOFTMAX_OPS)  # flash_pairs(q, n)
            byts = 2 * qo_bytes + 2 * kv_read
            peak = p.p_att
            ct, mt = ops / peak, byts / p.bw
            if ct > mt:
                return [_new(Layer, ("attention", count, ops, byts, ct, "compute", p.f_att, peak))]
            return [_new(Layer, ("attention", count, ops, byts, mt, "memory", p.f_att, peak))]
    if kind == "linear" or kind == "mamba":  # a fixed state: nothing depends on the context (_linear_attention,
        return []  # _mamba)
    b, hq, a, kv, bw, fmt, peak = p.b, p.hq, p.a, p.kv, p.bw, p.f_att, p.p_att
    if kind == "full":
        scores = b * hq * q * n
        return [
            _row("qk_matmul", count, 2 * scores * d, qo_bytes + kv_read + scores * a, fmt, peak, bw),
            _row("softmax", count, _SOFTMAX_OPS * scores, 2 * scores * a, p.f_el, p.p_el, bw),
            _row("sv_matmul", count, 2 * scores * d, scores * a + kv_read + qo_bytes, fmt, peak, bw),
        ]
    if kind == "latent":
        r, dr = att.kv_lora_rank, att.qk_rope_head_dim
        t = b * q
        if _latent_form(q, n):
            dqk, dv = r + dr, r
            q_bytes, o_bytes = t * hq * dqk * a, t * hq * dv * a
            k_read, v_read = b * n * dqk * kv, 0.0
            v_unfused = b * n * r * kv  # unfused: sv_matmul reads the latent's first r values again
        else:
            dqk, dv = att.qk_nope_head_dim + dr, att.v_head_dim
            q_bytes, o_bytes = t * hq * dqk * a, t * hq * dv * a
            k_read, v_read = b * n * hq * dqk * a, b * n * hq * dv * a
            v_unfused = v_read
        if p.flash:
            pairs = b * hq * flash_pairs(q, n)
            return [_row("attention", count, pairs * (2 * dqk + 2 * dv + _SOFTMAX_OPS),
                         q_bytes + o_bytes + k_read + v_read, fmt, peak, bw)]
        scores = b * hq * q * n
        return [
            _row("qk_matmul", count, 2 * scores * dqk, q_bytes + k_read + scores * a, fmt, peak, bw),
            _row("softmax", count, _SOFTMAX_OPS * scores, 2 * scores * a, p.f_el, p.p_el, bw),
            _row("sv_matmul", count, 2 * scores * dv, scores * a + v_unfused + o_bytes, fmt, peak, bw),
        ]
    d = p.d  # window
    qo_bytes = b * q * hq * d * a
    window = att.window
    kv_read = b * min(n, window + q - 1) * p.hk * d * kv
    if p.flash:
        pairs = b * hq * window_pairs(q, n, window)
        return [_row("window_attention", count, pairs * (4 * d + _SOFTMAX_OPS), 2 * qo_bytes + 2 * kv_read,
                     fmt, peak, bw)]
    scores = b * hq * q * min(n, window)
    return [
        _row("window_qk_matmul", count, 2 * scores * d, qo_bytes + kv_read + scores * a, fmt, peak, bw),
        _row("window_softmax", count, _SOFTMAX_OPS * scores, 2 * scores * a, p.f_el, p.p_el, bw),
        _row("window_sv_matmul", count, 2 * scores * d, scores * a + kv_read + qo_bytes, fmt, peak, bw),
    ]


def _attention(p: _Plan, q: int, n: int) -> list:
    """The context-dependent rows of every attention kind of the model (counts summed over groups)."""
    return [row for att, count in _attention_kinds(p) for row in _attention_core(p, att, count, q, n)]


def _attention_kinds(p: _Plan) -> list:
    """(attention kind, layers of that kind), in the order of first occurrence."""
    return p.att_kinds


def _projections(p: _Plan, kinds: list, L: int, q: int, n: int, t: int, rows: list) -> None:
    """The projection rows (count L: every layer of a model projects alike) around the attention core rows
    of each attention kind in `kinds` ((kind, layers) pairs), appended to `rows`.

    full / window: q_proj h -> H_d*d, k_proj and v_proj h -> K_d*d (written to the cache at kv),
      q_norm / k_norm (qk_norm: RMSNorm per head, 7 ops per element); with an output gate (Qwen3-Next) q_proj
      h -> 2*H_d*d (queries and gates) and attn_gate o * sigmoid(g) after the core (5 ops per element, bytes
      3*T*H_d*d*a).
    latent: q_a_proj h -> rq (replicated across tensor-parallel devices), q_a_norm, q_b_proj rq -> H_d*(dn + dr)
      (or one q_proj h -> H_d*(dn + dr) without q_lora_rank); kv_a_proj h -> r + dr (replicated, the
      latent written to the cache at kv), kv_a_norm; then either q_absorb (q_nope x W_UK: ops
      2*T*H_d*dn*r, weights H_d*dn*r) and, after the core, o_absorb (ops 2*T*H_d*r*dv, weights H_d*r*dv)
      (absorbed form), or kv_b_proj r -> H_d*(dn + dv) over all b*n context tokens, the cached latent
      read at kv (naive form).
    """
    h, w, a, kv, hi, bw, f_lin, p_lin, f_el, p_el = p.consts
    model = p.model
    qkv_bias = model.qkv_bias
    put = rows.append
    if p.hybrid and any(kind.kind in _RECURRENT for kind, _ in kinds):
        # a hybrid: the attention layers project as below, the recurrent (linear, mamba) ones after them
        recurrent = [(kind, count) for kind, count in kinds if kind.kind in _RECURRENT]
        kinds = [(kind, count) for kind, count in kinds if kind.kind not in _RECURRENT]
        L = sum(count for _, count in kinds)
        if kinds:
            _projections(p, kinds, L, q, n, t, rows)
        for kind, count in recurrent:
            if kind.kind == "linear":
                _linear_attention(p, kind, count, t, rows)
            else:
                _mamba(p, kind, count, t, rows)
        return
    att = kinds[0][0]
    if att.kind != "latent":
        qo, ko = p.hq * p.d, p.hk * p.d
        k_proj = _linear("k_proj", L, t, h, ko, w, a, kv, qkv_bias, hi, f_lin, p_lin, bw)
        gate = att.output_gate  # q_proj also writes a gate per query element (Qwen3-Next)
        put(_linear("q_proj", L, t, h, 2 * qo if gate else qo, w, a, a, qkv_bias, hi, f_lin, p_lin, bw))
        put(k_proj)
        put(_renamed(k_proj, "v_proj"))
        if att.qk_norm:
            put(_row("q_norm", L, _NORM_OPS * t * qo, 2 * t * qo * a, f_el, p_el, bw))
            put(_row("k_norm", L, _NORM_OPS * t * ko, 2 * t * ko * a, f_el, p_el, bw))
        for kind, count in kinds:
            rows += _attention_core(p, kind, count, q, n)
        if gate:  # o * sigmoid(g): negate, exp, add, divide, multiply; o and g read, the product written
            put(_row("attn_gate", L, _SIGMOID_GATE_OPS * t * qo, 3 * t * qo * a, f_el, p_el, bw))
        put(_linear("o_proj", L, t, qo, h, w, a, a, model.o_bias, hi, f_lin, p_lin, bw))
        return
    hq = p.hq
    rq, r, dn, dr, dv = att.q_lora_rank, att.kv_lora_rank, att.qk_nope_head_dim, att.qk_rope_head_dim, att.v_head_dim
    qk = hq * (dn + dr)
    if rq:
        put(_linear("q_a_proj", L, t, h, rq, w, a, a, False, hi, f_lin, p_lin, bw))
        put(_row("q_a_norm", L, _NORM_OPS * t * rq, 2 * t * rq * a, f_el, p_el, bw))
        put(_linear("q_b_proj", L, t, rq, qk, w, a, a, False, hi, f_lin, p_lin, bw))
    else:
        put(_linear("q_proj", L, t, h, qk, w, a, a, False, hi, f_lin, p_lin, bw))
    put(_linear("kv_a_proj", L, t, h, r + dr, w, a, kv, False, hi, f_lin, p_lin, bw))
    put(_row("kv_a_norm", L, _NORM_OPS * t * r, 2 * t * r * a, f_el, p_el, bw))
    if _latent_form(q, n):
        put(_row("q_absorb", L, 2 * t * hq * dn * r, hq * dn * r * w + t * hq * (dn + r) * a, f_lin, p_lin, bw))
        for kind, count in kinds:
            rows += _attention_core(p, kind, count, q, n)
        put(_row("o_absorb", L, 2 * t * hq * r * dv, hq * r * dv * w + t * hq * (r + dv) * a, f_lin, p_lin, bw))
    else:
        put(_linear("kv_b_proj", L, p.b * n, r, hq * (dn + dv), w, kv, a, False, hi, f_lin, p_lin, bw))
        for kind, count in kinds:
            rows += _attention_core(p, kind, count, q, n)
    put(_linear("o_proj", L, t, hq * dv, h, w, a, a, False, hi, f_lin, p_lin, bw))


def _linear_attention(p: _Plan, att, L: int, t: int, rows: list) -> None:
    """A Gated DeltaNet layer (linear attention, Qwen3-Next), per device (heads split by tp):
    in_proj_qkvz h -> 2 Kd + 2 Vd (queries, keys, values, output gate; Kd = key heads x dk, Vd = value
    heads x dv), in_proj_ba h -> 2 x value heads (the delta rule's beta and decay), conv1d: a causal
    depthwise convolution of width c over the 2 Kd + Vd channels (2 T C c ops; its c - 1 last inputs per
    sequence are state), linear_attention: the recurrence on a dk x dv state per value head, 7 dk dv ops
    per token and head (decay, read, delta update, output) in the recurrent form, the state read and
    written once per step at kv bytes (the chunked prefill kernel's intra-chunk work is not counted),
    linear_norm: a gated RMSNorm over Vd (8 ops per element), out_proj Vd -> h. Nothing grows with the
    context."""
    h, w, a, kv, hi, bw, b = p.h, p.w, p.a, p.kv, p.hi, p.bw, p.b
    f_lin, p_lin, f_el, p_el = p.f_lin, p.p_lin, p.f_el, p.p_el
    n = p.tp
    kh, vh = att.linear_key_heads // n, att.linear_value_heads // n
    dk, dv, c = att.linear_key_dim, att.linear_value_dim, att.conv_kernel
    kd, vd = kh * dk, vh * dv
    channels = 2 * kd + vd
    put = rows.append
    put(_linear("in_proj_qkvz", L, t, h, 2 * kd + 2 * vd, w, a, a, False, hi, f_lin, p_lin, bw))
    put(_linear("in_proj_ba", L, t, h, 2 * vh, w, a, a, False, hi, f_lin, p_lin, bw))
    put(_row("conv1d", L, 2 * t * channels * c, channels * c * hi + 2 * t * channels * a
             + 2 * b * channels * (c - 1) * kv, f_el, p_el, bw))
    state = b * vh * dk * dv * kv
    put(_row("linear_attention", L, 7 * t * vh * dk * dv, t * (2 * kd + 2 * vd + 2 * vh) * a + 2 * state,
             p.fmts["attention"], p.peaks["attention"], bw))
    put(_row("linear_norm", L, (_NORM_OPS + 1) * t * vd, 3 * t * vd * a, f_el, p_el, bw))
    put(_linear("out_proj", L, t, vd, h, w, a, a, False, hi, f_lin, p_lin, bw))


_RECURRENT = ("linear", "mamba")
_MAMBA1_SCAN_OPS = 7  # per channel and state element: dt*A, exp, (dt*x)*B, decay and add (2), C read-out (2)
_MAMBA2_SCAN_OPS = 5  # A is one scalar per head (its exp is per head, not counted): (dt*x)*B, decay and add, read-out
_SSM_SKIP_OPS = 2  # per channel: dt*x and the skip D*x added to y (Mamba-2: dt*x, D*x + y likewise)
_SSM_GATED_NORM_OPS = _NORM_OPS + _SILU_GATE_OPS  # Mamba-2: RMSNorm(y * silu(z))


def _mamba(p: _Plan, att, L: int, t: int, rows: list) -> None:
    """A Mamba layer (selective state space), per device (inner channels I_d = I/N and heads split by tp),
    appended to `rows`. N is the state size per channel, c the convolution width, T = b*q tokens.

    Mamba-1 (`ssm_dt_rank` R): in_proj h -> 2 I_d (x and the gate z); conv1d: a causal depthwise
    convolution of width c over the I_d channels of x, ops 2*T*I_d*c (+ T*I_d with its bias), bytes
    I_d*c*hi (+ I_d*hi) + 2*T*I_d*a + 2*b*I_d*(c - 1)*kv (its c - 1 last inputs per sequence are state, read
    and written); x_proj I_d -> R + 2N (the time step's low-rank input, B and C; under tp each device
    projects its own channels, the partial sums' all-reduce is not counted); dt_proj R -> I_d (with bias);
    selective_scan: ops T*I_d*(7N + 2), bytes T*(3 I_d + 2N)*a (x, dt, B and C read, y written)
    + 2*b*I_d*N*kv (the state read and written once per call) + I_d*(N + 1)*hi (A and D); ssm_gate
    y * silu(z): 6 ops per element, bytes 3*T*I_d*a; out_proj I_d -> h.

    Mamba-2 (`ssm_heads` H, `ssm_groups` G; G_d = ceil(G/N)): in_proj h -> 2 I_d + 2 G_d N + H_d (z, x, B,
    C, dt); conv1d as above over the I_d + 2 G_d N channels of x, B and C; selective_scan: ops
    T*I_d*(5N + 2), bytes T*(2 I_d + 2 G_d N + H_d)*a + 2*b*I_d*N*kv + 3*H_d*hi (A, D, dt_bias); ssm_norm
    RMSNorm(y * silu(z)): 13 ops per element, bytes 3*T*I_d*a; out_proj I_d -> h.

    The state (I_d x N per sequence) is read and written once per layer call: once per decode step, once
    for a whole prefill (the chunked scan's intra-chunk work is not counted). Nothing grows with the context.
    """
    h, w, a, kv, hi, bw, b = p.h, p.w, p.a, p.kv, p.hi, p.bw, p.b
    f_lin, p_lin, f_el, p_el = p.f_lin, p.p_lin, p.f_el, p.p_el
    n = p.tp
    inner, N, c, bias = att.ssm_inner // n, att.ssm_state, att.conv_kernel, att.ssm_proj_bias
    put = rows.append
    state = 2 * b * inner * N * kv
    if att.ssm_heads:
        heads = att.ssm_heads // n
        bc = 2 * -(-att.ssm_groups // n) * N
        channels = inner + bc
        put(_linear("in_proj", L, t, h, 2 * inner + bc + heads, w, a, a, bias, hi, f_lin, p_lin, bw))
    else:
        channels = inner
        put(_linear("in_proj", L, t, h, 2 * inner, w, a, a, bias, hi, f_lin, p_lin, bw))
    conv_ops = 2 * t * channels * c
    conv_bytes = channels * c * hi + 2 * t * channels * a + 2 * b * channels * (c - 1) * kv
    if att.ssm_conv_bias:
        conv_ops += t * channels
        conv_bytes += channels * hi
    put(_row("conv1d", L, conv_ops, conv_bytes, f_el, p_el, bw))
    f_att, p_att = p.f_att, p.p_att
    if att.ssm_heads:
        put(_row("selective_scan", L, t * inner * (_MAMBA2_SCAN_OPS * N + _SSM_SKIP_OPS),
                 t * (2 * inner + bc + heads) * a + state + 3 * heads * hi, f_att, p_att, bw))
        put(_row("ssm_norm", L, _SSM_GATED_NORM_OPS * t * inner, 3 * t * inner * a, f_el, p_el, bw))
    else:
        r = att.ssm_dt_rank
        put(_linear("x_proj", L, t, inner, r + 2 * N, w, a, a, False, hi, f_lin, p_lin, bw))
        put(_linear("dt_proj", L, t, r, inner, w, a, a, True, hi, f_lin, p_lin, bw))
        put(_row("selective_scan", L, t * inner * (_MAMBA1_SCAN_OPS * N + _SSM_SKIP_OPS),
                 t * (3 * inner + 2 * N) * a + state + inner * (N + 1) * hi, f_att, p_att, bw))
        put(_row("ssm_gate", L, _SILU_GATE_OPS * t * inner, 3 * t * inner * a, f_el, p_el, bw))
    put(_linear("out_proj", L, t, inner, h, w, a, a, bias, hi, f_lin, p_lin, bw))


def _mlp(p: _Plan, mlp, L: int, t: int, rows: list) -> None:
    """The MLP rows of one layer group, appended to `rows`.

    gated: gate_proj and up_proj h -> I_d, mlp_act 6 ops per element (silu(g) * u), down_proj I_d -> h.
    plain: up_proj (fc1), mlp_act (ReLU, 1 op), down_proj (fc2).
    moe: router h -> E; the T*k token-expert assignments run gated experts of width I_e (per device):
      gate/up ops 2*T*k*h*I_e, bytes touched*h*I_e*w + T*k*(h + I_e)*a with touched =
      expected_experts(E, k, T) (only the experts some token picks are read); down alike; then the
      shared experts (every token) as one gated MLP of width shared*I_s: shared_gate_proj,
      shared_up_proj, shared_mlp_act, shared_down_proj.
    Dense layers of a MoE model (DeepSeek's first layers) carry a dense_ prefix. none: no rows.
    """
    if mlp.kind == "none":
        return
    h, w, a, _, hi, bw, f_lin, p_lin, f_el, p_el = p.consts
    put = rows.append
    mlp_bias = p.model.mlp_bias
    if mlp.kind == "moe":
        i = p.ie
        put(_linear("router", L, t, h, p.E, w, a, a, mlp_bias, hi, f_lin, p_lin, bw))
        routed = t * p.k  # token-expert assignments (per device under ep: the same number on average)
        ep = p.ep
        touched = expected_experts(p.E, p.k, t * ep) / ep  # under ep: the batch's experts, spread
        gate_ops, gate_bytes = 2 * routed * h * i, touched * h * i * w + routed * (h + i) * a
        down_ops, down_bytes = 2 * routed * i * h, touched * i * h * w + routed * (i + h) * a
        if mlp_bias:  # expert biases (gpt-oss): one per output, read for every touched expert
            gate_ops += routed * i
            gate_bytes += touched * i * hi
            down_ops += routed * h
            down_bytes += touched * h * hi
        if ep > 1:
            dispatch = _alltoall("moe_dispatch", L, routed * h, a, ep, p.link)
            put(dispatch)
        gate = _row("gate_proj", L, gate_ops, gate_bytes, f_lin, p_lin, bw)
        put(gate)
        put(_renamed(gate, "up_proj"))
        put(_row("mlp_act", L, _SILU_GATE_OPS * routed * i, 3 * routed * i * a, f_el, p_el, bw))
        put(_row("down_proj", L, down_ops, down_bytes, f_lin, p_lin, bw))
        if ep > 1:
            put(_renamed(dispatch, "moe_combine"))
        if p.ish:
            s = p.ish
            up = _linear("shared_up_proj", L, t, h, s, w, a, a, False, hi, f_lin, p_lin, bw)
            put(_renamed(up, "shared_gate_proj"))
            put(up)
            put(_row("shared_mlp_act", L, _SILU_GATE_OPS * t * s, 3 * t * s * a, f_el, p_el, bw))
            put(_linear("shared_down_proj", L, t, s, h, w, a, a, False, hi, f_lin, p_lin, bw))
        return
    i = p.i
    up_name, gate_name, act_name, down_name = _DENSE_NAMES if p.mixed_mlp else _MLP_NAMES
    up = _linear(up_name, L, t, h, i, w, a, a, mlp_bias, hi, f_lin, p_lin, bw)
    if mlp.kind == "gated":
        put(_renamed(up, gate_name))
        put(up)
        put(_row(act_name, L, _SILU_GATE_OPS * t * i, 3 * t * i * a, f_el, p_el, bw))
    else:
        put(up)
        put(_row(act_name, L, _RELU_OPS * t * i, 2 * t * i * a, f_el, p_el, bw))
    put(_linear(down_name, L, t, i, h, w, a, a, mlp_bias, hi, f_lin, p_lin, bw))


_MLP_NAMES = ("up_proj", "gate_proj", "mlp_act", "down_proj")
_DENSE_NAMES = tuple("dense_" + name for name in _MLP_NAMES)  # the dense layers of a MoE model


def _dense_block(p: _Plan, q: int, n: int) -> list:
    """`_block` for a model of identical layers with full or window attention and one gated or plain MLP (Llama,
    Mistral, OPT, Qwen2.5 ...): the same rows in the same order, built in one function (no per-kind dispatch)."""
    h, w, a, kv, hi, bw, f_lin, p_lin, f_el, p_el = p.consts
    model = p.model
    L, t = p.L, p.b * q
    att = p.first_att
    qkv_bias, mlp_bias = model.qkv_bias, model.mlp_bias
    qo, ko = p.hq * p.d, p.hk * p.d
    norm = _row("attn_norm", L, _NORM_OPS * t * h, 2 * t * h * a, f_el, p_el, bw)
    k_proj = _linear("k_proj", L, t, h, ko, w, a, kv, qkv_bias, hi, f_lin, p_lin, bw)
    rows = [norm, _linear("q_proj", L, t, h, qo, w, a, a, qkv_bias, hi, f_lin, p_lin, bw), k_proj,
            _new(Layer, ("v_proj",) + k_proj[1:])]
    put = rows.append
    if att.qk_norm:
        put(_row("q_norm", L, _NORM_OPS * t * qo, 2 * t * qo * a, f_el, p_el, bw))
        put(_row("k_norm", L, _NORM_OPS * t * ko, 2 * t * ko * a, f_el, p_el, bw))
    rows += _attention_core(p, att, L, q, n)
    put(_linear("o_proj", L, t, qo, h, w, a, a, model.o_bias, hi, f_lin, p_lin, bw))
    tp = p.tp
    if tp > 1:
        reduce = _allreduce("attn_allreduce", L, t * h, a, tp, p.link)
        put(reduce)
    add = _row("attn_add", L, _ADD_OPS * t * h, 2 * t * h * a, f_el, p_el, bw)
    put(add)
    put(_new(Layer, ("mlp_norm",) + norm[1:]))
    i = p.i
    up = _linear("up_proj", L, t, h, i, w, a, a, mlp_bias, hi, f_lin, p_lin, bw)
    if p.mlp_kinds[0][0].kind == "gated":
        put(_new(Layer, ("gate_proj",) + up[1:]))
        put(up)
        put(_row("mlp_act", L, _SILU_GATE_OPS * t * i, 3 * t * i * a, f_el, p_el, bw))
    else:
        put(up)
        put(_row("mlp_act", L, _RELU_OPS * t * i, 2 * t * i * a, f_el, p_el, bw))
    put(_linear("down_proj", L, t, i, h, w, a, a, mlp_bias, hi, f_lin, p_lin, bw))
    if tp > 1:
        put(_new(Layer, ("mlp_allreduce",) + reduce[1:]))
    put(_new(Layer, ("mlp_add",) + add[1:]))
    return rows


def _block(p: _Plan, q: int, n: int) -> list:
    """Rows of the decoder layers: norm, attention, residual add, norm, MLP, residual add (count L each, two
    all-reduces under tensor parallelism); the attention core rows once per attention kind and the MLP rows
    once per MLP kind, each with the number of layers of that kind (calculator.recipe)."""
    if p.dense:
        return _dense_block(p, q, n)
    h, _, a, _, _, bw, _, _, f_el, p_el = p.consts
    b, L = p.b, p.L
    t = b * q
    norm = _row("attn_norm", L, _NORM_OPS * t * h, 2 * t * h * a, f_el, p_el, bw)
    rows = [norm]
    _projections(p, p.att_kinds, L, q, n, t, rows)
    put = rows.append
    if p.tp > 1:
        reduce = _allreduce("attn_allreduce", L, t * h, a, p.tp, p.link)
        put(reduce)
    add = _row("attn_add", L, _ADD_OPS * t * h, 2 * t * h * a, f_el, p_el, bw)
    put(add)
    with_mlp = L - sum(count for mlp, count in p.mlp_kinds if mlp.kind == "none")  # layers with an MLP
    if not with_mlp:
        return rows
    put(_renamed(norm, "mlp_norm") if with_mlp == L else _new(Layer, ("mlp_norm", with_mlp) + norm[2:]))
    for mlp, count in p.mlp_kinds:
        _mlp(p, mlp, count, t, rows)
    if p.tp > 1:
        put(_renamed(reduce, "mlp_allreduce") if with_mlp == L else _new(Layer, ("mlp_allreduce", with_mlp)
                                                                           + reduce[2:]))
    put(_renamed(add, "mlp_add") if with_mlp == L else _new(Layer, ("mlp_add", with_mlp) + add[2:]))
    return rows


def _stage(p: _Plan, name: str, q: int, n: int) -> Stage:
    """Rows of one stage: q new tokens per sequence attending to a context of n tokens.

    Each layer group adds its block rows (count = its layers); a row equal in two groups (the norms,
    the projections of window and full layers) is one row whose count is the sum. Totals are exact sums
    of count x value, plus the lm_head."""
    rows = _block(p, q, n)
    if p.uniform:
        L = p.L
        # Totals = sum of count x value; every row so far is a block layer (count L).
        _, _, ops, byts, times, *_ = zip(*rows)
        ops, byts, time_s = L * sum(ops), L * sum(byts), L * sum(times)
        link = 0.0
        if p.tp > 1:  # all-reduce bytes cross the interconnect, not DRAM
            link = 2 * L * rows[-2][3]  # the two all-reduces of a layer move the same bytes
            byts -= link
    else:
        ops = byts = time_s = link = 0.0
        for row in rows:
            c = row[1]
            ops += c * row[2]
            byts += c * row[3]
            time_s += c * row[4]
            if row[5] == "interconnect":
                link += c * row[3]
        byts -= link
    # lm_head: logits of the last position of each sequence only (b tokens, also in prefill).
    head = _linear("lm_head", 1, p.b, p.h, p.v, p.hb, p.a, p.a, False, p.hi, p.fmts["lm_head"],
                   p.peaks["lm_head"], p.bw)
    rows.append(head)
    return Stage(name, rows, ops + head[2], byts + head[3], time_s + head[4], link)


def _allreduce(name, count, elements, a, n, link):
    """Ring all-reduce of a T x h activation over n devices: each device sends (and receives)
    2(n-1)/n x the message (T*h*a bytes) at the per-direction link bandwidth, and adds
    (n-1)/n x T*h elements."""
    sent = 2 * (n - 1) / n * elements * a
    return _new(Layer, (name, count, (n - 1) / n * elements, sent, sent / link, "interconnect", "link", 0.0))


def _alltoall(name, count, elements, a, n, link):
    """All-to-all of T*k token copies of width h over n expert-parallel devices: each device sends (and
    receives) the (n-1)/n of them whose expert lives elsewhere, (n-1)/n x elements x a bytes, at the
    per-direction link bandwidth; no ops."""
    sent = (n - 1) / n * elements * a
    return _new(Layer, (name, count, 0.0, sent, sent / link, "interconnect", "link", 0.0))


def _layer_weights(p: _Plan, group) -> tuple:
    """(linear elements at w, small elements at hi) of one layer of `group`, per device.

    full / window: q, k, v, o projections 2*h*H_d*d + 2*h*K_d*d; norms 2h (4h for LayerNorm);
    biases; qk_norm 2d; sinks H_d. latent: h*rq + rq*H_d*(dn + dr) (or h*H_d*(dn + dr)) + h*(r + dr)
    + r*H_d*(dn + dv) + H_d*dv*h; norms 2h + rq + r. MLP: gated 3*h*I_d, plain 2*h*I_d (bias I_d + h);
    moe E*3*h*I_e + h*E (router) + 3*h*shared*I_s (bias E*(2*I_e + h) + E)."""
    model = p.model
    att, mlp = group.attention, group.mlp
    h, hq, hk, d = p.h, p.hq, p.hk, p.d
    if att.kind == "latent":
        rq, r, dn, dr, dv = (att.q_lora_rank, att.kv_lora_rank, att.qk_nope_head_dim, att.qk_rope_head_dim,
                             att.v_head_dim)
        qk = hq * (dn + dr)
        linear = (h * rq + rq * qk if rq else h * qk) + h * (r + dr) + r * hq * (dn + dv) + hq * dv * h
        small = 2 * h + rq + r
    elif att.kind == "linear":
        kh, vh = att.linear_key_heads // p.tp, att.linear_value_heads // p.tp
        kd, vd = kh * att.linear_key_dim, vh * att.linear_value_dim
        linear = h * (2 * kd + 2 * vd) + h * 2 * vh + vd * h
        small = 2 * h + (2 * kd + vd) * att.conv_kernel + 2 * vh + att.linear_value_dim
    elif att.kind == "mamba":
        linear, small = mamba_weights(att, h, p.tp)
        small += 2 * h
    else:
        qo, ko = hq * d, hk * d
        linear = 2 * h * qo + 2 * h * ko + (h * qo if att.output_gate else 0)
        small = (4 * h) if model.norm == "layernorm" else (2 * h)
        if model.qkv_bias:
            small += qo + 2 * ko + (qo if att.output_gate else 0)
        if model.o_bias:
            small += h
        if att.qk_norm:
            small += 2 * d
    if att.sinks:
        small += hq
    if mlp.kind == "none":  # no MLP and no MLP norm
        return linear, small - h
    if mlp.kind == "moe":
        i, E = p.ie, p.E
        local = E // p.ep  # the experts this device holds (all of them without ep)
        mlp_w = 3 * h * i * local + h * E + 3 * h * p.ish  # resident experts, plus the router
        mlp_small = (local * (2 * i + h) + E) if model.mlp_bias else 0
    else:
        i = p.i
        mlp_w = (3 if mlp.kind == "gated" else 2) * h * i
        mlp_small = (i + h) if model.mlp_bias else 0
    return linear + mlp_w, small + mlp_small


def _weights_bytes(p: _Plan) -> float:
    """Per-device weight bytes: linear layers at w, vocabulary matrices at hb, the rest at hi."""
    model = p.model
    h = p.h
    layers = 0.0
    w, hi = p.w, p.hi
    for g in p.groups:
        linear, small = _layer_weights(p, g)  # integers: exact in any order
        layers += g.count * (linear * w + small * hi)
    vocab = p.v * h * (1 if model.tie_word_embeddings else 2) * p.hb
    final_norm = (2 * h if model.norm == "layernorm" else h) * p.hi
    positions = model.max_position_embeddings * h * p.hi if model.architecture == "opt" else 0
    return layers + vocab + final_norm + positions


def _kv_bytes(p: _Plan, tokens: int) -> float:
    """KV cache per device: full layers 2 (K and V) x L x b x tokens x K_d x d x kv; window layers the same
    with min(tokens, W); latent layers L x b x tokens x (kv_lora_rank + rope) x kv (one latent, whole on
    every tensor-parallel device); linear and mamba layers a fixed state per sequence (mamba: L x b x
    (I_d x N + conv channels x (c - 1)) x kv), whatever `tokens`."""
    kinds = p.att_kinds
    if p.uniform and kinds[0][0].kind == "full":
        return 2 * kinds[0][1] * p.b * tokens * p.hk * p.d * p.kv
    total = 0
    for att, L in kinds:
        if att.kind == "latent":
            total += L * p.b * tokens * (att.kv_lora_rank + att.qk_rope_head_dim) * p.kv
        elif att.kind == "linear":  # the recurrent state and the convolution's last inputs, per sequence
            kh, vh = att.linear_key_heads // p.tp, att.linear_value_heads // p.tp
            channels = 2 * kh * att.linear_key_dim + vh * att.linear_value_dim
            total += L * p.b * (vh * att.linear_key_dim * att.linear_value_dim
                                + channels * (att.conv_kernel - 1)) * p.kv
        elif att.kind == "mamba":  # the I_d x N state and the convolution's last inputs, per sequence
            inner = att.ssm_inner // p.tp
            channels = inner + (2 * -(-att.ssm_groups // p.tp) * att.ssm_state if att.ssm_heads else 0)
            total += L * p.b * (inner * att.ssm_state + channels * (att.conv_kernel - 1)) * p.kv
        else:
            kept = min(tokens, att.window) if att.kind == "window" else tokens
            total += 2 * L * p.b * kept * p.hk * p.d * p.kv
    return total


def _activation_bytes(p: _Plan) -> float:
    """Peak prefill activations per device: the residual stream b*s*h*a plus the larger of the
    attention working set (scores read and written by softmax, 2*b*H_d*s*s*a; with flash
    attention only Q and O, 2*b*s*H_d*d*a; latent: Q, O and the up-projected K and V,
    2*b*s*H_d*(dn + dr + dv)*a) and the MLP working set (gate, up and product, 3*b*s*I_d*a;
    2*... for a plain MLP; b*s*k routed tokens for MoE). A model without attention layers (pure Mamba) counts
    the mixer's in_proj output and scan output, b*s*(P_d + I_d)*a, in place of attention."""
    s = p.settings.seq_len
    t = p.b * s
    a = p.a
    att = p.first_att
    if att.kind == "mamba":  # no attention layer: the mixer's in_proj output and scan output instead
        inner = att.ssm_inner // p.tp
        proj = (2 * inner + 2 * -(-att.ssm_groups // p.tp) * att.ssm_state + att.ssm_heads // p.tp
                if att.ssm_heads else 2 * inner)
        attn = t * (proj + inner) * a
    elif att.kind == "latent":
        width = att.qk_nope_head_dim + att.qk_rope_head_dim + att.v_head_dim
        attn = 2 * t * p.hq * width * a if p.flash else 2 * p.b * p.hq * s * s * a + 2 * t * p.hq * width * a
    else:
        attn = 2 * t * p.hq * p.d * a if p.flash else 2 * p.b * p.hq * s * s * a
    mlp = 0
    for kind, _ in p.mlp_kinds:
        if kind.kind == "none":
            continue
        if kind.kind == "moe":
            mlp = max(mlp, 3 * t * p.k * p.ie * a, 3 * t * p.ish * a)
        else:
            mlp = max(mlp, (3 if kind.kind == "gated" else 2) * t * p.i * a)
    return t * p.h * a + max(attn, mlp)


def _sum_steps(r0: Layer, r1: Layer, m: int, bw: float) -> float:
    """Sum of a decode row's time over m steps whose contexts grow by one token from r0's to r1's.

    ops and bytes are affine in the context, so the per-step time max(ops/peak, bytes/bw) is the
    maximum of two affine functions: summed exactly, split where they cross.
    """
    if m == 1 or (r0[2] == r1[2] and r0[3] == r1[3]):
        return m * r0[4]
    peak = r0[7]
    p0, p1 = r0[2] / peak, r1[2] / peak
    q0, q1 = r0[3] / bw, r1[3] / bw
    d0, d1 = p0 - q0, p1 - q1
    if d0 >= 0 and d1 >= 0:
        return m * (p0 + p1) / 2
    if d0 <= 0 and d1 <= 0:
        return m * (q0 + q1) / 2
    last = m - 1
    k = min(last - 1, floor(d0 / (d0 - d1) * last))  # last step index on d0's side
    f0, f1 = (p0, p1) if d0 > 0 else (q0, q1)
    g0, g1 = (q0, q1) if d0 > 0 else (p0, p1)
    first = (k + 1) * (f0 + (f0 + (f1 - f0) * k / last)) / 2
    second = (last - k) * ((g0 + (g1 - g0) * (k + 1) / last) + g1) / 2
    return first + second


def _generate(p: _Plan, prefill: Stage, decode: Stage, memory: Memory) -> Generate:
    """Prompt of P = seq_len tokens, G = gen_len tokens out. The prefill makes token 1 (TTFT);
    decode step j = 1..G-1 feeds token j against a context of P + j - 1 cached tokens.

    Only the attention rows depend on the context; each is affine in it, except that a window row
    stops growing at n = W: its steps are summed in two pieces, up to W and from there on."""
    s = p.settings
    prompt, gen = s.seq_len, s.gen_len
    steps = gen - 1
    decode_time = 0.0
    if steps:
        # decode_time = steps x (decode time at the first context) + what attention adds later.
        bw = p.bw
        decode_time = steps * decode.time_s
        first = {row[0]: row for row in decode.layers}
        last_n = prompt + steps - 1
        for att, count in p.att_kinds:
            window = att.window  # 0 unless a window kind
            ends = _attention_core(p, att, count, 1, last_n)
            if window and prompt < window < last_n:  # grows for the first W - P + 1 steps, then flat
                grow = window - prompt + 1
                mids = _attention_core(p, att, count, 1, window)
                for r1, rw in zip(ends, mids):
                    r0 = first[r1[0]]
                    total = _sum_steps(r0, rw, grow, bw) + (steps - grow) * rw[4]
                    decode_time += r0[1] * (total - steps * r0[4])
                continue
            for r1 in ends:
                r0 = first[r1[0]]
                decode_time += r0[1] * (_sum_steps(r0, r1, steps, bw) - steps * r0[4])
    kv_end = _kv_bytes(p, prompt + steps)
    mem_end = memory.weights_bytes + kv_end + memory.activations_bytes
    return Generate(prompt, gen, s.batch, prefill.time_s, decode_time, kv_end, mem_end,
                    memory.capacity_bytes)


def analyze(model: Model, hardware: Hardware, settings: Settings | None = None) -> Result:
    """Roofline analysis of `model` on `hardware` under `settings` (default: batch 1, 2048 tokens,
    16-bit everything, all stages).

    Returns a `Result` with `stages` (``prefill`` and/or ``decode``: per-layer rows and totals),
    `memory` (footprint per device), `generate` (TTFT, time per output token, end-to-end latency,
    tokens/s; for stage ``generate`` or ``all``), the compute `formats` used and `notes`.
    Raises `CalculatorError` for a combination it cannot model (e.g. tp not dividing the heads).

    Example (Table 1 of the survey): Llama-2-7b on an A6000, prefill q_proj:
    ops = 2 * 2048 * 4096 * 4096 = 68.7e9; bytes = 2 * (4096*4096 + 2 * 2048*4096) = 67.1e6.
    """
    s = settings if settings is not None else _DEFAULT_SETTINGS
    p = _plan(model, hardware, s)
    stage = s.stage
    seq = s.seq_len
    stages = {}
    want_gen = stage in ("generate", "all")
    prefill = decode = None
    if stage in ("prefill", "all") or want_gen:
        prefill = _stage(p, "prefill", seq, seq)
    if stage in ("decode", "all") or want_gen:
        decode = _stage(p, "decode", 1, seq)
    if stage in ("prefill", "all"):
        stages["prefill"] = prefill
    if stage in ("decode", "all"):
        stages["decode"] = decode
    memory = Memory(_weights_bytes(p), _kv_bytes(p, seq), _activation_bytes(p), hardware.memory_bytes)
    gen = _generate(p, prefill, decode, memory) if want_gen else None
    return Result(model, hardware, s, stages, memory, gen, p.fmts, tuple(p.notes))
