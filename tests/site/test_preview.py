"""The preview loop of `make serve` (issue 19.8), driven in-process the way `mkdocs serve --dirty` builds:
a save rebuilds only what changed, and an edit that does not check shows its report in the page while the
site keeps the last state that did. `mkdocs build` is unaffected (test_build checks that it still stops)."""

from __future__ import annotations

import re

import pytest

from benchmarks.bench_preview import build_as_serve as _build
from kb import preview
from tests.site.conftest import make_project

ENTRY = "kb/methods/toy-branch/toy-leaf/toy-method.yaml"


@pytest.fixture
def serving():
    preview.reset()
    preview.set_command("serve")
    yield
    preview.reset()  # later tests build as `mkdocs build` does


def _page(site) -> str:
    return (site / "methods" / "toy-method" / "index.html").read_text(encoding="utf-8")


def test_an_invalid_save_shows_its_report_in_the_page_and_a_fix_removes_it(tmp_path, serving):
    project = make_project(tmp_path)
    site = tmp_path / "site"
    entry = project / ENTRY
    good = entry.read_text()
    _build(project, site, dirty=False)
    assert "kb-preview-problems" not in _page(site)

    entry.write_text(good.replace("year: 2099", "year: soon <b>"))
    _build(project, site, dirty=True)  # does not raise: the preview keeps serving
    page = _page(site)
    box = re.search(r'<div class="kb-preview-problems"[^>]*>(.*?)</div>', page, re.S)
    assert box, "the report is not at the top of the page"
    assert f"{ENTRY}:6: year:" in box.group(1)
    assert "&lt;b&gt;" in box.group(1) and "<b>" not in box.group(1)  # the report is escaped
    assert "ToyQuant" in page  # the last state that checked is still shown

    entry.write_text(good.replace("Stores toy weights", "Keeps toy weights"))
    _build(project, site, dirty=True)
    page = _page(site)
    assert "kb-preview-problems" not in page and "Keeps toy weights" in page


def test_a_dirty_rebuild_redraws_only_the_changed_pages(tmp_path, serving):
    project = make_project(tmp_path)
    site = tmp_path / "site"
    _build(project, site, dirty=False)
    about = site / "methods" / "toy-method" / "index.html"
    others = [p for p in site.rglob("index.html") if p != about and "categories" in p.parts]
    assert others
    before = {p: p.stat().st_mtime_ns for p in others}
    entry = project / ENTRY
    entry.write_text(entry.read_text().replace("Stores toy weights", "Keeps toy weights"))
    _build(project, site, dirty=True)
    assert "Keeps toy weights" in about.read_text(encoding="utf-8")
    assert {p: p.stat().st_mtime_ns for p in others} == before  # unchanged pages were not rewritten
