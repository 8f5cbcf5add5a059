"""The serving parts of ``python -m calculator``: ``--stage serve`` and the ``search`` subcommand.

    python -m calculator --model llama-2-7b --hardware nvidia-h100-sxm --stage serve --seq-len 512 --gen-len 128
    python -m calculator search --model llama-2-7b --hardware nvidia-h100-sxm,nvidia-a100-80gb \\
        --seq-len 512 --gen-len 128 --ttft 1 --tpot 0.02

Both print a table, or JSON with ``--format json`` (keys: docs/roofline.md, "Serving"). Bad input is one
line on stderr (calculator.cli's conventions).
"""

from __future__ import annotations

import argparse
import math

from calculator.spec import CalculatorError

_SERVE_OPTIONS = ("rate", "token_budget", "allocator", "block_size", "max_seq_len", "memory_fraction", "ttft",
                  "tpot", "offload", "offload_weights", "offload_kv", "overlap")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of --stage serve (none changes another stage's output; each needs --stage serve)."""
    g = p.add_argument_group("serving (--stage serve; docs/roofline.md, 'Serving')")
    _shared(g)
    g.add_argument("--rate", type=float, help="requests/s per instance for the continuous-batching figures "
                                              "(default: half the highest sustainable rate)")
    g.add_argument("--token-budget", type=int, help="tokens per continuous-batching iteration (default 512)")
    g.add_argument("--ttft", type=float, metavar="S", help="TTFT limit, seconds: adds disaggregated vs colocated")
    g.add_argument("--tpot", type=float, metavar="S", help="TPOT limit, seconds (with --ttft)")
    g.add_argument("--offload", action="store_true",
                   help="offload what does not fit (weights first) over the host link, at --batch")
    g.add_argument("--offload-weights", type=float, metavar="F", help="fraction of the weights in host memory")
    g.add_argument("--offload-kv", type=float, metavar="F", help="fraction of the KV cache in host memory")
    g.add_argument("--overlap", action=argparse.BooleanOptionalAction, default=None,
                   help="offloaded transfers overlap compute (default) or not")


def _shared(g) -> None:
    g.add_argument("--allocator", choices=("paged", "reserve"), default=None,
                   help="KV-cache allocator: paged blocks (default) or a reservation of --max-seq-len per request")
    g.add_argument("--block-size", type=int, help="tokens per KV block of the paged allocator (default 16)")
    g.add_argument("--max-seq-len", type=int, help="tokens reserved per request by --allocator reserve "
                                                   "(default: the model's max_position_embeddings)")
    g.add_argument("--memory-fraction", type=float, help="share of device memory the server may use (default 1)")


def _finite(name: str, value, low_open: float = 0.0, high: float = 1e6) -> None:
    if value is None:
        return
    if not math.isfinite(value) or not low_open < value <= high:
        raise CalculatorError(f"{name} must be a number above {low_open:g} and at most {high:g}, got {value!r}")


def _ints(name: str, value, high: int) -> None:
    if value is not None and not 1 <= value <= high:
        raise CalculatorError(f"{name} must be an integer from 1 to {high:g}, got {value}")


def check_options(args) -> None:
    """Serving options outside --stage serve are mistakes; inside it their values are checked here."""
    given = [name for name in _SERVE_OPTIONS if getattr(args, name, None) not in (None, False)]
    if args.stage != "serve":
        if given:
            raise CalculatorError(f"--{given[0].replace('_', '-')} needs --stage serve")
        return
    if args.format not in ("table", "json", "svg"):
        raise CalculatorError(f"--stage serve prints a table, json or svg (the curve), not {args.format}")
    if args.plot:
        raise CalculatorError("--plot draws the roofline of one stage; --stage serve has no roofline plot")
    if args.rate is not None and not (math.isfinite(args.rate) and 0 <= args.rate <= 1e9):
        raise CalculatorError(f"--rate must be a number of requests/s from 0 to 1e+09, got {args.rate!r}")
    _ints("--token-budget", args.token_budget, 10_000_000)
    _ints("--block-size", args.block_size, 1_000_000)
    _ints("--max-seq-len", args.max_seq_len, 100_000_000)
    _finite("--memory-fraction", args.memory_fraction, 0.0, 1.0)
    _finite("--ttft", args.ttft)
    _finite("--tpot", args.tpot)
    if (args.ttft is None) != (args.tpot is None):
        raise CalculatorError("--ttft and --tpot go together (the disaggregated figures need both limits)")
    for name in ("offload_weights", "offload_kv"):
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and 0 <= value <= 1):
            raise CalculatorError(f"--{name.replace('_', '-')} must be from 0 to 1, got {value!r}")


