"""Models -> Markdown pages (method pages, category pages, the methods overview) and the navigation.

The MkDocs hooks hand these strings to MkDocs as virtual files; `python -m kb render` writes the same
strings to disk. Every contributed value goes through `kb.markup.text` (or `link` for https addresses).
"""

from __future__ import annotations

import math
import re
from typing import Callable, NamedTuple

from kb.load import KB, Category
from kb.markup import front_matter, link, rel, table, text
from kb.schema import Claim, Method
from kb.words import claim_setting, effect_words, plain_title

METHODS_INDEX = "methods/index.md"
METRIC_LABELS = {
    "speedup": "end-to-end speedup",
    "prefill_speedup": "prefill speedup",
    "decode_speedup": "decode speedup",
    "throughput_gain": "throughput gain",
    "kernel_speedup": "kernel speedup",
    "memory_reduction": "memory reduction",
}
UNCONFIRMED_LABELS = {"authors": "Authors", "date": "First-version date", "venue": "Venue", "arxiv": "arXiv",
                      "code": "Code"}

# An extra section for a method page (e.g. the computed roofline analysis), given the page path.
Section = Callable[[Method, str], str]


class Column(NamedTuple):
    """An extra column of the category tables: its title and a cell per method id."""

    title: str
    cells: dict[str, str]


def method_page_path(method_id: str) -> str:
    return f"methods/{method_id}.md"


def category_page_path(category: str) -> str:
    return f"categories/{category}/index.md"


def _bits(method: Method) -> str:
    if method.bits is None:
        return ""
    parts = []
    for label, values in (("W", method.bits.weights), ("A", method.bits.activations), ("KV", method.bits.kv_cache)):
        if values:
            parts.append(label + "/".join(str(v) for v in values))
    return " ".join(parts)


def _best_claim(method: Method) -> str:
    speed = [c for c in method.claims if c.metric != "memory_reduction"]
    if not speed:
        return ""
    best = max(speed, key=lambda c: c.value)
    return f"{best.value:g}x {METRIC_LABELS[best.metric]}"


def _setting(claim: Claim) -> str:
    words, _ = claim_setting(claim)
    return text(words)


def _claim_value(claim: Claim) -> str:
    _, up_to = claim_setting(claim)
    return ("up to " if up_to else "") + f"{claim.value:g}x"


def _breadcrumb(kb: KB, category: str, page: str) -> str:
    crumbs = []
    path = category
    while path:
        cat = kb.categories[path]
        crumbs.append(f"[{text(cat.node.title)}]({rel(page, category_page_path(path))})")
        path = cat.parent or ""
    return " › ".join(reversed(crumbs))


def _effect_words(method: Method) -> str:
    basis = f" Basis: {text(method.effect.basis)}" if getattr(method.effect, "basis", None) else ""
    return text(effect_words(method)) + basis


def _bit_words(method: Method) -> list[str]:
    """Search words for a method's bit-widths: W4A16, W4, A8, KV4, 4-bit, INT4."""
    weights, acts, kv = [], [], []
    if method.bits:
        weights, acts, kv = method.bits.weights, method.bits.activations, method.bits.kv_cache
    if method.effect.kind == "quantization":
        e = method.effect
        weights, acts, kv = weights or [e.weights.bits], acts or [e.activations.bits], kv or [e.kv_cache.bits]
    out = [f"W{w}A{a}" for w in weights for a in (acts or [16])]
    out += [f"W{w}" for w in weights] + [f"A{a}" for a in acts if a < 16] + [f"KV{k}" for k in kv if k < 16]
    out += [f"{b}-bit" for b in sorted(set(weights) | set(acts) | set(kv)) if b < 16]
    out += [f"INT{b}" for b in sorted(set(weights) | set(acts)) if b in (2, 3, 4, 8)]
    return out


