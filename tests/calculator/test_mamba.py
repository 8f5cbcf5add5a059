"""Mamba (selective state-space) layers, by hand: each test names the formula of calculator.core._mamba
(docs/roofline.md, "State-space (Mamba) layers") it checks.

Toy shapes: Mamba-1 h 64, inner I 128, state N 16, conv width c 4, time-step rank R 4, 2 layers, vocab 100;
Mamba-2 the same with 8 heads (head width 16) and 2 groups. 16-bit everything (w = a = kv = hi = 2 bytes) on the
A6000 fixture, batch 2, so T = 2 in decode and 2 * 8 in a prefill of 8 tokens.
"""

from __future__ import annotations

import pytest

from calculator import CalculatorError, Model, Settings, analyze
from calculator.hf import model_from_hf_config
from tests.calculator.conftest import hardware

H, I, N, C, R, L, V = 64, 128, 16, 4, 4, 2, 100
MAMBA1 = {"model_type": "mamba", "hidden_size": H, "intermediate_size": I, "num_hidden_layers": L,
          "vocab_size": V, "state_size": N, "conv_kernel": C, "time_step_rank": R, "use_bias": False,
          "use_conv_bias": True}
MAMBA2 = {"model_type": "mamba2", "hidden_size": H, "num_hidden_layers": L, "vocab_size": V, "num_heads": 8,
          "head_dim": 16, "n_groups": 2, "state_size": N, "conv_kernel": C, "use_bias": False, "use_conv_bias": True}


def _run(cfg, **settings):
    settings = {"batch": 2, "seq_len": 8, "gen_len": 4, "stage": "all", **settings}
    return analyze(model_from_hf_config(cfg), hardware("nvidia-a6000"), Settings(**settings))


def _row(result, stage, name):
    return result.stages[stage].layer(name)


def test_pure_mamba_layers_have_no_attention_and_no_mlp():
    m = model_from_hf_config(MAMBA1)
    assert [(g.count, g.attention.kind, g.mlp.kind) for g in m.recipe] == [(L, "mamba", "none")]
    assert m.num_attention_heads == m.num_key_value_heads == m.head_dim == 0
    names = [row[0] for row in _run(MAMBA1).stages["decode"].layers]
    assert names == ["attn_norm", "in_proj", "conv1d", "x_proj", "dt_proj", "selective_scan", "ssm_gate",
                     "out_proj", "attn_add", "lm_head"]


def test_mamba1_in_proj_and_out_proj():
    """in_proj h -> 2I: ops 2*T*h*2I, bytes h*2I*w + T*(h + 2I)*a; out_proj I -> h likewise."""
    r = _run(MAMBA1)
    row = _row(r, "decode", "in_proj")
    assert (row.ops, row.bytes) == (2 * 2 * H * 2 * I, H * 2 * I * 2 + 2 * (H + 2 * I) * 2)
    row = _row(r, "decode", "out_proj")
    assert (row.ops, row.bytes) == (2 * 2 * I * H, I * H * 2 + 2 * (I + H) * 2)


def test_mamba1_conv1d_reads_and_writes_its_state():
    """conv1d: ops 2*T*I*c + T*I (bias); bytes I*c*hi + I*hi + 2*T*I*a + 2*b*I*(c - 1)*kv."""
    row = _row(_run(MAMBA1), "decode", "conv1d")
    assert row.ops == 2 * 2 * I * C + 2 * I
    assert row.bytes == I * C * 2 + I * 2 + 2 * 2 * I * 2 + 2 * 2 * I * (C - 1) * 2


def test_mamba1_x_proj_and_dt_proj():
    """x_proj I -> R + 2N (no bias); dt_proj R -> I with its bias: ops + T*I, bytes + I*hi."""
    r = _run(MAMBA1)
    row = _row(r, "decode", "x_proj")
    assert (row.ops, row.bytes) == (2 * 2 * I * (R + 2 * N), I * (R + 2 * N) * 2 + 2 * (I + R + 2 * N) * 2)
    row = _row(r, "decode", "dt_proj")
    assert (row.ops, row.bytes) == (2 * 2 * R * I + 2 * I, R * I * 2 + 2 * (R + I) * 2 + I * 2)


