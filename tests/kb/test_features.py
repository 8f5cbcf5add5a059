"""Architecture entries list the catalogue models that use them (issue 14.8), read from each model's recipe."""

from __future__ import annotations

import html
from functools import lru_cache

import pytest
from pydantic import ValidationError

from kb.analysis import Catalogue
from kb.features import FEATURES, features_section
from kb.load import load
from kb.schema import Method
from tests.conftest import REPO


@lru_cache(maxsize=1)
def _kb_and_models():
    kb = load(REPO)
    return kb, Catalogue(kb).models


def _section(method_id: str) -> str:
    kb, models = _kb_and_models()
    return features_section(models)(kb.methods[method_id], f"methods/{method_id}.md")


def test_the_mla_page_lists_the_deepseek_models_and_no_other():
    out = _section("mla")
    assert "## Catalogue models with this architecture" in out and "(../models.md)" in out
    assert "DeepSeek-V3" in out and "DeepSeek-V2-Lite" in out
    assert "Llama" not in out and "Mixtral" not in out


def test_the_gqa_page_lists_llama_3_but_not_the_mha_llama_2_7b():
    kb, models = _kb_and_models()
    out = _section("gqa")
    assert models["llama-3-8b"].name in out and models["llama-2-70b"].name in out
    assert f"{models['llama-2-7b'].name}," not in out and not out.rstrip().endswith(models["llama-2-7b"].name + ".")


def test_moe_pages_list_every_catalogue_moe_and_only_those():
    kb, models = _kb_and_models()
    listed = html.unescape(_section("switch-transformer")).split(": ", 1)[1].rstrip().rstrip(".").split(", ")
    assert sorted(listed) == sorted(m.name for m in models.values() if m.num_local_experts)


def test_an_entry_without_features_gets_no_section_and_a_feature_with_no_model_says_so():
    assert _section("awq") == ""
    assert "none yet." in _section("mqa")  # no catalogue model has one KV head today


def test_an_unknown_feature_is_refused_by_the_schema():
    kb, _ = _kb_and_models()
    data = kb.methods["mla"].model_dump()
    data["features"] = ["latent-atention"]
    with pytest.raises(ValidationError, match="features"):
        Method.model_validate(data)


def test_every_feature_has_words_and_a_test():
    assert all(words and callable(test) for words, test in FEATURES.values())


def test_the_mamba_and_jamba_pages_list_the_state_space_models():
    mamba, jamba = html.unescape(_section("mamba")), html.unescape(_section("jamba"))
    for name in ("Falcon Mamba 7B", "Mamba 2.8B"):
        assert name in mamba and name not in jamba
    assert "Jamba" in jamba and "Jamba" in mamba  # Jamba's Mamba layers are state-space layers too
    assert "DeepSeek" not in mamba and "Llama" not in mamba
