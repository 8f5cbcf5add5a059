"""tests/js/serving_vectors.json (the browser's serving view's test vectors) must be what
tools/make_serving_vectors.py writes from the current calculator.serving, calculator.search and catalogue;
otherwise regenerate it."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.site.conftest import REPO

VECTORS = REPO / "tests" / "js" / "serving_vectors.json"


def _tool():
    spec = importlib.util.spec_from_file_location("make_serving_vectors", REPO / "tools" / "make_serving_vectors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_serving_vectors_are_current():
    fresh = _tool().build()
    if VECTORS.read_text(encoding="utf-8") != fresh:
        pytest.fail("tests/js/serving_vectors.json is stale (calculator/serving.py, search.py, core.py or the "
                    "catalogue changed): run .venv/bin/python tools/make_serving_vectors.py and commit the file",
                    pytrace=False)


def test_serving_vectors_cover_the_model_kinds_and_the_options():
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    valid = [c for c in doc["cases"] if "expect" in c]
    models = doc["models"]
    assert len(valid) >= 20 and sum("error" in c for c in doc["cases"]) >= 4
    assert any(models[c["model"]].get("kv_lora_rank") for c in valid)  # MLA
    assert any(models[c["model"]].get("num_local_experts") for c in valid)  # MoE
    assert any(models[c["model"]].get("sliding_window") for c in valid)  # window layers
    assert any(models[c["model"]].get("architecture") == "opt" for c in valid)
    assert {c["options"].get("allocator", "paged") for c in valid} == {"paged", "reserve"}
    assert any(c["expect"]["capacity"]["max_batch"] == 0 for c in valid)
    assert any(c["expect"]["capacity"]["max_batch"] is None for c in valid)
    assert any(s["best"] is None for c in valid for s in c["expect"]["sla"] if c["expect"]["capacity"]["max_batch"])
    worked = next(c for c in valid if c["id"].startswith("llama-2-7b h100 paged"))
    assert worked["expect"]["capacity"]["max_batch"] == 193  # calculator.serving.capacity's worked example
