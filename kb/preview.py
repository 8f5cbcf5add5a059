"""The preview loop of `make serve`: rebuild in seconds, and show an invalid edit's report in the page.

MkDocs runs the hooks module afresh on every rebuild, so what must outlive one rebuild lives here, in a
module imported the normal way. Nothing here runs for `mkdocs build` (tests, CI, the published site):
there every build computes everything and an invalid entry stops it.

While serving (`mkdocs serve --dirty`, which `make serve` runs):
- an entry's analysis is reused when neither the entry nor the catalogues, scenarios, taxonomy or
  calibration data changed (the analysis depends on nothing else; code changes need a restart anyway);
- generated pages are written to a scratch folder only when their text changed, so MkDocs' dirty build
  re-renders just those pages (the navigation and search index of other pages stay as they were until a
  restart: MkDocs' documented trade-off of `--dirty`);
- an edit that does not check keeps the last site that did, and every generated page shows the
  `path:line: field: message` report at its top until the edit is fixed.
"""

from __future__ import annotations

import hashlib
import html
import os
import tempfile
from pathlib import Path

__all__ = ["banner", "cached_analyses", "fall_back", "page_file", "problems_marker", "remember_good", "reset",
           "serving", "set_command"]

_state: dict = {"command": "build", "good": None, "problems": ""}
_memo: dict[str, tuple[str, object]] = {}
_pages: dict[str, str] = {}  # src_uri -> text last written to the scratch folder
_scratch: list[str] = []


def set_command(command: str) -> None:
    """Called by the hooks' on_startup: ``serve``, ``build`` or ``gh-deploy``."""
    _state["command"] = command


def reset() -> None:
    """Forget everything (tests and benchmarks that serve more than one project in one process)."""
    _state.update(command="build", good=None, problems="")
    _memo.clear()
    _pages.clear()
    _scratch.clear()


def serving() -> bool:
    return _state["command"] == "serve"


def _context_signature(root: Path) -> str:
    """What every analysis depends on besides its own entry: catalogues, scenarios, taxonomy, calibration."""
    digest = hashlib.sha1()
    kb = root / "kb"
    paths = [*sorted((kb / "models").glob("*.yaml")), *sorted((kb / "hardware").glob("*.yaml")),
             kb / "scenarios.yaml", kb / "taxonomy.yaml", *sorted((root / "calculator").glob("*.json"))]
    for path in paths:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cached_analyses(kb, root: Path, analyze_all, analyze_one) -> dict:
    """Every method's analysis; while serving, only the changed entries' are recomputed."""
    if not serving():
        return analyze_all(kb)
    context = _context_signature(root)
    out, todo = {}, []
    for method_id, method in kb.methods.items():
        key = hashlib.sha1((context + method.model_dump_json()).encode()).hexdigest()
        hit = _memo.get(method_id)
        if hit and hit[0] == key:
            out[method_id] = hit[1]
        else:
            todo.append((method_id, key))
    if todo:
        fresh = analyze_one(kb, [method_id for method_id, _ in todo])
        for method_id, key in todo:
            _memo[method_id] = (key, fresh[method_id])
            out[method_id] = fresh[method_id]
    return out


def remember_good(kb, analyses) -> None:
    _state["good"] = (kb, analyses)
    _state["problems"] = ""


def fall_back(report: str):
    """The last (kb, analyses) that checked, or None; the report is shown on every generated page."""
    _state["problems"] = report
    return _state["good"]


def problems_marker(src_uri: str, source: str | None) -> str:
    """A comment that changes a generated page's text while the problems last, so a dirty build redraws it
    with the report: the pages of the entries the report names and the methods overview (redrawing all
    900 pages would take as long as a full build)."""
    report = _state["problems"]
    if not report or not (src_uri == "methods/index.md" or (source and source in report)):
        return ""
    return f"\n<!-- kb:preview-problems {hashlib.sha1(report.encode()).hexdigest()[:12]} -->\n"


def banner(output: str) -> str:
    """The page HTML with the current report at the top of its body, escaped; unchanged when all checks."""
    report = _state["problems"]
    if not report or not serving():
        return output
    lines = report.splitlines()
    box = ('<div class="kb-preview-problems" role="alert" style="margin:0;padding:.8em 1.2em;'
           'background:#b71c1c;color:#fff;font:14px/1.45 monospace;white-space:pre-wrap">'
           f"<strong>The knowledge base has {len(lines)} problem(s); the site shows the last state that "
           f"checked. Fix the file and save to reload.</strong>\n{html.escape(report)}</div>")
    start = output.find("<body")
    end = output.find(">", start) if start >= 0 else -1
    return output[: end + 1] + box + output[end + 1:] if end >= 0 else box + output


def page_file(config, src_uri: str, content: str, generated):
    """A generated page: in memory for a build; while serving, a scratch file rewritten only on change."""
    if not serving():
        return generated(config, src_uri, content=content)
    if not _scratch:
        _scratch.append(tempfile.mkdtemp(prefix="kb-preview-"))
    path = os.path.join(_scratch[0], *src_uri.split("/"))
    if _pages.get(src_uri) != content or not os.path.isfile(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
        _pages[src_uri] = content
    return generated(config, src_uri, abs_src_path=path)
