"""`make bench`: how fast the calculator, the KB build and the live calculator are, against their budgets.

    .venv/bin/python benchmarks/run.py [--quick]

Writes bench-report.json in the repository root and prints a table: each figure, its budget, and whether
it is met. Figures are medians of several runs (the 5,000-entry build: one run). Measured:
1. one full analysis of Llama-2-7b on an A6000 (benchmarks/bench_calculator.py);
2. a sweep of batch 1..256 x context 128..32768 (powers of two) on the same pair;
3. cold start of `python -m calculator --model llama-2-7b --hardware nvidia-a6000`, next to `python -c pass`;
4. the full strict site build, and the share of it spent in our hooks: timed directly (the steps the hooks
   run: load, analyze_kb, render_site, ...) and by difference with a build of the same pages written by
   `python -m kb render` without hooks;
5. builds of synthetic KBs of 1,000 and 5,000 entries (benchmarks/synthetic.py) with the real hooks;
6. the live calculator's recompute time in Chromium (benchmarks/bench_browser.py);
7. the preview loop of `make serve`: a rebuild after a save, valid or not (benchmarks/bench_preview.py);
8. page weights, gzipped, of the site just built (benchmarks/bench_weight.py): a method page's HTML+CSS+JS and
   the search index against their budgets, the calculator's and explorer's with their data.
Where the scaling budget is missed, the build of the real KB is profiled (cProfile) and a what-if build
with Material's `navigation.prune` is timed, to name the cause. `--quick` runs each thing once and skips
the 5,000-entry build.
"""

from __future__ import annotations

import json
import math
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import bench_browser, bench_preview, bench_site, bench_weight  # noqa: E402
from benchmarks.synthetic import make_project  # noqa: E402

BUDGETS = {
    "analysis_us": 30.0,
    "cli_cold_start_s": 0.3,
    "hooks_share": 0.30,
    "build_5000_s": 180.0,
    "recompute_ms": 5.0,
    "preview_rebuild_s": 10.0,
}
LINEAR_EXPONENT = 1.15  # time ~ entries^k; k above this is not linear growth
SIZES = (1000, 5000)


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "loadavg_start": [round(x, 2) for x in os.getloadavg()]}


def profile_build(target: Path) -> dict:
    """cProfile one strict build of the real site; cumulative seconds of the parts that matter."""
    prof = target / "build.prof"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "mkdocs", "build", "--strict",
                    "--site-dir", str(target / "site-profiled")], cwd=ROOT, env=env, check=True, capture_output=True)
    stats = pstats.Stats(str(prof)).stats  # (file, line, name) -> (cc, nc, tottime, cumtime, callers)

    def cum(file_end: str, name: str) -> float:
        return sum(v[3] for (f, _, n), v in stats.items() if f.endswith(file_end) and n == name)

    parts = {
        "total": cum("mkdocs/commands/build.py", "build"),
        "material_nav_template": cum("material/templates/base.html", "block_site_nav"),
        "markdown_to_html": cum("mkdocs/structure/pages.py", "render"),
        "search_index": cum("material/plugins/search/plugin.py", "on_page_context"),
        "hooks_on_config": cum("hooks/kb_pages.py", "on_config"),
        "hooks_on_files": cum("hooks/kb_pages.py", "on_files"),
        "write_files": cum("mkdocs/utils/__init__.py", "write_file"),
    }
    total = parts["total"] or 1.0
    return {name: {"s": round(s, 2), "share": round(s / total, 3)} for name, s in parts.items()}


