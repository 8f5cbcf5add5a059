"""Hand-derived values: each test names the formula of docs/roofline.md it checks.

Shapes: Llama-2-7b (h 4096, I 11008, L 32, H 32, K 32, d 128, V 32000) on the A6000 fixture
(768 GB/s, 154.8 TOPS fp16), unless a toy fixture is named.
"""

from __future__ import annotations

import pytest

from calculator import CalculatorError, Settings, analyze, expected_experts, flash_pairs
from tests.calculator.conftest import hardware, model, run

GB = 1e9


# --- GQA: K/V projections, attention reads and the KV cache use num_key_value_heads -----------

def test_gqa_k_proj_decode_bytes():
    """k_proj: ops = 2*T*h*K*d; bytes = h*K*d*w + T*h*a + T*K*d*kv, with K = 8 (toy-gqa-8b)."""
    row = run("toy-gqa-8b").stages["decode"].layer("k_proj")
    assert row.ops == 2 * 4096 * 1024
    assert row.bytes == 4096 * 1024 * 2 + 4096 * 2 + 1024 * 2


def test_gqa_kv_cache_bytes():
    """KV cache = 2 * L * b * n * K * d * kv = 2 * 32 * 1 * 2048 * 8 * 128 * 2."""
    res = run("toy-gqa-8b").memory.kv_cache_bytes
    assert res == 2 * 32 * 2048 * 8 * 128 * 2 == 268_435_456


def test_gqa_qk_matmul_decode_reads_kv_heads_only():
    """qk_matmul bytes = T*H*d*a (Q) + b*n*K*d*kv (K) + b*H*q*n*a (scores); ops use all H heads."""
    row = run("toy-gqa-8b", flash_attention=False).stages["decode"].layer("qk_matmul")
    assert row.ops == 2 * 32 * 2048 * 128
    assert row.bytes == 32 * 128 * 2 + 2048 * 8 * 128 * 2 + 32 * 2048 * 2


# --- MoE: experts actually read ----------------------------------------------------------------

def test_expected_experts_formula():
    """E * (1 - (1 - k/E)**T): 1 token reads k experts, 4 tokens 5.47, a long prompt all 8."""
    assert expected_experts(8, 2, 1) == 2.0
    assert expected_experts(8, 2, 4) == pytest.approx(8 * (1 - 0.75**4)) == pytest.approx(5.46875)
    assert expected_experts(8, 2, 2048) == 8.0


def test_moe_decode_batch1_reads_top_k_experts():
    """gate_proj (batch 1 decode): weights of k = 2 experts: 2*h*I*w, + activations (h + I)*k*a."""
    row = run("toy-moe-8x7b").stages["decode"].layer("gate_proj")
    assert row.ops == 2 * 2 * 4096 * 14336
    assert row.bytes == 2 * 4096 * 14336 * 2 + 2 * (4096 + 14336) * 2


def test_moe_decode_batch4_reads_expected_distinct_experts():
    """down_proj, batch 4: E*(1-(1-k/E)^4) = 5.46875 experts' weights + 8 routed tokens' activations."""
    row = run("toy-moe-8x7b", batch=4).stages["decode"].layer("down_proj")
    assert row.ops == 2 * 8 * 14336 * 4096
    assert row.bytes == pytest.approx(5.46875 * 14336 * 4096 * 2 + 8 * (14336 + 4096) * 2)


def test_moe_prefill_reads_all_experts():
    """Prefill of 2048 tokens touches all 8 experts: 8*h*I*w weight bytes."""
    row = run("toy-moe-8x7b").stages["prefill"].layer("up_proj")
    assert row.bytes == 8 * 4096 * 14336 * 2 + 2048 * 2 * (4096 + 14336) * 2


