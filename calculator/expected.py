"""Expected time beside the roofline bound: a small efficiency model fitted to measurements.

The roofline gives each layer row the time max(ops / peak, bytes / bandwidth): the fastest the
device could possibly run it. Real kernels reach only part of the peaks and pay fixed costs, so the
expected time of a stage is

    expected = sum over gemm and element-wise rows of count x max(ops / (eta_c x peak), bytes / (eta_m x bandwidth))
             + sum over attention rows of count x bound time / eta_attn
             + layers x t_layer + t_step
             + all-reduce rows: time / eta_link + t_collective

with, per device class (`device_class`):

- ``eta_m`` (``bw_fraction_*``): the fraction of peak DRAM bandwidth a memory-bound kernel streams
  at; one value for 16-bit (and native 8-bit) weights and one for weight-only quantized weights
  (dequantization costs instructions);
- ``eta_c`` (``compute_fraction_gemm``, ``compute_fraction_gemm_quantized``): the fraction of peak
  compute a compute-bound matrix multiplication reaches, with 16-bit and with quantized weights
  (element-wise rows are always memory-bound in practice: eta_c = 1);
- ``eta_attn`` (``attention_fraction``): the fraction of its own roofline an attention kernel reaches
  (score matrix, softmax and value product: memory-bound reading the KV cache in decode,
  compute-bound in a long prefill);
- ``t_layer`` (``layer_overhead_s``): fixed time per transformer layer per forward pass (kernel
  launches, synchronisation, small kernels the roofline rows do not list), and ``t_step``
  (``step_overhead_s``): fixed time per forward pass (graph set-up, sampling, host work);
- ``eta_link``, ``t_collective``: achieved fraction of the link bandwidth and the fixed latency of
  one all-reduce (tensor parallelism).

Every fraction is at most 1 and every overhead at least 0, so the expected time is never below the
bound. The parameters, their uncertainties and the data they came from live in
calculator/calibration.json, written by ``make calibrate`` (calculator/calibrate.py); see
docs/accuracy.md for how well the model predicts measurements it was not fitted on.

Pure functions: nothing here changes a Result or the bound.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache

__all__ = [
    "CLASSES",
    "device_class",
    "expected_generate",
    "expected_stage_s",
    "kind_of",
    "load_parameters",
    "parameters_for",
]

CALIBRATION_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calibration.json")

CLASSES = ("datacenter-gpu", "consumer-gpu", "apple")
"""Device classes with their own parameters. Other devices use `FALLBACK` (see `device_class`)."""

FALLBACK = "datacenter-gpu"

_GEMM = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "router", "lm_head"}
_ATTENTION = {"attention", "qk_matmul", "sv_matmul"}

# Used when no calibration file exists yet (a fresh checkout before `make calibrate`): the
# roofline itself (every fraction 1, no overhead), so expected == bound.
NEUTRAL = {
    "bw_fraction_16bit": 1.0,
    "bw_fraction_quantized": 1.0,
    "bw_fraction_kquant": 1.0,
    "compute_fraction_gemm": 1.0,
    "compute_fraction_gemm_quantized": 1.0,
    "attention_fraction": 1.0,
    "layer_overhead_s": 0.0,
    "step_overhead_s": 0.0,
    "gemm_half_tokens": 0.0,
    "link_fraction": 1.0,
    "collective_overhead_s": 0.0,
}


def kind_of(name: str) -> str:
    """Kernel kind of a layer row: ``gemm``, ``attention``, ``elementwise`` or ``collective``.

    By name: ``*_proj``, ``*_absorb``, ``router`` and ``lm_head`` multiply by weight matrices;
    ``attention``, ``*qk_matmul``, ``*sv_matmul`` (and their ``window_`` forms) are attention;
    ``*allreduce`` rows use the interconnect; norms, activations, adds and softmax are element-wise."""
    if name in _GEMM or name.endswith("_proj") or name.endswith("_absorb"):
        return "gemm"
    if name in _ATTENTION or name.endswith("attention") or name.endswith("qk_matmul") or name.endswith("sv_matmul"):
        return "attention"
    if name.endswith("allreduce"):
        return "collective"
    return "elementwise"


@lru_cache(maxsize=256)
def _catalogue_fields(hardware_id: str) -> tuple[str, str, str]:
    """(vendor, kind, segment) of a catalogue device, or empty strings when there is no file."""
    from kb.catalogue import ROOT

    path = os.path.join(ROOT, "hardware", f"{hardware_id}.yaml")
    if not hardware_id or "/" in hardware_id or not os.path.isfile(path):
        return "", "", ""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.load(handle.read(1 << 20), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return "", "", ""
    if not isinstance(data, dict):
        return "", "", ""
    return tuple(str(data.get(k) or "").lower() for k in ("vendor", "kind", "segment"))


def device_class(hardware) -> str:
    """The parameter class of a device: ``apple`` (unified-memory SoC GPU), ``consumer-gpu``
    (GeForce and workstation cards), ``datacenter-gpu``; anything else (CPU, TPU, other
    accelerators, no data) gets `FALLBACK`'s parameters.

    Read from the catalogue file's vendor / kind / segment when the device has one, else from its
    name."""
    vendor, kind, segment = _catalogue_fields(getattr(hardware, "id", ""))
    name = f"{getattr(hardware, 'id', '')} {getattr(hardware, 'name', '')}".lower()
    if vendor == "apple" or (not vendor and "apple" in name):
        return "apple"
    if kind == "gpu" or (not kind and ("nvidia" in name or "radeon" in name)):
        if segment in ("consumer", "workstation") or (not segment and ("geforce" in name or " rtx" in name)):
            return "consumer-gpu"
        if segment == "datacenter" or not segment:
            return "datacenter-gpu"
    return FALLBACK


@lru_cache(maxsize=4)
def _load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def load_parameters(path: str | None = None) -> dict:
    """The calibration file's content ({} when it does not exist). Cached per path."""
    return _load(path or CALIBRATION_PATH)


