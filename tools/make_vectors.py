"""Write tests/js/vectors.json: inputs and the Python calculator's outputs, for the browser's maths.

The live calculator (docs/assets/js/roofline.js) re-implements `calculator.analyze` in JavaScript;
tests/js/roofline.test.mjs (``node --test tests/js/``) checks that it reproduces every number of
this file to 1e-9 relative, and tests/site/test_vectors_current.py fails when the file no longer
matches what this script would write (after a change to calculator/ or to the catalogue).

    .venv/bin/python tools/make_vectors.py            # rewrite tests/js/vectors.json
    .venv/bin/python tools/make_vectors.py --check    # exit 1 when it is stale

The cases are deterministic (a fixed random seed): every catalogue model and device, every stage,
the allowed bit-widths with and without group scales, integer and floating-point formats, fused
attention, tensor parallelism, quantized vocabulary matrices, hand-made models and devices for the
corners (explicit head_dim, biases, MQA on several devices, one-format devices), decode runs whose
attention turns from memory- to compute-bound part-way (the split sum of `_sum_steps`), and inputs
the calculator refuses (the JavaScript must throw the same one-line message).

`effect_cases` hold the same for method effects (docs/assets/js/effects.js against
`calculator.effects.apply_effect`): every effect kind with fixed, representative effect dicts (not
read from kb/methods, so an edited entry does not make the file stale) on several models and devices,
with the draft and student models and the host link looked up as kb.analysis does, and the effects
the calculator refuses (kind none, a draft-less speculative entry, offloading without a host link, ...).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "js" / "vectors.json"
SEED = 20240226

MODEL_KEYS = ("id", "name", "family", "architecture", "hidden_size", "intermediate_size",
              "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
              "vocab_size", "max_position_embeddings", "tie_word_embeddings", "num_local_experts",
              "num_experts_per_tok", "qkv_bias", "o_bias", "mlp_bias", "sliding_window", "layer_types",
              "attention_sinks", "qk_norm", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
              "qk_rope_head_dim", "v_head_dim", "moe_intermediate_size", "num_shared_experts",
              "shared_expert_intermediate_size", "dense_layers", "mamba_d_state", "mamba_d_conv",
              "mamba_inner_size", "mamba_dt_rank", "mamba_n_heads", "mamba_n_groups", "mamba_conv_bias",
              "mamba_proj_bias", "no_mlp_layers")
HARDWARE_KEYS = ("id", "name", "memory_bandwidth_gb_s", "peak_tops", "memory_gib", "interconnect", "host_link")

BIT_PRESETS = ((16, 16, 16), (4, 16, 16), (3, 16, 16), (2, 16, 16), (1, 16, 16), (8, 8, 16),
               (8, 8, 8), (4, 4, 4), (4, 8, 16), (4, 4, 16), (6, 6, 16), (5, 16, 16), (16, 16, 4),
               (16, 16, 2), (16, 16, 8), (32, 32, 32), (16, 32, 16), (8, 16, 8), (6, 16, 16))


def catalogue() -> dict:
    """The catalogue exactly as the site publishes it (data/catalogue.json), trimmed to the fields
    the calculator reads."""
    from kb.exports import catalogue_json
    from kb.load import load

    kb = load(REPO)
    if kb.problems:
        raise SystemExit(f"the knowledge base has {len(kb.problems)} problem(s); run python -m kb check")
    data = json.loads(catalogue_json(kb))
    models = {k: {f: v[f] for f in MODEL_KEYS if f in v} for k, v in data["models"].items()}
    hardware = {k: {f: v[f] for f in HARDWARE_KEYS if f in v} for k, v in data["hardware"].items()}
    return {"models": models, "hardware": hardware}


def _layers(stage) -> list:
    return [[r.name, r.count, r.ops, r.bytes, r.time_s, r.bound, r.format] for r in stage.layers]


def expect(result) -> dict:
    """The numbers the JavaScript must reproduce."""
    out = {
        "model_parameters": result.model.parameters,
        "model_params_active": result.model.params_active,
        "formats": dict(result.formats),
        "notes": list(result.notes),
        "stages": {
            name: {"layers": _layers(st), "ops": st.ops, "bytes": st.bytes, "time_s": st.time_s,
                   "interconnect_bytes": st.interconnect_bytes}
            for name, st in result.stages.items()
        },
        "memory": result.memory.to_dict(),
        "generate": result.generate.to_dict() if result.generate is not None else None,
    }
    return out


def _stage_dict(stage) -> dict:
    return {"name": stage.name, "layers": _layers(stage), "ops": stage.ops, "bytes": stage.bytes,
            "time_s": stage.time_s, "interconnect_bytes": stage.interconnect_bytes}


def expect_outcome(out) -> dict:
    """The numbers of a method's outcome (calculator.effects.Outcome) the JavaScript must reproduce."""
    return {"prefill": _stage_dict(out.prefill), "decode": _stage_dict(out.decode),
            "decode_token_s": out.decode_token_s, "memory": out.memory.to_dict(), "notes": list(out.notes)}


