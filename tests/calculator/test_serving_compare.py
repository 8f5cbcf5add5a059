"""Serving comparisons added for issue 15.8: iteration-level against request-level scheduling (Orca) and an
offloading engine at its batch against another at its own (FlexGen against ZeRO-Inference / Accelerate), the
schema fields that carry them, and the entries that use them. Hand-derived figures use explicit inputs."""

from __future__ import annotations

from dataclasses import replace
from math import ceil

import pytest
from pydantic import ValidationError

from calculator import Hardware, Model, Settings
from calculator.serving import StepModel, _largest, _max_rate, capacity, compare, offload
from calculator.spec import CalculatorError

LLAMA = Model(id="llama-2-7b", hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
              num_attention_heads=32, vocab_size=32000, max_position_embeddings=4096)
OPT175 = Model(id="opt-175b", architecture="opt", hidden_size=12288, intermediate_size=49152,
               num_hidden_layers=96, num_attention_heads=96, vocab_size=50272, max_position_embeddings=2048)
H100 = Hardware(id="h100", memory_bandwidth=3.35e12, peak_ops={"fp16": 989.5e12, "fp8": 1979e12},
                memory_bytes=80 * 2**30, interconnect_bandwidth=900e9, host_link_bandwidth=128e9)
SHAPE = Settings(seq_len=512, gen_len=128)
KV_TOKEN = 2 * 32 * 4096 * 2            # Llama-2-7b: K and V, 32 layers, 4096 wide, fp16
WEIGHTS = 6_738_415_616 * 2
ACT_512 = 512 * (4096 + 3 * 11008) * 2  # one 512-token prompt's peak prefill activations
FREE = 80 * 2**30 - WEIGHTS


# --- scheduling: iteration-level against request-level --------------------------------------------------

def test_request_level_batch_holds_and_runs_its_longest_request():
    """R = 2: a static batch of 128-token means runs 256 steps. Its capacity: 512 + 256 - 1 = 767 cached tokens,
    768 slots in blocks of 16 = 402.7e6 B, plus 38.0e6 B of prompt activations per request:
    floor(72.4e9 / 440.7e6) = 164 requests. It delivers b x 128 tokens in prefill(b) + 255 decode steps."""
    out = compare(LLAMA, H100, SHAPE, {"scheduling": "iteration", "longest_output_ratio": 2.0})
    d = out["details"]
    assert d["longest_gen_len"] == 256
    b = FREE // (768 * KV_TOKEN + ACT_512)
    assert b == 164 and d["baseline"]["max_batch"] == b and d["baseline"]["batch"] == b
    step = StepModel(LLAMA, H100, SHAPE)
    by_hand = b * 128 / (step.prefill(b, 512) + step.decode_total(b, 512, 256))
    assert out["baseline"] == pytest.approx(by_hand, rel=1e-12)
    # the method: continuous batching with whole prompts, its highest sustainable rate x 128 tokens
    cap = capacity(LLAMA, H100, SHAPE, step=step, prefill_tokens=512)
    assert out["method"] == pytest.approx(_max_rate(step, 512, 128, 512 << 20, cap.max_batch) * 128)
    assert out["gain"] == pytest.approx(out["method"] / out["baseline"]) and out["gain"] == pytest.approx(1.913, abs=0.002)


def test_longer_tails_cost_only_the_request_level_batch():
    one = compare(LLAMA, H100, SHAPE, {"scheduling": "iteration", "longest_output_ratio": 1.0})
    two = compare(LLAMA, H100, SHAPE, {"scheduling": "iteration", "longest_output_ratio": 2.0})
    assert one["method"] == pytest.approx(two["method"])
    assert two["baseline"] < one["baseline"] and two["gain"] > one["gain"]


