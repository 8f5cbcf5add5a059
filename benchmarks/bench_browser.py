"""Recompute time of the live calculator in a real browser (Playwright driving Debian's Chromium).

Used by benchmarks/run.py on a built site, served from 127.0.0.1. The measure is the one of
tests/site/test_browser.py::test_recompute_time_for_the_largest_model: the page's own `kbcRecompute()`
(maths and DOM update of both configurations A and B, timed with performance.now() inside the page),
20 warm-up calls, then 100 timed calls; median and p90 of those. Each case is loaded afresh several
times and the median of the per-load medians is reported.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import statistics
import threading
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

RECOMPUTE_JS = """() => {
    const root = document.getElementById('kb-calculator');
    for (let i = 0; i < 20; i++) root.kbcRecompute();
    const runs = [];
    for (let i = 0; i < 100; i++) runs.push(root.kbcRecompute());
    runs.sort((x, y) => x - y);
    return {median: runs[50], p90: runs[90], max: runs[99]};
}"""

_MATHS = """async ([model, hardware, tp]) => {
    const R = await import('../assets/js/roofline.js');
    const cat = await (await fetch('../data/catalogue.json')).json();
    const m = R.modelFromCatalogue(cat.models[model]);
    const hw = R.hardwareFromCatalogue(cat.hardware[hardware]);
    const s = R.makeSettings({tp});
    for (let i = 0; i < 200; i++) R.analyze(m, hw, s);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) R.analyze(m, hw, s);
    return (performance.now() - t0) / 1000;
}"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def missing_browser() -> str | None:
    """Why the browser benchmarks cannot run here (no Chromium, no Playwright), or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@contextlib.contextmanager
def offline_page(site: Path, info: dict):
    """(page, base address) of a Chromium page over the built `site`, served on a free port with every other host
    refused; `info` gets the browser's version and the first page errors."""
    from playwright.sync_api import sync_playwright

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            info["chromium"] = browser.version
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.route(lambda url: not url.startswith(base), lambda route: route.abort())  # offline
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            try:
                yield page, base
            finally:
                browser.close()
                if errors:
                    info["page_errors"] = errors[:5]
    finally:
        server.shutdown()
        server.server_close()


def _cases(largest: str) -> dict[str, tuple[str, str, str, int]]:
    """name -> (query string, model, hardware, tp) of the calculator page."""
    return {
        "llama-2-7b/nvidia-a6000": ("model=llama-2-7b&hardware=nvidia-a6000", "llama-2-7b", "nvidia-a6000", 1),
        f"{largest}/nvidia-h100-sxm tp8, B at w4": (
            f"model={largest}&hardware=nvidia-h100-sxm&tp=8&b_model={largest}&b_hardware=nvidia-h100-sxm"
            f"&b_tp=8&b_w_bits=4&b_group_size=128", largest, "nvidia-h100-sxm", 8),
    }


def recompute(site: Path, largest: str, loads: int = 3) -> dict:
    """Per case: median recompute ms (A and B, maths + DOM), p90, and analyze() alone in us."""
    why = missing_browser()
    if why:
        return {"skipped": why}
    out: dict = {}
    with offline_page(site, out) as (page, base):
        for name, (query, model, hardware, tp) in _cases(largest).items():
            runs = []
            for _ in range(loads):
                page.goto(f"{base}calculator/?{query}")
                page.wait_for_selector('section[data-config="b"] [data-output="memory.total_bytes"]')
                runs.append(page.evaluate(RECOMPUTE_JS))
            maths = page.evaluate(_MATHS, [model, hardware, tp])
            out[name] = {
                "recompute_ms_median": round(statistics.median(r["median"] for r in runs), 3),
                "recompute_ms_p90": round(statistics.median(r["p90"] for r in runs), 3),
                "analyze_js_us": round(maths * 1000, 2),
                "loads": loads,
            }
    return out
