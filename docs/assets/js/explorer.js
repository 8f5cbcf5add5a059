// The methods explorer (/explorer/): every entry of data/methods-index.json (a compact index: no
// BibTeX, no analyses) in one table, with filters (taxonomy branch, years, bit-width, venue, effect,
// code, claim verdict, text: whole words and "quoted phrases"), sortable columns, the state in the
// query string, and the filtered set as BibTeX (data/methods.json, fetched on demand) or CSV.

import { SITE_ROOT, debounce, download, esc, loadData, number, safeUrl, writeQuery } from "./common.js";

const COLUMNS = [
  ["name", "Method"],
  ["year", "Year"],
  ["category", "Category"],
  ["venue", "Venue"],
  ["bits", "Bits"],
  ["effect", "Effect"],
  ["code", "Code"],
  ["claims", "Claims"],
  ["roofline", "Roofline (decode)"],
];
// Free text is `text`: Material opens its search overlay for any address with ?q= (an old ?q= link
// is renamed before the page starts, assets/js/search-shim.js).
const FILTER_KEYS = ["text", "category", "year_min", "year_max", "bits", "venue", "effect", "code", "verdict"];
const DEFAULT_SORT = ["year", "desc"];

const NO_VENUE = "-";

/** "ICLR 2024" -> "ICLR", "Hot Chips 34 (2022)" -> "Hot Chips 34": the series, without its year. */
function venueSeries(venue) {
  if (!venue) return NO_VENUE;
  return venue.replace(/\s*\(?\b(?:19|20)\d{2}\)?\s*$/, "").trim() || venue;
}

function bitsOf(m) {
  const out = { weights: [], activations: [], kv_cache: [] };
  if (m.bits) {
    for (const key of Object.keys(out)) out[key] = [...(m.bits[key] || [])];
  } else if (m.effect && m.effect.kind === "quantization") {
    for (const key of Object.keys(out)) out[key] = [m.effect[key]?.bits ?? 16];
  } else if (m.effect && m.effect.kind === "data_format") {
    if (m.effect.weights_bits) out.weights = [m.effect.weights_bits];
    if (m.effect.activations_bits) out.activations = [m.effect.activations_bits];
  }
  return out;
}

function bitsText(b) {
  const part = (prefix, list) => (list.length ? `${prefix}${list.join("/")}` : "");
  return [part("W", b.weights), part("A", b.activations), part("KV", b.kv_cache)].filter(Boolean).join(" ");
}