def test_a_ttft_limit_caps_the_static_batch_at_its_prefill():
    """A static batch's first token waits for the whole batch's prefill: under a 0.1 s TTFT the batch is the
    largest b with prefill(b, 512) <= 0.1 s (about 14 prompts of 6.9 ms each, compute-bound)."""
    out = compare(LLAMA, H100, SHAPE, {"scheduling": "iteration", "longest_output_ratio": 1.5, "ttft_limit": 0.1})
    step = StepModel(LLAMA, H100, SHAPE)
    b = out["details"]["baseline"]["batch"]
    assert step.prefill(b, 512) <= 0.1 < step.prefill(b + 1, 512)
    assert b == _largest(lambda n: step.prefill(n, 512) <= 0.1, 10_000) and 10 <= b <= 16
    assert out["details"]["baseline"]["ttft_s"] <= 0.1


@pytest.mark.parametrize("effect, words", [
    ({"scheduling": "request"}, "scheduling must be 'iteration'"),
    ({"scheduling": "iteration", "longest_output_ratio": 0.5}, "longest_output_ratio must be from 1"),
])
def test_scheduling_refuses_what_it_cannot_compare(effect, words):
    with pytest.raises(CalculatorError, match=words):
        compare(LLAMA, H100, SHAPE, effect)


# --- offload: an engine at its batch against another at its own -----------------------------------------

def test_offload_compare_by_hand():
    """OPT-175B on one 80 GiB H100, prompt 512, 32 out. Baseline batch 1: the share of the weights that does not fit
    streams over 64e9 B/s each step. Method batch 64 with attention on the host: the cache stays in host memory and
    only the weights cross, so its step costs about the baseline's while it serves 64 sequences."""
    s = Settings(seq_len=512, gen_len=32)
    out = compare(OPT175, H100, s, {"offload": True, "batch": 64, "baseline_batch": 1, "host_attention": True})
    d = out["details"]
    base, meth = offload(OPT175, H100, replace(s, batch=1)), offload(OPT175, H100, replace(s, batch=64),
                                                                      host_attention=True)
    step = StepModel(OPT175, H100, s)
    W = step.weights_bytes
    # the method's cache (64 x 543 tokens x 4.72e6 B = 164e9 B) and activations push all weights out too
    assert meth["weights_fraction"] == 1.0 and meth["kv_fraction"] > 0.5
    assert meth["host_tpot_s"] == pytest.approx(W / 64e9)  # no cache byte crosses the link
    assert base["host_tpot_s"] == pytest.approx(base["weights_fraction"] * W / 64e9)
    assert d["baseline"]["tpot_s"] == base["tpot_s"] and d["method"]["tpot_s"] == meth["tpot_s"]
    e2e = lambda o: o["ttft_s"] + 31 * o["tpot_s"]  # noqa: E731
    assert out["baseline"] == pytest.approx(32 / e2e(base))
    assert out["method"] == pytest.approx(64 * 32 / e2e(meth))
    assert out["gain"] == pytest.approx(64 * e2e(base) / e2e(meth)) and 20 < out["gain"] < 64
    # streaming the cache too (no host attention) moves 64 x 527 x 4.72e6 B more per step: a smaller gain
    moved = compare(OPT175, H100, s, {"offload": True, "batch": 64, "baseline_batch": 1})
    assert moved["gain"] < out["gain"]


def test_offload_over_a_stated_tier_uses_its_bandwidth():
    """A 2 GB/s flash tier instead of the host link: host time = f_w x W / 2e9 per step (a 1 TB device, so the
    stated shares are all that streams)."""
    s = Settings(seq_len=128, gen_len=16)
    big = replace(H100, memory_bytes=1e12)
    out = compare(OPT175, big, s, {"offload": True, "batch": 1, "baseline_batch": 1, "weights_fraction": 0.1,
                                    "baseline_weights_fraction": 0.5, "link_bandwidth_gb_s": 2})
    W = StepModel(OPT175, big, s).weights_bytes
    assert out["details"]["link_bandwidth"] == 2e9
    assert out["details"]["method"]["tpot_s"] == pytest.approx(0.1 * W / 2e9)
    assert out["details"]["baseline"]["tpot_s"] == pytest.approx(0.5 * W / 2e9)
    assert out["details"]["tpot_gain"] == pytest.approx(5.0)


