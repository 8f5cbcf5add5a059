"""Markdown for the computed analyses: the section on each method page and the claims summary page."""

from __future__ import annotations

from calculator import Settings
from kb.analysis import TOLERANCE, VERSION, Analysis, bound_ignores, comparison_query
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


def calculator_link(method: Method, page: str, analysis: Analysis | None = None) -> str:
    """The live calculator comparing the baseline (A) with the method (B) in the method's main scenario."""
    row = next((r for r in (analysis.scenarios if analysis else []) if r["scenario"] == analysis.primary), None)
    if row is None:  # not modelled: the survey's setting, where the page explains why
        return _calculator_url(page, comparison_query(method, "llama-2-7b", "nvidia-a6000", Settings()))
    settings = Settings(batch=row["batch"], seq_len=row["seq_len"], gen_len=row["gen_len"], tp=row["tp"])
    return _calculator_url(page, comparison_query(method, row["model"], row["hardware"], settings))


def _predicted(check: dict) -> str:
    return f'{check["predicted"]:.2f}x' if check["predicted"] is not None else "—"


def _checked_in(check: dict, page: str) -> str:
    """The setting a claim was checked in, linked to the live calculator prefilled with it."""
    if not check["setting"]:
        return "—"
    href = _calculator_url(page, check["calculator_query"])
    return f'{text(check["setting"])} (<a href="{attr(href)}">calculator</a>)'


def _scenario_words(r: dict) -> str:
    devices = f'{r["tp"]}× {r["hardware"]}' if r["tp"] > 1 else r["hardware"]
    model = r["model"] if r["model"] == r["baseline_model"] else f'{r["model"]} against {r["baseline_model"]}'
    return (f'{r["label"]}: {model}, {devices}, batch {r["batch"]}, {r["seq_len"]:,} prompt + '
            f'{r["gen_len"]:,} generated tokens')


def _time(seconds: float | None) -> str:
    return _si(seconds) if seconds is not None else "does not fit"


def fit_words(r: dict) -> str:
    """What fits, in words: the memory at the end of the request and the largest batch of this shape."""
    base, meth = r["baseline_memory_bytes"], r["method_memory_bytes"]
    if not r["baseline_fits"] and r["method_fits"]:
        head = f"baseline does not fit ({_gib(base)}); the method fits ({_gib(meth)})"
    elif not r["method_fits"]:
        head = f"the method does not fit ({_gib(meth)}; baseline {_gib(base)})"
    else:
        head = f"peak {_gib(base)} → {_gib(meth)} per device"
    b, m = r["baseline_max_batch"], r["method_max_batch"]
    if b is None or m is None:
        return head
    tokens = r["seq_len"] + r["gen_len"]
    if b == m:
        return f"{head}; up to {b} sequences of {tokens:,} tokens fit either way"
    return f"{head}; sequences of {tokens:,} tokens that fit: {b} → {m}"


def _collapsed_claims(claims: list[dict]) -> list[tuple[dict, list[dict]]]:
    """Claims with a verdict one by one; claims the roofline cannot check for the same reason, one row."""
    out: list[tuple[dict, list[dict]]] = []
    for c in claims:
        same = next((g for g in out if c["predicted"] is None and g[0]["predicted"] is None
                     and g[0]["metric"] == c["metric"] and g[0]["why"] == c["why"]), None)
        if same:
            same[1].append(c)
        else:
            out.append((c, [c]))
    return out


