"""Machine-readable exports published with the site: the KB as JSON and every citation as BibTeX."""

from __future__ import annotations

import json

from kb.load import KB


def references_bib(kb: KB) -> str:
    """All BibTeX records, ordered by method id, separated by blank lines."""
    return "\n\n".join(kb.methods[i].bibtex.strip() for i in sorted(kb.methods)) + "\n"


def method_record(kb: KB, method_id: str) -> dict:
    method = kb.methods[method_id]
    record = method.model_dump(mode="json", exclude_none=True)
    record["source_file"] = kb.source_of(method_id)
    record["url"] = f"methods/{method_id}/"
    return record


def methods_json(kb: KB, extra: dict[str, dict] | None = None) -> str:
    """`data/methods.json`: every entry with its fields, plus per-entry extras (e.g. analyses)."""
    records = []
    for method_id in sorted(kb.methods):
        record = method_record(kb, method_id)
        record.update((extra or {}).get(method_id, {}))
        records.append(record)
    return json.dumps({"methods": records}, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def catalogue_json(kb: KB) -> str:
    """`data/catalogue.json`: hardware, models and the taxonomy, for the browser and for tools."""
    return json.dumps({
        "hardware": {k: v.model_dump(mode="json", exclude_none=True) for k, v in sorted(kb.hardware.items())},
        "models": {k: v.model_dump(mode="json", exclude_none=True) for k, v in sorted(kb.models.items())},
        "categories": {k: {"title": c.node.title, "parent": c.parent} for k, c in kb.categories.items()},
    }, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _index_record(kb: KB, method_id: str, checks: list[dict], roofline: dict | None = None) -> dict:
    m = kb.methods[method_id]
    record = m.model_dump(mode="json", exclude_none=True, include={
        "id", "name", "aliases", "title", "authors", "year", "date", "venue", "arxiv", "category", "kind",
        "tags", "summary", "bits", "effect", "added"})
    if m.published_as:
        record["published_as"] = {"title": m.published_as.title, "venue": m.published_as.venue}
    record["links"] = {k: v for k, v in (("code", m.links.code), ("paper", m.links.paper)) if v}
    record["claims"] = len(m.claims)
    record["verdicts"] = sorted({c["verdict"] for c in checks if c.get("verdict")})
    if m.quality:
        q = m.quality[0]
        record["quality"] = {"metric": q.metric, "model": q.model, "setting": q.setting, "value": q.value,
                             "baseline": q.baseline, "baseline_value": q.baseline_value,
                             "higher_is_better": q.higher_is_better}
    if m.support:
        record["support"] = [{"stack": s.stack, "url": s.url} for s in m.support]
    if roofline:
        record["roofline"] = roofline
    record["url"] = f"methods/{method_id}/"
    return record


def methods_index_json(kb: KB, checks: dict[str, list[dict]] | None = None,
                       roofline: dict[str, dict] | None = None) -> str:
    """`data/methods-index.json`: what the explorer (and the calculator's method list) needs of every
    entry, a fraction of `methods.json`: no BibTeX, claims as a count with their verdicts, no analyses.
    `checks` is method id -> its claim checks (for the verdicts); `roofline` is method id -> its ideal-bound
    speedups in its main scenario (kb.analysis_pages.roofline_summary)."""
    categories = {k: {"title": c.node.title, "parent": c.parent} for k, c in kb.categories.items()}
    records = [_index_record(kb, i, (checks or {}).get(i, []), (roofline or {}).get(i)) for i in sorted(kb.methods)]
    return json.dumps({"categories": categories, "methods": records}, separators=(",", ":"),
                      sort_keys=True, ensure_ascii=False) + "\n"


def calculator_methods_json(kb: KB) -> str:
    """`data/calculator-methods.json`: what the live calculator needs of every entry (its name, page and
    roofline effect), a small fraction of the explorer's index: the calculator page loads only this."""
    records = [{"id": i, "name": kb.methods[i].name, "url": f"methods/{i}/",
                "effect": kb.methods[i].effect.model_dump(mode="json", exclude_none=True)} for i in sorted(kb.methods)]
    return json.dumps({"methods": records}, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"