def parameters_for(cls: str, calibration: dict | None = None) -> dict:
    """Fitted values of one device class, as {name: value} (NEUTRAL when uncalibrated)."""
    cal = load_parameters() if calibration is None else calibration
    classes = cal.get("classes", {})
    block = classes.get(cls) or classes.get(FALLBACK) or {}
    values = dict(NEUTRAL)
    for name, entry in block.items():
        if name in values:
            values[name] = entry["value"] if isinstance(entry, dict) else entry
    for name, entry in cal.get("shared", {}).items():
        if name in values:
            values[name] = entry["value"] if isinstance(entry, dict) else entry
    return values


def _quantized(settings) -> bool:
    """Weight-only quantization: weights below 16 bits dequantized for 16-bit activations (W4A16,
    llama.cpp's q4_0 ...). W8A8 and FP8 run native low-precision kernels: the 16-bit fractions apply."""
    return settings is not None and settings.w_bits < 16 and settings.a_bits >= 16


def stage_terms(stage, hardware, settings=None):
    """The pieces of a stage the expected time is built from: a tuple of (kind, tokens,
    count x ops / peak, count x bytes / bandwidth) per row, the layer count, and the all-reduce time
    and count. `settings` tells whether weights are quantized (gemm rows become ``gemm_q``) and how
    many tokens a prefill matrix multiplication has (batch x prompt; the lm_head sees one position
    per sequence); without it, and in decode, 16-bit weights and large matrices are assumed."""
    bw = hardware.memory_bandwidth
    quantized = _quantized(settings)
    tokens = 0
    batch = 0
    if settings is not None and stage.name == "prefill":
        # Only prefill matrices are sized by the prompt; decode runs matrix-vector kernels (batch 1) or
        # batched matrices that are memory-bound or large (no size penalty).
        batch = settings.batch
        tokens = batch * settings.seq_len
    rows, layers, link_time, collectives = [], 0, 0.0, 0
    for row in stage.layers:
        name, count, ops, byts, time_s, bound, fmt, peak = row[:8]
        kind = kind_of(name)
        if kind == "collective" or bound == "interconnect":
            link_time += count * time_s
            collectives += count
            continue
        if name == "attn_norm":
            layers += count  # one per transformer layer (a model may hold groups of layers)
        key = ("gemm_q" if quantized else "gemm") if kind == "gemm" and name != "lm_head" else kind
        rows.append((key, batch if name == "lm_head" else tokens, count * ops / peak if peak else 0.0,
                     count * byts / bw))
    return tuple(rows), layers, link_time, collectives