def analysis_section(analyses: dict[str, Analysis]):
    def section(method: Method, page: str) -> str:
        a = analyses[method.id]
        out = ["\n## Roofline analysis\n\n"]
        if a.reason and not a.scenarios:
            out.append(f"Not modelled: {text(a.reason)}.\n")
        else:
            ignores = "; ".join(bound_ignores(method.effect.model_dump(exclude_none=True)))
            out.append(f"Every time below is an **ideal bound** (calculator {VERSION}): each layer at the device's "
                       "peak compute or memory bandwidth, whichever binds, with no kernel launch, scheduling or "
                       "framework overhead; measured runs are slower. ")
            if ignores:
                out.append(f"This method's bound also ignores {text(ignores)}. ")
            out.append("Prefill is the time to first token; decode is the mean time per output token over the "
                       "request, as the context grows.\n\n")
            if a.scenarios_why:
                why = a.scenarios_why[0].upper() + a.scenarios_why[1:]
                out.append(f"Why these scenarios: {text(why)}.\n\n")
            rows = []
            for r in a.scenarios:
                bound = r["baseline_bound"] if r["baseline_bound"] == r["method_bound"] \
                    else f'{r["baseline_bound"]} → {r["method_bound"]}'
                speed = f'**{r["speedup"]:.2f}x**' if r["speedup"] is not None else "—"
                rows.append([text(_scenario_words(r)) if r["stage"] == "prefill" else "",
                             "prefill (TTFT)" if r["stage"] == "prefill" else "decode (per token)",
                             _time(r["baseline_time_s"]), _time(r["method_time_s"]), speed, bound])
            out.append(table(["Scenario", "Stage", "Baseline", "Method", "Speedup (bound)", "Bound"], rows))
            out.append("\nMemory and what fits: the peak per device over the request (the batch's prompts "
                       "prefilled together, or the cache at the last token, whichever is larger) and the "
                       "largest batch of this request shape whose peak fits:\n\n")
            for r in a.scenarios:
                if r["stage"] == "decode":
                    out.append(f'- {text(r["label"])}: {text(fit_words(r))}\n')
            changed = sorted({c for r in a.scenarios for c in r["changed_bounds"]})
            if changed:
                out.append("\nLayers that change bound: " + text("; ".join(changed)) + "\n")
            if a.plot:
                label = next(r["label"] for r in a.scenarios if r["scenario"] == a.primary)
                out.append(f"\nDecode step in the scenario *{text(label)}*: baseline layers (grey) and the "
                           "method's (green) under the device's roofline.\n\n")
                out.append('<div class="kb-roofline" markdown="0">' + a.plot + "</div>\n")
        out.append(f'\n<a class="kb-calc-link" href="{attr(calculator_link(method, page, a))}">'
                   "Open in the live calculator (A: baseline, B: this method)</a>\n")
        if a.claims:
            out.append("\n### Claims against the roofline\n\n")
            rows = []
            for c, group in _collapsed_claims(a.claims):
                why = f' ({text(c["why"])})' if c["why"] else ""
                claimed = ", ".join(f'{g["claimed"]:g}x' for g in group)
                where = "; ".join(dict.fromkeys(text(g["source"]) for g in group))
                rows.append([text(METRIC_LABELS[c["metric"]]), claimed, _predicted(c),
                             text(c["verdict"]) + why, _checked_in(c, page), where])
            out.append(table(["Claim", "Claimed", "Roofline bound", "Verdict", "Checked in", "Where"], rows))
        return "".join(out)

    return section


def roofline_column(analyses: dict[str, Analysis]) -> Column:
    """Each method's ideal-bound speedups in its family's main scenario, for the category tables."""
    cells = {}
    for method_id, a in analyses.items():
        rows = {r["stage"]: r for r in a.scenarios if r["scenario"] == a.primary}
        if rows:
            d, p = rows["decode"], rows["prefill"]
            if d["speedup"] is None:
                cells[method_id] = f'{fit_words(d)} ({d["label"].lower()})'
            else:
                cells[method_id] = (f'{d["speedup"]:.2f}x decode, {p["speedup"]:.2f}x prefill '
                                    f'({d["label"].lower()})')
    return Column("Roofline: ideal bound, main scenario", cells)


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
    return {k: {"scenarios": a.scenarios, "primary_scenario": a.primary, "analysis_note": a.reason,
                "claim_checks": a.claims,
                "calculator_version": VERSION} for k, a in analyses.items()}
