"""Speed of the SLA search (issue 15.6); prints one JSON object on stdout.

    .venv/bin/python benchmarks/bench_search.py [--quick]

Figures (budget from issue 15: at least 10,000 configurations a second in-process; measured, not asserted):
- search_configurations_per_s: `calculator.search.search` of Llama-2-7b and Llama-2-70b (prompt 2048,
  128 out) over H100 SXM, A100 80GB and L40S x tp 1, 2, 4, 8 x four weight formats x two KV formats x
  every batch to the capacity limit: configurations evaluated over wall time, including building each
  group's step model; best and median of several runs.
- search_moe_configurations_per_s: the same for the MoE models Mixtral-8x7B and Qwen3-30B-A3B, whose default
  search adds expert parallelism (ep 2, 4, 8 with tp 1: each ep group adds a few `analyze` calls to the tp-1
  step model it starts from).
- step_model_build_us: one `serving.StepModel` (the analyses that fit one group's coefficients).
The catalogue is kb/ (the devices and models above must exist there).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import timeit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from calculator import Settings  # noqa: E402
from calculator.search import search  # noqa: E402
from calculator.serving import StepModel  # noqa: E402
from kb.catalogue import load_hardware, load_model  # noqa: E402

BUDGET_CONFIGS_PER_S = 10_000
DEVICES = ("nvidia-h100-sxm", "nvidia-a100-80gb", "nvidia-l40s")
MODELS = ("llama-2-7b", "llama-2-70b")
MOE_MODELS = ("mixtral-8x7b", "qwen3-30b-a3b")


def main() -> None:
    quick = "--quick" in sys.argv
    repeat = 2 if quick else 5
    devices = [load_hardware(d) for d in DEVICES]
    settings = Settings(seq_len=2048, gen_len=128)

    def measure(model_ids):
        models = [load_model(model_id) for model_id in model_ids]
        rates, counts = [], 0
        for _ in range(repeat):
            evaluated, start = 0, time.perf_counter()
            for model in models:
                out = search(model, devices, settings, ttft_limit=2.0, tpot_limit=0.05)
                evaluated += out["evaluated"]
            rates.append(evaluated / (time.perf_counter() - start))
            counts = evaluated
        return rates, counts

    rates, counts = measure(MODELS)
    moe_rates, moe_counts = measure(MOE_MODELS)
    m, h = load_model("llama-2-7b"), devices[0]
    build = min(timeit.repeat(lambda: StepModel(m, h, settings), number=50, repeat=3)) / 50 * 1e6
    print(json.dumps({
        "search_configurations": counts,
        "search_configurations_per_s_best": round(max(rates)),
        "search_configurations_per_s_median": round(statistics.median(rates)),
        "search_budget_configurations_per_s": BUDGET_CONFIGS_PER_S,
        "search_within_budget": max(rates) >= BUDGET_CONFIGS_PER_S,
        "search_moe_configurations": moe_counts,
        "search_moe_configurations_per_s_best": round(max(moe_rates)),
        "search_moe_configurations_per_s_median": round(statistics.median(moe_rates)),
        "search_moe_within_budget": max(moe_rates) >= BUDGET_CONFIGS_PER_S,
        "step_model_build_us": round(build, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