def test_moe_router_row_and_resident_weights():
    """router: ops = 2*T*h*E; memory holds every expert: 8 x 3*h*I per layer."""
    res = run("toy-moe-8x7b")
    assert res.stages["decode"].layer("router").ops == 2 * 4096 * 8
    attention = 2 * 4096 * 4096 + 2 * 4096 * 1024
    per_layer = attention + 8 * 3 * 4096 * 14336 + 4096 * 8 + 2 * 4096
    total = 32 * per_layer + 4096 + 2 * 32000 * 4096
    assert res.memory.weights_bytes == total * 2
    assert res.model.parameters == total


# --- Flash attention ---------------------------------------------------------------------------

def test_flash_pairs_formula():
    """q*(n-q) + q*(q+1)/2: prefill s(s+1)/2, decode n."""
    assert flash_pairs(2048, 2048) == 2048 * 2049 / 2
    assert flash_pairs(1, 2048) == 2048
    assert flash_pairs(4, 10) == 4 * 6 + 10


def test_flash_attention_replaces_three_rows():
    names = [row.name for row in run(flash_attention=True).stages["prefill"].layers]
    assert "attention" in names
    assert not {"qk_matmul", "softmax", "sv_matmul"} & set(names)


def test_flash_attention_prefill_ops_and_bytes():
    """attention: ops = b*H*s(s+1)/2*(4d+5); bytes = 2*T*H*d*a (Q, O) + 2*b*n*K*d*kv (K, V once)."""
    row = run(flash_attention=True).stages["prefill"].layer("attention")
    assert row.ops == 32 * (2048 * 2049 / 2) * (4 * 128 + 5)
    assert row.bytes == 2 * 2048 * 4096 * 2 + 2 * 2048 * 4096 * 2 == 67_108_864


def test_flash_attention_decode_bytes_no_score_matrix():
    """Decode: bytes = 2*H*d*a + 2*n*K*d*kv; ops = H*n*(4d+5)."""
    row = run(flash_attention=True).stages["decode"].layer("attention")
    assert row.ops == 32 * 2048 * (4 * 128 + 5)
    assert row.bytes == 2 * 4096 * 2 + 2 * 2048 * 4096 * 2


def test_flash_attention_activation_footprint_drops_score_matrix():
    """activations = b*s*h*a + max(2*b*s*H*d*a, 3*b*s*I*a) with flash attention."""
    res = run(flash_attention=True).memory.activations_bytes
    assert res == 2048 * 4096 * 2 + 3 * 2048 * 11008 * 2


# --- Quantization ------------------------------------------------------------------------------

def test_w4_group128_decode_q_proj_bytes():
    """weights: h*h*(w_bits/8 + 4/g) = 4096*4096*(0.5 + 4/128); activations stay at 16 bits."""
    row = run(w_bits=4, group_size=128).stages["decode"].layer("q_proj")
    assert row.bytes == 4096 * 4096 * (0.5 + 4 / 128) + 4096 * 2 + 4096 * 2


def test_w4_without_group_size_has_no_scale_overhead():
    row = run(w_bits=4).stages["decode"].layer("q_proj")
    assert row.bytes == 4096 * 4096 * 0.5 + 4096 * 2 + 4096 * 2


def test_w4_keeps_lm_head_and_embeddings_at_16_bits():
    """Vocabulary matrices stay 16-bit unless quantize_head: lm_head bytes = h*V*2 + ..."""
    res = run(w_bits=4).stages["decode"].layer("lm_head")
    assert res.bytes == 4096 * 32000 * 2 + 4096 * 2 + 32000 * 2
    res = run(w_bits=4, quantize_head=True).stages["decode"].layer("lm_head")
    assert res.bytes == 4096 * 32000 * 0.5 + 4096 * 2 + 32000 * 2


def test_kv4_group_size_cache_bytes():
    """KV cache = 2*L*b*n*K*d*(kv_bits/8 + 4/kv_group) = 2*32*2048*4096*(0.5 + 4/64)."""
    res = run(kv_bits=4, kv_group_size=64).memory.kv_cache_bytes
    assert res == 2 * 32 * 2048 * 4096 * (0.5 + 4 / 64)


