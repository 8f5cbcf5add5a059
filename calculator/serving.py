"""Serving: from the time of one batch to a loaded server (issue 15).

`calculator.analyze` answers "how long does one batch take". This module answers the questions of a
deployment, with pure functions of (model, hardware, settings) built on that answer:

- `capacity`: the largest batch whose weights, KV cache (allocated by a paged or a reserving allocator)
  and activation peak fit the device, and the longest context that fits at a given batch;
- `curve`: output tokens/s per device against time per output token (TPOT) and time to first token
  (TTFT) over the batch, ending at the capacity limit, with the knee where decode turns compute-bound;
- `continuous`: continuous batching with chunked prefill (SARATHI, Dynamic SplitFuse): the steady
  iteration at a request rate, its TTFT and TPOT, and the highest rate the server sustains;
- `disaggregated`: prefill and decode on separate pools (DistServe, Splitwise), the KV cache moved
  between them, goodput per device under TTFT/TPOT limits against the colocated server;
- `offload`: weights or KV cache kept in host memory and streamed over the host link each step
  (FlexGen, ZeRO-Inference), overlapped with compute or not.

The request shape is the settings' own: a prompt of `seq_len` tokens and `gen_len` output tokens per
request; `tp` devices form one instance (every per-device figure divides by them). Time is the
roofline's (a lower bound on real time), so every throughput here is an upper bound.

All of it rests on `StepModel`: one iteration of the model (any mix of prefill and decode tokens)
costs, row by row, max(ops / peak, bytes / bandwidth) where a row's ops and bytes are affine in four
counts: the new tokens, the sequences whose logits are computed, the (query, key) pairs attention
scores, and the cached tokens attention reads. Four or five `analyze` calls give the coefficients, so
a decode step at any batch and context costs a dozen multiply-adds instead of an analysis.
docs/roofline.md ("Serving") redoes the worked examples below by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from math import ceil, floor

from calculator.core import analyze, expected_experts, flash_pairs, window_pairs
from calculator.spec import CalculatorError, Hardware, Model, Settings

__all__ = [
    "ALLOCATORS",
    "Capacity",
    "StepModel",
    "capacity",
    "continuous",
    "curve",
    "compare",
    "disaggregated",
    "expected_curve",
    "knee",
    "longest_context",
    "offload",
    "serve",
]

ALLOCATORS = ("paged", "reserve")
"""KV-cache allocators: ``paged`` allocates fixed blocks as a sequence grows (PagedAttention, vLLM);
``reserve`` sets aside the maximum sequence length for every request when it is admitted."""

_MAX_BATCH = 1 << 20  # where no memory limit can be stated (capacity unknown)


# --- one iteration as affine rows --------------------------------------------------------------------

def _sum_max(f0: float, f1: float, g0: float, g1: float, m: int) -> float:
    """Sum over j = 0..m-1 of max(f0 + f1*j, g0 + g1*j), exactly: the two lines cross at most once."""
    if m <= 0:
        return 0.0
    last = m - 1
    d0, d1 = f0 - g0, (f0 + f1 * last) - (g0 + g1 * last)
    if d0 >= 0 and d1 >= 0:
        return m * f0 + f1 * last * m / 2
    if d0 <= 0 and d1 <= 0:
        return m * g0 + g1 * last * m / 2
    k = min(last - 1, max(0, floor(d0 / (d0 - d1) * last)))  # last index on j = 0's side
    a0, a1, b0, b1 = (f0, f1, g0, g1) if d0 > 0 else (g0, g1, f0, f1)
    n1, n2 = k + 1, last - k
    first = n1 * a0 + a1 * k * n1 / 2
    second = n2 * b0 + b1 * (k + 1 + last) * n2 / 2
    return first + second


class StepModel:
    """The cost of one iteration of `model` on `hardware` under `settings` (formats, tp, kernels).

    An iteration computes `tokens` new tokens, the logits of `seqs` sequences, `pairs` attention
    (query, key) pairs, and reads `kv` cached tokens (summed over sequences). Row r of the decode
    analysis has ops_r = A + B*x + P*pairs + K*kv and bytes_r likewise (x = seqs for lm_head, else
    tokens), and

        time = sum_r count_r * max(ops_r / peak_r, bytes_r / bandwidth)

    (all-reduce rows: bytes / link). A decode step of b sequences at context c is
    (tokens=b, seqs=b, pairs=b*c, kv=b*c). Window rows (``window_*``, layers that see only the last
    `sliding_window` tokens) take the same counts clipped to the window, which `counts` computes;
    the prefill of whole prompts has its own rows (fitted from prefill analyses), since a model may
    run its prefill another way (MLA: the latent expanded per head, not absorbed).

    Coefficients: decode rows from three decode analyses ((b, c) = (1, C0), (2, C0), (1, C1), below
    any window), a prefill analysis splitting a context coefficient into pairs and reads where the
    two stages share their rows (else ops go with pairs and bytes with reads, as fused attention
    counts them); prefill rows from three prefill analyses. A fourth decode at b = 3 finds rows not
    affine in the tokens (mixture-of-experts weights: the experts touched grow sub-linearly), which
    are looked up from cached analyses instead; `_verify` holds the whole to a long-context decode and
    a larger prefill and refuses, in one line, a model it cannot reproduce.
    tests/calculator/test_serving.py holds the step model equal to `analyze` at many points.

    Worked example (Llama-2-7b, H100 SXM, fp16): `decode_step(1, 1024)` = 4.108 ms, equal to
    `analyze(..., Settings(batch=1, seq_len=1024, stage="decode")).stages["decode"].time_s`: every row
    is memory-bound, so it is the bytes read, 13.21e9 (the weights but the embedding table) + 1024 x
    524,288 (the cache) + activations, over 3.35e12 B/s.
    """

    TAB_MAX = 65536

    def __init__(self, model: Model, hardware: Hardware, settings: Settings):
        self.model, self.hardware = model, hardware
        self.settings = s = replace(settings, stage="decode")
        self.flash = settings.flash_attention
        self.devices = settings.tp
        self.window = int(getattr(model, "sliding_window", 0) or 0)
        w = self.window
        self.C0, self.C1 = (16, 32) if not w or w >= 32 else (max(1, w // 4), max(2, w // 2))
        self.S0, self.S1 = 16, 48
        C0, C1, S0, S1 = self.C0, self.C1, self.S0, self.S1

        def stage(name, b, n):
            return analyze(model, hardware, replace(s, stage=name, batch=b, seq_len=n)).stages[name].layers

        first = analyze(model, hardware, replace(s, stage="decode", batch=1, seq_len=C0))
        d11, d21, d12, d31 = first.stages["decode"].layers, stage("decode", 2, C0), stage("decode", 1, C1), \
            stage("decode", 3, C0)
        p11, p21, p12 = stage("prefill", 1, S0), stage("prefill", 2, S0), stage("prefill", 1, S1)
        names = [r[0] for r in d11]
        pnames = [r[0] for r in p11]
        if any([r[0] for r in o] != names for o in (d21, d12, d31)) or \
                any([r[0] for r in o] != pnames for o in (p21, p12)):
            raise CalculatorError("the serving model needs the same layers at every batch and context")
        shared = pnames == names
        bw = float(hardware.memory_bandwidth)

        def rates(r):
            if r[5] == "interconnect":
                return 0.0, (r[4] / r[3] if r[3] else 0.0)
            return 1.0 / r[7], 1.0 / bw

        self.rows, self.tabulated, self._table, self.expert_rows = [], [], {}, []
        E, k = int(getattr(model, "num_local_experts", 0) or 0), int(getattr(model, "num_experts_per_tok", 0) or 0)
        self.E, self.k = E, k
        self.expert_names = set()
        d_big = stage("decode", 1000, C0) if E else None
        for i, name in enumerate(names):
            r11, r21, r12, r31 = d11[i], d21[i], d12[i], d31[i]
            head, win = name == "lm_head", name.startswith("window_")
            coef = []
            for f in (2, 3):  # ops, bytes
                S = (r12[f] - r11[f]) / (C1 - C0)
                B = r21[f] - r11[f] - S * C0
                A = r11[f] - B - S * C0
                if abs(A + 3 * B + 3 * S * C0 - r31[f]) > 1e-9 * max(abs(r31[f]), 1.0):
                    coef = None
                    break
                if S == 0:
                    P = 0.0
                elif shared:  # one prefill of S0 tokens splits S into pairs and reads
                    x = 1 if head else S0
                    pairs0 = self.pairs(S0, S0, win)
                    P = (p11[i][f] - A - B * x - S * S0) / (pairs0 - S0)
                else:
                    P = S if f == 2 else 0.0
                coef.append((A, B, P, S - P))
            ip, ir = rates(r11)
            if coef is None:
                expert = self._fit_experts(r11, r21, r31, d_big[i] if d_big else None) if E else None
                if expert is None:
                    self.tabulated.append((i, r11[1], ip, ir))
                else:
                    self.expert_rows.append((r11[1], ip, ir) + expert)
                    self.expert_names.add(name)
                continue
            (Ao, Bo, Po, Ko), (Ay, By, Py, Ky) = coef
            self.rows.append((r11[1], ip, ir, head, win, Ao, Bo, Po, Ko, Ay, By, Py, Ky))
        # whole-prompt prefill rows: value = A + M * (b*s, or b for lm_head) + Pc * b * pairs(s, s)
        self.pre_rows = []
        looked_up = {names[i] for i, *_ in self.tabulated} | self.expert_names  # the same rows at b*s tokens
        for i, name in enumerate(pnames):
            if name in looked_up:
                continue
            r11, r21, r12 = p11[i], p21[i], p12[i]
            head, win = name == "lm_head", name.startswith("window_")
            x0, x1 = (1, 1) if head else (S0, S1)
            q0, q1 = self.pairs(S0, S0, win), self.pairs(S1, S1, win)
            coef = []
            for f in (2, 3):
                # b = 1 -> 2 at S0 adds M*x0 + Pc*q0; s = S0 -> S1 at b = 1 adds M*(x1 - x0) + Pc*(q1 - q0)
                d_b, d_s = r21[f] - r11[f], r12[f] - r11[f]
                if head:
                    Pc = d_s / (q1 - q0)
                    M = d_b - Pc * q0
                else:
                    det = x0 * (q1 - q0) - q0 * (x1 - x0)
                    M = (d_b * (q1 - q0) - q0 * d_s) / det
                    Pc = (x0 * d_s - (x1 - x0) * d_b) / det
                A = r11[f] - M * x0 - Pc * q0
                coef.append((A, M, Pc))
            ip, ir = rates(r11)
            (Ao, Mo, Qo), (Ay, My, Qy) = coef
            self.pre_rows.append((r11[1], ip, ir, head, win, Ao, Mo, Qo, Ay, My, Qy))
        self.capacity_bytes = float(hardware.memory_bytes)
        self.weights_bytes = first.memory.weights_bytes
        self._kv = {C0: first.memory.kv_cache_bytes}
        self.kv_token_bytes = first.memory.kv_cache_bytes / C0  # per cached token of one sequence, per device
        self._act = {}
        self._verify(model, hardware, s)

    def _fit_experts(self, r1, r2, r3, r1000):
        """Mixture-of-experts rows: value = A + B*t + C*touched(t) with touched = expected_experts(E, k, t),
        solved from t = 1, 2, 3 and checked at t = 1000; None when the row does not follow that form."""
        taus = [expected_experts(self.E, self.k, t) for t in (1, 2, 3, 1000)]
        coef = []
        for f in (2, 3):
            v1, v2, v3 = r1[f], r2[f], r3[f]
            # differences remove A: v2 - v1 = B + C (tau2 - tau1); v3 - v2 = B + C (tau3 - tau2)
            d1, d2 = taus[1] - taus[0], taus[2] - taus[1]
            if abs(d1 - d2) < 1e-12:
                return None
            C = ((v2 - v1) - (v3 - v2)) / (d1 - d2)
            B = (v2 - v1) - C * d1
            A = v1 - B - C * taus[0]
            if r1000 is None or abs(A + 1000 * B + C * taus[3] - r1000[f]) > 1e-7 * max(abs(r1000[f]), 1.0):
                return None
            coef += [A, B, C]
        return tuple(coef)

    def _moe(self, tokens: float) -> float:
        """Time of the expert rows at `tokens` tokens (see `_fit_experts`)."""
        if not self.expert_rows or tokens <= 0:
            return 0.0
        return self._expert_time(tokens, expected_experts(self.E, self.k, tokens))

    def _expert_time(self, tokens: float, tau: float) -> float:
        """The fitted expert rows at `tokens` tokens with `tau` experts touched per layer."""
        total = 0.0
        for n, ip, ir, Ao, Bo, Co, Ay, By, Cy in self.expert_rows:
            c = (Ao + Bo * tokens + Co * tau) * ip
            m = (Ay + By * tokens + Cy * tau) * ir
            total += n * (c if c > m else m)
        return total

    def _verify(self, model: Model, hardware: Hardware, s: Settings) -> None:
        """Hold the fitted rows to further analyses far from the probes (a long context past any window, a
        larger batch, a longer prompt): a model the rows cannot reproduce is refused in one line rather
        than extrapolated."""
        checks = (("decode", 5, 65536, self.decode_step), ("prefill", 2, 200, self.prefill))
        for stage, b, n, mine in checks:
            result = analyze(model, hardware, replace(s, stage=stage, batch=b, seq_len=n))
            want, got = result.stages[stage].time_s, mine(b, n)
            if abs(got - want) > 1e-6 * want:
                raise CalculatorError(
                    f"the serving model cannot reproduce the {stage} time of {model.id} at batch {b}, "
                    f"{n} tokens ({got:.6g} s against {want:.6g} s)")

    # the counts ------------------------------------------------------------------------------------
    def pairs(self, q: float, n: float, window: bool = False) -> float:
        """(query, key) pairs one sequence's attention scores for q new tokens after n - q cached ones:
        the causal count with fused attention, the full q x n square unfused (as `analyze` counts);
        `window`: for a layer that sees the last `sliding_window` tokens only."""
        if window and self.window:
            return window_pairs(q, n, self.window) if self.flash else q * min(n, self.window)
        return flash_pairs(q, n) if self.flash else q * n

    def reads(self, q: float, n: float, window: bool = False) -> float:
        """Cached tokens one sequence's attention reads for q new tokens after n - q (a window layer:
        at most W + q - 1)."""
        return min(n, self.window + q - 1) if window and self.window else n

    def kv_bytes(self, tokens: int) -> float:
        """KV cache of one sequence holding `tokens` tokens, per device (window layers keep at most W)."""
        tokens = max(1, int(tokens))
        got = self._kv.get(tokens)
        if got is None:
            got = analyze(self.model, self.hardware,
                          replace(self.settings, batch=1, seq_len=tokens)).memory.kv_cache_bytes
            self._kv[tokens] = got
        return got

    def activation_bytes(self, tokens: int) -> float:
        """Peak prefill activations of one sequence of `tokens` tokens (analyze's `activations_bytes`)."""
        tokens = max(1, int(tokens))
        got = self._act.get(tokens)
        if got is None:
            got = analyze(self.model, self.hardware,
                          replace(self.settings, batch=1, seq_len=tokens)).memory.activations_bytes
            self._act[tokens] = got
        return got

    def _tab(self, tokens: float, stage: str = "decode") -> float:
        """Time of the tabulated (non-affine) rows at `tokens` tokens, interpolated between integers."""
        if not self.tabulated or tokens <= 0:
            return 0.0
        lo = max(1, floor(tokens))
        hi = lo + 1 if tokens > lo else lo

        def at(t):
            got = self._table.get(t)
            if got is None:
                layers = analyze(self.model, self.hardware,
                                 replace(self.settings, batch=t, seq_len=self.C0)).stages["decode"].layers
                got = 0.0
                for i, count, inv_peak, inv_rate in self.tabulated:
                    row = layers[i]
                    got += count * max(row[2] * inv_peak, row[3] * inv_rate)
                self._table[t] = got
            return got

        if lo >= self.TAB_MAX:  # every expert is touched long before: the rows are affine from here
            top = at(self.TAB_MAX)
            return top + (tokens - self.TAB_MAX) * (top - at(self.TAB_MAX - 1))
        if hi == lo:
            return at(lo) * (tokens / lo if tokens < 1 else 1.0)
        w = tokens - lo
        return at(lo) * (1 - w) + at(hi) * w

    # costs -----------------------------------------------------------------------------------------
    def time(self, tokens: float, seqs: float, pairs: float, kv: float, wpairs: float | None = None,
             wkv: float | None = None) -> float:
        """Seconds of one iteration with these counts (see the class docstring); `wpairs` and `wkv` are
        the window layers' counts (default: the same as the full layers')."""
        wpairs = pairs if wpairs is None else wpairs
        wkv = kv if wkv is None else wkv
        total = 0.0
        for n, ip, ir, head, win, Ao, Bo, Po, Ko, Ay, By, Py, Ky in self.rows:
            x = seqs if head else tokens
            pp, kk = (wpairs, wkv) if win else (pairs, kv)
            c = (Ao + Bo * x + Po * pp + Ko * kk) * ip
            m = (Ay + By * x + Py * pp + Ky * kk) * ir
            total += n * (c if c > m else m)
        return total + self._tab(tokens) + self._moe(tokens)

    def split(self, tokens: float, seqs: float, pairs: float, kv: float, weights_only: bool = False,
              wpairs: float | None = None, wkv: float | None = None) -> tuple[float, float]:
        """(compute time, memory-and-link time) of the iteration: the sums of each side of every row's max,
        the two lines whose crossing is the knee of `curve` (`weights_only`: only the rows that do not
        read the cache, i.e. the layers streaming weights)."""
        wpairs = pairs if wpairs is None else wpairs
        wkv = kv if wkv is None else wkv
        comp = mem = 0.0
        for n, ip, ir, head, win, Ao, Bo, Po, Ko, Ay, By, Py, Ky in self.rows:
            if weights_only and (Po or Ko or Py or Ky):
                continue
            x = seqs if head else tokens
            pp, kk = (wpairs, wkv) if win else (pairs, kv)
            comp += n * (Ao + Bo * x + Po * pp + Ko * kk) * ip
            mem += n * (Ay + By * x + Py * pp + Ky * kk) * ir
        if self.expert_rows and tokens > 0:
            tau = expected_experts(self.E, self.k, tokens)
            for n, ip, ir, Ao, Bo, Co, Ay, By, Cy in self.expert_rows:
                comp += n * (Ao + Bo * tokens + Co * tau) * ip
                mem += n * (Ay + By * tokens + Cy * tau) * ir
        tab = self._tab(tokens)
        return comp + tab / 2, mem + tab / 2  # rows looked up, not fitted, counted evenly

    def decode_counts(self, batch: float, context: float) -> tuple:
        """(tokens, seqs, pairs, kv, wpairs, wkv) of a decode step of `batch` sequences at `context`."""
        return (batch, batch, batch * self.pairs(1, context), batch * context,
                batch * self.pairs(1, context, True), batch * self.reads(1, context, True))

    def decode_step(self, batch: float, context: float) -> float:
        """One decode step of `batch` sequences, each attending to `context` cached tokens."""
        return self.time(*self.decode_counts(batch, context))

    def prefill(self, batch: float, prompt: int) -> float:
        """The prefill of `batch` prompts of `prompt` tokens in one iteration (= analyze's prefill time)."""
        total = 0.0
        full, win = self.pairs(prompt, prompt), self.pairs(prompt, prompt, True)
        for n, ip, ir, head, w, Ao, Mo, Qo, Ay, My, Qy in self.pre_rows:
            x = batch if head else batch * prompt
            q = batch * (win if w else full)
            c = (Ao + Mo * x + Qo * q) * ip
            m = (Ay + My * x + Qy * q) * ir
            total += n * (c if c > m else m)
        return total + self._tab(batch * prompt) + self._moe(batch * prompt)

    def decode_total(self, batch: float, prompt: int, gen: int) -> float:
        """Seconds of the gen - 1 decode steps after the first token: step j = 0..gen-2 attends to
        prompt + j cached tokens (as analyze's `generate`). Each row's ops and bytes are affine in j (a
        window row: until the context reaches the window, constant after), so its sum of maxima is
        exact (`_sum_max` on each piece)."""
        m = gen - 1
        if m <= 0:
            return 0.0
        total = 0.0
        b = batch
        W = self.window
        for n, ip, ir, head, win, Ao, Bo, Po, Ko, Ay, By, Py, Ky in self.rows:
            Sc, Sy = Po + Ko, Py + Ky
            if Sc == 0 and Sy == 0:
                o0, y0 = (Ao + Bo * b) * ip, (Ay + By * b) * ir
                total += n * m * (o0 if o0 > y0 else y0)
                continue
            grow = m if not (win and W) else max(0, min(m, W - prompt + 1))  # steps whose context is below W
            if grow:
                o0 = (Ao + Bo * b + Sc * b * prompt) * ip
                y0 = (Ay + By * b + Sy * b * prompt) * ir
                total += n * _sum_max(o0, Sc * b * ip, y0, Sy * b * ir, grow)
            if grow < m:
                o0 = (Ao + Bo * b + Sc * b * W) * ip
                y0 = (Ay + By * b + Sy * b * W) * ir
                total += n * (m - grow) * (o0 if o0 > y0 else y0)
        return total + m * (self._tab(b) + self._moe(b))


# --- capacity ------------------------------------------------------------------------------------------

@dataclass
class Capacity:
    """What fits one instance (per device figures): see `capacity`."""

    max_batch: int | None
    capacity_bytes: float
    usable_bytes: float
    weights_bytes: float
    kv_bytes_per_sequence: float
    kv_tokens_per_sequence: int
    kv_tokens_allocated: int
    activation_bytes: float
    allocator: str
    block_size: int
    reserved_tokens: int
    waste_fraction: float
    batch: int
    longest_context: int | None
    notes: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _check_allocator(allocator: str, block_size: int, memory_fraction: float) -> None:
    if allocator not in ALLOCATORS:
        raise CalculatorError(f"allocator must be one of {', '.join(ALLOCATORS)}, got {allocator!r}")
    if isinstance(block_size, bool) or not isinstance(block_size, int) or not 1 <= block_size <= 1_000_000:
        raise CalculatorError(f"block_size must be an integer from 1 to 1e+06, got {block_size!r}")
    if isinstance(memory_fraction, bool) or not isinstance(memory_fraction, (int, float)) \
            or not 0 < memory_fraction <= 1:
        raise CalculatorError(f"memory_fraction must be above 0 and at most 1, got {memory_fraction!r}")


def _allocated(tokens: int, allocator: str, block_size: int, reserve: int) -> int:
    """Cache slots one sequence holds for `tokens` cached tokens: whole blocks (paged) or the reservation."""
    if allocator == "paged":
        return -(-tokens // block_size) * block_size
    return max(reserve, tokens)


def capacity(model: Model, hardware: Hardware, settings: Settings, *, allocator: str = "paged",
             block_size: int = 16, max_seq_len: int | None = None, prefill_tokens: int | None = None,
             memory_fraction: float = 1.0, step: StepModel | None = None) -> Capacity:
    """The largest batch of requests (prompt seq_len, gen_len out) one instance holds.

    Per device, with C the device memory x `memory_fraction`, W the weights, e = seq_len + gen_len - 1
    the tokens a finished request has cached, k the KV bytes per cached token:

        peak(b) = W + b * k * alloc(e) + act(b)        max_batch = the largest b with peak(b) <= C

    - alloc (the allocator): ``paged`` holds whole blocks, ceil(e / block_size) * block_size tokens
      (PagedAttention: at most one partly filled block per sequence); ``reserve`` sets aside
      `max_seq_len` tokens (default the model's max_position_embeddings, else e) when a request is
      admitted, as servers without paging do, so the unused reservation is memory no one can use.
    - act: the activations of one prefill iteration: all b prompts at once (b * act(seq_len), static
      batching) or, with `prefill_tokens` (a chunked-prefill token budget), act(prefill_tokens).
    Every sequence is counted at its full length, the steady state of a continuously batched server.

    Worked example (Llama-2-7b on an 80 GiB H100 SXM, fp16, prompt 512, 128 out, paged, blocks of 16):
    W = 13.48e9 B; k = 2 x 32 layers x 4096 x 2 B = 524,288 B; e = 639 -> 640 slots = 335.5e6 B per
    sequence; act(512) = 512 x (4096 + 3 x 11008) x 2 B = 38.0e6 B per prompt; C = 85.9e9 B:
    b = floor((85.9e9 - 13.48e9) / (335.5e6 + 38.0e6)) = 193. Reserving 4096 tokens instead
    (2147.5e6 B each): b = 33.

    The longest context at `settings.batch`: the largest n with W + batch*k*alloc(n) + act <= C (prompt
    activations at n tokens when no budget is given).
    """
    _check_allocator(allocator, block_size, memory_fraction)
    step = step or StepModel(model, hardware, settings)
    P, G = settings.seq_len, settings.gen_len
    end = P + G - 1
    notes = []
    if max_seq_len is None:
        max_seq_len = model.max_position_embeddings or end
    if isinstance(max_seq_len, bool) or not isinstance(max_seq_len, int) or max_seq_len <= 0:
        raise CalculatorError(f"max_seq_len must be a positive integer, got {max_seq_len!r}")
    if allocator == "reserve" and max_seq_len < end:
        notes.append(f"max_seq_len {max_seq_len} is below the request's {end} tokens: the reservation "
                     f"grows to the request")
    if model.max_position_embeddings and end > model.max_position_embeddings:
        notes.append(f"the request's {end} tokens exceed the model's {model.max_position_embeddings} positions")
    if prefill_tokens is not None and (isinstance(prefill_tokens, bool) or not isinstance(prefill_tokens, int)
                                       or prefill_tokens <= 0):
        raise CalculatorError(f"prefill_tokens must be a positive integer, got {prefill_tokens!r}")
    slots = _allocated(end, allocator, block_size, max_seq_len)
    kv_seq = step.kv_bytes(slots)
    if prefill_tokens is None:
        act_fixed, act_seq = 0.0, step.activation_bytes(P)
    else:
        act_fixed, act_seq = step.activation_bytes(prefill_tokens), 0.0
    cap = step.capacity_bytes
    usable = cap * memory_fraction
    longest = None
    if not cap:
        max_batch = None
        notes.append(f"hardware {hardware.id} states no memory capacity: no batch limit")
    else:
        free = usable - step.weights_bytes - act_fixed
        per = kv_seq + act_seq
        max_batch = max(0, int(free // per)) if free > 0 else 0
        while max_batch > 0 and step.weights_bytes + act_fixed + max_batch * per > usable:
            max_batch -= 1
        while step.weights_bytes + act_fixed + (max_batch + 1) * per <= usable:
            max_batch += 1
        if max_batch == 0:
            notes.append("one request of this shape does not fit")
        longest = longest_context(step, settings.batch, usable, allocator=allocator, block_size=block_size,
                                  max_seq_len=max_seq_len, prefill_tokens=prefill_tokens)
    return Capacity(max_batch, cap, usable, step.weights_bytes, kv_seq, end, slots,
                    act_fixed + act_seq * (max_batch or 0), allocator, block_size,
                    max_seq_len if allocator == "reserve" else 0,
                    (slots - end) / slots if slots else 0.0, settings.batch, longest, notes)


def longest_context(step: StepModel, batch: int, usable: float, *, allocator: str = "paged",
                    block_size: int = 16, max_seq_len: int = 0, prefill_tokens: int | None = None) -> int:
    """The largest n (cached tokens per sequence) with W + batch*k*alloc(n) + act <= usable, where act
    is batch * act(n) (the prompts prefilled at once) or act(prefill_tokens); 0 when none fits.
    With ``reserve`` a sequence holds max(max_seq_len, n) slots: below the reservation n costs nothing more.
    Found by bisection: the peak grows with n."""
    def fits(n: int) -> bool:
        act = step.activation_bytes(prefill_tokens) if prefill_tokens else batch * step.activation_bytes(n)
        return step.weights_bytes + batch * step.kv_bytes(_allocated(n, allocator, block_size, max_seq_len)) \
            + act <= usable

    if not fits(1):
        return 0
    lo, hi = 1, 2
    while hi <= 100_000_000 and fits(hi):
        lo, hi = hi, hi * 2
    if hi > 100_000_000:
        return lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


# --- the throughput-latency curve --------------------------------------------------------------------

def _point(step: StepModel, b: int, P: int, G: int) -> dict:
    ttft = step.prefill(b, P)
    decode = step.decode_total(b, P, G)
    tpot = decode / (G - 1) if G > 1 else step.decode_step(b, P)
    mid = P + (G - 2) / 2 if G > 1 else P
    tk, sq, pr, kv, wp, wk = step.decode_counts(b, mid)
    comp, mem = step.split(tk, sq, pr, kv, False, wp, wk)
    n = step.devices
    return {
        "batch": b,
        "ttft_s": ttft,
        "tpot_s": tpot,
        "e2e_latency_s": ttft + decode,
        "tokens_per_s_per_device": b * G / (ttft + decode) / n,
        "decode_tokens_per_s_per_device": b / tpot / n,
        "tokens_per_s_per_user": 1 / tpot,
        "decode_bound": "compute" if comp > mem else "memory",
    }


def knee(step: StepModel, P: int, G: int, limit: int = _MAX_BATCH, weights_only: bool = False) -> int | None:
    """The smallest batch at which the decode step (at the request's mean context) turns compute-bound:
    the sum over rows of ops/peak reaches the sum of bytes/bandwidth. Both sums are affine in the batch
    (b* = (M0 - C0) / (C1 - M1)), found here by bisection so that MoE rows fit the same rule. None when
    the step stays memory-bound up to `limit` (attention's cache reads grow as fast as its compute:
    multi-head attention at long contexts). `weights_only`: the same for the rows that do not read the
    cache (the linear layers: 2 ops per weight per token against w bytes per weight, so the knee is near
    ridge x w / 2, for fp16 on an H100 989.5e12 / 3.35e12 = 295, and 373 for Llama-2-7b once the
    activations' own traffic counts), the classic knee of a throughput curve."""
    mid = P + (G - 2) / 2 if G > 1 else P

    def compute_bound(b):
        tk, sq, pr, kv, wp, wk = step.decode_counts(b, mid)
        comp, mem = step.split(tk, sq, pr, kv, weights_only, wp, wk)
        return comp >= mem

    if compute_bound(1):
        return 1
    if not compute_bound(limit):
        return None
    lo, hi = 1, limit
    while hi - lo > 1:
        m = (lo + hi) // 2
        lo, hi = (lo, m) if compute_bound(m) else (m, hi)
    return hi


def _batches(limit: int) -> list:
    out, b = [], 1
    while b < limit:
        out.append(b)
        b *= 2
    out.append(limit)
    return out


def curve(model: Model, hardware: Hardware, settings: Settings, *, batches=None, step: StepModel | None = None,
          cap: Capacity | None = None, **capacity_options) -> dict:
    """Throughput against latency over the batch, for static batches of the request shape.

    Point at batch b (per device: divided by tp):
        ttft_s  = prefill(b, seq_len)                       (one iteration of b prompts)
        tpot_s  = decode_total(b) / (gen_len - 1)           (mean over the growing context)
        tokens_per_s_per_device = b * gen_len / (ttft + decode_total) / tp
        decode_tokens_per_s_per_device = b / tpot / tp;  tokens_per_s_per_user = 1 / tpot
    Batches: powers of two up to the capacity limit and the limit itself (1024 where the device states
    no capacity), or `batches`. `knee_batch`: the smallest batch whose decode step is compute-bound
    (None: never); `weights_knee_batch`: the same for the weight-streaming rows alone (`knee`).

    Worked example (Llama-2-7b, H100 SXM, fp16, b = 1, context c): the decode step reads the weights but
    the embedding table, 13.21e9 B, and the cache, 524,288 B x c, at 3.35e12 B/s: 3.94 ms + c x 0.156 us
    (prompt 512, 128 out: mean context 575, tpot 4.04 ms, 248 tokens/s); at b = 64 the
    linear layers are still memory-bound (ridge 989.5e12 / 3.35e12 = 295 ops/B, a linear layer's
    intensity ~ b ops/B at 16 bits), so the step grows only by the cache reads and throughput rises ~b.
    """
    step = step or StepModel(model, hardware, settings)
    cap = cap or capacity(model, hardware, settings, step=step, **capacity_options)
    P, G = settings.seq_len, settings.gen_len
    limit = cap.max_batch if cap.max_batch is not None else 1024
    if batches is None:
        batches = _batches(limit) if limit > 0 else []
    points = [_point(step, b, P, G) for b in batches]
    k, kw = knee(step, P, G), knee(step, P, G, weights_only=True)
    within = None if cap.max_batch is None else {"knee_batch": k is not None and k <= cap.max_batch,
                                                 "weights_knee_batch": kw is not None and kw <= cap.max_batch}
    return {"points": points, "max_batch": cap.max_batch, "knee_batch": k, "weights_knee_batch": kw,
            "knees_within_capacity": within}


# --- continuous batching with chunked prefill --------------------------------------------------------

def _prefill_counts(step: StepModel, P: int, chunk: int) -> tuple[float, float, float, float]:
    """Pairs and cached tokens read per prefill token when a prompt of P tokens is prefilled in chunks of
    `chunk` tokens: chunk j attends to the j*chunk tokens before it plus itself, and reads that prefix's
    K and V once (the overhead of chunking: the prefix is re-read by every later chunk). Returns the full
    layers' (pairs, reads) and the window layers' (pairs, reads), per prompt token."""
    pairs = kv = wpairs = wkv = 0.0
    start = 0
    while start < P:
        q = min(chunk, P - start)
        n = start + q
        pairs += step.pairs(q, n)
        kv += n
        wpairs += step.pairs(q, n, True)
        wkv += step.reads(q, n, True)
        start = n
    return pairs / P, kv / P, wpairs / P, wkv / P


def continuous(model: Model, hardware: Hardware, settings: Settings, rate: float, *, token_budget: int = 512,
               step: StepModel | None = None, cap: Capacity | None = None, **capacity_options) -> dict:
    """Steady state of continuous batching with chunked prefill at `rate` requests/s per instance.

    Every iteration runs all decoding requests (one token each) and fills the rest of a `token_budget`
    with prefill chunks (SARATHI-Serve's stall-free batching). With T the mean iteration time, P the
    prompt and G the output length, Little's law gives the mix of one iteration:

        decodes D = rate * T * (G - 1)       prefill tokens F = rate * T * P     (D + F <= token_budget)

    and T solves T = step(tokens = D + F, seqs = D + rate*T, pairs = D*pi_d + F*pi_p, kv = D*c_d + F*k_p),
    c_d = P + G/2 the mean decode context, pi_p and k_p the pairs and reads per prefill token for chunks
    of q = min(P, token_budget - D) tokens (`_prefill_counts`). The right side grows with T more slowly
    than T below saturation, so the least root is found by bisection. Then

        tpot_s = T        ttft_s = T/2 + ceil(P / q) * T        concurrent = rate * (ttft + (G-1) * T)

    (no queueing delay: a floor, close to the truth well below the highest rate; the chunks run the
    decode rows, so an MLA model's chunks attend absorbed); `tpot_worst_s` is the
    iteration a decode waits when it shares one with a prompt's last chunk, step(D decodes + q tokens):
    with chunks it stays near T, with whole prompts (a budget above P) it is a prefill (the stall that
    SARATHI-Serve's chunking removes). `sustainable` is False
    when no T fits the budget or the concurrent requests do not fit memory; `max_rate` is the highest
    sustainable rate (bisection on the rate).

    Worked example: a server whose iteration costs 20 ms regardless of its mix, P = 512, G = 129,
    rate 10/s: D = 10 x 0.02 x 128 = 25.6 decodes and F = 102.4 prefill tokens per iteration (128 of
    a 512 budget), q = 486 so a prompt takes 2 iterations: ttft = 50 ms, tpot = 20 ms.
    """
    if isinstance(token_budget, bool) or not isinstance(token_budget, int) or not 1 <= token_budget <= 10_000_000:
        raise CalculatorError(f"token_budget must be an integer from 1 to 1e+07, got {token_budget!r}")
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1e9:
        raise CalculatorError(f"rate must be a number of requests per second, 0 or more, got {rate!r}")
    step = step or StepModel(model, hardware, settings)
    cap = cap or capacity(model, hardware, settings, step=step, prefill_tokens=token_budget, **capacity_options)
    out = _steady(step, settings.seq_len, settings.gen_len, float(rate), token_budget, cap.max_batch)
    out["max_rate"] = _max_rate(step, settings.seq_len, settings.gen_len, token_budget, cap.max_batch)
    out["token_budget"] = token_budget
    out["max_batch"] = cap.max_batch
    return out


def _steady(step: StepModel, P: int, G: int, rate: float, budget: int, max_batch: int | None) -> dict:
    c_d = P + G / 2

    def mix(T):
        D = rate * T * (G - 1)
        F = rate * T * P
        q = max(1, min(P, int(budget - D))) if budget - D >= 1 else 1
        return D, F, q, _prefill_counts(step, P, q)

    def t_iter(T):
        D, F, q, (pi, kp, wpi, wkp) = mix(T)
        _, _, dp, dk, dwp, dwk = step.decode_counts(D, c_d)
        return step.time(D + F, D + rate * T, dp + F * pi, dk + F * kp, dwp + F * wpi, dwk + F * wkp)

    t0 = t_iter(0.0)
    result = {"rate": rate, "sustainable": False, "iteration_s": None, "tpot_s": None, "tpot_worst_s": None,
              "ttft_s": None, "decodes_per_iteration": None, "prefill_tokens_per_iteration": None, "chunk_tokens": None,
              "concurrent": None, "tokens_per_s_per_device": rate * G / step.devices}
    if rate == 0:
        T = t0
    else:
        t_max = budget / (rate * (P + G - 1))  # the iteration at which the mix fills the budget
        if t_max < t0 or t_iter(t_max) > t_max:
            return result
        lo, hi = t0, t_max  # t_iter(lo) >= lo, t_iter(hi) <= hi
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if t_iter(mid) > mid else (lo, mid)
        T = hi
    D, F, q, _ = mix(T)
    ttft = T / 2 + ceil(P / q) * T
    concurrent = rate * (ttft + (G - 1) * T)
    # the longest iteration a decode shares: its D decodes plus a prompt's last chunk (q tokens after P - q)
    _, _, dp, dk, dwp, dwk = step.decode_counts(D, c_d)
    worst = step.time(D + q, D + 1, dp + step.pairs(q, P), dk + P, dwp + step.pairs(q, P, True),
                      dwk + step.reads(q, P, True))
    result.update(iteration_s=T, tpot_s=T, tpot_worst_s=max(T, worst), ttft_s=ttft, decodes_per_iteration=D, prefill_tokens_per_iteration=F,
                  chunk_tokens=q, concurrent=concurrent,
                  sustainable=max_batch is None or 0 < max_batch and concurrent <= max_batch)
    return result


def _max_rate(step: StepModel, P: int, G: int, budget: int, max_batch: int | None, ok=None) -> float:
    """The highest rate whose steady state is sustainable (and passes `ok`), by bisection."""
    def good(r):
        s = _steady(step, P, G, r, budget, max_batch)
        return s["sustainable"] and (ok is None or ok(s))

    if not good(1e-9):
        return 0.0
    lo, hi = 1e-9, 1.0
    while good(hi):
        lo, hi = hi, hi * 2
        if hi > 1e9:
            return lo
    for _ in range(40):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if good(mid) else (lo, mid)
    return lo


# --- disaggregated prefill and decode ----------------------------------------------------------------

def disaggregated(model: Model, hardware: Hardware, settings: Settings, *, ttft_limit: float, tpot_limit: float,
                  prefill_tp: int | None = None, decode_tp: int | None = None, link_bandwidth: float | None = None,
                  token_budget: int = 512, **capacity_options) -> dict:
    """Goodput per device of separate prefill and decode pools against one colocated server.

    Prefill instance (prefill_tp devices): batches of b prompts, TTFT = prefill(b, P) + the KV cache
    sent to a decode instance, b * P * k_total / link (k_total the KV bytes per token of the whole
    model, each of the prefill_tp devices sending its share over its own link at half the datasheet's
    both-ways interconnect figure, or `link_bandwidth` bytes/s per device). b_p is the largest batch
    with TTFT <= ttft_limit; the instance serves r_p = b_p / prefill(b_p, P) requests/s (the transfer
    overlaps the next batch).
    Decode instance (decode_tp devices): the largest batch b_d within its capacity (no prefill
    activations) whose TPOT <= tpot_limit; it serves r_d = b_d / (TPOT * (G - 1)) requests/s.
    A request costs prefill_tp / r_p + decode_tp / r_d device-seconds, so

        goodput per device = 1 / (prefill_tp / r_p + decode_tp / r_d)   requests/s   (x G tokens/s)

    and the pools balance at prefill : decode instances = r_d : r_p (`pools`: the best small integer
    split). Colocated: `continuous` at settings.tp, the highest rate whose TTFT and TPOT meet the
    limits, divided by tp. Queueing is not modelled (both sides are floors on latency).

    Worked example: r_p = 20 requests/s on 1 device, r_d = 5 requests/s on 1 device: a request costs
    1/20 + 1/5 = 0.25 device-seconds: 4 requests/s per device, pools 1 prefill : 4 decode.
    """
    for name, value in (("ttft_limit", ttft_limit), ("tpot_limit", tpot_limit)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e6:
            raise CalculatorError(f"{name} must be a positive number of seconds, got {value!r}")
    P, G = settings.seq_len, settings.gen_len
    tp_p, tp_d = prefill_tp or settings.tp, decode_tp or settings.tp
    sp, sd = replace(settings, tp=tp_p), replace(settings, tp=tp_d)
    step_p, step_d = StepModel(model, hardware, sp), StepModel(model, hardware, sd)
    link = link_bandwidth if link_bandwidth is not None else hardware.interconnect_bandwidth / 2
    notes = []
    if not link:
        notes.append(f"hardware {hardware.id} has no interconnect bandwidth: the KV transfer is not counted")
    transfer_per_prompt = step_p.kv_bytes(P) / link if link else 0.0
    cap_p = capacity(model, hardware, sp, step=step_p, **capacity_options)
    cap_d = capacity(model, hardware, sd, step=step_d, prefill_tokens=1, **capacity_options)

    def prefill_ttft(b):
        return step_p.prefill(b, P) + b * transfer_per_prompt

    b_p = _largest(lambda b: prefill_ttft(b) <= ttft_limit, cap_p.max_batch)
    b_d = _largest(lambda b: step_d.decode_total(b, P, G) / max(G - 1, 1) <= tpot_limit, cap_d.max_batch)
    r_p = b_p / step_p.prefill(b_p, P) if b_p else 0.0
    tpot_d = step_d.decode_total(b_d, P, G) / max(G - 1, 1) if b_d else None
    r_d = b_d / (tpot_d * max(G - 1, 1)) if b_d else 0.0
    goodput = 1 / (tp_p / r_p + tp_d / r_d) if r_p and r_d else 0.0
    step_c = StepModel(model, hardware, settings)
    cap_c = capacity(model, hardware, settings, step=step_c, prefill_tokens=token_budget, **capacity_options)
    ok = lambda s: s["ttft_s"] <= ttft_limit and s["tpot_s"] <= tpot_limit  # noqa: E731
    colocated_rate = _max_rate(step_c, P, G, token_budget, cap_c.max_batch, ok)
    colocated = colocated_rate / settings.tp
    return {
        "prefill": {"tp": tp_p, "batch": b_p, "ttft_s": prefill_ttft(b_p) if b_p else None,
                    "kv_transfer_s": b_p * transfer_per_prompt, "requests_per_s": r_p},
        "decode": {"tp": tp_d, "batch": b_d, "tpot_s": tpot_d, "requests_per_s": r_d},
        "pools": _pools(r_p, r_d, tp_p, tp_d),
        "goodput_requests_per_s_per_device": goodput,
        "goodput_tokens_per_s_per_device": goodput * G,
        "colocated_requests_per_s_per_device": colocated,
        "colocated_tokens_per_s_per_device": colocated * G,
        "token_budget": token_budget,
        "notes": notes,
    }


def _largest(ok, limit: int | None) -> int:
    """The largest b in 1..limit with ok(b) (ok true up to some b, false after); 0 when ok(1) fails."""
    limit = _MAX_BATCH if limit is None else limit
    if limit < 1 or not ok(1):
        return 0
    lo, hi = 1, 2
    while hi <= limit and ok(hi):
        lo, hi = hi, hi * 2
    hi = min(hi, limit + 1)
    while hi - lo > 1:
        m = (lo + hi) // 2
        lo, hi = (m, hi) if ok(m) else (lo, m)
    return lo


def _pools(r_p: float, r_d: float, tp_p: int, tp_d: int, most: int = 16) -> dict | None:
    """The integer split (n_p prefill, n_d decode instances, n_p + n_d <= most) with the highest goodput
    per device, min(n_p * r_p, n_d * r_d) / (n_p * tp_p + n_d * tp_d)."""
    if not (r_p and r_d):
        return None
    best = None
    for n_p in range(1, most):
        for n_d in range(1, most - n_p + 1):
            g = min(n_p * r_p, n_d * r_d) / (n_p * tp_p + n_d * tp_d)
            if best is None or g > best[0] + 1e-12:
                best = (g, n_p, n_d)
    return {"prefill_instances": best[1], "decode_instances": best[2], "requests_per_s_per_device": best[0],
            "prefill_device_share": (tp_p / r_p) / (tp_p / r_p + tp_d / r_d)}


# --- offloading ----------------------------------------------------------------------------------------

def offload(model: Model, hardware: Hardware, settings: Settings, *, weights_fraction: float | None = None,
            kv_fraction: float | None = None, overlap: bool = True, memory_fraction: float = 1.0,
            host_attention: bool = False, link_bandwidth: float | None = None) -> dict:
    """Weights and/or KV cache kept in host memory and streamed to the device over the host link.

    With f_w of the weights W and f_kv of the cache in host memory, each decode step (batch b, mean
    context c) moves  host = f_w * W + f_kv * b * c * k  bytes over one direction of the host link,
    H = host_link_bandwidth / 2 (the datasheet figure counts both directions), so

        step = max(t_device, host / H)   overlapped (FlexGen's pipelined loads)
        step = t_device + host / H       not overlapped (load, then compute)

    with t_device the on-device roofline step. The prefill streams the offloaded weights once and
    writes the offloaded part of the prompts' cache back. Defaults: f_w the smallest fraction that
    lets weights + cache + activations fit the device; f_kv then the smallest fraction that makes the
    cache fit when even f_w = 1 is not enough.

    Worked example (OPT-175B, W = 349.2e9 B at 16 bits, on one H100 SXM, 85.9e9 B, PCIe 5.0 x16
    128e9 B/s; batch 1, prompt 512, 32 out): the cache (543 x 4.72e6 B) and activations (0.11e9 B) stay,
    so f_w = (349.2 + 2.56 + 0.11 - 85.9) / 349.2 = 0.762 and 266e9 B cross the link per token at
    64e9 B/s: 4.16 s per token, whatever the device's own speed (its own step: 0.105 s).

    `host_attention` (FlexGen's CPU delegation): attention over the host-resident part of the cache runs
    where the cache lives, so no cache byte crosses the link (host = f_w * W); that attention is counted at
    the device's speed, not the host's. `link_bandwidth`: the one-direction bytes/s of the slow tier
    instead of half the host link (a flash drive, an SSD).
    """
    if link_bandwidth is not None and (isinstance(link_bandwidth, bool) or not isinstance(link_bandwidth, (int, float))
                                       or not 0 < link_bandwidth < 1e15):
        raise CalculatorError(f"link_bandwidth must be a positive number of bytes/s, got {link_bandwidth!r}")
    if not link_bandwidth and not hardware.host_link_bandwidth:
        raise CalculatorError(f"hardware {hardware.id} has no host link bandwidth; offloading needs one")
    for name, value in (("weights_fraction", weights_fraction), ("kv_fraction", kv_fraction)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not 0 <= value <= 1):
            raise CalculatorError(f"{name} must be from 0 to 1, got {value!r}")
    _check_allocator("paged", 16, memory_fraction)
    step = StepModel(model, hardware, settings)
    b, P, G = settings.batch, settings.seq_len, settings.gen_len
    end = P + G - 1
    W = step.weights_bytes
    kv_total = b * step.kv_bytes(end)
    act = b * step.activation_bytes(P)
    usable = step.capacity_bytes * memory_fraction if step.capacity_bytes else float("inf")
    notes = []
    if weights_fraction is None:
        weights_fraction = min(1.0, max(0.0, (W + kv_total + act - usable) / W))
    if kv_fraction is None:
        over = (1 - weights_fraction) * W + kv_total + act - usable
        kv_fraction = min(1.0, max(0.0, over / kv_total)) if kv_total and over > 1e-9 * usable else 0.0
    resident = (1 - weights_fraction) * W + (1 - kv_fraction) * kv_total + act
    fits = resident <= usable
    if not fits:
        notes.append("the activations alone do not fit the device")
    host_rate = link_bandwidth or hardware.host_link_bandwidth / 2
    mid = P + (G - 2) / 2 if G > 1 else P
    device_tpot = step.decode_total(b, P, G) / (G - 1) if G > 1 else step.decode_step(b, P)
    moved_kv = 0.0 if host_attention else kv_fraction
    host_step = (weights_fraction * W + moved_kv * b * step.kv_bytes(mid)) / host_rate
    prefill_dev = step.prefill(b, P)
    host_prefill = (weights_fraction * W + kv_fraction * b * step.kv_bytes(P)) / host_rate
    if overlap:
        tpot, ttft = max(device_tpot, host_step), max(prefill_dev, host_prefill)
    else:
        tpot, ttft = device_tpot + host_step, prefill_dev + host_prefill
    e2e = ttft + tpot * (G - 1)
    return {
        "weights_fraction": weights_fraction, "kv_fraction": kv_fraction, "overlap": overlap,
        "host_attention": host_attention, "link_bandwidth": host_rate,
        "host_link_bandwidth": hardware.host_link_bandwidth, "resident_bytes": resident, "fits": fits,
        "host_bytes_per_step": host_step * host_rate, "device_tpot_s": device_tpot, "host_tpot_s": host_step,
        "tpot_s": tpot, "ttft_s": ttft, "e2e_latency_s": e2e,
        "tokens_per_s_per_device": b * G / e2e / settings.tp,
        "bound": "host link" if host_step > device_tpot else "device", "notes": notes,
    }


# --- expected values beside the bounds (issue 16.4) --------------------------------------------------

def expected_curve(model: Model, hardware: Hardware, settings: Settings, batches) -> dict:
    """The calibrated expected values (calculator.expected) of the curve's static batches: at batch b, the
    expected TTFT, time per output token and throughput of `analyze`'s generate summary (each stage's rows at
    the device class's fitted efficiencies plus its per-layer and per-step overheads), per device like the
    curve. Every expected time is at least the bound's (the curve point at the same batch).

    The steady continuous-batching state has no expected counterpart: the calibration is fitted to whole
    prefill and decode passes, not to mixed iterations."""
    from calculator.expected import device_class, expected_generate, load_parameters

    cal = load_parameters()
    points = []
    for b in batches:
        result = analyze(model, hardware, replace(settings, batch=b, stage="all"))
        gen = expected_generate(result, cal)
        if gen is None:
            continue
        points.append({"batch": b, "ttft_s": gen["ttft_s"], "tpot_s": gen["time_per_output_token_s"],
                       "e2e_latency_s": gen["e2e_latency_s"],
                       "tokens_per_s_per_device": gen["tokens_per_s"] / settings.tp,
                       "decode_tokens_per_s_per_device": (gen["decode_tokens_per_s"] / settings.tp
                                                          if gen["decode_tokens_per_s"] else None)})
    return {"device_class": device_class(hardware), "calibrated": bool(cal.get("classes")), "points": points,
            "source": "calculator/calibration.json (make calibrate); docs/accuracy.md"}


# --- all of it for one request shape -----------------------------------------------------------------

def serve(model: Model, hardware: Hardware, settings: Settings, *, rate: float | None = None,
          token_budget: int = 512, allocator: str = "paged", block_size: int = 16,
          max_seq_len: int | None = None, memory_fraction: float = 1.0) -> dict:
    """What `python -m calculator --stage serve` prints: capacity (both allocators), the curve, and the
    continuous-batching steady state at `rate` (default: half the highest sustainable rate)."""
    step = StepModel(model, hardware, settings)
    opts = dict(block_size=block_size, max_seq_len=max_seq_len, memory_fraction=memory_fraction)
    cap = capacity(model, hardware, settings, step=step, allocator=allocator, **opts)
    other = "reserve" if allocator == "paged" else "paged"
    cap_other = capacity(model, hardware, settings, step=step, allocator=other, **opts)
    cv = curve(model, hardware, settings, step=step, cap=cap)
    cap_cb = capacity(model, hardware, settings, step=step, allocator=allocator, prefill_tokens=token_budget,
                      **opts)
    P, G = settings.seq_len, settings.gen_len
    max_rate = _max_rate(step, P, G, token_budget, cap_cb.max_batch)
    chosen = rate if rate is not None else max_rate / 2
    cb = continuous(model, hardware, settings, chosen, token_budget=token_budget, step=step, cap=cap_cb)
    cb["max_rate"] = max_rate
    return {
        "model": model.id, "hardware": hardware.id, "devices": settings.tp,
        "request": {"prompt_len": P, "gen_len": G},
        "capacity": cap.to_dict(), "capacity_other_allocator": cap_other.to_dict(),
        "curve": cv, "continuous": cb,
    }


# --- a serving method against its baseline -----------------------------------------------------------

def compare(model: Model, hardware: Hardware, settings: Settings, effect: dict) -> dict:
    """A serving method's gain over its baseline, as this model sees it (a proposal for issue 15.8's effect
    kind; `effect` is a plain dict):

    - ``allocator: paged`` (PagedAttention, vAttention) with `block_size`, against ``baseline_allocator``
      (default ``reserve``) of `baseline_max_seq_len` tokens (default the model's positions): the
      throughput bound at each capacity limit, `curve`'s tokens/s per device at max_batch. Metric
      ``throughput_at_capacity``.
    - ``token_budget: N`` (SARATHI-Serve, DeepSpeed-FastGen's Dynamic SplitFuse), with `ttft_limit` and
      `tpot_limit`: the highest continuous-batching rate whose TTFT and worst TPOT (`tpot_worst_s`) meet
      the limits, chunks of the budget against whole prompts (baseline: no chunking, one prompt's
      activations). Metric ``goodput``.
    - ``disaggregated: true`` (DistServe, Splitwise), with the limits and optional `prefill_tp` /
      `decode_tp`: `disaggregated`'s goodput per device against the colocated server. Metric ``goodput``.

    - ``scheduling: iteration`` (Orca) with `longest_output_ratio` R >= 1 and optional limits: iteration-level
      scheduling (continuous batching, whole prompts joining the running batch; `continuous`'s highest rate
      whose TTFT and worst TPOT meet the limits) against request-level static batching, where a batch is
      admitted together and runs until its longest request ends: its b sequences decode ceil(R * gen_len)
      tokens each (memory held for them, finished sequences still computed) and deliver b * gen_len. The
      baseline batch is the largest that fits and meets the limits (TTFT = its prefill, TPOT = its mean step):

          baseline = b * G / (prefill(b, P) + decode_total(b, P, ceil(R * G))) / tp

      Metric ``throughput_at_capacity``. With R = 1 the two differ only by the static batch's shared prefill.
    - ``offload: true`` (FlexGen, ZeRO-Inference, Accelerate) with `batch` and `baseline_batch`: `offload` at
      each batch (the weights and cache that do not fit stream over the host link, or a `link_bandwidth_gb_s`
      tier, overlapped), the method with `host_attention` if set (attention where the cache lives) and
      `weights_fraction` / `baseline_weights_fraction` if stated (else the share that does not fit). Metric
      ``offload_throughput`` (output tokens/s per device); details carry each side's TPOT.

    Returns {"metric", "baseline", "method", "gain", "details"}; gain = method / baseline (None when the
    baseline is 0). Example: Llama-2-7b on an 80 GiB H100, 512 + 128 tokens, reserving 4096 tokens against
    blocks of 16: 33 against 193 requests, so the bound at capacity rises from 3,711 to 5,844 tokens/s
    per device (1.57x, less than the 5.8x in requests: the curve flattens as the batch grows).
    """
    P, G = settings.seq_len, settings.gen_len
    step = StepModel(model, hardware, settings)
    if effect.get("allocator"):
        base_opts = {"allocator": effect.get("baseline_allocator", "reserve")}
        if effect.get("baseline_max_seq_len"):
            base_opts["max_seq_len"] = effect["baseline_max_seq_len"]
        method_opts = {"allocator": effect["allocator"], "block_size": effect.get("block_size", 16)}
        if effect.get("max_seq_len"):
            method_opts["max_seq_len"] = effect["max_seq_len"]
        out = {}
        for name, opts in (("baseline", base_opts), ("method", method_opts)):
            cap = capacity(model, hardware, settings, step=step, **opts)
            top = _point(step, cap.max_batch, P, G) if cap.max_batch else None
            out[name] = {"max_batch": cap.max_batch, "waste_fraction": cap.waste_fraction,
                         "tokens_per_s_per_device": top["tokens_per_s_per_device"] if top else 0.0}
        b, m = out["baseline"]["tokens_per_s_per_device"], out["method"]["tokens_per_s_per_device"]
        return {"metric": "throughput_at_capacity", "baseline": b, "method": m, "gain": m / b if b else None,
                "details": out}
    if effect.get("offload"):
        return _compare_offload(model, hardware, settings, effect)
    if effect.get("scheduling"):
        return _compare_scheduling(model, hardware, settings, effect, step)
    limits = effect.get("ttft_limit"), effect.get("tpot_limit")
    if None in limits:
        raise CalculatorError("a chunked-prefill or disaggregated comparison needs ttft_limit and tpot_limit")
    ttft_limit, tpot_limit = limits
    if effect.get("token_budget"):
        budget = int(effect["token_budget"])
        whole = P * _MAX_BATCH  # no chunking: every waiting prompt enters whole
        ok = lambda s: s["ttft_s"] <= ttft_limit and s["tpot_worst_s"] <= tpot_limit  # noqa: E731
        cap_m = capacity(model, hardware, settings, step=step, prefill_tokens=budget)
        cap_b = capacity(model, hardware, settings, step=step, prefill_tokens=P)
        m = _max_rate(step, P, G, budget, cap_m.max_batch, ok) / settings.tp
        b = _max_rate(step, P, G, whole, cap_b.max_batch, ok) / settings.tp
        return {"metric": "goodput", "baseline": b * G, "method": m * G, "gain": m / b if b else None,
                "details": {"token_budget": budget, "limits": {"ttft_s": ttft_limit, "tpot_s": tpot_limit}}}
    if effect.get("disaggregated"):
        d = disaggregated(model, hardware, settings, ttft_limit=ttft_limit, tpot_limit=tpot_limit,
                          prefill_tp=effect.get("prefill_tp"), decode_tp=effect.get("decode_tp"))
        b, m = d["colocated_tokens_per_s_per_device"], d["goodput_tokens_per_s_per_device"]
        return {"metric": "goodput", "baseline": b, "method": m, "gain": m / b if b else None, "details": d}
    raise CalculatorError("a serving effect needs allocator, token_budget, disaggregated, scheduling or offload")


def _compare_scheduling(model: Model, hardware: Hardware, settings: Settings, effect: dict, step: StepModel) -> dict:
    """Iteration-level against request-level scheduling (see `compare`)."""
    if effect["scheduling"] != "iteration":
        raise CalculatorError(f"scheduling must be 'iteration', got {effect['scheduling']!r}")
    ratio = effect.get("longest_output_ratio", 1.0)
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float)) or not 1 <= ratio <= 1000:
        raise CalculatorError(f"longest_output_ratio must be from 1 to 1000, got {ratio!r}")
    ttft_limit = effect.get("ttft_limit", float("inf"))
    tpot_limit = effect.get("tpot_limit", float("inf"))
    P, G = settings.seq_len, settings.gen_len
    longest = max(G, ceil(ratio * G - 1e-9))
    ok = lambda s: s["ttft_s"] <= ttft_limit and s["tpot_worst_s"] <= tpot_limit  # noqa: E731
    cap_m = capacity(model, hardware, settings, step=step, prefill_tokens=P)
    rate = _max_rate(step, P, G, P * _MAX_BATCH, cap_m.max_batch, ok)
    method = rate * G / settings.tp
    cap_b = capacity(model, hardware, replace(settings, gen_len=longest), step=step)

    def static(b):
        ttft, decode = step.prefill(b, P), step.decode_total(b, P, longest)
        return ttft, decode / max(longest - 1, 1), b * G / (ttft + decode) / settings.tp

    b = _largest(lambda n: static(n)[0] <= ttft_limit and static(n)[1] <= tpot_limit, cap_b.max_batch)
    ttft, tpot, base = static(b) if b else (None, None, 0.0)
    return {"metric": "throughput_at_capacity", "baseline": base, "method": method,
            "gain": method / base if base else None,
            "details": {"longest_output_ratio": ratio, "longest_gen_len": longest,
                        "baseline": {"max_batch": cap_b.max_batch, "batch": b, "ttft_s": ttft, "tpot_s": tpot,
                                     "tokens_per_s_per_device": base},
                        "method": {"max_batch": cap_m.max_batch, "requests_per_s": rate,
                                   "tokens_per_s_per_device": method}}}


def _compare_offload(model: Model, hardware: Hardware, settings: Settings, effect: dict) -> dict:
    """An offloading engine at its batch against another at its own (see `compare`)."""
    link = effect.get("link_bandwidth_gb_s")
    link = link * 1e9 if link else None
    nominal = link is None and not hardware.host_link_bandwidth  # no link: fine only while nothing crosses it
    sides = {}
    for name, batch_key, frac_key, attn in (("baseline", "baseline_batch", "baseline_weights_fraction", False),
                                           ("method", "batch", "weights_fraction", effect.get("host_attention", False))):
        b = effect.get(batch_key, settings.batch)
        if isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= 1_000_000:
            raise CalculatorError(f"{batch_key} must be an integer from 1 to 1e+06, got {b!r}")
        o = offload(model, hardware, replace(settings, batch=b), weights_fraction=effect.get(frac_key),
                    host_attention=bool(attn), link_bandwidth=1.0 if nominal else link)
        if nominal and (o["weights_fraction"] or o["kv_fraction"]):
            raise CalculatorError(f"hardware {hardware.id} has no host link bandwidth; offloading needs one")
        sides[name] = {"batch": b, "weights_fraction": o["weights_fraction"], "kv_fraction": o["kv_fraction"],
                       "host_attention": bool(attn), "tpot_s": o["tpot_s"], "ttft_s": o["ttft_s"], "bound": o["bound"],
                       "host_bytes_per_step": o["host_bytes_per_step"], "fits": o["fits"],
                       "tokens_per_s_per_device": o["tokens_per_s_per_device"]}
    b, m = sides["baseline"]["tokens_per_s_per_device"], sides["method"]["tokens_per_s_per_device"]
    return {"metric": "offload_throughput", "baseline": b, "method": m, "gain": m / b if b else None,
            "details": {**sides, "link_bandwidth": None if nominal else link or hardware.host_link_bandwidth / 2,
                        "tpot_gain": sides["baseline"]["tpot_s"] / sides["method"]["tpot_s"]}}
