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
