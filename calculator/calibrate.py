"""Calibrate the expected-time model (calculator.expected) against published measurements.

``python -m calculator.calibrate`` (or ``make calibrate``) reads kb/measured/points.csv (the given
calibration set) and kb/measured/points-added.csv (rows gathered later, same columns), maps each
row to a catalogue model and device, runs the roofline for the row's setting, fits the efficiency
parameters, and runs leave-one-source-out validation. It writes

- calculator/calibration.json: the fitted parameters (value, uncertainty, meaning, data) and the
  validation report; calculator.expected reads it;
- docs/assets/accuracy/*.svg: predicted against measured, one scatter per metric;
- docs/accuracy-table.md: the error tables the accuracy page includes.

Deterministic: no randomness, rows in file order, a fixed number of solver iterations.

How a row becomes a calculator run (see docs/accuracy.md):

- llama.cpp precisions as average bits per weight, every weight matrix included (`quantize_head`):
  q4_0 = 4 bits + one 32-bit scale pair per 64 weights = 4.5 bits, q8_0 = 8.5, q4_k_m = 4 bits per
  38 weights = 4.84 (the README's ~4.85); f16 = 16. KV cache at 16 bits, activations 16 bits.
- llama.cpp (2023-11 to 2024-05 builds) does not fuse attention by default: unfused attention rows.
  A multi-GPU llama.cpp row (`<slug>-xN`) splits layers across GPUs, which run one after another
  for one sequence: modelled as one device (a pipeline is never faster than its stages in sequence).
- `tgN` (prompt_len 0, gen_len N): the decode step at the mean context N/2; `ppN`: a prefill of N.
- TensorRT-LLM rows: fused attention, FP8 weights, activations and KV cache (`fp8`), tensor parallel
  over N GPUs for `-xN`; `ttft_ms` = prefill time; `throughput_tokens_per_s` = batch x gen_len over
  the end-to-end time of the static batch (per GPU where the row's notes say "/GPU").
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import sys
from dataclasses import dataclass, replace

from calculator.spec import CalculatorError, Settings

__all__ = [
    "Point",
    "Case",
    "load_points",
    "parse_points",
    "build_cases",
    "main",
]

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
POINTS_FILES = ("kb/measured/points.csv", "kb/measured/points-added.csv")
CALIBRATION_PATH = os.path.join(HERE, "calibration.json")

METRICS = ("decode_tokens_per_s_per_seq", "prefill_tokens_per_s", "ttft_ms", "tpot_ms",
           "throughput_tokens_per_s")
"""Metrics a row may carry that the calibration models (speedup_vs_baseline is not a time)."""

_REQUIRED = ("source_url", "source_location", "model", "precision", "hardware", "framework", "batch",
             "prompt_len", "gen_len", "metric", "value")

# Catalogue ids for names the measurement files spell differently. Each with its reason.
MODEL_ALIASES = {
    "llama-70b": ("llama-2-70b", "TensorRT-LLM's 'LLaMA 70B': the first LLaMA had no 70B size, so Llama 2 70B"),
    "codellama-7b": ("llama-2-7b", "the row's notes: llama-2-7b architecture (vocab 32016 instead of 32000)"),
}
DEVICE_ALIASES = {
    "nvidia-a100-80gb-sxm": "nvidia-a100-80gb",
    "nvidia-rtx-a6000": "nvidia-a6000",
    "apple-m2-ultra-76gpu": "apple-m2-ultra",
}

# Storage of a precision: settings fields. Bits per weight = w_bits + 32 / group_size.
PRECISIONS = {
    "f16": {},
    "fp16": {},
    "q8_0": {"w_bits": 8, "group_size": 64, "quantize_head": True},     # 8.5 bits
    "q4_0": {"w_bits": 4, "group_size": 64, "quantize_head": True},     # 4.5 bits
    "q4_k_m": {"w_bits": 4, "group_size": 38, "quantize_head": True},   # 4.84 bits
    "fp8": {"w_bits": 8, "a_bits": 8, "kv_bits": 8, "number_format": "fp"},
}

# Runtimes the mapping knows, by how a row's `framework` starts. llama.cpp: unfused attention, a layer
# split over `-xN` devices (one device in the model). The others: fused attention, tensor parallel over
# `-xN` devices. NVIDIA NIM (its documentation names TensorRT-LLM and vLLM profiles) is measured
# client-side by a serving benchmark (AIPerf), so it is a runtime of its own here.
RUNTIMES = (("llama.cpp", "llama.cpp"), ("tensorrt", "tensorrt-llm"), ("nvidia nim", "nim"))
FUSED_RUNTIMES = ("tensorrt-llm", "nim")
RUNTIME_FAMILY = {"nim": "tensorrt-llm"}
"""Runtimes held out together by leave_one_runtime_out: NIM's profiles may run TensorRT-LLM engines, so its
rows cannot count as an independent check of TensorRT-LLM's."""

KQUANTS = ("q4_k_m",)
"""llama.cpp k-quant precisions: their weight rows use bw_fraction_kquant."""

_SLUG_N = re.compile(r"^(?P<base>.+)-x(?P<n>[0-9]+)$")


@dataclass(frozen=True)
class Point:
    """One published measurement (a row of a points file)."""

    file: str
    line: int
    source: str
    location: str
    model: str
    precision: str
    hardware: str
    framework: str
    batch: int
    prompt_len: int
    gen_len: int
    metric: str
    value: float
    confidence: str = ""
    notes: str = ""

    @property
    def source_label(self) -> str:
        return source_label(self.source)

    @property
    def runtime(self) -> str:
        low = self.framework.lower()
        for prefix, name in RUNTIMES:
            if low.startswith(prefix):
                return name
        return low

    @property
    def devices(self) -> tuple[str, int]:
        """(device slug, number of devices) from a `<slug>-xN` name."""
        match = _SLUG_N.match(self.hardware)
        if match:
            return match["base"], int(match["n"])
        return self.hardware, 1


def source_label(url: str) -> str:
    """A short name for a source address (the unit of leave-one-source-out)."""
    known = (
        ("XiongjieDai/GPU-Benchmarks-on-LLM-Inference", "XiongjieDai GPU-Benchmarks"),
        ("llama.cpp/discussions/4167", "llama.cpp #4167 (Apple)"),
        ("llama.cpp/pull/4766", "llama.cpp PR 4766"),
        ("TensorRT-LLM/blob/v0.9.0", "TensorRT-LLM performance.md v0.9.0"),
        ("TensorRT-LLM", "TensorRT-LLM performance.md"),
        ("docs.nvidia.com/nim/benchmarking", "NVIDIA NIM benchmarking"),
    )
    for key, label in known:
        if key in url:
            return label
    return re.sub(r"^https?://(www\.)?", "", url).rstrip("/")[:60]


