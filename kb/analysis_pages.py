"""Markdown for the computed analyses: the section on each method page and the claims summary page."""

from __future__ import annotations

from calculator import Settings
from calculator.effects import serving_options
from kb.analysis import (SERVING_METRIC_WORDS, TOLERANCE, VERDICTS, VERSION, Analysis, bound_ignores,
                         comparison_query)
from kb.load import KB
from kb.markup import attr, front_matter, table, text
from kb.render import METRIC_LABELS, Column, method_page_path
from kb.schema import BY_NATURE, Method


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


def _expected_cell(check: dict) -> str:
    return f'{check["expected"]:.2f}x' if check.get("expected") is not None else "—"


def _checked_in(check: dict, page: str) -> str:
    """The setting a claim was checked in, linked to the live calculator prefilled with it."""
    if not check["setting"]:
        return "—"
    if not check["calculator_query"]:
        return text(check["setting"])
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


def _plot_figure(plot: str, label: str) -> str:
    """The decode-step plot with its caption: the scenario, how to read it, and what it shows (the
    plot's own <desc>, already escaped)."""
    import re

    desc = re.search(r"<desc>(.*?)</desc>", plot, flags=re.S)
    return (f'\n<figure class="kb-roofline" markdown="0">{plot}<figcaption>Decode step in the scenario '
            f"<em>{text(label)}</em>: the baseline's layers (grey rings) and the method's (green), under the "
            "device's roofline; tap or hover a point for its name. "
            f'{desc.group(1) if desc else ""}</figcaption></figure>\n')


def analysis_section(analyses: dict[str, Analysis]):
    def section(method: Method, page: str) -> str:
        a = analyses[method.id]
        out = ["\n## Roofline analysis\n\n"]
        if a.serving:
            out.append(serving_section(method, a))
        elif a.reason and not a.scenarios:
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
            with_expected = any(r.get("expected_speedup") is not None for r in a.scenarios)
            for r in a.scenarios:
                bound = r["baseline_bound"] if r["baseline_bound"] == r["method_bound"] \
                    else f'{r["baseline_bound"]} → {r["method_bound"]}'
                speed = f'**{r["speedup"]:.2f}x**' if r["speedup"] is not None else "—"
                expected = f'{r["expected_speedup"]:.2f}x' if r.get("expected_speedup") is not None else "—"
                rows.append([text(_scenario_words(r)) if r["stage"] == "prefill" else "",
                             "prefill (TTFT)" if r["stage"] == "prefill" else "decode (per token)",
                             _time(r["baseline_time_s"]), _time(r["method_time_s"]), speed]
                            + ([expected] if with_expected else []) + [bound])
            # Cards on a phone (kb.css): the speedup stays in view without scrolling sideways.
            out.append('<div class="kb-cards" markdown>\n\n'
                       + table(["Scenario", "Stage", "Baseline", "Method", "Speedup (bound)"]
                               + (["Expected speedup"] if with_expected else []) + ["Bound"], rows) + "\n</div>\n")
            if with_expected:
                out.append("\n*Expected speedup*: the same two runs at the calibrated efficiencies of measured runs "
                           "([accuracy](../accuracy.md)).\n")
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
                out.append(_plot_figure(a.plot, label))
        if not a.serving:  # a serving method has no single-run comparison; its section gives the CLI line
            out.append(f'\n<a class="kb-calc-link" href="{attr(calculator_link(method, page, a))}">'
                       "Open in the live calculator (A: baseline, B: this method)</a>\n")
        if a.claims:
            out.append("\n### Claims against the roofline\n\n")
            rows = []
            for c, group in _collapsed_claims(a.claims):
                why = f' ({text(c["why"])})' if c["why"] else ""
                claimed = ", ".join(f'{g["claimed"]:g}x' for g in group)
                where = "; ".join(dict.fromkeys(text(g["source"]) for g in group))
                verdict = f'**{text(c["verdict"])}**' if c["predicted"] is not None else text(c["verdict"])
                if c.get("scenario"):
                    verdict += f', at an assumed setting: {text(c["scenario"])}'
                if c.get("explanation"):
                    why = _why(c["explanation"])
                if c.get("baseline_share"):  # a judged claim has a row of its own (_collapsed_claims)
                    why = f"<br><small>{_share_words(c['baseline_share'])}</small>" + why
                # where in the paper goes under the claim: six columns leave the verdict room to read
                rows.append([f'{text(METRIC_LABELS[c["metric"]])}<br><small>{where}</small>', claimed,
                             _expected_cell(c), _predicted(c), verdict + why, _checked_in(c, page)])
            out.append('<div class="kb-cards" markdown>\n\n'  # cards on a phone, like the scenario table
                       + table(["Claim (where)", "Claimed", "Expected", "Roofline bound", "Verdict", "Checked in"],
                               rows) + "\n</div>\n")
            out.append("\n*Expected*: the same setting at the calibrated efficiencies of measured runs "
                       "([accuracy](../accuracy.md)); *roofline bound*: the ideal ratio with every layer at the "
                       f"device's peak. {VERDICT_WORDS}\n")
        return "".join(out)

    return section