class _Builder:
    def __init__(self, cat: dict):
        from calculator import CalculatorError, Hardware, Model, Settings, analyze
        from kb.catalogue import hardware_from_dict, model_from_dict

        self.cat = cat
        self.Error, self.Hardware, self.Model, self.Settings, self.analyze = (
            CalculatorError, Hardware, Model, Settings, analyze)
        self.models = {k: model_from_dict(v) for k, v in cat["models"].items()}
        self.hardware = {k: hardware_from_dict(v) for k, v in cat["hardware"].items()}
        self.cases: list[dict] = []
        self.effect_cases: list[dict] = []
        self.ids: set[str] = set()

    def _inputs(self, model, hardware):
        m = self.models[model] if isinstance(model, str) else self.Model(**model)
        hw = self.hardware[hardware] if isinstance(hardware, str) else self.Hardware(**hardware)
        return m, hw

    def try_case(self, case_id: str, model, hardware, settings: dict, tags=()) -> bool:
        """Add a valid case; False (nothing added) when the calculator refuses the inputs."""
        try:
            m, hw = self._inputs(model, hardware)
            s = self.Settings(**settings)
            result = self.analyze(m, hw, s)
        except self.Error:
            return False
        self._add({"id": case_id, "model": model, "hardware": hardware, "settings": s.to_dict(),
                   "tags": list(tags), "expect": expect(result)})
        return True

    def error_case(self, case_id: str, model, hardware, settings: dict) -> None:
        """A case the calculator must refuse; its one-line message is the expectation."""
        try:
            m, hw = self._inputs(model, hardware)
            s = self.Settings(**settings)
            self.analyze(m, hw, s)
        except self.Error as exc:
            self._add({"id": case_id, "model": model, "hardware": hardware, "settings": settings,
                       "tags": ["error"], "error": str(exc)})
            return
        raise AssertionError(f"{case_id}: expected a CalculatorError")

    def _add(self, case: dict, into: list | None = None) -> None:
        if case["id"] in self.ids:
            raise AssertionError(f"duplicate case id {case['id']}")
        self.ids.add(case["id"])
        (self.cases if into is None else into).append(case)

    # ------------------------------------------------------------------ method effects

    def _effect_inputs(self, model, hardware, settings: dict, effect: dict, host):
        m, hw = self._inputs(model, hardware)
        if host is None and isinstance(hardware, str):  # as kb.analysis.Catalogue.host
            link = self.cat["hardware"][hardware].get("host_link")
            host = link["bandwidth_gb_s"] * 1e9 if link else None
        extra = {"draft": self.models.get(effect.get("draft_model", "")),
                 "student": self.models.get(effect.get("student", "")), "host_bandwidth": host}
        return m, hw, self.Settings(**settings), extra

    def try_effect(self, case_id: str, model, hardware, settings: dict, effect: dict, host=None) -> bool:
        """Add a method-effect case; False (nothing added) when the calculator refuses it."""
        from calculator.effects import apply_effect

        try:
            m, hw, s, extra = self._effect_inputs(model, hardware, settings, effect, host)
            out = apply_effect(m, hw, s, effect, **extra)
        except self.Error:
            return False
        case = {"id": case_id, "model": model, "hardware": hardware, "settings": s.to_dict(),
                "effect": effect, "expect": expect_outcome(out)}
        if host is not None:
            case["host_bandwidth"] = host
        self._add(case, self.effect_cases)
        return True

    def effect_error(self, case_id: str, model, hardware, settings: dict, effect: dict, host=None) -> None:
        from calculator.effects import apply_effect

        try:
            m, hw, s, extra = self._effect_inputs(model, hardware, settings, effect, host)
            apply_effect(m, hw, s, effect, **extra)
        except self.Error as exc:
            case = {"id": case_id, "model": model, "hardware": hardware, "settings": settings,
                    "effect": effect, "error": str(exc)}
            if host is not None:
                case["host_bandwidth"] = host
            self._add(case, self.effect_cases)
            return
        raise AssertionError(f"{case_id}: expected a CalculatorError")


def _draw_settings(rng: random.Random, bits: tuple, batch: tuple, seq_len: tuple, gen_len: tuple,
                   group_sizes: tuple) -> dict:
    """Random settings around the given bit-widths, drawing each other field from its choices."""
    w, a, kv = bits
    s = {
        "stage": rng.choice(("all", "all", "prefill", "decode", "generate")),  # apply_effect runs all
        "batch": rng.choice(batch),
        "seq_len": rng.choice(seq_len),
        "gen_len": rng.choice(gen_len),
        "w_bits": w, "a_bits": a, "kv_bits": kv,
        "number_format": "fp" if rng.random() < 0.3 else "int",
        "flash_attention": rng.random() < 0.5,
        "tp": rng.choice((1, 1, 1, 2, 4, 8)),
        "quantize_head": rng.random() < 0.15,
    }
    if w < 16 and rng.random() < 0.6:
        s["group_size"] = rng.choice(group_sizes)
    if kv < 16 and rng.random() < 0.5:
        s["kv_group_size"] = rng.choice((32, 64, 128))
    return s


def _random_settings(rng: random.Random) -> dict:
    bits = rng.choice(BIT_PRESETS) if rng.random() < 0.8 else tuple(
        rng.choice((1, 2, 3, 4, 5, 6, 8, 16, 32)) for _ in range(3))
    return _draw_settings(rng, bits, batch=(1, 1, 2, 3, 8, 16, 64, 256),
                          seq_len=(1, 2, 17, 128, 512, 1000, 2048, 2048, 4096, 8192, 32768),
                          gen_len=(1, 2, 3, 16, 128, 128, 500, 1024), group_sizes=(32, 64, 128, 128, 1000))


CUSTOM_MODELS = {
    "head-dim-explicit": dict(id="custom-head-dim", hidden_size=3072, intermediate_size=24576,
                              num_hidden_layers=4, num_attention_heads=16, num_key_value_heads=16,
                              head_dim=256, vocab_size=256000, tie_word_embeddings=True),
    "mqa": dict(id="custom-mqa", hidden_size=2048, intermediate_size=8192, num_hidden_layers=3,
                num_attention_heads=16, num_key_value_heads=1, vocab_size=50000),
    "llama-biases": dict(id="custom-biased-llama", hidden_size=1024, intermediate_size=2816,
                         num_hidden_layers=2, num_attention_heads=8, num_key_value_heads=2,
                         vocab_size=32000, qkv_bias=True, o_bias=True, mlp_bias=True),
    "opt-no-bias": dict(id="custom-opt", architecture="opt", hidden_size=768, intermediate_size=3072,
                        num_hidden_layers=12, num_attention_heads=12, vocab_size=50272,
                        max_position_embeddings=2048, qkv_bias=False, o_bias=False, mlp_bias=False),
    "moe-all-experts": dict(id="custom-moe-dense", architecture="mixtral", hidden_size=1024,
                            intermediate_size=2048, num_hidden_layers=2, num_attention_heads=8,
                            num_key_value_heads=8, vocab_size=32000, num_local_experts=4,
                            num_experts_per_tok=4),
    "moe-many": dict(id="custom-moe-64", architecture="mixtral", hidden_size=2048,
                     intermediate_size=1408, num_hidden_layers=4, num_attention_heads=16,
                     num_key_value_heads=4, vocab_size=102400, num_local_experts=64,
                     num_experts_per_tok=6, max_position_embeddings=4096),
    "tiny": dict(id="custom-tiny", hidden_size=8, intermediate_size=8, num_hidden_layers=1,
                 num_attention_heads=2, vocab_size=10),
    "qwen-tied": dict(id="custom-qwen-tied", architecture="qwen2", hidden_size=896,
                      intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                      num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True),
}

