"""Models -> Markdown pages (method pages, category pages, the methods overview) and the navigation.

The MkDocs hooks hand these strings to MkDocs as virtual files; `python -m kb render` writes the same
strings to disk. Every contributed value goes through `kb.markup.text` (or `link` for https addresses).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from kb.load import KB, Category
from kb.markup import front_matter, link, rel, table, text
from kb.schema import Claim, Method

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
    s = claim.setting
    parts = [s.description] if s.description else []
    for label, value in (("model", s.model), ("hardware", s.hardware), ("batch", s.batch),
                         ("context", s.seq_len), ("generated", s.gen_len)):
        if value is not None and not (s.description and label in ("model", "hardware")):
            parts.append(f"{label} {value}")
    return text("; ".join(str(p) for p in parts)) if parts else "not stated"


def _breadcrumb(kb: KB, category: str, page: str) -> str:
    crumbs = []
    path = category
    while path:
        cat = kb.categories[path]
        crumbs.append(f"[{text(cat.node.title)}]({rel(page, category_page_path(path))})")
        path = cat.parent or ""
    return " › ".join(reversed(crumbs))


def _effect_words(method: Method) -> str:
    effect = method.effect
    if effect.kind == "none":
        return f"The roofline cannot show this method: {text(effect.reason)}"
    params = {k: v for k, v in effect.model_dump(exclude_none=True).items() if k not in ("kind", "basis")}
    shown = ", ".join(f"`{k}` = {text(v)}" for k, v in params.items())
    basis = f" Basis: {text(effect.basis)}" if effect.basis else ""
    return f"Effect kind `{effect.kind}`: {shown}.{basis}"


def method_page(kb: KB, method: Method, sections: list[Section] = ()) -> str:
    page = method_page_path(method.id)
    out = [front_matter(title=method.name, description=method.title)]
    out.append(f"# {text(method.name)}\n")
    out.append(f'<p class="kb-paper-title">{text(method.title)}</p>\n')
    facts = [("Authors", text(", ".join(method.authors)))] if method.authors else []
    when = str(method.date) if method.date else str(method.year)
    facts.append(("First version", text(when)))
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
        facts.append(("Also known as", text(", ".join(method.aliases))))
    if method.tags:
        facts.append(("Tags", " ".join(f"`{text(t)}`" for t in method.tags)))
    bits = _bits(method)
    if bits:
        facts.append(("Bit-widths", text(bits)))
    out.append(table(["", ""], [[f"**{k}**", v] for k, v in facts]))
    out.append("\n## Summary\n\n" + text(method.summary.strip()) + "\n")
    if method.claims:
        rows = [[text(METRIC_LABELS[c.metric]), f"{c.value:g}x", text(c.baseline), _setting(c), text(c.source)]
                for c in method.claims]
        out.append("\n## Claims\n\nAs the paper states them.\n\n")
        out.append(table(["Claim", "Value", "Baseline", "Setting", "Where"], rows))
    out.append("\n## What the roofline models\n\n" + _effect_words(method) + "\n")
    for section in sections:
        out.append(section(method, page))
    out.append("\n## Cite\n\n")
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
        rows = [[f"[{text(m.name)}]({rel(page, method_page_path(m.id))})", str(m.year), text(m.venue or ""),
                 text(_bits(m)), text(_best_claim(m))] for m in methods]
        header = ["Method", "Year", "Venue", "Bits", "Claimed speedup"]
        if column is not None:
            header.append(column.title)
            for row, m in zip(rows, methods):
                row.append(text(column.cells.get(m.id, "not modelled")))
        out.append(table(header, rows))
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


def hardware_page(kb: KB) -> str:
    out = [front_matter(title="Hardware"), "# Hardware\n\n",
           "The devices the calculator knows. Peaks are dense (no structured-sparsity doubling), in TOPS "
           "(1e12 operations per second, a multiply-accumulate counting as two). The ridge point is the "
           "arithmetic intensity (ops per byte) above which a layer is compute-bound at the FP16/BF16 peak.\n\n"]
    rows = []
    for hw in sorted(kb.hardware.values(), key=lambda h: (h.vendor, h.name)):
        peaks = ", ".join(f"{fmt} {v:g}" for fmt, v in hw.peak_tops.items())
        half = hw.peak_tops.get("fp16") or hw.peak_tops.get("bf16")
        ridge = f"{half * 1e3 / hw.memory_bandwidth_gb_s:.0f}" if half else ""
        link_ = f"{hw.interconnect.bandwidth_gb_s:g} GB/s" if hw.interconnect else ""
        rows.append([f"`{text(hw.id)}`", text(hw.name), text(hw.segment), f"{hw.memory_gib:g}",
                     f"{hw.memory_bandwidth_gb_s:g}", text(peaks), ridge, link_, _source_links(hw.sources)])
    out.append(table(["id", "Device", "Segment", "Memory (GiB)", "Bandwidth (GB/s)", "Dense peaks (TOPS)",
                      "Ridge (ops/B)", "Interconnect", "Sources"], rows))
    notes = [f"- **{text(hw.name)}**: {text(hw.notes)}" for hw in kb.hardware.values() if hw.notes]
    if notes:
        out.append("\n## Notes\n\n" + "\n".join(notes) + "\n")
    return "".join(out)


def models_page(kb: KB) -> str:
    out = [front_matter(title="Models"), "# Models\n\n",
           "The model architectures the calculator knows, with the fields of their Hugging Face "
           "`config.json`.\n\n"]
    rows = []
    for m in sorted(kb.models.values(), key=lambda m: (m.family, m.hidden_size, m.num_hidden_layers)):
        experts = f"{m.num_experts_per_tok}/{m.num_local_experts}" if m.num_local_experts else ""
        rows.append([f"`{text(m.id)}`", text(m.name), text(m.architecture), str(m.num_hidden_layers),
                     str(m.hidden_size), str(m.intermediate_size), f"{m.num_attention_heads}/{m.num_key_value_heads}",
                     str(m.vocab_size), experts, _source_links(m.sources)])
    out.append(table(["id", "Model", "Arch.", "Layers", "Hidden", "MLP", "Heads (q/kv)", "Vocab",
                      "Experts (k/n)", "Sources"], rows))
    return "".join(out)


def render_site(kb: KB, sections: list[Section] = (), column: Column | None = None) -> dict[str, str]:
    """Every generated page: docs-relative path -> Markdown. `sections` add to method pages, `column`
    to the category tables."""
    from kb.gaps import GAPS_PAGE, gaps_page
    from kb.timeline import timeline_page

    pages = {METHODS_INDEX: methods_overview(kb), "timeline.md": timeline_page(kb),
             "hardware.md": hardware_page(kb), "models.md": models_page(kb), GAPS_PAGE: gaps_page(kb)}
    for cat in kb.categories.values():
        pages[category_page_path(cat.path)] = category_page(kb, cat, column)
    for method in kb.methods.values():
        pages[method_page_path(method.id)] = method_page(kb, method, sections)
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