function csvCell(value) {
  let text = Array.isArray(value) ? value.join("; ") : String(value ?? "");
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`; // no formulas when opened in a spreadsheet
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function toCsv(items) {
  const header = ["id", "name", "title", "authors", "year", "date", "venue", "arxiv", "category", "kind",
    "effect", "bits_weights", "bits_activations", "bits_kv_cache", "code", "paper", "claims", "quality",
    "support", "url"];
  const lines = [header.join(",")];
  for (const it of items) {
    const m = it.m;
    lines.push([m.id, m.name, m.title, m.authors, m.year, m.date, it.venue, m.arxiv, m.category, m.kind,
      m.effect?.kind, it.bits.weights, it.bits.activations, it.bits.kv_cache, m.links?.code, m.links?.paper,
      m.claims || 0, qualityText(m), (m.support || []).map((s) => s.stack), it.href].map(csvCell).join(","));
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** "WikiText-2 perplexity 5.6 vs 5.47 FP16 (Llama-2-7B, W4A16 g128)", or "". */
function qualityText(m) {
  const q = m.quality;
  return q ? `${q.metric} ${q.value} vs ${q.baseline_value} ${q.baseline} (${q.model}, ${q.setting})` : "";
}

/** Free text -> terms: "quoted phrases" and single words, lower case; a trailing * matches a word start. */
export function parseTerms(text) {
  const terms = [];
  const re = /"([^"]*)"|(\S+)/g;
  let found;
  while ((found = re.exec(String(text || "").toLowerCase())) !== null) {
    const term = (found[1] ?? found[2]).replace(/\s+/g, " ").trim();
    if (term && term !== "*") terms.push(term);
  }
  return terms;
}

const WORD = "[\\p{L}\\p{N}]";

/** A term as a whole-word (or whole-phrase) pattern: "han" does not match "Hansong" or "Zhang". */
export function termPattern(term) {
  const prefix = term.endsWith("*");
  const body = (prefix ? term.slice(0, -1) : term).replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/ /g, "\\s+");
  return new RegExp(`(?<!${WORD})${body}${prefix ? "" : `(?!${WORD})`}`, "u");
}

function prepare(methodsDoc) {
  const categories = methodsDoc.categories || {};
  const items = (methodsDoc.methods || []).map((m) => {
    const bits = bitsOf(m);
    const allBits = [...new Set([...bits.weights, ...bits.activations, ...bits.kv_cache])];
    const verdicts = [...new Set(m.verdicts || [])];
    // A paper published under another title keeps its venue in published_as.
    const venue = m.venue || m.published_as?.venue || "";
    const hay = [m.id, m.name, ...(m.aliases || []), m.title, ...(m.authors || []), m.summary,
      ...(m.tags || []), venue, m.published_as?.title, m.arxiv, m.category, categories[m.category]?.title]
      .filter(Boolean).join(" \u0001 ").toLowerCase();
    return {
      m,
      bits,
      allBits,
      bitsText: bitsText(bits),
      minBits: allBits.length ? Math.min(...allBits) : Infinity,
      venue,
      series: venueSeries(venue),
      verdicts,
      hay,
      categoryTitle: categories[m.category]?.title || m.category,
      href: new URL(m.url, SITE_ROOT).href,
      sortDate: String(m.date || m.year),
    };
  });
  return { items, categories };
}

function categoryOptions(categories, items) {
  const children = new Map();
  for (const [path, c] of Object.entries(categories)) {
    const parent = c.parent || "";
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(path);
  }
  const counts = new Map();
  for (const it of items) {
    const parts = it.m.category.split("/");
    for (let i = 1; i <= parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      counts.set(p, (counts.get(p) || 0) + 1);
    }
  }
  const out = [];
  const walk = (parent, depth) => {
    const kids = (children.get(parent) || []).slice()
      .sort((x, y) => categories[x].title.localeCompare(categories[y].title));
    for (const path of kids) {
      if (!counts.get(path)) continue;
      out.push(`<option value="${esc(path)}">${"\u00a0\u00a0".repeat(depth)}${esc(categories[path].title)} `
        + `(${counts.get(path)})</option>`);
      walk(path, depth + 1);
    }
  };
  walk("", 0);
  return out.join("");
}

function distinctOptions(values, label = (v) => v) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) || 0) + 1);
  return [...counts.entries()].sort((x, y) => (typeof x[0] === "number" ? x[0] - y[0]
    : String(x[0]).localeCompare(String(y[0]))))
    .map(([v, n]) => `<option value="${esc(v)}">${esc(label(v))} (${n})</option>`).join("");
}

function rowHtml(it, withVerdict, withExtras) {
  const m = it.m;
  const code = safeUrl(m.links?.code);
  const paper = safeUrl(m.links?.paper) || (m.arxiv ? `https://arxiv.org/abs/${encodeURIComponent(m.arxiv)}` : "");
  const claims = m.claims || 0;
  const verdict = withVerdict && it.verdicts.length ? ` <small>${esc(it.verdicts.join(", "))}</small>` : "";
  return `<tr data-method="${esc(m.id)}">`
    + `<th scope="row"><a href="${esc(it.href)}" title="${esc(m.title)}">${esc(m.name)}</a>`
    + (paper ? ` <a class="kbx-paper" href="${esc(paper)}" rel="noopener" title="paper">paper</a>` : "")
    + `</th><td>${esc(m.year)}</td>`
    + `<td title="${esc(m.category)}">${esc(it.categoryTitle)}</td>`
    + `<td>${esc(it.venue)}</td>`
    + `<td>${esc(it.bitsText)}</td>`
    + `<td>${esc((m.effect?.kind || "").replace(/_/g, " "))}</td>`
    + `<td>${code ? `<a href="${esc(code)}" rel="noopener">code</a>` : ""}</td>`
    + `<td>${claims || ""}${verdict}</td>`
    + `<td${m.roofline ? ` title="ideal bound in the scenario ${esc(m.roofline.scenario)}; prefill ${esc(number(m.roofline.prefill))}x"` : ""}>`
    + `${m.roofline ? `${esc(number(m.roofline.decode))}x` : ""}</td>`
    + (withExtras.quality ? `<td>${esc(qualityText(m))}</td>` : "")
    + (withExtras.support ? `<td>${(m.support || []).map((s) => (safeUrl(s.url)
      ? `<a href="${esc(safeUrl(s.url))}" rel="noopener">${esc(s.stack)}</a>` : esc(s.stack))).join(", ")}</td>` : "")
    + "</tr>";
}

