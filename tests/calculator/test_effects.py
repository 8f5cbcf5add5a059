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


def test_an_architecture_is_refused_on_another_model_and_is_its_own_model_otherwise():
    """Finding 4 of issue 13: an architecture entry (Mixtral, GQA) describes a model; applied to another one it
    would compare two different models, so it is refused with a one-line reason."""
    s = Settings(batch=1, seq_len=2048)
    mixtral = {"kind": "architecture", "model": "mixtral-8x7b", "baseline": "llama-2-70b"}
    with pytest.raises(CalculatorError, match="architecture .model mixtral-8x7b., not a method that applies to "
                                              "llama-2-7b"):
        apply_effect(LLAMA, A6000, s, mixtral)
    mqa = {"kind": "architecture", "model": "llama-2-7b", "model_changes": {"num_key_value_heads": 1},
           "baseline": "llama-2-7b"}
    out = apply_effect(LLAMA, A6000, s, mqa)
    # One KV head instead of 32: the cache is 32x smaller, the rest unchanged.
    assert out.memory.kv_cache_bytes == baseline(LLAMA, A6000, s).memory.kv_cache_bytes / 32


def test_every_draft_based_method_follows_one_rule():
    """Finding 5: time per token = (g x draft pass + verify(V tokens)) / tau, whatever the draft is.
    A draft of n target layers costs n/L of the target's block rows plus its lm_head."""
    s = Settings(batch=1, seq_len=2048)
    base = baseline(LLAMA, A6000, s)
    tree = {"kind": "speculative", "draft_length": 6, "tokens_per_step": 4.98, "verify_tokens": 60,
            "draft_layers": 1}
    out = apply_effect(LLAMA, A6000, s, tree)
    head = base.decode.layer("lm_head").time_s
    draft = (base.decode.time_s - head) / 32 + head
    assert out.decode.layer("q_proj").count == 32 and out.decode.time_s > base.decode.time_s  # 60 tokens verified
    assert out.decode_token_s == pytest.approx((6 * draft + out.decode.time_s) / 4.98, rel=1e-12)
    # The speedup never exceeds the tokens a step yields, and the draft head is charged.
    assert 1 < base.decode_token_s / out.decode_token_s < 4.98
    free = {**tree, "draft_layers": None, "draft_cost": 0.0}
    assert apply_effect(LLAMA, A6000, s, {k: v for k, v in free.items() if v is not None}).decode_token_s \
        < out.decode_token_s


def test_parallel_decoding_charges_the_tokens_each_pass_processes():
    """verify_tokens (a Jacobi block, a candidate tree) raise the verify pass's work; tau divides it."""
    s = Settings(batch=1, seq_len=2048)
    small = apply_effect(LLAMA, A6000, s, {"kind": "parallel_decoding", "tokens_per_step": 2.65})
    wide = apply_effect(LLAMA, A6000, s, {"kind": "parallel_decoding", "tokens_per_step": 2.65, "verify_tokens": 64})
    assert small.decode.layer("q_proj").ops * 64 / 3 == pytest.approx(wide.decode.layer("q_proj").ops, rel=1e-12)
    assert wide.decode_token_s == pytest.approx(wide.decode.time_s / 2.65, rel=1e-12)


def test_fused_attention_is_its_own_method_against_the_unfused_baseline():
    from calculator.effects import baseline_settings

    s = Settings(seq_len=2048)
    assert s.flash_attention is True
    fa = {"kind": "operator_fusion", "flash_attention": True}
    assert baseline_settings(s, fa).flash_attention is False
    assert baseline_settings(s, {"kind": "operator_fusion", "fused_elementwise": True}) == s
    # Fusing only the element-wise work keeps attention fused (the default), not unfused.
    out = apply_effect(LLAMA, A6000, s, {"kind": "operator_fusion", "fused_elementwise": True})
    assert "attention" in [r.name for r in out.prefill.layers]


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