def _split_camel(name: str) -> str:
    """"FlashAttention-2" -> "Flash Attention 2", so a query in words finds a name written as one."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return re.sub(r"[-_]", " ", spaced)


def search_words(method: Method) -> list[str]:
    """What the site search should match this page by, beyond its summary: names, aliases, tags,
    bit-widths, authors and the paper's title. Material's search indexes these as the page's `tags`
    (boosted in mkdocs.yml); the chips it would show in results are hidden by kb.css."""
    words = [plain_title(method.name), *map(plain_title, method.aliases)]
    if method.survey_name:
        words.append(method.survey_name)
    words += [_split_camel(w) for w in list(words)]
    words += method.tags + [re.sub(r"(?<=[a-z])-(?=[a-z])", " ", t) for t in method.tags]
    words += _bit_words(method) + method.authors + [plain_title(method.title)]
    if method.published_as:
        words.append(method.published_as.title)
    # Hyphenated words also joined: the site search looks a query word like "4-bit" up as "4bit".
    joined = re.findall(r"\w+(?:-[^\W\d]\w*)+", " ".join(words + [method.summary]))  # not "FlashAttention-2"
    words += sorted({w.replace("-", "").lower() for w in joined})
    seen, out = set(), []
    for w in words:
        if w and w.lower() not in seen:
            seen.add(w.lower())
            out.append(w)
    return out


def search_boost(times_named: int) -> float:
    """Method pages rank above listing pages; among them, those other entries name most (AWQ and GPTQ
    for 4-bit weights) rank first: 4 for none, up to 12."""
    return round(4 + min(8.0, 2 * math.log2(1 + times_named)), 2)


# Page sections a search result should not show or match: tables of facts and numbers, BibTeX.
NO_SEARCH = "{ data-search-exclude }"


def _no_search(markdown: str) -> str:
    """Mark every heading of a generated section as excluded from the search index."""
    return re.sub(r"^(#{2,6} .+?)\s*$", lambda m: f"{m.group(1)} {NO_SEARCH}", markdown, flags=re.M)


def _byline(method: Method) -> str:
    if not method.authors:
        return ""
    return '<p class="kb-byline" data-search-exclude>' + text(", ".join(method.authors)) + "</p>\n"


def _glance(items: list[tuple[str, str]]) -> str:
    """The numbers that matter, in a box at the top of the page (it stays in view on a phone)."""
    if not items:
        return ""
    # Spans inside one div: the search index skips an excluded element up to its first closing tag of the
    # same name, so a nested <div> would let the rest of the box into the index.
    cells = "".join(f'<span class="kb-glance-item"><span class="kb-glance-label">{text(label)}</span> '
                    f'<span class="kb-glance-value">{text(value)}</span></span>' for label, value in items)
    return f'<div class="kb-glance" data-search-exclude>{cells}</div>\n'


def _quality_rows(method: Method) -> list[list[str]]:
    rows = []
    for q in method.quality:
        better = "higher is better" if q.higher_is_better else "lower is better"
        rows.append([text(q.metric) + f" <small>({better})</small>", text(q.model), text(q.setting),
                     f"**{q.value:g}**", f"{q.baseline_value:g} ({text(q.baseline)})", text(q.source)])
    return rows


def quality_words(method: Method) -> str:
    """The first quality record in a few words: "WikiText-2 perplexity 5.60 vs 5.47 FP16 (Llama-2-7B, W4A16)"."""
    if not method.quality:
        return ""
    q = method.quality[0]
    return f"{q.metric} {q.value:g} vs {q.baseline_value:g} {q.baseline} ({q.model}, {q.setting})"


def _support_list(method: Method) -> str:
    out = []
    for s in method.support:
        note = f": {text(s.note)}" if s.note else ""
        out.append(f"- **{text(s.stack)}**{note} ({link(s.url, 'documentation')}, read {s.read.isoformat()})\n")
    return "".join(out)


def method_page(kb: KB, method: Method, sections: list[Section] = (), glance: list[tuple[str, str]] = (),
                related: list[tuple[str, list[Method]]] = (), boost: float = 4) -> str:
    page = method_page_path(method.id)
    name, title = plain_title(method.name), plain_title(method.title)
    out = [front_matter(title=name, description=title, tags=search_words(method), search={"boost": boost})]
    out.append(f"# {text(name)}\n\n")
    out.append(f'<p class="kb-paper-title" data-search-exclude>{text(title)}</p>\n')
    out.append(_byline(method))
    out.append(_glance(list(glance)))
    out.append("\n" + text(method.summary.strip()) + "\n")
    when = str(method.date) if method.date else str(method.year)
    facts = [("First version", text(when))]  # the authors are in the byline above
    if method.venue:
        facts.append(("Venue", text(method.venue)))
    if method.published_as:
        facts.append(("Published as", _published_as(method)))
    if method.arxiv:
        facts.append(("arXiv", link(f"https://arxiv.org/abs/{method.arxiv}", method.arxiv)))
    for key in ("paper", "code", "project", "docs"):
        url = getattr(method.links, key)
        if url:
            facts.append((key.capitalize(), link(url, url)))
    for fact, reason in method.unconfirmed.items():
        facts.append((UNCONFIRMED_LABELS[fact], f"*not confirmed*: {text(reason)}"))
    facts.append(("Category", _breadcrumb(kb, method.category, page)))
    if method.survey_section:
        facts.append(("Survey section", text(method.survey_section)))
    elif method.after_survey:
        facts.append(("Survey section", "after the survey (not covered by it)"))
    if method.aliases:
        facts.append(("Also known as", text(", ".join(plain_title(a) for a in method.aliases))))
    if method.tags:
        facts.append(("Tags", " ".join(f"`{text(t)}`" for t in method.tags)))
    bits = _bits(method)
    if bits:
        facts.append(("Bit-widths", text(bits)))
    if method.added:
        facts.append(("Added to the KB", method.added.isoformat()))
    out.append(f"\n## Facts {NO_SEARCH}\n\n")
    out.append('<div class="kb-facts" markdown>\n\n'
               + "".join(f"{k}\n:   {v}\n\n" for k, v in facts) + "</div>\n")
    if method.claims:
        rows = [[text(METRIC_LABELS[c.metric]), f"**{_claim_value(c)}**", text(c.baseline), _setting(c),
                 text(c.source)] for c in method.claims]
        out.append(f"\n## Claims {NO_SEARCH}\n\nAs the paper states them.\n\n")
        out.append('<div class="kb-cards" markdown>\n\n'
                   + table(["Claim", "Value", "Baseline", "Setting", "Where"], rows) + "\n</div>\n")
    if method.quality:
        out.append(f"\n## Accuracy cost {NO_SEARCH}\n\nAt the paper's headline setting, next to its baseline.\n\n")
        out.append('<div class="kb-cards" markdown>\n\n'
                   + table(["Metric", "Model", "Setting", "Method", "Baseline", "Where"], _quality_rows(method))
                   + "\n</div>\n")
    if method.support:
        out.append(f"\n## Serving stacks that ship it {NO_SEARCH}\n\n" + _support_list(method))
    out.append(f"\n## What the roofline models {NO_SEARCH}\n\n" + _effect_words(method) + "\n")
    for section in sections:
        out.append(_no_search(section(method, page)))
    if related:
        out.append(f"\n## Related methods {NO_SEARCH}\n\n")
        for why, methods in related:
            links_ = ", ".join(f"[{text(plain_title(m.name))}]({rel(page, method_page_path(m.id))})" for m in methods)
            out.append(f"- {text(why)}: {links_}\n")
    out.append(f"\n## Cite {NO_SEARCH}\n\n")
    out.append('<pre class="kb-bibtex"><code>' + _html_pre(method.bibtex.strip()) + "</code></pre>\n")
    return "".join(out)


def _published_as(method: Method) -> str:
    pub = method.published_as
    words = f"“{text(pub.title)}”, {text(pub.venue)}"
    if pub.authors:
        words += f"; authors: {text(', '.join(pub.authors))}"
    return f"{words} ({link(pub.source, 'source')})"


def _html_pre(value: str) -> str:
    import html

    return html.escape(value, quote=False)


def category_page(kb: KB, cat: Category, column: Column | None = None) -> str:
    """A category: its description, sub-categories and a comparison table of its methods; `column`
    (a title and method id -> cell) adds the calculator's view next to the papers' claims."""
    page = category_page_path(cat.path)
    node = cat.node
    out = [front_matter(title=node.title)]
    out.append(f"# {text(node.title)}\n\n")
    meta = []
    if node.survey_section:
        meta.append(f"Survey section {text(node.survey_section)}")
    if node.after_survey:
        meta.append("added after the survey")
    if cat.parent:
        meta.append("in " + _breadcrumb(kb, cat.parent, page))
    if meta:
        out.append("*" + " · ".join(meta) + "*\n\n")
    out.append(text(node.description.strip()) + "\n")
    if node.children:
        out.append("\n## Sub-categories\n\n")
        for child in node.children:
            path = f"{cat.path}/{child.id}"
            count = count_entries(kb, path)
            out.append(f"- [{text(child.title)}]({rel(page, category_page_path(path))}) ({count})\n")
    methods = kb.methods_in(cat.path)
    if methods:
        out.append("\n## Methods\n\n")
        # The numbers first, so that they stay in view on a phone; optional columns only where filled.
        header = ["Method", "Claimed speedup"] + ([column.title] if column is not None else []) + ["Bits", "Year", "Venue"]
        with_quality = any(m.quality for m in methods)
        with_support = any(m.support for m in methods)
        header += (["Accuracy cost"] if with_quality else []) + (["Ships in"] if with_support else [])
        rows = []
        for m in methods:
            row = [f"[{text(plain_title(m.name))}]({rel(page, method_page_path(m.id))})", text(_best_claim(m))]
            if column is not None:
                row.append(text(column.cells.get(m.id, "not modelled")))
            row += [text(_bits(m)), str(m.year), text(m.venue or "")]
            if with_quality:
                row.append(text(quality_words(m)))
            if with_support:
                row.append(", ".join(link(s.url, s.stack) for s in m.support))
            rows.append(row)
        out.append('<div class="kb-cards" markdown data-search-exclude>\n\n' + table(header, rows) + "\n</div>\n")
    return "".join(out)


def count_entries(kb: KB, category: str) -> int:
    prefix = category + "/"
    return sum(1 for m in kb.methods.values() if m.category == category or m.category.startswith(prefix))


def methods_overview(kb: KB) -> str:
    out = [front_matter(title="Methods")]
    out.append("# Methods\n\n")
    out.append(f"{len(kb.methods)} methods in {len(kb.categories)} categories, following the survey's taxonomy "
               "and extending it with branches for work published after it.\n\n")
    for cat in kb.categories.values():
        indent = "    " * cat.depth
        link_ = rel(METHODS_INDEX, category_page_path(cat.path))
        out.append(f"{indent}- [{text(cat.node.title)}]({link_}) ({count_entries(kb, cat.path)})\n")
    return "".join(out)


def _source_links(sources) -> str:
    return " ".join(link(s.url, f"[{i}]") for i, s in enumerate(sources, 1))


# Where the catalogue files live, for the links of the models and hardware tables (mkdocs.yml repo_url).
REPO_FILES = "https://github.com/llm-inference-kb/llm-inference-kb/blob/main/"
# Peak columns of the hardware table: (title, formats shown in it).
PEAK_COLUMNS = (("FP32", ("fp32",)), ("FP16 / BF16", ("fp16", "bf16")), ("FP8", ("fp8",)), ("INT8", ("int8",)),
                ("4-bit (INT4 / FP4)", ("int4", "fp4")))


def _file_cell(name: str, ident: str, path: str, sources) -> str:
    """A catalogue row's name, its id (what the CLI takes), a link to its YAML file and its sources."""
    return (f"**{text(name)}**<br><small>`{text(ident)}` · "
            f'<a href="{REPO_FILES}{path}" title="the YAML file">file</a> · sources {_source_links(sources)}</small>')