def test_offload_compare_without_a_host_link():
    no_link = replace(H100, host_link_bandwidth=0)
    fits = compare(LLAMA, no_link, SHAPE, {"offload": True, "batch": 2, "baseline_batch": 1})
    assert fits["details"]["method"]["weights_fraction"] == 0 and fits["gain"] > 1
    with pytest.raises(CalculatorError, match="no host link bandwidth"):
        compare(OPT175, no_link, Settings(seq_len=512, gen_len=32), {"offload": True, "batch": 2})
    with pytest.raises(CalculatorError, match="batch must be an integer"):
        compare(LLAMA, H100, SHAPE, {"offload": True, "batch": 0})


# --- the schema and the entries -----------------------------------------------------------------------

def test_serving_effect_schema_takes_the_new_modes():
    from kb.schema import ServingEffect

    assert ServingEffect(kind="serving", scheduling="iteration", longest_output_ratio=2).scheduling == "iteration"
    assert ServingEffect(kind="serving", offload=True, batch=256, baseline_batch=2, host_attention=True).batch == 256
    with pytest.raises(ValidationError, match="prefill_tp has no meaning with offload"):
        ServingEffect(kind="serving", offload=True, prefill_tp=2)
    with pytest.raises(ValidationError, match="batch has no meaning with scheduling"):
        ServingEffect(kind="serving", scheduling="iteration", batch=4)
    with pytest.raises(ValidationError, match="exactly one of"):
        ServingEffect(kind="serving", scheduling="iteration", offload=True)


def test_entries_with_the_new_modes_analyse():
    """Orca, FlexGen and vAttention pages show their comparisons; FlexGen's headline claim gets a bound from the
    offload comparison at the paper's batches (256 against Accelerate's 2, Table 2)."""
    from pathlib import Path

    from kb.analysis import Catalogue, analyze_kb, claim_check
    from kb.load import load

    kb = load(Path(__file__).resolve().parents[2])
    out = analyze_kb(kb, ["orca", "flexgen", "vattention"])
    for method_id, a in out.items():
        assert a.serving and not any(c.get("error") for c in a.serving), method_id
    cat = Catalogue(kb)
    flexgen = kb.methods["flexgen"]
    first = claim_check(cat, flexgen, flexgen.claims[0], kb.methods, kb.scenarios)
    assert first["predicted"] is not None and 30 < first["predicted"] < 128
    assert "what does not fit at batch 256 with attention on the host against what does not fit at batch 2" in first["setting"]
    vatt = kb.methods["vattention"]
    assert claim_check(cat, vatt, vatt.claims[0], kb.methods, kb.scenarios)["predicted"] == pytest.approx(1.0, abs=0.01)


# --- expected values beside the bounds in the serve summary (issue 16.4) --------------------------------

