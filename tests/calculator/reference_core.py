"""The calculator before layer recipes (calculator.core at 3719ebb), frozen as a reference.

Only tests/calculator/test_recipe.py reads it: a recipe made of the old llama / opt / mixtral / qwen2 parts must
reproduce these results to the last bit. Do not edit; it is deliberately the old code.
"""
from __future__ import annotations

from math import floor

from calculator.result import Generate, Layer, Memory, Result, Stage
from calculator.spec import CalculatorError, Hardware, Model, Settings

__all__ = ["analyze"]

_new = tuple.__new__
_DEFAULT_SETTINGS = Settings()

_NORM_OPS = 7  # ops per element of RMSNorm / LayerNorm (Table 1: 59M ops for 2048 x 4096)
_SOFTMAX_OPS = 5  # ops per score (Table 1: 671M ops for 32 x 2048 x 2048): max, sub, exp, sum, div
_ADD_OPS = 1  # ops per element of a residual add (Table 1: 8M ops for 2048 x 4096)
_SILU_GATE_OPS = 6  # silu(g) * u: negate, exp, add, divide (sigmoid), multiply by g, multiply by u
_RELU_OPS = 1
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
        if kv_heads % n and n % kv_heads:
            raise CalculatorError(
                f"tp {n} and num_key_value_heads ({kv_heads}) must divide one another"
            )
        if not hardware.interconnect_bandwidth:
            raise CalculatorError(
                f"hardware {hardware.id} has no interconnect bandwidth; tensor parallelism needs one"
            )
        if kv_heads < n:
            notes.append(f"{kv_heads} KV heads on {n} devices: each device keeps a copy of one KV head")
    p.b = s.batch
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
    # Bytes per element. Linear-layer weights: w_bits plus one fp16 scale and zero point per group.
    p.w = s.w_bits / 8 + (_SCALE_ZERO_BYTES / s.group_size if s.group_size else 0.0)
    p.a = s.a_bits / 8
    p.kv = s.kv_bits / 8 + (_SCALE_ZERO_BYTES / s.kv_group_size if s.kv_group_size else 0.0)
    hi_bits = max(16, s.w_bits)
    p.hi = hi_bits / 8  # biases and norm weights: never below 16 bits
    head_bits = s.w_bits if s.quantize_head else hi_bits
    p.hb = p.w if s.quantize_head else hi_bits / 8  # embedding and lm_head matrices
    p.bw = float(hardware.memory_bandwidth)
    p.link = hardware.interconnect_bandwidth / 2  # per direction: the datasheet figure is both ways
    p.flash = s.flash_attention
    roles = (
        ("linear", max(s.w_bits, s.a_bits)),
        ("attention", max(s.a_bits, s.kv_bits)),
        ("lm_head", max(head_bits, s.a_bits)),
        ("elementwise", max(16, s.a_bits)),
    )
    fmts, peaks, fallbacks = {}, {}, {}
    for role, bits in roles:
        fmt, peak, fallback = compute_format(bits, s.number_format, hardware)
        fmts[role], peaks[role] = fmt, peak
        if fallback and role != "elementwise":
            kind = f"{s.number_format}{bits}" if bits <= 8 else ("fp16" if bits <= 16 else "fp32")
            fallbacks.setdefault((kind, fmt), []).append(role)
    for (kind, fmt), names in fallbacks.items():
        notes.append(f"{hardware.id} lists no peak for {kind} compute: {', '.join(names)} layers use "
                     f"its {fmt} peak")
    p.fmts, p.peaks, p.notes = fmts, peaks, notes
    return p


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


