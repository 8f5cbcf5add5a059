"""Page weights of the built site, gzipped (what a reader downloads): `make bench` reports them against
their budgets (issue 19.6).

A page's weight is its HTML plus every stylesheet and script it names, and, for a module script, the
modules it imports (followed through `import ... from "./x.js"` and `import("./x.js")`); the data files a
page fetches (data/*.json) and the search index (loaded when the search box is used) are counted apart.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from urllib.parse import urljoin, urlparse

BUDGETS_KB = {"method_page_kb": 100.0, "search_index_kb": 400.0}
PAGES = {"method_page": "methods/awq/", "calculator": "calculator/", "explorer": "explorer/", "home": ""}
DATA = {"calculator": ["data/catalogue.json", "data/calculator-methods.json"], "explorer": ["data/methods-index.json"]}
APPS = {"calculator": "assets/js/calculator-ui.js", "explorer": "assets/js/explorer.js"}  # what kb-live.js imports there

_ASSET = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="([^"]+)"')
_IMPORT = re.compile(r'''(?:\bfrom\s*|\bimport\s+)["'](\.{1,2}/[^"']+\.js)["']''')  # static imports only


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def _local(site: Path, page_url: str, ref: str) -> Path | None:
    url = urlparse(urljoin("http://site/" + page_url, ref))
    if url.netloc != "site":
        return None
    path = site / url.path.lstrip("/")
    return path / "index.html" if path.is_dir() else path


def page_weight(site: Path, page: str, app: str | None = None) -> dict:
    """Gzipped bytes of a page's HTML, CSS and JS, with the modules its scripts import statically and, for
    a page that mounts an app, that app's module and its imports."""
    html = (site / page / "index.html").read_bytes()
    files: dict[Path, int] = {}
    todo = [p for ref in _ASSET.findall(html.decode()) if (p := _local(site, page, ref)) and p.is_file()]
    if app:
        todo.append(site / app)
    while todo:
        path = todo.pop()
        if path in files:
            continue
        data = path.read_bytes()
        files[path] = gz(data)
        if path.suffix == ".js":
            rel = path.relative_to(site).as_posix()
            todo += [p for ref in _IMPORT.findall(data.decode(errors="replace"))
                     if (p := _local(site, rel, ref)) and p.is_file()]
    css = sum(v for k, v in files.items() if k.suffix == ".css")
    js = sum(v for k, v in files.items() if k.suffix == ".js")
    return {"html_kb": round(gz(html) / 1024, 1), "css_kb": round(css / 1024, 1), "js_kb": round(js / 1024, 1),
            "total_kb": round((gz(html) + css + js) / 1024, 1), "files": len(files) + 1}


def measure(site: Path) -> dict:
    """Each page's weight (the calculator and the explorer with their app module and data); the search
    index; data/methods.json, which no page loads up front (the explorer fetches it for a BibTeX download)."""
    out = {}
    for name, page in PAGES.items():
        w = page_weight(site, page, APPS.get(name))
        if name in DATA:
            w["data_kb"] = round(sum(gz((site / d).read_bytes()) for d in DATA[name]) / 1024, 1)
        out[name] = w
    index = site / "search" / "search_index.json"
    out["search_index_kb"] = round(gz(index.read_bytes()) / 1024, 1) if index.exists() else None
    out["methods_json_kb"] = round(gz((site / "data/methods.json").read_bytes()) / 1024, 1)
    out["budgets_kb"] = BUDGETS_KB
    return out


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(measure(Path(sys.argv[1])), indent=1))
