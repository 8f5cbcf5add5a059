"""The preview loop of `make serve` (issue 19.8): how long a save takes to show, measured in-process with
MkDocs' own build function as `mkdocs serve --dirty` calls it, on a copy of the real knowledge base.

Three figures: the first (full) build, a rebuild after one entry's summary changed, and a rebuild after
an edit that does not check (the page then shows the report).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.synthetic import make_project

ENTRY = "kb/methods/compression/quantization/ptq/weight-only/awq.yaml"


def build_as_serve(project: Path, site: Path, dirty: bool) -> float:
    """One build as `mkdocs serve [--dirty]` runs it (its hooks see the `serve` command); seconds taken."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    config = load_config(str(project / "mkdocs.yml"), site_dir=str(site), strict=False)
    config.plugins.on_startup(command="serve", dirty=dirty)
    start = time.perf_counter()
    build(config, dirty=dirty)
    return time.perf_counter() - start


def measure(entries: int) -> dict:
    from kb import preview

    with tempfile.TemporaryDirectory() as tmp:
        project = make_project(Path(tmp), entries)
        site = Path(tmp) / "site"
        entry = project / ENTRY
        text = entry.read_text(encoding="utf-8")
        preview.reset()
        preview.set_command("serve")
        try:
            full = build_as_serve(project, site, dirty=False)
            entry.write_text(text.replace("summary: >", "summary: >\n  Edited.", 1), encoding="utf-8")
            edit = build_as_serve(project, site, dirty=True)
            entry.write_text(text.replace("\nyear: ", "\nyear: twenty #", 1), encoding="utf-8")
            broken = build_as_serve(project, site, dirty=True)
            shown = "kb-preview-problems" in (site / "methods" / "awq" / "index.html").read_text(encoding="utf-8")
        finally:
            preview.reset()
    return {"preview_full_build_s": full, "preview_edit_rebuild_s": edit, "preview_invalid_rebuild_s": broken,
            "preview_report_in_page": shown}