@pytest.mark.parametrize(
    ("device", "w", "a", "fmt", "tgt"),
    [
        ("nvidia-a6000", 4, 16, "int", "fp16"),  # W4A16: weight-only, computes at fp16
        ("nvidia-a6000", 8, 8, "int", "int8"),  # W8A8
        ("nvidia-a6000", 4, 4, "int", "int4"),  # W4A4 where int4 exists
        ("toy-fp8-gpu", 4, 4, "int", "int8"),  # ... else int8
        ("toy-fp8-gpu", 8, 8, "fp", "fp8"),  # FP8 where the device has it
        ("nvidia-a6000", 8, 8, "fp", "fp16"),  # ... else upcast to fp16
        ("toy-no-link", 8, 8, "int", "fp16"),  # no int8 either
        ("nvidia-a6000", 32, 32, "int", "fp32"),
    ],
)
def test_compute_format_follows_operand_bits(device, w, a, fmt, tgt):
    """compute format = max(w_bits, a_bits) rounded to the device's formats."""
    res = run(hardware_id=device, w_bits=w, a_bits=a, number_format=fmt)
    assert res.formats["linear"] == tgt
    row = res.stages["prefill"].layer("q_proj")
    assert row.format == tgt
    assert row.peak_ops_per_s == hardware(device).peaks[tgt]


def test_w8a8_prefill_q_proj_time_uses_int8_peak():
    """time = ops / int8 peak (309.7 TOPS) for a compute-bound W8A8 linear layer."""
    row = run(w_bits=8, a_bits=8).stages["prefill"].layer("q_proj")
    assert row.bound == "compute"
    assert row.time_s == pytest.approx(2 * 2048 * 4096 * 4096 / 309.7e12)


def test_fallback_is_noted():
    res = run(hardware_id="toy-fp8-gpu", w_bits=4, a_bits=4)
    assert any("int8" in note for note in res.notes)


# --- Tensor parallelism ------------------------------------------------------------------------

def test_tp2_allreduce_rows():
    """Ring all-reduce: bytes sent = 2(N-1)/N * T*h*a; time = bytes / (link/2), link 112.5 GB/s."""
    stage = run(tp=2).stages["decode"]
    for name in ("attn_allreduce", "mlp_allreduce"):
        row = stage.layer(name)
        assert row.count == 32
        assert row.bytes == 2 * (1 / 2) * 4096 * 2
        assert row.time_s == pytest.approx(8192 / (112.5e9 / 2))
        assert row.bound == "interconnect"
    assert stage.interconnect_bytes == pytest.approx(2 * 32 * 8192)


def test_tp2_halves_linear_work_and_weights():
    """Per device: q_proj out = H/N*d; weights ~ halve (norms replicated)."""
    one, two = run(), run(tp=2)
    assert two.stages["prefill"].layer("q_proj").ops == one.stages["prefill"].layer("q_proj").ops / 2
    norms = (65 * 4096) * 2  # 2 norms per layer x 32 + final norm, replicated
    assert two.memory.weights_bytes == pytest.approx((one.memory.weights_bytes - norms) / 2 + norms)
    assert two.memory.kv_cache_bytes == one.memory.kv_cache_bytes / 2


def test_tp_needs_interconnect():
    with pytest.raises(CalculatorError, match="interconnect"):
        run(hardware_id="toy-no-link", tp=2)


def test_tp_must_divide_heads():
    with pytest.raises(CalculatorError, match="does not divide"):
        run(tp=3)


# --- Other structures --------------------------------------------------------------------------

def test_lm_head_last_token_only_in_prefill():
    """lm_head: ops = 2*b*h*V (only the last position's logits), count 1."""
    row = run().stages["prefill"].layer("lm_head")
    assert row.count == 1
    assert row.ops == 2 * 4096 * 32000


