"""Write tests/js/serving_vectors.json: serving inputs and the Python answers, for the browser's serving view.

The live calculator's serving panel (docs/assets/js/serving.js) re-implements `calculator.serving`'s
StepModel, capacity, longest_context, knee and curve, and the one-group part of `calculator.search`
(its _Group, _batch_grid and the choice of `best` under TTFT / TPOT limits). tests/js/serving.test.mjs
(``node --test tests/js/``) holds every number of this file to 1e-9 relative (integers exactly), and
tests/site/test_serving_vectors_current.py fails when the file is no longer what this script writes.

    .venv/bin/python tools/make_serving_vectors.py            # rewrite tests/js/serving_vectors.json
    .venv/bin/python tools/make_serving_vectors.py --check    # exit 1 when it is stale

The cases are fixed (no randomness): dense MHA and GQA models, mixtures of experts, MLA (DeepSeek),
sliding-window layers (Gemma 3, gpt-oss) below and past the window, OPT's LayerNorm and biases, unfused
attention, both KV allocators (block sizes, a reservation below the request), a chunked-prefill token
budget, a memory fraction, low-bit weights and cache, fp8 compute, tensor parallelism, a device that
states no memory, a model that does not fit, a single output token, and inputs refused in both languages.
Models and devices are carried as the calculator's own fields (read from kb/models and kb/hardware one
by one), so the file needs no knowledge-base build.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
OUT = REPO / "tests" / "js" / "serving_vectors.json"

H100, A100, H200, A6000, RTX4090, MI300X = ("nvidia-h100-sxm", "nvidia-a100-80gb", "nvidia-h200", "nvidia-a6000",
                                            "nvidia-rtx-4090", "amd-mi300x")

# (id, model, hardware, settings, capacity options, SLA limit pairs or "auto")
CASES = [
    ("llama-2-7b h100 paged (worked example)", "llama-2-7b", H100, dict(seq_len=512, gen_len=128), {}),
    ("llama-2-7b h100 reserve 4096", "llama-2-7b", H100, dict(seq_len=512, gen_len=128),
     dict(allocator="reserve", max_seq_len=4096)),
    ("llama-2-7b a6000 unfused batch 4", "llama-2-7b", A6000, dict(seq_len=1024, gen_len=256, batch=4,
                                                                    flash_attention=False), {}),
    ("llama-3-8b a100 kv8 block 32", "llama-3-8b", A100, dict(seq_len=2048, gen_len=256, kv_bits=8),
     dict(block_size=32)),
    ("llama-3-8b h100 w4 g128", "llama-3-8b", H100, dict(seq_len=512, gen_len=512, w_bits=4, group_size=128), {}),
    ("llama-3-70b h100 tp4", "llama-3-70b", H100, dict(seq_len=1024, gen_len=128, tp=4), {}),
    ("llama-3-70b a6000 does not fit", "llama-3-70b", A6000, dict(seq_len=512, gen_len=128), {}),
    ("mistral-7b 4090 w4a16 kv4 fraction 0.9", "mistral-7b", RTX4090,
     dict(seq_len=1024, gen_len=128, w_bits=4, group_size=128, kv_bits=4, kv_group_size=64),
     dict(memory_fraction=0.9)),
    ("mixtral-8x7b h100 tp2", "mixtral-8x7b", H100, dict(seq_len=512, gen_len=256, tp=2), {}),
    ("mixtral-8x7b mi300x w8a8 fp", "mixtral-8x7b", MI300X,
     dict(seq_len=2048, gen_len=128, w_bits=8, a_bits=8, number_format="fp"), {}),
    ("qwen3-30b-a3b h200 chunked budget 512", "qwen3-30b-a3b", H200, dict(seq_len=4096, gen_len=512),
     dict(prefill_tokens=512)),
    ("deepseek-v2-lite a100 (MLA, MoE)", "deepseek-v2-lite", A100, dict(seq_len=1024, gen_len=256), {}),
    ("deepseek-v3 h200 tp8 fp8", "deepseek-v3", H200,
     dict(seq_len=2048, gen_len=256, tp=8, w_bits=8, a_bits=8, kv_bits=8, number_format="fp"), {}),
    ("gemma-3-12b h100 below the window", "gemma-3-12b", H100, dict(seq_len=256, gen_len=128), {}),
    ("gemma-3-12b h100 past the window", "gemma-3-12b", H100, dict(seq_len=8192, gen_len=512), {}),
    ("gemma-3-4b a6000 reserve, unfused", "gemma-3-4b", A6000, dict(seq_len=900, gen_len=300, flash_attention=False),
     dict(allocator="reserve", max_seq_len=1000)),
    ("gpt-oss-20b h100 across the window", "gpt-oss-20b", H100, dict(seq_len=100, gen_len=200), {}),
    ("gpt-oss-120b h200 tp2", "gpt-oss-120b", H200, dict(seq_len=4096, gen_len=1024, tp=2), {}),
    ("opt-6.7b a6000 unfused", "opt-6.7b", A6000, dict(seq_len=512, gen_len=64, flash_attention=False), {}),
    ("qwen2.5-7b 4090 one output token", "qwen2.5-7b", RTX4090, dict(seq_len=2048, gen_len=1), {}),
    ("phi-3-mini past its positions", "phi-3-mini-4k", A100, dict(seq_len=4000, gen_len=500), {}),
    ("llama-3.2-1b no stated memory", "llama-3.2-1b", "no-memory", dict(seq_len=512, gen_len=128), {}),
]

ERRORS = [
    ("llama-2-7b tp 3 (refused by analyze)", "llama-2-7b", H100, dict(seq_len=512, gen_len=128, tp=3), {}),
    ("unknown allocator", "llama-2-7b", H100, dict(seq_len=512, gen_len=128), dict(allocator="slab")),
    ("memory fraction above 1", "llama-2-7b", H100, dict(seq_len=512, gen_len=128), dict(memory_fraction=1.5)),
    ("block size 0", "llama-2-7b", H100, dict(seq_len=512, gen_len=128), dict(block_size=0)),
    ("mamba-2.8b (the step model cannot reproduce it)", "mamba-2.8b", H100, dict(seq_len=512, gen_len=128), {}),
]

_PY_OPTION = {"block_size": "blockSize", "max_seq_len": "maxSeqLen", "prefill_tokens": "prefillTokens",
              "memory_fraction": "memoryFraction", "allocator": "allocator"}


def _model_fields(model) -> dict:
    """The model's constructor fields that differ from Model's defaults (roofline.js's makeModel has the same
    defaults), so a new optional field in calculator/spec.py leaves the file as it is."""
    from dataclasses import MISSING, fields

    from calculator.spec import Model
    from kb.catalogue import _fields_of

    defaults = {f.name: f.default for f in fields(Model) if f.default is not MISSING}
    out = {"name": model.name}
    for key, value in _fields_of(model).items():
        if key in defaults and value == defaults[key]:
            continue
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


def _hardware_fields(hw) -> dict:
    return {"id": hw.id, "name": hw.name, "memory_bandwidth": hw.memory_bandwidth, "peak_ops": dict(hw.peak_ops),
            "memory_bytes": hw.memory_bytes, "interconnect_bandwidth": hw.interconnect_bandwidth,
            "interconnect_name": hw.interconnect_name, "host_link_bandwidth": hw.host_link_bandwidth}


def _hardware(hw_id: str):
    from calculator.spec import Hardware
    from kb.catalogue import load_hardware

    if hw_id == "no-memory":  # a device that states no capacity: capacity() has no batch limit
        base = load_hardware(A6000)
        return Hardware(id="no-memory", name="A6000 without a stated memory", memory_bandwidth=base.memory_bandwidth,
                        peak_ops=dict(base.peak_ops))
    return load_hardware(hw_id)


def _probes(step, P: int, G: int) -> list:
    """Step-model values at a few fixed points: decode steps, prefills, decode sums, splits."""
    out = []
    for b, c in ((1, 1), (3, 700), (37, 5000), (256, 100_000)):
        counts = step.decode_counts(b, c)
        out.append({"kind": "decode_step", "b": b, "n": c, "value": step.decode_step(b, c),
                    "split": list(step.split(*counts[:4], False, *counts[4:])),
                    "split_weights": list(step.split(*counts[:4], True, *counts[4:]))})
    for b, n in ((1, 1), (2, 333), (8, P)):
        out.append({"kind": "prefill", "b": b, "n": n, "value": step.prefill(b, n)})
    for b, gen in ((1, G), (5, 2), (64, 3000)):
        out.append({"kind": "decode_total", "b": b, "n": P, "g": gen, "value": step.decode_total(b, P, gen)})
    return out


def _limits(step, P: int, G: int) -> list:
    """TTFT / TPOT limit pairs around the batch-1 point: loose, tight on TPOT, tight on TTFT, impossible."""
    from calculator.serving import _point

    one = _point(step, 1, P, G)
    ttft, tpot = one["ttft_s"], one["tpot_s"] if G > 1 else one["ttft_s"]
    return [(1000.0, 1000.0), (ttft * 20, tpot * 1.5), (ttft * 3.3, tpot * 10), (ttft * 0.5, tpot * 0.5)]


def _sla(step, cap, P: int, G: int, ttft_limit: float, tpot_limit: float, dense: int = 256) -> dict:
    """calculator.search for one (device, tp, formats) group: the rows it evaluates and its `best`."""
    from calculator.search import _batch_grid, _Group

    limit = cap.max_batch if cap.max_batch is not None else 1024
    if limit < 1:
        return {"best": None, "evaluated": 0, "limit": limit}
    group = _Group(step, P, G)
    best = None
    evaluated = 0
    for b in _batch_grid(limit, dense):
        ttft, dec = group.evaluate(b, P)
        tpot = dec / (G - 1) if G > 1 else ttft
        row = {"batch": b, "ttft_s": ttft, "tpot_s": tpot, "tokens_per_s_per_user": 1 / tpot,
               "tokens_per_s_per_device": b * G / (ttft + dec) / step.devices,
               "meets_limits": ttft <= ttft_limit and tpot <= tpot_limit}
        evaluated += 1
        if row["meets_limits"] and (best is None or (row["tokens_per_s_per_device"], row["batch"])
                                    > (best["tokens_per_s_per_device"], best["batch"])):
            best = row
    return {"best": best, "evaluated": evaluated, "limit": limit}


def _check_against_search(model, hw, settings, opts, limits, got) -> None:
    """Where the setting is one of search's named formats, search() itself must pick the same best batch."""
    from calculator.search import KV_FORMATS, WEIGHT_FORMATS, search

    def named(table):  # search's replace(settings, **format) gives back these very settings
        return [n for n, f in table.items() if all(getattr(settings, k) == v for k, v in f.items())]

    weights, kvs = named(WEIGHT_FORMATS), named(KV_FORMATS)
    if not weights or not kvs:
        return
    res = search(model, hw, settings, ttft_limit=limits[0], tpot_limit=limits[1], tps=[settings.tp], eps=[1],
                 weight_formats=weights[:1], kv_formats=kvs[:1], **opts)
    want = res["best"]["batch"] if res["best"] else None
    mine = got["best"]["batch"] if got["best"] else None
    if want != mine:
        raise SystemExit(f"make_serving_vectors: the one-group SLA answer ({mine}) is not search()'s ({want}) "
                         f"for {model.id} on {hw.id}")