const SORTERS = {
  name: (x, y) => x.m.name.localeCompare(y.m.name, "en", { numeric: true, sensitivity: "base" }),
  year: (x, y) => x.sortDate.localeCompare(y.sortDate),
  category: (x, y) => x.categoryTitle.localeCompare(y.categoryTitle),
  venue: (x, y) => (x.venue ? 0 : 1) - (y.venue ? 0 : 1) || x.venue.localeCompare(y.venue),
  bits: (x, y) => x.minBits - y.minBits,
  effect: (x, y) => (x.m.effect?.kind || "").localeCompare(y.m.effect?.kind || ""),
  code: (x, y) => (x.m.links?.code ? 0 : 1) - (y.m.links?.code ? 0 : 1),
  claims: (x, y) => (x.m.claims || 0) - (y.m.claims || 0),
  roofline: (x, y) => (x.m.roofline?.decode ?? -1) - (y.m.roofline?.decode ?? -1),
  quality: (x, y) => qualityText(x.m).localeCompare(qualityText(y.m)),
  support: (x, y) => (x.m.support || []).length - (y.m.support || []).length,
};

function matches(it, f) {
  const m = it.m;
  if (f.category && m.category !== f.category && !m.category.startsWith(`${f.category}/`)) return false;
  if (f.year_min && m.year < Number(f.year_min)) return false;
  if (f.year_max && m.year > Number(f.year_max)) return false;
  if (f.bits && !it.allBits.includes(Number(f.bits))) return false;
  if (f.venue && it.series !== f.venue) return false;
  if (f.effect && m.effect?.kind !== f.effect) return false;
  if (f.code === "1" && !safeUrl(m.links?.code)) return false;
  if (f.verdict && !it.verdicts.includes(f.verdict)) return false;
  if (f.text) {
    for (const pattern of f.patterns) if (!pattern.test(it.hay)) return false;
  }
  return true;
}

export function mount(root) {
  const path = location.pathname;
  let alive = true;
  root.setAttribute("aria-busy", "true");
  loadData("methods-index.json").then((methodsDoc) => {
    if (alive) start(root, prepare(methodsDoc), () => alive && location.pathname === path);
  }).catch((err) => {
    if (!alive) return;
    root.removeAttribute("aria-busy");
    root.innerHTML = `<p class="kbc-error" role="alert">The explorer could not start: ${esc(err.message || err)}. `
      + "It needs data/methods-index.json from this site.</p>";
  });
  return () => {
    alive = false;
  };
}