def _peaks(values: dict[str, float], formats: tuple[str, ...]) -> str:
    got = [(f, values[f]) for f in formats if f in values]
    if not got:
        return ""
    if len({v for _, v in got}) == 1:
        return f"{got[0][1]:g}"
    return " / ".join(f"{v:g} <small>{f}</small>" for f, v in got)


def _catalogue_table(header: list[str], rows: list[list[str]]) -> str:
    """Sortable (kb-live.js: click a column's name) and cards on a phone (kb.css)."""
    return '<div class="kb-cards kb-sortable kb-catalogue" markdown data-search-exclude>\n\n' + table(header, rows) + "\n</div>\n"


def hardware_page(kb: KB) -> str:
    out = [front_matter(title="Hardware", hide=["navigation", "toc"]), "# Hardware\n\n",
           f"The {len(kb.hardware)} devices the calculator knows. Peaks are dense (no structured-sparsity "
           "doubling), in TOPS (1e12 operations per second, a multiply-accumulate counting as two); an empty cell "
           "is a format the sources do not list. The ridge point is the arithmetic intensity (ops per byte) above "
           "which a layer is compute-bound at the 16-bit peak (FP32 where none is listed). Click a column's name "
           "to sort by it; each device links its YAML file and its sources.\n\n"]
    rows = []
    for hw in sorted(kb.hardware.values(), key=lambda h: (h.vendor, h.name)):
        half = hw.peak_tops.get("fp16") or hw.peak_tops.get("bf16") or hw.peak_tops.get("fp32")
        ridge = f"{half * 1e3 / hw.memory_bandwidth_gb_s:.0f}" if half else ""
        links = []
        if hw.interconnect:
            links.append(f"{text(hw.interconnect.name)} {hw.interconnect.bandwidth_gb_s:g} GB/s")
        if getattr(hw, "host_link", None):
            links.append(f"host: {text(hw.host_link.name)} {hw.host_link.bandwidth_gb_s:g} GB/s")
        if getattr(hw, "unified_memory", None):
            links.append("unified memory")
        rows.append([_file_cell(hw.name, hw.id, f"kb/hardware/{hw.id}.yaml", hw.sources), text(hw.segment),
                     f"{hw.memory_gib:g}", f"{hw.memory_bandwidth_gb_s:g}"]
                    + [_peaks(hw.peak_tops, formats) for _, formats in PEAK_COLUMNS]
                    + [ridge, "<br>".join(links)])
    out.append(_catalogue_table(["Device", "Segment", "Memory (GiB)", "Bandwidth (GB/s)"]
                                + [title for title, _ in PEAK_COLUMNS]
                                + ["Ridge (ops/B)", "Links"], rows))
    other = sorted({f for hw in kb.hardware.values() for f in hw.peak_tops}
                   - {f for _, formats in PEAK_COLUMNS for f in formats})
    if other:
        listed = "; ".join(f"{text(hw.name)}: " + ", ".join(f"{f} {hw.peak_tops[f]:g}" for f in other if f in hw.peak_tops)
                           for hw in sorted(kb.hardware.values(), key=lambda h: (h.vendor, h.name))
                           if any(f in hw.peak_tops for f in other))
        out.append(f"\nOther formats ({text(', '.join(other))}, TOPS): {listed}.\n")
    notes = [f"- **{text(hw.name)}**: {text(hw.notes)}" for hw in kb.hardware.values() if hw.notes]
    if notes:
        out.append(f"\n## Notes {NO_SEARCH}\n\n" + "\n".join(notes) + "\n")
    return "".join(out)