def roofline_summary(analyses: dict[str, Analysis]) -> dict[str, dict]:
    """Each method's ideal-bound decode and prefill speedups in its main scenario, for the explorer's
    index (data/methods-index.json): method id -> {decode, prefill, scenario}; methods not modelled or
    not fitting are left out."""
    out = {}
    for method_id, a in analyses.items():
        rows = {r["stage"]: r for r in a.scenarios if r["scenario"] == a.primary}
        if rows and rows["decode"]["speedup"] is not None:
            out[method_id] = {"decode": round(rows["decode"]["speedup"], 4),
                              "prefill": round(rows["prefill"]["speedup"], 4), "scenario": rows["decode"]["label"]}
    return out


def serving_section(method: Method, a: Analysis) -> str:
    """A serving effect's comparison (kb.analysis.serving_comparison): baseline and method side by side per
    scenario, from calculator.serving.compare (--stage serve), not a single run."""
    out = [f"A serving method: it changes what a loaded server holds or schedules, not one forward pass, so it is "
           f"compared as two servers of the same request shape (calculator {VERSION}, `--stage serve`). Every "
           "throughput is an **ideal bound**: each iteration at the device's peak compute or memory bandwidth, "
           "whichever binds, with no queueing, scheduling or framework overhead.\n\n"]
    ignores = "; ".join(bound_ignores(method.effect.model_dump(exclude_none=True)))
    if ignores:
        out.append(f"This method's bound also ignores {text(ignores)}.\n\n")
    if method.effect.basis:
        out.append(f"Parameters: {text(method.effect.basis)}.\n\n")
    for c in a.serving:
        head = f'{c["label"]}'
        if c.get("error"):
            out.append(f"- {text(head)}: the calculator cannot compare it here: {text(c['error'])}\n")
            continue
        devices = f'{c["tp"]}× {c["hardware"]}' if c["tp"] > 1 else c["hardware"]
        gain = f'**{c["gain"]:.2f}x**' if c["gain"] is not None else (
            "unbounded (the baseline meets the limits at no rate)" if c["method"] else "— (neither side meets the limits)")
        out.append(f"**{text(head)}** ({text(c['model'])} on {text(devices)}, prompt {c['seq_len']}, "
                   f"{c['gen_len']} out){text(c['words'])}: gain {gain}\n\n")
        out.append('<div class="kb-cards" markdown>\n\n'
                   + table(["Serving figure", "Baseline", "Method"],
                           [[text(str(r[0])), text(str(r[1])), text(str(r[2]))] for r in c["rows"]]) + "\n</div>\n\n")
    first = next((c for c in a.serving if not c.get("error")), None)
    if first:
        effect = method.effect.model_dump(exclude_none=True)
        tp = f" --tp {first['tp']}" if first["tp"] > 1 else ""
        if effect.get("scheduling") or effect.get("offload"):  # compared two engines: no --stage serve flags
            fx = {k: v for k, v in effect.items() if k not in ("basis", "ignores")}
            out.append("Redo the comparison in Python: `from kb.catalogue import load_model, load_hardware; "
                       "from calculator import Settings; from calculator.serving import compare; "
                       f"compare(load_model({first['model']!r}), load_hardware({first['hardware']!r}), "
                       f"Settings(tp={first['tp']}, seq_len={first['seq_len']}, gen_len={first['gen_len']}), "
                       f"{fx!r})`.\n")  # schema-checked numbers and literals only (basis/ignores left out)
        else:
            opts = serving_options(effect)
            out.append("Redo the method's side with the calculator: `python -m calculator --model "
                       f"{first['model']} --hardware {first['hardware']}{tp} --seq-len {first['seq_len']} --gen-len "
                       f"{first['gen_len']} --stage serve {opts}`.\n")
    return "".join(out)