def parse_points(text: str, name: str = "points.csv") -> list[Point]:
    """Rows of a points file (CSV with a header naming at least the `_REQUIRED` columns).

    Raises ValueError naming the file and line of a row that cannot be read (missing column,
    a number that is not one, a non-positive value)."""
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in _REQUIRED if c not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"{name}: missing column {', '.join(missing)}")
    points = []
    for i, row in enumerate(reader, start=2):
        where = f"{name}:{i}"
        try:
            ints = [int(row[k] or 0) for k in ("batch", "prompt_len", "gen_len")]
            value = float(row["value"])
        except (TypeError, ValueError):
            raise ValueError(f"{where}: batch, prompt_len, gen_len must be integers and value a number") from None
        if not value > 0 or not math.isfinite(value) or min(ints) < 0:
            raise ValueError(f"{where}: value must be a positive number and lengths non-negative")
        points.append(Point(
            name, i, row["source_url"].strip(), row["source_location"].strip(), row["model"].strip(),
            row["precision"].strip().lower(), row["hardware"].strip(), row["framework"].strip(),
            *ints, row["metric"].strip(), value, (row.get("confidence") or "").strip(),
            (row.get("notes") or "").strip(),
        ))
    return points


# Readings of given rows that a later revision of the same source corrects. The given file stays as it
# was copied; the loader applies these, and docs/accuracy.md lists them. Each: (file, what the row's
# source address contains, what its source_location starts with, note appended to the row's notes).
CORRECTIONS = (
    ("kb/measured/points.csv", "TensorRT-LLM/blob/138f96d", "Peak Throughput > A100",
     "[read per GPU: the same table in a later revision of the page, NVIDIA/TensorRT-LLM commit 77d24b5, "
     "prints the same numbers under the header 'Throughput (out tok/s/GPU)']"),
)


def corrected(p: Point) -> Point:
    """The point with the CORRECTIONS that apply to it (notes extended; the loader reads "/GPU" there)."""
    for file, url_part, location, note in CORRECTIONS:
        if p.file == file and url_part in p.source and p.location.startswith(location):
            p = replace(p, notes=f"{p.notes} {note}".strip())
    return p


def load_points(files=POINTS_FILES, root: str = REPO) -> list[Point]:
    """Every row of the points files that exist (the added file is optional), each marked by its file
    (`Point.file`), with the CORRECTIONS applied."""
    points = []
    for rel in files:
        path = os.path.join(root, rel)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as handle:
                points += [corrected(p) for p in parse_points(handle.read(), rel)]
    return points


@dataclass
class Case:
    """A point mapped to calculator inputs, with the bound of the measured quantity."""

    point: Point
    model_id: str = ""
    hardware_id: str = ""
    n_devices: int = 1
    settings: Settings | None = None
    quantity: str = ""          # decode_step, prefill, generate
    skip: str = ""              # why the row is not used ("" when used)
    skip_fit: str = ""          # mapped and bounded, but not usable for the fit and validation
    measured_s: float = 0.0     # the measured quantity as a time (s)
    bound_s: float = 0.0        # the roofline's time for it
    device_class: str = ""
    result: object = None       # calculator Result (not serialised)
    extra: object = None        # for generate: the decode Result at the last context
    scale: float = 1.0          # measured rate's multiplier to the run's total (per-GPU rows)

    @property
    def ratio(self) -> float:
        """measured time / bound time: >= 1 when the bound holds."""
        return self.measured_s / self.bound_s if self.bound_s else float("nan")


