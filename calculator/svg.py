"""A roofline plot of a `Result` as a standalone SVG document (plain string building).

Log-log axes: arithmetic intensity (ops/byte) across, attainable performance (ops/s) up. The roof
is the bandwidth slope (bandwidth x intensity) and one flat line per compute format the analysis
uses. Every layer is a point whose area is its share of its stage's time (layers with identical
values share a point); only the few points that dominate the time carry a label, placed where it
overlaps no other label, point or roof label, and the legend under the plot names the rest. All
text is escaped, so names from contributed data cannot inject markup.

Colours are presentation attributes (a standalone file reads well) under class names that a page's
stylesheet can override (the site's dark mode: assets/kb.css, `.kb-roofline`). Each point carries
`data-tip` and a <title>, which a page shows on hover or tap. `<desc>` holds a caption in words: what
to look at in this plot.
"""

from __future__ import annotations

from math import atan2, ceil, degrees, floor, log10, sqrt

from calculator.result import Result
from calculator.units import number, seconds, si

__all__ = ["caption", "to_svg"]

_W = 720
_LEFT, _RIGHT, _TOP = 70, 20, 40
_PLOT_H = 380
_COLORS = {"prefill": "#1f77b4", "decode": "#d62728", "baseline": "#757575", "method": "#2ca02c"}
_RINGS = {"prefill", "baseline"}  # drawn as rings over the filled points of the other stage
_FONT = 11
_CHAR_W = 0.56 * _FONT  # a sans-serif character, on average: enough to keep labels apart
_MAX_LABELS = 6
_MIN_SHARE = 0.04  # a point labelled in the plot carries at least this share of its stage's time


