"""The throughput-latency curve of `calculator.serving.curve` as a standalone SVG document.

Across: tokens/s per user (1 / TPOT, log scale), faster to the right; up: output tokens/s per device
(log scale). Each curve runs from batch 1 (fast per user, cheap per token nowhere) to the capacity
limit (the last point, ringed); one or two curves (a baseline A and a method B, as the live calculator
compares them). Points carry `data-tip` and a <title>; `<desc>` says in words what to read. Class names
(`kb-serving`, `kb-serving-a`, `kb-serving-b`) let a page's stylesheet restyle it. All text is escaped.

    >>> from calculator.serving_svg import to_svg
    >>> svg = to_svg([("fp16", curve_dict)])          # doctest: +SKIP
"""

from __future__ import annotations

from math import ceil, floor, log10

from calculator.units import number, seconds

__all__ = ["caption", "to_svg"]

_W, _H = 720, 420
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 20, 30, 60
_COLORS = ("#1f77b4", "#2ca02c")


def _esc(text) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def caption(curves: list) -> str:
    """In words: the two ends of each curve and where it stops."""
    parts = ["Each point is a batch size: up is more output tokens per second per device (cheaper), "
             "right is more tokens per second for each user (faster). The last point is the largest batch "
             "that fits memory."]
    for label, cv in curves:
        pts = cv["points"]
        if not pts:
            parts.append(f"{label}: no batch fits.")
            continue
        first, last = pts[0], pts[-1]
        parts.append(f"{label}: from {number(first['tokens_per_s_per_device'])} tokens/s per device at batch 1 "
                     f"(TPOT {seconds(first['tpot_s'])}) to {number(last['tokens_per_s_per_device'])} at batch "
                     f"{last['batch']} (TPOT {seconds(last['tpot_s'])}).")
    return " ".join(parts)


def _ticks(lo: float, hi: float) -> list:
    return [10 ** e for e in range(floor(log10(lo)), ceil(log10(hi)) + 1)]


def to_svg(curves: list, title: str = "Throughput against latency") -> str:
    """`curves`: up to two (label, curve dict) pairs as `serving.curve` returns them."""
    if not 1 <= len(curves) <= 2:
        raise ValueError("to_svg draws one or two curves")
    pts = [p for _, cv in curves for p in cv["points"]]
    if not pts:
        xs, ys = [1.0, 10.0], [1.0, 10.0]
    else:
        xs = [p["tokens_per_s_per_user"] for p in pts]
        ys = [p["tokens_per_s_per_device"] for p in pts]
    x0, x1 = 10 ** floor(log10(min(xs))), 10 ** ceil(log10(max(xs)) + 1e-9)
    y0, y1 = 10 ** floor(log10(min(ys))), 10 ** ceil(log10(max(ys)) + 1e-9)
    if x1 <= x0:
        x1 = x0 * 10
    if y1 <= y0:
        y1 = y0 * 10
    pw, ph = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def X(v):
        return _LEFT + (log10(v) - log10(x0)) / (log10(x1) - log10(x0)) * pw

    def Y(v):
        return _TOP + ph - (log10(v) - log10(y0)) / (log10(y1) - log10(y0)) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="kb-serving" viewBox="0 0 {_W} {_H}" '
           f'width="{_W}" height="{_H}" font-family="sans-serif" font-size="11">',
           f"<title>{_esc(title)}</title>", f"<desc>{_esc(caption(curves))}</desc>",
           f'<rect x="{_LEFT}" y="{_TOP}" width="{pw}" height="{ph}" fill="none" stroke="#999"/>']
    for t in _ticks(x0, x1):
        if x0 <= t <= x1:
            out.append(f'<line x1="{X(t):.1f}" y1="{_TOP}" x2="{X(t):.1f}" y2="{_TOP + ph}" stroke="#ddd"/>')
            out.append(f'<text x="{X(t):.1f}" y="{_TOP + ph + 14}" text-anchor="middle">{_esc(number(t))}</text>')
    for t in _ticks(y0, y1):
        if y0 <= t <= y1:
            out.append(f'<line x1="{_LEFT}" y1="{Y(t):.1f}" x2="{_LEFT + pw}" y2="{Y(t):.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{_LEFT - 6}" y="{Y(t) + 4:.1f}" text-anchor="end">{_esc(number(t))}</text>')
    out.append(f'<text x="{_LEFT + pw / 2:.1f}" y="{_H - 28}" text-anchor="middle">'
               f"output tokens/s per user (1 / TPOT)</text>")
    out.append(f'<text transform="translate(16 {_TOP + ph / 2:.1f}) rotate(-90)" text-anchor="middle">'
               f"output tokens/s per device</text>")
    for i, (label, cv) in enumerate(curves):
        color, cls = _COLORS[i], "kb-serving-" + "ab"[i]
        pts = cv["points"]
        if len(pts) > 1:
            path = " ".join(f"{'M' if j == 0 else 'L'}{X(p['tokens_per_s_per_user']):.1f},"
                            f"{Y(p['tokens_per_s_per_device']):.1f}" for j, p in enumerate(pts))
            out.append(f'<path class="{cls}" d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for j, p in enumerate(pts):
            tip = (f"{label}, batch {p['batch']}: {number(p['tokens_per_s_per_device'])} tokens/s per device, "
                   f"TPOT {seconds(p['tpot_s'])}, TTFT {seconds(p['ttft_s'])}")
            last = j == len(pts) - 1
            out.append(f'<circle class="{cls}" cx="{X(p["tokens_per_s_per_user"]):.1f}" '
                       f'cy="{Y(p["tokens_per_s_per_device"]):.1f}" r="{5 if last else 3.5}" '
                       f'fill="{"none" if last else color}" stroke="{color}" stroke-width="{2 if last else 1}" '
                       f'data-tip="{_esc(tip)}"><title>{_esc(tip)}</title></circle>')
        ly = _H - 10
        lx = _LEFT + i * 320
        out.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{lx + 14}" y="{ly}">{_esc(label)}; ring: capacity, batch '
                   f'{pts[-1]["batch"] if pts else "-"}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