def expected_from_terms(terms, values: dict) -> float:
    """Expected seconds of a stage from `stage_terms` and parameter values.

    A matrix multiplication of T tokens reaches eta_c x T / (T + T_half) of the peak: small
    matrices leave compute units idle (too few output tiles for the device), `gemm_half_tokens`
    is T_half; T = 0 (unknown) means large."""
    rows, layers, link_time, collectives = terms
    bw16, bwq = values["bw_fraction_16bit"], values["bw_fraction_quantized"]
    cg, ca = values["compute_fraction_gemm"], values["attention_fraction"]
    cgq = values["compute_fraction_gemm_quantized"]
    half = values["gemm_half_tokens"]
    total = 0.0
    for key, tokens, tc, tm in rows:
        if key in ("gemm", "gemm_q", "gemm_k", "lm_head"):
            if tokens and half:
                tc *= 1.0 + half / tokens
            if key == "gemm_q":
                t = max(tc / cgq, tm / bwq)
            elif key == "gemm_k":
                t = max(tc / cgq, tm / values["bw_fraction_kquant"])
            else:
                t = max(tc / cg, tm / bw16)
        elif key == "attention":
            t = max(tc, tm) / ca
        else:
            t = max(tc, tm / bw16)
        total += t
    total += layers * values["layer_overhead_s"] + values["step_overhead_s"]
    if collectives:
        total += link_time / values["link_fraction"] + collectives * values["collective_overhead_s"]
    return total


def expected_stage_s(stage, hardware, settings=None, calibration: dict | None = None) -> float:
    """Expected seconds of one stage (a `Result.stages` value) on `hardware`.

    `settings` (the run's `Settings`) tells whether weights are quantized (below 16 bits), which
    has its own bandwidth fraction; without it 16-bit weights are assumed. Never below
    `stage.time_s` (the bound)."""
    values = parameters_for(device_class(hardware), calibration)
    terms = stage_terms(stage, hardware, settings)
    return max(stage.time_s, expected_from_terms(terms, values))


def _attention_sum(first_rows, last_rows, steps: int, values: dict, bw: float) -> float:
    """What the growing context adds to `steps` decode steps, at the expected efficiencies:
    the exact sum of max(ops / (eta_c peak), bytes / (eta_m bw)) over contexts growing linearly."""
    from calculator.core import _sum_steps
    from calculator.result import Layer

    extra = 0.0
    first = {row[0]: row for row in first_rows}
    for r1 in last_rows:
        r0 = first.get(r1[0])
        # Interconnect rows (expert-parallel dispatch and combine, host transfers) have no compute peak; their
        # growth with the context, if any, is in the collective time already.
        if r0 is None or r1[5] == "interconnect" or kind_of(r1[0]) not in ("attention", "elementwise"):
            continue
        if kind_of(r1[0]) == "attention":
            ec = em = values["attention_fraction"]
        else:
            ec, em = 1.0, values["bw_fraction_16bit"]

        def scaled(r):
            return tuple.__new__(Layer, (r[0], r[1], r[2] / ec, r[3] / em, max(r[2] / ec / r[7], r[3] / em / bw),
                                         r[5], r[6], r[7]))

        s0, s1 = scaled(r0), scaled(r1)
        extra += r0[1] * (_sum_steps(s0, s1, steps, bw) - steps * s0[4])
    return extra