def test_weight_row_effects_are_refused_on_layers_they_do_not_know():
    """Sparsity, low rank and contextual sparsity rewrite named weight rows of one uniform layer stack;
    DeepSeek-V3 (latent attention, a shared expert, three dense layers first) and Gemma 3 (local and
    global layers) are refused in one line instead of being changed in part."""
    from kb.catalogue import load_hardware, load_model

    hw = load_hardware("nvidia-h100-sxm")
    for model_id, kind, effect in (("deepseek-v3", "sparsity", {"pattern": "n:m", "n": 2, "m": 4}),
                                   ("gemma-3-4b", "low_rank", {"params_kept": 0.5}),
                                   ("gemma-3-4b", "contextual_sparsity", {"mlp_active": 0.5})):
        with pytest.raises(CalculatorError, match=f"^{kind} is modelled for models whose layers are all alike"):
            apply_effect(load_model(model_id), hw, Settings(), {"kind": kind, **effect})


def test_low_rank_on_a_moe_with_its_own_expert_width_scales_the_expert_weights():
    """Qwen3-30B-A3B by hand: each of 48 layers holds q/o 2 x 2048 x 4096, k/v 2 x 2048 x 512 and 128 experts
    of 3 x 2048 x 768 (moe_intermediate_size, not the 6144 of intermediate_size); keeping half of the linear
    weights at 16 bits saves half of those bytes."""
    from kb.catalogue import load_hardware, load_model

    model, hw = load_model("qwen3-30b-a3b"), load_hardware("nvidia-h100-sxm")
    linear = 48 * (2 * 2048 * 4096 + 2 * 2048 * 512 + 128 * 3 * 2048 * 768) * 2
    base = baseline(model, hw, Settings())
    half = apply_effect(model, hw, Settings(), {"kind": "low_rank", "params_kept": 0.5})
    assert base.memory.weights_bytes - half.memory.weights_bytes == pytest.approx(linear / 2, rel=1e-12)


def _attention_bytes(stage) -> float:
    return sum(r[1] * r[3] for r in stage.layers if r[0] in ("qk_matmul", "softmax", "sv_matmul", "attention"))


def test_token_reduction_runs_the_shorter_prompt_and_fewer_answer_tokens():
    """prompt_kept 1/4 of 4096 tokens is a prefill of 1024 tokens; output_kept 0.5 halves the time per baseline
    token (half as many tokens are generated)."""
    s = Settings(batch=1, seq_len=4096)
    out = apply_effect(LLAMA, A6000, s, {"kind": "token_reduction", "prompt_kept": 0.25, "output_kept": 0.5})
    short = analyze(LLAMA, A6000, Settings(batch=1, seq_len=1024, stage="all"))
    assert out.prefill.time_s == short.prefill.time_s
    assert out.decode_token_s == short.decode.time_s * 0.5
    assert out.memory.kv_cache_bytes == short.memory.kv_cache_bytes  # 2 x 32 x 1024 x 4096 x 2 bytes
    assert out.memory.kv_cache_bytes == 2 * 32 * 1024 * 4096 * 2


def test_sparse_attention_reads_the_token_budget_and_keeps_the_cache():
    """decode_kv_budget 1024 of a 4096-token context: the attention rows move a quarter of their bytes and do a
    quarter of their ops; the projections and the memory footprint are unchanged."""
    s = Settings(batch=4, seq_len=4096)
    base = baseline(LLAMA, A6000, s)
    out = apply_effect(LLAMA, A6000, s, {"kind": "sparse_attention", "decode_kv_budget": 1024, "prefill_density": 0.1})
    assert _attention_bytes(out.decode) == pytest.approx(_attention_bytes(base.decode) * 0.25, rel=1e-12)
    assert out.decode.layer("q_proj") == base.decode.layer("q_proj")
    att = [r for r in base.prefill.layers if r[0] in ("attention", "qk_matmul")][0]
    assert out.prefill.layer(att[0]).ops == pytest.approx(att[2] * 0.1, rel=1e-12)
    assert out.memory.total_bytes == base.memory.total_bytes