def test_serve_summary_carries_expected_values_beside_the_bounds(capsys):
    import json

    from calculator.cli import main
    from calculator.expected import expected_generate
    from calculator import analyze
    from kb.catalogue import load_hardware, load_model

    argv = ["--model", "llama-2-7b", "--hardware", "nvidia-h100-sxm", "--stage", "serve", "--seq-len", "512",
            "--gen-len", "128"]
    assert main(argv + ["--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ex, bound = out["expected"], out["curve"]["points"]
    assert [p["batch"] for p in ex["points"]] == [p["batch"] for p in bound]
    for e, b in zip(ex["points"], bound):
        assert e["ttft_s"] >= b["ttft_s"] * (1 - 1e-9) and e["tpot_s"] >= b["tpot_s"] * (1 - 1e-9)
        assert e["tokens_per_s_per_device"] <= b["tokens_per_s_per_device"] * (1 + 1e-9)
    # the value at batch 8 is expected_generate of the analysis at batch 8
    m, hw = load_model("llama-2-7b"), load_hardware("nvidia-h100-sxm")
    gen = expected_generate(analyze(m, hw, Settings(batch=8, seq_len=512, gen_len=128, stage="all")))
    at8 = next(p for p in ex["points"] if p["batch"] == 8)
    assert at8["tpot_s"] == pytest.approx(gen["time_per_output_token_s"])
    assert at8["tokens_per_s_per_device"] == pytest.approx(gen["tokens_per_s"])
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "exp TPOT" in table and "bound, then expected" in table


def test_a_decode_speedup_of_an_offload_entry_is_its_tpot_ratio():
    """LLM in a flash on an RTX 4090: both sides are bound by the 6.44 GB/s flash read, the naive side reading
    every weight per token and the method 1.55% of them, so the bound on the decode speedup is 1 / 0.0155 = 64.5."""
    from pathlib import Path

    from kb.analysis import Catalogue, claim_check
    from kb.load import load

    kb = load(Path(__file__).resolve().parents[2])
    m = kb.methods["llm-in-a-flash"]
    got = claim_check(Catalogue(kb), m, m.claims[0], kb.methods, kb.scenarios)
    assert got["metric"] == "decode_speedup" and got["predicted"] == pytest.approx(1 / 0.0155, rel=1e-6)
    assert got["claimed"] < got["predicted"]  # within the bound


# --- pipeline parallelism in the SLA search (issue 15.6) -------------------------------------------------

def test_search_pipeline_stages_by_hand():
    """Llama-2-7b on H100s, tp 1 x pp 2, batch 64 as two microbatches of 32: the pipeline fills and drains over
    3 stage-times of a 32-prompt prefill, and each decode round runs both microbatches through both stages, so
    TPOT = 2 x (T_step(32) / 2) = T_step(32) (the 32 x 4096 x 2 B hop at 450e9 B/s is far shorter)."""
    from calculator.search import search
    from calculator.serving import curve

    out = search(LLAMA, H100, SHAPE, tps=[1], pps=[1, 2], weight_formats=["w16a16"], kv_formats=["kv16"],
                 keep_points=True)
    pts = {(p["pp"], p["batch"]): p for p in out["points"]}
    half = curve(LLAMA, H100, SHAPE, batches=[32])["points"][0]
    p = pts[(2, 64)]
    assert p["devices"] == 2
    assert p["ttft_s"] == pytest.approx(3 * half["ttft_s"] / 2, rel=1e-9)
    assert p["tpot_s"] == pytest.approx(half["tpot_s"], rel=1e-9)
    assert p["tokens_per_s_per_device"] == pytest.approx(64 * 128 / (p["ttft_s"] + 127 * p["tpot_s"]) / 2, rel=1e-9)
    # pp = 1 points are the curve's, unchanged
    one = curve(LLAMA, H100, SHAPE, batches=[64])["points"][0]
    assert pts[(1, 64)]["tpot_s"] == pytest.approx(one["tpot_s"], rel=1e-12)
    # two stages hold twice the memory: the batch limit grows past one device's 193
    assert max(b for pp, b in pts if pp == 2) > 193 == max(b for pp, b in pts if pp == 1)
    assert min(b for pp, b in pts if pp == 2) == 2  # at least one sequence per microbatch


def test_search_pipeline_refuses_and_skips():
    from calculator.search import search

    with pytest.raises(CalculatorError, match="pp must be an integer"):
        search(LLAMA, H100, SHAPE, pps=[0])
    out = search(LLAMA, replace(H100, interconnect_bandwidth=0), SHAPE, tps=[1], pps=[2], weight_formats=["w16a16"],
                 kv_formats=["kv16"])
    assert out["evaluated"] == 0 and "pipeline stages" in out["skipped"][0]["reason"]


def test_cli_search_takes_pipeline_stages(capsys):
    import json

    from calculator.cli import main

    argv = ["search", "--model", "llama-2-70b", "--hardware", "nvidia-h100-sxm", "--seq-len", "512", "--gen-len",
            "128", "--tp", "1,2", "--pp", "1,2,4", "--weights", "w16a16", "--kv", "kv16", "--format", "json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert {p["pp"] for p in out["front"]} <= {1, 2, 4} and all(p["devices"] == p["tp"] * p["pp"] for p in out["front"])
    assert any(p["pp"] > 1 for p in out["front"])  # 70B fits one H100 only as stages: tp 1 x pp 2 or 4
    assert main(argv[:-2] + ["--pp", "0"]) == 2
    assert "--pp takes integers" in capsys.readouterr().err