def test_mamba1_selective_scan_reads_the_state_once_per_step():
    """selective_scan: ops T*I*(7N + 2); bytes T*(3I + 2N)*a + 2*b*I*N*kv (state read and written) + I*(N + 1)*hi."""
    row = _row(_run(MAMBA1), "decode", "selective_scan")
    assert row.ops == 2 * I * (7 * N + 2)
    assert row.bytes == 2 * (3 * I + 2 * N) * 2 + 2 * 2 * I * N * 2 + I * (N + 1) * 2


def test_mamba1_prefill_scan_counts_every_token_but_the_state_once():
    """Prefill of s = 8 tokens: T = b*s = 16 in every per-token term; the state still 2*b*I*N*kv once."""
    row = _row(_run(MAMBA1), "prefill", "selective_scan")
    assert row.ops == 16 * I * (7 * N + 2)
    assert row.bytes == 16 * (3 * I + 2 * N) * 2 + 2 * 2 * I * N * 2 + I * (N + 1) * 2


def test_mamba1_gate():
    """ssm_gate y * silu(z): 6 ops per element, bytes 3*T*I*a."""
    row = _row(_run(MAMBA1), "decode", "ssm_gate")
    assert (row.ops, row.bytes) == (6 * 2 * I, 3 * 2 * I * 2)


def test_mamba_state_replaces_the_kv_cache_and_does_not_grow():
    """State per device: L*b*(I*N + I*(c - 1))*kv, the same at any context and at the end of generation."""
    state = L * 2 * (I * N + I * (C - 1)) * 2
    short, long = _run(MAMBA1), _run(MAMBA1, seq_len=4096, gen_len=512)
    assert short.memory.kv_cache_bytes == long.memory.kv_cache_bytes == state
    assert long.generate.kv_cache_bytes_end == state
    assert model_from_hf_config(MAMBA1).kv_bytes_per_token() == 0


def test_mamba_decode_step_does_not_depend_on_the_context():
    """Nothing reads the context: a decode step costs the same at 8 and at 4096 tokens, and a generation of
    G tokens takes (G - 1) decode steps of that cost."""
    short, long = _run(MAMBA1), _run(MAMBA1, seq_len=4096, gen_len=512)
    assert short.stages["decode"].time_s == long.stages["decode"].time_s
    assert long.generate.decode_time_s == pytest.approx(511 * long.stages["decode"].time_s, rel=1e-12)


def test_mamba1_parameters_by_hand():
    """Per layer: in_proj h*2I, conv I*c + I, x_proj I*(R + 2N), dt_proj R*I + I, A I*N, D I, out_proj I*h,
    one norm h (no MLP, no MLP norm); plus the tied embedding V*h and the final norm h."""
    layer = H * 2 * I + I * C + I + I * (R + 2 * N) + R * I + I + I * N + I + I * H + H
    m = model_from_hf_config(MAMBA1)
    assert m.params_total == m.params_active == L * layer + V * H + H
    weights = _run(MAMBA1).memory.weights_bytes
    assert weights == (L * layer + V * H + H) * 2