def _case_head(cid, model_id, hw_id, fields, opts, models, devices):
    """(model, hardware, the case's inputs) of one vector; the model and device join the file's tables."""
    from kb.catalogue import load_model

    model, hw = load_model(model_id), _hardware(hw_id)
    models.setdefault(model_id, _model_fields(model))
    devices.setdefault(hw_id, _hardware_fields(hw))
    return model, hw, {"id": cid, "model": model_id, "hardware": hw_id, "settings": fields,
                       "options": {_PY_OPTION[k]: v for k, v in opts.items()}}


def _case(cid, model_id, hw_id, fields, opts, models, devices) -> dict:
    from calculator.serving import StepModel, capacity, curve, _point
    from calculator.spec import CalculatorError, Settings

    model, hw, case = _case_head(cid, model_id, hw_id, fields, opts, models, devices)
    try:
        settings = Settings(**fields)
        step = StepModel(model, hw, settings)
        cap = capacity(model, hw, settings, step=step, **opts)
    except CalculatorError as exc:
        case["error"] = str(exc)
        return case
    P, G = settings.seq_len, settings.gen_len
    other = "reserve" if opts.get("allocator", "paged") == "paged" else "paged"
    cap_other = capacity(model, hw, settings, step=step, **{**opts, "allocator": other})
    cv = curve(model, hw, settings, step=step, cap=cap)
    knees = {}
    for name in ("knee_batch", "weights_knee_batch"):
        if cv[name] is not None:
            knees[name] = _point(step, cv[name], P, G)
    slas = []
    for ttft_limit, tpot_limit in _limits(step, P, G):
        got = _sla(step, cap, P, G, ttft_limit, tpot_limit)
        if "prefill_tokens" not in opts:  # search() takes capacity's other options only
            _check_against_search(model, hw, settings, opts, (ttft_limit, tpot_limit), got)
        slas.append({"ttft_limit": ttft_limit, "tpot_limit": tpot_limit, **got})
    case["expect"] = {
        "step": {"rows": len(step.rows), "pre_rows": len(step.pre_rows), "expert_rows": len(step.expert_rows),
                 "tabulated": len(step.tabulated), "weights_bytes": step.weights_bytes,
                 "kv_token_bytes": step.kv_token_bytes, "window": step.window},
        "probes": _probes(step, P, G),
        "capacity": cap.to_dict(),
        "capacity_other": cap_other.to_dict(),
        "curve": cv,
        "knee_points": knees,
        "sla": slas,
    }
    return case


def _error_case(cid, model_id, hw_id, fields, opts, models, devices) -> dict:
    from calculator.serving import capacity
    from calculator.spec import CalculatorError, Settings

    model, hw, case = _case_head(cid, model_id, hw_id, fields, opts, models, devices)
    try:
        capacity(model, hw, Settings(**fields), **opts)
    except CalculatorError as exc:
        case["error"] = str(exc)
        return case
    raise SystemExit(f"make_serving_vectors: {cid} was meant to be refused")


def build() -> str:
    """The file's text (deterministic)."""
    models, devices = {}, {}
    cases = [_case(*c, models, devices) for c in CASES]
    errors = [_error_case(*c, models, devices) for c in ERRORS]
    doc = {"about": "written by tools/make_serving_vectors.py from calculator.serving and calculator.search; "
                    "do not edit", "models": models, "hardware": devices, "cases": cases + errors}
    return json.dumps(doc, indent=0, sort_keys=True, allow_nan=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT.relative_to(REPO)} is stale: run .venv/bin/python tools/make_serving_vectors.py")
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}: {len(CASES)} cases, {len(ERRORS)} refusals")
    return 0


if __name__ == "__main__":
    sys.exit(main())