def _billions(n: float) -> str:
    return f"{n:.3g}" if n < 100 else f"{n:.0f}"


def models_page(kb: KB) -> str:
    """The model table. Parameter counts are the publisher's (`params`) where the file states them, else
    counted from the architecture by the calculator; context, attention and KV cache come from the
    calculator's model too, when it can build one (each cell degrades to empty otherwise)."""
    try:
        from kb.analysis import Catalogue

        built = Catalogue(kb).models
    except Exception:  # noqa: BLE001 (the page still lists the files; `kb check` reports the problem)
        built = {}
    out = [front_matter(title="Models", hide=["navigation", "toc"]), "# Models\n\n",
           f"The {len(kb.models)} model architectures the calculator knows, read from their publishers' "
           "`config.json`. Parameters are in billions: as the publisher states them where the file records it "
           "(marked *), else counted from the architecture; *active* is what one token uses (MoE models route "
           "to a few experts). KV cache per token is at 16 bits, over all layers. Click a column's name to sort "
           "by it; each model links its YAML file and its sources.\n\n"]
    rows = []
    for m in sorted(kb.models.values(), key=lambda m: (m.family, m.name)):  # a family's sizes together
        c = built.get(m.id)
        stated = getattr(m, "params", None)
        if stated is not None:
            total, active = f"{_billions(stated.total_b)}*", f"{_billions(stated.active_b)}*"
        elif c is not None and getattr(c, "params_total", None):
            total, active = _billions(c.params_total / 1e9), _billions(c.params_active / 1e9)
        else:
            total = active = ""
        kv = ""
        if c is not None and hasattr(c, "kv_bytes_per_token"):
            kv = f"{c.kv_bytes_per_token(16) / 1024:,.0f}"
            if not c.num_attention_heads:  # every layer a state-space layer: nothing grows with the context
                kv += " (a fixed state per sequence)"
        attention = text(getattr(c, "attention_kind", "")) if c is not None else ""
        experts = f"{m.num_experts_per_tok}/{m.num_local_experts}" if m.num_local_experts else ""
        shape = c if c is not None else m  # the built model: config-only files leave the flat fields empty
        heads = (f"{shape.num_attention_heads}/{shape.num_key_value_heads}" if shape.num_attention_heads
                 else "— (no attention)")
        context = f"{shape.max_position_embeddings:,}" if shape.max_position_embeddings else "— (no limit stated)"
        rows.append([_file_cell(m.name, m.id, f"kb/models/{m.id}.yaml", m.sources), total, active,
                     f"{shape.num_hidden_layers} × {shape.hidden_size}", heads, attention, context, kv, experts])
    out.append(_catalogue_table(["Model", "Params (B)", "Active (B)", "Layers × width", "Heads (q/kv)", "Attention",
                                 "Context (tokens)", "KV cache (KiB/token)", "Experts (k/n)"], rows))
    return "".join(out)


