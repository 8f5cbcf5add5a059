"""`make bench`: the calculator benchmarks, the KB analysis and a full site build, as JSON and a table.

Writes bench-report.json in the repository root. Figures are medians of several runs.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    calc = json.loads(subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_calculator.py")],
                                     capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    sys.path.insert(0, str(ROOT))
    from kb.analysis import analyze_kb
    from kb.load import load

    load_s = _median_time(lambda: load(ROOT), 3)
    kb = load(ROOT)
    analysis_s = _median_time(lambda: analyze_kb(kb), 3)
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    with tempfile.TemporaryDirectory() as tmp:
        build_s = _median_time(lambda: subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", tmp], cwd=ROOT, env=env,
            capture_output=True, check=True), 3)
    report = {"calculator": calc, "kb_methods": len(kb.methods), "kb_load_s": load_s,
              "kb_analysis_s": analysis_s, "site_build_s": build_s}
    (ROOT / "bench-report.json").write_text(json.dumps(report, indent=2) + "\n")
    rows = [
        ("analyze Llama-2-7b, prefill+decode (us)", calc["analyze_all_us_median"], "< 30"),
        ("python -m calculator cold start (s)", calc["cli_cold_start_s_median"], "< 0.3"),
        ("python -c pass (s)", calc["python_startup_s"], ""),
        (f"load + validate KB, {len(kb.methods)} entries (s)", round(load_s, 3), ""),
        ("analyses of every entry, all scenarios (s)", round(analysis_s, 3), ""),
        ("full strict site build (s)", round(build_s, 2), ""),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, budget in rows:
        print(f"{name:<{width}}  {value:>10}  {budget}")
    print("report: bench-report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
