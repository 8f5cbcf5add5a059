"""The timeline chart: every method by first-version month, one lane per top-level category (an SVG).

Pure string building; names are escaped and every dot links to its method page.
"""

from __future__ import annotations

import html
from collections import defaultdict

from kb.load import KB
from kb.schema import Method

# Colour-blind-safe palette (Okabe-Ito), one per top-level branch in taxonomy order.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D00", "#999999"]
LANE_LABEL_W = 190
MONTH_W = 9
DOT_R = 4.2
ROW_H = 9.5
PAD = 24


def _month_index(month: str) -> int:
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def timeline_svg(kb: KB) -> str:
    """One dot per dated method, carrying its id in data-method and its name in a tooltip."""
    roots = [c for c in kb.categories.values() if c.parent is None]
    colour = {c.path: PALETTE[i % len(PALETTE)] for i, c in enumerate(roots)}
    dated = [m for m in kb.methods.values() if m.month]
    if not dated:
        return "<p>No dated methods yet.</p>"
    first = min(_month_index(m.month) for m in dated if m.year >= 2017)
    first -= first % 12
    last = max(_month_index(m.month) for m in dated)
    lanes: dict[str, list[Method]] = defaultdict(list)
    for m in sorted(dated, key=lambda m: (m.month, m.name)):
        if _month_index(m.month) >= first:
            lanes[m.category.split("/")[0]].append(m)

    # Stack dots of one lane and month upwards, so the lane height follows its busiest month.
    heights, placed = {}, []
    y0 = PAD
    for root in roots:
        members = lanes.get(root.path, [])
        stack: dict[int, int] = defaultdict(int)
        spots = []
        for m in members:
            col = _month_index(m.month) - first
            spots.append((m, col, stack[col]))
            stack[col] += 1
        rows = max(stack.values(), default=1)
        heights[root.path] = (y0, rows * ROW_H + 14)
        placed += [(m, col, row, y0, root.path) for m, col, row in spots]
        y0 += rows * ROW_H + 14
    width = LANE_LABEL_W + (last - first + 2) * MONTH_W + PAD
    height = y0 + 30
    out = [f'<svg class="kb-timeline" role="img" viewBox="0 0 {width} {height}" width="{width}" '
           f'xmlns="http://www.w3.org/2000/svg" aria-label="Timeline of methods by first version">']
    for year_start in range(first, last + 1, 12):
        x = LANE_LABEL_W + (year_start - first) * MONTH_W
        out.append(f'<line x1="{x}" y1="{PAD - 6}" x2="{x}" y2="{y0}" class="kb-grid"/>'
                   f'<text x="{x + 2}" y="{y0 + 16}" class="kb-axis">{year_start // 12}</text>')
    for root in roots:
        top, h = heights[root.path]
        out.append(f'<text x="4" y="{top + h / 2 + 4:.1f}" class="kb-lane" fill="{colour[root.path]}">'
                   f'{html.escape(root.node.title)} ({len(lanes.get(root.path, []))})</text>'
                   f'<line x1="{LANE_LABEL_W}" y1="{top + h:.1f}" x2="{width - PAD}" y2="{top + h:.1f}" '
                   f'class="kb-grid"/>')
    for m, col, row, top, root in placed:
        cx = LANE_LABEL_W + col * MONTH_W + MONTH_W / 2
        cy = top + h_offset(row)
        label = html.escape(f"{m.name} ({m.month}) - {kb.categories[m.category].node.title}")
        # No <a> inside the SVG: Material's instant navigation rewrites link hrefs, which SVG anchors
        # refuse; the by-month table below links every method.
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{DOT_R}" fill="{colour[root]}" '
                   f'data-method="{html.escape(m.id)}"><title>{label}</title></circle>')
    out.append("</svg>")
    return "".join(out)


def h_offset(row: int) -> float:
    return 9 + row * ROW_H


def timeline_page(kb: KB) -> str:
    from kb.markup import front_matter, table, text

    dated = sorted((m for m in kb.methods.values() if m.month), key=lambda m: (m.month, m.name), reverse=True)
    undated = len(kb.methods) - len(dated)
    out = [front_matter(title="Timeline"), "# Timeline\n\n",
           "Every method by the month of its first public version, one lane per branch of the taxonomy; "
           "it extends the survey's Fig. 10 (quantization, 2022-2024) to every category. Hover a dot for its "
           "name; the table below links every method.\n\n",
           '<div class="kb-timeline-wrap" markdown="0">' + timeline_svg(kb) + "</div>\n\n"]
    if undated:
        out.append(f"{undated} entries have no confirmed first-version date and are not shown.\n\n")
    out.append("## By month { data-search-exclude }\n\n")
    rows = [[text(m.month), f"[{text(m.name)}](methods/{m.id}.md)",
             text(kb.categories[m.category].node.title), "after the survey" if m.after_survey else ""]
            for m in dated]
    out.append(table(["Month", "Method", "Category", ""], rows))
    return "".join(out)
