// Small helpers shared by the calculator and the explorer: data loading, escaping, number formats
// (the same as calculator/units.py), and the page's query string.

/** The site root, whatever page loaded us (this file lives in assets/js/). */
export const SITE_ROOT = new URL("../../", import.meta.url);

const cache = new Map();

/** data/<name> of the built site, fetched once per visit (instant navigation keeps this module). */
export function loadData(name) {
  if (!cache.has(name)) {
    const url = new URL(`data/${name}`, SITE_ROOT);
    cache.set(name, fetch(url).then((res) => {
      if (!res.ok) throw new Error(`${url.pathname}: HTTP ${res.status}`);
      return res.json();
    }).catch((err) => {
      cache.delete(name);
      throw err;
    }));
  }
  return cache.get(name);
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text made safe for HTML content and attribute values. */
export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** An https address from the data, or "" (never a javascript: or relative link). */
export function safeUrl(url) {
  return typeof url === "string" && /^https:\/\/[^\s"'<>]+$/.test(url) ? url : "";
}

// ------------------------------------------------------------------ numbers (calculator/units.py)

const PREFIXES = [[1e15, "P"], [1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "K"]];

/** `digits` significant digits, never rounding the integer part: 1214.7 -> "1215", 0.9918 -> "0.99". */
export function number(value, digits = 3) {
  if (value === Infinity) return "inf";
  if (value === -Infinity) return "-inf";
  if (Number.isNaN(value)) return "nan";
  const whole = Math.abs(value) >= 1 ? String(Math.trunc(Math.abs(value))).length : 1;
  let text = value.toFixed(Math.min(20, Math.max(0, digits - whole)));
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return text;
}

/** A decimal SI prefix: si(68719476736) -> "68.7G". */
export function si(value, digits = 3, unit = "") {
  if (Number.isNaN(value)) return "nan";
  const magnitude = Math.abs(value);
  for (const [scale, prefix] of PREFIXES) {
    if (magnitude >= scale * (1 - 0.5 * 10 ** -digits)) return `${number(value / scale, digits)}${prefix}${unit}`;
  }
  return `${number(value, digits)}${unit}`;
}

/** A duration: 0.000443 -> "443 µs". */
export function seconds(value, digits = 3) {
  const magnitude = Math.abs(value);
  if (magnitude >= 1) return `${number(value, digits)} s`;
  if (magnitude >= 1e-3) return `${number(value * 1e3, digits)} ms`;
  if (magnitude >= 1e-6) return `${number(value * 1e6, digits)} µs`;
  if (magnitude === 0) return "0 s";
  return `${number(value * 1e9, digits)} ns`;
}

export const bytesText = (value) => `${si(value)}B`;

// ------------------------------------------------------------------ the query string

/** Replace the page's query string without a navigation; `params` is a URLSearchParams. */
export function writeQuery(params) {
  const query = params.toString();
  const url = `${location.pathname}${query ? `?${query}` : ""}${location.hash}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) {
    history.replaceState(history.state, "", url);
  }
}

/** `fn` called at most once per `ms`, with the latest arguments (for URL updates while typing). */
export function debounce(fn, ms) {
  let timer = null;
  let last = null;
  const run = () => {
    timer = null;
    fn(...last);
  };
  const wrapped = (...args) => {
    last = args;
    if (timer === null) timer = setTimeout(run, ms);
  };
  wrapped.flush = () => {
    if (timer !== null) {
      clearTimeout(timer);
      run();
    }
  };
  wrapped.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return wrapped;
}

/** A file the browser saves: made client-side from `text`, no request to any server. */
export function download(filename, text, type) {
  const blob = new Blob([text], { type });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  link.style.display = "none";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
