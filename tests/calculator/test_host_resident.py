"""Weights or KV cache kept in host memory on both sides (calculator.effects.host_resident): every target forward
pass reads them over the host link, values derived by hand."""

from __future__ import annotations

import pytest

from calculator import CalculatorError, Hardware, Model, Settings
from calculator.effects import apply_effect, baseline, host_resident

LLAMA = Model(id="llama-2-7b", hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
              num_attention_heads=32, vocab_size=32000)
GPU = Hardware(id="gpu-64", memory_bandwidth=1e12, peak_ops={"fp16": 165e12}, host_link_bandwidth=64e9)
HOST = 32e9  # one direction of the 64 GB/s link
SPEC = {"kind": "speculative", "draft_length": 4, "tokens_per_step": 3.5, "draft_cost": 0.05}


def test_the_baseline_reads_its_host_share_once_per_step_and_once_for_the_prefill():
    s = Settings(batch=1, seq_len=4096)
    on_device = baseline(LLAMA, GPU, s)
    w, kv = on_device.memory.weights_bytes, on_device.memory.kv_cache_bytes
    out = host_resident(on_device, None, GPU.host_link_bandwidth, weights=1.0, kv_cache=0.5)
    assert out.decode_token_s == pytest.approx(on_device.decode_token_s + (w + 0.5 * kv) / HOST, rel=1e-12)
    assert out.prefill.time_s == pytest.approx(on_device.prefill.time_s + (w + 0.5 * kv) / HOST, rel=1e-12)
    assert out.memory.weights_bytes == 0 and out.memory.kv_cache_bytes == pytest.approx(0.5 * kv)
    assert out.decode is on_device.decode  # the device's own rows are unchanged


def test_a_speculative_step_reads_the_host_share_once_for_all_its_tokens():
    s = Settings(batch=1, seq_len=1024)
    on_device = apply_effect(LLAMA, GPU, s, SPEC)
    out = host_resident(on_device, SPEC, GPU.host_link_bandwidth, weights=1.0)
    extra = on_device.memory.weights_bytes / HOST / 3.5
    assert out.decode_token_s == pytest.approx(on_device.decode_token_s + extra, rel=1e-12)
    # with every weight streamed, the gain tends to the tokens per step: the transfer dwarfs the device's work
    base = host_resident(baseline(LLAMA, GPU, s), None, GPU.host_link_bandwidth, weights=1.0)
    assert 3.0 < base.decode_token_s / out.decode_token_s < 3.5


def test_four_bit_weights_stream_a_quarter_of_the_bytes():
    s = Settings(batch=1, seq_len=1024)
    w4 = {"kind": "quantization", "weights": {"bits": 4}}
    fp16 = host_resident(baseline(LLAMA, GPU, s), None, GPU.host_link_bandwidth, weights=1.0)
    q = host_resident(apply_effect(LLAMA, GPU, s, w4), w4, GPU.host_link_bandwidth, weights=1.0)
    assert 3.5 < fp16.decode_token_s / q.decode_token_s < 4.0


@pytest.mark.parametrize("effect, link, shares, words", [
    ({"kind": "early_exit", "average_depth": 0.5}, 64e9, {"weights": 1.0}, "effect kind early_exit"),
    (None, 0.0, {"weights": 1.0}, "no host link bandwidth"),
    (None, 64e9, {"weights": 1.5}, "fractions between 0 and 1"),
])
def test_what_cannot_be_streamed_is_refused_in_words(effect, link, shares, words):
    on_device = baseline(LLAMA, GPU, Settings(batch=1, seq_len=512))
    with pytest.raises(CalculatorError, match=words):
        host_resident(on_device, effect, link, **shares)