# Today's families as data (calculator.recipe): scaled-down shapes of DeepSeek-V3, DeepSeek-V2-Lite, Gemma 3,
# gpt-oss, Mistral 7B v0.1, Qwen3-MoE and Llama 4, so every attention and MLP kind and their mixes are held.
FAMILY_MODELS = {
    "mla-moe": dict(id="custom-mla-moe", hidden_size=1024, intermediate_size=2816, num_hidden_layers=6,
                    num_attention_heads=16, num_key_value_heads=16, vocab_size=32000, q_lora_rank=384,
                    kv_lora_rank=128, qk_nope_head_dim=64, qk_rope_head_dim=32, v_head_dim=64,
                    num_local_experts=16, num_experts_per_tok=4, moe_intermediate_size=256,
                    num_shared_experts=2, dense_layers=[0]),
    "mla-lite": dict(id="custom-mla-lite", hidden_size=2048, intermediate_size=10944, num_hidden_layers=4,
                     num_attention_heads=16, num_key_value_heads=16, vocab_size=102400, kv_lora_rank=512,
                     qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128, num_local_experts=64,
                     num_experts_per_tok=6, moe_intermediate_size=1408, num_shared_experts=2, dense_layers=[0]),
    "window-global": dict(id="custom-window-global", hidden_size=1152, intermediate_size=6912,
                          num_hidden_layers=12, num_attention_heads=4, num_key_value_heads=1, head_dim=256,
                          vocab_size=262144, tie_word_embeddings=True, sliding_window=512, qk_norm=True,
                          layer_types=["window"] * 5 + ["full"] + ["window"] * 5 + ["full"]),
    "oss-like": dict(id="custom-oss-like", hidden_size=2880, intermediate_size=2880, num_hidden_layers=4,
                     num_attention_heads=64, num_key_value_heads=8, head_dim=64, vocab_size=201088,
                     sliding_window=128, layer_types=["window", "full"] * 2, attention_sinks=True,
                     qkv_bias=True, o_bias=True, mlp_bias=True, num_local_experts=32, num_experts_per_tok=4),
    "all-window": dict(id="custom-all-window", hidden_size=4096, intermediate_size=14336, num_hidden_layers=4,
                       num_attention_heads=32, num_key_value_heads=8, vocab_size=32000, sliding_window=4096),
    "qwen3-moe-like": dict(id="custom-qwen3-moe", hidden_size=2048, intermediate_size=6144, num_hidden_layers=6,
                           num_attention_heads=32, num_key_value_heads=4, head_dim=128, vocab_size=151936,
                           qk_norm=True, num_local_experts=128, num_experts_per_tok=8, moe_intermediate_size=768,
                           dense_layers=[0, 3]),
    "hybrid-linear": dict(id="custom-hybrid-linear", hidden_size=2048, intermediate_size=5120, num_hidden_layers=8,
                          num_attention_heads=16, num_key_value_heads=2, head_dim=256, vocab_size=151936,
                          qk_norm=True, num_local_experts=64, num_experts_per_tok=10, moe_intermediate_size=512,
                          num_shared_experts=1, linear_num_key_heads=16, linear_num_value_heads=32,
                          linear_key_head_dim=128, linear_value_head_dim=128, linear_conv_kernel_dim=4,
                          layer_types=["linear", "linear", "linear", "full"] * 2),
    "llama4-like": dict(id="custom-llama4-like", hidden_size=5120, intermediate_size=16384, num_hidden_layers=8,
                        num_attention_heads=40, num_key_value_heads=8, head_dim=128, vocab_size=202048,
                        num_local_experts=16, num_experts_per_tok=1, moe_intermediate_size=8192,
                        num_shared_experts=1, sliding_window=8192,
                        layer_types=["window", "window", "window", "full"] * 2),
}

CUSTOM_HARDWARE = {
    "int8-only": dict(id="custom-int8-only", memory_bandwidth=100e9, peak_ops={"int8": 50e12}),
    "fp32-only": dict(id="custom-fp32-only", name="FP32 device", memory_bandwidth=51.2e9,
                      peak_ops={"fp32": 2e12}, memory_bytes=64 * 2**30),
    "ties": dict(id="custom-ties", memory_bandwidth=1e12, peak_ops={"int4": 8e14, "int8": 8e14},
                 interconnect_bandwidth=400e9),
    "fp-formats": dict(id="custom-fp-formats", memory_bandwidth=8e12,
                       peak_ops={"fp4": 9e15, "fp6": 4.5e15, "fp8": 4.5e15, "fp16": 2.25e15,
                                 "bf16": 2.25e15, "tf32": 1.1e15, "fp32": 80e12, "int8": 4.5e15},
                       memory_bytes=192e9, interconnect_bandwidth=1.8e12),
}