def _settings_for(p: Point, n: int) -> tuple[Settings | None, str, str]:
    """(settings, quantity, why-not) for a point on n devices."""
    prec = PRECISIONS.get(p.precision)
    if prec is None:
        return None, "", f"precision {p.precision!r} is not modelled"
    llama_cpp = p.runtime == "llama.cpp"
    base = dict(prec, flash_attention=not llama_cpp, tp=1 if llama_cpp else n)
    if p.runtime != "llama.cpp" and p.runtime not in FUSED_RUNTIMES:
        return None, "", f"framework {p.framework!r} is not modelled"
    if p.metric == "decode_tokens_per_s_per_seq":
        if p.prompt_len == 0 and p.gen_len > 0:   # llama-bench tgN: N tokens from an empty context
            ctx = max(1, (p.gen_len + 1) // 2)
        else:
            ctx = max(1, p.prompt_len + p.gen_len // 2)
        return Settings(batch=p.batch or 1, seq_len=ctx, stage="decode", **base), "decode_step", ""
    if p.metric in ("prefill_tokens_per_s", "ttft_ms"):
        if p.prompt_len <= 0:
            return None, "", "prefill row without a prompt length"
        return Settings(batch=p.batch or 1, seq_len=p.prompt_len, stage="prefill", **base), "prefill", ""
    if p.metric in ("throughput_tokens_per_s", "tpot_ms"):
        if p.prompt_len <= 0 or p.gen_len <= 1:
            return None, "", "throughput row without prompt and output lengths"
        return (Settings(batch=p.batch or 1, seq_len=p.prompt_len, gen_len=p.gen_len, stage="generate", **base),
                "generate", "")
    return None, "", f"metric {p.metric!r} is not a time the calculator models"


def measured_seconds(case: Case) -> float:
    """The measured quantity of a case as seconds (the time of the quantity the bound is for)."""
    p = case.point
    if p.metric == "decode_tokens_per_s_per_seq":
        return 1.0 / p.value
    if p.metric == "prefill_tokens_per_s":
        return p.prompt_len * (p.batch or 1) / p.value
    if p.metric == "ttft_ms":
        return p.value / 1000.0
    if p.metric == "tpot_ms":
        return p.value / 1000.0
    if p.metric == "throughput_tokens_per_s":
        return (p.batch or 1) * p.gen_len / (p.value * case.scale)
    raise ValueError(p.metric)


def value_from_seconds(case: Case, seconds: float) -> float:
    """The row's metric for a predicted time of its quantity (inverse of measured_seconds)."""
    p = case.point
    if p.metric == "decode_tokens_per_s_per_seq":
        return 1.0 / seconds
    if p.metric == "prefill_tokens_per_s":
        return p.prompt_len * (p.batch or 1) / seconds
    if p.metric in ("ttft_ms", "tpot_ms"):
        return seconds * 1000.0
    if p.metric == "throughput_tokens_per_s":
        return (p.batch or 1) * p.gen_len / seconds / case.scale
    raise ValueError(p.metric)


def build_cases(points: list[Point], root: str | None = None) -> list[Case]:
    """Map every point to the catalogue and run the roofline for its setting."""
    from kb.catalogue import CatalogueError, UnknownIdError, load_hardware, load_model
    from calculator.core import analyze
    from calculator.expected import _catalogue_fields, device_class

    models, devices, cases = {}, {}, []
    for p in points:
        case = Case(p)
        cases.append(case)
        if p.metric not in METRICS:
            case.skip = f"metric {p.metric!r} is not a time the calculator models"
            continue
        model_id = MODEL_ALIASES.get(p.model, (p.model, ""))[0]
        slug, n = p.devices
        hw_id = DEVICE_ALIASES.get(slug, slug)
        case.model_id, case.hardware_id, case.n_devices = model_id, hw_id, n
        try:
            if model_id not in models:
                models[model_id] = load_model(model_id, root)
            if hw_id not in devices:
                devices[hw_id] = load_hardware(hw_id, root)
        except UnknownIdError as exc:
            case.skip = f"no catalogue {exc.kind} {exc.id!r}"
            continue
        except CatalogueError as exc:
            case.skip = f"catalogue error: {exc}"
            continue
        model, hw = models[model_id], devices[hw_id]
        settings, quantity, why = _settings_for(p, n)
        if settings is None:
            case.skip = why
            continue
        case.settings, case.quantity = settings, quantity
        if p.metric == "throughput_tokens_per_s" and "/gpu" in p.notes.lower():
            case.scale = float(n)
        try:
            result = analyze(model, hw, settings)
            if quantity == "generate":
                last = settings.seq_len + settings.gen_len - 2
                case.extra = analyze(model, hw, replace(settings, seq_len=max(1, last), stage="decode"))
        except CalculatorError as exc:
            case.skip = f"calculator: {exc}"
            continue
        case.result = result
        case.device_class = device_class(hw)
        fallback = [n for n in result.notes if "lists no peak for" in n]
        vendor = _catalogue_fields(hw_id)[0]
        if fallback and quantity != "decode_step" and vendor != "apple":
            # (Apple GPUs: the catalogue lists only an FP32 rate, which stands in for FP16; the rows test it.)
            # Compute-bound rows against a fallback peak (e.g. a device that lists only its FP32 CUDA-core
            # rate, while the runtime uses tensor cores or integer dot products): the bound is not the
            # device's, so the row can neither test it nor fit a compute fraction.
            case.skip_fit = f"compute-bound row on a device without the peak it needs ({fallback[0]})"
        case.measured_s = measured_seconds(case)
        if quantity == "decode_step":
            case.bound_s = result.stages["decode"].time_s
        elif quantity == "prefill":
            case.bound_s = result.stages["prefill"].time_s
        elif p.metric == "tpot_ms":
            case.bound_s = result.generate.time_per_output_token_s
        else:
            case.bound_s = result.generate.e2e_latency_s
    return cases


# --- the fit ------------------------------------------------------------------------------------

CLASS_PARAMS = ("bw_fraction_16bit", "bw_fraction_quantized", "bw_fraction_kquant", "compute_fraction_gemm",
                "compute_fraction_gemm_quantized", "gemm_half_tokens", "attention_fraction", "layer_overhead_s",
                "step_overhead_s")
SHARED_PARAMS = ("link_fraction", "collective_overhead_s")

MEANINGS = {
    "bw_fraction_16bit": "fraction of peak DRAM bandwidth a memory-bound kernel streams 16-bit weights and "
                         "activations at (batch-1 decode is almost all of this)",
    "bw_fraction_quantized": "the same for quantized (below 16-bit) weight matrices: dequantization costs "
                             "instructions, so it is lower",
    "bw_fraction_kquant": "the same for llama.cpp's k-quant formats (q4_k_m: super-blocks with 6-bit scales, "
                          "more work per weight); only the calibration rows use it, the calculator's "
                          "group-wise formats (GPTQ/AWQ-like) use bw_fraction_quantized",
    "compute_fraction_gemm": "fraction of the peak of its compute format a compute-bound matrix multiplication "
                             "of 16-bit weights reaches (prefill)",
    "compute_fraction_gemm_quantized": "the same for quantized weights (dequantized inside or before the "
                                       "matrix multiplication)",
    "attention_fraction": "fraction of its own roofline (max of compute and KV-cache traffic) an attention kernel "
                          "reaches",
    "layer_overhead_s": "fixed seconds per transformer layer per forward pass (kernel launches, "
                        "synchronisation, small kernels the rows do not list)",
    "step_overhead_s": "fixed seconds per forward pass (graph set-up, sampling, host work)",
    "gemm_half_tokens": "tokens (matrix rows) at which a matrix multiplication reaches half its compute "
                        "fraction: small matrices leave compute units idle",
    "link_fraction": "fraction of the per-direction interconnect bandwidth an all-reduce achieves",
    "collective_overhead_s": "fixed latency of one all-reduce (seconds)",
}

# Weak priors (in the solver's unbounded coordinates) keep a parameter the data cannot see near a
# plausible value instead of wandering: a fraction's logit and an overhead's log have prior mean
# PRIOR and standard deviation PRIOR_SD. With data the prior is negligible.
PRIOR = {"bw_fraction_16bit": 0.75, "bw_fraction_quantized": 0.65, "bw_fraction_kquant": 0.6, "compute_fraction_gemm": 0.5,
         "compute_fraction_gemm_quantized": 0.4, "attention_fraction": 0.5, "layer_overhead_s": 20e-6,
         "step_overhead_s": 200e-6, "gemm_half_tokens": 64.0, "link_fraction": 0.7,
         "collective_overhead_s": 10e-6}
PRIOR_SD = 2.0
CLASS_SD = 0.7   # how far a class's parameter may sit from the value pooled over classes (logit or log)
POOLED_PARAMS = ("bw_fraction_16bit", "bw_fraction_quantized", "bw_fraction_kquant", "attention_fraction",
                 "layer_overhead_s", "step_overhead_s")
"""Parameters drawn towards their value pooled over the device classes: streaming memory at a share of
the DRAM peak and fixed per-kernel costs behave alike across GPUs. Compute fractions are not pooled:
they depend on whether a runtime's kernels use a device's matrix units (tensor cores, their newest
instructions), which differs from class to class."""
ROBUST_SCALE = 0.15   # soft-L1 loss on log(predicted / measured): rows further off than ~15% count less
ITERATIONS = 40


def _is_overhead(name: str) -> bool:
    """Positive parameters without an upper bound (solved in log space); the rest are fractions."""
    return name.endswith("_s") or name.endswith("_tokens")


def _to_u(name: str, value: float) -> float:
    if _is_overhead(name):
        return math.log(value)
    return math.log(value / (1.0 - value))


def _from_u(name: str, u: float) -> float:
    if _is_overhead(name):
        return math.exp(max(-60.0, min(5.0, u)))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, u))))