def test_mamba2_rows_by_hand():
    """Mamba-2 (H 8 heads, G 2 groups): in_proj h -> 2I + 2GN + H; conv1d over I + 2GN channels;
    selective_scan ops T*I*(5N + 2), bytes T*(2I + 2GN + H)*a + 2*b*I*N*kv + 3H*hi; ssm_norm 13 ops per element."""
    r = _run(MAMBA2)
    proj, channels = 2 * I + 2 * 2 * N + 8, I + 2 * 2 * N
    row = _row(r, "decode", "in_proj")
    assert (row.ops, row.bytes) == (2 * 2 * H * proj, H * proj * 2 + 2 * (H + proj) * 2)
    row = _row(r, "decode", "conv1d")
    assert row.ops == 2 * 2 * channels * C + 2 * channels
    assert row.bytes == channels * C * 2 + channels * 2 + 2 * 2 * channels * 2 + 2 * 2 * channels * (C - 1) * 2
    row = _row(r, "decode", "selective_scan")
    assert row.ops == 2 * I * (5 * N + 2)
    assert row.bytes == 2 * (2 * I + 2 * 2 * N + 8) * 2 + 2 * 2 * I * N * 2 + 3 * 8 * 2
    row = _row(r, "decode", "ssm_norm")
    assert (row.ops, row.bytes) == (13 * 2 * I, 3 * 2 * I * 2)
    assert "x_proj" not in [row[0] for row in r.stages["decode"].layers]
    assert r.memory.kv_cache_bytes == L * 2 * (I * N + channels * (C - 1)) * 2


def test_mamba2_parameters_by_hand():
    """Per layer: in_proj h*(2I + 2GN + H), conv (I + 2GN)*(c + 1), A, D, dt_bias 3H, gated norm I, out_proj I*h,
    one norm h; the embedding V*h (tied: the Hugging Face default for mamba2); final norm h."""
    proj, channels = 2 * I + 2 * 2 * N + 8, I + 2 * 2 * N
    layer = H * proj + channels * (C + 1) + 3 * 8 + I + I * H + H
    assert model_from_hf_config(MAMBA2).params_total == L * layer + V * H + H