def test_prefix_reuse_prefills_only_the_new_tokens_and_pays_the_host_link():
    """prompt_reused 0.75 of 4096: prefill of 1024 new tokens attending to 4096 (the lm_head and projections see
    1024 tokens); from host memory the reused 3/4 of the KV cache crosses the link at half its bandwidth."""
    hw = Hardware(id="gpu", memory_bandwidth=768e9, peak_ops={"fp16": 154.8e12}, host_link_bandwidth=64e9)
    s = Settings(batch=1, seq_len=4096)
    base = baseline(LLAMA, hw, s)
    dev = apply_effect(LLAMA, hw, s, {"kind": "prefix_reuse", "prompt_reused": 0.75})
    assert dev.prefill.layer("q_proj").ops == 2 * 1024 * 4096 * 4096
    assert dev.decode_token_s == base.decode_token_s
    host = apply_effect(LLAMA, hw, s, {"kind": "prefix_reuse", "prompt_reused": 0.75, "cache_tier": "host"})
    row = host.prefill.layer("kv_from_host")
    moved = 2 * 32 * 4096 * 4096 * 2 * 0.75
    assert row.bytes == pytest.approx(moved, rel=1e-12) and row.time_s == pytest.approx(moved / 32e9, rel=1e-12)
    assert host.prefill.time_s == pytest.approx(dev.prefill.time_s + moved / 32e9, rel=1e-12)
    overlap = apply_effect(LLAMA, hw, s, {"kind": "prefix_reuse", "prompt_reused": 0.75, "cache_tier": "host",
                                          "overlap": True})
    assert overlap.prefill.time_s == pytest.approx(max(dev.prefill.time_s, moved / 32e9), rel=1e-12)
    with pytest.raises(CalculatorError, match="no host link"):
        apply_effect(LLAMA, A6000, s, {"kind": "prefix_reuse", "prompt_reused": 0.5, "cache_tier": "host"})


def test_shared_prefix_reads_and_stores_the_prefix_once_per_batch():
    """shared 0.75 at batch 8: attention bytes and the KV cache x (0.25 + 0.75 / 8), the prefix prefilled once;
    nothing at batch 1."""
    s = Settings(batch=8, seq_len=2048)
    base = baseline(LLAMA, A6000, s)
    out = apply_effect(LLAMA, A6000, s, {"kind": "shared_prefix", "shared": 0.75})
    factor = 0.25 + 0.75 / 8
    assert _attention_bytes(out.decode) == pytest.approx(_attention_bytes(base.decode) * factor, rel=1e-12)
    assert out.memory.kv_cache_bytes == pytest.approx(base.memory.kv_cache_bytes * factor, rel=1e-12)
    # Prefill: the 1536-token prefix once, then 8 x 512 own tokens (against the 2048-token context).
    assert out.prefill.layer("q_proj").ops == 2 * (1536 + 8 * 512) * 4096 * 4096
    assert out.prefill.time_s < base.prefill.time_s
    one = apply_effect(LLAMA, A6000, Settings(batch=1, seq_len=2048), {"kind": "shared_prefix", "shared": 0.75})
    assert one.decode_token_s == pytest.approx(baseline(LLAMA, A6000, Settings(batch=1, seq_len=2048)).decode_token_s)
    assert "batch 1" in one.notes[-1]


@pytest.mark.parametrize("model_id", ["falcon-mamba-7b", "jamba-1.5-mini"])
def test_cache_scaling_effects_are_refused_where_a_layer_keeps_a_recurrent_state(model_id):
    """kv_compression and shared_prefix shrink an attention cache; a Mamba layer's fixed state is not one."""
    from kb.catalogue import load_hardware, load_model

    model, hw = load_model(model_id), load_hardware("nvidia-h100-sxm")
    for effect in ({"kind": "kv_compression", "kv_kept": 0.5}, {"kind": "shared_prefix", "shared": 0.5}):
        with pytest.raises(CalculatorError, match="recurrent state"):
            apply_effect(model, hw, Settings(batch=4), effect)
