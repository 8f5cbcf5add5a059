"""The computed bottleneck analysis of every method: its effect in standard scenarios, and its claims
held against the roofline. Runs once per build (`analyze_kb`), not once per page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import calculator
from calculator import CalculatorError, Settings
from calculator.effects import Outcome, apply_effect, baseline
from kb.load import KB
from kb.schema import Claim, Method

# A claim within this factor of the roofline prediction counts as consistent with it.
TOLERANCE = 1.10


@dataclass(frozen=True)
class Scenario:
    id: str
    label: str
    model: str
    hardware: str
    batch: int
    seq_len: int


SCENARIOS = (
    Scenario("survey", "Survey setting (Table 1)", "llama-2-7b", "nvidia-a6000", 1, 2048),
    Scenario("serving", "Serving batch", "llama-2-7b", "nvidia-a6000", 32, 2048),
    Scenario("consumer", "Consumer GPU", "llama-3-8b", "nvidia-rtx-4090", 1, 4096),
    Scenario("datacenter", "Large model, data-centre GPU", "llama-3-70b", "nvidia-h200", 8, 4096),
)


@dataclass
class Analysis:
    """Scenario rows and claim verdicts of one method (empty with `reason` when not modelled)."""

    scenarios: list[dict] = field(default_factory=list)
    claims: list[dict] = field(default_factory=list)
    reason: str | None = None
    plot: str | None = None


class Catalogue:
    """Calculator inputs built once from the validated KB catalogues."""

    def __init__(self, kb: KB):
        from kb.catalogue import hardware_from_dict, model_from_dict

        self.models = {k: model_from_dict(v.model_dump(exclude_none=True), k) for k, v in kb.models.items()}
        self.hardware = {k: hardware_from_dict(v.model_dump(exclude_none=True), k) for k, v in kb.hardware.items()}
        self.host = {k: v.host_link.bandwidth_gb_s * 1e9 for k, v in kb.hardware.items() if v.host_link}
        self._base: dict[tuple, Outcome] = {}

    def baseline(self, model: str, hardware: str, settings: Settings) -> Outcome:
        key = (model, hardware, settings)
        if key not in self._base:
            self._base[key] = baseline(self.models[model], self.hardware[hardware], settings)
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


def scenario_rows(cat: Catalogue, method: Method, sc: Scenario) -> list[dict]:
    settings = Settings(batch=sc.batch, seq_len=sc.seq_len)
    base = cat.baseline(sc.model, sc.hardware, settings)
    out = cat.run(method, sc.model, sc.hardware, settings)
    rows = []
    for stage in ("prefill", "decode"):
        b_stage, m_stage = getattr(base, stage), getattr(out, stage)
        b_time = b_stage.time_s if stage == "prefill" else base.decode_token_s
        m_time = m_stage.time_s if stage == "prefill" else out.decode_token_s
        rows.append({
            "scenario": sc.id, "label": sc.label, "model": sc.model, "hardware": sc.hardware,
            "batch": sc.batch, "seq_len": sc.seq_len, "stage": stage,
            "baseline_time_s": b_time, "method_time_s": m_time, "speedup": b_time / m_time,
            "baseline_bound": _bound(b_stage), "method_bound": _bound(m_stage),
            "baseline_memory_bytes": base.memory_bytes, "method_memory_bytes": out.memory_bytes,
            "changed_bounds": _changed_bounds(b_stage, m_stage),
        })
    return rows


# What a claim's setting falls back to where the paper does not state a value.
CLAIM_DEFAULTS = {"batch": 1, "seq_len": 2048, "gen_len": 128}


def claim_settings(claim: Claim) -> Settings:
    s = claim.setting
    return Settings(**{k: getattr(s, k) or v for k, v in CLAIM_DEFAULTS.items()})


def checked_setting(claim: Claim) -> str:
    """The setting a claim is checked in, in words; values the paper does not state are marked assumed."""
    s, settings = claim.setting, claim_settings(claim)
    words = [f"{s.model} on {s.hardware}"]
    for key, label in (("batch", "batch {}"), ("seq_len", "context {}"), ("gen_len", "{} generated")):
        words.append(label.format(getattr(settings, key)) + ("" if getattr(s, key) else " (assumed)"))
    return ", ".join(words)


def calculator_query(method: Method, claim: Claim) -> str:
    """Live-calculator query comparing the method (A) with its baseline (B) in the claim's setting."""
    s, settings = claim.setting, claim_settings(claim)
    return (f"model={s.model}&hardware={s.hardware}&batch={settings.batch}&seq_len={settings.seq_len}"
            f"&gen_len={settings.gen_len}&method={method.id}")


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