def main() -> int:
    quick = "--quick" in sys.argv
    runs = 1 if quick else 3
    started = time.perf_counter()
    report: dict = {"machine": machine(), "budgets": BUDGETS, "quick": quick}

    # 1-3: the calculator (a fresh interpreter, so its imports and caches are its own)
    calc_cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_calculator.py")] + (["--quick"] if quick else [])
    calc = json.loads(subprocess.run(calc_cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    report["calculator"] = calc

    # 4: the full build and the hooks' share
    from kb.load import load

    kb = load(ROOT)
    n_real = len(kb.methods)
    hooks = bench_site.median_hook_work(runs)
    report["kb_methods"] = n_real
    report["hook_steps_s"] = hooks
    with tempfile.TemporaryDirectory(prefix="kb-bench-") as tmp:
        tmp = Path(tmp)
        full = bench_site.median_build(ROOT, tmp / "site", runs)
        bare_project = bench_site.no_hooks_project(tmp)
        bare = bench_site.median_build(bare_project, tmp / "site-no-hooks", runs, strict=False)
        report["site_build"] = full
        report["page_weight"] = bench_weight.measure(tmp / "site")  # 8: what a reader downloads (gzipped)
        report["site_build_no_hooks"] = bare
        report["hooks_share"] = {
            "direct_wall": round(hooks["total"] / full["wall_s"], 3),
            "direct_cpu": round(hooks["cpu_s"] / full["cpu_s"], 3),
            "by_difference_cpu": round((full["cpu_s"] - bare["cpu_s"]) / full["cpu_s"], 3),
        }

        # 7: the preview loop: a save under `make serve` (mkdocs serve --dirty)
        report["preview"] = bench_preview.measure(n_real)

        # 6: the live calculator, on the site just built
        from kb.catalogue import load_model

        largest = max(kb.models, key=lambda m: load_model(m).parameters)
        report["browser"] = bench_browser.recompute(tmp / "site", largest, loads=runs)
        report["serving_ui"] = __import__("benchmarks.bench_serving_ui", fromlist=["recompute"]).recompute(tmp / "site", largest, loads=runs)  # 15.9

        # 5: growth with the number of entries
        points = [{"entries": n_real, "runs": runs, "wall_s": round(full["wall_s"], 2),
                   "cpu_s": round(full["cpu_s"], 2), "real": True}]
        for n in SIZES[:1] if quick else SIZES:
            timeout = BUDGETS["build_5000_s"] * 1.1 if n >= 5000 else None
            points.append(bench_site.scaling_point(tmp, n, 1 if n >= 5000 else runs, timeout))
        for p in points:
            if "cpu_s" in p:
                p["cpu_ms_per_entry"] = round(p["cpu_s"] / p["entries"] * 1000, 1)
                p["wall_ms_per_entry"] = round(p["wall_s"] / p["entries"] * 1000, 1)
        report["scaling"] = points
        done = [p for p in points if "cpu_s" in p]
        exponent = (math.log(done[-1]["cpu_s"] / done[-2]["cpu_s"]) / math.log(done[-1]["entries"] / done[-2]["entries"])
                    if len(done) >= 2 else None)
        report["scaling_exponent_cpu"] = round(exponent, 2) if exponent else None
        report["scaling_exponent_between"] = [p["entries"] for p in done[-2:]] if exponent else None
        big = next((p for p in points if p["entries"] == 5000), None)
        scaling_ok = (big is not None and "wall_s" in big and big["wall_s"] < BUDGETS["build_5000_s"]
                      and exponent is not None and exponent <= LINEAR_EXPONENT)
        if not quick and not scaling_ok:
            report["diagnosis"] = {"profile_real_build": profile_build(tmp)}
            what_if = []
            for n in (n_real, 1000):
                project = make_project(tmp / "what-if", n)
                bench_site.with_feature(project, "navigation.prune")
                wall, cpu = bench_site.build(project, tmp / "what-if" / f"site-{n}")
                as_is = next((p for p in points if p["entries"] == n), {})
                what_if.append({"entries": n, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
                                "cpu_s_as_is": as_is.get("cpu_s")})
            k = (math.log(what_if[1]["cpu_s"] / what_if[0]["cpu_s"]) / math.log(1000 / n_real)
                 if n_real < 1000 else float("nan"))
            report["diagnosis"]["what_if_navigation_prune"] = {"builds": what_if, "exponent_cpu": round(k, 2)}

    report["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["bench_wall_s"] = round(time.perf_counter() - started, 1)
    (ROOT / "bench-report.json").write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    return 0


def _verdict(ok: bool | None) -> str:
    return "" if ok is None else ("ok" if ok else "MISSED")


def print_table(r: dict) -> None:
    calc, m = r["calculator"], r["machine"]
    rows: list[tuple[str, str, str, str]] = [
        ("analysis of Llama-2-7b/A6000, prefill+decode (us, median)",
         f"{calc['analyze_all_us_median']} (best {calc['analyze_all_us']})",
         "< 30", _verdict(calc["analyze_all_us_median"] < BUDGETS["analysis_us"])),
        (f"sweep batch 1..256 x context 128..32k, {calc['sweep_points']} analyses (ms)",
         f"{calc['sweep_total_ms_median']}", "", ""),
        ("  per analysis in the sweep (us)", f"{calc['sweep_per_analysis_us_median']}", "< 30",
         _verdict(calc["sweep_per_analysis_us_median"] < BUDGETS["analysis_us"])),
        ("python -m calculator cold start (s, median)", f"{calc['cli_cold_start_s_median']}", "< 0.3",
         _verdict(calc["cli_cold_start_s_median"] < BUDGETS["cli_cold_start_s"])),
        ("  python -c pass (s, median)", f"{calc['python_startup_s_median']}", "", ""),
        (f"full strict site build, {r['kb_methods']} entries (s wall / s CPU)",
         f"{r['site_build']['wall_s']:.2f} / {r['site_build']['cpu_s']:.2f} "
         f"({r['site_build']['cpu_s'] / r['kb_methods'] * 1000:.1f} ms CPU/entry)", "", ""),
        ("  same pages, no hooks (s wall / s CPU)",
         f"{r['site_build_no_hooks']['wall_s']:.2f} / {r['site_build_no_hooks']['cpu_s']:.2f}", "", ""),
        ("  hook steps timed directly (s)", f"{r['hook_steps_s']['total']:.3f}", "", ""),
        ("    of which load + validate the KB (s)", f"{r['hook_steps_s']['load']:.3f}", "", ""),
        ("    of which analyses of every entry (s)", f"{r['hook_steps_s']['analyze_kb']:.3f}", "", ""),
        ("    of which render_site (s)", f"{r['hook_steps_s']['render_site']:.3f}", "", ""),
        ("  hooks' share of the build, direct (CPU)", f"{r['hooks_share']['direct_cpu']:.1%}", "< 30%",
         _verdict(r["hooks_share"]["direct_cpu"] < BUDGETS["hooks_share"])),
        ("  build with hooks minus build without, share (CPU)", f"{r['hooks_share']['by_difference_cpu']:.1%}",
         "", "(hooks + MkDocs work on the content they add)"),
    ]
    pw, pb = r["page_weight"], bench_weight.BUDGETS_KB
    rows += [
        ("method page HTML+CSS+JS, gzipped (KB)", f"{pw['method_page']['total_kb']}",
         f"<= {pb['method_page_kb']:g}", _verdict(pw["method_page"]["total_kb"] <= pb["method_page_kb"])),
        ("search index, gzipped (KB)", f"{pw['search_index_kb']}", f"<= {pb['search_index_kb']:g}",
         _verdict(pw["search_index_kb"] is not None and pw["search_index_kb"] <= pb["search_index_kb"])),
        ("  calculator page + its data, gzipped (KB)",
         f"{pw['calculator']['total_kb']} + {pw['calculator']['data_kb']}", "", ""),
        ("  explorer page + its data, gzipped (KB)", f"{pw['explorer']['total_kb']} + {pw['explorer']['data_kb']}", "", ""),
        ("  data/methods.json, on demand only, gzipped (KB)", f"{pw['methods_json_kb']}", "", ""),
    ]
    pv = r["preview"]
    rows += [
        ("make serve: first build (s)", f"{pv['preview_full_build_s']:.1f}", "", ""),
        ("  rebuild after saving one entry (s)", f"{pv['preview_edit_rebuild_s']:.1f}",
         f"< {BUDGETS['preview_rebuild_s']:g}", _verdict(pv["preview_edit_rebuild_s"] < BUDGETS["preview_rebuild_s"])),
        ("  rebuild after an invalid save, report shown in the page (s)", f"{pv['preview_invalid_rebuild_s']:.1f}",
         f"< {BUDGETS['preview_rebuild_s']:g}",
         _verdict(pv["preview_report_in_page"] and pv["preview_invalid_rebuild_s"] < BUDGETS["preview_rebuild_s"])),
    ]
    for p in r["scaling"]:
        if p.get("real"):
            continue
        if "wall_s" in p:
            value = f"{p['wall_s']:.1f} / {p['cpu_s']:.1f} ({p['cpu_ms_per_entry']} ms CPU/entry)"
        else:
            value = f"> {p['stopped_after_s']:.0f} (stopped)"
        budget, ok = ("< 180", None) if p["entries"] >= 5000 else ("", None)
        if p["entries"] >= 5000:
            ok = "wall_s" in p and p["wall_s"] < BUDGETS["build_5000_s"]
        rows.append((f"build, {p['entries']} synthetic entries (s wall / s CPU)", value, budget, _verdict(ok)))
    k = r.get("scaling_exponent_cpu")
    if k is not None:
        a, b = r["scaling_exponent_between"]
        rows.append((f"  growth exponent k (CPU ~ entries^k, {a} to {b} entries)", f"{k}", f"<= {LINEAR_EXPONENT}",
                     _verdict(k <= LINEAR_EXPONENT)))
    browser = r["browser"]
    if "skipped" in browser:
        rows.append(("live calculator recompute (ms)", "skipped: " + browser["skipped"], "< 5", ""))
    else:
        for name, b in browser.items():
            if isinstance(b, dict):
                rows.append((f"recompute A+B in Chromium, {name} (ms)",
                             f"{b['recompute_ms_median']} (p90 {b['recompute_ms_p90']})", "< 5",
                             _verdict(b["recompute_ms_median"] < BUDGETS["recompute_ms"])))
    width = max(len(row[0]) for row in rows)
    vwidth = max(len(row[1]) for row in rows)
    print(f"{m['nproc']} cpus ({m['cpu']}), Python {m['python']}, load average {m['loadavg_start'][0]} at start")
    for name, value, budget, verdict in rows:
        print(f"{name:<{width}}  {value:>{vwidth}}  {budget:<7} {verdict}")
    parts = calc.get("analyze_all_breakdown_us")
    if parts and calc["analyze_all_us_median"] >= BUDGETS["analysis_us"]:
        print("analysis, best per step (us): " + ", ".join(f"{k} {v}" for k, v in parts.items()))
    diag = r.get("diagnosis")
    if diag:
        prof = diag["profile_real_build"]
        print(f"profile of the real build ({prof['total']['s']} s under cProfile): "
              + ", ".join(f"{k} {v['share']:.0%}" for k, v in prof.items() if k != "total"))
        w = diag["what_if_navigation_prune"]
        print("what-if with Material's navigation.prune: " + ", ".join(
            f"{b['entries']} entries {b['cpu_s']} s CPU (as is {b['cpu_s_as_is']} s)" for b in w["builds"])
            + f"; growth exponent {w['exponent_cpu']}")
    print(f"report: bench-report.json ({r['bench_wall_s']:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())