# Method effects: fixed, representative effect dicts (the shapes of kb/methods entries' `effect`).
EFFECTS = [
    {"kind": "quantization", "weights": {"bits": 4, "group_size": 128}},
    {"kind": "quantization", "weights": {"bits": 8}, "activations": {"bits": 8}},
    {"kind": "quantization", "weights": {"bits": 4}, "activations": {"bits": 4},
     "kv_cache": {"bits": 4, "group_size": 64}},
    {"kind": "quantization", "kv_cache": {"bits": 2, "group_size": 32}},
    {"kind": "data_format", "format": "fp8-e4m3", "weights_bits": 8, "activations_bits": 8},
    {"kind": "data_format", "format": "INT4-outlier", "weights_bits": 4},
    {"kind": "data_format", "format": "mxfp4", "weights_bits": 4, "activations_bits": 4},
    {"kind": "data_format", "format": "fp6", "weights_bits": 6, "activations_bits": 6},
    {"kind": "sparsity", "pattern": "unstructured", "sparsity": 0.5},
    {"kind": "sparsity", "pattern": "unstructured", "sparsity": 0.7},
    {"kind": "sparsity", "pattern": "unstructured", "sparsity": 0.0},
    {"kind": "sparsity", "pattern": "n:m", "sparsity": 0.5, "n": 2, "m": 4},
    {"kind": "sparsity", "pattern": "structured", "sparsity": 0.2},
    {"kind": "sparsity", "pattern": "structured", "sparsity": 0.6},
    {"kind": "low_rank", "params_kept": 0.85},
    {"kind": "low_rank", "params_kept": 0.3},
    {"kind": "distillation", "params_kept": 0.1},
    {"kind": "distillation", "student": "llama-2-7b"},
    {"kind": "distillation", "student": "opt-1.3b", "params_kept": 0.1},
    {"kind": "distillation", "student": "no-such-model", "params_kept": 0.5},
    {"kind": "early_exit", "average_depth": 0.33},
    {"kind": "early_exit", "average_depth": 0.5},
    {"kind": "early_exit", "average_depth": 1.0},
    {"kind": "contextual_sparsity", "mlp_active": 0.2, "heads_active": 0.2},
    {"kind": "contextual_sparsity", "mlp_active": 0.2},
    {"kind": "contextual_sparsity", "heads_active": 0.5},
    {"kind": "speculative", "draft_length": 4, "acceptance_rate": 0.7, "draft_cost": 0.05},
    {"kind": "speculative", "draft_length": 5, "acceptance_rate": 0.8, "draft_cost": 0.05},
    {"kind": "speculative", "draft_length": 8, "acceptance_rate": 0.7, "draft_cost": 0.02},
    {"kind": "speculative", "draft_length": 4, "acceptance_rate": 1.0, "draft_cost": 0.1},
    {"kind": "speculative", "draft_length": 4, "acceptance_rate": 0.8, "draft_model": "opt-1.3b"},
    {"kind": "speculative", "draft_length": 6, "acceptance_rate": 0.6, "draft_model": "llama-2-7b",
     "draft_cost": 0.5},
    {"kind": "speculative", "draft_length": 6, "tokens_per_step": 4.98, "verify_tokens": 60, "draft_layers": 1},
    {"kind": "speculative", "draft_length": 12, "acceptance_rate": 0.94, "draft_layers": 8},
    {"kind": "speculative", "draft_length": 1, "tokens_per_step": 3.47, "verify_tokens": 64, "draft_cost": 0.1},
    {"kind": "parallel_decoding", "tokens_per_step": 2.0},
    {"kind": "parallel_decoding", "tokens_per_step": 1.8, "verify_tokens": 4},
    {"kind": "parallel_decoding", "tokens_per_step": 2.65, "verify_tokens": 64},
    {"kind": "parallel_decoding", "tokens_per_step": 16.5},
    {"kind": "parallel_decoding", "tokens_per_step": 1.0, "verify_tokens": 1},
    {"kind": "kv_compression", "kv_kept": 0.5},
    {"kind": "kv_compression", "kv_kept": 0.125},
    {"kind": "kv_compression", "kv_kept": 0.067},
    {"kind": "kv_compression", "kv_kept": 0.03},
    {"kind": "operator_fusion", "flash_attention": True, "fused_elementwise": False},
    {"kind": "operator_fusion", "flash_attention": True, "fused_elementwise": True},
    {"kind": "operator_fusion", "flash_attention": False, "fused_elementwise": True},
    {"kind": "operator_fusion", "flash_attention": False},
    {"kind": "offloading", "offloaded": 0.9},
    {"kind": "offloading", "offloaded": 0.5},
    {"kind": "token_reduction", "prompt_kept": 0.2},
    {"kind": "token_reduction", "output_kept": 0.6},
    {"kind": "token_reduction", "prompt_kept": 0.5, "output_kept": 0.7},
    {"kind": "sparse_attention", "prefill_density": 0.1},
    {"kind": "sparse_attention", "decode_kv_budget": 1024},
    {"kind": "sparse_attention", "prefill_density": 0.3, "decode_kv_read": 0.125},
    {"kind": "prefix_reuse", "prompt_reused": 0.8},
    {"kind": "prefix_reuse", "prompt_reused": 0.5, "cache_tier": "host"},
    {"kind": "prefix_reuse", "prompt_reused": 0.9, "cache_tier": "host", "overlap": True},
    {"kind": "shared_prefix", "shared": 0.75},
]


def _effect_settings(rng: random.Random) -> dict:
    return _draw_settings(rng, rng.choice(BIT_PRESETS[:12]), batch=(1, 1, 4, 16, 64),
                          seq_len=(1, 17, 128, 1000, 2048, 2048, 4096), gen_len=(1, 128, 500),
                          group_sizes=(32, 64, 128, 128))


