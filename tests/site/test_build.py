"""A real `mkdocs build --strict` of the repository, then checks on the generated HTML."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

from kb.analysis import SERVING_METRIC_WORDS
from kb.load import load
from tests.site.conftest import REPO, make_project, mkdocs_build

KB = load(REPO)


def test_every_entry_has_a_page_with_an_edit_link_to_its_yaml(built_site):
    for method_id, method in KB.methods.items():
        page = built_site / "methods" / method_id / "index.html"
        assert page.exists(), method_id
        html = page.read_text()
        yaml_path = KB.source_of(method_id)
        assert f'/edit/main/{yaml_path}"' in html, method_id


def test_every_category_has_an_index_page_listing_its_methods(built_site):
    for path, cat in KB.categories.items():
        page = built_site / "categories" / path / "index.html"
        assert page.exists(), path
        html = page.read_text()
        for method in KB.methods_in(path):
            assert f'href="../{"../" * path.count("/")}../methods/{method.id}/"' in html, (path, method.id)


def test_navigation_follows_the_taxonomy(built_site):
    """The methods overview lists every branch; a method page's nav opens its own branch down to it."""
    for root in KB.taxonomy:
        assert root.title in (built_site / "methods" / "index.html").read_text()
    method = KB.methods["gptq"] if "gptq" in KB.methods else next(iter(KB.methods.values()))
    html = (built_site / "methods" / method.id / "index.html").read_text()
    nav = html[html.index('class="md-nav md-nav--primary"'):html.index("</nav>", html.index("md-nav--primary"))]
    path = method.category
    while path:
        assert KB.categories[path].node.title in html, path
        path = KB.categories[path].parent or ""
    assert method.name in nav


def test_search_index_holds_names_aliases_and_titles(built_site):
    index = json.loads((built_site / "search" / "search_index.json").read_text())
    pages = {doc["location"]: doc for doc in index["docs"] if "#" not in doc["location"]}
    with_alias = next(m for m in KB.methods.values() if m.aliases)
    doc = pages[f"methods/{with_alias.id}/"]
    assert doc["title"] == with_alias.name
    blob = json.dumps(index)
    assert with_alias.aliases[0].split("(")[0].strip() in blob
    assert with_alias.title.split(":")[0] in blob


def test_no_third_party_hosts_in_pages(built_site):
    for page in list(built_site.rglob("*.html"))[:50] + [built_site / "index.html"]:
        html = page.read_text()
        loaded = re.findall(r'<script[^>]+src="(https?://[^"]+)"', html)
        loaded += [m for m in re.findall(r'<link([^>]+)>', html)
                   if re.search(r'href="https?://', m) and not re.search(r'rel="(canonical|alternate)"', m)]
        loaded += re.findall(r'<img[^>]+src="(https?://[^"]+)"', html)
        assert not loaded, f"{page}: loads {loaded}"


def test_hostile_text_is_escaped_in_the_html(tmp_path):
    project = make_project(tmp_path)
    entry = project / "kb/methods/toy-branch/toy-leaf/toy-method.yaml"
    text = entry.read_text().replace(
        "  Stores toy weights", "  <script>alert('x')</script> <img src=x onerror=alert(1)> "
        "[click](javascript:alert(1)) Stores toy weights")
    text = text.replace("aliases: [TQ]", "aliases: ['<b>bold</b>', '[a](javascript:x)']")
    entry.write_text(text)
    res = mkdocs_build(project, tmp_path / "site")
    assert res.returncode == 0, res.stderr[-2000:]
    html = (tmp_path / "site/methods/toy-method/index.html").read_text()
    article = html[html.index("<article"):html.index("</article>")]
    assert "<script>alert" not in article and "<img src=x" not in article and "<b>bold" not in article
    assert 'href="javascript' not in article
    assert "&lt;script&gt;" in article or "&#60;script&#62;" in article


def test_an_invalid_entry_stops_the_build_with_the_check_report(tmp_path):
    project = make_project(tmp_path)
    bad = project / "kb/methods/toy-branch/toy-leaf/toy-method.yaml"
    bad.write_text(bad.read_text().replace("year: 2099", "year: soon"))
    res = mkdocs_build(project, tmp_path / "site")
    assert res.returncode != 0
    assert "kb/methods/toy-branch/toy-leaf/toy-method.yaml:6: year:" in res.stderr
    assert not (tmp_path / "site" / "index.html").exists()  # no half-built site


def test_timeline_chart_has_a_linked_dot_per_dated_method(built_site):
    html = (built_site / "timeline" / "index.html").read_text()
    start = html.index('<svg class="kb-timeline"')
    svg = html[start:html.index("</svg>", start)]
    dated = [m for m in KB.methods.values() if m.month and m.year >= 2017]
    assert svg.count("<circle") == len(dated)
    some = dated[0]
    assert f'data-method="{some.id}"' in svg and "<a " not in svg
    assert f'href="../methods/{some.id}/"' in html  # the by-month table links it