def roofline_column(analyses: dict[str, Analysis]) -> Column:
    """Each method's ideal-bound speedups in its family's main scenario, for the category tables."""
    cells = {}
    for method_id, a in analyses.items():
        top = next((c for c in a.serving or [] if c.get("gain") is not None), None)
        if top:  # a serving effect: its gain in the first serving comparison
            what = SERVING_METRIC_WORDS.get(top["metric"], top["metric"])
            cells[method_id] = f'{top["gain"]:.2f}x {what} ({top["label"].lower()})'
        rows = {r["stage"]: r for r in a.scenarios if r["scenario"] == a.primary}
        if rows:
            d, p = rows["decode"], rows["prefill"]
            if d["speedup"] is None:
                cells[method_id] = f'{fit_words(d)} ({d["label"].lower()})'
            else:
                cells[method_id] = (f'{d["speedup"]:.2f}x decode, {p["speedup"]:.2f}x prefill '
                                    f'({d["label"].lower()})')
    return Column("Roofline: ideal bound, main scenario", cells)


# One colour per top-level branch of the taxonomy on the claims scatter (others fall back to grey).
BRANCH_COLOURS = {"compression": "#1f77b4", "fast-decoding": "#ff7f0e", "system": "#2ca02c",
                  "architecture": "#d62728", "hardware": "#9467bd", "discussion": "#8c564b",
                  "analysis-tool": "#e377c2"}


def _branch(method: Method) -> str:
    return method.category.split("/")[0]


