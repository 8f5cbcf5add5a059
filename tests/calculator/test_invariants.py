"""Properties every analysis keeps, over random settings (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calculator import Settings, analyze
from tests.calculator.conftest import hardware, model

MODELS = ["llama-2-7b", "toy-gqa-8b", "toy-moe-8x7b", "toy-opt-7b", "toy-qwen2-7b"]
DEVICES = ["nvidia-a6000", "toy-fp8-gpu"]
BITS = [1, 2, 3, 4, 5, 6, 8, 16, 32]
_M = {m: model(m) for m in MODELS}
_H = {h: hardware(h) for h in DEVICES}

workload = st.fixed_dictionaries(
    {
        "batch": st.integers(1, 256),
        "seq_len": st.integers(1, 16384),
        "gen_len": st.integers(1, 64),
        "flash_attention": st.booleans(),
        "tp": st.sampled_from([1, 2, 4]),
        "number_format": st.sampled_from(["int", "fp"]),
    }
)


def _total_bytes(res):
    return sum(stage.bytes for stage in res.stages.values()) + res.memory.total_bytes


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(MODELS), st.sampled_from(DEVICES), workload,
       st.sampled_from(["w_bits", "a_bits", "kv_bits"]), st.lists(st.sampled_from(BITS), min_size=2,
                                                                 max_size=2, unique=True))
def test_fewer_bits_never_more_bytes(model_id, device, work, field, pair):
    """Lowering one bit width (no group size) never raises any row's bytes or the footprint."""
    low, high = sorted(pair)
    res_low = analyze(_M[model_id], _H[device], Settings(**work, **{field: low}))
    res_high = analyze(_M[model_id], _H[device], Settings(**work, **{field: high}))
    for name, stage in res_low.stages.items():
        for row_low, row_high in zip(stage.layers, res_high.stages[name].layers):
            assert row_low.name == row_high.name
            assert row_low.bytes <= row_high.bytes
    assert res_low.memory.total_bytes <= res_high.memory.total_bytes


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(MODELS), workload,
       st.lists(st.sampled_from([1, 2, 3, 4, 5, 6, 8]), min_size=2, max_size=2, unique=True),
       st.sampled_from([32, 64, 128]))
def test_fewer_bits_never_more_bytes_at_a_fixed_group_size(model_id, work, pair, group):
    """At one group size, w_bits below 16 is monotone too (the scale overhead 4/g is the same)."""
    low, high = sorted(pair)
    lower = analyze(_M[model_id], _H["nvidia-a6000"], Settings(**work, w_bits=low, group_size=group))
    upper = analyze(_M[model_id], _H["nvidia-a6000"], Settings(**work, w_bits=high, group_size=group))
    assert lower.memory.weights_bytes <= upper.memory.weights_bytes
    for name, stage in lower.stages.items():
        for a, b in zip(stage.layers, upper.stages[name].layers):
            assert a.bytes <= b.bytes


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(MODELS), st.sampled_from(DEVICES), workload, st.sampled_from(BITS),
       st.sampled_from(BITS), st.sampled_from(BITS))
def test_time_never_below_either_roof(model_id, device, work, w, a, kv):
    """time = max(ops/peak, bytes/bw) >= both; bound agrees with the ridge point; totals add up."""
    hw = _H[device]
    res = analyze(_M[model_id], hw, Settings(**work, w_bits=w, a_bits=a, kv_bits=kv))
    for stage in res.stages.values():
        for row in stage.layers:
            assert row.ops >= 0 and row.bytes > 0 and row.time_s > 0
            if row.bound == "interconnect":
                assert row.time_s == pytest.approx(row.bytes / (hw.interconnect_bandwidth / 2))
                continue
            assert row.time_s >= row.ops / row.peak_ops_per_s
            assert row.time_s >= row.bytes / hw.memory_bandwidth
            ridge = row.peak_ops_per_s / hw.memory_bandwidth
            assert (row.bound == "compute") == (row.arithmetic_intensity > ridge)
            assert row.attainable_ops_per_s <= row.peak_ops_per_s * (1 + 1e-12)
        assert stage.time_s == pytest.approx(sum(r.count * r.time_s for r in stage.layers))
    g = res.generate
    assert g.e2e_latency_s >= g.ttft_s > 0


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(MODELS), workload)
def test_flash_attention_never_more_attention_bytes(model_id, work):
    """The fused row moves no more bytes than qk_matmul + softmax + sv_matmul together."""
    m, hw = _M[model_id], _H["nvidia-a6000"]
    plain = analyze(m, hw, Settings(**{**work, "flash_attention": False}))
    fused = analyze(m, hw, Settings(**{**work, "flash_attention": True}))
    for name in ("prefill", "decode"):
        unfused = sum(plain.stages[name].layer(n).bytes for n in ("qk_matmul", "softmax", "sv_matmul"))
        assert fused.stages[name].layer("attention").bytes <= unfused


