"""SLA search: which deployment of a model meets a TTFT / TPOT target at the lowest cost (issue 15.6).

`search` tries every device x tensor-parallel degree (x pipeline stages x expert-parallel degree, below)
x weight format x KV format x batch (every
integer batch from 1 to the capacity limit, thinned geometrically above `dense_batches`) for one
request shape, and reports

- the Pareto front of output tokens/s per device (cost) against output tokens/s per user (1 / TPOT):
  the configurations no other configuration beats on both;
- the cheapest configuration that meets the limits: the highest tokens/s per device among those with
  TTFT <= ttft_limit and TPOT <= tpot_limit (ties: fewer devices, then the larger batch);
- the best per device kind, since tokens/s per device compares devices of one kind only.

A configuration's figures are `calculator.serving`'s static-batch curve point: TTFT is the prefill of
the batch's prompts in one iteration, TPOT the mean decode step over the output, tokens/s per device
= batch x gen_len / (TTFT + decode time) / devices (tp x pp x ep). Each (device, tp, formats) group builds one
`serving.StepModel` (a handful of analyses); every batch after that costs two dozen multiply-adds per
layer row, which is what makes 10,000+ configurations a second (benchmarks/bench_search.py).

Pipeline parallelism (`pps`, default 1 only): `pp` stages of `tp` devices each hold 1/pp of the layers,
weights and cache (so the instance holds what pp x tp devices hold), and a batch of b runs as pp
microbatches of b/pp. With T(x) the whole model's time at batch x on tp devices (`_Group.evaluate`), a
stage's share T(x)/pp (the embedding and lm_head spread over the stages), and each microbatch's
activations (x tokens x hidden x activation bytes) sent to the next stage over one direction of the
interconnect (half its both-ways figure), overlapped with compute:

    TTFT = (2 pp - 1) x max(T_prefill(b/pp) / pp, transfer)      the pipeline fills, then drains
    TPOT = pp x max(T_step(b/pp) / pp, transfer)                  every microbatch once per round

and tokens/s per device = b x gen_len / (TTFT + (gen_len - 1) TPOT) / (tp x pp). In the memory-bound
decode a round reads every weight once per microbatch: pp times as often as one batch of b, which is
why pipeline stages pay per device unless the model does not fit (or tp cannot split it) otherwise.

Expert parallelism (`eps`, MoE models only; default 1, 2, 4, 8 where the degree divides the expert count,
1 for a dense model): as the single-run calculator's `Settings(ep=N)` (`calculator.core`), N devices each
run attention on b/N of the batch's b sequences and hold E/N experts, with tp 1 (the core's rule: an
(tp > 1, ep > 1) pair is not run); an instance is tp x pp x ep devices. A device's step at its own
b/N sequences is the tp-1 step model's but for three things, each read from an `analyze` of the ep run:
the expert rows read expected_experts(E, k, N t) / N experts at t tokens per device (the batch's experts,
spread), the `moe_dispatch` / `moe_combine` all-to-all rows (bytes per token over one direction of the
link), and the weights (E/N experts). `_expert_parallel` holds the result to two further ep analyses
and refuses, in one line, what it cannot reproduce. Batches are multiples of N; with pp stages each
device sends its own sequences' activations to the next stage (the hop divides by N).

Worked example (MoE, docs/roofline.md "SLA search" redoes it): Mixtral-8x7B on H100 SXM, prompt 512, 128
out, fp16, TTFT <= 1 s, TPOT <= 50 ms: the cheapest is ep 8 at batch 512 (TTFT 986 ms, TPOT 6.15 ms,
4,638 tokens/s per device; `analyze(..., Settings(batch=512, ep=8, seq_len=512, gen_len=128))` gives the
same), against 2,917 for tp 8 at batch 311, whose prefill all-reduces move the whole batch's activations.

Worked example: Llama-2-7b on one H100 SXM, prompt 512, 128 out, fp16 weights and cache: batch 1 gives
TTFT 7.6 ms, TPOT 4.04 ms (248 tokens/s per user; 246 per device once the prefill counts); batch 128
gives TPOT 15.8 ms (63 per user) and 5,512 tokens/s per device. With tpot_limit 0.02 s the cheapest fp16 point is the largest
batch whose TPOT stays under 20 ms.
"""

from __future__ import annotations

import time
from copy import copy
from dataclasses import replace

from calculator.core import analyze, expected_experts
from calculator.serving import StepModel, _sum_max, capacity
from calculator.spec import CalculatorError, Hardware, Model, Settings

