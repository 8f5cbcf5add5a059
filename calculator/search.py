"""SLA search: which deployment of a model meets a TTFT / TPOT target at the lowest cost (issue 15.6).

`search` tries every device x tensor-parallel degree x weight format x KV format x batch (every
integer batch from 1 to the capacity limit, thinned geometrically above `dense_batches`) for one
request shape, and reports

- the Pareto front of output tokens/s per device (cost) against output tokens/s per user (1 / TPOT):
  the configurations no other configuration beats on both;
- the cheapest configuration that meets the limits: the highest tokens/s per device among those with
  TTFT <= ttft_limit and TPOT <= tpot_limit (ties: fewer devices, then the larger batch);
- the best per device kind, since tokens/s per device compares devices of one kind only.

A configuration's figures are `calculator.serving`'s static-batch curve point: TTFT is the prefill of
the batch's prompts in one iteration, TPOT the mean decode step over the output, tokens/s per device
= batch x gen_len / (TTFT + decode time) / tp. Each (device, tp, formats) group builds one
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
Expert parallelism is not searched.

Worked example: Llama-2-7b on one H100 SXM, prompt 512, 128 out, fp16 weights and cache: batch 1 gives
TTFT 7.6 ms, TPOT 4.04 ms (248 tokens/s per user; 246 per device once the prefill counts); batch 128
gives TPOT 15.8 ms (63 per user) and 5,512 tokens/s per device. With tpot_limit 0.02 s the cheapest fp16 point is the largest
batch whose TPOT stays under 20 ms.
"""

from __future__ import annotations

import time
from copy import copy
from dataclasses import replace

from calculator.serving import StepModel, _sum_max, capacity
from calculator.spec import CalculatorError, Hardware, Model, Settings

__all__ = ["KV_FORMATS", "WEIGHT_FORMATS", "pareto_front", "search"]

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
         "ttft_s", "tpot_s", "meets_limits", "pp")


def _point(row: tuple) -> dict:
    out = dict(zip(_KEYS, row))
    out["devices"] = out["tp"] * out["pp"]
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
           dense_batches: int = 256, keep_points: bool = False, pps=None, **capacity_options) -> dict:
    """Search deployments of `model` for the request shape of `settings` (seq_len prompt, gen_len out).

    `hardware`: one device or a list; `tps`: the tensor-parallel degrees (default 1, 2, 4, 8; degrees
    the model or device cannot take are skipped and listed in `skipped`); `pps`: pipeline stages (default 1;
    each stage is tp devices, see the module docstring); `weight_formats` /
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
    P, G = settings.seq_len, settings.gen_len
    start = time.perf_counter()
    rows, skipped = [], []
    best = None
    best_per = {}

    def better(p, q):  # more tokens/s per device, then fewer devices, then the larger batch
        return q is None or (p[1], -p[3] * p[10], p[6]) > (q[1], -q[3] * q[10], q[6])

    for hw in devices:
        for tp in tps:
            for wf in weight_formats:
                for kf in kv_formats:
                    s = replace(settings, tp=tp, stage="decode", **WEIGHT_FORMATS[wf], **KV_FORMATS[kf])
                    try:
                        step = StepModel(model, hw, s)
                        cap = capacity(model, hw, s, step=step, **capacity_options)
                    except CalculatorError as exc:
                        skipped.append({"hardware": hw.id, "tp": tp, "weights": wf, "kv": kf, "reason": str(exc)})
                        continue
                    group = _Group(step, P, G)
                    evaluate = group.evaluate
                    for pp in pps:
                        where = {"hardware": hw.id, "tp": tp, "weights": wf, "kv": kf, "pp": pp}
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
                        hop = model.hidden_size * s.a_bits / 8 / (hw.interconnect_bandwidth / 2) if pp > 1 else 0.0
                        n = tp * pp
                        for b in _batch_grid(limit, dense_batches):
                            if b < pp:  # fewer sequences than stages: no pipeline of pp microbatches
                                continue
                            ttft, dec = _pipelined(evaluate, b, P, G, pp, hop)
                            tpot = dec / (G - 1) if G > 1 else ttft
                            meets = (ttft_limit is None or ttft <= ttft_limit) and \
                                    (tpot_limit is None or tpot <= tpot_limit)
                            rows.append((1 / tpot, b * G / (ttft + dec) / n, hw.id, tp, wf, kf, b, ttft, tpot, meets,
                                         pp))
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