# ------------------------------------------------------------------------- today's families (calculator.recipe)
from dataclasses import replace  # noqa: E402

from calculator import Model  # noqa: E402

FAMILIES = {
    "mla-moe": Model(id="mla-moe", hidden_size=1024, intermediate_size=2816, num_hidden_layers=6,
                     num_attention_heads=16, num_key_value_heads=16, vocab_size=32000, q_lora_rank=384,
                     kv_lora_rank=128, qk_nope_head_dim=64, qk_rope_head_dim=32, v_head_dim=64,
                     num_local_experts=16, num_experts_per_tok=4, moe_intermediate_size=256, num_shared_experts=2,
                     dense_layers=(0,)),
    "window-global": Model(id="window-global", hidden_size=1152, intermediate_size=6912, num_hidden_layers=12,
                           num_attention_heads=4, num_key_value_heads=1, head_dim=256, vocab_size=262144,
                           tie_word_embeddings=True, sliding_window=512, qk_norm=True,
                           layer_types=("window",) * 5 + ("full",) + ("window",) * 5 + ("full",)),
    "oss-like": Model(id="oss-like", hidden_size=2880, intermediate_size=2880, num_hidden_layers=4,
                      num_attention_heads=64, num_key_value_heads=8, head_dim=64, vocab_size=201088,
                      sliding_window=128, layer_types=("window", "full") * 2, attention_sinks=True, qkv_bias=True,
                      o_bias=True, mlp_bias=True, num_local_experts=32, num_experts_per_tok=4),
    "hybrid": Model(id="hybrid", hidden_size=2048, intermediate_size=5120, num_hidden_layers=8,
                    num_attention_heads=16, num_key_value_heads=2, head_dim=256, vocab_size=151936, qk_norm=True,
                    num_local_experts=64, num_experts_per_tok=10, moe_intermediate_size=512, num_shared_experts=1,
                    linear_num_key_heads=16, linear_num_value_heads=32, linear_key_head_dim=128,
                    linear_value_head_dim=128, linear_conv_kernel_dim=4,
                    layer_types=("linear", "linear", "linear", "full") * 2),
}
family_work = st.fixed_dictionaries({
    "batch": st.integers(1, 64), "seq_len": st.integers(1, 4096), "gen_len": st.integers(1, 600),
    "flash_attention": st.booleans(), "tp": st.sampled_from([1, 2, 4]),
})


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(FAMILIES)), family_work, st.sampled_from(BITS), st.sampled_from(BITS))
def test_families_keep_the_roofline_invariants(name, work, w, kv):
    """Every row at or above both roofs; stage totals are the count-weighted sums; memory positive."""
    hw = _H["nvidia-a6000"]
    res = analyze(FAMILIES[name], hw, Settings(**work, w_bits=w, kv_bits=kv))
    for stage in res.stages.values():
        for row in stage.layers:
            assert row.ops >= 0 and row.bytes >= 0 and row.time_s >= 0
            if row.bound != "interconnect":
                assert row.time_s >= row.ops / row.peak_ops_per_s
                assert row.time_s >= row.bytes / hw.memory_bandwidth
        assert stage.time_s == pytest.approx(sum(r.count * r.time_s for r in stage.layers))
        assert len({r.name for r in stage.layers}) == len(stage.layers)  # one row per name
    assert res.memory.weights_bytes > 0 and res.memory.kv_cache_bytes > 0


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(sorted(FAMILIES)), st.integers(1, 700), st.integers(2, 40), st.integers(1, 8))
def test_families_generate_equals_the_sum_of_its_decode_steps(name, prompt, gen, batch):
    """The exact request sum (affine pieces, split at each window) against stepping one token at a time."""
    m, hw = FAMILIES[name], _H["nvidia-a6000"]
    s = Settings(seq_len=prompt, gen_len=gen, batch=batch, stage="generate")
    want = sum(analyze(m, hw, replace(s, seq_len=prompt + j - 1, stage="decode")).decode.time_s
               for j in range(1, gen))
    assert analyze(m, hw, s).generate.decode_time_s == pytest.approx(want, rel=1e-9, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(FAMILIES)), family_work, st.lists(st.sampled_from(BITS), min_size=2, max_size=2,
                                                                 unique=True))
def test_families_fewer_weight_bits_never_more_bytes(name, work, pair):
    low, high = sorted(pair)
    lo = analyze(FAMILIES[name], _H["nvidia-a6000"], Settings(**work, w_bits=low))
    hi = analyze(FAMILIES[name], _H["nvidia-a6000"], Settings(**work, w_bits=high))
    assert lo.memory.total_bytes <= hi.memory.total_bytes
    for stage_name, stage in lo.stages.items():
        for a, b in zip(stage.layers, hi.stages[stage_name].layers):
            assert a.name == b.name and a.bytes <= b.bytes
