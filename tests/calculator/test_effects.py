"""Method effects: predicted speedups equal values derived by hand from the roofline formulas."""

from __future__ import annotations

import pytest

from calculator import CalculatorError, Hardware, Model, Settings, analyze
from calculator.effects import apply_effect, baseline, expected_tokens_per_step

LLAMA = Model(id="llama-2-7b", hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
              num_attention_heads=32, vocab_size=32000)
A6000 = Hardware(id="nvidia-a6000", memory_bandwidth=768e9,
                 peak_ops={"fp16": 154.8e12, "int8": 309.7e12, "int4": 619.3e12})


def test_w4_weight_only_decode_speedup_is_the_byte_ratio():
    """Batch-1 decode is memory-bound: speedup = bytes(FP16) / bytes(W4A16) over the whole step."""
    s = Settings(batch=1, seq_len=2048)
    base, w4 = baseline(LLAMA, A6000, s), apply_effect(LLAMA, A6000, s, {"kind": "quantization",
                                                                          "weights": {"bits": 4}})
    assert all(r[5] == "memory" for r in w4.decode.layers)
    # Linear weights per block: 4*h^2 + 3*h*I elements; they go from 2 bytes to 0.5 bytes.
    h, i, L = 4096, 11008, 32
    saved = L * (4 * h * h + 3 * h * i) * (2 - 0.5)
    tgt = base.decode.bytes / (base.decode.bytes - saved)
    assert base.decode_token_s / w4.decode_token_s == pytest.approx(tgt, rel=1e-9)


def test_w8a8_prefill_runs_at_the_int8_peak():
    """Prefill linear layers are compute-bound; W8A8 moves them from the FP16 to the INT8 peak."""
    s = Settings(batch=1, seq_len=2048)
    base = baseline(LLAMA, A6000, s)
    w8a8 = apply_effect(LLAMA, A6000, s, {"kind": "quantization", "weights": {"bits": 8},
                                           "activations": {"bits": 8}})
    res = w8a8.prefill.layer("q_proj")
    tgt = base.prefill.layer("q_proj").time_s * 154.8 / 309.7
    assert res.bound == "compute" and res.time_s == pytest.approx(tgt, rel=1e-12)


def test_2bit_kv_cache_at_long_context_and_large_batch():
    """At b=32, n=32768 decode attention reads b*n*K*d*kv per K and V; 2-bit KV cuts it 8x."""
    s = Settings(batch=32, seq_len=32768, flash_attention=False)
    base = baseline(LLAMA, A6000, s)
    kv2 = apply_effect(LLAMA, A6000, s, {"kind": "quantization", "kv_cache": {"bits": 2}})
    kv_read16 = 32 * 32768 * 32 * 128 * 2  # bytes of K (or V) per layer at 16 bits
    row, row2 = base.decode.layer("qk_matmul"), kv2.decode.layer("qk_matmul")
    assert row.bytes - row2.bytes == pytest.approx(kv_read16 * (1 - 2 / 16), rel=1e-12)
    assert kv2.memory.kv_cache_bytes == pytest.approx(base.memory.kv_cache_bytes / 8, rel=1e-12)
    assert base.decode_token_s / kv2.decode_token_s > 2


def test_speculative_decoding_at_a_given_acceptance_rate():
    """time/token = (g * draft + verify(g+1 tokens)) / ((1 - a^(g+1)) / (1 - a))."""
    s = Settings(batch=1, seq_len=2048)
    base = baseline(LLAMA, A6000, s)
    out = apply_effect(LLAMA, A6000, s, {"kind": "speculative", "draft_length": 4, "acceptance_rate": 0.8,
                                          "draft_cost": 0.1})
    assert expected_tokens_per_step(0.8, 4) == pytest.approx(3.3616, rel=1e-12)
    verify = out.decode.time_s  # the target's pass over 5 tokens: still memory-bound, ~ one step
    assert verify == pytest.approx(base.decode.time_s, rel=0.01)
    tgt = (4 * 0.1 * base.decode.time_s + verify) / 3.3616
    assert out.decode_token_s == pytest.approx(tgt, rel=1e-12)


def test_early_exit_halves_the_block_rows_of_decode():
    s = Settings(batch=1, seq_len=2048)
    base = baseline(LLAMA, A6000, s)
    out = apply_effect(LLAMA, A6000, s, {"kind": "early_exit", "average_depth": 0.5})
    head = base.decode.layer("lm_head").time_s
    assert out.decode.time_s == pytest.approx((base.decode.time_s - head) / 2 + head, rel=1e-12)


def test_two_four_sparsity_halves_weight_ops_and_adds_metadata():
    """2:4: ops x 1/2; weight bytes x 1/2 x (2 bytes + 2 bits metadata) / 2 bytes."""
    s = Settings(batch=1, seq_len=2048)
    base = baseline(LLAMA, A6000, s)
    out = apply_effect(LLAMA, A6000, s, {"kind": "sparsity", "pattern": "n:m", "sparsity": 0.5, "n": 2, "m": 4})
    b, o = base.decode.layer("q_proj"), out.decode.layer("q_proj")
    w = 4096 * 4096 * 2
    assert o.ops == pytest.approx(b.ops / 2) and o.bytes == pytest.approx(b.bytes - w + w / 2 * (2.25 / 2))


def test_none_effect_is_refused():
    with pytest.raises(CalculatorError):
        apply_effect(LLAMA, A6000, Settings(), {"kind": "none", "reason": "training only"})


def test_moe_effect_reads_top_k_of_the_experts_in_batch_1_decode():
    s = Settings(batch=1, seq_len=2048)
    base = baseline(LLAMA, A6000, s)
    out = apply_effect(LLAMA, A6000, s, {"kind": "moe", "experts": 8, "top_k": 2})
    # 8 experts of I/8 each, 2 read: the MLP weight bytes drop 4x (router and activations aside).
    mlp = lambda o: sum(o.decode.layer(n).bytes for n in ("gate_proj", "up_proj", "down_proj"))
    assert mlp(out) < mlp(base) / 3.5
    assert analyze(LLAMA, A6000, s).memory.weights_bytes == pytest.approx(base.memory.weights_bytes)


def test_cli_method_applies_the_entry_effect():
    import json
    import subprocess
    import sys

    from kb.catalogue import load_effect, load_hardware, load_model

    res = subprocess.run([sys.executable, "-m", "calculator", "--model", "llama-2-7b", "--hardware",
                          "nvidia-a6000", "--method", "awq", "--stage", "decode", "--format", "json"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    out = apply_effect(load_model("llama-2-7b"), load_hardware("nvidia-a6000"), Settings(),
                       load_effect("awq"))
    assert json.loads(res.stdout)["stages"]["decode"]["total"]["time_s"] == pytest.approx(out.decode.time_s)
    bad = subprocess.run([sys.executable, "-m", "calculator", "--model", "llama-2-7b", "--hardware",
                          "nvidia-a6000", "--method", "awqq"], capture_output=True, text=True)
    assert bad.returncode == 2 and "close matches: awq" in bad.stderr and "Traceback" not in bad.stderr
