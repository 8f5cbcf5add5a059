"""Markdown for the computed analyses: the section on each method page and the claims summary page."""

from __future__ import annotations

from kb.analysis import SCENARIOS, TOLERANCE, VERSION, Analysis
from kb.load import KB
from kb.markup import attr, front_matter, table, text
from kb.render import METRIC_LABELS, method_page_path
from kb.schema import Method


def _si(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def calculator_link(method: Method, page: str) -> str:
    """The live calculator, prefilled with the survey scenario and this method."""
    sc = SCENARIOS[0]
    base = "../" * (page.count("/") + 1) + "calculator/"  # directory URLs: methods/x.md -> /methods/x/
    return (f"{base}?model={sc.model}&hardware={sc.hardware}&batch={sc.batch}&seq_len={sc.seq_len}"
            f"&method={method.id}")


def analysis_section(analyses: dict[str, Analysis]):
    def section(method: Method, page: str) -> str:
        a = analyses[method.id]
        out = ["\n## Roofline analysis\n\n"]
        if a.reason and not a.scenarios:
            out.append(f"Not modelled: {text(a.reason)}.\n")
        else:
            out.append("Baseline (16-bit, no method) against the method in standard scenarios, computed by "
                       f"calculator {VERSION}. Decode is the time per generated token at a context of "
                       "the sequence length.\n\n")
            rows = []
            for r in a.scenarios:
                bound = r["baseline_bound"] if r["baseline_bound"] == r["method_bound"] \
                    else f'{r["baseline_bound"]} → {r["method_bound"]}'
                rows.append([text(f'{r["label"]}: {r["model"]}, {r["hardware"]}, batch {r["batch"]}, '
                                  f'{r["seq_len"]} tokens'), r["stage"], _si(r["baseline_time_s"]),
                             _si(r["method_time_s"]), f'**{r["speedup"]:.2f}x**', bound,
                             f'{_gib(r["baseline_memory_bytes"])} → {_gib(r["method_memory_bytes"])}'])
            out.append(table(["Scenario", "Stage", "Baseline", "Method", "Speedup", "Bound", "Memory"], rows))
            changed = sorted({c for r in a.scenarios for c in r["changed_bounds"]})
            if changed:
                out.append("\nLayers that change bound: " + text("; ".join(changed)) + "\n")
            if a.plot:
                out.append("\nDecode step of the survey scenario: baseline layers (grey) and the method's "
                           "(green) under the device's roofline.\n\n")
                out.append('<div class="kb-roofline" markdown="0">' + a.plot + "</div>\n")
        out.append(f'\n<a class="kb-calc-link" href="{attr(calculator_link(method, page))}">'
                   "Open in the live calculator</a>\n")
        if a.claims:
            out.append("\n### Claims against the roofline\n\n")
            rows = []
            for c in a.claims:
                pred = f'{c["predicted"]:.2f}x' if c["predicted"] is not None else "—"
                why = f' ({text(c["why"])})' if c["why"] else ""
                rows.append([text(METRIC_LABELS[c["metric"]]), f'{c["claimed"]:g}x', pred,
                             text(c["verdict"]) + why, text(c["source"])])
            out.append(table(["Claim", "Claimed", "Roofline bound", "Verdict", "Where"], rows))
        return "".join(out)

    return section


def claims_page(kb: KB, analyses: dict[str, Analysis]) -> str:
    out = [front_matter(title="Claims"), "# Claims against the roofline\n\n",
           "Every speedup or memory claim in the knowledge base next to what the roofline model predicts "
           f"for the same setting (calculator {VERSION}). A claim up to {TOLERANCE:.2f}x the prediction is "
           "*consistent*; one beyond it is *above the roofline bound*, which usually means the baseline ran "
           "far from its own roof (an unoptimised kernel, a framework overhead). A claim is *not checkable* "
           "when its setting names no catalogue model and device, when it measures a kernel, or when the "
           "method's effect cannot be modelled.\n\n"]
    rows, counts = [], {}
    for method_id in sorted(kb.methods):
        m = kb.methods[method_id]
        for c in analyses[method_id].claims:
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
            pred = f'{c["predicted"]:.2f}x' if c["predicted"] is not None else "—"
            rows.append([f"[{text(m.name)}]({method_page_path(m.id)})", text(METRIC_LABELS[c["metric"]]),
                         f'{c["claimed"]:g}x', pred, text(c["verdict"]), text(c["source"])])
    out.append(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".\n\n")
    out.append(table(["Method", "Claim", "Claimed", "Roofline bound", "Verdict", "Where"], rows))
    return "".join(out)


def analysis_records(analyses: dict[str, Analysis]) -> dict[str, dict]:
    """Per-method extras for data/methods.json."""
    return {k: {"scenarios": a.scenarios, "analysis_note": a.reason, "claim_checks": a.claims,
                "calculator_version": VERSION} for k, a in analyses.items()}
