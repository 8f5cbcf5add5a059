"""The numbers that matter on a method page, in a few words each: the best claimed speedup, the
roofline's speedup and memory in the survey setting, the claims' verdicts, the accuracy cost and the
serving stacks. Shown in a box at the top of the page, where a phone shows it without scrolling.
"""

from __future__ import annotations

from collections import Counter

from kb.analysis import SERVING_METRIC_WORDS, VERDICTS
from kb.analysis_pages import fit_words
from kb.load import KB
from kb.render import METRIC_LABELS, quality_words
from kb.words import claim_setting


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def glance_items(kb: KB, analyses: dict) -> dict[str, list[tuple[str, str]]]:
    """method id -> [(label, value)] (analyses: kb.analysis.analyze_kb's result)."""
    out = {}
    for method_id, m in kb.methods.items():
        items = []
        speed = [c for c in m.claims if c.metric != "memory_reduction"]
        if speed:
            best = max(speed, key=lambda c: c.value)
            up_to = "up to " if claim_setting(best)[1] else ""
            items.append(("Claimed", f"{up_to}{best.value:g}x {METRIC_LABELS[best.metric]}"))
        memory = [c for c in m.claims if c.metric == "memory_reduction"]
        if memory:
            items.append(("Claimed memory", f"{max(c.value for c in memory):g}x less"))
        a = analyses.get(method_id)
        rows = {r["stage"]: r for r in (a.scenarios if a else []) if r["scenario"] == a.primary}
        if rows:
            d, p = rows["decode"], rows["prefill"]
            where = f"{d['label'].lower()}, ideal bound"
            if d["speedup"] is None:
                items.append((f"Roofline ({where})", fit_words(d)))
            else:
                items.append((f"Roofline ({where})", f"{d['speedup']:.2f}x decode, {p['speedup']:.2f}x prefill"))
                items.append(("Memory", f"{_gib(d['baseline_memory_bytes'])} → {_gib(d['method_memory_bytes'])}"))
        elif a is not None and a.serving:  # a serving effect: its first comparison (kb.analysis.serving_comparison)
            c = next((c for c in a.serving if not c.get("error")), None)
            if c is not None:
                gain = f'{c["gain"]:.2f}x' if c["gain"] is not None else "unbounded"
                what = SERVING_METRIC_WORDS.get(c["metric"], c["metric"])
                fit = {r[0]: r for r in c["rows"]}.get("Requests that fit (capacity)")
                fits = f"{fit[2]} vs {fit[1]} requests fit, " if fit else ""
                items.append((f"Roofline ({c['label'].lower()}, ideal bound)", f"{fits}{gain} {what}"))
        elif a is not None and a.reason:
            items.append(("Roofline", "not modelled"))
        if a is not None and a.claims:
            counts = Counter(c["verdict"] for c in a.claims)
            order = {v: i for i, v in enumerate(VERDICTS)}  # plausible first, not checkable last
            items.append(("Claims checked", ", ".join(f"{counts[v]} {v}" for v in
                                                      sorted(counts, key=lambda v: (order.get(v, len(order)), v)))))
        if m.quality:
            items.append(("Accuracy", quality_words(m)))
        if m.support:
            items.append(("Ships in", ", ".join(s.stack for s in m.support)))
        out[method_id] = items
    return out