def test_tensor_parallel_splits_the_inner_channels():
    """tp 2: in_proj h -> 2 * I/2 per device, the state I/2 x N per device."""
    r = _run(MAMBA1, tp=2)
    assert _row(r, "decode", "in_proj").ops == 2 * 2 * H * I
    assert r.memory.kv_cache_bytes == L * 2 * (I // 2 * N + I // 2 * (C - 1)) * 2
    with pytest.raises(CalculatorError, match="tp 3 does not divide"):
        _run(MAMBA1, tp=3)


JAMBA = {"model_type": "jamba", "hidden_size": H, "intermediate_size": 96, "num_hidden_layers": 8,
         "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": V, "attn_layer_period": 4,
         "attn_layer_offset": 2, "expert_layer_period": 2, "expert_layer_offset": 1, "num_experts": 4,
         "num_experts_per_tok": 2, "mamba_d_state": N, "mamba_d_conv": C, "mamba_expand": 2, "mamba_dt_rank": R,
         "mamba_conv_bias": True, "mamba_proj_bias": False, "tie_word_embeddings": False}


def test_jamba_hybrid_counts_each_kind_by_its_layers():
    """Layers 2 and 6 attention (i % 4 == 2), the other 6 Mamba; odd layers MoE, even ones dense. Attention rows
    count 2, Mamba rows 6, the norms and adds 8; the KV cache is the 2 attention layers' plus the 6 states."""
    m = model_from_hf_config(JAMBA)
    assert m.layer_types == ("mamba", "mamba", "full", "mamba", "mamba", "mamba", "full", "mamba")
    assert m.dense_layers == (0, 2, 4, 6)
    r = _run(JAMBA, seq_len=64)
    counts = {row[0]: row[1] for row in r.stages["decode"].layers}
    assert counts["attention"] == counts["q_proj"] == 2
    assert counts["in_proj"] == counts["selective_scan"] == 6
    assert counts["attn_norm"] == counts["mlp_norm"] == counts["mlp_add"] == 8
    assert counts["gate_proj"] == counts["dense_gate_proj"] == 4
    kv = 2 * 2 * 2 * 64 * 2 * 16 * 2  # 2 (K, V) x 2 layers x b 2 x 64 tokens x 2 KV heads x d 16 x 2 bytes
    assert r.memory.kv_cache_bytes == kv + 6 * 2 * (I * N + I * (C - 1)) * 2


def test_unmodelled_configs_are_refused_in_one_line():
    for cfg, fragment in (
        ({**MAMBA1, "model_type": "nemotron_h"}, "unsupported model_type 'nemotron_h'"),
        ({k: v for k, v in MAMBA2.items() if k != "num_heads"}, "missing field 'num_heads'"),
        ({**JAMBA, "layers_block_type": ["attention"]}, "field 'layers_block_type' must list"),
    ):
        with pytest.raises(CalculatorError, match=fragment) as info:
            model_from_hf_config(cfg)
        assert "\n" not in str(info.value)
    base = {"id": "x", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 0,
            "vocab_size": 10, "layer_types": ("mamba", "mamba"), "no_mlp_layers": (0, 1)}
    for extra, fragment in (({}, "mamba layers need mamba_d_state"),
                            ({"mamba_d_state": 16, "mamba_d_conv": 4, "mamba_inner_size": 128},
                             "need mamba_dt_rank \\(Mamba-1\\) or mamba_n_heads"),
                            ({"mamba_d_state": 16, "mamba_d_conv": 4, "mamba_inner_size": 128, "mamba_dt_rank": 4,
                              "mamba_n_heads": 8, "mamba_n_groups": 1}, "not both")):
        with pytest.raises(CalculatorError, match=fragment):
            Model(**base, **extra)
    with pytest.raises(CalculatorError, match="num_attention_heads must be a positive integer"):
        Model(**{**base, "layer_types": ("mamba", "full")}, mamba_d_state=16, mamba_d_conv=4, mamba_inner_size=128,
              mamba_dt_rank=4)


GRANITE = {"model_type": "granitemoehybrid", "hidden_size": H, "intermediate_size": 32, "num_hidden_layers": 4,
           "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": V, "max_position_embeddings": 4096,
           "layer_types": ["mamba", "mamba", "attention", "mamba"], "mamba_n_heads": 8, "mamba_d_head": 16,
           "mamba_expand": 2, "mamba_n_groups": 1, "mamba_d_state": 32, "mamba_d_conv": 4, "num_local_experts": 8,
           "num_experts_per_tok": 2, "shared_intermediate_size": 96, "tie_word_embeddings": True}


def test_granite_hybrid_parameters_by_hand():
    """Granite 4.0 hybrid (toy): 3 Mamba-2 layers (in_proj h*(2I + 2GN + H), conv (I + 2GN)*(c + 1), A/D/dt_bias
    3H, gated norm I, out_proj I*h) and 1 GQA layer (q, o h*h; k, v h*K*d), every layer 2 norms, a router h*E, E
    experts of 3*h*32 (top 2 active) and a shared gated MLP 3*h*96; tied embedding V*h and the final norm h."""
    n2, heads = 32, 8
    mamba = H * (2 * I + 2 * n2 + heads) + (I + 2 * n2) * (C + 1) + 3 * heads + I + I * H
    attention = 2 * H * H + 2 * H * 2 * 16
    mlp_base = H * 8 + 3 * H * 96
    rest = 4 * 2 * H + V * H + H
    m = model_from_hf_config(GRANITE)
    assert [(g.count, g.attention.kind, g.mlp.kind) for g in m.recipe] == [(3, "mamba", "moe"), (1, "full", "moe")]
    assert m.params_total == 3 * mamba + attention + 4 * (mlp_base + 8 * 3 * H * 32) + rest
    assert m.params_active == 3 * mamba + attention + 4 * (mlp_base + 2 * 3 * H * 32) + rest
    counts = {row[0]: row[1] for row in _run(GRANITE).stages["decode"].layers}
    assert counts["selective_scan"] == 3 and counts["attention"] == 1 and counts["shared_up_proj"] == 4
