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


# Every family the catalogue ships as a verbatim config.json block reads through --config's path.
_KB_MODELS = FIXTURES.parents[2] / "kb" / "models"


def _config_models() -> list[str]:
    import yaml

    out = []
    for path in sorted(_KB_MODELS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if isinstance(data, dict) and data.get("config"):
            out.append(path.stem)
    return out


@pytest.mark.parametrize("model_id", _config_models())
def test_every_catalogue_config_block_reads_as_its_model_type(model_id):
    import yaml

    from kb.catalogue import load_model

    cfg = yaml.safe_load((_KB_MODELS / f"{model_id}.yaml").read_text())["config"]
    m = model_from_hf_config(cfg, model_id=model_id)
    assert m.recipe == load_model(model_id).recipe
    recurrent = all(g.attention.kind in ("linear", "mamba") for g in m.recipe)  # a state, no KV per token
    assert m.params_total > 0 and (m.kv_bytes_per_token() > 0) != recurrent


def test_model_types_of_the_catalogue_cover_the_families():
    import yaml

    types = {yaml.safe_load((_KB_MODELS / f"{m}.yaml").read_text())["config"]["model_type"]
             for m in _config_models()}
    assert types >= {"deepseek_v3", "qwen3_moe", "gpt_oss", "llama"}, types


def test_deepseek_v3_config():
    m = _load("deepseek-v3")
    assert (m.kv_lora_rank, m.qk_rope_head_dim, m.q_lora_rank, m.num_local_experts, m.num_shared_experts,
            m.dense_layers) == (512, 64, 1536, 256, 1, (0, 1, 2))


def test_gemma3_reads_text_config_and_the_pattern():
    cfg = {"model_type": "gemma3", "text_config": {
        "model_type": "gemma3_text", "hidden_size": 2560, "intermediate_size": 10240, "num_hidden_layers": 12,
        "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256, "vocab_size": 262208,
        "sliding_window": 1024, "sliding_window_pattern": 6, "max_position_embeddings": 131072}}
    m = model_from_hf_config(cfg)
    assert m.layer_types == ("window",) * 5 + ("full",) + ("window",) * 5 + ("full",)
    assert (m.tie_word_embeddings, m.qk_norm, m.sliding_window) == (True, True, 1024)


def test_qwen3_moe_dense_layers_from_sparse_step_and_mlp_only_layers():
    cfg = {"model_type": "qwen3_moe", "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 6,
           "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "vocab_size": 100,
           "num_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 64, "decoder_sparse_step": 2,
           "mlp_only_layers": [3]}
    m = model_from_hf_config(cfg)
    assert m.dense_layers == (0, 2, 3, 4)  # (i + 1) % 2 != 0, plus layer 3


def test_gpt_oss_layer_types_sinks_and_biases():
    cfg = {"model_type": "gpt_oss", "hidden_size": 2880, "intermediate_size": 2880, "num_hidden_layers": 4,
           "num_attention_heads": 64, "num_key_value_heads": 8, "head_dim": 64, "vocab_size": 201088,
           "sliding_window": 128, "layer_types": ["sliding_attention", "full_attention"] * 2,
           "num_local_experts": 32, "experts_per_token": 4}
    m = model_from_hf_config(cfg)
    assert (m.attention_sinks, m.qkv_bias, m.mlp_bias, m.num_experts_per_tok) == (True, True, True, 4)
    assert m.layer_types == ("window", "full", "window", "full")


def test_an_unknown_layer_type_is_refused_in_one_line():
    cfg = {"model_type": "gpt_oss", "hidden_size": 64, "intermediate_size": 64, "num_hidden_layers": 1,
           "num_attention_heads": 4, "vocab_size": 10, "sliding_window": 8, "layer_types": ["mamba"],
           "num_local_experts": 2, "num_experts_per_tok": 1}
    with pytest.raises(CalculatorError, match="layer type 'mamba' is not modelled"):
        model_from_hf_config(cfg)


def test_qwen3_next_is_a_hybrid_of_gated_deltanet_and_full_attention():
    cfg = {"model_type": "qwen3_next", "hidden_size": 2048, "intermediate_size": 5120, "num_hidden_layers": 8,
           "num_attention_heads": 16, "num_key_value_heads": 2, "head_dim": 256, "vocab_size": 151936,
           "num_experts": 512, "num_experts_per_tok": 10, "moe_intermediate_size": 512,
           "shared_expert_intermediate_size": 512, "full_attention_interval": 4, "linear_conv_kernel_dim": 4,
           "linear_key_head_dim": 128, "linear_value_head_dim": 128, "linear_num_key_heads": 16,
           "linear_num_value_heads": 32}
    m = model_from_hf_config(cfg)
    assert m.layer_types == ("linear", "linear", "linear", "full") * 2
    assert [(g.count, g.attention.kind) for g in m.recipe] == [(6, "linear"), (2, "full")]
    assert (m.num_shared_experts, m.shared_expert_intermediate_size, m.qk_norm) == (1, 512, True)


def test_yi_reads_as_llama():
    cfg = json.loads((HF / "toy-llama" / "config.json").read_text()) | {"model_type": "yi"}
    assert model_from_hf_config(cfg).architecture == "llama"