def _attention(p: _Plan, q: int, n: int) -> list:
    """The context-dependent rows: q new tokens per sequence attend to n tokens.

    Unfused (Table 1): scores = b*H_d*q*n;
      qk_matmul ops 2*scores*d, bytes T*H_d*d*a (Q) + b*n*K_d*d*kv (K) + scores*a (S written);
      softmax   ops 5*scores,   bytes 2*scores*a;
      sv_matmul ops 2*scores*d, bytes scores*a + b*n*K_d*d*kv (V) + T*H_d*d*a (O written).
    Fused (`flash_attention`): pairs = b*H_d*flash_pairs(q, n) (causal);
      attention ops pairs*(4d + 5), bytes 2*T*H_d*d*a (Q, O) + 2*b*n*K_d*d*kv (K, V once).
    """
    b, d, hq, L = p.b, p.d, p.hq, p.L
    a, kv, bw = p.a, p.kv, p.bw
    fmt, peak = p.fmts["attention"], p.peaks["attention"]
    qo_bytes = b * q * hq * d * a
    kv_read = b * n * p.hk * d * kv
    if p.flash:
        pairs = b * hq * flash_pairs(q, n)
        return [_row("attention", L, pairs * (4 * d + _SOFTMAX_OPS), 2 * qo_bytes + 2 * kv_read,
                     fmt, peak, bw)]
    scores = b * hq * q * n
    return [
        _row("qk_matmul", L, 2 * scores * d, qo_bytes + kv_read + scores * a, fmt, peak, bw),
        _row("softmax", L, _SOFTMAX_OPS * scores, 2 * scores * a,
             p.fmts["elementwise"], p.peaks["elementwise"], bw),
        _row("sv_matmul", L, 2 * scores * d, scores * a + kv_read + qo_bytes, fmt, peak, bw),
    ]


def _stage(p: _Plan, name: str, q: int, n: int) -> Stage:
    """Rows of one stage: q new tokens per sequence attending to a context of n tokens."""
    model = p.model
    b, h, i, d, hq, hk, L = p.b, p.h, p.i, p.d, p.hq, p.hk, p.L
    w, a, kv, hi, bw = p.w, p.a, p.kv, p.hi, p.bw
    fmts, peaks = p.fmts, p.peaks
    f_lin, p_lin = fmts["linear"], peaks["linear"]
    f_el, p_el = fmts["elementwise"], peaks["elementwise"]
    t = b * q
    qo = hq * d
    ko = hk * d

    norm = _row("attn_norm", L, _NORM_OPS * t * h, 2 * t * h * a, f_el, p_el, bw)
    qkv_bias = model.qkv_bias
    k_proj = _linear("k_proj", L, t, h, ko, w, a, kv, qkv_bias, hi, f_lin, p_lin, bw)
    rows = [
        norm,
        _linear("q_proj", L, t, h, qo, w, a, a, qkv_bias, hi, f_lin, p_lin, bw),
        k_proj,
        _renamed(k_proj, "v_proj"),
    ]
    rows += _attention(p, q, n)
    put = rows.append
    put(_linear("o_proj", L, t, qo, h, w, a, a, model.o_bias, hi, f_lin, p_lin, bw))
    if p.tp > 1:
        reduce = _allreduce("attn_allreduce", L, t * h, a, p.tp, p.link)
        put(reduce)
    add = _row("attn_add", L, _ADD_OPS * t * h, 2 * t * h * a, f_el, p_el, bw)
    put(add)
    put(_renamed(norm, "mlp_norm"))
    if p.E:
        put(_linear("router", L, t, h, p.E, w, a, a, False, hi, f_lin, p_lin, bw))
        routed = t * p.k  # token-expert assignments
        touched = expected_experts(p.E, p.k, t)
        gate = _row("gate_proj", L, 2 * routed * h * i, touched * h * i * w + routed * (h + i) * a,
                    f_lin, p_lin, bw)
        put(gate)
        put(_renamed(gate, "up_proj"))
        put(_row("mlp_act", L, _SILU_GATE_OPS * routed * i, 3 * routed * i * a, f_el, p_el, bw))
        put(_row("down_proj", L, 2 * routed * i * h, touched * i * h * w + routed * (i + h) * a,
                 f_lin, p_lin, bw))
    else:
        mlp_bias = model.mlp_bias
        up = _linear("up_proj", L, t, h, i, w, a, a, mlp_bias, hi, f_lin, p_lin, bw)
        if model.gated_mlp:
            put(_renamed(up, "gate_proj"))
            put(up)
            put(_row("mlp_act", L, _SILU_GATE_OPS * t * i, 3 * t * i * a, f_el, p_el, bw))
        else:
            put(up)
            put(_row("mlp_act", L, _RELU_OPS * t * i, 2 * t * i * a, f_el, p_el, bw))
        put(_linear("down_proj", L, t, i, h, w, a, a, mlp_bias, hi, f_lin, p_lin, bw))
    if p.tp > 1:
        put(_renamed(reduce, "mlp_allreduce"))
    put(_renamed(add, "mlp_add"))
    # Totals = sum of count x value; every row so far is a block layer (count L).
    _, _, ops, byts, times, *_ = zip(*rows)
    ops, byts, time_s = L * sum(ops), L * sum(byts), L * sum(times)
    link = 0.0
    if p.tp > 1:  # all-reduce bytes cross the interconnect, not DRAM
        link = 2 * L * reduce[3]
        byts -= link
    # lm_head: logits of the last position of each sequence only (b tokens, also in prefill).
    head = _linear("lm_head", 1, b, h, p.v, p.hb, a, a, False, hi, fmts["lm_head"], peaks["lm_head"], bw)
    rows.append(head)
    return Stage(name, rows, ops + head[2], byts + head[3], time_s + head[4], link)


