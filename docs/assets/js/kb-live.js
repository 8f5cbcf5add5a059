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

function onPage() {
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
