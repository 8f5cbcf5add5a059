"""Hugging Face config.json -> Model."""

from __future__ import annotations

import json

import pytest

from calculator import CalculatorError
from calculator.hf import model_from_hf_config
from tests.calculator.conftest import FIXTURES, model

HF = FIXTURES / "hf"


def _load(name):
    return model_from_hf_config(json.loads((HF / name / "config.json").read_text()), model_id=name)


def test_llama_config_matches_catalogue_model():
    res, tgt = _load("toy-llama"), model("llama-2-7b")
    fields = ("architecture", "hidden_size", "intermediate_size", "num_hidden_layers",
              "num_attention_heads", "num_key_value_heads", "head_dim", "vocab_size")
    assert [getattr(res, f) for f in fields] == [getattr(tgt, f) for f in fields]


def test_mixtral_config():
    m = _load("toy-mixtral")
    assert (m.architecture, m.num_local_experts, m.num_experts_per_tok, m.num_key_value_heads) == (
        "mixtral", 8, 2, 8)


def test_opt_config_maps_ffn_dim_and_ties_embeddings():
    m = _load("toy-opt")
    assert (m.architecture, m.intermediate_size, m.tie_word_embeddings, m.mlp_bias) == ("opt", 16384, True, True)


def test_qwen2_config_has_qkv_bias():
    m = _load("toy-qwen2")
    assert (m.qkv_bias, m.o_bias) == (True, False)


def test_mistral_maps_to_llama():
    cfg = json.loads((HF / "toy-llama" / "config.json").read_text()) | {"model_type": "mistral",
                                                                        "num_key_value_heads": 8}
    assert model_from_hf_config(cfg).architecture == "llama"


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        ({"model_type": "gpt2"}, "unsupported model_type"),
        ({"model_type": "llama", "hidden_size": 4096}, "missing field"),
        ([1, 2], "expected a JSON object"),
        ({"model_type": "llama", "hidden_size": "4096", "intermediate_size": 1, "num_hidden_layers": 1,
          "num_attention_heads": 1, "vocab_size": 1}, "must be an integer"),
        ({"model_type": "llama", "hidden_size": 4096, "intermediate_size": 1, "num_hidden_layers": 1,
          "num_attention_heads": 3, "vocab_size": 1}, "not a multiple"),
    ],
)
def test_bad_configs_raise_one_line(cfg, message):
    with pytest.raises(CalculatorError, match=message) as info:
        model_from_hf_config(cfg, where="config.json")
    assert "\n" not in str(info.value)