__all__ = ["KV_FORMATS", "WEIGHT_FORMATS", "default_eps", "pareto_front", "search"]

WEIGHT_FORMATS = {
    "w16a16": {"w_bits": 16, "a_bits": 16},
    "w8a8-fp8": {"w_bits": 8, "a_bits": 8, "number_format": "fp"},
    "w8a16": {"w_bits": 8, "a_bits": 16},
    "w4a16-g128": {"w_bits": 4, "a_bits": 16, "group_size": 128},
}
"""Weight (and activation) formats searched: name -> Settings fields."""

KV_FORMATS = {"kv16": {"kv_bits": 16}, "kv8": {"kv_bits": 8}}
"""KV-cache formats searched: name -> Settings fields."""


def _batch_grid(limit: int, dense: int, ratio: float = 1.05) -> list:
    """Every batch 1..min(limit, dense), then a geometric step of `ratio`, and the limit itself."""
    out = list(range(1, min(limit, dense) + 1))
    b = float(out[-1]) if out else 1.0
    while True:
        b = max(b * ratio, b + 1)
        if int(b) >= limit:
            break
        out.append(int(b))
    if limit > (out[-1] if out else 0):
        out.append(limit)
    return out


def default_eps(model: Model) -> list:
    """The expert-parallel degrees searched by default: 1 for a dense model; for a MoE model those of 1, 2,
    4, 8 that divide its expert count."""
    experts = int(getattr(model, "num_local_experts", 0) or 0)
    return [1] + ([n for n in (2, 4, 8) if experts % n == 0] if experts else [])


_A2A = ("moe_dispatch", "moe_combine")


class _ExpertParallelStep(StepModel):
    """A tp-1 `StepModel` turned into one device of an ep-N run (see the module docstring): its methods take
    the device's own batch (b / N sequences) and give the time of the whole ep step. Built by
    `_expert_parallel`, never by `StepModel.__init__`."""

    def _moe(self, tokens: float) -> float:
        if not self.expert_rows or tokens <= 0:
            return 0.0
        # The whole run's tokens pick the experts; each device holds and runs 1/ep of those touched.
        return self._expert_time(tokens, expected_experts(self.E, self.k, tokens * self.ep) / self.ep)


def _expert_parallel(base: StepModel, ep: int) -> StepModel:
    """The step model of one device of an ep-`ep` run, from the tp-1 step model `base` of the same formats.
    Raises the core's CalculatorError for what ep cannot run (a dense model, ep not dividing the experts, no
    interconnect) and refuses a model whose ep analyses it cannot reproduce."""
    model, hw, s = base.model, base.hardware, base.settings
    C0, S0 = base.C0, base.S0

    def run(stage, b, n):
        return analyze(model, hw, replace(s, stage=stage, batch=b * ep, seq_len=n, ep=ep))

    first = run("decode", 1, C0)  # raises the core's own refusals
    if base.tabulated or (base.E and not base.expert_rows):
        raise CalculatorError(f"the search cannot model expert parallelism for {model.id}: its expert rows "
                              "are not fitted")
    step = object.__new__(_ExpertParallelStep)
    step.__dict__.update(base.__dict__)
    step.ep, step.devices = ep, ep  # settings stay the tp-1 ones: kv_bytes / activation_bytes are per sequence
    step.rows, step.pre_rows = list(base.rows), list(base.pre_rows)
    pre = run("prefill", 1, S0).stages["prefill"].layers
    for layers, rows, tokens in ((first.stages["decode"].layers, step.rows, 1), (pre, step.pre_rows, S0)):
        for r in layers:
            if r[0] not in _A2A:
                continue
            if r[2] or r[5] != "interconnect":
                raise CalculatorError(f"the search cannot model expert parallelism for {model.id}: row {r[0]} "
                                      "is not a plain link transfer")
            per_token, rate = r[3] / tokens, (r[4] / r[3] if r[3] else 0.0)
            if rows is step.rows:  # decode row: (n, ip, ir, head, win, Ao, Bo, Po, Ko, Ay, By, Py, Ky)
                rows.append((r[1], 0.0, rate, False, False, 0.0, 0.0, 0.0, 0.0, 0.0, per_token, 0.0, 0.0))
            else:  # prefill row: (n, ip, ir, head, win, Ao, Mo, Qo, Ay, My, Qy)
                rows.append((r[1], 0.0, rate, False, False, 0.0, 0.0, 0.0, 0.0, per_token, 0.0))
    mem = first.memory
    step.weights_bytes = mem.weights_bytes
    for got, want in ((mem.kv_cache_bytes, base.kv_bytes(C0)), (mem.activations_bytes, base.activation_bytes(C0))):
        if abs(got - want) > 1e-9 * max(want, 1.0):
            raise CalculatorError(f"the search cannot model expert parallelism for {model.id}: a device's "
                                  "cache or activations are not those of its own sequences")
    for stage, b, n, mine in (("decode", 5, 4096, step.decode_step), ("prefill", 2, 200, step.prefill)):
        want, got = run(stage, b, n).stages[stage].time_s, mine(b, n)
        if abs(got - want) > 1e-6 * want:
            raise CalculatorError(f"the search cannot reproduce the ep {ep} {stage} time of {model.id} at "
                                  f"batch {b * ep}, {n} tokens ({got:.6g} s against {want:.6g} s)")
    return step