def _dvalue_du(name: str, value: float) -> float:
    return value if _is_overhead(name) else value * (1.0 - value)


class _Fit:
    """Parameters as a flat vector; which cases each one touches; predictions."""

    def __init__(self, cases: list[Case]):
        from calculator.expected import stage_terms

        self.cases = cases
        classes = sorted({c.device_class for c in cases})
        self.names = ([(cls, p) for cls in classes for p in CLASS_PARAMS] + [("pooled", p) for p in POOLED_PARAMS]
                      + [("shared", p) for p in SHARED_PARAMS])
        self.u = [_to_u(p, PRIOR[p]) for _, p in self.names]
        # Priors: a class's parameter is drawn towards the value pooled over the classes (a hierarchical
        # model: a class with little data for it borrows from the others), the pooled and shared ones
        # weakly towards PRIOR. Terms (j, k or None, mean, sd): ((u_j - (u_k or mean)) / sd)^2 / 2.
        index = {name: j for j, name in enumerate(self.names)}
        self.priors = []
        for j, (cls, p) in enumerate(self.names):
            if cls in ("pooled", "shared") or p not in POOLED_PARAMS:
                self.priors.append((j, None, _to_u(p, PRIOR[p]), PRIOR_SD))
            else:
                self.priors.append((j, index[("pooled", p)], 0.0, CLASS_SD))
        self.terms = []
        for c in cases:
            quant = c.settings.w_bits < 16
            if c.quantity in ("decode_step", "prefill"):
                stage = c.result.stages["decode" if c.quantity == "decode_step" else "prefill"]
                terms = stage_terms(stage, c.result.hardware, c.settings)
                if c.point.precision in KQUANTS:
                    terms = (tuple(("gemm_k",) + r[1:] if r[0] == "gemm_q" else r for r in terms[0]),) + terms[1:]
                self.terms.append(terms)
            else:
                self.terms.append(None)
        uses_link = [bool(c.settings.tp > 1) for c in cases]
        self.touch = []
        for cls, p in self.names:
            if cls == "shared":
                self.touch.append([i for i, c in enumerate(cases) if uses_link[i]])
            else:
                self.touch.append([i for i, c in enumerate(cases) if c.device_class == cls])

    def values(self, u=None) -> dict:
        u = self.u if u is None else u
        out = {}
        shared = {p: _from_u(p, u[j]) for j, (cls, p) in enumerate(self.names) if cls == "shared"}
        for j, (cls, p) in enumerate(self.names):
            if cls not in ("shared", "pooled"):
                out.setdefault(cls, dict(shared))[p] = _from_u(p, u[j])
        return out

    def _prior_terms(self, u, a=None, g=None, scale=1.0) -> float:
        """The priors' value at u; adds their curvature (x scale) to a and gradient to g when given."""
        total = 0.0
        for j, k, mean, sd in self.priors:
            d = u[j] - (u[k] if k is not None else mean)
            total += (d / sd) ** 2 / 2
            w = scale / sd ** 2
            if a is not None:
                a[j][j] += w
                if k is not None:
                    a[k][k] += w
                    a[j][k] -= w
                    a[k][j] -= w
            if g is not None:
                g[j] += d / sd ** 2
                if k is not None:
                    g[k] -= d / sd ** 2
        return total

    def predict(self, i: int, values: dict) -> float:
        from calculator.expected import FALLBACK, expected_from_terms, generate_with

        c = self.cases[i]
        v = values.get(c.device_class) or values.get(FALLBACK) or dict(PRIOR)
        if self.terms[i] is not None:
            return max(c.bound_s, expected_from_terms(self.terms[i], v))
        gen = generate_with(c.result, v, c.extra.stages["decode"])
        return gen["time_per_output_token_s"] if c.point.metric == "tpot_ms" else gen["e2e_latency_s"]

    def residuals(self, values: dict, idx=None) -> dict:
        idx = range(len(self.cases)) if idx is None else idx
        return {i: math.log(self.predict(i, values) / self.cases[i].measured_s) for i in idx}

    def solve(self) -> None:
        """Iteratively reweighted Gauss-Newton (Levenberg damping) on the soft-L1 loss of log errors,
        plus the weak priors. Fixed iteration count and finite-difference step: deterministic."""
        n = len(self.cases)
        lam = 1e-2
        u = list(self.u)
        def objective(u_, res):
            loss = sum(2 * ROBUST_SCALE ** 2 * (math.sqrt(1 + (r / ROBUST_SCALE) ** 2) - 1) for r in res.values())
            return loss + self._prior_terms(u_)

        res = self.residuals(self.values(u))
        best = objective(u, res)
        for _ in range(ITERATIONS):
            jac, weights = self._jacobian(u, res)
            m = len(u)
            a = [[0.0] * m for _ in range(m)]
            g = [0.0] * m
            for i in range(n):
                w = weights[i]
                row = jac[i]
                nz = [(j, x) for j, x in enumerate(row) if x]
                for j, x in nz:
                    g[j] += w * x * res[i]
                    for k, y in nz:
                        a[j][k] += w * x * y
            self._prior_terms(u, a, g)
            improved = False
            for _try in range(8):
                damped = [row[:] for row in a]
                for j in range(m):
                    damped[j][j] *= 1 + lam
                step = _solve_linear(damped, [-x for x in g])
                trial = [x + s for x, s in zip(u, step)]
                trial_res = self.residuals(self.values(trial))
                value = objective(trial, trial_res)
                if value < best - 1e-12:
                    u, res, best, lam = trial, trial_res, value, max(lam / 3, 1e-6)
                    improved = True
                    break
                lam *= 4
            if not improved:
                break
        self.u = u
        self.res = res
        self.hessian = a

    def _jacobian(self, u, res):
        n, m = len(self.cases), len(u)
        jac = [[0.0] * m for _ in range(n)]
        h = 1e-4
        for j in range(m):
            up = list(u)
            up[j] += h
            vals = self.values(up)
            for i in self.touch[j]:
                r = math.log(self.predict(i, vals) / self.cases[i].measured_s)
                jac[i][j] = (r - res[i]) / h
        weights = [1.0 / math.sqrt(1 + (res[i] / ROBUST_SCALE) ** 2) for i in range(n)]
        return jac, weights

    def report(self) -> dict:
        """{class: {param: {value, uncertainty, rows, sources}}} with 1-sigma uncertainties from the
        Gauss-Newton curvature (robust weights, residual variance), mapped back by the delta method."""
        m = len(self.u)
        n = len(self.cases)
        jac, weights = self._jacobian(self.u, self.res)
        a = [[0.0] * m for _ in range(m)]
        for i in range(n):
            for j in range(m):
                if jac[i][j]:
                    for k in range(m):
                        if jac[i][k]:
                            a[j][k] += weights[i] * jac[i][j] * jac[i][k]
        dof = max(1, n - m)
        s2 = sum(weights[i] * self.res[i] ** 2 for i in range(n)) / dof
        self._prior_terms(self.u, a, None, scale=s2)
        cov = _invert(a)
        out = {}
        for j, (cls, p) in enumerate(self.names):
            value = _from_u(p, self.u[j])
            sd = math.sqrt(max(0.0, cov[j][j] * s2)) * _dvalue_du(p, value)
            # rows whose prediction moves by more than 0.1% per 1% change of the parameter
            scale = value if _is_overhead(p) else value * (1.0 - value)
            sensitive = [i for i in self.touch[j] if abs(jac[i][j]) / scale * value > 0.1]
            sources = sorted({self.cases[i].point.source_label for i in sensitive})
            out.setdefault(cls, {})[p] = {
                "value": _sig(value), "uncertainty": _sig(sd), "rows": len(sensitive), "sources": sources,
            }
        return out