def claims_scatter(points: list[tuple[str, str, str, float, float]]) -> str:
    """SVG scatter of claimed ratio (y) against the roofline bound (x), log axes: one dot per judged
    claim, coloured by branch; the y = x line and the band up to the tolerance (within the bound) shaded.
    `points` are (branch, label, method id, bound, claimed[, scenario label when judged at an assumed
    setting: drawn as a ring])."""
    import math

    w, h, left, bottom, top, right = 640, 440, 56, 44, 14, 150
    values = [v for p in points for v in p[3:5]] or [1.0]
    lo, hi = min(0.9, min(values) / 1.1), max(4.0, max(values) * 1.15)
    l0, l1 = math.log10(lo), math.log10(hi)

    def x(v: float) -> float:
        return left + (math.log10(v) - l0) / (l1 - l0) * (w - left - right)

    def y(v: float) -> float:
        return h - bottom - (math.log10(v) - l0) / (l1 - l0) * (h - top - bottom)

    out = [f'<svg class="kb-claims-scatter" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" '
           f'width="100%" style="max-width:{w}px" role="img" aria-label="Claimed ratio against the roofline '
           f'bound, one dot per judged claim">']
    # Consistent region: claimed <= bound * TOLERANCE (below the dashed line).
    band = [(lo, lo), (hi, hi * TOLERANCE), (hi, lo)]
    out.append('<polygon points="' + " ".join(f"{x(a):.1f},{y(min(b, hi)):.1f}" for a, b in band)
               + '" fill="#2ca02c" fill-opacity="0.08"/>')
    ticks = [t for t in (1, 1.5, 2, 3, 5, 10, 20, 50, 100) if lo <= t <= hi]
    for t in ticks:
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{h - bottom}" stroke="#ddd"/>'
                   f'<text x="{x(t):.1f}" y="{h - bottom + 16}" font-size="11" text-anchor="middle">{t:g}x</text>')
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{y(t) + 4:.1f}" font-size="11" text-anchor="end">{t:g}x</text>')
    out.append(f'<line x1="{x(lo):.1f}" y1="{y(lo):.1f}" x2="{x(hi):.1f}" y2="{y(hi):.1f}" stroke="#333" '
               'stroke-width="1.2"/>')
    out.append(f'<line x1="{x(lo):.1f}" y1="{y(lo * TOLERANCE):.1f}" x2="{x(hi / TOLERANCE):.1f}" '
               f'y2="{y(hi):.1f}" stroke="#2ca02c" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{x(hi) - 4:.1f}" y="{y(hi) + 14:.1f}" font-size="11" text-anchor="end">y = x</text>')
    out.append(f'<text x="{(left + w - right) / 2:.0f}" y="{h - 6}" font-size="12" text-anchor="middle">'
               'roofline bound (calculator)</text>')
    out.append(f'<text x="14" y="{(top + h - bottom) / 2:.0f}" font-size="12" text-anchor="middle" '
               f'transform="rotate(-90 14 {(top + h - bottom) / 2:.0f})">claimed by the paper</text>')
    for branch, label, method_id, bound, claimed, *rest in points:
        colour = BRANCH_COLOURS.get(branch, "#7f7f7f")
        assumed = bool(rest and rest[0])  # judged at an assumed scenario: a ring, not a dot
        # No <a> inside the SVG: Material's instant navigation rewrites link hrefs, which SVG anchors refuse;
        # the tables below link every claim's method.
        paint = (f'fill="none" stroke="{colour}" stroke-width="1.3"' if assumed
                 else f'fill="{colour}" fill-opacity="0.75"')
        where = f" (at an assumed setting: {text(rest[0])})" if assumed else ""
        flag = ' data-assumed="1"' if assumed else ""
        out.append(f'<circle cx="{x(bound):.1f}" cy="{y(min(claimed, hi)):.1f}" r="4" {paint} '
                   f'data-branch="{attr(branch)}" data-method="{attr(method_id)}"{flag}><title>'
                   f'{text(label)}: claimed {claimed:g}x, bound {bound:.2f}x{where}</title></circle>')
    present = [b for b in BRANCH_COLOURS if any(p[0] == b for p in points)]
    present += sorted({p[0] for p in points} - set(present))
    for i, branch in enumerate(present):
        ly = top + 10 + 18 * i
        out.append(f'<circle cx="{w - right + 16}" cy="{ly}" r="5" fill="{BRANCH_COLOURS.get(branch, "#7f7f7f")}"/>'
                   f'<text x="{w - right + 26}" y="{ly + 4}" font-size="12">{text(branch)} '
                   f'({sum(p[0] == branch for p in points)})</text>')
    ly = top + 10 + 18 * len(present) + 8
    out.append(f'<rect x="{w - right + 10}" y="{ly - 6}" width="12" height="12" fill="#2ca02c" fill-opacity="0.15"/>'
               f'<text x="{w - right + 26}" y="{ly + 4}" font-size="12">within the bound</text>'
               f'<circle cx="{w - right + 16}" cy="{ly + 20}" r="4" fill="none" stroke="#555"/>'
               f'<text x="{w - right + 26}" y="{ly + 24}" font-size="12">assumed setting</text>')
    out.append("</svg>")
    return "".join(out)


VERDICT_WORDS = (f"A claim up to {TOLERANCE:.2f}x the expected ratio is *plausible*; above that but within "
                 f"{TOLERANCE:.2f}x the bound it is *optimistic* (more than typical runs reach, less than an ideal "
                 "one); above the bound it is *beyond the bound*. A claim with no expected value (memory "
                 "reductions, serving comparisons) is judged against the bound "
                 f"only: *consistent* up to {TOLERANCE:.2f}x of it, else *above the roofline bound*.")