class _Group:
    """One (device, tp, formats) group compiled for fast evaluation over the batch."""

    __slots__ = ("const", "head", "ctx", "prefill", "G", "devices")

    def __init__(self, step: StepModel, P: int, G: int):
        m = G - 1
        self.G, self.devices = G, step.devices
        W = step.window
        # decode step j of batch b, row r: max(oa + ob*b + oj*b*j, ya + yb*b + yj*b*j); a window row
        # grows for the steps whose context is below W, then stays at W (a constant piece)
        self.const, self.ctx, self.prefill = [], [], []
        for n, ip, ir, head, win, Ao, Bo, Po, Ko, Ay, By, Py, Ky in step.rows:
            Sc, Sy = Po + Ko, Py + Ky
            if Sc == 0 and Sy == 0:
                self.const.append((m * n * ip * Ao, m * n * ip * Bo, m * n * ir * Ay, m * n * ir * By))
                continue
            grow = m if not (win and W) else max(0, min(m, W - P + 1))
            if grow:
                self.ctx.append((n * ip * Ao, n * ip * (Bo + Sc * P), n * ip * Sc,
                                 n * ir * Ay, n * ir * (By + Sy * P), n * ir * Sy, grow))
            if grow < m:
                k = m - grow
                self.const.append((k * n * ip * Ao, k * n * ip * (Bo + Sc * W), k * n * ir * Ay,
                                   k * n * ir * (By + Sy * W)))
        full, win_pairs = step.pairs(P, P), step.pairs(P, P, True)
        for n, ip, ir, head, w, Ao, Mo, Qo, Ay, My, Qy in step.pre_rows:
            # prefill of b prompts: x = b (lm_head) or b*P tokens; pairs b * pairs(P, P)
            x, q = (1 if head else P), (win_pairs if w else full)
            self.prefill.append((n * ip * Ao, n * ip * (Mo * x + Qo * q), n * ir * Ay, n * ir * (My * x + Qy * q)))
        self.head = step  # for the tabulated (MoE) rows

    def evaluate(self, b: int, P: int) -> tuple[float, float]:
        """(TTFT, decode time over the gen_len - 1 steps) at batch b."""
        ttft = 0.0
        for a0, a1, c0, c1 in self.prefill:
            u, v = a0 + a1 * b, c0 + c1 * b
            ttft += u if u > v else v
        dec = 0.0
        for a0, a1, c0, c1 in self.const:
            u, v = a0 + a1 * b, c0 + c1 * b
            dec += u if u > v else v
        m = self.G - 1
        for oa, ob, oj, ya, yb, yj, steps in self.ctx:
            dec += _sum_max(oa + ob * b, oj * b, ya + yb * b, yj * b, steps)
        step = self.head
        if step.expert_rows:
            ttft += step._moe(b * P)
            dec += m * step._moe(b)
        if step.tabulated:
            ttft += step._tab(b * P)
            dec += m * step._tab(b)
        return ttft, dec


_KEYS = ("tokens_per_s_per_user", "tokens_per_s_per_device", "hardware", "tp", "weights", "kv", "batch",
         "ttft_s", "tpot_s", "meets_limits", "pp", "ep")


def _point(row: tuple) -> dict:
    out = dict(zip(_KEYS, row))
    out["devices"] = out["tp"] * out["pp"] * out["ep"]
    return out