def _solve_linear(a, b):
    """Gaussian elimination with partial pivoting (small dense systems)."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for col in range(n):
        piv = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[piv] = m[piv], m[col]
        if abs(m[col][col]) < 1e-300:
            continue
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            if f:
                for k in range(col, n + 1):
                    m[r][k] -= f * m[col][k]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        s = m[r][n] - sum(m[r][k] * x[k] for k in range(r + 1, n))
        x[r] = s / m[r][r] if abs(m[r][r]) > 1e-300 else 0.0
    return x


def _invert(a):
    n = len(a)
    cols = [_solve_linear(a, [1.0 if i == j else 0.0 for i in range(n)]) for j in range(n)]
    return [[cols[j][i] for j in range(n)] for i in range(n)]


def _sig(x: float, digits: int = 4) -> float:
    """x rounded to `digits` significant digits (stable JSON across machines)."""
    if x == 0 or not math.isfinite(x):
        return x
    return float(f"{x:.{digits}g}")


def fit(cases: list[Case]) -> _Fit:
    f = _Fit(cases)
    f.solve()
    return f


# --- validation -----------------------------------------------------------------------------------

METRIC_LABELS = {
    "decode_tokens_per_s_per_seq": "decode (tokens/s per sequence)",
    "prefill_tokens_per_s": "prefill (tokens/s)",
    "ttft_ms": "TTFT (ms)",
    "tpot_ms": "TPOT (ms)",
    "throughput_tokens_per_s": "throughput (tokens/s)",
}
GOALS = {"decode_tokens_per_s_per_seq": 0.15, "prefill_tokens_per_s": 0.25, "ttft_ms": 0.25}


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation between order statistics."""
    xs = sorted(values)
    if not xs:
        return float("nan")
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def predictions(f: _Fit, values: dict | None = None) -> list[float]:
    """Predicted metric values of every case of a fit (in-sample unless `values` come from elsewhere)."""
    values = f.values() if values is None else values
    return [value_from_seconds(c, f.predict(i, values)) for i, c in enumerate(f.cases)]


def leave_one_source_out(cases: list[Case]) -> dict[int, float]:
    """Predicted value of every case from a fit on the other sources only: {case index: value}."""
    out = {}
    sources = sorted({c.point.source_label for c in cases})
    full = _Fit(cases)  # for predict() on held-out rows
    for src in sources:
        train = [c for c in cases if c.point.source_label != src]
        fitted = fit(train)
        values = fitted.values()
        for i, c in enumerate(cases):
            if c.point.source_label == src:
                out[i] = value_from_seconds(c, full.predict(i, values))
    return out


def leave_one_runtime_out(cases: list[Case]) -> dict[int, float]:
    """As leave_one_source_out, with every source of one runtime held out together: two tables of one
    publisher and program (TensorRT-LLM's performance page at two versions) are not independent
    checks of each other, so this is the harder test of the runtime-specific metrics (TTFT, throughput)."""
    out = {}
    full = _Fit(cases)
    family = [RUNTIME_FAMILY.get(c.point.runtime, c.point.runtime) for c in cases]
    for runtime in sorted(set(family)):
        train = [c for c, f in zip(cases, family) if f != runtime]
        if not train:
            continue
        values = fit(train).values()
        for i, c in enumerate(cases):
            if family[i] == runtime:
                out[i] = value_from_seconds(c, full.predict(i, values))
    return out


def error_table(cases: list[Case], predicted: dict[int, float]) -> dict:
    """{metric: {"all": stats, class: stats}} with stats = n, median and p90 absolute relative error."""
    groups: dict = {}
    for i, c in enumerate(cases):
        if i not in predicted:
            continue
        err = abs(predicted[i] - c.point.value) / c.point.value
        for key in ("all", c.device_class):
            groups.setdefault(c.point.metric, {}).setdefault(key, []).append(err)
    table = {}
    for metric in METRICS:
        if metric not in groups:
            continue
        table[metric] = {
            key: {"n": len(errs), "median_abs_error": _sig(percentile(errs, 0.5), 3),
                  "p90_abs_error": _sig(percentile(errs, 0.9), 3)}
            for key, errs in sorted(groups[metric].items(), key=lambda kv: (kv[0] != "all", kv[0]))
        }
    return table