def _capacity_options(args) -> dict:
    out = {}
    if args.allocator:
        out["allocator"] = args.allocator
    if args.block_size is not None:
        out["block_size"] = args.block_size
    if args.max_seq_len is not None:
        out["max_seq_len"] = args.max_seq_len
    if args.memory_fraction is not None:
        out["memory_fraction"] = args.memory_fraction
    return out


def run_serve(args, model, hardware, settings, baseline=None) -> str:
    """--stage serve: the figures of `calculator.serving.serve` (+ disaggregated, + offload), as text.
    `baseline`: the settings without --method, whose capacity and curve are given beside (`baseline`)."""
    from calculator import serving

    opts = _capacity_options(args)
    budget = args.token_budget or 512
    out = serving.serve(model, hardware, settings, rate=args.rate, token_budget=budget, **opts)
    if baseline is not None:
        cap = serving.capacity(model, hardware, baseline, **opts)
        out["baseline"] = {"settings": baseline.to_dict(), "capacity": cap.to_dict(),
                           "curve": serving.curve(model, hardware, baseline, cap=cap, **opts)}
    if args.ttft is not None:
        cap_opts = {k: v for k, v in opts.items() if k != "allocator"}
        out["disaggregated"] = serving.disaggregated(model, hardware, settings, ttft_limit=args.ttft,
                                                     tpot_limit=args.tpot, token_budget=budget,
                                                     allocator=args.allocator or "paged", **cap_opts)
    if args.offload or args.offload_weights is not None or args.offload_kv is not None:
        out["offload"] = serving.offload(model, hardware, settings, weights_fraction=args.offload_weights,
                                         kv_fraction=args.offload_kv,
                                         overlap=True if args.overlap is None else args.overlap,
                                         memory_fraction=args.memory_fraction or 1.0)
    out["expected"] = serving.expected_curve(model, hardware, settings, [p["batch"] for p in out["curve"]["points"]])
    _finite_result(out)
    if args.format == "json":
        import json

        return json.dumps(out, indent=2) + "\n"
    if args.format == "svg":
        from calculator.serving_svg import to_svg

        curves = [(f"{model.id} with {args.method}" if baseline is not None else model.id, out["curve"])]
        if baseline is not None:
            curves.insert(0, (f"{model.id} (baseline)", out["baseline"]["curve"]))
        return to_svg(curves, title=f"{model.id} on {hardware.id}: throughput against latency")
    return serve_table(out)