"""The verdict words, defined once for the method pages and the claims page (kb.analysis.verdict)."""


def _why(explanation: str) -> str:
    """The entry's reason for a claim above its bound, folded (it can run to a paragraph in a narrow column)."""
    return f'<details class="kb-why"><summary>Why</summary><small>{text(explanation)}</small></details>'


def _share_words(share: float) -> str:
    """A claim above its bound in one sentence: how fast, at most, its baseline ran against its own roof."""
    return (f"Implies the baseline ran at no more than {share:.0%} of its roofline speed, if the method reached "
            "its own.")


def _verdict_order(word: str) -> int:
    return VERDICTS.index(word) if word in VERDICTS else len(VERDICTS)


# Plain words for the reasons a claim gets no verdict, as headings of the lists below the tables.
REASON_WORDS = {
    "kernel-only": "Kernel against kernel", "accelerator-design": "Accelerator designs (FPGA, ASIC, NPU)",
    "accuracy-only": "Quality only", "training": "Training or fine-tuning cost", "energy": "Energy",
    "different-metric": "Another metric", "unmodelled-model": "Models the calculator does not model",
    "unpublished-model": "The paper's own unpublished model",
    "effect-from-claim": "Effect set from the claim itself",
    "unmodelled-hardware": "Devices outside the catalogue", "unmodelled-system": "Serving-system effects",
    "method-baseline": "Against another method", "unstated-setting": "No setting in the paper",
    "effect-none": "Effect the roofline cannot show", "other-model": "Another model than the architecture's",
    "calculator-error": "The calculator refuses the setting", "ids-missing": "Setting not filled in yet",
    "serving-metric": "Serving methods: not a throughput claim",
    "serving-unbounded": "Serving methods: the baseline meets no limit in the bound",
}


def unjudged_split(reasons: dict[str, int]) -> tuple[int, int]:
    """(claims outside a per-step roofline by their nature, claims that wait for more of their setting)."""
    nature = sum(n for r, n in reasons.items() if r in BY_NATURE)
    return nature, sum(reasons.values()) - nature


