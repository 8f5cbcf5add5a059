"""Markdown for the computed analyses: the section on each method page and the claims summary page."""

from __future__ import annotations

from kb.analysis import SCENARIOS, TOLERANCE, VERSION, Analysis
from kb.load import KB
from kb.markup import attr, front_matter, table, text
from kb.render import METRIC_LABELS, Column, method_page_path
from kb.schema import Method


def _si(seconds: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


def _calculator_url(page: str, query: str) -> str:
    """The live calculator with `query`, relative to `page` (directory URLs: methods/x.md -> /methods/x/)."""
    return "../" * (page.count("/") + 1) + "calculator/?" + query


def calculator_link(method: Method, page: str) -> str:
    """The live calculator, prefilled with the survey scenario and this method."""
    sc = SCENARIOS[0]
    return _calculator_url(page, f"model={sc.model}&hardware={sc.hardware}&batch={sc.batch}"
                                 f"&seq_len={sc.seq_len}&method={method.id}")


def _predicted(check: dict) -> str:
    return f'{check["predicted"]:.2f}x' if check["predicted"] is not None else "—"


def _checked_in(check: dict, page: str) -> str:
    """The setting a claim was checked in, linked to the live calculator prefilled with it."""
    if not check["setting"]:
        return "—"
    href = _calculator_url(page, check["calculator_query"])
    return f'{text(check["setting"])} (<a href="{attr(href)}">calculator</a>)'


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
                why = f' ({text(c["why"])})' if c["why"] else ""
                rows.append([text(METRIC_LABELS[c["metric"]]), f'{c["claimed"]:g}x', _predicted(c),
                             text(c["verdict"]) + why, _checked_in(c, page), text(c["source"])])
            out.append(table(["Claim", "Claimed", "Roofline bound", "Verdict", "Checked in", "Where"], rows))
        return "".join(out)

    return section


def roofline_column(analyses: dict[str, Analysis]) -> Column:
    """Each method's computed speedups in the survey scenario (SCENARIOS[0]), for the category tables."""
    sc = SCENARIOS[0]
    cells = {}
    for method_id, a in analyses.items():
        rows = {r["stage"]: r["speedup"] for r in a.scenarios if r["scenario"] == sc.id}
        if rows:
            cells[method_id] = f'{rows["decode"]:.2f}x decode, {rows["prefill"]:.2f}x prefill'
    return Column(f"Roofline ({sc.model}, {sc.hardware}, batch {sc.batch}, {sc.seq_len} tokens)", cells)


def claims_page(kb: KB, analyses: dict[str, Analysis]) -> str:
    out = [front_matter(title="Claims"), "# Claims against the roofline\n\n",
           "Every speedup or memory claim in the knowledge base next to what the roofline model predicts "
           f"for the same setting (calculator {VERSION}). A claim up to {TOLERANCE:.2f}x the prediction is "
           "*consistent*; one beyond it is *above the roofline bound*, which usually means the baseline ran "
           "far from its own roof (an unoptimised kernel, a framework overhead). A claim is *not checkable* "
           "when its setting names no catalogue model and device, when it measures a kernel, or when the "
           "method's effect cannot be modelled. Decode and end-to-end figures follow the context as it grows "
           "over the generated tokens ([how](roofline.md#claims-against-the-roofline)).\n\n"]
    checked, unchecked, counts = [], [], {}
    for method_id in sorted(kb.methods):
        m = kb.methods[method_id]
        name = f"[{text(m.name)}]({method_page_path(m.id)})"
        for c in analyses[method_id].claims:
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
            claim = [name, text(METRIC_LABELS[c["metric"]]), f'{c["claimed"]:g}x']
            if c["predicted"] is None:
                unchecked.append(claim + [text(c["why"] or ""), text(c["source"])])
            else:
                checked.append(claim + [_predicted(c), text(c["verdict"]), _checked_in(c, "claims.md"),
                                        text(c["source"])])
    out.append(", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + ".\n\n")
    out.append("## Checked claims\n\n")
    out.append(table(["Method", "Claim", "Claimed", "Roofline bound", "Verdict", "Checked in", "Where"], checked)
               if checked else "None yet.\n")
    out.append("\n## Claims the roofline cannot check\n\n")
    out.append(table(["Method", "Claim", "Claimed", "Why not", "Where"], unchecked) if unchecked else "None.\n")
    return "".join(out)


def analysis_records(analyses: dict[str, Analysis]) -> dict[str, dict]:
    """Per-method extras for data/methods.json."""
    return {k: {"scenarios": a.scenarios, "analysis_note": a.reason, "claim_checks": a.claims,
                "calculator_version": VERSION} for k, a in analyses.items()}