def render_site(kb: KB, sections: list[Section] = (), column: Column | None = None,
                glance: dict[str, list[tuple[str, str]]] | None = None) -> dict[str, str]:
    """Every generated page: docs-relative path -> Markdown. `sections` add to method pages, `column`
    to the category tables, `glance` (method id -> key numbers) to the top of method pages."""
    from kb.gaps import GAPS_PAGE, gaps_page
    from kb.related import mentioned_by, related_methods
    from kb.timeline import timeline_page

    pages = {METHODS_INDEX: methods_overview(kb), "timeline.md": timeline_page(kb),
             "hardware.md": hardware_page(kb), "models.md": models_page(kb), GAPS_PAGE: gaps_page(kb)}
    for cat in kb.categories.values():
        pages[category_page_path(cat.path)] = category_page(kb, cat, column)
    related, used = related_methods(kb), mentioned_by(kb)
    for method in kb.methods.values():
        pages[method_page_path(method.id)] = method_page(kb, method, sections, (glance or {}).get(method.id, ()),
                                                         related.get(method.id, ()),
                                                         search_boost(used.get(method.id, 0)))
    return pages


def nav_tree(kb: KB) -> list:
    """The Methods navigation: the taxonomy, each section opening on its category page."""

    def node_nav(cat: Category) -> dict:
        items: list = [category_page_path(cat.path)]
        for child in cat.node.children:
            items.append(node_nav(kb.categories[f"{cat.path}/{child.id}"]))
        items += [{m.name: method_page_path(m.id)} for m in kb.methods_in(cat.path)]
        return {cat.node.title: items}

    roots = [c for c in kb.categories.values() if c.parent is None]
    return [METHODS_INDEX] + [node_nav(c) for c in roots]