def claims_page(kb: KB, analyses: dict[str, Analysis]) -> str:
    out = [front_matter(title="Claims"), "# Claims against the roofline\n\n",
           "Every speedup or memory claim in the knowledge base next to two values for the same setting "
           f"(calculator {VERSION}): the *expected* ratio, both sides at the efficiencies measured runs reach "
           "([accuracy](accuracy.md)), and the *roofline bound*, both sides at the device's peaks. "
           f"{VERDICT_WORDS} A claim beyond the bound comes with the entry's reason (a baseline far from its "
           "own roof, a larger batch, something the effect does not model). Values the paper does not "
           "state for the number are chosen by us and marked *assumed*; a time claim whose paper names no "
           "device is held against the most favourable catalogue GPU that holds it. A kernel claim is held "
           "against the roofline of the operator it replaces alone. "
           "A claim gets no verdict when it "
           "measures an accelerator design, training, another metric, system behaviour a per-step roofline "
           "does not show, or a comparison with another method the knowledge base cannot express; the reason is "
           "listed. Decode and end-to-end figures follow the context as it grows "
           "over the generated tokens ([how](roofline.md#claims-against-the-roofline)).\n\n"]
    branches: dict[str, dict] = {}
    points, counts, reasons = [], {}, {}
    for method_id in sorted(kb.methods):
        m = kb.methods[method_id]
        page = method_page_path(m.id)
        name = f"[{text(m.name)}]({page})"
        group = branches.setdefault(_branch(m), {"checked": [], "unchecked": {}})
        for c in analyses[method_id].claims:
            counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
            if c["predicted"] is None:
                reason = c.get("reason") or "other"
                reasons[reason] = reasons.get(reason, 0) + 1
                group["unchecked"].setdefault(reason, []).append(
                    (f'[{text(m.name)}]({page}) {c["claimed"]:g}x', c["why"] or ""))
                continue
            points.append((_branch(m), m.name, m.id, c["predicted"], c["claimed"], c.get("scenario")))
            verdict = text(c["verdict"])
            if c.get("scenario"):
                verdict += f', at an assumed setting: {text(c["scenario"])}'
            if c.get("baseline_share"):
                verdict += f"<br><small>{_share_words(c['baseline_share'])}</small>"
            if c.get("explanation"):
                verdict += _why(c["explanation"])
            group["checked"].append([name, f'{text(METRIC_LABELS[c["metric"]])} **{c["claimed"]:g}x** '
                                     f'<br><small>{text(c["source"])}</small>',
                                     f'{_expected_cell(c)} / {_predicted(c)}', verdict,
                                     f'<small>{_checked_in(c, "claims.md")}</small>'])
    judged = sum(v for k, v in counts.items() if k != "not checkable")
    total = sum(counts.values())
    out.append(f"{judged} of {total} claims have a verdict: "
               + ", ".join(f"{v} {k}" for k, v in sorted(counts.items(), key=lambda kv: _verdict_order(kv[0])))
               + ".")
    nature, waiting = unjudged_split(reasons)
    if nature or waiting:
        out.append(f" Of the {nature + waiting} without one, {nature} lie outside what a per-step roofline of a "
                   "catalogue model on a catalogue device can judge (accelerator designs, training costs, other "
                   "metrics, serving-system effects, models or devices of another kind, effects set from the "
                   f"claim itself); {waiting} could get one once their entry holds more of the paper's setting "
                   "(listed on [Help wanted](gaps.md)).")
    out.append("\n\n")
    out.append('<div class="kb-claims-plot" markdown="0">' + claims_scatter(points) + "</div>\n\n")
    out.append("Each dot is one judged claim (hover for the method and the values); a ring is a claim the paper "
               "states without a setting, judged at an assumed scenario. Below the dashed line "
               f"the claim is within {TOLERANCE:.2f}x of the bound; above it the paper reports more than an "
               "ideal run of its setting allows. The picture shows the bound only; the tables give the expected "
               "ratio beside it.\n\n")
    order = [b for b in BRANCH_COLOURS if b in branches] + sorted(set(branches) - set(BRANCH_COLOURS))
    for branch in order:
        group = branches[branch]
        n_un = sum(len(v) for v in group["unchecked"].values())
        if not group["checked"] and not n_un:
            continue
        out.append(f"\n## {text(branch)}\n\n{len(group['checked'])} with a verdict, {n_un} without.\n\n")
        if group["checked"]:
            # Cards on a phone, like the method pages; left out of the site search (the method pages hold it).
            out.append('<div class="kb-cards" markdown data-search-exclude>\n\n'
                       + table(["Method", "Claim (where)", "Expected / bound", "Verdict", "Checked in"],
                               group["checked"]) + "\n</div>\n")
        if n_un:
            out.append(f"\n### Without a verdict ({n_un})\n\n")
            for reason, items in sorted(group["unchecked"].items(), key=lambda kv: -len(kv[1])):
                words = REASON_WORDS.get(reason, reason)
                why = dict.fromkeys(w for _, w in items)
                detail = f' <small>({text(next(iter(why)))})</small>' if len(why) == 1 else ""
                out.append(f"- **{text(words)}** ({len(items)}){detail}: "
                           + ", ".join(label for label, _ in items) + "\n")
    return "".join(out)


def analysis_records(analyses: dict[str, Analysis]) -> dict[str, dict]:
    """Per-method extras for data/methods.json."""
    keep = ("scenario", "label", "model", "hardware", "tp", "seq_len", "gen_len", "metric", "baseline", "method",
            "gain")  # a serving row without its page wording
    return {k: {"scenarios": a.scenarios, "primary_scenario": a.primary, "analysis_note": a.reason,
                "serving": [{f: row[f] for f in keep} for row in a.serving or []],
                "claim_checks": a.claims,
                "calculator_version": VERSION} for k, a in analyses.items()}