def generate_with(result, values: dict, last_decode=None) -> dict | None:
    """`expected_generate` for given parameter values (a `parameters_for` dict); see there."""
    g = result.generate
    if g is None:
        return None
    from dataclasses import replace

    from calculator.core import analyze

    hw, s = result.hardware, result.settings
    quant = _quantized(s)
    prefill = result.stages.get("prefill")
    decode = result.stages.get("decode")
    if prefill is None or decode is None:
        both = analyze(result.model, hw, replace(s, stage="all"))
        prefill, decode = both.stages["prefill"], both.stages["decode"]
    ttft = max(g.ttft_s, expected_from_terms(stage_terms(prefill, hw, s), values))
    steps = g.gen_len - 1
    decode_s = 0.0
    if steps:
        per_step = expected_from_terms(stage_terms(decode, hw, s), values)
        decode_s = steps * per_step
        if steps > 1:
            if last_decode is None:
                last = analyze(result.model, hw, replace(s, seq_len=s.seq_len + steps - 1, stage="decode"))
                last_decode = last.stages["decode"]
            decode_s += _attention_sum(decode.layers, last_decode.layers, steps, values, hw.memory_bandwidth)
        decode_s = max(decode_s, g.decode_time_s)
    e2e = ttft + decode_s
    tpot = decode_s / steps if steps else 0.0
    return {
        "ttft_s": ttft,
        "time_per_output_token_s": tpot,
        "e2e_latency_s": e2e,
        "tokens_per_s": g.batch * g.gen_len / e2e,
        "decode_tokens_per_s": g.batch / tpot if tpot else None,
    }


def expected_generate(result, calibration: dict | None = None, last_decode=None) -> dict | None:
    """Expected TTFT, time per output token, end-to-end latency and tokens/s of a Result's generate
    summary (None when it has none), under the names of `Generate.to_dict`.

    `last_decode` (optional) is the decode Stage at the last context of the request; it is
    computed when not given, so the context-dependent attention rows are summed exactly as the
    bound sums them. Every time is at least the bound's."""
    if result.generate is None:
        return None
    values = parameters_for(device_class(result.hardware), calibration)
    return generate_with(result, values, last_decode)


def expected_summary(result, calibration: dict | None = None) -> dict:
    """{stage name: expected seconds} and ``generate``: the expected_generate dict (when the result
    has a generate summary), with the device class and whether a calibration was found."""
    cal = load_parameters() if calibration is None else calibration
    cls = device_class(result.hardware)
    out = {
        "device_class": cls,
        "calibrated": bool(cal.get("classes")),
        "stages": {name: expected_stage_s(stage, result.hardware, result.settings, cal)
                   for name, stage in result.stages.items()},
    }
    if result.generate is not None:
        out["generate"] = expected_generate(result, cal)
    return out


def annotate(result, out: dict) -> None:
    """Add the expected values to a `Result.to_dict()` mapping: ``expected_time_s`` on every stage
    total, ``expected_time_s`` (end-to-end) and ``expected`` (TTFT, TPOT, tokens/s) on the generate
    summary, and ``expected_model`` (device class, parameter values, where they come from)."""
    summary = expected_summary(result)
    for name, seconds in summary["stages"].items():
        total = out.get("stages", {}).get(name, {}).get("total")
        if total is not None:
            total["expected_time_s"] = seconds
    gen = summary.get("generate")
    if gen is not None and "generate" in out:
        out["generate"]["expected_time_s"] = gen["e2e_latency_s"]
        out["generate"]["expected"] = gen
    out["expected_model"] = {
        "device_class": summary["device_class"],
        "calibrated": summary["calibrated"],
        "parameters": parameters_for(summary["device_class"]),
        "source": "calculator/calibration.json (make calibrate); docs/accuracy.md",
    }