def test_exports_hold_every_entry_and_parse(built_site):
    import bibtexparser

    data = json.loads((built_site / "data" / "methods.json").read_text())
    assert {m["id"] for m in data["methods"]} == set(KB.methods)
    library = bibtexparser.parse_string((built_site / "references.bib").read_text())
    assert not library.failed_blocks and len(library.entries) == len(KB.methods)
    catalogue = json.loads((built_site / "data" / "catalogue.json").read_text())
    assert set(catalogue["hardware"]) == set(KB.hardware) and set(catalogue["models"]) == set(KB.models)


def test_hardware_and_models_pages_list_the_catalogues(built_site):
    hw = (built_site / "hardware" / "index.html").read_text()
    models = (built_site / "models" / "index.html").read_text()
    assert all(f"<code>{i}</code>" in hw for i in KB.hardware)
    assert all(f"<code>{i}</code>" in models for i in KB.models)


def test_every_method_page_has_an_analysis_or_a_reason(built_site):
    for method_id in KB.methods:
        html = (built_site / "methods" / method_id / "index.html").read_text()
        section = html[html.index('id="roofline-analysis"'):]
        if KB.methods[method_id].effect.kind == "serving":  # two servers compared, redone with --stage serve
            assert "A serving method:" in section and "--stage serve" in section, method_id
            continue
        assert "Speedup" in section or "Not modelled:" in section, method_id
        assert "calculator/?model=" in section, method_id


def test_methods_json_carries_scenarios_verdicts_and_version(built_site):
    import calculator

    data = json.loads((built_site / "data" / "methods.json").read_text())
    from kb.analysis import VERDICTS

    verdicts = set(VERDICTS)  # plausible, optimistic, beyond the bound; consistent, above the roofline bound; not checkable
    for record in data["methods"]:
        assert record["calculator_version"] == calculator.__version__
        assert record["scenarios"] or record["serving"] or record["analysis_note"], record["id"]
        for row in record["serving"]:
            assert row["gain"] == (row["method"] / row["baseline"] if row["baseline"] else None)
        for row in record["scenarios"]:
            if row["baseline_fits"] and row["method_fits"]:
                assert row["speedup"] == row["baseline_time_s"] / row["method_time_s"]
            else:  # a setup that cannot run gets no latency and no speedup
                assert row["speedup"] is None
                assert None in (row["baseline_time_s"], row["method_time_s"])
            assert row["stage"] in ("prefill", "decode") and row["model"] in KB.models
        assert len(record["claim_checks"]) == len(record.get("claims", []))
        assert all(c["verdict"] in verdicts for c in record["claim_checks"])


def test_methods_json_validates_against_its_published_schema(built_site):
    from kb.schema import MethodsData

    data = MethodsData.model_validate_json((built_site / "data" / "methods.json").read_text())
    assert len(data.methods) == len(KB.methods)


def test_category_tables_put_the_roofline_next_to_the_claims(built_site):
    """Each method row of a category table carries its main scenario's ideal-bound speedups from methods.json."""
    records = {r["id"]: r for r in json.loads((built_site / "data" / "methods.json").read_text())["methods"]}
    seen = 0
    for path in KB.categories:
        methods = KB.methods_in(path)
        if not methods:
            continue
        html = (built_site / "categories" / path / "index.html").read_text()
        html = html[html.index('id="methods"'):]  # the comparison table, not the navigation
        assert "<th>Roofline: ideal bound, main scenario</th>" in html, path
        for method in methods:
            row = html[html.index(f'/methods/{method.id}/"'):]
            row = row[:row.index("</tr>")]
            rec = records[method.id]
            first = next((r for r in rec["serving"] if r["gain"] is not None), None)
            if first:  # a serving method: its gain as a loaded server, at its first setting with one
                what = SERVING_METRIC_WORDS[first["metric"]]
                assert f'<td>{first["gain"]:.2f}x {what} ({first["label"].lower()})</td>' in unescape(row), method.id
                seen += 1
                continue
            main = {r["stage"]: r for r in rec["scenarios"] if r["scenario"] == rec["primary_scenario"]}
            want = (f'{main["decode"]["speedup"]:.2f}x decode, {main["prefill"]["speedup"]:.2f}x prefill '
                    f'({main["decode"]["label"].lower()})') if main and main["decode"]["speedup"] else "not modelled"
            if main and main["decode"]["speedup"] is None:  # a setup that does not fit: said in words
                assert "does not fit" in unescape(row), (path, method.id)
                seen += 1
                continue
            assert f"<td>{want}</td>" in unescape(row), (path, method.id)
            seen += 1
    assert seen == len(KB.methods)


