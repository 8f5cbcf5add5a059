"""Architecture as data (calculator.recipe): each new kind of operation against a hand-derived value that names
its formula, and the old llama / opt / mixtral / qwen2 layers against the pre-recipe calculator, bit for bit."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calculator import Model, Settings, analyze
from calculator.core import flash_pairs, window_pairs
from calculator.hf import model_from_hf_config
from tests.calculator import reference_core
from tests.calculator.conftest import FIXTURES, hardware, model

GPU = hardware("nvidia-a6000")
DEEPSEEK = model_from_hf_config(json.loads((FIXTURES / "hf" / "deepseek-v3" / "config.json").read_text()),
                                "deepseek-v3")

# ------------------------------------------------------------------------------------- recipes


def test_deepseek_recipe_has_three_dense_layers_then_moe_with_a_shared_expert():
    groups = [(g.count, g.attention.kind, g.mlp.kind, g.mlp.experts, g.mlp.top_k, g.mlp.shared)
              for g in DEEPSEEK.recipe]
    assert groups == [(3, "latent", "gated", 0, 0, 0), (58, "latent", "moe", 256, 8, 1)]


def test_layer_types_group_window_and_full_layers():
    m = Model(id="g", hidden_size=64, intermediate_size=128, num_hidden_layers=12, num_attention_heads=4,
              vocab_size=100, sliding_window=16, layer_types=(["window"] * 5 + ["full"]) * 2)
    assert [(g.count, g.attention.kind, g.attention.window) for g in m.recipe] == [(10, "window", 16), (2, "full", 0)]


def test_a_llama_is_one_group():
    (g,) = model("llama-2-7b").recipe
    assert (g.count, g.attention.kind, g.mlp.kind, g.mlp.width) == (32, "full", "gated", 11008)


# ------------------------------------------------------------------------------------- window


@pytest.mark.parametrize(("q", "n", "w", "pairs"), [
    (1, 10000, 4096, 4096),  # decode past the window: W keys
    (8, 8, 4, 1 + 2 + 3 + 4 * 5),  # prefill: token j sees min(j, W)
    (3, 6, 4, 4 + 4 + 4),  # three new tokens at positions 4..6
    (4, 4, 100, flash_pairs(4, 4)),  # inside the window: plain causal
])
def test_window_pairs_sum_min_of_position_and_window(q, n, w, pairs):
    assert window_pairs(q, n, w) == pairs


def test_window_layers_keep_and_read_at_most_w_tokens():
    """KV cache = 2 x layers x b x min(tokens, W) x K x d x kv; decode reads min(n, W) keys per window layer."""
    base = dict(id="w", hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                num_key_value_heads=8, vocab_size=32000)
    window, full = Model(**base, sliding_window=4096), Model(**base)
    s = Settings(seq_len=131072, stage="decode")
    rw, rf = analyze(window, GPU, s), analyze(full, GPU, s)
    assert rw.memory.kv_cache_bytes == 2 * 32 * 4096 * 8 * 128 * 2
    assert rf.memory.kv_cache_bytes / rw.memory.kv_cache_bytes == 131072 / 4096
    att = rw.decode.layer("window_attention")
    assert att.bytes == 2 * 32 * 128 * 2 + 2 * 4096 * 8 * 128 * 2  # Q, O + K, V of W tokens
    assert att.ops == 32 * 4096 * (4 * 128 + 5)


def test_gemma_pattern_window_memory_at_128k():
    """5 window layers per global one: 10 of 62 layers hold 128k tokens, 52 hold 1024."""
    m = Model(id="g3", hidden_size=5376, intermediate_size=21504, num_hidden_layers=62, num_attention_heads=32,
              num_key_value_heads=16, head_dim=128, vocab_size=262208, sliding_window=1024, qk_norm=True,
              layer_types=tuple("full" if (i + 1) % 6 == 0 else "window" for i in range(62)))
    r = analyze(m, GPU, Settings(seq_len=131072, stage="decode"))
    per_token_layer = 2 * 16 * 128 * 2
    assert r.memory.kv_cache_bytes == (10 * 131072 + 52 * 1024) * per_token_layer
    assert r.decode.layer("q_norm").ops == 7 * 32 * 128  # RMSNorm over each query head


def test_generate_across_the_window_is_the_sum_of_its_steps():
    """The decode sum is exact piece by piece: affine up to n = W, flat after it."""
    m = Model(id="w", hidden_size=512, intermediate_size=1024, num_hidden_layers=2, num_attention_heads=8,
              vocab_size=1000, sliding_window=300)
    s = Settings(seq_len=200, gen_len=250, batch=64, stage="generate")
    gen = analyze(m, GPU, s).generate
    steps = sum(analyze(m, GPU, replace(s, seq_len=200 + j - 1, stage="decode")).decode.time_s
                for j in range(1, 250))
    assert gen.decode_time_s == pytest.approx(steps, rel=1e-12)


# ------------------------------------------------------------------------------------- latent (MLA)


def test_mla_caches_the_latent_and_the_rope_key():
    """KV per token per layer = kv_lora_rank + qk_rope_head_dim = 512 + 64 values: 61 x 576 x 2 B = 70,272 B."""
    assert DEEPSEEK.kv_bytes_per_token(16) == 61 * 576 * 2
    r = analyze(DEEPSEEK, GPU, Settings(seq_len=4096, stage="decode"))
    assert r.memory.kv_cache_bytes == 61 * 4096 * 576 * 2


def test_mla_decode_runs_absorbed_over_the_latent():
    """Absorbed decode: an MQA with key width r + dr = 576 and value width r = 512 over H = 128 heads;
    ops = H*n*(2*576 + 2*512 + 5), bytes = Q (H*576*a) + O (H*512*a) + the latent read once (n*576*kv)."""
    n = 4096
    att = analyze(DEEPSEEK, GPU, Settings(seq_len=n, stage="decode")).decode.layer("attention")
    assert att.ops == 128 * n * (2 * 576 + 2 * 512 + 5)
    assert att.bytes == 128 * 576 * 2 + 128 * 512 * 2 + n * 576 * 2
    absorb = analyze(DEEPSEEK, GPU, Settings(seq_len=n, stage="decode")).decode.layer("q_absorb")
    assert absorb.ops == 2 * 128 * 128 * 512  # q_nope (128 per head) x W_UK (128 x 512 per head)


def test_mla_prefill_runs_the_naive_form():
    """Prefill up-projects the latent (kv_b_proj: 2*s*r*H*(dn + dv) ops) and runs an MHA with key width
    dn + dr = 192 and value width dv = 128: ops = H * s(s+1)/2 * (2*192 + 2*128 + 5)."""
    s = 1024
    pre = analyze(DEEPSEEK, GPU, Settings(seq_len=s, stage="prefill")).prefill
    assert pre.layer("kv_b_proj").ops == 2 * s * 512 * 128 * (128 + 128)
    assert pre.layer("attention").ops == 128 * flash_pairs(s, s) * (2 * 192 + 2 * 128 + 5)
    assert "q_absorb" not in {r.name for r in pre.layers}


def test_mla_parameters_match_deepseek_v3():
    """671B total / 37B active (model card); ours 671.0B / 37.6B with both embedding matrices."""
    assert DEEPSEEK.params_total == pytest.approx(671e9, rel=0.01)
    assert DEEPSEEK.params_active == pytest.approx(37e9, rel=0.03)


# ------------------------------------------------------------------------------------- MoE


def test_moe_reads_touched_routed_experts_plus_the_shared_one():
    """Decode, 1 token: top-8 of 256 -> 8 experts read; the shared expert always.
    gate_proj bytes = 8*h*I_e*w + 8*(h + I_e)*a; shared_up_proj bytes = h*I_s*w + (h + I_s)*a."""
    dec = analyze(DEEPSEEK, GPU, Settings(stage="decode")).decode
    h, i = 7168, 2048
    assert dec.layer("gate_proj").bytes == pytest.approx(8 * h * i * 2 + 8 * (h + i) * 2, rel=1e-12)
    assert dec.layer("shared_up_proj").bytes == h * i * 2 + (h + i) * 2
    assert (dec.layer("gate_proj").count, dec.layer("dense_gate_proj").count) == (58, 3)
    assert dec.layer("dense_gate_proj").ops == 2 * 7168 * 18432  # the dense prefix is a plain gated MLP


def test_moe_memory_holds_every_expert():
    r = analyze(DEEPSEEK, GPU, Settings(stage="decode"))
    assert r.memory.weights_bytes == pytest.approx(DEEPSEEK.params_total * 2, rel=1e-4)


def test_sinks_add_one_parameter_per_head_and_layer():
    base = dict(id="s", hidden_size=256, intermediate_size=512, num_hidden_layers=4, num_attention_heads=8,
                vocab_size=100)
    assert Model(**base, attention_sinks=True).parameters - Model(**base).parameters == 4 * 8


# ------------------------------------------------------------------------------------- old layers, bit for bit

OLD = ["llama-2-7b", "toy-gqa-8b", "toy-moe-8x7b", "toy-opt-7b", "toy-qwen2-7b"]
DEVICES = ["nvidia-a6000", "toy-fp8-gpu"]


def _numbers(res):
    out = []
    for st_ in res.stages.values():
        out += [tuple(r) for r in st_.layers] + [(st_.ops, st_.bytes, st_.time_s, st_.interconnect_bytes)]
    m = res.memory
    out.append((m.weights_bytes, m.kv_cache_bytes, m.activations_bytes))
    if res.generate is not None:
        out.append(tuple(res.generate.to_dict().values()))
    return out + [tuple(res.notes), tuple(sorted(res.formats.items()))]


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(OLD), st.sampled_from(DEVICES), st.fixed_dictionaries({
    "batch": st.integers(1, 64), "seq_len": st.integers(1, 8192), "gen_len": st.integers(1, 300),
    "w_bits": st.sampled_from([4, 8, 16]), "kv_bits": st.sampled_from([4, 8, 16]),
    "flash_attention": st.booleans(), "tp": st.sampled_from([1, 2, 4]),
    "number_format": st.sampled_from(["int", "fp"]), "quantize_head": st.booleans(),
    "stage": st.sampled_from(["all", "generate", "prefill", "decode"]),
}))
def test_the_old_layers_as_a_recipe_reproduce_the_old_calculator_to_the_last_bit(model_id, device, work):
    m, hw = model(model_id), hardware(device)
    s = Settings(**work)
    try:
        want = reference_core.analyze(m, hw, s)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)[:20]):
            analyze(m, hw, s)
        return
    assert _numbers(analyze(m, hw, s)) == _numbers(want)


# ------------------------------------------------------------------------------------- expert parallelism


def test_expert_parallelism_splits_experts_and_moves_tokens_all_to_all():
    """Mixtral, ep 2, batch 2, decode: each device runs 1 sequence; its 1 x top-2 = 2 token copies of
    h = 4096 values go all-to-all: (2-1)/2 x 2 x 4096 x 2 B = 8192 B each way; the devices hold 4 experts each
    and read expected_experts(8, 2, 2) / 2 = 8 x (1 - 0.75^2) / 2 = 1.75 of them."""
    from kb.catalogue import load_model

    m = load_model("mixtral-8x7b")
    from calculator import Hardware

    hw = Hardware(id="x", memory_bandwidth=1e12, peak_ops={"fp16": 1e15}, interconnect_bandwidth=900e9)
    r = analyze(m, hw, Settings(stage="decode", batch=2, ep=2))
    dec = r.decode
    assert dec.layer("moe_dispatch").bytes == 8192 and dec.layer("moe_combine").bytes == 8192
    assert dec.layer("moe_dispatch").time_s == 8192 / 450e9  # per direction: half the datasheet figure
    assert dec.layer("gate_proj").bytes == pytest.approx(1.75 * 4096 * 14336 * 2 + 2 * (4096 + 14336) * 2)
    full = analyze(m, hw, Settings(stage="decode", batch=2))
    experts = 32 * 8 * 3 * 4096 * 14336 * 2  # every expert of every layer, 16-bit
    assert full.memory.weights_bytes - r.memory.weights_bytes == experts / 2
    assert r.memory.kv_cache_bytes == full.memory.kv_cache_bytes / 2  # one of the two sequences per device


# ------------------------------------------------------------------------------------- linear attention (hybrid)

HYBRID = Model(id="hybrid", hidden_size=2048, intermediate_size=5120, num_hidden_layers=8, num_attention_heads=16,
               num_key_value_heads=2, head_dim=256, vocab_size=1000, linear_num_key_heads=16,
               linear_num_value_heads=32, linear_key_head_dim=128, linear_value_head_dim=128,
               linear_conv_kernel_dim=4, layer_types=("linear", "linear", "linear", "full") * 2)


def test_linear_attention_state_does_not_grow_with_the_context():
    """State per sequence and linear layer: 32 value heads x 128 x 128 + the convolution's last 3 inputs of
    2 x 16 x 128 + 32 x 128 = 8192 channels, at 2 bytes; full layers: 2 x 2 x 256 x 2 B per token."""
    state = (32 * 128 * 128 + 8192 * 3) * 2
    for n in (1024, 65536):
        r = analyze(HYBRID, GPU, Settings(seq_len=n, stage="decode"))
        assert r.memory.kv_cache_bytes == 6 * state + 2 * 2 * n * 2 * 256 * 2
    assert HYBRID.kv_bytes_per_token(16) == 2 * 2 * 2 * 256 * 2  # only the 2 full layers grow


def test_gated_deltanet_rows():
    """Decode, batch 1: in_proj_qkvz 2048 -> 2 x 2048 + 2 x 4096; the recurrence 7 dk dv ops per value head;
    the state read and written once: 2 x 32 x 128 x 128 x 2 B."""
    dec = analyze(HYBRID, GPU, Settings(stage="decode")).decode
    assert dec.layer("in_proj_qkvz").ops == 2 * 2048 * 12288 and dec.layer("in_proj_qkvz").count == 6
    att = dec.layer("linear_attention")
    assert att.ops == 7 * 32 * 128 * 128
    assert att.bytes == (2 * 2048 + 2 * 4096 + 2 * 32) * 2 + 2 * 32 * 128 * 128 * 2
    assert dec.layer("attention").count == 2 and dec.layer("q_proj").count == 2
    assert dec.layer("conv1d").ops == 2 * 8192 * 4