def _pipelined(evaluate, b: int, P: int, G: int, pp: int, hop: float) -> tuple[float, float]:
    """(TTFT, decode time over gen_len - 1 steps) of batch b on pp pipeline stages (see the module docstring);
    `hop` is the seconds one token's activations take to cross to the next stage."""
    if pp == 1:
        return evaluate(b, P)
    x = b / pp
    ttft, dec = evaluate(x, P)
    ttft = (2 * pp - 1) * max(ttft / pp, x * P * hop)
    steps = max(G - 1, 0)
    dec = pp * max(dec / pp, steps * x * hop) if steps else 0.0
    return ttft, dec


def pareto_front(rows: list) -> list:
    """The rows (per_user, per_device, ...) no other row beats on both tokens/s per user and tokens/s per
    device (ties kept once), from the fastest per user to the cheapest per device."""
    ordered = sorted(rows, key=lambda r: (-r[0], -r[1]))
    front, best = [], -1.0
    for r in ordered:
        if r[1] > best:
            front.append(r)
            best = r[1]
    return front


def search(model: Model, hardware: Hardware | list, settings: Settings, *, ttft_limit: float | None = None,
           tpot_limit: float | None = None, tps=None, weight_formats=None, kv_formats=None,
           dense_batches: int = 256, keep_points: bool = False, pps=None, eps=None, **capacity_options) -> dict:
    """Search deployments of `model` for the request shape of `settings` (seq_len prompt, gen_len out).

    `hardware`: one device or a list; `tps`: the tensor-parallel degrees (default 1, 2, 4, 8; degrees
    the model or device cannot take are skipped and listed in `skipped`); `pps`: pipeline stages (default 1;
    each stage is tp devices, see the module docstring); `eps`: expert-parallel degrees (default
    `default_eps(model)`; ep > 1 pairs with tp 1 only, as the core requires); `weight_formats` /
    `kv_formats`: names from `WEIGHT_FORMATS` / `KV_FORMATS` (default all). `settings` gives the rest
    (flash attention, quantize_head). Returns a dict: `evaluated` (configurations), `seconds`,
    `configurations_per_s`, `front` (the Pareto front), `best` (the cheapest meeting the limits, or
    None), `best_per_hardware`, `skipped`, and with `keep_points` every point.
    """
    for name, value in (("ttft_limit", ttft_limit), ("tpot_limit", tpot_limit)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not 0 < value < 1e6):
            raise CalculatorError(f"{name} must be a positive number of seconds, got {value!r}")
    devices = hardware if isinstance(hardware, (list, tuple)) else [hardware]
    tps = list(tps) if tps is not None else [1, 2, 4, 8]
    weight_formats = list(weight_formats) if weight_formats is not None else list(WEIGHT_FORMATS)
    kv_formats = list(kv_formats) if kv_formats is not None else list(KV_FORMATS)
    for name, chosen, known in (("weight format", weight_formats, WEIGHT_FORMATS), ("KV format", kv_formats, KV_FORMATS)):
        for value in chosen:
            if value not in known:
                raise CalculatorError(f"unknown {name} {value!r} (known: {', '.join(known)})")
    for tp in tps:
        if isinstance(tp, bool) or not isinstance(tp, int) or not 1 <= tp <= 65536:
            raise CalculatorError(f"tp must be an integer from 1 to 65536, got {tp!r}")
    pps = list(pps) if pps is not None else [1]
    for pp in pps:
        if isinstance(pp, bool) or not isinstance(pp, int) or not 1 <= pp <= 1024:
            raise CalculatorError(f"pp must be an integer from 1 to 1024, got {pp!r}")
    eps = list(eps) if eps is not None else default_eps(model)
    for ep in eps:
        if isinstance(ep, bool) or not isinstance(ep, int) or not 1 <= ep <= 65536:
            raise CalculatorError(f"ep must be an integer from 1 to 65536, got {ep!r}")
    # (tp, ep) pairs: every tp without ep, every ep > 1 with tp 1 (the core runs ep with tp 1 only)
    pairs = [(tp, ep) for tp in dict.fromkeys(tps) for ep in dict.fromkeys(eps) if tp == 1 or ep == 1]
    P, G = settings.seq_len, settings.gen_len
    start = time.perf_counter()
    rows, skipped = [], []
    best = None
    best_per = {}

    def better(p, q):  # more tokens/s per device, then fewer devices, then the larger batch
        return q is None or (p[1], -p[3] * p[10] * p[11], p[6]) > (q[1], -q[3] * q[10] * q[11], q[6])

    for hw in devices:
        bases = {}  # (weights, kv) -> the tp-1 step model the ep runs start from
        for ep in dict.fromkeys(eps):
            if ep > 1 and 1 not in tps:
                skipped.append({"hardware": hw.id, "tp": 1, "ep": ep, "weights": "all", "kv": "all",
                                "reason": f"ep {ep} runs with tp 1 only (attention data-parallel); "
                                          "add 1 to the tp degrees"})
        for tp, ep in pairs:
            for wf in weight_formats:
                for kf in kv_formats:
                    s = replace(settings, tp=tp, ep=1, stage="decode", **WEIGHT_FORMATS[wf], **KV_FORMATS[kf])
                    try:
                        if ep == 1:
                            step = StepModel(model, hw, s)
                            if tp == 1:
                                bases[wf, kf] = step
                        else:
                            base = bases.get((wf, kf))
                            if base is None:
                                base = bases[wf, kf] = StepModel(model, hw, s)
                            step = _expert_parallel(base, ep)
                        cap = capacity(model, hw, s, step=step, **capacity_options)
                    except CalculatorError as exc:
                        if ep == 1 and tp == 1:
                            bases[wf, kf] = None
                        skipped.append({"hardware": hw.id, "tp": tp, "ep": ep, "weights": wf, "kv": kf,
                                        "reason": str(exc)})
                        continue
                    group = _Group(step, P, G)
                    if ep == 1:
                        evaluate = group.evaluate
                    else:  # the group takes one device's batch: b / ep of the instance's b sequences
                        def evaluate(b, P, _g=group.evaluate, _ep=ep):
                            return _g(b / _ep, P)
                    for pp in pps:
                        where = {"hardware": hw.id, "tp": tp, "ep": ep, "weights": wf, "kv": kf, "pp": pp}
                        if pp > 1 and not hw.interconnect_bandwidth:
                            skipped.append({**where, "reason": f"hardware {hw.id} has no interconnect bandwidth "
                                                               "for pipeline stages"})
                            continue
                        if pp > model.num_hidden_layers:
                            skipped.append({**where, "reason": f"pp {pp} exceeds the model's "
                                                               f"{model.num_hidden_layers} layers"})
                            continue
                        if pp == 1:
                            limit = cap.max_batch if cap.max_batch is not None else 1024
                        else:
                            staged = copy(step)  # pp stages hold pp times the memory of one
                            staged.capacity_bytes = step.capacity_bytes * pp
                            cap_pp = capacity(model, hw, s, step=staged, **capacity_options)
                            limit = cap_pp.max_batch if cap_pp.max_batch is not None else 1024
                        if limit < 1:
                            skipped.append({**where, "reason": "one request of this shape does not fit"})
                            continue
                        # one token's activations to the next stage; under ep each device sends its own
                        hop = model.hidden_size * s.a_bits / 8 / (hw.interconnect_bandwidth / 2) / ep \
                            if pp > 1 else 0.0
                        n = tp * pp * ep
                        for x in _batch_grid(limit, dense_batches):  # x: sequences per device (ep) / instance
                            b = x * ep
                            if b < pp * ep:  # fewer sequences than stages: no pipeline of pp microbatches
                                continue
                            ttft, dec = _pipelined(evaluate, b, P, G, pp, hop)
                            tpot = dec / (G - 1) if G > 1 else ttft
                            meets = (ttft_limit is None or ttft <= ttft_limit) and \
                                    (tpot_limit is None or tpot <= tpot_limit)
                            rows.append((1 / tpot, b * G / (ttft + dec) / n, hw.id, tp, wf, kf, b, ttft, tpot, meets,
                                         pp, ep))
    evaluated = len(rows)
    for row in rows:
        if row[9]:
            if better(row, best):
                best = row
            if better(row, best_per.get(row[2])):
                best_per[row[2]] = row
    front = pareto_front(rows)
    seconds = time.perf_counter() - start
    out = {
        "model": model.id, "request": {"prompt_len": P, "gen_len": G},
        "limits": {"ttft_s": ttft_limit, "tpot_s": tpot_limit},
        "evaluated": evaluated, "seconds": seconds,
        "configurations_per_s": evaluated / seconds if seconds else None,
        "front": [_point(r) for r in front], "best": _point(best) if best else None,
        "best_per_hardware": {k: _point(v) for k, v in best_per.items()}, "skipped": skipped,
    }
    if keep_points:
        out["points"] = [_point(r) for r in rows]
    return out