def _allreduce(name, count, elements, a, n, link):
    """Ring all-reduce of a T x h activation over n devices: each device sends (and receives)
    2(n-1)/n x the message (T*h*a bytes) at the per-direction link bandwidth, and adds
    (n-1)/n x T*h elements."""
    sent = 2 * (n - 1) / n * elements * a
    return _new(Layer, (name, count, (n - 1) / n * elements, sent, sent / link, "interconnect", "link", 0.0))


def _weights_bytes(p: _Plan) -> float:
    """Per-device weight bytes: linear layers at w, vocabulary matrices at hb, the rest at hi."""
    model = p.model
    h, i, d, hq, hk = p.h, p.i, p.d, p.hq, p.hk
    qo, ko = hq * d, hk * d
    linear = 2 * h * qo + 2 * h * ko
    mlp = (3 if model.gated_mlp else 2) * h * i
    small = (4 * h) if model.norm == "layernorm" else (2 * h)
    if model.qkv_bias:
        small += qo + 2 * ko
    if model.o_bias:
        small += h
    mlp_small = (i + h) if model.mlp_bias else 0
    if p.E:
        mlp = mlp * p.E + h * p.E  # all experts are resident, plus the router
        mlp_small *= p.E
    per_layer = (linear + mlp) * p.w + (small + mlp_small) * p.hi
    vocab = p.v * h * (1 if model.tie_word_embeddings else 2) * p.hb
    final_norm = (2 * h if model.norm == "layernorm" else h) * p.hi
    positions = model.max_position_embeddings * h * p.hi if model.architecture == "opt" else 0
    return p.L * per_layer + vocab + final_norm + positions


def _kv_bytes(p: _Plan, tokens: int) -> float:
    """KV cache per device: 2 (K and V) x L x b x tokens x K_d x d x kv."""
    return 2 * p.L * p.b * tokens * p.hk * p.d * p.kv


def _activation_bytes(p: _Plan) -> float:
    """Peak prefill activations per device: the residual stream b*s*h*a plus the larger of the
    attention working set (scores read and written by softmax, 2*b*H_d*s*s*a; with flash
    attention only Q and O, 2*b*s*H_d*d*a) and the MLP working set (gate, up and product,
    3*b*s*I_d*a; 2*... for a plain MLP; b*s*k routed tokens for MoE)."""
    s = p.settings.seq_len
    t = p.b * s
    a = p.a
    attn = 2 * t * p.hq * p.d * a if p.flash else 2 * p.b * p.hq * s * s * a
    routed = t * p.k if p.E else t
    mlp = (3 if p.model.gated_mlp else 2) * routed * p.i * a
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
    decode step j = 1..G-1 feeds token j against a context of P + j - 1 cached tokens."""
    s = p.settings
    prompt, gen = s.seq_len, s.gen_len
    steps = gen - 1
    decode_time = 0.0
    if steps:
        # Only the attention rows depend on the context; every other row costs the same each step.
        # decode_time = steps x (decode time at the first context) + what attention adds later.
        bw = p.bw
        decode_time = steps * decode.time_s
        first = {row[0]: row for row in decode.layers}
        for r1 in _attention(p, 1, prompt + steps - 1):
            r0 = first[r1[0]]
            decode_time += r0[1] * (_sum_steps(r0, r1, steps, bw) - steps * r0[4])
    kv_end = _kv_bytes(p, prompt + steps)
    mem_end = memory.weights_bytes + kv_end + memory.activations_bytes
    return Generate(prompt, gen, p.b, prefill.time_s, decode_time, kv_end, mem_end,
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