def _finite_result(value, where="result") -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError(f"{where} is {value}: the inputs are beyond what the serving model can represent")
    if isinstance(value, dict):
        for key, item in value.items():
            _finite_result(item, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            _finite_result(item, where)


def _t(value) -> str:
    from calculator.units import seconds

    return "-" if value is None else seconds(value)


def _n(value, unit="") -> str:
    from calculator.units import si

    return "-" if value is None else si(value, unit=unit)


def serve_table(out: dict) -> str:
    cap, other = out["capacity"], out["capacity_other_allocator"]
    req = out["request"]
    lines = [f"{out['model']} on {out['hardware']} x{out['devices']}: requests of {req['prompt_len']} prompt + "
             f"{req['gen_len']} output tokens", ""]

    def cap_line(c):
        extra = f"blocks of {c['block_size']}" if c["allocator"] == "paged" else f"{c['reserved_tokens']} reserved"
        return (f"  {c['allocator']:<8} ({extra}): up to {c['max_batch'] if c['max_batch'] is not None else '?'} "
                f"requests; KV {_n(c['kv_bytes_per_sequence'], 'B')} per request "
                f"({c['kv_tokens_allocated']} slots for {c['kv_tokens_per_sequence']} tokens, "
                f"{c['waste_fraction'] * 100:.1f}% unused)")

    lines += ["capacity (per device: weights " + _n(cap["weights_bytes"], "B") + " of "
              + _n(cap["capacity_bytes"], "B") + ")", cap_line(cap), cap_line(other)]
    if cap["longest_context"] is not None:
        lines.append(f"  longest context at batch {cap['batch']}: {cap['longest_context']} tokens")
    lines += [f"  note: {n}" for n in cap["notes"]]
    if "baseline" in out:
        b = out["baseline"]
        top = b["curve"]["points"][-1] if b["curve"]["points"] else None
        lines.append(f"  baseline without the method: up to {b['capacity']['max_batch']} requests"
                     + (f", {top['tokens_per_s_per_device']:.1f} tok/s/device at that batch" if top else ""))
    cv = out["curve"]
    ex = out.get("expected") or {}
    ex_at = {p["batch"]: p for p in ex.get("points", [])}
    kind = (f"calibrated, {ex['device_class']}" if ex.get("calibrated") else "uncalibrated: equals the bound") \
        if ex else ""
    lines += ["", "throughput against latency (static batches; bound, then expected"
              + (f" ({kind}; docs/accuracy.md)" if kind else "") + ")",
              f"  {'batch':>7} {'TTFT':>9} {'TPOT':>9} {'tok/s/device':>13} {'decode tok/s/dev':>17} "
              f"{'tok/s/user':>11}  decode   {'exp TTFT':>9} {'exp TPOT':>9} {'exp tok/s/dev':>14}"]
    for p in cv["points"]:
        e = ex_at.get(p["batch"])
        tail = (f"   {_t(e['ttft_s']):>9} {_t(e['tpot_s']):>9} {e['tokens_per_s_per_device']:>14.1f}" if e else "")
        lines.append(f"  {p['batch']:>7} {_t(p['ttft_s']):>9} {_t(p['tpot_s']):>9} "
                     f"{p['tokens_per_s_per_device']:>13.1f} {p['decode_tokens_per_s_per_device']:>17.1f} "
                     f"{p['tokens_per_s_per_user']:>11.1f}  {p['decode_bound']:<6}{tail}")
    knee = cv["knee_batch"]
    lines.append(f"  knee: decode compute-bound from batch {knee}" if knee else
                 "  knee: the decode step stays memory-bound at every batch (the cache reads grow with it)")
    if cv["weights_knee_batch"]:
        lines.append(f"  weight-streaming layers compute-bound from batch {cv['weights_knee_batch']}")
    cb = out["continuous"]
    lines += ["", f"continuous batching, chunked prefill (budget {cb['token_budget']} tokens per iteration)",
              f"  highest sustainable rate {cb['max_rate']:.3g} requests/s"]
    if cb["sustainable"]:
        lines.append(f"  at {cb['rate']:.3g} requests/s: iteration {_t(cb['iteration_s'])}, "
                     f"{cb['decodes_per_iteration']:.1f} decodes + {cb['prefill_tokens_per_iteration']:.1f} prefill "
                     f"tokens, TTFT {_t(cb['ttft_s'])}, TPOT {_t(cb['tpot_s'])}, {cb['concurrent']:.1f} in flight, "
                     f"{cb['tokens_per_s_per_device']:.1f} tok/s/device")
    else:
        lines.append(f"  at {cb['rate']:.3g} requests/s: not sustainable (the budget or the memory is exceeded)")
    if "disaggregated" in out:
        d = out["disaggregated"]
        pr, de = d["prefill"], d["decode"]
        lines += ["", "disaggregated prefill / decode against colocated (goodput under the limits)",
                  f"  prefill instance x{pr['tp']}: batch {pr['batch']}, TTFT {_t(pr['ttft_s'])} "
                  f"(KV transfer {_t(pr['kv_transfer_s'])}), {pr['requests_per_s']:.3g} requests/s",
                  f"  decode instance x{de['tp']}: batch {de['batch']}, TPOT {_t(de['tpot_s'])}, "
                  f"{de['requests_per_s']:.3g} requests/s"]
        if d["pools"]:
            pl = d["pools"]
            lines.append(f"  pools {pl['prefill_instances']} prefill : {pl['decode_instances']} decode")
        lines.append(f"  goodput {d['goodput_tokens_per_s_per_device']:.1f} tok/s/device disaggregated, "
                     f"{d['colocated_tokens_per_s_per_device']:.1f} colocated")
        lines += [f"  note: {n}" for n in d["notes"]]
    if "offload" in out:
        o = out["offload"]
        lines += ["", f"offloading over the host link ({_n(o['host_link_bandwidth'], 'B/s')} both ways)",
                  f"  weights {o['weights_fraction'] * 100:.1f}% and KV {o['kv_fraction'] * 100:.1f}% in host memory, "
                  f"{_n(o['host_bytes_per_step'], 'B')} per step; TPOT {_t(o['tpot_s'])} "
                  f"({o['bound']}-bound, device alone {_t(o['device_tpot_s'])}), TTFT {_t(o['ttft_s'])}, "
                  f"{o['tokens_per_s_per_device']:.2f} tok/s/device" + ("" if o["overlap"] else ", not overlapped")]
        lines += [f"  note: {n}" for n in o["notes"]]
    return "\n".join(lines) + "\n"


# --- search -------------------------------------------------------------------------------------------

def _search_parser():
    from calculator.cli import _Parser
    from calculator.search import KV_FORMATS, WEIGHT_FORMATS

    p = _Parser(prog="python -m calculator search",
                description="SLA search over devices x tp x pp x ep x weight/KV formats x batch (docs/roofline.md, "
                            "'SLA search').")
    p.add_argument("--model", metavar="ID", help="catalogue model id")
    p.add_argument("--config", metavar="PATH", help="a Hugging Face config.json instead of --model")
    p.add_argument("--hardware", metavar="ID[,ID...]", help="catalogue device ids, comma-separated")
    p.add_argument("--catalogue", metavar="DIR", help="folder holding hardware/ and models/ (default: kb/)")
    p.add_argument("--seq-len", type=int, default=2048, help="prompt tokens (default 2048)")
    p.add_argument("--gen-len", type=int, default=128, help="output tokens (default 128)")
    p.add_argument("--ttft", type=float, metavar="S", help="TTFT limit, seconds")
    p.add_argument("--tpot", type=float, metavar="S", help="TPOT limit, seconds")
    p.add_argument("--tp", default="1,2,4,8", metavar="N[,N...]", help="tensor-parallel degrees (default 1,2,4,8)")
    p.add_argument("--pp", default="1", metavar="N[,N...]",
                   help="pipeline stages of --tp devices each (default 1; e.g. 1,2,4)")
    p.add_argument("--ep", metavar="N[,N...]",
                   help="expert-parallel degrees of a MoE model, each with tp 1 (default: 1 for a dense model; "
                        "for a MoE model those of 1,2,4,8 that divide its expert count)")
    p.add_argument("--weights", default=",".join(WEIGHT_FORMATS), metavar="F[,F...]",
                   help=f"weight formats ({', '.join(WEIGHT_FORMATS)})")
    p.add_argument("--kv", default=",".join(KV_FORMATS), metavar="F[,F...]",
                   help=f"KV-cache formats ({', '.join(KV_FORMATS)})")
    p.add_argument("--flash-attention", action=argparse.BooleanOptionalAction, default=True)
    _shared(p)
    p.add_argument("--front", type=int, default=12, help="Pareto points the table shows (default 12; json: all)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    return p


def _names(option: str, text: str) -> list:
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise CalculatorError(f"{option} needs a comma-separated list, got {text[:60]!r}")
    return items


def run_search(argv) -> str:
    from calculator.search import search
    from calculator.spec import Settings

    args = _search_parser().parse_args(argv)
    if args.model and args.config:
        raise CalculatorError("give --model or --config, not both")
    if not (args.model or args.config):
        raise CalculatorError("--model ID or --config PATH is required")
    if not args.hardware:
        raise CalculatorError("--hardware ID[,ID...] is required")
    tps = []
    for item in _names("--tp", args.tp):
        if not item.isdigit() or not 1 <= int(item) <= 65536:
            raise CalculatorError(f"--tp takes integers from 1 to 65536, got {item[:20]!r}")
        tps.append(int(item))
    pps = []
    for item in _names("--pp", args.pp):
        if not item.isdigit() or not 1 <= int(item) <= 1024:
            raise CalculatorError(f"--pp takes integers from 1 to 1024, got {item[:20]!r}")
        pps.append(int(item))
    eps = None
    if args.ep is not None:
        eps = []
        for item in _names("--ep", args.ep):
            if not item.isdigit() or not 1 <= int(item) <= 65536:
                raise CalculatorError(f"--ep takes integers from 1 to 65536, got {item[:20]!r}")
            eps.append(int(item))
    _finite("--ttft", args.ttft)
    _finite("--tpot", args.tpot)
    _ints("--block-size", args.block_size, 1_000_000)
    _ints("--max-seq-len", args.max_seq_len, 100_000_000)
    _finite("--memory-fraction", args.memory_fraction, 0.0, 1.0)
    _ints("--front", args.front, 10_000)
    settings = Settings(seq_len=args.seq_len, gen_len=args.gen_len, flash_attention=args.flash_attention)
    from kb.catalogue import load_hardware

    if args.config:
        from calculator.cli import _read_config

        model = _read_config(args.config)
    else:
        from kb.catalogue import load_model

        model = load_model(args.model, args.catalogue)
    devices = [load_hardware(hw_id, args.catalogue) for hw_id in _names("--hardware", args.hardware)]
    out = search(model, devices, settings, ttft_limit=args.ttft, tpot_limit=args.tpot, tps=tps, pps=pps, eps=eps,
                 weight_formats=_names("--weights", args.weights), kv_formats=_names("--kv", args.kv),
                 **_capacity_options(args))
    _finite_result({k: v for k, v in out.items() if k not in ("seconds", "configurations_per_s")})
    if args.format == "json":
        import json

        return json.dumps(out, indent=2) + "\n"
    return search_table(out, args.front)


def _par(p: dict) -> str:
    return (f"x{p['tp']}" + (f" pp{p['pp']}" if p.get("pp", 1) > 1 else "")
            + (f" ep{p['ep']}" if p.get("ep", 1) > 1 else ""))


def _config(p: dict) -> str:
    return (f"{p['hardware']} {_par(p)} {p['weights']} {p['kv']} batch {p['batch']}: TTFT {_t(p['ttft_s'])}, "
            f"TPOT {_t(p['tpot_s'])}, {p['tokens_per_s_per_device']:.1f} tok/s/device, "
            f"{p['tokens_per_s_per_user']:.1f} tok/s/user")


def search_table(out: dict, shown: int = 12) -> str:
    req, lim = out["request"], out["limits"]
    limits = ", ".join(f"{k.split('_')[0].upper()} <= {_t(v)}" for k, v in lim.items() if v is not None) or "none"
    lines = [f"{out['model']}: requests of {req['prompt_len']} prompt + {req['gen_len']} output tokens; "
             f"limits: {limits}",
             f"{out['evaluated']} configurations in {out['seconds']:.3f} s", ""]
    best = out["best"]
    lines.append("cheapest meeting the limits: " + (_config(best) if best else "none"))
    for hw_id, p in out["best_per_hardware"].items():
        lines.append(f"  best on {hw_id}: {_config(p)}")
    front = out["front"]
    if len(front) > shown:
        idx = sorted({round(i * (len(front) - 1) / (shown - 1)) for i in range(shown)}) if shown > 1 else [0]
        front = [front[i] for i in idx]
    lines += ["", f"Pareto front (tokens/s per user against per device; {len(out['front'])} points, "
                  f"{len(front)} shown)",
              f"  {'tok/s/user':>11} {'tok/s/device':>13}  configuration"]
    for p in front:
        mark = "" if p["meets_limits"] else "  (misses the limits)"
        lines.append(f"  {p['tokens_per_s_per_user']:>11.1f} {p['tokens_per_s_per_device']:>13.1f}  "
                     f"{p['hardware']} {_par(p)} {p['weights']} {p['kv']} batch {p['batch']}{mark}")
    if out["skipped"]:
        first = out["skipped"][0]
        lines.append(f"\n{len(out['skipped'])} groups skipped, e.g. {first['hardware']} {_par(first)} "
                     f"{first['weights']} {first['kv']}: {first['reason']}")
    return "\n".join(lines) + "\n"