def diagnose(case: Case) -> str:
    """Why a row is faster than the bound, as far as we can tell: the model's fault or the row's."""
    from calculator.expected import _catalogue_fields

    p = case.point
    vendor, kind, segment = _catalogue_fields(case.hardware_id)
    name = case.result.hardware.name if case.result is not None else ""
    if case.skip_fit:
        return ("model: the device lists no peak for the compute the runtime uses (tensor cores for FP16, "
                "integer dot products for llama.cpp's quantized matmuls), so the bound falls back to a slower "
                "listed peak; the row is plausible, the catalogue entry lacks the figure. Row left out of the fit.")
    if (p.runtime == "llama.cpp" and p.precision == "f16" and p.metric == "prefill_tokens_per_s"
            and segment == "consumer" and "geforce" in name.lower()):
        multi = case.n_devices > 1
        return ("model: the catalogue's fp16 peak of a GeForce card is the FP32-accumulate rate; llama.cpp's "
                "cuBLAS matmul computes with FP16 accumulate (CUBLAS_COMPUTE_16F), which GeForce cards run "
                "at twice that rate" + (
                    "; and llama.cpp can pipeline micro-batches across the GPUs of a layer split "
                    "(ggml-org/llama.cpp PR 6017), which the one-device model of a split excludes" if multi else "")
                + ". The row is plausible; the bound is too tight for this runtime.")
    if vendor == "apple" and p.metric == "prefill_tokens_per_s":
        return (f"model or row: the catalogue lists only this chip's FP32 rate, and the row needs "
                f"{1 / case.ratio:.1f}x that rate, so either the chip multiplies matrices faster than the "
                f"catalogue records or the row is wrong (row confidence: {p.confidence or 'not stated'}; "
                f"{p.notes[:80]})")
    doubt = next((part for part in p.notes.split("; ") if "doubtful" in part.lower()), "")
    if doubt:  # whoever added the row checked it and says in its notes what is wrong with it
        return f"row: {doubt} (row confidence {p.confidence or 'not stated'})"
    # Otherwise the row's own notes say what is known about it.
    return (f"unexplained by the model: the row is {1 / case.ratio:.2f}x faster than the bound (row confidence "
            f"{p.confidence or 'not stated'}; {p.notes[:240]})")


# --- outputs ------------------------------------------------------------------------------------

def _case_record(c: Case, pred: float | None, in_sample: float) -> dict:
    p = c.point
    return {
        "file": p.file, "line": p.line, "source": p.source_label, "model": c.model_id or p.model,
        "hardware": p.hardware, "device_class": c.device_class, "precision": p.precision,
        "metric": p.metric, "batch": p.batch, "prompt_len": p.prompt_len, "gen_len": p.gen_len,
        "measured": p.value, "bound": _sig(value_from_seconds(c, c.bound_s), 5),
        "expected_in_sample": _sig(in_sample, 5), "expected_held_out": _sig(pred, 5) if pred else None,
    }


def calibrate(points: list[Point] | None = None, root: str | None = None) -> dict:
    """Everything `make calibrate` computes, as the content of calibration.json."""
    points = load_points() if points is None else points
    cases = build_cases(points, root)
    mapped = [c for c in cases if not c.skip]
    used = [c for c in mapped if not c.skip_fit]
    full = fit(used)
    params = full.report()
    in_sample = predictions(full)
    held = leave_one_source_out(used)
    held_runtime = leave_one_runtime_out(used)
    violations = [
        {"file": c.point.file, "line": c.point.line, "model": c.model_id, "hardware": c.point.hardware,
         "precision": c.point.precision, "metric": c.point.metric, "measured": c.point.value,
         "bound": _sig(value_from_seconds(c, c.bound_s), 5), "measured_over_bound_time": _sig(c.ratio, 3),
         "diagnosis": diagnose(c)}
        for c in mapped if c.ratio < 1
    ]
    classes = {cls: block for cls, block in params.items() if cls not in ("shared", "pooled")}
    pooled = params.get("pooled", {})
    for block in classes.values():
        for name, entry in block.items():
            entry["meaning"] = MEANINGS[name]
    shared = params.get("shared", {})
    for name, entry in shared.items():
        entry["meaning"] = MEANINGS[name]
    skipped: dict = {}
    for c in cases:
        if c.skip or c.skip_fit:
            reason = c.skip or re.sub(r"\(.*\)$", "(" + c.hardware_id + ")", c.skip_fit)
            skipped.setdefault(reason, []).append(f"{c.point.file}:{c.point.line}")
    return {
        "about": "Fitted parameters of calculator/expected.py. Written by `make calibrate` "
                 "(python -m calculator.calibrate); do not edit by hand. See docs/accuracy.md.",
        "data": {
            "files": [f for f in POINTS_FILES if os.path.isfile(os.path.join(REPO, f))],
            "rows": len(cases), "used": len(used),
            "by_file": {f: {"rows": sum(1 for c in cases if c.point.file == f),
                            "used": sum(1 for c in used if c.point.file == f)}
                        for f in dict.fromkeys(c.point.file for c in cases)},
            "corrections": [{"file": c.point.file, "line": c.point.line, "note": n[3]}
                            for c in cases for n in CORRECTIONS if n[3] in c.point.notes],
            "sources": {s: sum(1 for c in used if c.point.source_label == s)
                        for s in sorted({c.point.source_label for c in used})},
            "skipped": [{"reason": k, "rows": len(v), "where": v} for k, v in sorted(skipped.items())],
        },
        "fit": {"loss": "soft-L1 on log(expected / measured), scale %.2f" % ROBUST_SCALE,
                "prior": {k: _sig(v) for k, v in PRIOR.items()}, "prior_sd_logit_or_log": PRIOR_SD,
                "uncertainty": "1 sigma from the curvature of the loss at the fit (robustly weighted)"},
        "classes": classes,
        "shared": shared,
        "pooled": {name: {"value": e["value"], "uncertainty": e["uncertainty"]} for name, e in pooled.items()},
        "validation": {
            "method": "leave-one-source-out: fit on every source but one, predict the rows of that one",
            "held_out": error_table(used, held),
            "held_out_runtime": {"method": "leave-one-runtime-out: every source of one runtime held out together",
                                 "table": error_table(used, held_runtime)},
            "in_sample": error_table(used, dict(enumerate(in_sample))),
            "goals": GOALS,
        },
        "bound_violations": violations,
        "rows": [_case_record(c, held.get(i), in_sample[i]) for i, c in enumerate(used)],
    }