def test_opt_plain_mlp_with_biases():
    """OPT: fc1 -> up_proj with bias: ops = 2*T*h*I + T*I; bytes + I*2 for the bias."""
    res = run("toy-opt-7b")
    names = [row.name for row in res.stages["decode"].layers]
    assert "gate_proj" not in names and "up_proj" in names
    up = res.stages["decode"].layer("up_proj")
    assert up.ops == 2 * 4096 * 16384 + 16384
    assert up.bytes == 4096 * 16384 * 2 + 4096 * 2 + 16384 * 2 + 16384 * 2
    act = res.stages["decode"].layer("mlp_act")
    assert (act.ops, act.bytes) == (16384, 2 * 16384 * 2)


def test_qwen2_qkv_biases():
    """qwen2 q_proj: ops = 2*h*h + h; bytes add h*2 (bias); o_proj has none."""
    stage = run("toy-qwen2-7b").stages["decode"]
    q = stage.layer("q_proj")
    assert q.ops == 2 * 3584 * 3584 + 3584
    assert q.bytes == 3584 * 3584 * 2 + 3584 * 2 * 3
    assert stage.layer("o_proj").ops == 2 * 3584 * 3584


def test_gated_mlp_act_row():
    """mlp_act (SiLU(gate) * up): ops = 6*T*I; bytes = 3*T*I*a."""
    row = run().stages["prefill"].layer("mlp_act")
    assert row.ops == 6 * 2048 * 11008
    assert row.bytes == 3 * 2048 * 11008 * 2


# --- Memory ------------------------------------------------------------------------------------

def test_memory_llama2_7b():
    """weights = params * 2 (6,738,415,616 parameters); KV = 2*L*n*h*2;
    activations = s*h*2 + 2*H*s*s*2 (unfused: softmax reads and writes the scores)."""
    mem = run(flash_attention=False).memory
    assert mem.weights_bytes == 6_738_415_616 * 2
    assert mem.kv_cache_bytes == 2 * 32 * 2048 * 4096 * 2
    assert mem.activations_bytes == 2048 * 4096 * 2 + 2 * 32 * 2048 * 2048 * 2
    assert mem.total_bytes == mem.weights_bytes + mem.kv_cache_bytes + mem.activations_bytes
    assert mem.fits is True


def test_memory_does_not_fit():
    assert run(hardware_id="toy-no-link").memory.fits is False


# --- Totals and generate -----------------------------------------------------------------------

def test_totals_sum_count_times_value(table1_result):
    for stage in table1_result.stages.values():
        assert stage.ops == pytest.approx(sum(r.count * r.ops for r in stage.layers))
        assert stage.bytes == pytest.approx(sum(r.count * r.bytes for r in stage.layers))
        assert stage.time_s == pytest.approx(sum(r.count * r.time_s for r in stage.layers))


def _step_by_step(model_id, hardware_id, **settings):
    s = Settings(stage="decode", **settings)
    m, hw = model(model_id), hardware(hardware_id)
    steps = [analyze(m, hw, Settings(**{**s.to_dict(), "seq_len": s.seq_len + j})).decode.time_s
             for j in range(s.gen_len - 1)]
    return sum(steps)


@pytest.mark.parametrize(
    "settings",
    [
        {"seq_len": 2048, "gen_len": 128},
        {"seq_len": 100, "gen_len": 7, "batch": 64},
        {"seq_len": 10, "gen_len": 300, "batch": 256, "flash_attention": True},
        {"seq_len": 1, "gen_len": 2},
    ],
)
def test_generate_closed_form_equals_step_by_step(settings):
    """TPOT = (1/(G-1)) * sum_{j=1}^{G-1} T_decode(P + j - 1), summed exactly."""
    res = run(**settings).generate
    tgt = _step_by_step("llama-2-7b", "nvidia-a6000", **settings)
    assert res.decode_time_s == pytest.approx(tgt, rel=1e-12)
    assert res.time_per_output_token_s == pytest.approx(tgt / (settings["gen_len"] - 1), rel=1e-12)


