// An inline-SVG roofline chart of one analysis: log-log axes, the device's memory slope and compute
// ceilings, one point per layer row (circles: prefill, squares: decode). No chart library.
// Colours come from CSS classes (assets/calculator.css), so dark mode follows the theme.

import { esc, number, si } from "./common.js";

const W = 560, H = 340;
const LEFT = 54, RIGHT = 14, TOP = 14, BOTTOM = 42;

const log10 = Math.log10;

/** The SVG markup of `result` (a roofline.js analysis); `label` names the chart for screen readers. */
export function rooflineSvg(result, label) {
  const hw = result.hardware;
  const bw = hw.memory_bandwidth;
  const peaks = new Map();
  for (const role of ["linear", "attention", "lm_head", "elementwise"]) {
    const fmt = result.formats[role];
    if (fmt && !peaks.has(fmt)) peaks.set(fmt, hw.peaks[fmt]);
  }
  const points = [];
  for (const [stageName, stage] of Object.entries(result.stages)) {
    for (const row of stage.layers) {
      if (row.bound === "interconnect") continue; // link traffic, not DRAM: off this chart
      points.push({ stage: stageName, row, x: row.arithmetic_intensity, y: row.attainable_ops_per_s });
    }
  }
  const maxPeak = Math.max(...peaks.values());
  const minPeak = Math.min(...peaks.values());
  const xs = points.map((p) => p.x).filter((x) => x > 0 && Number.isFinite(x));
  const ys = points.map((p) => p.y).filter((y) => y > 0);
  const ridgeMax = maxPeak / bw, ridgeMin = minPeak / bw;
  let x0 = Math.floor(log10(Math.min(ridgeMin / 4, ...xs)));
  let x1 = Math.ceil(log10(Math.max(ridgeMax * 4, ...xs)));
  let y0 = Math.floor(log10(Math.min(maxPeak / 1e3, ...ys)));
  const y1 = Math.ceil(log10(maxPeak * 1.5));
  if (x1 - x0 < 2) x1 = x0 + 2;
  if (x1 - x0 > 9) x0 = x1 - 9;
  if (y1 - y0 > 8) y0 = y1 - 8;
  const pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
  const sx = (x) => LEFT + (log10(x) - x0) / (x1 - x0) * pw;
  const sy = (y) => TOP + (y1 - log10(y)) / (y1 - y0) * ph;
  const clampY = (y) => Math.min(Math.max(y, TOP), TOP + ph);
  const f = (v) => v.toFixed(1);

  const out = [];
  out.push(`<svg class="kbc-chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(label)}">`);
  out.push(`<title>${esc(label)}</title>`);
  // Grid and axes.
  for (let e = x0; e <= x1; e++) {
    const x = f(sx(10 ** e));
    out.push(`<line class="kbc-grid" x1="${x}" y1="${TOP}" x2="${x}" y2="${TOP + ph}"/>`);
    out.push(`<text class="kbc-tick" x="${x}" y="${TOP + ph + 14}" text-anchor="middle">${si(10 ** e)}</text>`);
  }
  for (let e = y0; e <= y1; e++) {
    const y = f(sy(10 ** e));
    out.push(`<line class="kbc-grid" x1="${LEFT}" y1="${y}" x2="${LEFT + pw}" y2="${y}"/>`);
    out.push(`<text class="kbc-tick" x="${LEFT - 5}" y="${y}" dy="0.32em" text-anchor="end">${si(10 ** e)}</text>`);
  }
  out.push(`<rect class="kbc-frame" x="${LEFT}" y="${TOP}" width="${pw}" height="${ph}"/>`);
  out.push(`<text class="kbc-axis" x="${LEFT + pw / 2}" y="${H - 6}" text-anchor="middle">`
    + "arithmetic intensity (ops/byte)</text>");
  out.push(`<text class="kbc-axis" transform="translate(12 ${TOP + ph / 2}) rotate(-90)" text-anchor="middle">`
    + "attainable ops/s</text>");
  // The roofs: bandwidth slope up to the highest ceiling, one ceiling per compute format used.
  // The slope starts where it enters the plot: at the left edge, or at the bottom edge.
  const xa = Math.max(10 ** x0, 10 ** y0 / bw), xb = 10 ** x1;
  out.push(`<polyline class="kbc-roof" points="${f(sx(xa))},${f(clampY(sy(xa * bw)))} `
    + `${f(sx(ridgeMax))},${f(sy(maxPeak))}"><title>memory bandwidth ${si(bw)}B/s</title></polyline>`);
  let labelRow = 0;
  for (const [fmt, peak] of [...peaks.entries()].sort((p, q) => q[1] - p[1])) {
    const y = f(sy(peak));
    out.push(`<line class="kbc-ceiling" x1="${f(sx(peak / bw))}" y1="${y}" x2="${f(sx(xb))}" y2="${y}">`
      + `<title>${esc(fmt)} peak ${si(peak)}OPS, ridge ${number(peak / bw)} ops/byte</title></line>`);
    out.push(`<text class="kbc-roof-label" x="${LEFT + pw - 4}" y="${y}" dy="${labelRow % 2 ? "1.1em" : "-0.35em"}" `
      + `text-anchor="end">${esc(fmt)} ${si(peak)}OPS</text>`);
    labelRow++;
  }
  // One point per layer row: decode squares first, prefill rings over them (same-intensity rows
  // of the two stages then stay visible).
  points.sort((p, q) => (p.stage === "prefill") - (q.stage === "prefill"));
  for (const p of points) {
    if (!(p.x > 0 && p.y > 0 && Number.isFinite(p.x))) continue;
    const cx = sx(p.x), cy = sy(p.y);
    const tip = `${p.row.name} (${p.stage}): ${number(p.x)} ops/byte, ${si(p.y)}OPS, ${p.row.bound}-bound`;
    const cls = `kbc-pt kbc-pt-${p.stage} kbc-b-${p.row.bound}`;
    if (p.stage === "prefill") {
      out.push(`<circle class="${cls}" cx="${f(cx)}" cy="${f(cy)}" r="4.5"><title>${esc(tip)}</title></circle>`);
    } else {
      out.push(`<rect class="${cls}" x="${f(cx - 4)}" y="${f(cy - 4)}" width="8" height="8"><title>${esc(tip)}</title></rect>`);
    }
  }
  // Legend.
  let lx = LEFT + 8;
  for (const stageName of Object.keys(result.stages)) {
    const mark = stageName === "prefill"
      ? `<circle class="kbc-pt kbc-pt-prefill" cx="${lx + 4}" cy="${TOP + 12}" r="4.5"/>`
      : `<rect class="kbc-pt kbc-pt-decode" x="${lx}" y="${TOP + 8}" width="8" height="8"/>`;
    out.push(`${mark}<text class="kbc-legend" x="${lx + 12}" y="${TOP + 12}" dy="0.32em">${stageName}</text>`);
    lx += 74;
  }
  out.push("</svg>");
  return out.join("");
}
