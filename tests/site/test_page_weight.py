"""Page weights of the built site against the budgets of issue 19.6 (benchmarks/bench_weight.py, which
`make bench` reports): a method page's HTML+CSS+JS and the search index, gzipped; the calculator loads
a compact list of effects, not data/methods.json."""

from __future__ import annotations

import json

from benchmarks.bench_weight import BUDGETS_KB, measure


def test_page_weights_are_within_budget(built_site, capsys):
    w = measure(built_site)
    with capsys.disabled():
        print(f"\npage weights (KB gzipped): method page {w['method_page']['total_kb']}, search index "
              f"{w['search_index_kb']}, calculator {w['calculator']['total_kb']} + data {w['calculator']['data_kb']}, "
              f"explorer {w['explorer']['total_kb']} + data {w['explorer']['data_kb']}")
    assert w["method_page"]["total_kb"] <= BUDGETS_KB["method_page_kb"]
    assert w["search_index_kb"] <= BUDGETS_KB["search_index_kb"]
    assert w["calculator"]["data_kb"] < w["methods_json_kb"] / 4


def test_the_calculator_data_names_every_method_with_its_effect(built_site):
    full = json.loads((built_site / "data" / "methods.json").read_text())["methods"]
    compact = json.loads((built_site / "data" / "calculator-methods.json").read_text())["methods"]
    assert [(m["id"], m["name"], m["url"], m["effect"]) for m in compact] == \
        [(m["id"], m["name"], m["url"], m["effect"]) for m in full]
