"""Site build benchmarks: the full build, the share of it spent in our hooks, and growth with KB size.

Used by benchmarks/run.py. Every build is `python -m mkdocs build` in a fresh interpreter; its wall time
and its CPU time (user + system, from the kernel's accounting of the finished child) are both kept: on a
shared machine the wall time also counts waiting for a core, the CPU time does not.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

from benchmarks.synthetic import ROOT, copy_site_sources, make_project


class BuildTimeout(Exception):
    def __init__(self, wall_s: float, cpu_s: float):
        super().__init__(f"build stopped after {wall_s:.0f} s")
        self.wall_s = wall_s
        self.cpu_s = cpu_s


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def build(project: Path, site: Path, strict: bool = True, timeout: float | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one `mkdocs build` of `project` into `site`."""
    command = [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site)]
    if strict:
        command.append("--strict")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    cpu0, start = _children_cpu(), time.perf_counter()
    try:
        res = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        # subprocess.run killed and reaped the child, so its CPU time is in RUSAGE_CHILDREN.
        raise BuildTimeout(time.perf_counter() - start, _children_cpu() - cpu0) from None
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu0
    if res.returncode:
        raise RuntimeError(f"mkdocs build of {project} failed:\n{res.stderr[-3000:]}")
    return wall, cpu


def median_build(project: Path, site: Path, runs: int, strict: bool = True) -> dict:
    walls, cpus = zip(*(build(project, site, strict) for _ in range(runs)))
    return {"runs": runs, "wall_s": round(statistics.median(walls), 3), "cpu_s": round(statistics.median(cpus), 3),
            "wall_s_all": [round(w, 3) for w in walls]}


def no_hooks_project(target: Path) -> Path:
    """The same pages without hooks: docs/ plus what `python -m kb render` writes, nav built by MkDocs.

    Not strict: the hooks also generate claims.md, references.bib and data/*.json, which hand-written
    pages link to; without them MkDocs warns about those links.
    """
    project = target / "no-hooks"
    project.mkdir()
    copy_site_sources(project)
    shutil.rmtree(project / "hooks")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    for key in ("hooks", "nav", "watch"):
        config.pop(key, None)
    config["strict"] = False
    (project / "mkdocs.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "kb", "render", "--root", str(ROOT), "--out", str(project / "docs")],
                   cwd=ROOT, check=True, capture_output=True)
    return project


def hook_work(root: Path = ROOT) -> dict[str, float]:
    """Seconds (wall, one run) of each step the hooks take in a build of the KB under `root`."""
    from kb.analysis import analyze_kb
    from kb.analysis_pages import analysis_records, analysis_section, claims_page, roofline_column
    from kb.exports import catalogue_json, methods_json, references_bib
    from kb.load import load
    from kb.render import nav_tree, render_site

    steps: dict[str, float] = {}

    def step(name, fn):
        start = time.perf_counter()
        value = fn()
        steps[name] = time.perf_counter() - start
        return value

    kb = step("load", lambda: load(root))
    analyses = step("analyze_kb", lambda: analyze_kb(kb))
    step("nav_tree", lambda: nav_tree(kb))
    step("render_site", lambda: render_site(kb, [analysis_section(analyses)], roofline_column(analyses)))
    step("claims_page", lambda: claims_page(kb, analyses))
    step("exports", lambda: (references_bib(kb), methods_json(kb, analysis_records(analyses)), catalogue_json(kb)))
    steps["total"] = sum(steps.values())
    return steps


def median_hook_work(runs: int) -> dict:
    """Median over `runs` of each step, wall and CPU of the whole (in this process, imports warm)."""
    hook_work()  # imports and first-touch caches, as a build pays them once too
    samples, cpus = [], []
    for _ in range(runs):
        cpu0 = time.process_time()
        samples.append(hook_work())
        cpus.append(time.process_time() - cpu0)
    out = {name: round(statistics.median(s[name] for s in samples), 4) for name in samples[0]}
    out["cpu_s"] = round(statistics.median(cpus), 4)
    return out


def scaling_point(target: Path, entries: int, runs: int, timeout: float | None) -> dict:
    """Build a synthetic KB of `entries` methods with the real hooks; the project is removed afterwards."""
    start = time.perf_counter()
    project = make_project(target, entries)
    made = time.perf_counter() - start
    site = target / f"site-{entries}"
    point: dict = {"entries": entries, "runs": runs, "generate_s": round(made, 2)}
    try:
        walls, cpus = [], []
        for _ in range(runs):
            wall, cpu = build(project, site, timeout=timeout)
            walls.append(wall)
            cpus.append(cpu)
        point.update(wall_s=round(statistics.median(walls), 2), cpu_s=round(statistics.median(cpus), 2))
        point["site_mb"] = round(sum(f.stat().st_size for f in site.rglob("*") if f.is_file()) / 2**20, 1)
    except BuildTimeout as stop:
        point.update(stopped_after_s=round(stop.wall_s, 1), cpu_s_at_stop=round(stop.cpu_s, 1))
    finally:
        shutil.rmtree(project, ignore_errors=True)
        shutil.rmtree(site, ignore_errors=True)
    return point


def with_feature(project: Path, feature: str) -> None:
    """Add a Material theme feature to a project's mkdocs.yml (for what-if builds)."""
    path = project / "mkdocs.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["theme"].setdefault("features", []).append(feature)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
