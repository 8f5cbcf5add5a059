"""The computed bottleneck analysis of every method: its effect in standard scenarios, and its claims
held against the roofline. Runs once per build (`analyze_kb`), not once per page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

import calculator
from calculator import CalculatorError, Settings
from calculator.effects import Outcome, apply_effect, baseline, baseline_settings, host_resident
from kb.kernel_scope import kernel_expected_s, kernel_stage, kernel_words
from kb.load import KB
from kb.schema import OUTSIDE_ROOFLINE, Claim, Method, baseline_effect, claim_effect

# A claim within this factor of the roofline prediction counts as consistent with it.
TOLERANCE = 1.10


@dataclass
class Analysis:
    """Scenario rows and claim verdicts of one method (empty with `reason` when not modelled).

    `scenarios_why` says why these scenarios show the method's regime; `primary` is the scenario the
    category tables and the page summary quote (the first one of the choice that is not the survey's)."""

    scenarios: list[dict] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)
    reason: str | None = None
    plot: str | None = None
    scenarios_why: str | None = None
    primary: str | None = None
    serving: list[dict] | None = None  # a serving effect's comparisons (serving_comparison), one per scenario


class Catalogue:
    """Calculator inputs built once from the validated KB catalogues."""

    def __init__(self, kb: KB):
        from kb.catalogue import hardware_from_dict, model_from_dict

        self.models = {k: model_from_dict(v.model_dump(exclude_none=True), k) for k, v in kb.models.items()}
        self.hardware = {k: hardware_from_dict(v.model_dump(exclude_none=True), k) for k, v in kb.hardware.items()}
        self.host = {k: v.host_link.bandwidth_gb_s * 1e9 for k, v in kb.hardware.items() if v.host_link}
        # GPUs a 16-bit baseline runs natively on: one without a 16-bit peak (Pascal's P40) would run it at its
        # FP32 rate, which no paper's baseline does, and would make the most favourable bound a degenerate one.
        self.gpus = tuple(k for k, v in sorted(kb.hardware.items())
                          if v.kind == "gpu" and {"fp16", "bf16"} & set(self.hardware[k].peaks))
        self._base: dict[tuple, Outcome] = {}

    def model(self, model_id: str, changes: dict | None = None):
        """A catalogue model, or its variant with some fields changed (e.g. the MHA form of a GQA model)."""
        base = self.models[model_id]
        return replace(base, **changes) if changes else base

    def baseline(self, model: str, hardware: str, settings: Settings, changes: dict | None = None) -> Outcome:
        key = (model, tuple(sorted((changes or {}).items())), hardware, settings)
        if key not in self._base:
            self._base[key] = baseline(self.model(model, changes), self.hardware[hardware], settings)
        return self._base[key]

    def run(self, method: Method, model: str, hardware: str, settings: Settings) -> Outcome:
        effect = method.effect.model_dump(exclude_none=True)
        return apply_effect(self.models[model], self.hardware[hardware], settings, effect,
                            draft=self.models.get(effect.get("draft_model", "")),
                            student=self.models.get(effect.get("student", "")),
                            host_bandwidth=self.host.get(hardware))


def _bound(stage) -> str:
    """The bound of the rows that take most of the stage's time."""
    by = {"compute": 0.0, "memory": 0.0, "interconnect": 0.0}
    for row in stage.layers:
        by[row[5]] += row[1] * row[4]
    return max(by, key=by.get)


def _changed_bounds(base, method) -> list[str]:
    before = {r[0]: r[5] for r in base.layers}
    return sorted(f"{r[0]}: {before[r[0]]} -> {r[5]}" for r in method.layers
                  if r[0] in before and before[r[0]] != r[5])


def scenario_choice(kb: KB, method: Method):
    """The scenarios a method is shown in (kb/scenarios.yaml): the longest taxonomy prefix wins."""
    sc = kb.scenarios
    if method.effect.kind == "architecture":
        return sc.architecture
    best, depth = sc.default, -1
    for choice in sc.branches:
        for cat in choice.categories:
            if (method.category == cat or method.category.startswith(cat + "/")) and cat.count("/") > depth:
                best, depth = choice, cat.count("/")
    return best


def bound_ignores(effect: dict) -> list[str]:
    """The costs a method's bound leaves out, in words: the entry's own `ignores`, and what every effect of
    its kind leaves out (scale bytes without a group size, dequantization work, choosing what to keep)."""
    out = [effect["ignores"]] if effect.get("ignores") else []
    kind = effect.get("kind")
    if kind == "quantization":
        w, a = (effect.get("weights") or {}), (effect.get("activations") or {})
        if w.get("bits", 16) < 16 and not w.get("group_size") and not effect.get("ignores"):
            out.append("the bytes of quantization scales (the entry gives no group size)")
        if w.get("bits", 16) < 16 and a.get("bits", 16) >= 16:
            out.append("the dequantization arithmetic of weight-only kernels")
    elif kind == "kv_compression":
        out.append("the work of choosing which cache entries to keep")
    elif kind == "sparse_attention":
        out.append("the work of choosing which blocks or tokens to attend to")
    elif kind == "prefix_reuse":
        out.append("looking up and storing cached prefixes (the reused share is taken as given)")
    elif kind == "shared_prefix":
        out.append("splitting attention into prefix and suffix parts and merging their results")
    elif kind == "token_reduction" and effect.get("prompt_kept") is not None:
        out.append("the compressor's own work on the full prompt")
    return out


def primary_scenario(choice) -> str:
    """The scenario that stands for the family: the first one that is not the survey's own setting."""
    return next((s for s in choice.scenarios if s != "survey"), choice.scenarios[0])


