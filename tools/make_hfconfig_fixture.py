"""Write tests/js/hfconfig-fixture.json: what calculator.hf makes of configs, for docs/assets/js/hfconfig.js.

The fixture holds, for every kb/models file with a `config:` block and for a few synthetic configs, the Python
model (its constructor fields, parameter counts and layer groups), and for a set of hostile configs the one-line
error Python raises. tests/js/hfconfig.test.mjs runs modelFromConfig over the same configs and compares;
tests/calculator/test_hfconfig_fixture.py fails when this file is stale.

    .venv/bin/python tools/make_hfconfig_fixture.py          # rewrite the fixture
    .venv/bin/python tools/make_hfconfig_fixture.py --check  # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from calculator import Hardware, Settings, analyze  # noqa: E402
from calculator.hf import MODEL_TYPES, model_from_hf_config  # noqa: E402
from calculator.limits import LIMITS  # noqa: E402
from calculator.spec import CalculatorError  # noqa: E402
from kb.catalogue import _MODEL_FIELDS  # noqa: E402

FIXTURE = ROOT / "tests" / "js" / "hfconfig-fixture.json"
MODEL_LIMIT_KEYS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                    "num_key_value_heads", "head_dim", "vocab_size", "max_position_embeddings", "num_local_experts",
                    "num_experts_per_tok", "seq_len")

_LLAMA = {"model_type": "llama", "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 4,
          "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 1000, "max_position_embeddings": 4096}
_MAMBA = {"model_type": "mamba", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 100, "state_size": 16,
          "conv_kernel": 4, "expand": 2}
_MAMBA2 = {"model_type": "mamba2", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 100, "num_heads": 8,
           "head_dim": 16, "n_groups": 2, "state_size": 16, "conv_kernel": 4}
_JAMBA = {"model_type": "jamba", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 8,
          "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "attn_layer_period": 4,
          "attn_layer_offset": 2, "num_experts": 4, "num_experts_per_tok": 2, "mamba_dt_rank": 4}
_GRANITE = {"model_type": "granitemoehybrid", "hidden_size": 64, "intermediate_size": 32, "num_hidden_layers": 4,
            "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 100, "max_position_embeddings": 4096,
            "layer_types": ["mamba", "mamba", "attention", "mamba"], "mamba_n_heads": 8, "mamba_d_head": 16,
            "mamba_expand": 2, "mamba_n_groups": 1, "mamba_d_state": 32, "mamba_d_conv": 4, "num_local_experts": 8,
            "num_experts_per_tok": 2, "shared_intermediate_size": 96, "tie_word_embeddings": True}


def _without(cfg: dict, key: str) -> dict:
    return {k: v for k, v in cfg.items() if k != key}


def synthetic_models() -> list[dict]:
    """Valid configs beyond the catalogue: defaults and branches no catalogue file takes."""
    staged = yaml.safe_load((ROOT / ".notes" / "models-staging" / "qwen3-next-80b-a3b.yaml").read_text())
    return [
        {"id": "toy-llama", "name": "", "config": _LLAMA},
        {"id": "", "name": "", "config": {**_LLAMA, "_name_or_path": "org/toy"}},
        {"id": "toy-mamba-auto-rank", "name": "Toy Mamba", "config": _MAMBA},
        {"id": "toy-mamba2", "name": "", "config": _MAMBA2},
        {"id": "toy-jamba", "name": "", "config": _JAMBA},
        {"id": "toy-jamba-blocks", "name": "", "config": {**_JAMBA, "num_hidden_layers": 2, "num_experts": 1,
                                                          "layers_block_type": ["mamba", "attention"]}},
        {"id": "toy-qwen2-window", "name": "", "config": {**_LLAMA, "model_type": "qwen2", "use_sliding_window": True,
                                                          "sliding_window": 64, "max_window_layers": 2}},
        {"id": "toy-deepseek-no-q-lora", "name": "", "config": {
            **_LLAMA, "model_type": "deepseek_v2", "q_lora_rank": None, "kv_lora_rank": 64, "qk_nope_head_dim": 16,
            "qk_rope_head_dim": 8, "v_head_dim": 16, "n_routed_experts": 8, "num_experts_per_tok": 2,
            "moe_intermediate_size": 64, "n_shared_experts": 1, "first_k_dense_replace": 1}},
        {"id": "toy-llama4-chunked", "name": "", "config": {
            **_LLAMA, "model_type": "llama4_text", "num_local_experts": 4, "num_experts_per_tok": 1,
            "interleave_moe_layer_step": 2, "intermediate_size_mlp": 768, "attention_chunk_size": 128}},
        {"id": "toy-granite-hybrid-moe", "name": "", "config": _GRANITE},
        {"id": "toy-granite-dense-attention", "name": "", "config": {
            **_without(_GRANITE, "num_local_experts"), "layer_types": ["attention"] * 4}},
        {"id": "qwen3-next-80b-a3b", "name": "Qwen3-Next 80B-A3B (staged)", "config": staged["config"]},
    ]


def hostile_configs() -> list[object]:
    """Configs Python refuses, each with a one-line error naming the field."""
    return [
        [], "config", None, 3,
        _without(_LLAMA, "model_type"), {**_LLAMA, "model_type": "bert"}, {**_LLAMA, "model_type": "nemotron_h"},
        {**_LLAMA, "model_type": ["llama"]},
        _without(_LLAMA, "num_attention_heads"), _without(_LLAMA, "num_hidden_layers"),
        _without(_LLAMA, "hidden_size"), _without(_LLAMA, "vocab_size"), _without(_LLAMA, "intermediate_size"),
        {**_LLAMA, "hidden_size": "256"}, {**_LLAMA, "hidden_size": 2.5}, {**_LLAMA, "hidden_size": None},
        {**_LLAMA, "hidden_size": True}, {**_LLAMA, "tie_word_embeddings": "yes"}, {**_LLAMA, "attention_bias": 1},
        {**_LLAMA, "num_hidden_layers": 0}, {**_LLAMA, "num_hidden_layers": 200000},
        {**_LLAMA, "hidden_size": 2000000}, {**_LLAMA, "vocab_size": -1}, {**_LLAMA, "max_position_embeddings": -5},
        {**_LLAMA, "num_attention_heads": 6}, {**_LLAMA, "head_dim": 0}, {**_LLAMA, "intermediate_size": 0},
        {**_LLAMA, "model_type": "mixtral"}, {**_LLAMA, "model_type": "mixtral", "num_local_experts": 2,
                                              "num_experts_per_tok": 3},
        {**_LLAMA, "model_type": "gpt_oss", "layer_types": ["full_attention"] * 3, "num_local_experts": 2,
         "num_experts_per_tok": 1},
        {**_LLAMA, "model_type": "gpt_oss", "layer_types": ["mamba"] * 4, "sliding_window": 8, "num_local_experts": 2,
         "num_experts_per_tok": 1},
        {**_LLAMA, "model_type": "gpt_oss", "sliding_window": 8, "num_local_experts": 2},
        {**_LLAMA, "model_type": "qwen3_moe", "num_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 64,
         "decoder_sparse_step": 0},
        {**_LLAMA, "model_type": "qwen3_moe", "num_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 64,
         "mlp_only_layers": "x"},
        {**_LLAMA, "model_type": "qwen2", "use_sliding_window": "no"},
        {**_LLAMA, "model_type": "qwen3_next", "linear_num_key_heads": 4},
        {**_LLAMA, "model_type": "deepseek_v3", "q_lora_rank": "x"},
        {**_LLAMA, "model_type": "gemma3_text", "sliding_window": 64, "sliding_window_pattern": 0},
        {**_LLAMA, "model_type": "llama4_text", "attention_chunk_size": 128, "no_rope_layers": [1, 0]},
        {**_MAMBA, "state_size": "16"}, {**_MAMBA, "time_step_rank": None}, {**_MAMBA, "use_conv_bias": "yes"},
        _without(_MAMBA2, "num_heads"), {**_MAMBA2, "n_groups": 3}, {**_MAMBA, "conv_kernel": 0},
        {**_JAMBA, "layers_block_type": ["attention"]}, {**_JAMBA, "attn_layer_period": 0},
        {**_JAMBA, "mamba_expand": 2.5}, {**_JAMBA, "num_experts_per_tok": 8},
        _without(_GRANITE, "layer_types"), {**_GRANITE, "mamba_d_head": 8}, _without(_GRANITE, "shared_intermediate_size"),
        {**_GRANITE, "layer_types": ["mamba", "linear_attention", "attention", "mamba"]},
    ]


# One analysis of every model on a toy device, so the JS mirror is checked row by row on each layer kind.
DEVICE = {"id": "toy", "memory_bandwidth": 1e12, "peak_ops": {"fp16": 1e14}, "memory_bytes": 8e10}
SETTINGS = {"batch": 2, "seq_len": 512, "gen_len": 8, "stage": "all"}


def _python_model(model) -> dict:
    fields = {key: getattr(model, key) for key in ("id", "name") + _MODEL_FIELDS}
    for key, value in fields.items():
        if isinstance(value, tuple):
            fields[key] = list(value)
    r = analyze(model, Hardware(**DEVICE), Settings(**SETTINGS))
    return {"fields": fields, "params_total": model.params_total, "params_active": model.params_active,
            "recipe": [{"count": g.count, "attention": g.attention._asdict(), "mlp": g.mlp._asdict()}
                       for g in model.recipe],
            "analysis": {"stages": {name: [list(row[:4]) for row in stage.layers] for name, stage in r.stages.items()},
                         "memory": [r.memory.weights_bytes, r.memory.kv_cache_bytes, r.memory.activations_bytes],
                         "decode_time_s": r.generate.decode_time_s}}


def build() -> dict:
    models = []
    for path in sorted((ROOT / "kb" / "models").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if data.get("config") is not None:
            models.append({"id": data["id"], "name": data.get("name", ""), "config": data["config"]})
    models += synthetic_models()
    for case in models:
        model = model_from_hf_config(case["config"], model_id=case["id"])
        if case["name"]:
            from dataclasses import replace

            model = replace(model, name=case["name"])
        case["expect"] = _python_model(model)
    errors = []
    for cfg in hostile_configs():
        try:
            model_from_hf_config(cfg)
        except CalculatorError as exc:
            errors.append({"config": cfg, "error": str(exc)})
        else:
            raise SystemExit(f"not refused: {cfg!r}")
    return {
        "about": "Written by tools/make_hfconfig_fixture.py from calculator.hf; do not edit by hand.",
        "model_types": MODEL_TYPES,
        "device": DEVICE,
        "settings": SETTINGS,
        "limits": {key: list(LIMITS[key]) for key in MODEL_LIMIT_KEYS},
        "models": models,
        "errors": errors,
    }


def render() -> str:
    return json.dumps(build(), indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the fixture is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = FIXTURE.read_text() if FIXTURE.exists() else ""
        if current != text:
            print(f"{FIXTURE.relative_to(ROOT)} is stale: run tools/make_hfconfig_fixture.py", file=sys.stderr)
            return 1
        return 0
    FIXTURE.write_text(text)
    print(f"wrote {FIXTURE.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
