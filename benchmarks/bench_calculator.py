"""Speed of the roofline calculator; prints one JSON object on stdout.

    .venv/bin/python benchmarks/bench_calculator.py [--quick]

Figures (budgets from issue 3, measured, not asserted):
- analyze_*_us: one in-process `calculator.analyze` of Llama-2-7b on an A6000 (seq-len 2048), per
  call, best of several repeats (the least disturbed by other processes) and the median.
  `analyze_all_us` (prefill + decode, every layer, memory and the generate summary) has a budget of
  30 us.
- sweep_*: every batch 1..256 x context 128..32768 (powers of two, 81 points, stage "all") of
  Llama-2-7b on an A6000: total time of the sweep (median of several sweeps) and time per analysis.
- cli_cold_start_s: wall time of `python -m calculator --model llama-2-7b --hardware nvidia-a6000`
  in a fresh interpreter (best and median of several runs); budget 0.3 s. python_startup_s: the same
  for `python -c pass`, the floor any command pays.
- analyze_all_deepseek_v3_us: one analysis (prefill + decode + memory + generate) of DeepSeek-V3 (read
  from tests/calculator/fixtures/hf/deepseek-v3/config.json) on the same device, tp 8; budget 100 us.
- analyze_all_jamba_1_5_mini_us: the same for Jamba 1.5 Mini (kb/models; Mamba and attention layers, dense
  and MoE MLPs), tp 8; measured, no budget.
The catalogue is kb/ when it holds both ids, else the test fixtures.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

from calculator import Hardware, Settings, __version__, analyze  # noqa: E402
from kb.catalogue import ROOT, hardware_ids, load_hardware, load_model, model_ids  # noqa: E402

BUDGET_ANALYZE_US = 30.0
BUDGET_DEEPSEEK_US = 100.0  # issue 14: DeepSeek-V3 (latent attention, 3 dense + 58 MoE layers), prefill + decode
BUDGET_COLD_START_S = 0.3
SWEEP_BATCHES = [2 ** i for i in range(9)]          # 1 .. 256
SWEEP_CONTEXTS = [2 ** i for i in range(7, 16)]     # 128 .. 32768


def _catalogue() -> str | None:
    if "llama-2-7b" in model_ids() and "nvidia-a6000" in hardware_ids():
        return None
    return os.path.join(REPO, "tests", "calculator", "fixtures")


def _per_call_us(fn, number: int, repeat: int) -> tuple[float, float]:
    runs = [t / number * 1e6 for t in timeit.repeat(fn, number=number, repeat=repeat)]
    return min(runs), statistics.median(runs)


def _breakdown(model, hardware, number: int, repeat: int) -> dict | None:
    """Where one `analyze` (stage all) spends its time, by the private steps of calculator.core.

    Diagnosis only: None when those internals have changed shape.
    """
    try:
        from calculator import core
        from calculator.result import Memory

        s = Settings(seq_len=2048)
        p = core._plan(model, hardware, s)
        pre, dec = core._stage(p, "prefill", s.seq_len, s.seq_len), core._stage(p, "decode", 1, s.seq_len)

        def memory():
            return Memory(core._weights_bytes(p), core._kv_bytes(p, s.seq_len), core._activation_bytes(p),
                          hardware.memory_bytes)

        mem = memory()
        steps = {
            "plan": lambda: core._plan(model, hardware, s),
            "prefill_stage": lambda: core._stage(p, "prefill", s.seq_len, s.seq_len),
            "decode_stage": lambda: core._stage(p, "decode", 1, s.seq_len),
            "memory": memory,
            "generate_summary": lambda: core._generate(p, pre, dec, mem),
        }
        out = {name: round(_per_call_us(fn, number, repeat)[0], 2) for name, fn in steps.items()}
        out["rows_per_stage"] = len(pre.layers)
        return out
    except (AttributeError, TypeError, ImportError):
        return None


def main() -> None:
    quick = "--quick" in sys.argv
    root = _catalogue()
    model, hardware = load_model("llama-2-7b", root), load_hardware("nvidia-a6000", root)
    number, repeat = (500, 3) if quick else (5000, 7)
    report = {
        "calculator_version": __version__,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
        "catalogue": root or ROOT,
    }
    for stage in ("all", "prefill", "decode"):
        settings = Settings(seq_len=2048, stage=stage)
        best, median = _per_call_us(lambda: analyze(model, hardware, settings), number, repeat)
        report[f"analyze_{stage}_us"] = round(best, 2)
        report[f"analyze_{stage}_us_median"] = round(median, 2)
    flash = Settings(seq_len=2048, flash_attention=True, w_bits=4, group_size=128, tp=2)
    report["analyze_all_w4_flash_tp2_us"] = round(_per_call_us(lambda: analyze(model, hardware, flash),
                                                               number, repeat)[0], 2)
    report["analyze_all_breakdown_us"] = _breakdown(model, hardware, number, repeat)
    from calculator.hf import model_from_hf_config

    with open(os.path.join(REPO, "tests", "calculator", "fixtures", "hf", "deepseek-v3", "config.json")) as handle:
        deepseek = model_from_hf_config(json.load(handle), "deepseek-v3")
    wide = Hardware(id="bench-8", memory_bandwidth=hardware.memory_bandwidth, peak_ops=dict(hardware.peak_ops),
                    interconnect_bandwidth=hardware.interconnect_bandwidth or 600e9)
    tp8 = Settings(seq_len=2048, tp=8)
    report["analyze_all_deepseek_v3_us"] = round(_per_call_us(lambda: analyze(deepseek, wide, tp8),
                                                               number, repeat)[0], 2)
    if "jamba-1.5-mini" in model_ids():  # a hybrid: Mamba + attention layers, dense + MoE MLPs (not budgeted)
        jamba = load_model("jamba-1.5-mini")
        report["analyze_all_jamba_1_5_mini_us"] = round(_per_call_us(lambda: analyze(jamba, wide, tp8), number,
                                                                     repeat)[0], 2)
    grid = [Settings(batch=b, seq_len=s) for b in SWEEP_BATCHES for s in SWEEP_CONTEXTS]

    def sweep() -> None:
        for settings in grid:
            analyze(model, hardware, settings)

    sweeps = timeit.repeat(sweep, number=1, repeat=5 if quick else 21)
    report["sweep_points"] = len(grid)
    report["sweep_total_ms_median"] = round(statistics.median(sweeps) * 1e3, 3)
    report["sweep_per_analysis_us_median"] = round(statistics.median(sweeps) / len(grid) * 1e6, 2)
    result = analyze(model, hardware, Settings())
    report["to_dict_us"] = round(_per_call_us(result.to_dict, number // 10 or 1, repeat)[0], 2)

    command = [sys.executable, "-m", "calculator", "--model", "llama-2-7b", "--hardware", "nvidia-a6000"]
    if root:
        command += ["--catalogue", root]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)  # warm the byte-code cache
    walls = []
    for _ in range(3 if quick else 9):
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    bare = []
    for _ in range(3 if quick else 9):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - start)
    report["python_startup_s"] = round(min(bare), 4)
    report["python_startup_s_median"] = round(statistics.median(bare), 4)
    report["cli_cold_start_s"] = round(min(walls), 4)
    report["cli_cold_start_s_median"] = round(statistics.median(walls), 4)
    report["budgets"] = {"analyze_all_us": BUDGET_ANALYZE_US, "cli_cold_start_s": BUDGET_COLD_START_S,
                         "analyze_all_deepseek_v3_us": BUDGET_DEEPSEEK_US}
    report["within_budget"] = {
        "analyze_all_us": report["analyze_all_us"] < BUDGET_ANALYZE_US,
        "analyze_all_deepseek_v3_us": report["analyze_all_deepseek_v3_us"] < BUDGET_DEEPSEEK_US,
        "cli_cold_start_s": report["cli_cold_start_s"] < BUDGET_COLD_START_S,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