def test_generate_closed_form_across_the_ridge():
    """A device whose attention rows switch from memory- to compute-bound while the context grows."""
    from dataclasses import replace

    hw = replace(hardware("nvidia-a6000"), peak_ops={"fp16": 6e11})
    m = model("llama-2-7b")
    settings = dict(seq_len=1, gen_len=400, batch=8, flash_attention=True)
    res = analyze(m, hw, Settings(**settings)).generate
    steps = [analyze(m, hw, Settings(stage="decode", batch=8, flash_attention=True, seq_len=1 + j))
             for j in range(399)]
    bounds = {s.decode.layer("attention").bound for s in steps}
    assert bounds == {"compute", "memory"}
    assert res.decode_time_s == pytest.approx(sum(s.decode.time_s for s in steps), rel=1e-12)


def test_generate_ttft_e2e_and_rates():
    res = run(seq_len=2048, gen_len=128)
    g = res.generate
    assert g.ttft_s == res.stages["prefill"].time_s
    assert g.e2e_latency_s == pytest.approx(g.ttft_s + 127 * g.time_per_output_token_s)
    assert g.tokens_per_s == pytest.approx(128 / g.e2e_latency_s)
    assert g.decode_tokens_per_s == pytest.approx(1 / g.time_per_output_token_s)
    assert g.kv_cache_bytes_end == 2 * 32 * (2048 + 127) * 4096 * 2


def test_generate_single_token_is_prefill_only():
    g = run(gen_len=1).generate
    assert g.time_per_output_token_s == 0.0
    assert g.e2e_latency_s == g.ttft_s
    assert g.decode_tokens_per_s is None


def test_stage_selection():
    assert set(run(stage="prefill").stages) == {"prefill"}
    assert run(stage="prefill").generate is None
    assert set(run(stage="decode").stages) == {"decode"}
    res = run(stage="generate")
    assert res.stages == {} and res.generate is not None


# --- Gated attention (Qwen3-Next): q_proj also writes the output gate ---------------------------

def test_qwen3_next_gated_attention_q_proj_and_gate_row():
    """q_proj h -> 2*H*d (queries and gates): ops 2*T*h*2Hd, weights h*2Hd*w; attn_gate o * sigmoid(g): 5 ops
    per element, bytes 3*T*H*d*a; parameters + h*H*d per full-attention layer (2 of 8 layers here). The parameter
    check starts from the same config read as qwen3_moe (8 plain full-attention layers), swaps 6 of them for
    Gated DeltaNet layers and adds the 2 gate halves of q_proj."""
    from calculator.hf import model_from_hf_config

    cfg = {"model_type": "qwen3_next", "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 8,
           "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "vocab_size": 1000,
           "num_experts": 8, "num_experts_per_tok": 2, "moe_intermediate_size": 64,
           "shared_expert_intermediate_size": 64, "full_attention_interval": 4, "linear_conv_kernel_dim": 4,
           "linear_key_head_dim": 32, "linear_value_head_dim": 32, "linear_num_key_heads": 2,
           "linear_num_value_heads": 4}
    gated = model_from_hf_config(cfg)
    plain = model_from_hf_config(cfg | {"model_type": "qwen3_moe", "layer_types": None}).params_total  # no gate
    assert gated.attention_output_gate
    dec = analyze(gated, hardware("nvidia-a6000"), Settings(stage="decode")).stages["decode"]
    q = dec.layer("q_proj")
    assert (q.count, q.ops, q.bytes) == (2, 2 * 256 * 2 * 256, 256 * 512 * 2 + (256 + 512) * 2)
    g = dec.layer("attn_gate")
    assert (g.count, g.ops, g.bytes) == (2, 5 * 256, 3 * 256 * 2)
    linear_layers = 6 * (256 * (2 * 64 + 2 * 128) + 256 * 2 * 4 + (2 * 64 + 128) * 4 + 2 * 4 + 32 + 128 * 256)
    full_layers = 6 * (256 * 256 + 2 * 256 * 128 + 256 * 256 + 2 * 64)  # what the qwen3_moe reading has in their place
    assert gated.params_total == plain - full_layers + linear_layers + 2 * 256 * 256