_CLASS_COLORS = {"apple": "#9467bd", "consumer-gpu": "#2ca02c", "datacenter-gpu": "#1f77b4"}


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def scatter_svg(metric: str, records: list[dict]) -> str:
    """Predicted (held-out expected: filled; roofline bound: grey cross) against measured, log-log,
    with the diagonal and the +-25% band. Plain SVG, no script."""
    pts = [(r["measured"], r["expected_held_out"], r["bound"], r["device_class"]) for r in records
           if r["metric"] == metric and r["expected_held_out"]]
    w, h, left, right, top, bottom = 520, 440, 70, 20, 36, 56
    vals = [v for p in pts for v in p[:3]]
    lo = 10 ** math.floor(math.log10(min(vals)))
    hi = 10 ** math.ceil(math.log10(max(vals)))
    span = math.log10(hi) - math.log10(lo)

    def px(v):
        return left + (math.log10(v) - math.log10(lo)) / span * (w - left - right)

    def py(v):
        return h - bottom - (math.log10(v) - math.log10(lo)) / span * (h - top - bottom)

    label = METRIC_LABELS.get(metric, metric)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
           f'role="img" aria-label="{_esc(label)}: expected against measured">',
           f'<title>{_esc(label)}: expected (held-out) and bound against measured</title>',
           f'<rect x="{left}" y="{top}" width="{w - left - right}" height="{h - top - bottom}" fill="none" '
           'stroke="#999"/>']
    decade = lo
    while decade <= hi * 1.0001:
        x, y = px(decade), py(decade)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{h - bottom}" stroke="#ddd"/>')
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{h - bottom + 16}" font-size="11" text-anchor="middle">{decade:g}</text>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{decade:g}</text>')
        decade *= 10
    for f, dash in ((1.0, ""), (1.25, ' stroke-dasharray="4 3"'), (0.8, ' stroke-dasharray="4 3"')):
        x0, x1 = (lo, hi / f) if f >= 1 else (lo / f, hi)   # the line y = f x inside the frame
        out.append(f'<line x1="{px(x0):.1f}" y1="{py(x0 * f):.1f}" x2="{px(x1):.1f}" y2="{py(x1 * f):.1f}" '
                   f'stroke="#555"{dash}/>')
    for measured, _, bound, _cls in pts:
        x, y = px(measured), py(bound)
        out.append(f'<path d="M{x - 3:.1f} {y - 3:.1f}L{x + 3:.1f} {y + 3:.1f}M{x - 3:.1f} {y + 3:.1f}'
                   f'L{x + 3:.1f} {y - 3:.1f}" stroke="#aaa"/>')
    for measured, expected, _, cls in pts:
        out.append(f'<circle cx="{px(measured):.1f}" cy="{py(expected):.1f}" r="3.2" '
                   f'fill="{_CLASS_COLORS.get(cls, "#d62728")}" fill-opacity="0.75"/>')
    out.append(f'<text x="{(left + w - right) / 2}" y="{h - 18}" font-size="12" text-anchor="middle">measured '
               f'{_esc(label)}</text>')
    out.append(f'<text x="16" y="{(top + h - bottom) / 2}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 16 {(top + h - bottom) / 2})">predicted</text>')
    legend = [("bound (roofline)", None)] + [(f"expected, {c}", col) for c, col in _CLASS_COLORS.items()
                                             if any(p[3] == c for p in pts)]
    for k, (text, col) in enumerate(legend):
        y = top + 14 + 15 * k
        if col:
            out.append(f'<circle cx="{left + 12}" cy="{y - 4}" r="3.2" fill="{col}"/>')
        else:
            out.append(f'<path d="M{left + 9} {y - 7}L{left + 15} {y - 1}M{left + 9} {y - 1}L{left + 15} {y - 7}" '
                       'stroke="#aaa"/>')
        out.append(f'<text x="{left + 22}" y="{y}" font-size="11">{_esc(text)}</text>')
    out.append(f'<text x="{left}" y="{top - 12}" font-size="12">{_esc(label)}: {len(pts)} rows; '
               'diagonal = exact, dashed = ±25%</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _num(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.2g}"


def _pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def markdown_report(cal: dict) -> str:
    """The generated part of docs/accuracy.md: error tables, parameters, bound violations, skips."""
    val = cal["validation"]
    lines = ["### Errors on held-out sources (leave-one-source-out)", "",
             "| metric | device class | rows | median abs. error | 90th percentile | goal (median) |",
             "|---|---|---:|---:|---:|---:|"]
    for metric, groups in val["held_out"].items():
        for cls, s in groups.items():
            goal = _pct(GOALS[metric]) if metric in GOALS and cls == "all" else ""
            lines.append(f"| {METRIC_LABELS[metric]} | {cls} | {s['n']} | {_pct(s['median_abs_error'])} | "
                         f"{_pct(s['p90_abs_error'])} | {goal} |")
    runtime = val.get("held_out_runtime", {}).get("table", {})
    if runtime:
        lines += ["", "Harder: every source of the row's runtime held out together (llama.cpp; TensorRT-LLM with "
                  "NVIDIA NIM), so that a second table of the same program and publisher cannot stand in for the "
                  "first:", "",
                  "| metric | rows | median abs. error | 90th percentile |", "|---|---:|---:|---:|"]
        for metric, groups in runtime.items():
            s = groups["all"]
            lines.append(f"| {METRIC_LABELS[metric]} | {s['n']} | {_pct(s['median_abs_error'])} | "
                         f"{_pct(s['p90_abs_error'])} |")
    lines += ["", "In-sample (fitted on every source), for comparison:", "",
              "| metric | rows | median abs. error | 90th percentile |", "|---|---:|---:|---:|"]
    for metric, groups in val["in_sample"].items():
        s = groups["all"]
        lines.append(f"| {METRIC_LABELS[metric]} | {s['n']} | {_pct(s['median_abs_error'])} | "
                     f"{_pct(s['p90_abs_error'])} |")
    lines += ["", "### Fitted parameters", "",
              "Value ± one standard deviation; *rows*: measurements whose prediction moves by more than 0.1% per "
              "1% change of the parameter (the data it came from).", "",
              "| class | parameter | value | ± | rows | sources |", "|---|---|---:|---:|---:|---|"]
    for cls, block in list(cal["classes"].items()) + [("all (shared)", cal["shared"])]:
        for name, e in block.items():
            unit = " µs" if name.endswith("_s") else ""
            scale = 1e6 if name.endswith("_s") else 1.0
            lines.append(f"| {cls} | `{name}` | {e['value'] * scale:.3g}{unit} | {_num(e['uncertainty'] * scale)}{unit} "
                         f"| {e['rows']} | {', '.join(e['sources']) or 'none (prior only)'} |")
    lines += ["", "### Rows faster than the bound", ""]
    if cal["bound_violations"]:
        lines += ["| row | model | device | precision | metric | measured | bound | diagnosis |",
                  "|---|---|---|---|---|---:|---:|---|"]
        for v in cal["bound_violations"]:
            lines.append(f"| {v['file']}:{v['line']} | {v['model']} | {v['hardware']} | {v['precision']} | "
                         f"{METRIC_LABELS[v['metric']]} | {v['measured']:g} | {v['bound']:g} | {v['diagnosis']} |")
    else:
        lines.append("None: the bound holds on every row.")
    data = cal["data"]
    lines += ["", "### Data", "",
              f"{data['used']} of {data['rows']} rows used ({', '.join(f'{k}: {v}' for k, v in data['sources'].items())})."]
    if data.get("by_file"):
        lines += ["", "By file: " + "; ".join(f"`{f}` {n['used']} of {n['rows']} rows used"
                                               for f, n in data["by_file"].items()) + "."]
    if data.get("corrections"):
        notes = dict.fromkeys(c["note"] for c in data["corrections"])
        for note in notes:
            where = [f"{c['line']}" for c in data["corrections"] if c["note"] == note]
            lines += ["", f"Read differently from the given file ({data['corrections'][0]['file']} lines "
                      f"{', '.join(where)}): {note.strip('[]')}."]
    if data["skipped"]:
        lines += ["", "Rows not used:", ""]
        for s in data["skipped"]:
            lines.append(f"- {s['rows']} row{'s' if s['rows'] != 1 else ''}: {s['reason']}")
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- calibrate:begin -->", "<!-- calibrate:end -->"


def write_outputs(cal: dict, root: str = REPO) -> list[str]:
    """Write calibration.json, the scatter SVGs and the generated part of docs/accuracy.md."""
    written = []
    path = os.path.join(root, "calculator", "calibration.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(cal, handle, indent=1, sort_keys=False)
        handle.write("\n")
    written.append(path)
    folder = os.path.join(root, "docs", "assets", "accuracy")
    os.makedirs(folder, exist_ok=True)
    for metric in cal["validation"]["held_out"]:
        svg = os.path.join(folder, f"{metric}.svg")
        with open(svg, "w", encoding="utf-8") as handle:
            handle.write(scatter_svg(metric, cal["rows"]))
        written.append(svg)
    params = os.path.join(folder, "parameters.json")
    with open(params, "w", encoding="utf-8") as handle:
        json.dump(browser_parameters(cal), handle, indent=1)
        handle.write("\n")
    written.append(params)
    vectors = os.path.join(root, "tests", "calculator", "fixtures", "expected_vectors.json")
    if os.path.isdir(os.path.dirname(vectors)):
        with open(vectors, "w", encoding="utf-8") as handle:
            json.dump(expected_vectors(cal), handle, indent=1)
            handle.write("\n")
        written.append(vectors)
    page = os.path.join(root, "docs", "accuracy.md")
    if os.path.isfile(page):
        with open(page, encoding="utf-8") as handle:
            text = handle.read()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            text = f"{head}{BEGIN}\n{markdown_report(cal)}{END}{tail}"
            with open(page, "w", encoding="utf-8") as handle:
                handle.write(text)
            written.append(page)
    return written


def browser_parameters(cal: dict) -> dict:
    """What docs/assets/js/expected.js needs: the values per class and the shared ones."""
    return {
        "about": "Fitted parameters of calculator/expected.py for the live calculator; written by make calibrate.",
        "classes": {cls: {k: e["value"] for k, e in block.items()} for cls, block in cal["classes"].items()},
        "shared": {k: e["value"] for k, e in cal["shared"].items()},
    }


VECTOR_CASES = (
    ("llama-3-8b", "nvidia-rtx-4090", {"w_bits": 4, "group_size": 64, "seq_len": 512}),
    ("llama-2-7b", "nvidia-h100-sxm", {"seq_len": 2048}),
    ("llama-2-7b", "apple-m2-ultra", {"w_bits": 8, "seq_len": 1024, "flash_attention": False}),
    ("llama-2-70b", "nvidia-h100-sxm", {"tp": 4, "batch": 8, "seq_len": 512}),
    ("mixtral-8x7b", "nvidia-a100-80gb", {"batch": 4, "seq_len": 256}),
)


def expected_vectors(cal: dict) -> list[dict]:
    """Stages and their expected seconds for the browser's test (tests/js/expected.test.mjs)."""
    from calculator.core import analyze
    from calculator.expected import _catalogue_fields, device_class, expected_stage_s
    from kb.catalogue import UnknownIdError, load_hardware, load_model

    out = []
    params = browser_parameters(cal)
    for model_id, hw_id, fields in VECTOR_CASES:
        try:
            model, hw = load_model(model_id), load_hardware(hw_id)
        except UnknownIdError:
            continue
        s = Settings(stage="all", **fields)
        r = analyze(model, hw, s)
        for name, stage in r.stages.items():
            out.append({
                "id": f"{model_id}/{hw_id}/{name}", "class": device_class(hw),
                "hardware": {"id": hw.id, "name": hw.name, "memory_bandwidth": hw.memory_bandwidth},
                "info": dict(zip(("vendor", "kind", "segment"), _catalogue_fields(hw.id))),
                "settings": {"batch": s.batch, "seq_len": s.seq_len, "w_bits": s.w_bits, "a_bits": s.a_bits},
                "stage": {"name": name, "time_s": stage.time_s,
                          "layers": [{"name": row[0], "count": row[1], "ops": row[2], "bytes": row[3],
                                      "time_s": row[4], "bound": row[5], "peak_ops_per_s": row[7]}
                                     for row in stage.layers]},
                "expected_s": expected_stage_s(stage, hw, s, {"classes": cal["classes"], "shared": cal["shared"]}),
            })
    assert params  # the same values the browser reads
    return out


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m calculator.calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only compare a fresh fit with calculator/calibration.json (exit 1 if it differs)")
    args = parser.parse_args(argv)
    cal = calibrate()
    if args.check:
        with open(CALIBRATION_PATH, encoding="utf-8") as handle:
            stored = json.load(handle)
        same = json.loads(json.dumps(cal)) == stored
        print("calibration.json is up to date" if same else "calibration.json is stale: run make calibrate")
        return 0 if same else 1
    for path in write_outputs(cal):
        print("wrote", os.path.relpath(path, REPO))
    for metric, groups in cal["validation"]["held_out"].items():
        s = groups["all"]
        print(f"held-out {metric}: n={s['n']} median {_pct(s['median_abs_error'])} p90 {_pct(s['p90_abs_error'])}")
    print(f"rows faster than the bound: {len(cal['bound_violations'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
