"""A roofline plot of a `Result` as a standalone SVG document (plain string building).

Log-log axes: arithmetic intensity (ops/byte) across, attainable performance (ops/s) up. The roof
is the bandwidth slope (bandwidth x intensity) and one flat line per compute format the analysis
uses; every layer is a point (layers with identical values share a point and a label). All text
is escaped, so names from contributed data cannot inject markup.
"""

from __future__ import annotations

from math import ceil, floor, log10

from calculator.result import Result
from calculator.units import number, si

__all__ = ["to_svg"]

_W, _H = 760, 500
_LEFT, _RIGHT, _TOP, _BOTTOM = 76, 24, 44, 56
_COLORS = {"prefill": "#1f77b4", "decode": "#d62728", "baseline": "#7f7f7f", "method": "#2ca02c"}


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


def to_svg(result: Result) -> str:
    """The roofline plot of every stage's layers (all-reduce rows, which use the interconnect rather
    than DRAM, are left out)."""
    hw = result.hardware
    bw = hw.memory_bandwidth
    groups: dict[tuple, list[str]] = {}
    for stage in result.stages.values():
        for row in stage.layers:
            if row.bound == "interconnect" or row.ops <= 0:
                continue
            key = (stage.name, row.arithmetic_intensity, row.attainable_ops_per_s, row.bound)
            groups.setdefault(key, []).append(row.name)
    roofs = sorted({(fmt, hw.peaks[fmt]) for fmt in result.formats.values()}, key=lambda r: r[1])
    top_peak = roofs[-1][1]
    xs = [k[1] for k in groups] + [peak / bw for _, peak in roofs]
    ys = [k[2] for k in groups] + [top_peak]
    x0 = 10 ** floor(log10(min(xs)))
    x1 = 10 ** ceil(log10(max(xs)) + 0.3)
    y0 = 10 ** floor(log10(min(min(ys), bw * x0)))
    y1 = 10 ** ceil(log10(top_peak * 1.5))
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def px(x: float) -> float:
        return _LEFT + (log10(x) - log10(x0)) / (log10(x1) - log10(x0)) * plot_w

    def py(y: float) -> float:
        return _TOP + plot_h - (log10(y) - log10(y0)) / (log10(y1) - log10(y0)) * plot_h

    m = result.model
    title = f"{m.name} on {hw.name}: roofline (batch {result.settings.batch}, seq-len {result.settings.seq_len})"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" '
        'font-family="sans-serif" font-size="11" role="img">',
        f"<title>{_esc(title)}</title>",
        f'<rect x="0" y="0" width="{_W}" height="{_H}" fill="#ffffff"/>',
        f'<text x="{_W / 2}" y="22" text-anchor="middle" font-size="14">{_esc(title)}</text>',
        f'<rect x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>',
    ]
    # Decade grid and tick labels.
    for e in range(round(log10(x0)), round(log10(x1)) + 1):
        x = px(10.0**e)
        out.append(f'<line x1="{_f(x)}" y1="{_TOP}" x2="{_f(x)}" y2="{_TOP + plot_h}" stroke="#eee"/>')
        out.append(f'<text x="{_f(x)}" y="{_TOP + plot_h + 16}" text-anchor="middle">{_esc(si(10.0**e))}</text>')
    for e in range(round(log10(y0)), round(log10(y1)) + 1):
        y = py(10.0**e)
        out.append(f'<line x1="{_LEFT}" y1="{_f(y)}" x2="{_LEFT + plot_w}" y2="{_f(y)}" stroke="#eee"/>')
        out.append(f'<text x="{_LEFT - 6}" y="{_f(y + 4)}" text-anchor="end">{_esc(si(10.0**e))}</text>')
    out.append(f'<text x="{_LEFT + plot_w / 2}" y="{_H - 14}" text-anchor="middle">'
               "arithmetic intensity (ops/byte)</text>")
    out.append(f'<text transform="translate(16 {_TOP + plot_h / 2}) rotate(-90)" text-anchor="middle">'
               "attainable performance (ops/s)</text>")
    # The roof: bandwidth slope up to the highest ridge, one flat line per compute format.
    ridge_top = top_peak / bw
    out.append(f'<line x1="{_f(px(x0))}" y1="{_f(py(bw * x0))}" x2="{_f(px(ridge_top))}" '
               f'y2="{_f(py(top_peak))}" stroke="#333" stroke-width="2"/>')
    out.append(f'<text x="{_f(px(x0) + 8)}" y="{_f(py(bw * x0) - 14)}" fill="#333">'
               f"{_esc(si(bw))}B/s</text>")
    for fmt, peak in roofs:
        ridge = peak / bw
        out.append(f'<line x1="{_f(px(ridge))}" y1="{_f(py(peak))}" x2="{_f(px(x1))}" y2="{_f(py(peak))}" '
                   'stroke="#333" stroke-width="2"/>')
        out.append(f'<text x="{_f(px(ridge))}" y="{_f(py(peak) - 6)}" text-anchor="end" fill="#333">'
                   f"{_esc(fmt)} {_esc(si(peak))}OPS, ridge {_esc(number(ridge))} ops/byte</text>")
    # Layers: points closer than a few pixels (same stage) share one label.
    clusters: list[list] = []
    for (stage, ai, perf, bound), names in sorted(groups.items(), key=lambda g: (g[0][0], g[0][1])):
        x, y = px(ai), py(perf)
        tip = f"{stage}: {', '.join(names)}: intensity {number(ai)} ops/byte, {si(perf)}ops/s, {bound}-bound"
        color = _COLORS.get(stage, "#2ca02c")
        out.append(f'<circle cx="{_f(x)}" cy="{_f(y)}" r="4" fill="{color}" fill-opacity="0.8">'
                   f"<title>{_esc(tip)}</title></circle>")
        last = clusters[-1] if clusters else None
        if last and last[0] == stage and abs(last[1] - x) < 8 and abs(last[2] - y) < 8:
            last[3].extend(names)
        else:
            clusters.append([stage, x, y, list(names), bound])
    for k, (stage, x, y, names, bound) in enumerate(clusters):
        color = _COLORS.get(stage, "#2ca02c")
        below = stage == "decode" or bound == "compute"
        dy = (14 + 11 * (k % 2)) if below else -7  # stagger neighbours on the flat roof
        out.append(f'<text x="{_f(x + 6)}" y="{_f(y + dy)}" fill="{color}" font-size="9">'
                   f"{_esc(', '.join(names))}</text>")
    # Legend.
    for k, stage in enumerate(result.stages):
        color = _COLORS.get(stage, "#2ca02c")
        y = _TOP + 14 + 14 * k
        out.append(f'<circle cx="{_LEFT + 12}" cy="{y - 4}" r="4" fill="{color}"/>')
        out.append(f'<text x="{_LEFT + 20}" y="{y}">{_esc(stage)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
