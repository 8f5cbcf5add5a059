"""MkDocs hooks: load the knowledge base, hand its generated pages and navigation to MkDocs.

Thin on purpose: loading lives in `kb.load`, Markdown in `kb.render`. An invalid entry stops the build
with the same `path:line: field: message` report as `python -m kb check`.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from kb.analysis import analyze_kb
from kb.analysis_pages import analysis_records, analysis_section, claims_page, roofline_column
from kb.exports import catalogue_json, methods_json, references_bib
from kb.load import KB, format_problems, load
from kb.render import METHODS_INDEX, nav_tree, render_site

_kb: KB | None = None
_analyses: dict = {}


def on_config(config):
    global _kb, _analyses
    _kb = load(Path(config.config_file_path).parent)
    if _kb.problems:
        raise PluginError(f"the knowledge base has {len(_kb.problems)} problem(s):\n"
                          + format_problems(_kb.problems))
    _analyses = analyze_kb(_kb)  # once per build: every page reads from it
    config.nav = [_expand(item) for item in config.nav or []]
    return config


def _expand(item):
    """Replace the nav entry that points at the methods overview with the whole taxonomy."""
    if isinstance(item, dict):
        (title, value), = item.items()
        if value == METHODS_INDEX:
            return {title: nav_tree(_kb)}
    return item


def on_files(files: Files, config) -> Files:
    pages = render_site(_kb, [analysis_section(_analyses)], roofline_column(_analyses))
    pages["claims.md"] = claims_page(_kb, _analyses)
    for path, content in pages.items():
        file = File.generated(config, path, content=content)
        if path.startswith("methods/") and path != METHODS_INDEX:
            method_id = path.removeprefix("methods/").removesuffix(".md")
            # The edit button opens the YAML file, which lives outside docs/.
            file.edit_uri = "../" + _kb.source_of(method_id)
        files.append(file)
    for path, content in (("references.bib", references_bib(_kb)), ("data/methods.json", methods_json(_kb, analysis_records(_analyses))),
                          ("data/catalogue.json", catalogue_json(_kb))):
        files.append(File.generated(config, path, content=content))
    return files
