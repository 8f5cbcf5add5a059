"""tests/js/vectors.json (the browser calculator's test vectors) must be what tools/make_vectors.py
writes from the current Python calculator and catalogue; otherwise regenerate it."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.site.conftest import REPO

VECTORS = REPO / "tests" / "js" / "vectors.json"


def _make_vectors():
    spec = importlib.util.spec_from_file_location("make_vectors", REPO / "tools" / "make_vectors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vectors_are_current():
    fresh = _make_vectors().build()
    current = VECTORS.read_text(encoding="utf-8")
    if current != fresh:  # no `assert ==`: pytest's diff of two 1 MB lines takes minutes
        pytest.fail("tests/js/vectors.json is stale (calculator/ or the catalogue changed): "
                    "run .venv/bin/python tools/make_vectors.py and commit the file", pytrace=False)


def test_vectors_cover_the_catalogue_and_the_options():
    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    cases = doc["cases"]
    assert len(cases) >= 300
    valid = [c for c in cases if "expect" in c]
    assert {c["model"] for c in cases if isinstance(c["model"], str)} == set(doc["catalogue"]["models"])
    assert {c["hardware"] for c in cases if isinstance(c["hardware"], str)} == set(doc["catalogue"]["hardware"])
    settings = [c["settings"] for c in valid]
    assert {s["stage"] for s in settings} == {"prefill", "decode", "generate", "all"}
    assert {s["w_bits"] for s in settings} >= {1, 2, 3, 4, 5, 6, 8, 16, 32}
    assert any(s["group_size"] for s in settings) and any(s["kv_group_size"] for s in settings)
    assert any(s["flash_attention"] for s in settings) and any(s["quantize_head"] for s in settings)
    assert {s["tp"] for s in settings} >= {1, 2, 4, 8}
    assert {s["number_format"] for s in settings} == {"int", "fp"}
    archs = {doc["catalogue"]["models"][c["model"]]["architecture"] for c in valid if isinstance(c["model"], str)}
    assert archs == {"llama", "opt", "mixtral", "qwen2"}
    assert any("split" in c["tags"] for c in cases)
    assert sum("error" in c for c in cases) >= 10


def test_effect_vectors_cover_every_effect_kind():
    """tests/js/effects.test.mjs holds effects.js to calculator.effects on these cases."""
    from calculator.effects import EFFECT_KINDS

    doc = json.loads(VECTORS.read_text(encoding="utf-8"))
    cases = doc["effect_cases"]
    assert len(doc["cases"]) + len(cases) >= 300
    valid = [c for c in cases if "expect" in c]
    for kind in EFFECT_KINDS:
        if kind in ("none", "serving"):  # refused by apply_effect in both languages (serving: --stage serve)
            assert any(c["effect"]["kind"] == kind and "error" in c for c in cases), kind
            continue
        mine = [c for c in valid if c["effect"]["kind"] == kind]
        assert len({json.dumps(c["model"]) for c in mine}) >= 3, kind
        assert len({json.dumps(c["hardware"]) for c in mine}) >= 3, kind
    effects = [c["effect"] for c in valid]
    assert {e["pattern"] for e in effects if e["kind"] == "sparsity"} == {"unstructured", "n:m", "structured"}
    assert any(e["kind"] == "speculative" and "draft_model" in e for e in effects)
    assert any(e["kind"] == "speculative" and "draft_model" not in e for e in effects)
    assert any(e["kind"] == "distillation" and "student" in e for e in effects)
    assert any(e["kind"] == "operator_fusion" and e.get("fused_elementwise") for e in effects)
    assert any(e["kind"] == "offloading" and isinstance(c["hardware"], str) for c, e in zip(valid, effects))
    assert any(c["settings"]["tp"] > 1 for c in valid)
    assert sum("error" in c for c in cases) >= 8


def test_catalogue_json_gives_the_same_inputs_as_the_yaml_files():
    """The browser builds its inputs from data/catalogue.json, the CLI from the YAML files."""
    from kb.catalogue import hardware_from_dict, load_hardware, load_model, model_from_dict

    cat = _make_vectors().catalogue()
    for model_id, data in cat["models"].items():
        assert model_from_dict(data) == load_model(model_id), model_id
    for hw_id, data in cat["hardware"].items():
        assert hardware_from_dict(data) == load_hardware(hw_id), hw_id
