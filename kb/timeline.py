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
LANE_LABEL_W = 8  # the lane names are HTML beside the chart (timeline_lanes)
MONTH_W = 9
DOT_R = 3.5
ROW_H = 7.6
PAD = 24


def _month_index(month: str) -> int:
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


LABEL_H = 13  # the strip under each lane that names its most-cited methods
LABEL_CHAR_W = 6.2


def _layout(kb: KB):
    """Lanes (top-level branches) and the dots in them: each lane's months stack their methods
    downwards, the one labelled in the strip under the lane last (nearest its label)."""
    from kb.related import mentioned_by

    roots = [c for c in kb.categories.values() if c.parent is None]
    dated = [m for m in kb.methods.values() if m.month]
    if not dated:
        return None
    first = min(_month_index(m.month) for m in dated if m.year >= 2017)
    first -= first % 12
    last = max(_month_index(m.month) for m in dated)
    lanes: dict[str, list[Method]] = defaultdict(list)
    for m in sorted(dated, key=lambda m: (m.month, m.name)):
        if _month_index(m.month) >= first:
            lanes[m.category.split("/")[0]].append(m)
    cited = mentioned_by(kb)
    lane_rows, y0 = [], PAD
    for root in roots:
        members = lanes.get(root.path, [])
        # Labels: the most-cited methods first, each where its text overlaps no other label of the lane.
        labelled, spans = {}, []
        for m in sorted(members, key=lambda m: (-cited.get(m.id, 0), m.month, m.name)):
            if cited.get(m.id, 0) < 2:
                break
            col = _month_index(m.month) - first
            x = LANE_LABEL_W + col * MONTH_W + MONTH_W / 2 - DOT_R
            span = (x, x + len(m.name) * LABEL_CHAR_W + 8)
            if any(col == c for c in labelled.values()) or any(a < span[1] and span[0] < b for a, b in spans):
                continue
            labelled[m.id] = col
            spans.append(span)
        columns: dict[int, list[Method]] = defaultdict(list)
        for m in members:
            columns[_month_index(m.month) - first].append(m)
        spots = []
        for col, ms in columns.items():
            ms.sort(key=lambda m: m.id in labelled)  # the labelled one at the bottom of its stack
            spots += [(m, col, row) for row, m in enumerate(ms)]
        rows = max((len(ms) for ms in columns.values()), default=1)
        height = rows * ROW_H + 14 + (LABEL_H if labelled else 0)
        lane_rows.append((root, y0, height, spots, labelled, len(members)))
        y0 += height
    return first, last, lane_rows, y0


def _lane_colours(kb: KB) -> dict[str, str]:
    """Each taxonomy root's colour, shared by the dots and the lane names beside the chart."""
    roots = [c for c in kb.categories.values() if c.parent is None]
    return {c.path: PALETTE[i % len(PALETTE)] for i, c in enumerate(roots)}


def timeline_svg(kb: KB) -> str:
    """One dot per dated method, carrying its id in data-method and its name in a tooltip; the
    most-cited methods of each lane named under it. Lane names are HTML beside the chart
    (`timeline_lanes`), so that they stay in view while the chart scrolls."""
    layout = _layout(kb)
    if layout is None:
        return "<p>No dated methods yet.</p>"
    first, last, lane_rows, y0 = layout
    colour = _lane_colours(kb)
    width = LANE_LABEL_W + (last - first + 2) * MONTH_W + PAD
    height = y0 + 30
    out = [f'<svg class="kb-timeline" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'xmlns="http://www.w3.org/2000/svg" aria-label="Timeline of methods by first version">']
    for year_start in range(first, last + 1, 12):
        x = LANE_LABEL_W + (year_start - first) * MONTH_W
        out.append(f'<line x1="{x}" y1="{PAD - 6}" x2="{x}" y2="{y0}" class="kb-grid"/>'
                   f'<text x="{x + 2}" y="{y0 + 16}" class="kb-axis">{year_start // 12}</text>'
                   f'<text x="{x + 2}" y="{PAD - 10}" class="kb-axis">{year_start // 12}</text>')
    for root, top, h, spots, labelled, _ in lane_rows:
        out.append(f'<line x1="{LANE_LABEL_W}" y1="{top + h:.1f}" x2="{width - PAD}" y2="{top + h:.1f}" '
                   f'class="kb-grid"/>')
        for m, col, row in spots:
            cx = LANE_LABEL_W + col * MONTH_W + MONTH_W / 2
            cy = top + h_offset(row)
            label = html.escape(f"{m.name} ({m.month}) - {kb.categories[m.category].node.title}")
            # No <a> inside the SVG: Material's instant navigation rewrites link hrefs, which SVG anchors
            # refuse; the by-month table below links every method.
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{DOT_R}" fill="{colour[root.path]}" '
                       f'data-method="{html.escape(m.id)}" data-tip="1"><title>{label}</title></circle>')
            if m.id in labelled:
                out.append(f'<text x="{cx - DOT_R:.1f}" y="{top + h - 4:.1f}" class="kb-dot-label" '
                           f'fill="{colour[root.path]}">{html.escape(m.name)}</text>')
    out.append("</svg>")
    return "".join(out)


def timeline_lanes(kb: KB) -> str:
    """The lane names, as HTML placed beside the chart at each lane's height."""
    layout = _layout(kb)
    if layout is None:
        return ""
    _, _, lane_rows, y0 = layout
    colour = _lane_colours(kb)
    spans = "".join(f'<span style="top:{top:.1f}px;height:{h:.1f}px;color:{colour[root.path]}">'
                    f"{html.escape(root.node.title)} <small>({n})</small></span>"
                    for root, top, h, _, _, n in lane_rows)
    return f'<div class="kb-timeline-lanes" aria-hidden="true" style="height:{y0 + 30}px">{spans}</div>'


def h_offset(row: int) -> float:
    return 9 + row * ROW_H


def timeline_page(kb: KB) -> str:
    from kb.markup import front_matter, table, text

    dated = sorted((m for m in kb.methods.values() if m.month), key=lambda m: (m.month, m.name), reverse=True)
    undated = len(kb.methods) - len(dated)
    out = [front_matter(title="Timeline"), "# Timeline\n\n",
           "Every method by the month of its first public version, one lane per branch of the taxonomy; "
           "it extends the survey's Fig. 10 (quantization, 2022-2024) to every category. The chart opens on the "
           "latest months (scroll left for earlier years); under each lane are the methods other entries name "
           "most. Hover or tap a dot for its name; the table below links every method.\n\n",
           # A <figure> around the <div>s: the search index skips an excluded element only up to its
           # first closing tag of the same name.
           '<figure class="kb-timeline-figure" markdown="0" data-search-exclude><div class="kb-timeline-wrap">'
           + timeline_lanes(kb) + '<div class="kb-timeline-scroll">' + timeline_svg(kb) + "</div></div></figure>\n\n"]
    if undated:
        out.append(f"{undated} entries have no confirmed first-version date and are not shown.\n\n")
    out.append("## By month { data-search-exclude }\n\n")
    rows = [[text(m.month), f"[{text(m.name)}](methods/{m.id}.md)",
             text(kb.categories[m.category].node.title), "after the survey" if m.after_survey else ""]
            for m in dated]
    out.append(table(["Month", "Method", "Category", ""], rows))
    return "".join(out)