def _largest_batch(terms, capacity: float) -> int:
    """The largest batch b whose peak max(terms(b)) fits `capacity`. Each term (prefill peak, last decode
    step) is affine in b, so two evaluations give its slope and intercept; the result is checked against the
    terms themselves so that rounding cannot move it by one. 0 when one sequence does not fit."""
    one, two = terms(1), terms(2)
    if max(one) > capacity:
        return 0
    best = None
    for t1, t2 in zip(one, two):
        slope = t2 - t1
        if slope > 0:
            b = int((capacity - (2 * t1 - t2)) // slope)
            best = b if best is None else min(best, b)
    if best is None:
        return 1 << 20  # nothing grows with the batch: no memory limit this model can state
    peak = lambda b: max(terms(b))  # noqa: E731
    while best > 1 and peak(best) > capacity:
        best -= 1
    while peak(best + 1) <= capacity:
        best += 1
    return best


def request_peaks(run, settings: Settings) -> tuple[float, float]:
    """Footprint per device of a request: (at the prefill, at the last decode step)."""
    prefill = run(settings).memory
    last = run(replace(settings, seq_len=settings.seq_len + settings.gen_len - 1)).memory
    return prefill.total_bytes, last.weights_bytes + last.kv_cache_bytes


class Request:
    """One request shape run one way (baseline or method): TTFT, mean time per output token, memory.

    `run(settings)` gives the Outcome of that way at a setting. Decode steps are summed over the growing
    context with `decode_time`; memory is the peak footprint per device over the request: the larger of the
    prefill (weights, the prompts' KV cache, the batch's prefill working set, prompts prefilled together) and
    the last decode step (weights, the cache of the whole context; decode activations are negligible).
    `max_batch` is the largest batch whose peak fits the device (both terms are affine in the batch)."""

    def __init__(self, run, settings: Settings, capacity: float):
        at = run(settings)
        self.prefill = at.prefill
        self.decode = at.decode
        self.ttft_s = at.prefill.time_s
        steps = max(settings.gen_len - 1, 1)
        self.tpot_s = decode_time(lambda c: run(replace(settings, seq_len=c)).decode_token_s, settings) / steps

        def peaks(batch: int) -> tuple[float, float]:
            return request_peaks(run, replace(settings, batch=batch))

        self.memory_bytes = max(peaks(settings.batch))
        self.fits = not capacity or self.memory_bytes <= capacity
        self.max_batch = None if not capacity else _largest_batch(peaks, capacity)


def compared_runs(cat: Catalogue, method: Method, model: str, hardware: str):
    """What a method is held against, as two functions Settings -> Outcome and their model ids:
    (baseline run, method run, baseline model, method model). The baseline is the plain run of `model`
    (unfused for a fused-attention entry); an architecture is its own model against the one it names."""
    effect = method.effect.model_dump(exclude_none=True)
    if effect["kind"] == "architecture":
        return (lambda s: cat.baseline(effect["baseline"], hardware, s, effect.get("baseline_changes")),
                lambda s: cat.baseline(effect["model"], hardware, s, effect.get("model_changes")),
                effect["baseline"], effect["model"])
    return (lambda s: cat.baseline(model, hardware, baseline_settings(s, effect)),
            lambda s: cat.run(method, model, hardware, s), model, model)


def scenario_rows(cat: Catalogue, method: Method, sc) -> list[dict]:
    """Two rows (prefill, decode) of one scenario: the baseline against the method, or the architecture's model
    against the one it is compared with. A side that does not fit its device gets no time."""
    settings = Settings(batch=sc.batch, seq_len=sc.seq_len, gen_len=sc.gen_len, tp=sc.tp)
    capacity = cat.hardware[sc.hardware].memory_bytes
    base_run, out_run, base_model, model = compared_runs(cat, method, sc.model, sc.hardware)
    base, out = Request(base_run, settings, capacity), Request(out_run, settings, capacity)
    hw = cat.hardware[sc.hardware]
    m_settings = _method_settings(settings, method)
    rows = []
    for stage, b_time, m_time in (("prefill", base.ttft_s, out.ttft_s), ("decode", base.tpot_s, out.tpot_s)):
        b_stage, m_stage = getattr(base, stage), getattr(out, stage)
        runs = base.fits and out.fits
        b_exp = _expected(b_time, b_stage, hw, settings)
        m_exp = _expected(m_time, m_stage, hw, m_settings)
        rows.append({
            "scenario": sc.id, "label": sc.label, "model": model, "baseline_model": base_model,
            "hardware": sc.hardware, "tp": sc.tp, "batch": sc.batch, "seq_len": sc.seq_len, "gen_len": sc.gen_len,
            "stage": stage,
            "baseline_time_s": b_time if base.fits else None, "method_time_s": m_time if out.fits else None,
            "speedup": b_time / m_time if runs else None,
            "baseline_bound": _bound(b_stage), "method_bound": _bound(m_stage),
            "baseline_memory_bytes": base.memory_bytes, "method_memory_bytes": out.memory_bytes,
            "baseline_fits": base.fits, "method_fits": out.fits,
            "baseline_max_batch": base.max_batch, "method_max_batch": out.max_batch,
            "changed_bounds": _changed_bounds(b_stage, m_stage) if model == base_model else [],
            # Expected times (calculator/expected.py, fitted to measurements) and their ratio: the speedup
            # to expect, beside the ideal-bound speedup above.
            "baseline_expected_s": b_exp if base.fits else None, "method_expected_s": m_exp if out.fits else None,
            "expected_speedup": b_exp / m_exp if runs and m_exp else None,
        })
    return rows


def _method_settings(settings: Settings, method: Method) -> Settings:
    """The scenario's settings with the method's weight width (quantized weights have their own
    efficiencies in the expected-time model); unchanged for other kinds."""
    effect = method.effect.model_dump(exclude_none=True)
    bits = a_bits = None
    if effect.get("kind") == "quantization":
        bits = (effect.get("weights") or {}).get("bits")
        a_bits = (effect.get("activations") or {}).get("bits")
    elif effect.get("kind") == "data_format":
        bits, a_bits = effect.get("weights_bits"), effect.get("activations_bits")
    if bits and bits < 16:
        try:
            return replace(settings, w_bits=bits, a_bits=a_bits or 16)
        except CalculatorError:
            return settings
    return settings


def _expected(bound_time: float, stage, hardware, settings: Settings) -> float:
    """Expected seconds for a bound time of `stage` (TTFT or mean time per output token): the bound
    scaled by the stage's expected-to-bound ratio (calculator.expected.expected_stage_s)."""
    from calculator.expected import expected_stage_s

    if not stage.time_s:
        return bound_time
    return bound_time * expected_stage_s(stage, hardware, settings) / stage.time_s


# What a claim's setting falls back to where the paper does not state a value.
CLAIM_DEFAULTS = {"batch": 1, "seq_len": 2048, "gen_len": 128}


def claim_settings(claim: Claim) -> Settings:
    s = claim.setting
    return Settings(**{k: getattr(s, k) or v for k, v in CLAIM_DEFAULTS.items()}, tp=s.tp or 1)


def _assumed(claim: Claim, key: str) -> bool:
    """Whether a setting value is ours, not the paper's: unset (a default) or listed in `assumed`."""
    s = claim.setting
    return getattr(s, key) is None or key in (s.assumed or [])


def checked_setting(claim: Claim) -> str:
    """The setting a claim is checked in, in words; values the paper does not state are marked assumed."""
    s, settings = claim.setting, claim_settings(claim)
    mark = {k: " (assumed)" if _assumed(claim, k) else "" for k in ("model", "hardware", "batch", "seq_len",
                                                                       "gen_len", "tp")}
    devices = f"{settings.tp}× {s.hardware}" if settings.tp > 1 else s.hardware
    words = [f"{s.model}{mark['model']} on {devices}{mark['hardware']}"]
    # A kernel claim times one operator: no generated tokens, and no context for a decode matrix multiplication.
    shown = ("batch",) if s.kernel == "decode-linear" else ("batch", "seq_len") if s.kernel else \
        ("batch", "seq_len", "gen_len")
    for key, label in (("batch", "batch {}"), ("seq_len", "context {}"), ("gen_len", "{} generated")):
        if key not in shown:
            continue
        if key == "batch" and s.max_batch:
            words.append("each side at the largest batch that fits")
            continue
        words.append(label.format(getattr(settings, key)) + mark[key])
    if s.baseline_method:
        words.append(f"against {s.baseline_method}")
    if s.baseline_effect:
        rest = _effect_words({k: v for k, v in s.baseline_effect.items() if k != "kind"})
        words.append(f"against a baseline run with {s.baseline_effect['kind']}" + (f" ({rest})" if rest else ""))
    if s.host_resident:
        h = s.host_resident
        shares = " and ".join(f"{share:.0%} of the {what}" for share, what in ((h.weights, "weights"),
                                                                             (h.kv_cache, "KV cache")) if share)
        words.append(f"both sides with {shares} in host memory, read over the host link by every target pass")
    if s.baseline_tp:
        words.append(f"the baseline on {s.baseline_tp}× {s.hardware}" + (
            ", tokens/s per device" if s.per_device else ""))
    if s.kernel:
        words.append(kernel_words(s.kernel))
    if s.effect:
        words.append(f"with this claim's effect: {effect_words(claim)}")
    if s.scenario:
        words.append(f"unstated values from the scenario '{s.scenario}'")
    return ", ".join(words)


def comparison_query(method: Method, model: str, hardware: str, settings: Settings) -> str:
    """Live-calculator query that opens the baseline in A and the method in B, so the page reads "B is n x
    faster"; an architecture opens the model it is compared with in A and its own model in B."""
    effect = method.effect.model_dump(exclude_none=True)
    shape = f"batch={settings.batch}&seq_len={settings.seq_len}&gen_len={settings.gen_len}&tp={settings.tp}"
    a_flash = "0" if baseline_settings(settings, effect).flash_attention is False else "1"
    if effect["kind"] == "architecture":
        a_model, b_model, b_method = effect["baseline"], effect["model"], ""
    else:
        a_model, b_model, b_method = model, model, method.id
    b_shape = "&".join("b_" + part for part in shape.split("&"))
    query = (f"model={a_model}&hardware={hardware}&{shape}&flash={a_flash}"
             f"&b_model={b_model}&b_hardware={hardware}&{b_shape}")
    return query + (f"&b_method={b_method}" if b_method else "")


def calculator_query(method: Method, claim: Claim) -> str:
    """Live-calculator query comparing the baseline (A) with the method (B) in the claim's setting."""
    query = comparison_query(method, claim.setting.model, claim.setting.hardware, claim_settings(claim))
    other = claim.setting.baseline_method
    return query.replace("&b_model=", f"&method={other}&b_model=", 1) if other else query


# A request's decode steps are summed over this many runs of equal length, each at its middle context:
# exact while every layer's time is affine in the context (it is, between changes of bound).
DECODE_RUNS = 8


def decode_time(step, settings: Settings) -> float:
    """Seconds for the decode steps of a request, as the calculator's generate stage counts them: the
    prefill of the `seq_len`-token prompt yields token 1; step j = 1..gen_len-1 reads a context of
    seq_len + j - 1 cached tokens. `step(context)` is the time of one decode step at that context."""
    steps = max(settings.gen_len - 1, 1)
    runs = min(DECODE_RUNS, steps)
    edges = [round(steps * k / runs) for k in range(runs + 1)]
    total = 0.0
    for lo, hi in zip(edges, edges[1:]):
        mid2 = 2 * settings.seq_len + lo + hi - 1  # twice the middle context of steps lo+1..hi
        at = (step(mid2 // 2) + step((mid2 + 1) // 2)) / 2 if mid2 % 2 else step(mid2 // 2)
        total += (hi - lo) * at
    return total


def _end_memory(at_prompt: Outcome, at_end: Outcome) -> float:
    """Footprint once the last token is generated: weights, the KV cache of the whole context, and
    the prompt's prefill activations (as in the calculator's generate stage)."""
    m = at_prompt.memory
    return m.weights_bytes + at_end.memory.kv_cache_bytes + m.activations_bytes


def claim_runs(cat: Catalogue, method: Method, claim: Claim, methods: dict | None = None):
    """(baseline run, method run) of a claim: the plain model against the method, or, where the claim's
    baseline is another entry (`setting.baseline_method`), that entry's effect against the method's."""
    s = claim.setting
    base_run, out_run, _, _ = compared_runs(cat, method, s.model, s.hardware)
    other = baseline_entry(method, claim, methods)
    if other is not None:
        base_run = lambda st: cat.run(other, s.model, s.hardware, st)  # noqa: E731
    if s.baseline_tp:  # the baseline over its own device count, whatever the settings say
        split, base_run = base_run, lambda st: split(replace(st, tp=s.baseline_tp))  # noqa: E731
    if s.host_resident:  # both sides stream the same shares from host memory
        link, shares = cat.host.get(s.hardware), s.host_resident.model_dump()
        b_effect = other.effect.model_dump(exclude_none=True) if other is not None else None
        m_effect = method.effect.model_dump(exclude_none=True)
        on_device_b, on_device_m = base_run, out_run
        base_run = lambda st: host_resident(on_device_b(st), b_effect, link, **shares)  # noqa: E731
        out_run = lambda st: host_resident(on_device_m(st), m_effect, link, **shares)  # noqa: E731
    return base_run, out_run


def baseline_entry(method: Method, claim: Claim, methods: dict | None = None) -> Method | None:
    """What a claim's baseline runs, when it is not the plain model: another entry (`baseline_method`), or the
    claim's own baseline effect (`baseline_effect`) on a copy of the entry."""
    s = claim.setting
    if s.baseline_method:
        return (methods or {})[s.baseline_method]
    if s.baseline_effect:
        return method.model_copy(update={"effect": baseline_effect(s.baseline_effect)})
    return None


def per_device_factor(claim: Claim) -> float:
    """Tokens per device-second: each side's tokens/s over its device count (1 unless `per_device`)."""
    s = claim.setting
    return s.baseline_tp / (s.tp or 1) if s.per_device else 1.0


def predicted(cat: Catalogue, method: Method, claim: Claim, methods: dict | None = None) -> tuple[float | None, str]:
    """The roofline's prediction for a claim's metric in its setting, or None with the reason.

    Decode and end-to-end figures follow the context as it grows over the generated tokens; memory
    is the footprint at the end of the request, when the KV cache is largest."""
    s = claim.setting
    if claim.metric == "kernel_speedup" and not s.kernel:
        return None, COMPUTED_REASONS["kernel-only"]
    if not s.model or not s.hardware:
        return None, NO_IDS
    settings = claim_settings(claim)
    effect = method.effect.model_dump(exclude_none=True)
    if effect["kind"] == "serving":
        if s.kernel:
            return None, KERNEL_SERVING
        return serving_predicted(cat, method, claim, settings)
    if effect["kind"] == "architecture" and s.model != effect["model"]:
        return None, f"the claim's model {s.model} is not the architecture's catalogue model {effect['model']}"

    base_run, out_run = claim_runs(cat, method, claim, methods)

    def base(context: int) -> Outcome:
        return base_run(replace(settings, seq_len=context))

    def out(context: int) -> Outcome:
        return out_run(replace(settings, seq_len=context))

    try:
        prompt = settings.seq_len
        if s.kernel:
            b_time, m_time = kernel_stage(base(prompt), s.kernel).time_s, kernel_stage(out(prompt), s.kernel).time_s
            if not (b_time and m_time):
                return None, f"{KERNEL_NO_ROWS} ({s.kernel})"
            return b_time / m_time, ""
        if claim.metric == "memory_reduction":
            end = prompt + settings.gen_len - 1
            if claim.memory_of == "weights":
                return base(prompt).memory.weights_bytes / out(prompt).memory.weights_bytes, ""
            if claim.memory_of == "kv_cache":
                return base(end).memory.kv_cache_bytes / out(end).memory.kv_cache_bytes, ""
            return _end_memory(base(prompt), base(end)) / _end_memory(out(prompt), out(end)), ""
        if claim.metric == "prefill_speedup":
            return base(prompt).prefill.time_s / out(prompt).prefill.time_s, ""
        b_dec = decode_time(lambda c: base(c).decode_token_s, settings)
        m_dec = decode_time(lambda c: out(c).decode_token_s, settings)
    except CalculatorError as exc:
        return None, str(exc)
    if claim.metric == "decode_speedup":
        return b_dec / m_dec, ""
    if s.max_batch and claim.metric == "throughput_gain":
        try:
            value, why = _max_batch_throughput(cat, method, claim, settings, methods)
        except CalculatorError as exc:
            return None, str(exc)
        return (value * per_device_factor(claim) if value else value), why
    # speedup / throughput_gain: the whole request, prefill then the decode steps.
    ratio = (base(prompt).prefill.time_s + b_dec) / (out(prompt).prefill.time_s + m_dec)
    return ratio * per_device_factor(claim), ""


def expected_ratio(cat: Catalogue, method: Method, claim: Claim, methods: dict | None = None) -> float | None:
    """The calibrated expected value of a time claim in its setting (calculator.expected): each side's
    stages at their expected efficiencies instead of the peaks (a max-batch throughput claim: each side at
    the largest batch the bound finds for it); None for memory, kernel and serving claims, or where the
    calibration cannot say."""
    s = claim.setting
    # No expected value with host transfers: the calibration holds no host-link runs.
    if claim.metric == "memory_reduction" or (claim.metric == "kernel_speedup" and not s.kernel) \
            or not (s.model and s.hardware) or s.host_resident \
            or method.effect.kind == "serving" or (s.max_batch and claim.metric != "throughput_gain"):
        return None
    settings = claim_settings(claim)
    hw = cat.hardware[s.hardware]
    m_settings = _method_settings(settings, method)
    # A baseline that is another entry (AWQ against QuIK, ...) runs at that entry's widths, not at 16 bits.
    other = baseline_entry(method, claim, methods)
    b_settings = _method_settings(settings, other) if other is not None else settings
    b_settings = replace(b_settings, tp=s.baseline_tp or b_settings.tp)
    base_run, out_run = claim_runs(cat, method, claim, methods)
    if s.kernel:
        try:
            b_exp = kernel_expected_s(kernel_stage(base_run(settings), s.kernel), hw, b_settings)
            m_exp = kernel_expected_s(kernel_stage(out_run(settings), s.kernel), hw, m_settings)
        except (CalculatorError, ImportError, KeyError, ValueError):
            return None
        return b_exp / m_exp if m_exp else None

    def times(run, at: Settings, shape: Settings = settings) -> tuple[float, float]:
        first = run(shape)
        prefill = _expected(first.prefill.time_s, first.prefill, hw, replace(at, batch=shape.batch))

        def step(c: int) -> float:
            o = run(replace(shape, seq_len=c))
            return _expected(o.decode_token_s, o.decode, hw, replace(at, batch=shape.batch, seq_len=c))
        return prefill, decode_time(step, shape)

    try:
        if s.max_batch:  # tokens per second of each side at its own largest batch, as _max_batch_throughput
            capacity = hw.memory_bytes
            rates = []
            for run, at in ((base_run, b_settings), (out_run, m_settings)):
                batch = min(Request(run, settings, capacity).max_batch or 0, MAX_CLAIM_BATCH) if capacity else 0
                if batch < 1:
                    return None
                shape = replace(settings, batch=batch)
                rates.append(batch * settings.gen_len / sum(times(run, at, shape)))
            return rates[1] / rates[0] * per_device_factor(claim)
        (bp, bd), (mp, md) = times(base_run, b_settings), times(out_run, m_settings)
    except (CalculatorError, ImportError, KeyError, ValueError, ZeroDivisionError):
        return None
    if claim.metric == "prefill_speedup":
        return bp / mp
    if claim.metric == "decode_speedup":
        return bd / md
    return (bp + bd) / (mp + md) * per_device_factor(claim)


# Largest batch a max-batch throughput claim is run at (a side whose memory never fills stops here).
MAX_CLAIM_BATCH = 4096


def _max_batch_throughput(cat: Catalogue, method: Method, claim: Claim, settings: Settings, methods: dict | None):
    """Generated tokens per second of the method at the largest batch it fits, over the baseline's at its own
    largest batch: the gain a paper measures by raising each side's batch until memory runs out."""
    s = claim.setting
    capacity = cat.hardware[s.hardware].memory_bytes  # the footprints below are per device
    if not capacity:
        return None, f"the catalogue states no memory size for {s.hardware}"
    base_run, out_run = claim_runs(cat, method, claim, methods)
    rates = []
    for run in (base_run, out_run):
        batch = min(Request(run, settings, capacity).max_batch or 0, MAX_CLAIM_BATCH)
        if batch < 1:
            return None, "one sequence of this setting does not fit the device"
        at = replace(settings, batch=batch)
        t = run(at).prefill.time_s + decode_time(lambda c: run(replace(at, seq_len=c)).decode_token_s, at)
        rates.append(batch * settings.gen_len / t)
    return rates[1] / rates[0], ""


# Verdict words. A claim with an expected value (a time ratio: the calibrated expected times of both sides,
# calculator.expected) is judged two-sided: against the expected ratio and against the bound. A claim with
# none (memory reductions, serving comparisons) keeps the bound-only words.
PLAUSIBLE, OPTIMISTIC, BEYOND = "plausible", "optimistic", "beyond the bound"
CONSISTENT, ABOVE = "consistent", "above the roofline bound"
NOT_CHECKABLE = "not checkable"
VERDICTS = (PLAUSIBLE, OPTIMISTIC, BEYOND, CONSISTENT, ABOVE, NOT_CHECKABLE)
OVER_BOUND = (BEYOND, ABOVE)  # the verdicts of a claim above its bound (an entry explains these)


def verdict(claimed: float, bound: float | None, expected: float | None = None) -> str:
    """plausible: at most TOLERANCE x the expected ratio; optimistic: above that but within TOLERANCE x
    the bound; beyond the bound: above TOLERANCE x the bound. Without an expected value: consistent
    (within TOLERANCE x the bound) or above the roofline bound; without a bound: not checkable."""
    if bound is None:
        return NOT_CHECKABLE
    if expected is None:
        return CONSISTENT if claimed <= bound * TOLERANCE else ABOVE
    # The ratio of two ideal times is no ceiling on the ratio of two real ones: a method that also removes fixed
    # per-step costs (fewer decode steps) has an expected ratio above its bound ratio, and that is the ceiling.
    if claimed > max(bound, expected) * TOLERANCE:
        return BEYOND
    return PLAUSIBLE if claimed <= expected * TOLERANCE else OPTIMISTIC


# A claim with neither catalogue ids nor an outside_roofline reason: data still to fill in.
NO_IDS = "no catalogue model and device filled in yet for this claim's setting"
NO_DEVICE = "the paper names the model but no device for this number"
NO_MODEL = "the paper names the device but no model for this number"
KERNEL_SERVING = "a serving comparison has no kernel rows to hold a kernel claim against"
KERNEL_NO_ROWS = "the model has no rows of this kernel's operator"
# A memory ratio does not depend on the device: one the paper does not name is run on this one, and said so.
ANY_DEVICE = "nvidia-a100-80gb"
FAVOURABLE = "the most favourable catalogue GPU (the paper names no device)"
# Metrics of a time ratio: without a named device, held against the highest bound of any catalogue GPU.
TIME_METRICS = ("speedup", "prefill_speedup", "decode_speedup", "throughput_gain", "kernel_speedup")

# Short keys of the reasons a claim gets no verdict (the claims page counts them): the entry's
# outside_roofline vocabulary, then the ones the analysis finds itself.
COMPUTED_REASONS = {
    "kernel-only": "a kernel speedup depends on the baseline kernel's efficiency, not on the roofline",
    "effect-none": "effect kind none",
    "other-model": "the claim's model is not the architecture's catalogue model",
    "calculator-error": "the calculator cannot run this setting",
    "ids-missing": NO_IDS,
    "no-device": NO_DEVICE,
    "no-model": NO_MODEL,
    "serving-metric": "a serving comparison gives throughput, not this metric",
    "serving-unbounded": "the baseline meets the latency limits at no request rate: the bound on the gain is unlimited",
}


def resolved(claim: Claim, scenarios=None) -> Claim:
    """The claim with the values its paper does not state taken from its `setting.scenario` (marked assumed)."""
    s = claim.setting
    sc = next((x for x in (scenarios.scenarios if scenarios else []) if x.id == s.scenario), None)
    if sc is None:
        return claim
    update, assumed = {}, list(s.assumed or [])
    for key in ("model", "hardware", "batch", "seq_len", "gen_len", "tp"):
        if getattr(s, key) is None:
            update[key] = getattr(sc, key)
            assumed += [key] if key not in assumed else []
    return claim.model_copy(update={"setting": s.model_copy(update={**update, "assumed": assumed})})


def for_claim(method: Method, claim: Claim) -> Method:
    """The method as this claim measured it: with the claim's `setting.effect` (a budget, a density, a whole
    effect) in place of the entry's."""
    if claim.setting.effect is None:
        return method
    return method.model_copy(update={"effect": claim_effect(method.effect, claim.setting.effect)})


def effect_words(claim: Claim) -> str:
    """A claim's own effect values in words ("decode_kv_budget 1024"), for the setting it is checked in."""
    return _effect_words(claim.setting.effect or {})


def _effect_words(changes: dict) -> str:
    def words(key: str, value) -> str:  # nested values ({kv_cache: {bits: 4}}) read "kv_cache bits 4"
        if isinstance(value, dict):
            return ", ".join(words(f"{key} {k}", v) for k, v in value.items())
        return f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"
    return ", ".join(words(k, v) for k, v in changes.items() if k not in ("basis", "ignores"))


def _on(claim: Claim, hardware: str) -> Claim:
    return claim.model_copy(update={"setting": claim.setting.model_copy(update={"hardware": hardware})})


def most_favourable_gpu(cat: Catalogue, method: Method, claim: Claim, methods: dict | None = None):
    """(device id, bound, GPUs tried) for a time claim whose paper names the model but no device: the catalogue
    GPU on which the roofline allows the largest ratio, among those that hold both sides' whole request (the
    claim can only have run on a device it fits); None where it fits none. The bound holds whatever GPU the
    paper used, if the catalogue has it."""
    if method.effect.kind in ("none", "serving") or claim.outside_roofline is not None:
        return None
    settings, best, tried = claim_settings(claim), None, 0
    for gpu in cat.gpus:
        capacity = cat.hardware[gpu].memory_bytes
        on = _on(claim, gpu)
        try:
            if capacity and any(max(request_peaks(run, settings)) > capacity
                                for run in claim_runs(cat, method, on, methods)):
                continue
        except CalculatorError:
            continue
        value, _ = predicted(cat, method, on, methods)
        if value is not None:
            tried += 1
            if best is None or value > best[1]:
                best = (gpu, value)
    return (*best, tried) if best else None


def claim_check(cat: Catalogue, method: Method, claim: Claim, methods: dict | None = None,
                scenarios=None) -> dict:
    """One claim held against the roofline: the bound, the verdict, or the reason there is none."""
    claim = resolved(claim, scenarios)
    method = for_claim(method, claim)
    no_device = bool(claim.setting.model and not claim.setting.hardware)
    device_free = claim.metric == "memory_reduction" and no_device and ANY_DEVICE in cat.hardware
    favourable = most_favourable_gpu(cat, method, claim, methods) \
        if claim.metric in TIME_METRICS and no_device else None
    if device_free:
        claim = _on(claim, ANY_DEVICE)
    elif favourable:
        claim = _on(claim, favourable[0])
    outside = claim.outside_roofline
    if outside is not None:
        value, reason = None, outside.reason
        why = OUTSIDE_ROOFLINE[reason] + (f": {outside.explanation}" if outside.explanation else "")
    elif method.effect.kind == "none":
        value, reason, why = None, "effect-none", f"effect kind none: {method.effect.reason}"
    else:
        value, why = predicted(cat, method, claim, methods)
        reason = None
        if value is None:
            s = claim.setting
            if why == NO_IDS and (s.model or s.hardware):
                why = NO_DEVICE if s.model else NO_MODEL
            reason = ("kernel-only" if claim.metric == "kernel_speedup" and not s.kernel
                      else "ids-missing" if why == NO_IDS
                      else "no-device" if why == NO_DEVICE else "no-model" if why == NO_MODEL
                      else "other-model" if why.startswith("the claim's model")
                      else "serving-metric" if why.startswith(SERVING_METRIC)
                      else "serving-unbounded" if why.startswith(SERVING_UNBOUNDED) else "calculator-error")
    checked = value is not None
    # The expected value depends on the device: none where the paper names none.
    expected = expected_ratio(cat, method, claim, methods) if checked and not favourable else None
    word = verdict(claim.value, value, expected)
    above = word in OVER_BOUND
    return {"metric": claim.metric, "claimed": claim.value, "predicted": value,
            "verdict": word, "why": why or None, "reason": reason,
            "source": claim.source, "explanation": claim.explanation if above else None, "expected": expected,
            # A time claim above its bound says how far below its roof the baseline ran, if the method reached its
            # own: the measured ratio over the ideal one.
            "baseline_share": value / claim.value if above and claim.metric in TIME_METRICS else None,
            "setting": serving_setting(method, claim) if checked and method.effect.kind == "serving"
            else _with_fit(_device_free(checked_setting(claim), device_free, favourable),
                           fit_words(cat, method, claim, methods) if not (favourable or device_free) else "")
            if checked else None,
            "scenario": (FAVOURABLE if favourable else _scenario_label(claim, scenarios)) if checked else None,
            # The live calculator applies an entry's own effect and one device count to both sides; it has no
            # link for a claim's own effect or a baseline on other devices.
            "calculator_query": calculator_query(method, claim) if checked and not (
                claim.setting.effect or claim.setting.baseline_effect or claim.setting.baseline_tp
                or claim.setting.host_resident) else None}


def fit_words(cat: Catalogue, method: Method, claim: Claim, methods: dict | None = None) -> str:
    """What the bound assumes where a side of a time claim does not fit the paper's device: the paper cannot
    have run that whole request on one such device, and the bound holds the side as one device with enough
    memory (a split by layers runs the layers in turn, so it keeps that time; offloading would be slower).
    Empty when both sides fit, and for kernel, memory and serving claims."""
    s = claim.setting
    if claim.metric not in TIME_METRICS or s.kernel or s.max_batch or method.effect.kind == "serving" \
            or not (s.model and s.hardware):
        return ""
    capacity = cat.hardware[s.hardware].memory_bytes
    settings = claim_settings(claim)
    if not capacity:
        return ""
    try:
        peaks = [max(request_peaks(run, settings)) for run in claim_runs(cat, method, claim, methods)]
    except CalculatorError:
        return ""
    # whole GB unless that would print a need equal to the capacity (86 GB against 86 GB)
    digits = 1 if any(peak > capacity and round(peak / 1e9) == round(capacity / 1e9) for peak in peaks) else 0
    over = [f"the {side} needs {peak / 1e9:.{digits}f} GB per device"
            for side, peak in zip(("baseline", "method"), peaks) if peak > capacity]
    if not over:
        return ""
    return (f"{' and '.join(over)}, more than the {capacity / 1e9:.{digits}f} GB of {s.hardware}, so the paper did not "
            "run this whole request on one such device (more devices, offloading, or only some layers timed); the "
            "bound holds each side as one device with enough memory (a split by layers keeps that time, "
            "offloading is slower)")


def _device_free(words: str, device_free: bool, favourable: tuple | None = None) -> str:
    if favourable:
        gpu, _, tried = favourable
        return re.sub(rf" on (\d+× )?{re.escape(gpu)}", lambda m: f"{m.group(0)} (the most favourable of the {tried} "
                      "catalogue GPUs that hold it)", words, count=1)
    if not device_free:
        return words
    return words.replace(f" on {ANY_DEVICE} (assumed)", " on any device (a memory ratio does not depend on it)", 1) \
        .replace(f" on {ANY_DEVICE}", " on any device (a memory ratio does not depend on it)", 1)


def _with_fit(words: str, fit: str) -> str:
    return f"{words}; {fit}" if fit else words


def _scenario_label(claim: Claim, scenarios) -> str | None:
    """The label of the scenario a claim without a stated setting is judged in (None at the paper's setting)."""
    sc = next((x for x in (scenarios.scenarios if scenarios else []) if x.id == claim.setting.scenario), None)
    return sc.label if sc else None


def analyze_method(cat: Catalogue, kb: KB, method: Method) -> Analysis:
    result = Analysis()
    result.claims = [claim_check(cat, method, claim, kb.methods, kb.scenarios) for claim in method.claims]
    if method.effect.kind == "none":
        result.reason = method.effect.reason
        return result
    if method.effect.kind == "serving" and kb.scenarios is not None:
        return _serving_analysis(cat, kb, method, result)
    if kb.scenarios is None:
        result.reason = "this knowledge base defines no analysis scenarios (kb/scenarios.yaml)"
        return result
    choice = scenario_choice(kb, method)
    by_id = {sc.id: sc for sc in kb.scenarios.scenarios}
    usable = [by_id[i] for i in choice.scenarios if by_id[i].model in cat.models and by_id[i].hardware in cat.hardware]
    if not usable:
        result.reason = "the standard scenarios' models and devices are not in this catalogue"
        return result
    result.scenarios_why = choice.why
    primary = primary_scenario(choice)
    result.primary = primary if primary in {sc.id for sc in usable} else usable[0].id
    try:
        for sc in usable:
            result.scenarios += scenario_rows(cat, method, sc)
        result.plot = _plot(cat, method, by_id[result.primary])
    except CalculatorError as exc:
        result.scenarios, result.reason = [], f"the calculator cannot apply this effect: {exc}"
    return result


# --- serving effects (kind serving): calculator.serving.compare, not one run -----------------------------

SERVING_METRIC = "a serving comparison gives"
# What each calculator.serving.compare metric measures, in the words pages use.
SERVING_METRIC_WORDS = {"throughput_at_capacity": "output tokens/s at capacity", "goodput": "goodput",
                        "offload_throughput": "output tokens/s with offloading"}
SERVING_UNBOUNDED = "in the bound the baseline meets the latency limits at no request rate while the method does"
# A latency limit the entry does not set: none binds (below compare()'s 1e6 s bound on limits).
NO_LIMIT_S = 1e5


def serving_effect(method: Method, claim: Claim | None = None) -> dict:
    """The entry's serving effect (with a claim's `setting.serving` changes) as calculator.serving.compare takes
    it: limits in seconds under compare's names; a token budget without limits compares the highest rates."""
    effect = method.effect.model_dump(exclude_none=True)
    if claim is not None and claim.setting.serving is not None:
        effect.update(claim.setting.serving.model_dump(exclude_none=True))
    out = {k: v for k, v in effect.items() if k not in ("kind", "basis", "ignores", "ttft_limit_s", "tpot_limit_s")}
    if not effect.get("allocator"):  # a limit the paper does not set does not bind
        out["ttft_limit"] = effect.get("ttft_limit_s", NO_LIMIT_S)
        out["tpot_limit"] = effect.get("tpot_limit_s", NO_LIMIT_S)
    return out


def _serving_compare(cat: Catalogue, effect: dict, model: str, hardware: str, settings: Settings) -> dict:
    from calculator.serving import compare

    return compare(cat.models[model], cat.hardware[hardware], settings, effect)


def serving_predicted(cat: Catalogue, method: Method, claim: Claim, settings: Settings) -> tuple[float | None, str]:
    """A serving claim's bound: compare()'s gain (throughput at capacity, or goodput within the limits) in the
    claim's setting. Only throughput claims, and the decode speedup of an offloading comparison (its TPOT ratio):
    a serving comparison gives no other single-run speedup or memory ratio."""
    offload = bool(method.effect.model_dump(exclude_none=True).get("offload"))
    if claim.metric != "throughput_gain" and not (offload and claim.metric == "decode_speedup"):
        return None, f"{SERVING_METRIC} throughput at capacity or goodput, not {claim.metric}"
    try:
        out = _serving_compare(cat, serving_effect(method, claim), claim.setting.model, claim.setting.hardware,
                               settings)
    except CalculatorError as exc:
        return None, str(exc)
    if out["gain"] is None:
        if out["method"]:
            return None, (f"{SERVING_UNBOUNDED} ({out['method']:.4g} output tokens/s per device with the method), so "
                          "any claimed gain is within the bound")
        return None, "neither side serves a request of this shape within the limits"
    if claim.metric == "decode_speedup":
        return out["details"]["tpot_gain"], ""
    return out["gain"], ""


def _limits_words(effect: dict) -> str:
    words = [f"{name} ≤ {effect[key]:g} s" for key, name in (("ttft_limit", "TTFT"), ("tpot_limit", "TPOT"))
             if effect.get(key, NO_LIMIT_S) < NO_LIMIT_S]
    return ", ".join(words) or "no latency limit"


def serving_words(method: Method, claim: Claim | None = None) -> str:
    """What a serving claim's bound compares, in words (empty for other kinds)."""
    if method.effect.kind != "serving":
        return ""
    e = serving_effect(method, claim)
    if e.get("allocator"):
        base = e.get("baseline_allocator", "reserve")
        if base == "paged":  # compare() gives a paged baseline the default blocks
            base = "paged blocks of 16"
        else:
            n = e.get("baseline_max_seq_len")
            base = ("reserving each request's own length (an oracle)" if n == 1 else
                    f"reserving {n} tokens per request" if n else "reserving the model's positions per request")
        return (f"; output tokens/s per device at each side's capacity: {e['allocator']} KV cache"
                + (f" in blocks of {e.get('block_size', 16)}" if e["allocator"] == "paged" else "")
                + f" against {base}")
    if e.get("token_budget"):
        return (f"; goodput: chunked prefill, {e['token_budget']} tokens per iteration, against whole prompts "
                f"({_limits_words(e)})")
    if e.get("scheduling"):
        return (f"; output tokens/s per device at capacity: iteration-level scheduling against request-level batches "
                f"that run {e.get('longest_output_ratio', 1):g}x the mean output ({_limits_words(e)})")
    if e.get("offload"):
        link = (f"a {e['link_bandwidth_gb_s']:g} GB/s tier" if e.get("link_bandwidth_gb_s")
                else "the host link")

        def share(key):
            return "what does not fit" if e.get(key) is None else f"{100 * e[key]:.3g}% of the weights"
        return (f"; output tokens/s per device (and time per output token), streaming over {link}: "
                f"{share('weights_fraction')} at batch {e.get('batch', 1)}"
                + (" with attention on the host" if e.get("host_attention") else "")
                + f" against {share('baseline_weights_fraction')} at batch {e.get('baseline_batch', 1)}")
    return f"; goodput per device: disaggregated prefill and decode pools against one colocated server ({_limits_words(e)})"


def serving_setting(method: Method, claim: Claim) -> str:
    """A serving claim's setting in words: no batch (each side runs at its own capacity or rate), then what the
    bound compares."""
    words = [w for w in checked_setting(claim).split(", ") if not w.startswith("batch ")]
    return ", ".join(words) + serving_words(method, claim)


def serving_comparison(cat: Catalogue, method: Method, sc) -> dict:
    """One scenario's serving comparison for a method page: compare()'s baseline and method, with capacity and
    throughput at capacity (allocator effects) or goodput within the limits (chunking, disaggregation)."""
    effect = serving_effect(method)
    settings = Settings(seq_len=sc.seq_len, gen_len=sc.gen_len, tp=sc.tp)
    out = _serving_compare(cat, effect, sc.model, sc.hardware, settings)
    rows = []
    if effect.get("scheduling"):
        b, m = out["details"]["baseline"], out["details"]["method"]
        rows.append(["Requests that fit (capacity)", b["max_batch"], m["max_batch"]])
        rows.append(["Batch run (static, until the longest output)", b["batch"], "continuous"])
        rows.append(["Output tokens/s per device at capacity (bound)", f'{out["baseline"]:,.0f}', f'{out["method"]:,.0f}'])
    elif out["metric"] == "offload_throughput":
        b, m = out["details"]["baseline"], out["details"]["method"]
        rows.append(["Batch", b["batch"], m["batch"]])
        rows.append(["Weights streamed per step", f'{100 * b["weights_fraction"]:.3g}%', f'{100 * m["weights_fraction"]:.3g}%'])
        rows.append(["Time per output token (bound)", f'{b["tpot_s"]:.3g} s', f'{m["tpot_s"]:.3g} s'])
        rows.append(["Output tokens/s per device (bound)", f'{out["baseline"]:,.3g}', f'{out["method"]:,.3g}'])
    elif out["metric"] == "throughput_at_capacity":
        b, m = out["details"]["baseline"], out["details"]["method"]
        rows.append(["Requests that fit (capacity)", b["max_batch"], m["max_batch"]])
        rows.append(["Reserved KV slots never used", f'{100 * b["waste_fraction"]:.1f}%',
                     f'{100 * m["waste_fraction"]:.1f}%'])
        rows.append(["Output tokens/s per device at capacity (bound)", f'{out["baseline"]:,.0f}', f'{out["method"]:,.0f}'])
    else:
        g = sc.gen_len
        rows.append([f"Goodput, output tokens/s per device ({_limits_words(effect)})", f'{out["baseline"]:,.0f}',
                     f'{out["method"]:,.0f}'])
        rows.append(["Requests/s per device within the limits", f'{out["baseline"] / g:.3g}', f'{out["method"] / g:.3g}'])
        d = out["details"]
        if effect.get("disaggregated"):
            rows.append(["Batch (prefill instance, decode instance)", "colocated",
                         f'{d["prefill"]["batch"]}, {d["decode"]["batch"]}'])
            if d.get("pools"):
                rows.append(["Instances (prefill : decode)", "—",
                             f'{d["pools"]["prefill_instances"]} : {d["pools"]["decode_instances"]}'])
    return {"scenario": sc.id, "label": sc.label, "model": sc.model, "hardware": sc.hardware, "tp": sc.tp,
            "seq_len": sc.seq_len, "gen_len": sc.gen_len, "metric": out["metric"], "baseline": out["baseline"],
            "method": out["method"], "gain": out["gain"], "rows": rows, "words": serving_words(method)}


@dataclass
class _Setting:
    """A serving comparison's setting that is not a kb/scenarios.yaml scenario (the paper's own)."""

    id: str
    label: str
    model: str
    hardware: str
    tp: int
    seq_len: int
    gen_len: int


def _paper_setting(kb: KB, method: Method) -> _Setting | None:
    """The setting of the entry's first judged throughput claim that uses the effect as written: the paper's own
    model, device and request shape, shown first on the page."""
    for i, claim in enumerate(method.claims):
        claim = resolved(claim, kb.scenarios)
        s = claim.setting
        if claim.metric == "throughput_gain" and s.model and s.hardware and claim.outside_roofline is None \
                and s.serving is None:
            st = claim_settings(claim)
            return _Setting("paper", f"The paper's setting (claim {i + 1})", s.model, s.hardware, st.tp,
                            st.seq_len, st.gen_len)
    return None


def _serving_analysis(cat: Catalogue, kb: KB, method: Method, result: Analysis) -> Analysis:
    """A serving effect's page: compare() in the non-survey scenarios of its family (no single-run rows)."""
    choice = scenario_choice(kb, method)
    by_id = {sc.id: sc for sc in kb.scenarios.scenarios}
    usable = [by_id[i] for i in choice.scenarios if i != "survey" and by_id[i].model in cat.models
              and by_id[i].hardware in cat.hardware]
    paper = _paper_setting(kb, method)
    if paper is not None and paper.model in cat.models and paper.hardware in cat.hardware:
        usable.insert(0, paper)
    result.scenarios_why = choice.why
    result.serving = []
    for sc in usable:
        try:
            result.serving.append(serving_comparison(cat, method, sc))
        except CalculatorError as exc:
            result.serving.append({"scenario": sc.id, "label": sc.label, "error": str(exc)})
    if not usable:
        result.reason = "the standard scenarios' models and devices are not in this catalogue"
    return result


def _plot(cat: Catalogue, method: Method, sc) -> str:
    """Roofline plot of the decode step in the primary scenario: baseline layers against the method's."""
    from calculator.result import Result
    from calculator.svg import to_svg

    effect = method.effect.model_dump(exclude_none=True)
    settings = Settings(batch=sc.batch, seq_len=sc.seq_len, gen_len=sc.gen_len, tp=sc.tp)
    base_run, out_run, _, model_id = compared_runs(cat, method, sc.model, sc.hardware)
    base, out = base_run(settings), out_run(settings)
    model = cat.model(model_id, effect.get("model_changes") if effect["kind"] == "architecture" else None)
    hardware = cat.hardware[sc.hardware]
    stages = {"baseline": _renamed(base.decode, "baseline"), "method": _renamed(out.decode, "method")}
    formats = {f"baseline_{r[0]}": r[6] for r in base.decode.layers if r[6] in hardware.peaks}
    formats.update({f"method_{r[0]}": r[6] for r in out.decode.layers if r[6] in hardware.peaks})
    fake = Result(model, hardware, replace(settings, stage="decode"), stages, base.memory, None, formats, ())
    return to_svg(fake)


def _renamed(stage, name: str):
    from calculator.result import Stage

    rows = [r for r in stage.layers if r[3] > 0]  # a fused row moves no bytes: no point on the plot
    return Stage(name, rows, stage.ops, stage.bytes, stage.time_s, stage.interconnect_bytes)


def analyze_kb(kb: KB, only: list[str] | None = None) -> dict[str, Analysis]:
    """Every method's analysis (or those of the ids in `only`); baselines are shared across methods
    (computed once per scenario)."""
    cat = Catalogue(kb)
    ids = kb.methods if only is None else only
    return {method_id: analyze_method(cat, kb, kb.methods[method_id]) for method_id in ids}


VERSION = calculator.__version__