def _effect_cases(b: _Builder, model_ids: list[str], hw_ids: list[str]) -> None:
    """Every effect of EFFECTS on two random (model, device, settings), plus hand-picked corners and
    the effects the calculator refuses."""
    custom_models = [CUSTOM_MODELS[k] for k in ("mqa", "opt-no-bias", "moe-many", "qwen-tied", "tiny")]
    custom_hw = [CUSTOM_HARDWARE[k] for k in sorted(CUSTOM_HARDWARE)]
    for n, effect in enumerate(EFFECTS):
        rng = random.Random(f"{SEED}-effect-{n}")
        for j in range(2):
            for _ in range(100):
                model = rng.choice(custom_models) if rng.random() < 0.15 else rng.choice(model_ids)
                hw, host = rng.choice(hw_ids), None
                if rng.random() < 0.15:
                    hw, host = rng.choice(custom_hw), rng.choice((16e9, 64e9))
                if b.try_effect(f"effect-{n:02d}-{effect['kind']}-{j}", model, hw, _effect_settings(rng),
                                effect, host):
                    break
            else:
                raise AssertionError(f"no valid case for effect {effect}")

    corners = [
        ("kv-round-half-down", "llama-2-7b", "nvidia-a6000", dict(seq_len=17), {"kind": "kv_compression", "kv_kept": 0.5}),
        ("kv-round-half-up", "llama-2-7b", "nvidia-a6000", dict(seq_len=3), {"kind": "kv_compression", "kv_kept": 0.5}),
        ("kv-at-least-one", "mistral-7b", "nvidia-l4", dict(seq_len=1), {"kind": "kv_compression", "kv_kept": 0.03}),
        ("early-exit-tp", "llama-2-70b", "nvidia-h100-sxm", dict(tp=4, batch=8), {"kind": "early_exit", "average_depth": 0.5}),
        ("sparsity-moe", "mixtral-8x7b", "nvidia-a100-80gb", dict(batch=8, seq_len=1000),
         {"kind": "sparsity", "pattern": "n:m", "sparsity": 0.5, "n": 2, "m": 4}),
        ("sparsity-moe-unstructured", CUSTOM_MODELS["moe-many"], "nvidia-h100-sxm", dict(w_bits=4, group_size=128),
         {"kind": "sparsity", "pattern": "unstructured", "sparsity": 0.5}),
        ("architecture-own-model", "mixtral-8x7b", "nvidia-a100-80gb", dict(batch=4),
         {"kind": "architecture", "model": "mixtral-8x7b", "baseline": "llama-2-70b"}),
        ("architecture-gqa-form", "qwen2.5-7b", "nvidia-l40s", dict(batch=2),
         {"kind": "architecture", "model": "qwen2.5-7b", "baseline": "qwen2.5-7b",
          "baseline_changes": {"num_key_value_heads": 28}}),
        ("architecture-variant", "llama-2-70b", "nvidia-h100-sxm", dict(tp=2, batch=8),
         {"kind": "architecture", "model": "llama-2-70b", "model_changes": {"num_key_value_heads": 1},
          "baseline": "llama-2-70b", "baseline_changes": {"num_key_value_heads": 64}}),
        ("speculative-draft-70b", "llama-2-70b", "nvidia-a100-80gb", dict(tp=4),
         {"kind": "speculative", "draft_length": 4, "acceptance_rate": 0.8, "draft_model": "llama-2-7b"}),
        ("distillation-student-13b", "llama-2-70b", "nvidia-h200", dict(batch=8), {"kind": "distillation", "student": "llama-13b"}),
        ("offload-gaudi", "opt-30b", "intel-gaudi2", {}, {"kind": "offloading", "offloaded": 0.9}),
        ("offload-h100", "llama-2-13b", "nvidia-h100-pcie", dict(batch=16), {"kind": "offloading", "offloaded": 0.5}),
        ("sparse-attention-mla", "deepseek-v3", "nvidia-h200", dict(tp=8, seq_len=32768),
         {"kind": "sparse_attention", "prefill_density": 0.2, "decode_kv_budget": 2048}),
        ("sparse-attention-window", "gpt-oss-20b", "nvidia-h100-sxm", dict(seq_len=8192),
         {"kind": "sparse_attention", "decode_kv_read": 0.1}),
        ("prefix-reuse-gqa-tp", "llama-3-70b", "nvidia-h100-sxm", dict(tp=4, seq_len=8000, batch=4),
         {"kind": "prefix_reuse", "prompt_reused": 0.75, "cache_tier": "host", "overlap": True}),
        ("prefix-reuse-round", "llama-2-7b", "nvidia-a6000", dict(seq_len=5), {"kind": "prefix_reuse", "prompt_reused": 0.5}),
        ("token-reduction-round", "llama-2-7b", "nvidia-a6000", dict(seq_len=5), {"kind": "token_reduction", "prompt_kept": 0.5}),
        ("shared-prefix-batch-1", "llama-2-7b", "nvidia-a6000", dict(batch=1), {"kind": "shared_prefix", "shared": 0.9}),
        ("shared-prefix-batch-64", "mistral-7b", "nvidia-a100-80gb", dict(batch=64, seq_len=4096),
         {"kind": "shared_prefix", "shared": 0.9}),
        ("fused-tp", "llama-3-70b", "nvidia-h100-sxm", dict(tp=8),
         {"kind": "operator_fusion", "flash_attention": True, "fused_elementwise": True}),
    ]
    for case_id, model, hw, settings, effect in corners:
        if not b.try_effect(f"effect-{case_id}", model, hw, settings, effect):
            raise AssertionError(f"effect-{case_id}: the calculator refused it")

    errors = [
        ("none", "llama-2-7b", "nvidia-a6000", {},
         {"kind": "none", "reason": "a serving scheduler; nothing changes in one forward pass"}),
        ("unknown-kind", "llama-2-7b", "nvidia-a6000", {}, {"kind": "magic"}),
        ("serving", "opt-13b", "nvidia-a100-40gb", {},
         {"kind": "serving", "allocator": "paged", "block_size": 16, "baseline_allocator": "reserve"}),
        ("serving-goodput", "llama-2-70b", "nvidia-a100-80gb", dict(tp=4),
         {"kind": "serving", "token_budget": 512, "ttft_limit_s": 5.078, "tpot_limit_s": 0.25}),
        ("architecture-on-another-model", "llama-3-70b", "nvidia-h100-sxm", dict(tp=2),
         {"kind": "architecture", "model": "mixtral-8x7b", "baseline": "llama-2-70b"}),
        ("speculative-draft-layers-too-many", "llama-2-7b", "nvidia-a6000", {},
         {"kind": "speculative", "draft_length": 4, "acceptance_rate": 0.8, "draft_layers": 40}),
        ("speculative-no-draft", "llama-2-7b", "nvidia-a6000", {},
         {"kind": "speculative", "draft_length": 4, "acceptance_rate": 0.8}),
        ("speculative-unknown-draft", "llama-2-7b", "nvidia-a6000", {},
         {"kind": "speculative", "draft_length": 4, "acceptance_rate": 0.8, "draft_model": "no-such-model"}),
        ("distillation-nothing", "llama-2-7b", "nvidia-a6000", {}, {"kind": "distillation"}),
        ("distillation-unknown-student", "llama-2-7b", "nvidia-a6000", {},
         {"kind": "distillation", "student": "no-such-model"}),
        ("offloading-no-host-link", "llama-2-7b", CUSTOM_HARDWARE["fp32-only"], {},
         {"kind": "offloading", "offloaded": 0.5}),
        ("kv-compression-on-mamba", "falcon-mamba-7b", "nvidia-a100-80gb", {}, {"kind": "kv_compression", "kv_kept": 0.5}),
        ("shared-prefix-on-jamba", "jamba-1.5-mini", "nvidia-h100-sxm", dict(batch=8), {"kind": "shared_prefix", "shared": 0.5}),
        ("prefix-reuse-no-host-link", "llama-2-7b", CUSTOM_HARDWARE["fp32-only"], {},
         {"kind": "prefix_reuse", "prompt_reused": 0.5, "cache_tier": "host"}),
        ("quantization-group-16-bit", "llama-2-7b", "nvidia-a6000", {},
         {"kind": "quantization", "weights": {"bits": 16, "group_size": 128}}),
        ("speculative-draft-tp", "llama-2-70b", "nvidia-a100-80gb", dict(tp=8),
         {"kind": "speculative", "draft_length": 4, "acceptance_rate": 0.8, "draft_model": "qwen2.5-7b"}),
    ]
    for case_id, model, hw, settings, effect in errors:
        b.effect_error(f"effect-error-{case_id}", model, hw, settings, effect)


