"""MkDocs hooks: load the knowledge base, hand its generated pages and navigation to MkDocs.

Thin on purpose: loading lives in `kb.load`, Markdown in `kb.render`. An invalid entry stops the build
with the same `path:line: field: message` report as `python -m kb check`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

from calculator import CalculatorError
from kb.analysis import Catalogue, analyze_kb
from kb.catalogue import CatalogueError
from kb.analysis_pages import analysis_records, analysis_section, claims_page, roofline_column, roofline_summary
from kb.exports import calculator_methods_json, catalogue_json, methods_index_json, methods_json, references_bib
from kb.features import features_section
from kb.feed import FEED_PATH, atom_feed, recent_list
from kb.glance import glance_items
from kb.search import search_meta
from kb.load import KB, format_problems, load
from kb import home, preview
from kb.render import METHODS_INDEX, nav_tree, render_site

RECENT_MARKER = "<!-- kb:recently-added -->"

log = logging.getLogger("mkdocs.hooks.kb_pages")
_kb: KB | None = None
_analyses: dict = {}


def _one_line(hook):
    """A bug of ours must not reach a contributor as a traceback: it becomes one line that says so."""
    import functools

    @functools.wraps(hook)
    def run(*args, **kwargs):
        try:
            return hook(*args, **kwargs)
        except PluginError:
            raise
        except Exception as exc:  # noqa: BLE001 (anything else is a bug: name it, in one line)
            first = (str(exc).splitlines() or [""])[0][:200]
            raise PluginError(f"internal error in the site build ({type(exc).__name__}: {first}); "
                              "please report it") from None
    return run


def on_startup(command, dirty):
    preview.set_command(command)  # `serve` keeps state between rebuilds and shows problems in the page


@_one_line
def on_config(config):
    global _kb, _analyses
    root = Path(config.config_file_path).parent
    kb = load(root)
    good = None
    if kb.problems:
        report = format_problems(kb.problems)
        if not preview.serving():
            raise PluginError(f"the knowledge base has {len(kb.problems)} problem(s):\n" + report)
        log.error("the knowledge base has %d problem(s); the preview shows them at the top of the entry's "
                  "page and of the methods overview:\n%s", len(kb.problems), report)
        good = preview.fall_back(report)
    if good:
        _kb, _analyses = good
    else:
        _kb = kb
        try:  # once per build: every page reads from it (while serving, only changed entries)
            _analyses = preview.cached_analyses(kb, root, analyze_kb, analyze_kb)
        except (CalculatorError, CatalogueError) as exc:  # kb check should have refused the input: one line
            raise PluginError(f"the roofline analysis failed on valid-looking data: {exc}") from None
        if not kb.problems:
            preview.remember_good(_kb, _analyses)
    config.nav = [_expand(item) for item in config.nav or []]
    return config


def _expand(item):
    """Replace the nav entry that points at the methods overview with the whole taxonomy."""
    if isinstance(item, dict):
        (title, value), = item.items()
        if value == METHODS_INDEX:
            return {title: nav_tree(_kb)}
    return item


@_one_line
def on_page_markdown(markdown: str, page, config, files):
    # Search ranking of pages whose front matter is not ours to write (kb.search_meta).
    meta = search_meta(page.file.src_uri)
    if meta and "search" not in page.meta:
        page.meta["search"] = meta
    # Hand-written pages name the generated parts they show by a marker.
    if RECENT_MARKER in markdown:
        markdown = markdown.replace(RECENT_MARKER, recent_list(_kb, page.file.src_uri))
    return home.fill(markdown, _kb)  # the home page's roofline picture, computed here


@_one_line
def on_files(files: Files, config) -> Files:
    pages = render_site(_kb, [analysis_section(_analyses), features_section(Catalogue(_kb).models)],
                        roofline_column(_analyses),
                        glance_items(_kb, _analyses))
    pages["claims.md"] = claims_page(_kb, _analyses)
    for path, content in pages.items():
        source = None
        if path.startswith("methods/") and path != METHODS_INDEX:
            source = _kb.source_of(path.removeprefix("methods/").removesuffix(".md"))
        file = preview.page_file(config, path, content + preview.problems_marker(path, source), File.generated)
        if source:
            file.edit_uri = "../" + source  # the edit button opens the YAML file, which lives outside docs/
        files.append(file)
    for path, content in (("references.bib", references_bib(_kb)), ("data/methods.json", methods_json(_kb, analysis_records(_analyses))),
                          ("data/catalogue.json", catalogue_json(_kb)),
                          ("data/calculator-methods.json", calculator_methods_json(_kb)),
                          ("data/methods-index.json",
                           methods_index_json(_kb, {k: a.claims for k, a in _analyses.items()},
                                              roofline_summary(_analyses))),
                          (FEED_PATH, atom_feed(_kb, config.site_url or "https://localhost/"))):
        files.append(File.generated(config, path, content=content))
    return files


def on_post_page(output: str, page, config) -> str:
    return preview.banner(output)  # while serving an edit that does not check: its report, at the top