def predicted(cat: Catalogue, method: Method, claim: Claim) -> tuple[float | None, str]:
    """The roofline's prediction for a claim's metric in its setting, or None with the reason.

    Decode and end-to-end figures follow the context as it grows over the generated tokens; memory
    is the footprint at the end of the request, when the KV cache is largest."""
    s = claim.setting
    if claim.metric == "kernel_speedup":
        return None, "a kernel speedup depends on the baseline kernel's efficiency, not on the roofline"
    if not s.model or not s.hardware:
        return None, "the setting names no catalogue model and hardware"
    settings = claim_settings(claim)

    def base(context: int) -> Outcome:
        return cat.baseline(s.model, s.hardware, replace(settings, seq_len=context))

    def out(context: int) -> Outcome:
        return cat.run(method, s.model, s.hardware, replace(settings, seq_len=context))

    try:
        prompt = settings.seq_len
        if claim.metric == "memory_reduction":
            end = prompt + settings.gen_len - 1
            return _end_memory(base(prompt), base(end)) / _end_memory(out(prompt), out(end)), ""
        if claim.metric == "prefill_speedup":
            return base(prompt).prefill.time_s / out(prompt).prefill.time_s, ""
        b_dec = decode_time(lambda c: base(c).decode_token_s, settings)
        m_dec = decode_time(lambda c: out(c).decode_token_s, settings)
    except CalculatorError as exc:
        return None, str(exc)
    if claim.metric == "decode_speedup":
        return b_dec / m_dec, ""
    # speedup / throughput_gain: the whole request, prefill then the decode steps.
    return (base(prompt).prefill.time_s + b_dec) / (out(prompt).prefill.time_s + m_dec), ""


def verdict(claimed: float, bound: float | None) -> str:
    if bound is None:
        return "not checkable"
    return "consistent" if claimed <= bound * TOLERANCE else "above the roofline bound"


def analyze_method(cat: Catalogue, method: Method) -> Analysis:
    result = Analysis()
    for claim in method.claims:
        value, why = (None, f"effect kind none: {method.effect.reason}") if method.effect.kind == "none" \
            else predicted(cat, method, claim)
        checked = value is not None
        result.claims.append({"metric": claim.metric, "claimed": claim.value, "predicted": value,
                              "verdict": verdict(claim.value, value), "why": why or None,
                              "source": claim.source,
                              "setting": checked_setting(claim) if checked else None,
                              "calculator_query": calculator_query(method, claim) if checked else None})
    if method.effect.kind == "none":
        result.reason = method.effect.reason
        return result
    usable = [sc for sc in SCENARIOS if sc.model in cat.models and sc.hardware in cat.hardware]
    if not usable:
        result.reason = "the standard scenarios' models and devices are not in this catalogue"
        return result
    try:
        for sc in usable:
            result.scenarios += scenario_rows(cat, method, sc)
        result.plot = _plot(cat, method, usable[0])
    except CalculatorError as exc:
        result.scenarios, result.reason = [], f"the calculator cannot apply this effect: {exc}"
    return result


def _plot(cat: Catalogue, method: Method, sc: Scenario) -> str:
    """Roofline plot of the decode step: baseline layers against the method's."""
    from calculator.result import Result, Stage
    from calculator.svg import to_svg

    settings = Settings(batch=sc.batch, seq_len=sc.seq_len)
    base = calculator.analyze(cat.models[sc.model], cat.hardware[sc.hardware], settings)
    out = cat.run(method, sc.model, sc.hardware, settings)
    stages = {"baseline": _renamed(base.decode, "baseline"), "method": _renamed(out.decode, "method")}
    formats = dict(base.formats)
    formats.update({f"method_{r[0]}": r[6] for r in out.decode.layers if r[6] in cat.hardware[sc.hardware].peaks})
    fake = Result(base.model, base.hardware, replace(settings, stage="decode"), stages, base.memory, None,
                  formats, ())
    return to_svg(fake)


def _renamed(stage, name: str):
    from calculator.result import Stage

    rows = [r for r in stage.layers if r[3] > 0]  # a fused row moves no bytes: no point on the plot
    return Stage(name, rows, stage.ops, stage.bytes, stage.time_s, stage.interconnect_bytes)


def analyze_kb(kb: KB) -> dict[str, Analysis]:
    """Every method's analysis; baselines are shared across methods (computed once per scenario)."""
    cat = Catalogue(kb)
    return {method_id: analyze_method(cat, method) for method_id, method in kb.methods.items()}


VERSION = calculator.__version__