def build() -> str:
    from calculator.formats import PRESETS

    """The text of tests/js/vectors.json."""
    import calculator.core as core

    cat = catalogue()
    b = _Builder(cat)
    rng = random.Random(SEED)
    model_ids = sorted(cat["models"])
    hw_ids = sorted(cat["hardware"])

    # Hand-picked anchors: the survey's Table 1 setting and the defaults.
    b.try_case("table1-llama-2-7b-a6000", "llama-2-7b", "nvidia-a6000", {})
    b.try_case("llama-2-7b-a6000-w4g128-flash", "llama-2-7b", "nvidia-a6000",
               dict(w_bits=4, group_size=128, flash_attention=True))
    b.try_case("llama-3.1-405b-h100-tp8", "llama-3.1-405b", "nvidia-h100-sxm",
               dict(tp=8, batch=16, seq_len=8192, gen_len=512, w_bits=8, a_bits=8, number_format="fp"))

    # Every model with every device at least once, under random settings.
    k = 0
    for model in model_ids:
        rng = random.Random(f"{SEED}-{model}")  # a catalogue change moves only its own cases
        made = 0
        attempts = 0
        while made < 14:
            attempts += 1
            if attempts > 500:
                raise AssertionError(f"cannot make valid cases for {model}")
            hw = hw_ids[k % len(hw_ids)] if made < 2 else rng.choice(hw_ids)
            settings = _random_settings(rng)
            if b.try_case(f"{model}-{made:02d}", model, hw, settings):
                made += 1
                k += 1

    # Every device with every stage.
    for hw in hw_ids:
        rng = random.Random(f"{SEED}-{hw}")
        for stage in ("prefill", "decode", "generate", "all"):
            model = rng.choice(model_ids)
            b.try_case(f"{hw}-{stage}", model, hw, dict(stage=stage, batch=rng.choice((1, 4, 32)),
                                                          seq_len=rng.choice((512, 2048, 4096))))

    # Hand-made models and devices.
    rng = random.Random(f"{SEED}-custom")
    for name, fields in CUSTOM_MODELS.items():
        for j in range(6):
            hw = rng.choice(hw_ids) if j % 2 else CUSTOM_HARDWARE[rng.choice(sorted(CUSTOM_HARDWARE))]
            for _ in range(50):
                if b.try_case(f"custom-{name}-{j}", fields, hw, _random_settings(rng), ("custom",)):
                    break
            else:
                raise AssertionError(f"no valid case for custom model {name}")
    for name, fields in CUSTOM_HARDWARE.items():
        for j, model in enumerate(("llama-2-7b", "mixtral-8x7b", "opt-6.7b", "qwen2.5-7b")):
            for _ in range(50):
                if b.try_case(f"hw-{name}-{j}", model, fields, _random_settings(rng), ("custom",)):
                    break
            else:
                raise AssertionError(f"no valid case for custom device {name}")
    # Today's families: random settings, then the runs that cross a window or switch the latent form.
    rng = random.Random(f"{SEED}-families")
    for name, fields in FAMILY_MODELS.items():
        for j in range(8):
            hw = rng.choice(hw_ids)
            for _ in range(50):
                if b.try_case(f"family-{name}-{j}", fields, hw, _random_settings(rng), ("family",)):
                    break
            else:
                raise AssertionError(f"no valid case for family model {name}")
    crossing = [
        ("all-window", dict(seq_len=3000, gen_len=2000)), ("window-global", dict(seq_len=300, gen_len=400)),
        ("oss-like", dict(seq_len=100, gen_len=100, batch=16)), ("llama4-like", dict(seq_len=8000, gen_len=500)),
    ]
    for name, settings in crossing:
        for flash in (True, False):
            assert b.try_case(f"family-{name}-window-crossing-{'fused' if flash else 'unfused'}",
                              FAMILY_MODELS[name], "nvidia-h100-sxm",
                              dict(settings, stage="generate", flash_attention=flash), ("family",))
    for name in ("mla-moe", "mla-lite"):
        for tp in (1, 4):
            for flash in (True, False):
                assert b.try_case(f"family-{name}-tp{tp}-{'fused' if flash else 'unfused'}", FAMILY_MODELS[name],
                                  "nvidia-h100-sxm", dict(tp=tp, flash_attention=flash, batch=8, seq_len=1024),
                                  ("family",))
        assert b.try_case(f"family-{name}-seq-len-1", FAMILY_MODELS[name], "nvidia-a100-80gb",
                          dict(seq_len=1, gen_len=8), ("family",))
    # Expert parallelism: attention data-parallel, experts split, all-to-all dispatch and combine.
    for name, model in (("mixtral", "mixtral-8x7b"), ("mla-moe", FAMILY_MODELS["mla-moe"]),
                        ("oss-like", FAMILY_MODELS["oss-like"]), ("qwen3-moe-like", FAMILY_MODELS["qwen3-moe-like"])):
        for ep, flash in ((2, True), (8, False), (4, True)):
            if name == "mixtral" and ep == 8:
                continue
            assert b.try_case(f"ep-{name}-{ep}", model, "nvidia-h100-sxm",
                              dict(ep=ep, batch=16, seq_len=1024, gen_len=64, flash_attention=flash), ("family",)), name
    # Named number formats (calculator.formats): each on a dense and a MoE model, weights and KV cache.
    for j, name in enumerate(PRESETS):
        model = ("llama-3.1-8b", "mixtral-8x7b", "gpt-oss-20b")[j % 3] if "gpt-oss-20b" in b.models else "llama-2-7b"
        hw = ("nvidia-b200", "nvidia-h100-sxm", "nvidia-a100-80gb")[j % 3]
        assert b.try_case(f"format-{name}", model, hw if hw in b.hardware else "nvidia-a100-80gb",
                          dict(weight_format=name, kv_format=name, batch=4, quantize_head=j % 2 == 0,
                               a_bits=8 if j % 4 == 1 else 16, number_format="fp" if j % 4 == 1 else "int"),
                          ("format",)), name
    b.try_case("mqa-tp4-copies", CUSTOM_MODELS["mqa"], "nvidia-a100-80gb", dict(tp=4))
    b.try_case("gen-len-1", "llama-2-13b", "nvidia-a100-40gb", dict(stage="generate", gen_len=1))
    b.try_case("gen-len-2", "llama-2-70b", "nvidia-h100-sxm", dict(stage="generate", gen_len=2, tp=4))
    b.try_case("seq-len-1", "mistral-7b", "nvidia-l4", dict(seq_len=1, gen_len=64))

    # Decode runs whose attention turns compute-bound part-way: the split branch of _sum_steps.
    branches = {"split": 0}
    original = core._sum_steps

    def counting(r0, r1, m, bw):
        if m > 1 and not (r0[2] == r1[2] and r0[3] == r1[3]):
            d0 = r0[2] / r0[7] - r0[3] / bw
            d1 = r1[2] / r0[7] - r1[3] / bw
            if (d0 < 0 < d1) or (d1 < 0 < d0):
                branches["split"] += 1
        return original(r0, r1, m, bw)

    core._sum_steps = counting
    try:
        split = 0
        for model in ("llama-3-70b", "llama-3.1-8b", "mistral-7b", "mixtral-8x7b", "qwen2.5-7b"):
            for hw in ("intel-xeon-8480", "apple-m2-ultra", "nvidia-jetson-orin-nano", "nvidia-t4",
                       "nvidia-rtx-4090", "nvidia-a100-80gb", "google-tpu-v4"):
                for kv_bits in (1, 2, 4):
                    for flash in (False, True):
                        before = branches["split"]
                        settings = dict(stage="generate", seq_len=1, gen_len=4096, kv_bits=kv_bits,
                                        flash_attention=flash, batch=4)
                        case_id = f"split-{model}-{hw}-kv{kv_bits}-{'flash' if flash else 'plain'}"
                        ok = b.try_case(case_id, model, hw, settings, ("split",))
                        if ok and branches["split"] == before:
                            b.cases.pop()  # keep only the runs that really split
                            b.ids.discard(case_id)
                        elif ok:
                            split += 1
                        if split >= 12:
                            break
                    if split >= 12:
                        break
                if split >= 12:
                    break
            if split >= 12:
                break
    finally:
        core._sum_steps = original
    if split < 3:
        raise AssertionError("found too few decode runs that cross the ridge point")

    # Inputs the calculator refuses: the JavaScript must throw the same message.
    tp_model = dict(id="custom-tp", hidden_size=768, intermediate_size=1000, num_hidden_layers=2,
                    num_attention_heads=12, num_key_value_heads=4, vocab_size=1000)
    errors = [
        ("tp-heads", "llama-2-7b", "nvidia-a100-80gb", dict(tp=3)),
        ("tp-intermediate", tp_model, "nvidia-a100-80gb", dict(tp=6)),
        ("tp-kv-heads", dict(tp_model, intermediate_size=1200), "nvidia-a100-80gb", dict(tp=3)),
        ("tp-no-link", "llama-2-7b", "nvidia-rtx-4090", dict(tp=2)),
        ("batch-zero", "llama-2-7b", "nvidia-a6000", dict(batch=0)),
        ("seq-negative", "llama-2-7b", "nvidia-a6000", dict(seq_len=-5)),
        ("w-bits-7", "llama-2-7b", "nvidia-a6000", dict(w_bits=7)),
        ("group-without-quant", "llama-2-7b", "nvidia-a6000", dict(group_size=128)),
        ("kv-group-without-quant", "llama-2-7b", "nvidia-a6000", dict(kv_group_size=64)),
        ("group-zero", "llama-2-7b", "nvidia-a6000", dict(w_bits=4, group_size=0)),
        ("number-format", "llama-2-7b", "nvidia-a6000", dict(number_format="bf")),
        ("stage", "llama-2-7b", "nvidia-a6000", dict(stage="train")),
        ("arch", dict(CUSTOM_MODELS["tiny"], architecture="gpt2"), "nvidia-a6000", {}),
        ("kv-heads", dict(CUSTOM_MODELS["tiny"], num_attention_heads=4, num_key_value_heads=3),
         "nvidia-a6000", {}),
        ("head-dim", dict(CUSTOM_MODELS["tiny"], num_attention_heads=3, num_key_value_heads=1),
         "nvidia-a6000", {}),
        ("moe-missing", dict(CUSTOM_MODELS["tiny"], architecture="mixtral"), "nvidia-a6000", {}),
        ("moe-on-opt", dict(CUSTOM_MODELS["tiny"], architecture="opt", num_local_experts=4,
                            num_experts_per_tok=2), "nvidia-a6000", {}),
        ("moe-top-k", dict(CUSTOM_MODELS["moe-all-experts"], num_experts_per_tok=5), "nvidia-a6000", {}),
        ("q-lora-without-kv", dict(CUSTOM_MODELS["tiny"], q_lora_rank=4), "nvidia-a6000", {}),
        ("latent-missing-v", dict(FAMILY_MODELS["mla-moe"], v_head_dim=0), "nvidia-a6000", {}),
        ("layer-types-length", dict(FAMILY_MODELS["window-global"], layer_types=["window", "full"]),
         "nvidia-a6000", {}),
        ("window-without-size", dict(FAMILY_MODELS["window-global"], sliding_window=0), "nvidia-a6000", {}),
        ("dense-layers-without-experts", dict(CUSTOM_MODELS["tiny"], dense_layers=[0]), "nvidia-a6000", {}),
        ("dense-layer-index", dict(FAMILY_MODELS["mla-moe"], dense_layers=[6]), "nvidia-a6000", {}),
        ("shared-width-without-shared", dict(FAMILY_MODELS["qwen3-moe-like"], shared_expert_intermediate_size=64),
         "nvidia-a6000", {}),
        ("sinks-not-bool", dict(CUSTOM_MODELS["tiny"], attention_sinks=1), "nvidia-a6000", {}),
        ("linear-incomplete", dict(FAMILY_MODELS["hybrid-linear"], linear_conv_kernel_dim=0), "nvidia-a6000", {}),
        ("linear-without-types", dict(FAMILY_MODELS["hybrid-linear"], layer_types=None), "nvidia-a6000", {}),
        ("tp-linear-heads", FAMILY_MODELS["hybrid-linear"], "nvidia-a100-80gb", dict(tp=32)),
        ("tp-moe-width", dict(FAMILY_MODELS["qwen3-moe-like"], moe_intermediate_size=770), "nvidia-a100-80gb",
         dict(tp=4)),
        ("ep-dense", "llama-2-7b", "nvidia-h100-sxm", dict(ep=2, batch=2)),
        ("ep-with-tp", "mixtral-8x7b", "nvidia-h100-sxm", dict(ep=2, tp=2, batch=2)),
        ("ep-batch", "mixtral-8x7b", "nvidia-h100-sxm", dict(ep=4, batch=6)),
        ("ep-experts", "mixtral-8x7b", "nvidia-h100-sxm", dict(ep=3, batch=3)),
        ("format-unknown", "llama-2-7b", "nvidia-a6000", dict(weight_format="q3_k_xl")),
        ("format-with-group", "llama-2-7b", "nvidia-a6000", dict(weight_format="nvfp4", w_bits=4, group_size=64)),
        ("format-bits-contradict", "llama-2-7b", "nvidia-a6000", dict(kv_format="fp8", kv_bits=4)),
        ("hw-empty", "llama-2-7b", dict(id="x", memory_bandwidth=1e9, peak_ops={}), {}),
        ("hw-format", "llama-2-7b", dict(id="x", memory_bandwidth=1e9, peak_ops={"fp64": 1e12}), {}),
        ("hw-bandwidth", "llama-2-7b", dict(id="x", memory_bandwidth=0, peak_ops={"fp16": 1e12}), {}),
    ]
    for case_id, model, hw, settings in errors:
        b.error_case(f"error-{case_id}", model, hw, settings)

    _effect_cases(b, model_ids, hw_ids)
    from calculator.effects import EFFECT_KINDS

    kinds = {c["effect"]["kind"] for c in b.effect_cases}
    assert kinds >= set(EFFECT_KINDS), set(EFFECT_KINDS) - kinds

    families = {cat["models"][m].get("family") for m in model_ids}
    used = {c["model"] for c in b.cases if isinstance(c["model"], str)}
    assert used == set(model_ids), set(model_ids) - used
    assert {c["hardware"] for c in b.cases if isinstance(c["hardware"], str)} == set(hw_ids)
    doc = {
        "about": "Written by tools/make_vectors.py from calculator.analyze and calculator.effects.apply_effect; "
                 "do not edit by hand. Layer rows: [name, count, ops, bytes, time_s, bound, format].",
        "families": sorted(f for f in families if f),
        "number_formats": {name: [f.bits, f.element_bits, f.number_format] for name, f in PRESETS.items()},
        "catalogue": cat,
        "cases": b.cases,
        "effect_cases": b.effect_cases,
    }
    return json.dumps(doc, separators=(",", ":"), sort_keys=False, allow_nan=False) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    text = build()
    if args.check:
        current = OUT.read_text(encoding="utf-8") if OUT.exists() else ""
        if current != text:
            print(f"{OUT.relative_to(REPO)} is stale: run .venv/bin/python tools/make_vectors.py",
                  file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    doc = json.loads(text)
    cases, effect_cases = doc["cases"], doc["effect_cases"]
    errors = sum(1 for c in cases if "error" in c)
    effect_errors = sum(1 for c in effect_cases if "error" in c)
    print(f"wrote {OUT.relative_to(REPO)}: {len(cases)} cases ({errors} refused inputs) and "
          f"{len(effect_cases)} method-effect cases ({effect_errors} refused), {len(text) // 1024} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