def _esc(text: str) -> str:
    return (
        str(text)
        .replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def _f(value: float) -> str:
    return f"{value:.1f}"


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%" if share >= 0.01 else "<1%"


def _names(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" +{len(names) - limit}" if len(names) > limit else "")


def _points(result: Result) -> list[dict]:
    """One point per (stage, intensity, performance): its layer names, bound and share of stage time.
    All-reduce rows (interconnect, not DRAM) and rows without ops are left out."""
    points: dict[tuple, dict] = {}
    for stage in result.stages.values():
        for row in stage.layers:
            if row.bound == "interconnect" or row.ops <= 0 or row.bytes <= 0:
                continue
            key = (stage.name, row.arithmetic_intensity, row.attainable_ops_per_s)
            p = points.setdefault(key, {"stage": stage.name, "ai": key[1], "perf": key[2], "bound": row.bound,
                                        "names": [], "share": 0.0})
            p["names"].append(row.name)
            p["share"] += row.count * row.time_s / stage.time_s if stage.time_s else 0.0
    return list(points.values())


def caption(result: Result) -> str:
    """What to look at, in words: where each stage's time goes and what bounds it."""
    hw = result.hardware
    peak = max(hw.peaks[f] for f in set(result.formats.values()))
    ridge = peak / hw.memory_bandwidth
    pts = _points(result)
    parts = [f"Each point is a layer; its area is its share of the stage's time. The ridge point of "
             f"{hw.name} is {number(ridge)} ops/byte: points left of it wait on memory, points on the flat "
             "roof on compute."]
    for name, stage in result.stages.items():
        own = sorted((p for p in pts if p["stage"] == name), key=lambda p: -p["share"])
        if not own:
            continue
        memory = sum(p["share"] for p in own if p["bound"] == "memory")
        top = own[0]
        parts.append(f"{name.capitalize()} ({seconds(stage.time_s)}): {_pct(memory)} of the time memory-bound; "
                     f"the largest point, {_names(top['names'])}, is {_pct(top['share'])} at "
                     f"{number(top['ai'])} ops/byte.")
    if {"baseline", "method"} <= set(result.stages):
        b, m = result.stages["baseline"].time_s, result.stages["method"].time_s
        if b and m:
            parts.append(f"The method's step is {number(b / m)}x {'shorter' if m <= b else 'longer'} "
                         "than the baseline's: compare where the big points moved.")
    return " ".join(parts)


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _wrap(words: list[str], width: int) -> list[str]:
    lines, line = [], ""
    for w in words:
        if line and len(line) + len(w) + 2 > width:
            lines.append(line + ",")
            line = w
        else:
            line = f"{line}, {w}" if line else w
    return lines + ([line] if line else [])


def to_svg(result: Result, max_labels: int = _MAX_LABELS) -> str:
    """The roofline plot of every stage's layers, with a legend and a caption (`<desc>`)."""
    hw = result.hardware
    bw = hw.memory_bandwidth
    pts = _points(result)
    roofs = sorted({(fmt, hw.peaks[fmt]) for fmt in result.formats.values()}, key=lambda r: r[1])
    top_peak = roofs[-1][1]
    xs = [p["ai"] for p in pts] + [peak / bw for _, peak in roofs]
    ys = [p["perf"] for p in pts] + [top_peak]
    x0 = 10 ** floor(log10(min(xs)) - 0.15)
    x1 = 10 ** ceil(log10(max(xs)) + 0.3)
    y0 = 10 ** floor(log10(min(min(ys), bw * x0)))
    y1 = 10 ** ceil(log10(top_peak * 1.5))
    plot_w, plot_h = _W - _LEFT - _RIGHT, _PLOT_H

    def px(x: float) -> float:
        return _LEFT + (log10(x) - log10(x0)) / (log10(x1) - log10(x0)) * plot_w

    def py(y: float) -> float:
        return _TOP + plot_h - (log10(y) - log10(y0)) / (log10(y1) - log10(y0)) * plot_h

    # Legend lines under the plot: each stage with its time, then the layers not labelled in the plot.
    for p in pts:
        p["x"], p["y"] = px(p["ai"]), py(p["perf"])
        p["r"] = 3 + 11 * sqrt(max(p["share"], 0.0))
    taken: list[tuple] = [(p["x"] - p["r"], p["y"] - p["r"], p["x"] + p["r"], p["y"] + p["r"]) for p in pts]
    inside = (_LEFT + 2, _TOP + 2, _LEFT + plot_w - 2, _TOP + plot_h - 2)
    for fmt, peak in roofs:  # the roof labels sit above their line, right-aligned at the plot's edge
        text_w = len(f"{fmt} {si(peak)}OPS") * _CHAR_W
        y = py(peak) - 6
        taken.append((_LEFT + plot_w - 4 - text_w, y - _FONT, _LEFT + plot_w, y + 3))
    taken.append((_LEFT + 4, _TOP + 4, _LEFT + 170, _TOP + 8 + 16 * len(result.stages)))  # stage key
    # The roof lines as chains of small boxes, so that no label crosses them.
    xa = max(x0, y0 / bw)
    ridge_top = top_peak / bw
    (ax, ay), (bx, by) = (px(xa), py(bw * xa)), (px(ridge_top), py(top_peak))
    steps = max(1, int(abs(bx - ax) / 6))
    for i in range(steps + 1):
        cx, cy = ax + (bx - ax) * i / steps, ay + (by - ay) * i / steps
        taken.append((cx - 2, cy - 2, cx + 2, cy + 2))
    for _, peak in roofs:
        taken.append((px(peak / bw), py(peak) - 1.5, px(x1), py(peak) + 1.5))
    # The bandwidth label along the slope, just above it, at the first free place from the middle.
    angle = degrees(atan2(by - ay, bx - ax))
    bw_words = f"{si(bw)}B/s memory bandwidth"
    bw_w = len(bw_words) * _CHAR_W
    ux, uy = (bx - ax), (by - ay)
    norm = sqrt(ux * ux + uy * uy) or 1.0
    ux, uy = ux / norm, uy / norm
    nx, ny = uy, -ux  # the normal on the upper-left side of the slope
    if ny > 0:
        nx, ny = -nx, -ny
    bw_place = None
    chain = len(taken) - (steps + 1) - len(roofs)  # obstacles before the roof chain: points, roof labels, key
    for frac in (0.5, 0.62, 0.38, 0.74, 0.26, 0.86, 0.14, 0.05):
        lx, ly = ax + frac * (bx - ax) + 7 * nx, ay + frac * (by - ay) + 7 * ny
        # The slanted text as small boxes along its baseline, half a line above it.
        cells = []
        for k in range(int(bw_w // 8) + 1):
            cx, cy = lx + 8 * k * ux + 0.5 * _FONT * nx, ly + 8 * k * uy + 0.5 * _FONT * ny
            cells.append((cx - 4, cy - 4, cx + 4, cy + 4))
        if any(c[0] < inside[0] or c[2] > inside[2] or c[1] < inside[1] or c[3] > inside[3] for c in cells):
            continue
        if not any(_overlaps(c, t) for c in cells for t in taken[:chain]):
            bw_place = (lx, ly)
            taken += cells
            break
    # Label the dominant points, biggest first, each at the first free spot around it.
    labels = []
    for p in sorted(pts, key=lambda p: -p["share"]):
        if len(labels) >= max_labels or p["share"] < _MIN_SHARE:
            break
        words = f"{_names(p['names'], 2)} {_pct(p['share'])}"
        w, h, r = len(words) * _CHAR_W, _FONT + 2, p["r"]
        for dx, dy, anchor in ((r + 3, 4, "start"), (-r - 3, 4, "end"), (0, -r - 4, "middle"),
                               (0, r + _FONT + 1, "middle"), (r + 2, -r - 2, "start"), (r + 2, r + _FONT, "start"),
                               (-r - 2, -r - 2, "end"), (-r - 2, r + _FONT, "end")):
            tx, ty = p["x"] + dx, p["y"] + dy
            left = tx - (w if anchor == "end" else w / 2 if anchor == "middle" else 0)
            box = (left, ty - _FONT, left + w, ty + 3)
            own = (p["x"] - r, p["y"] - r, p["x"] + r, p["y"] + r)
            if box[0] < inside[0] or box[2] > inside[2] or box[1] < inside[1] or box[3] > inside[3]:
                continue
            if any(_overlaps(box, t) for t in taken if t != own):
                continue
            taken.append(box)
            labels.append((p, tx, ty, anchor, words))
            p["labelled"] = len(p["names"]) <= 2  # else the legend names them all
            break
    legend: list[tuple[str, str]] = []  # every layer of every stage, by share of its time
    for name, stage in result.stages.items():
        own = sorted((p for p in pts if p["stage"] == name), key=lambda p: -p["share"])
        items = [f"{', '.join(p['names'])} {_pct(p['share'])}" for p in own]
        head = f"{name}, {seconds(stage.time_s)}: "
        legend += [(name, line) for line in _wrap([head + items[0]] + items[1:] if items else [head], 104)]
    height = _TOP + plot_h + 46 + 15 * len(legend) + 6

    m = result.model
    s = result.settings
    title = f"{m.name} on {hw.name}: roofline (batch {s.batch}, seq-len {s.seq_len})"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="kb-roofline-plot" viewBox="0 0 {_W} {height}" '
        f'width="{_W}" height="{height}" font-family="sans-serif" font-size="{_FONT}" role="img" '
        f'aria-label="{_esc(title)}">',
        f"<title>{_esc(title)}</title>",
        f"<desc>{_esc(caption(result))}</desc>",
        f'<rect class="rf-bg" x="0" y="0" width="{_W}" height="{height}" fill="#ffffff"/>',
        f'<text class="rf-title" x="{_W / 2}" y="22" text-anchor="middle" font-size="14" fill="#222">'
        f"{_esc(title)}</text>",
    ]
    # Decade grid and tick labels.
    for e in range(round(log10(x0)), round(log10(x1)) + 1):
        x = px(10.0**e)
        if x < _LEFT - 0.5:
            continue
        out.append(f'<line class="rf-grid" x1="{_f(x)}" y1="{_TOP}" x2="{_f(x)}" y2="{_TOP + plot_h}" stroke="#e6e6e6"/>')
        out.append(f'<text class="rf-text" x="{_f(x)}" y="{_TOP + plot_h + 15}" text-anchor="middle" fill="#555">'
                   f"{_esc(si(10.0**e))}</text>")
    for e in range(round(log10(y0)), round(log10(y1)) + 1):
        y = py(10.0**e)
        out.append(f'<line class="rf-grid" x1="{_LEFT}" y1="{_f(y)}" x2="{_LEFT + plot_w}" y2="{_f(y)}" stroke="#e6e6e6"/>')
        out.append(f'<text class="rf-text" x="{_LEFT - 6}" y="{_f(y + 4)}" text-anchor="end" fill="#555">'
                   f"{_esc(si(10.0**e))}</text>")
    out.append(f'<rect class="rf-frame" x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>')
    out.append(f'<text class="rf-text" x="{_LEFT + plot_w / 2}" y="{_TOP + plot_h + 32}" text-anchor="middle" '
               'fill="#555">arithmetic intensity (ops/byte)</text>')
    out.append(f'<text class="rf-text" transform="translate(16 {_TOP + plot_h / 2}) rotate(-90)" '
               'text-anchor="middle" fill="#555">attainable performance (ops/s)</text>')
    # The roof: bandwidth slope up to the highest ridge, one flat line per compute format.
    out.append(f'<line class="rf-roof" x1="{_f(px(xa))}" y1="{_f(py(bw * xa))}" x2="{_f(px(ridge_top))}" '
               f'y2="{_f(py(top_peak))}" stroke="#333" stroke-width="2"><title>memory bandwidth '
               f"{_esc(si(bw))}B/s</title></line>")
    for fmt, peak in roofs:
        ridge = peak / bw
        out.append(f'<line class="rf-roof" x1="{_f(px(ridge))}" y1="{_f(py(peak))}" x2="{_f(px(x1))}" '
                   f'y2="{_f(py(peak))}" stroke="#333" stroke-width="2"><title>{_esc(fmt)} peak {_esc(si(peak))}OPS, '
                   f"ridge {_esc(number(ridge))} ops/byte</title></line>")
        out.append(f'<text class="rf-text" x="{_f(_LEFT + plot_w - 4)}" y="{_f(py(peak) - 6)}" text-anchor="end" '
                   f'fill="#555">{_esc(fmt)} {_esc(si(peak))}OPS</text>')
    if bw_place:
        out.append(f'<text class="rf-text" transform="translate({_f(bw_place[0])} {_f(bw_place[1])}) '
                   f'rotate({angle:.1f})" fill="#555">{_esc(bw_words)}</text>')
    # Points: filled stages first, rings over them, so both stay visible where they coincide.
    for p in sorted(pts, key=lambda p: (p["stage"] in _RINGS, -p["share"])):
        stage, color = p["stage"], _COLORS.get(p["stage"], "#2ca02c")
        tip = (f"{stage}: {', '.join(p['names'])}: {_pct(p['share'])} of the {stage} time, intensity "
               f"{number(p['ai'])} ops/byte, {si(p['perf'])}ops/s, {p['bound']}-bound")
        paint = (f'fill="{color}" fill-opacity="0.07" stroke="{color}" stroke-width="2"' if stage in _RINGS
                 else f'fill="{color}" fill-opacity="0.55" stroke="{color}"')
        out.append(f'<circle class="rf-pt rf-{_esc(stage)}" cx="{_f(p["x"])}" cy="{_f(p["y"])}" r="{_f(p["r"])}" '
                   f'{paint} data-tip="1"><title>{_esc(tip)}</title></circle>')
    for p, tx, ty, anchor, words in labels:
        color = _COLORS.get(p["stage"], "#2ca02c")
        out.append(f'<text class="rf-label rf-{_esc(p["stage"])}" x="{_f(tx)}" y="{_f(ty)}" text-anchor="{anchor}" '
                   f'fill="{color}">{_esc(words)}</text>')
    # Stage key (top left, inside the plot) and the legend of unlabelled layers (under the plot).
    for k, stage in enumerate(result.stages):
        color, y = _COLORS.get(stage, "#2ca02c"), _TOP + 16 + 16 * k
        paint = (f'fill="{color}" fill-opacity="0.07" stroke="{color}" stroke-width="2"' if stage in _RINGS
                 else f'fill="{color}" fill-opacity="0.55" stroke="{color}"')
        out.append(f'<circle class="rf-{_esc(stage)}" cx="{_LEFT + 14}" cy="{y - 4}" r="5" {paint}/>')
        out.append(f'<text class="rf-text" x="{_LEFT + 24}" y="{y}" fill="#555">{_esc(stage)}</text>')
    y = _TOP + plot_h + 52
    for stage, line in legend:
        out.append(f'<text class="rf-legend rf-{_esc(stage)}" x="{_LEFT - 40}" y="{y}" font-size="10.5" '
                   f'fill="{_COLORS.get(stage, "#2ca02c")}">{_esc(line)}</text>')
        y += 15
    out.append("</svg>")
    return "\n".join(out) + "\n"
