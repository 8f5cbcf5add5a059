"""Property tests (hypothesis): random inputs raise only CalculatorError, and the roofline invariants hold."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from calculator import ALLOWED_BITS, CalculatorError, Hardware, Model, Settings, analyze

BITS = st.sampled_from(ALLOWED_BITS)


@st.composite
def models(draw):
    kv = draw(st.sampled_from([1, 2, 4, 8]))
    heads = kv * draw(st.integers(1, 8))
    head_dim = draw(st.sampled_from([32, 64, 128]))
    moe = draw(st.booleans())
    experts = draw(st.integers(2, 16)) if moe else 0
    return Model(id="random", hidden_size=heads * head_dim, intermediate_size=draw(st.integers(64, 8192)),
                 num_hidden_layers=draw(st.integers(1, 48)), num_attention_heads=heads,
                 num_key_value_heads=kv, vocab_size=draw(st.integers(100, 150000)),
                 architecture=("mixtral" if moe else draw(st.sampled_from(["llama", "opt", "qwen2"]))),
                 num_local_experts=experts, num_experts_per_tok=draw(st.integers(1, experts)) if moe else 0)


HARDWARE = Hardware(id="hw", memory_bandwidth=1e12, peak_ops={"fp16": 300e12, "int8": 600e12, "int4": 1200e12},
                    memory_bytes=80 * 2**30, interconnect_bandwidth=600e9)


@st.composite
def run_settings(draw):
    w = draw(BITS)
    return Settings(batch=draw(st.integers(1, 256)), seq_len=draw(st.integers(1, 32768)),
                    gen_len=draw(st.integers(1, 512)), w_bits=w, a_bits=draw(BITS), kv_bits=draw(BITS),
                    group_size=draw(st.sampled_from([None, 32, 64, 128])) if w < 16 else None,
                    flash_attention=draw(st.booleans()))


@settings(max_examples=80, deadline=None)
@given(models(), run_settings())
def test_time_is_never_below_either_roof_and_totals_sum_the_layers(model, s):
    result = analyze(model, HARDWARE, s)
    for stage in result.stages.values():
        for row in stage.layers:
            if row.bound == "interconnect":
                continue
            peak = row[7]  # the peak of the layer's compute format
            assert row.time_s >= row.ops / peak * (1 - 1e-12)
            assert row.time_s >= row.bytes / HARDWARE.memory_bandwidth * (1 - 1e-12)
        assert math.isclose(stage.time_s, sum(r.count * r.time_s for r in stage.layers), rel_tol=1e-9)
        assert math.isclose(stage.ops, sum(r.count * r.ops for r in stage.layers), rel_tol=1e-9)


@settings(max_examples=60, deadline=None)
@given(models(), run_settings(), st.sampled_from(["w_bits", "a_bits", "kv_bits"]))
def test_more_bits_never_mean_fewer_bytes(model, s, which):
    lower = getattr(s, which)
    higher = min((b for b in ALLOWED_BITS if b > lower), default=None)
    if higher is None:
        return
    from dataclasses import replace

    change = {which: higher}
    if which == "w_bits" and higher >= 16:
        change["group_size"] = None  # unquantized weights store no scales (bytes still grow: 2 > w/8 + 4/g)
    more = replace(s, **change)
    base, bigger = analyze(model, HARDWARE, s), analyze(model, HARDWARE, more)
    for name in base.stages:
        assert bigger.stages[name].bytes >= base.stages[name].bytes * (1 - 1e-12)


@settings(max_examples=60, deadline=None)
@given(models(), run_settings(), st.integers(1, 4096))
def test_decode_time_grows_with_context(model, s, extra):
    from dataclasses import replace

    short = analyze(model, HARDWARE, replace(s, stage="decode"))
    long = analyze(model, HARDWARE, replace(s, stage="decode", seq_len=s.seq_len + extra))
    assert long.decode.time_s >= short.decode.time_s


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["batch", "seq_len", "gen_len", "w_bits", "a_bits", "kv_bits", "group_size",
                                        "tp", "stage", "number_format"]),
                       st.one_of(st.integers(-5, 70000), st.floats(allow_nan=True), st.text(max_size=5),
                                 st.none(), st.booleans())))
def test_random_settings_raise_only_our_clear_error(kwargs):
    try:
        analyze(Model(id="m", hidden_size=256, intermediate_size=512, num_hidden_layers=2,
                      num_attention_heads=4, vocab_size=1000), HARDWARE, Settings(**kwargs))
    except CalculatorError as exc:
        assert "\n" not in str(exc) and str(exc)
