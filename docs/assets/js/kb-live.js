// Entry point of the site's own scripts, loaded on every page (mkdocs.yml extra_javascript).
//
// Material's instant navigation swaps pages without reloading scripts and announces each new page
// on `document$`; without it (or before the theme's bundle has run) the page's DOMContentLoaded is
// used. A page opts in with an element: #kb-calculator (the live calculator) or #kb-explorer (the
// methods explorer); its module is imported only there.

const APPS = [
  ["#kb-calculator", () => import("./calculator-ui.js")],
  ["#kb-explorer", () => import("./explorer.js")],
];

let stops = [];

function failed(root, err) {
  root.removeAttribute("aria-busy");
  const p = document.createElement("p");
  p.className = "kbc-error";
  p.setAttribute("role", "alert");
  p.textContent = `This part of the page could not start: ${err && err.message ? err.message : err}`;
  root.replaceChildren(p);
}

// Tables that become cards on a phone (kb.css, .kb-cards): each cell carries its column's name, which
// the card shows before the value. Generated pages are Markdown tables, which cannot say it themselves.
function labelCards() {
  for (const table of document.querySelectorAll(".kb-cards table")) {
    if (table.dataset.kbLabelled) continue;
    table.dataset.kbLabelled = "1";
    const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const tr of table.querySelectorAll("tbody tr")) {
      [...tr.children].forEach((td, i) => {
        if (names[i] && !td.dataset.label) td.dataset.label = names[i];
      });
    }
  }
}

// Catalogue tables (.kb-sortable): a click on a column's name sorts by it, numbers as numbers (commas,
// a trailing * and units ignored), empty cells last; a second click reverses.
function sortValue(cell) {
  const t = cell.textContent.trim();
  const n = Number.parseFloat(t.replace(/,/g, ""));
  return { empty: t === "", num: /^[\d.,]+/.test(t) && Number.isFinite(n) ? n : null, text: t.toLowerCase() };
}

function makeSortable() {
  for (const table of document.querySelectorAll(".kb-sortable table")) {
    if (table.dataset.kbSortable) continue;
    table.dataset.kbSortable = "1";
    const tbody = table.tBodies[0];
    [...table.querySelectorAll("thead th")].forEach((th, col) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "kb-sort";
      button.append(...th.childNodes);
      th.append(button);
      button.addEventListener("click", () => {
        const dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
        for (const other of table.querySelectorAll("thead th")) other.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        const rows = [...tbody.rows].map((tr) => [sortValue(tr.cells[col]), tr]);
        rows.sort(([a], [b]) => {
          if (a.empty !== b.empty) return a.empty ? 1 : -1;
          if (a.num !== null && b.num !== null) return dir * (a.num - b.num);
          return dir * a.text.localeCompare(b.text, "en", { numeric: true });
        });
        tbody.append(...rows.map(([, tr]) => tr));
      });
    });
  }
}

// Touch gets what hover gives: a tap on a chart point (an SVG shape with a <title>) shows its title in
// a tip beside it, until the next tap elsewhere. Links (timeline dots) keep navigating.
let tip = null;
function showTip(event) {
  const shape = event.target.closest && event.target.closest("svg circle, svg rect, svg [data-tip]");
  const title = shape && !shape.closest("a") && shape.querySelector(":scope > title");
  if (!title) {
    if (tip) tip.hidden = true;
    return;
  }
  if (!tip) {
    tip = document.createElement("div");
    tip.className = "kb-tip";
    tip.setAttribute("role", "status");
    document.body.append(tip);
  }
  tip.textContent = title.textContent;
  tip.hidden = false;
  const box = shape.getBoundingClientRect();
  const width = Math.min(320, window.innerWidth - 16);
  tip.style.maxWidth = `${width}px`;
  tip.style.left = `${Math.max(8, Math.min(box.left + window.scrollX, window.scrollX + window.innerWidth - width - 8))}px`;
  tip.style.top = `${box.bottom + window.scrollY + 6}px`;
}
document.addEventListener("click", showTip);

function onPage() {
  labelCards();
  makeSortable();
  if (tip) tip.hidden = true;
  for (const stop of stops) stop();
  stops = [];
  for (const [selector, load] of APPS) {
    const root = document.querySelector(selector);
    if (!root || root.dataset.kbMounted) continue;
    root.dataset.kbMounted = "1";
    load().then((app) => {
      const stop = app.mount(root);
      if (typeof stop === "function") stops.push(stop);
    }).catch((err) => failed(root, err));
  }
}

if (window.document$ && typeof window.document$.subscribe === "function") {
  window.document$.subscribe(onPage);
} else if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", onPage, { once: true });
} else {
  onPage();
}