function start(root, data, stillHere) {
  const { items, categories } = data;
  const withVerdict = items.some((it) => it.verdicts.length);
  const withExtras = { quality: items.some((it) => it.m.quality), support: items.some((it) => it.m.support) };
  const columns = COLUMNS.concat(withExtras.quality ? [["quality", "Accuracy cost"]] : [],
    withExtras.support ? [["support", "Ships in"]] : []);
  const years = items.map((it) => it.m.year);
  const minYear = Math.min(...years), maxYear = Math.max(...years);

  const field = (key, label, control) => `<div class="kbc-field kbx-field-${key}"><label for="kbx-${key}">`
    + `${label}</label>${control}</div>`;
  root.removeAttribute("aria-busy");
  root.classList.add("kbc-ready");
  root.innerHTML = `<form class="kbx-filters" autocomplete="off" role="search">`
    + field("text", "Search", '<input type="search" id="kbx-text" name="text" placeholder="words or &quot;a phrase&quot;: name, title, author, tag…">')
    + field("category", "Category", `<select id="kbx-category" name="category"><option value="">all</option>`
      + `${categoryOptions(categories, items)}</select>`)
    + field("year_min", "From year", `<input type="number" id="kbx-year_min" name="year_min" min="1950" max="2100" placeholder="${minYear}">`)
    + field("year_max", "To year", `<input type="number" id="kbx-year_max" name="year_max" min="1950" max="2100" placeholder="${maxYear}">`)
    + field("bits", "Bit-width", `<select id="kbx-bits" name="bits"><option value="">any</option>`
      + `${distinctOptions(items.flatMap((it) => it.allBits), (b) => `${b}-bit`)}</select>`)
    + field("venue", "Venue", `<select id="kbx-venue" name="venue"><option value="">any</option>`
      + `${distinctOptions(items.map((it) => it.series), (v) => (v === NO_VENUE ? "none confirmed (preprint)" : v))}</select>`)
    + field("effect", "Effect", `<select id="kbx-effect" name="effect"><option value="">any</option>`
      + `${distinctOptions(items.map((it) => it.m.effect?.kind).filter(Boolean), (k) => k.replace(/_/g, " "))}</select>`)
    + (withVerdict ? field("verdict", "Claim verdict", `<select id="kbx-verdict" name="verdict"><option value="">any</option>`
      + `${distinctOptions(items.flatMap((it) => it.verdicts))}</select>`) : "")
    + `<div class="kbc-field kbc-check"><input type="checkbox" id="kbx-code" name="code" value="1">`
    + `<label for="kbx-code">has code</label></div>`
    + "</form>"
    + `<p class="kbx-ignored" data-role="ignored" role="status" hidden></p>`
    + `<div class="kbc-toolbar"><p class="kbx-count" data-role="count" aria-live="polite"></p>`
    + `<button type="button" class="md-button" data-action="bibtex">BibTeX</button>`
    + `<button type="button" class="md-button" data-action="csv">CSV</button>`
    + `<button type="button" class="md-button" data-action="reset">Clear filters</button></div>`
    + `<div class="kbc-table-wrap"><table class="kbx-table"><thead><tr>${columns.map(([key, label]) =>
      `<th scope="col" data-sort="${key}"><button type="button" data-sort="${key}">${label}</button></th>`).join("")}`
    + `</tr></thead><tbody></tbody></table></div>`
    + `<p class="kbx-empty" data-role="empty" hidden>No method matches these filters.</p>`;

  const form = root.querySelector("form");
  const tbody = root.querySelector("tbody");
  const count = root.querySelector('[data-role="count"]');
  const empty = root.querySelector('[data-role="empty"]');
  // Rows are built once; filtering and sorting only move them.
  const scratch = document.createElement("tbody");
  scratch.innerHTML = items.map((it) => rowHtml(it, withVerdict, withExtras)).join("");
  // Each cell names its column: on a phone the rows are cards that show the name before the value.
  for (const tr of scratch.children) [...tr.children].forEach((cell, i) => { cell.dataset.label = columns[i][1]; });
  const rows = new Map([...scratch.children].map((tr, i) => [items[i], tr]));

  const filters = {};
  let [sortKey, sortDir] = DEFAULT_SORT;
  const params = new URLSearchParams(location.search);
  const ignored = [];  // what the address asked for that the table cannot show: said, never dropped silently
  for (const key of FILTER_KEYS) {
    const value = params.get(key);
    const el = form.elements.namedItem(key);
    if (value === null || !el) continue;
    if (el.type === "checkbox") el.checked = value === "1";
    else el.value = value;
    // A select given a value it has no option for, or a number field given text, falls back to "any".
    const kept = el.type === "checkbox" ? ["", "0", "1"].includes(value) : el.value === value;
    if (!kept) ignored.push(`${key}=${value}`);
  }
  const sortParam = params.get("sort");
  if (sortParam !== null) {  // own keys only: "__proto__" or "valueOf" name no column
    if (Object.hasOwn(SORTERS, sortParam)) sortKey = sortParam;
    else ignored.push(`sort=${sortParam}`);
  }
  const orderParam = params.get("order");
  if (orderParam === "asc" || orderParam === "desc") sortDir = orderParam;
  else if (orderParam !== null) ignored.push(`order=${orderParam}`);
  const note = root.querySelector('[data-role="ignored"]');
  if (ignored.length) {
    note.textContent = `Ignored from the address (no such value here): ${ignored.join(", ")}.`;
    note.hidden = false;
  }

  let shown = items;

  const saveUrl = debounce(() => {
    if (!stillHere() || !root.isConnected) return;
    const out = new URLSearchParams();
    for (const key of FILTER_KEYS) if (filters[key]) out.set(key, filters[key]);
    if (sortKey !== DEFAULT_SORT[0] || sortDir !== DEFAULT_SORT[1]) {
      out.set("sort", sortKey);
      out.set("order", sortDir);
    }
    writeQuery(out);
  }, 150);

  function readFilters() {
    for (const key of FILTER_KEYS) {
      const el = form.elements.namedItem(key);
      if (!el) continue;
      filters[key] = el.type === "checkbox" ? (el.checked ? "1" : "") : el.value.trim();
    }
    filters.patterns = parseTerms(filters.text).map(termPattern);
  }

  function update() {
    readFilters();
    const cmp = SORTERS[sortKey];
    const sign = sortDir === "asc" ? 1 : -1;
    shown = items.filter((it) => matches(it, filters))
      .sort((x, y) => sign * cmp(x, y) || SORTERS.name(x, y));
    tbody.replaceChildren(...shown.map((it) => rows.get(it)));
    count.dataset.value = String(shown.length);
    count.textContent = shown.length === items.length ? `All ${items.length} methods`
      : `${shown.length} of ${items.length} methods`;
    empty.hidden = shown.length > 0;
    for (const th of root.querySelectorAll("th[data-sort]")) {
      th.setAttribute("aria-sort", th.dataset.sort === sortKey ? (sortDir === "asc" ? "ascending" : "descending") : "none");
    }
    for (const action of ["bibtex", "csv"]) {
      const button = root.querySelector(`[data-action="${action}"]`);
      button.textContent = `${action === "bibtex" ? "BibTeX" : "CSV"} (${shown.length})`;
      button.disabled = shown.length === 0;
    }
    saveUrl();
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
  form.addEventListener("submit", (event) => event.preventDefault());
  root.addEventListener("click", (event) => {
    const sortButton = event.target.closest("button[data-sort]");
    if (sortButton) {
      const key = sortButton.dataset.sort;
      if (key === sortKey) sortDir = sortDir === "asc" ? "desc" : "asc";
      else {
        sortKey = key;
        sortDir = key === "year" || key === "claims" ? "desc" : "asc";
      }
      update();
      return;
    }
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    if (button.dataset.action === "bibtex") {
      const selection = shown;
      button.disabled = true;
      loadData("methods.json").then((full) => {  // the records, with BibTeX, only when asked for
        const bib = new Map((full.methods || []).map((m) => [m.id, (m.bibtex || "").trim()]));
        const text = selection.map((it) => bib.get(it.m.id)).filter(Boolean).join("\n\n");
        download("llm-inference-methods.bib", `${text}\n`, "application/x-bibtex;charset=utf-8");
      }).catch((err) => {
        count.textContent = `BibTeX could not be loaded: ${err.message || err}`;
      }).finally(() => {
        button.disabled = selection.length === 0;
      });
    } else if (button.dataset.action === "csv") {
      download("llm-inference-methods.csv", toCsv(shown), "text/csv;charset=utf-8");
    } else if (button.dataset.action === "reset") {
      form.reset();
      update();
    }
  });
  update();
}
