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


def predicted(cat: Catalogue, method: Method, claim: Claim) -> tuple[float | None, str]:
    """The roofline's prediction for a claim's metric in its setting, or None with the reason."""
    s = claim.setting
    if claim.metric == "kernel_speedup":
        return None, "a kernel speedup depends on the baseline kernel's efficiency, not on the roofline"
    if not s.model or not s.hardware:
        return None, "the setting names no catalogue model and hardware"
    settings = Settings(batch=s.batch or 1, seq_len=s.seq_len or 2048, gen_len=s.gen_len or 128)
    try:
        base = cat.baseline(s.model, s.hardware, settings)
        out = cat.run(method, s.model, s.hardware, settings)
    except CalculatorError as exc:
        return None, str(exc)
    if claim.metric == "memory_reduction":
        return base.memory_bytes / out.memory_bytes, ""
    if claim.metric == "prefill_speedup":
        return base.prefill.time_s / out.prefill.time_s, ""
    if claim.metric == "decode_speedup":
        return base.decode_token_s / out.decode_token_s, ""
    # speedup / throughput_gain: end to end, prompt then gen_len tokens at the decode rate.
    gen = settings.gen_len
    b_total = base.prefill.time_s + (gen - 1) * base.decode_token_s
    m_total = out.prefill.time_s + (gen - 1) * out.decode_token_s
    return b_total / m_total, ""


def verdict(claimed: float, bound: float | None) -> str:
    if bound is None:
        return "not checkable"
    return "consistent" if claimed <= bound * TOLERANCE else "above the roofline bound"


def analyze_method(cat: Catalogue, method: Method) -> Analysis:
    result = Analysis()
    for claim in method.claims:
        value, why = (None, f"effect kind none: {method.effect.reason}") if method.effect.kind == "none" \
            else predicted(cat, method, claim)
        result.claims.append({"metric": claim.metric, "claimed": claim.value, "predicted": value,
                              "verdict": verdict(claim.value, value), "why": why or None,
                              "source": claim.source})
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