def test_unconfirmed_facts_are_shown_with_their_reason_not_left_blank(built_site):
    """An entry whose authors no source confirms says so on its page, in the table of facts."""
    entries = [m for m in KB.methods.values() if m.unconfirmed]
    assert entries, "the KB has no entry with an unconfirmed fact to check"
    for method in entries:
        html = (built_site / "methods" / method.id / "index.html").read_text()
        shown = [unescape(r) for r in re.findall(r"<dd><em>not confirmed</em>: ([^<]*)</dd>", html)]
        assert shown == list(method.unconfirmed.values()), method.id
        if not method.authors:
            assert "<dt>Authors</dt>\n<dd><em>not confirmed" in html, method.id


def test_a_published_version_under_another_title_is_named_with_its_source(built_site):
    entries = [m for m in KB.methods.values() if m.published_as]
    assert entries, "the KB has no entry with a published_as record to check"
    for method in entries:
        html = unescape((built_site / "methods" / method.id / "index.html").read_text())
        pub = method.published_as
        assert f"<dt>Published as</dt>\n<dd>\u201c{pub.title}\u201d, {pub.venue}" in html, method.id
        assert f'<a href="{pub.source}">source</a>' in html, method.id


def _section_links(html: str, heading: str) -> set[str]:
    start = re.search(r"<h2[^>]*>" + re.escape(heading), html).start()  # the section, not the table of contents
    end = html.find("<h2", start + 1)
    return set(re.findall(r'href="\.\./methods/([^/"]+)/"', html[start:end if end > 0 else None]))


def test_help_wanted_lists_every_gap_with_a_link_to_its_entry(built_site):
    html = (built_site / "gaps" / "index.html").read_text()
    assert _section_links(html, "Facts no source has confirmed") == {m.id for m in KB.methods.values() if m.unconfirmed}
    assumed = {m.id for m in KB.methods.values() if m.effect.kind != "none" and (
        "assum" in (m.effect.basis or "").lower() or (not m.effect.basis and m.effect.kind != "operator_fusion"))}
    assert assumed and _section_links(html, "Roofline effects resting on assumed values") == assumed
    assert _section_links(html, "Entries without a claim") == {m.id for m in KB.methods.values() if not m.claims}
    no_venue = {m.id for m in KB.methods.values() if not (m.venue or m.published_as or "venue" in m.unconfirmed)}
    assert _section_links(html, "Entries without a venue") == no_venue
    nav = (built_site / "index.html").read_text()
    assert 'href="gaps/"' in nav


# C0 controls except tab, newline and carriage return; DEL; C1 controls; bidi overrides and isolates;
# zero-width characters other than the joiner pair emoji need. As characters, or escaped inside JSON.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2066-\u2069\ufeff]")
_JSON_CONTROL = re.compile(r"\\u(?:00[01][0-9a-fA-F]|007[fF]|00[89][0-9a-fA-F]|200[bB]|202[a-eA-E]|206[6-9]|[fF][eE][fF][fF])")
_TEXT_SUFFIXES = {".html", ".json", ".xml", ".js", ".css", ".bib", ".txt", ".svg", ".csv", ".md"}


def test_no_file_in_the_built_site_holds_a_control_character(built_site):
    """Whatever an entry smuggles in (a !!binary tag, an escape in a quoted string), no published file
    carries a control, bidi-override or zero-width character, neither raw nor JSON-escaped."""
    checked, found = 0, []
    for path in sorted(built_site.rglob("*")):
        if not path.is_file() or path.suffix not in _TEXT_SUFFIXES:
            continue
        if path.relative_to(built_site).parts[:2] in (("assets", "javascripts"), ("assets", "stylesheets")):
            continue  # Material's own minified bundles, not built from our content
        text = path.read_text(encoding="utf-8")
        checked += 1
        for pattern in (_CONTROL, _JSON_CONTROL) if path.suffix == ".json" else (_CONTROL,):
            hit = pattern.search(text)
            if hit:
                found.append(f"{path.relative_to(built_site)}: {hit.group()!r} at {hit.start()}")
    assert checked > 800, checked  # every method page and the data files were read
    assert not found, found[:10]


def test_a_bug_in_a_build_hook_is_one_line_not_a_traceback():
    """Whatever goes wrong inside a hook (here: a page object without a file), the contributor reads one
    line that says it is our bug; a PluginError with its own report passes through unchanged."""
    from mkdocs.exceptions import PluginError

    from hooks import kb_pages

    try:
        kb_pages.on_page_markdown("text", page=object(), config={}, files=[])
    except PluginError as exc:
        message = str(exc)
    assert message.startswith("internal error in the site build (AttributeError: ")
    assert message.endswith("please report it") and "\n" not in message
