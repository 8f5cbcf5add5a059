"""Serving (issue 15): capacity, the throughput-latency curve, continuous batching, disaggregation, offloading,
the SLA search and their CLI. Hand-derived figures use explicit inputs (not the catalogue, which moves);
the check against published serving throughput reads kb/ and /work/shared/measured/points.csv."""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import replace
from pathlib import Path

import pytest

from calculator import Hardware, Model, Settings, analyze, flash_pairs
from calculator.cli import main
from calculator.search import pareto_front, search
from calculator.serving import (
    StepModel, _pools, _steady, capacity, continuous, curve, disaggregated, knee, offload, serve,
)
from calculator.spec import CalculatorError
from tests.calculator.conftest import ROOT

LLAMA = Model(id="llama-2-7b", hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
              num_attention_heads=32, vocab_size=32000, max_position_embeddings=4096)
H100 = Hardware(id="h100", memory_bandwidth=3.35e12, peak_ops={"fp16": 989.5e12, "fp8": 1979e12},
                memory_bytes=80 * 2**30, interconnect_bandwidth=900e9, host_link_bandwidth=128e9)
SHAPE = Settings(seq_len=512, gen_len=128)
KV_TOKEN = 2 * 32 * 4096 * 2            # K and V, 32 layers, 4096 wide, fp16: 524,288 B per token
WEIGHTS = 6_738_415_616 * 2             # Llama-2-7b parameters at 2 B
ACT_512 = 512 * (4096 + 3 * 11008) * 2  # residual + gate, up and product of one 512-token prompt
FREE = 80 * 2**30 - WEIGHTS


# --- the step model is the analysis --------------------------------------------------------------------

@pytest.mark.parametrize("model_id, settings", [
    ("llama-2-7b", {}), ("llama-2-7b", {"tp": 2}), ("toy-gqa-8b", {"kv_bits": 8}),
    ("toy-moe-8x7b", {}), ("toy-opt-7b", {"flash_attention": False}), ("toy-qwen2-7b", {"w_bits": 4, "group_size": 128}),
])
def test_step_model_equals_analyze(model_id, settings):
    from tests.calculator.conftest import hardware, model

    m, hw = model(model_id), hardware("nvidia-a6000")
    s = Settings(**settings)
    step = StepModel(m, hw, s)
    rng = random.Random(7)
    for _ in range(12):
        b, c, g = rng.randint(1, 200), rng.randint(1, 6000), rng.randint(2, 200)
        r = analyze(m, hw, replace(s, batch=b, seq_len=c, gen_len=g, stage="all"))
        assert step.decode_step(b, c) == pytest.approx(r.decode.time_s, rel=1e-9)
        assert step.prefill(b, c) == pytest.approx(r.prefill.time_s, rel=1e-9)
        assert step.decode_total(b, c, g) == pytest.approx(r.generate.decode_time_s, rel=1e-9)


@pytest.mark.parametrize("model_id, settings", [
    ("gemma-3-12b", {}), ("gpt-oss-20b", {"tp": 2}), ("deepseek-v3", {"tp": 8}), ("gemma-3-4b", {"flash_attention": False}),
])
def test_step_model_equals_analyze_for_windows_and_mla(model_id, settings):
    """Sliding-window layers (their rows stop growing at the window) and MLA (another prefill than decode),
    from the real catalogue; contexts on both sides of the window, requests that cross it."""
    from kb.catalogue import UnknownIdError, load_hardware, load_model

    try:
        root = str(Path(__file__).resolve().parents[2] / "kb")
        m, hw = load_model(model_id, root), load_hardware("nvidia-h100-sxm", root)
    except UnknownIdError:
        pytest.skip(f"{model_id} is not in the catalogue")
    s = Settings(**settings)
    step = StepModel(m, hw, s)
    window = getattr(m, "sliding_window", 0) or 0
    rng = random.Random(11)
    cases = [(rng.randint(1, 64), rng.randint(1, 9000), rng.randint(2, 400)) for _ in range(8)]
    if window:
        cases += [(3, window - 20, 60), (2, window, 5), (1, window + 1, 3), (4, 2 * window, 30)]
    for b, c, g in cases:
        r = analyze(m, hw, replace(s, batch=b, seq_len=c, gen_len=g, stage="all"))
        assert step.decode_step(b, c) == pytest.approx(r.decode.time_s, rel=1e-9), (b, c)
        assert step.prefill(b, c) == pytest.approx(r.prefill.time_s, rel=1e-9), (b, c)
        assert step.decode_total(b, c, g) == pytest.approx(r.generate.decode_time_s, rel=1e-9), (b, c, g)
        assert step.kv_bytes(c) * b == pytest.approx(r.memory.kv_cache_bytes, rel=1e-12)


def test_rows_that_fit_no_form_are_looked_up(monkeypatch):
    """The fallback for a row neither affine nor of the expert form: cached analyses per token count."""
    from tests.calculator.conftest import hardware, model

    monkeypatch.setattr(StepModel, "_fit_experts", lambda self, *rows: None)
    m, hw = model("toy-moe-8x7b"), hardware("nvidia-a6000")
    step = StepModel(m, hw, Settings())
    assert len(step.tabulated) == 3 and not step.expert_rows
    for b, c, g in ((1, 100, 5), (37, 900, 40)):
        r = analyze(m, hw, Settings(batch=b, seq_len=c, gen_len=g))
        assert step.decode_step(b, c) == pytest.approx(r.decode.time_s, rel=1e-9)
        assert step.prefill(b, c) == pytest.approx(r.prefill.time_s, rel=1e-6)
        assert step.decode_total(b, c, g) == pytest.approx(r.generate.decode_time_s, rel=1e-9)


def test_decode_step_by_hand():
    """Every decode row at batch 1 is memory-bound: the step is the bytes read over the bandwidth. Linear
    weights 202,375,168 x 32 x 2 B + lm_head 262,144,000 B; activations 304,128 B per layer + 72,192 B at
    lm_head; the cache 524,288 B per token."""
    step = StepModel(LLAMA, H100, SHAPE)
    fixed = 202_375_168 * 32 * 2 + 262_144_000 + 304_128 * 32 + 72_192
    assert step.decode_step(1, 1024) == pytest.approx((fixed + KV_TOKEN * 1024) / 3.35e12, rel=1e-12)
    # tpot over 512 prompt + 128 out: contexts 512..638, mean 575, still memory-bound
    point = curve(LLAMA, H100, SHAPE, batches=[1])["points"][0]
    assert point["tpot_s"] == pytest.approx((fixed + KV_TOKEN * 575) / 3.35e12, rel=1e-12)
    assert point["tpot_s"] == pytest.approx(4.0374365e-3, rel=1e-6)
    assert point["tokens_per_s_per_device"] == pytest.approx(128 / (point["ttft_s"] + 127 * point["tpot_s"]))
    assert point["decode_bound"] == "memory"


# --- capacity ------------------------------------------------------------------------------------------

def test_capacity_by_hand_paged():
    """640 slots (40 blocks of 16) for the 639 cached tokens: (335,544,320 + 38,010,880) B a request."""
    cap = capacity(LLAMA, H100, SHAPE)
    assert cap.weights_bytes == WEIGHTS
    assert cap.kv_tokens_allocated == 640 and cap.kv_bytes_per_sequence == 640 * KV_TOKEN
    assert cap.max_batch == FREE // (640 * KV_TOKEN + ACT_512) == 193


def test_capacity_by_hand_reserve():
    """Reserving the model's 4096 positions per request (as servers without paging do): 33 requests."""
    cap = capacity(LLAMA, H100, SHAPE, allocator="reserve")
    assert cap.kv_tokens_allocated == 4096
    assert cap.max_batch == FREE // (4096 * KV_TOKEN + ACT_512) == 33
    assert cap.waste_fraction == pytest.approx(1 - 639 / 4096)


def test_allocator_changes_capacity_as_pagedattention_describes():
    """PagedAttention: a sequence wastes at most one partly filled block, so the paged capacity grows as the
    blocks shrink and reaches the exact-fit capacity at block size 1; a reservation of the maximum length
    wastes the whole unused reservation, so it holds fewer requests, the more so the shorter the requests."""
    exact = capacity(LLAMA, H100, SHAPE, block_size=1)
    assert exact.max_batch == FREE // (639 * KV_TOKEN + ACT_512) == 194 and exact.waste_fraction == 0
    sizes = [1, 8, 16, 32, 64, 128, 256]
    caps = [capacity(LLAMA, H100, SHAPE, block_size=s) for s in sizes]
    assert [c.max_batch for c in caps] == sorted((c.max_batch for c in caps), reverse=True)
    for s, c in zip(sizes, caps):
        assert c.kv_tokens_allocated - c.kv_tokens_per_sequence < s  # less than one block wasted
    assert capacity(LLAMA, H100, SHAPE, block_size=256).max_batch == FREE // (768 * KV_TOKEN + ACT_512) == 164
    reserve = capacity(LLAMA, H100, SHAPE, allocator="reserve")
    assert reserve.max_batch < caps[2].max_batch
    longer = Settings(seq_len=2048, gen_len=2048)  # 4095 tokens: the reservation of 4096 is nearly all used
    assert capacity(LLAMA, H100, longer, allocator="reserve").max_batch == capacity(LLAMA, H100, longer).max_batch


def test_chunked_prefill_budget_frees_activation_memory():
    static = capacity(LLAMA, H100, SHAPE)
    chunked = capacity(LLAMA, H100, SHAPE, prefill_tokens=512)
    assert chunked.max_batch == (FREE - ACT_512) // (640 * KV_TOKEN) == 215 > static.max_batch


def test_longest_context_at_a_batch():
    cap = capacity(LLAMA, H100, replace(SHAPE, batch=8))
    n = cap.longest_context
    per_token = KV_TOKEN + (4096 + 3 * 11008) * 2  # cache + prompt activations, per token of each sequence
    slots = lambda tokens: -(-tokens // 16) * 16  # noqa: E731
    assert WEIGHTS + 8 * (KV_TOKEN * slots(n) + n * (4096 + 3 * 11008) * 2) <= 80 * 2**30
    assert WEIGHTS + 8 * (KV_TOKEN * slots(n + 1) + (n + 1) * (4096 + 3 * 11008) * 2) > 80 * 2**30
    assert n == pytest.approx(FREE / 8 / per_token, abs=16)


def test_memory_fraction_and_unknown_capacity():
    assert capacity(LLAMA, H100, SHAPE, memory_fraction=0.9).max_batch == \
        int((0.9 * 80 * 2**30 - WEIGHTS) // (640 * KV_TOKEN + ACT_512))
    unknown = replace(H100, memory_bytes=0)
    cap = capacity(LLAMA, unknown, SHAPE)
    assert cap.max_batch is None and "no memory capacity" in cap.notes[0]


@pytest.mark.parametrize("options, words", [
    ({"allocator": "buddy"}, "allocator must be one of paged, reserve"),
    ({"block_size": 0}, "block_size must be an integer"),
    ({"memory_fraction": 1.5}, "memory_fraction must be above 0"),
    ({"max_seq_len": -3}, "max_seq_len must be a positive integer"),
])
def test_capacity_refuses_bad_options(options, words):
    with pytest.raises(CalculatorError, match=words):
        capacity(LLAMA, H100, SHAPE, **options)


# --- the curve -----------------------------------------------------------------------------------------

CASES = [("llama-2-7b", {}), ("toy-gqa-8b", {"kv_bits": 8}), ("toy-moe-8x7b", {"w_bits": 4}),
         ("toy-opt-7b", {"flash_attention": False})]


@pytest.mark.parametrize("model_id, settings", CASES)
def test_throughput_never_falls_and_tpot_never_falls_as_batch_grows(model_id, settings):
    from tests.calculator.conftest import hardware, model

    m, hw = model(model_id), hardware("nvidia-a6000")
    for prompt, gen in ((128, 32), (1024, 256), (3000, 8)):
        s = Settings(seq_len=prompt, gen_len=gen, **settings)
        cv = curve(m, hw, s, batches=None)
        points = cv["points"]
        limit = cv["max_batch"]
        assert points and points[-1]["batch"] == limit  # the curve ends at the capacity limit
        dense = curve(m, hw, s, batches=list(range(1, limit + 1)))["points"]
        for a, b in zip(dense, dense[1:]):
            assert b["tokens_per_s_per_device"] >= a["tokens_per_s_per_device"] * (1 - 1e-12)
            assert b["decode_tokens_per_s_per_device"] >= a["decode_tokens_per_s_per_device"] * (1 - 1e-12)
            assert b["tpot_s"] >= a["tpot_s"] * (1 - 1e-12)
            assert b["ttft_s"] >= a["ttft_s"] * (1 - 1e-12)


def test_knee_is_where_the_decode_step_turns_compute_bound():
    """GQA with an 8-bit cache at a short context: the aggregate decode step crosses; the weight-streaming
    rows of Llama-2-7b cross a little above the ridge point 989.5e12 / 3.35e12 = 295 (activation traffic)."""
    from tests.calculator.conftest import hardware, model

    step = StepModel(LLAMA, H100, SHAPE)
    kw = knee(step, 512, 128, weights_only=True)
    assert 295 < kw < 400
    mid = 512 + 63
    comp, mem = step.split(kw, kw, kw * mid, kw * mid, True)
    assert comp >= mem
    comp, mem = step.split(kw - 1, kw - 1, (kw - 1) * mid, (kw - 1) * mid, True)
    assert comp < mem
    # multi-head attention: the cache reads grow as fast as compute, the whole step never crosses
    assert knee(step, 512, 128) is None
    gqa = StepModel(model("toy-gqa-8b"), hardware("nvidia-a6000"), Settings(seq_len=64, gen_len=2, kv_bits=8))
    k = knee(gqa, 64, 2)
    assert k is not None
    assert gqa.split(k, k, k * 64, k * 64)[0] >= gqa.split(k, k, k * 64, k * 64)[1]


def test_curve_points_equal_analyze():
    for b in (1, 7, 64):
        point = curve(LLAMA, H100, SHAPE, batches=[b])["points"][0]
        gen = analyze(LLAMA, H100, replace(SHAPE, batch=b, stage="generate")).generate
        assert point["ttft_s"] == pytest.approx(gen.ttft_s, rel=1e-9)
        assert point["tpot_s"] == pytest.approx(gen.time_per_output_token_s, rel=1e-9)
        assert point["tokens_per_s_per_device"] == pytest.approx(gen.tokens_per_s, rel=1e-9)


# --- continuous batching -------------------------------------------------------------------------------

class _Flat:
    """A server whose every iteration costs 20 ms, whatever its mix (the docstring's example)."""

    devices = 1

    def time(self, tokens, seqs, pairs, kv, wpairs=None, wkv=None):
        return 0.02

    def pairs(self, q, n, window=False):
        return flash_pairs(q, n)

    def reads(self, q, n, window=False):
        return n

    def decode_counts(self, batch, context):
        return (batch, batch, batch * context, batch * context, batch * context, batch * context)


def test_continuous_batching_by_hand():
    s = _steady(_Flat(), 512, 129, 10.0, 512, None)
    assert s["sustainable"] and s["iteration_s"] == pytest.approx(0.02)
    assert s["decodes_per_iteration"] == pytest.approx(10 * 0.02 * 128)       # 25.6
    assert s["prefill_tokens_per_iteration"] == pytest.approx(10 * 0.02 * 512)  # 102.4
    assert s["chunk_tokens"] == 486                                             # 512 - 25.6, rounded down
    assert s["ttft_s"] == pytest.approx(0.01 + 2 * 0.02) and s["tpot_s"] == pytest.approx(0.02)
    # saturation: 0.02 s x rate x (512 + 128) tokens fill the budget of 512 at 40 requests/s
    assert _steady(_Flat(), 512, 129, 39.9, 512, None)["sustainable"]
    assert not _steady(_Flat(), 512, 129, 40.1, 512, None)["sustainable"]


def test_continuous_batching_on_a_model():
    low = continuous(LLAMA, H100, SHAPE, 1.0)
    high = continuous(LLAMA, H100, SHAPE, 30.0)
    assert low["sustainable"] and high["sustainable"]
    assert high["tpot_s"] > low["tpot_s"] > StepModel(LLAMA, H100, SHAPE).decode_step(1, 512) * 0.99
    assert high["concurrent"] > low["concurrent"]
    top = low["max_rate"]
    assert continuous(LLAMA, H100, SHAPE, top * 0.99)["sustainable"]
    assert not continuous(LLAMA, H100, SHAPE, top * 1.02)["sustainable"]
    with pytest.raises(CalculatorError, match="token_budget"):
        continuous(LLAMA, H100, SHAPE, 1.0, token_budget=0)


# --- disaggregation ------------------------------------------------------------------------------------

def test_pools_by_hand():
    pools = _pools(20.0, 5.0, 1, 1)
    assert (pools["prefill_instances"], pools["decode_instances"]) == (1, 4)
    assert pools["requests_per_s_per_device"] == pytest.approx(4.0)
    assert pools["prefill_device_share"] == pytest.approx(0.2)


def test_disaggregated_goodput_is_the_device_seconds_of_both_pools():
    d = disaggregated(LLAMA, H100, SHAPE, ttft_limit=0.5, tpot_limit=0.03)
    r_p, r_d = d["prefill"]["requests_per_s"], d["decode"]["requests_per_s"]
    assert d["goodput_requests_per_s_per_device"] == pytest.approx(1 / (1 / r_p + 1 / r_d))
    assert d["prefill"]["ttft_s"] <= 0.5 and d["decode"]["tpot_s"] <= 0.03
    kv = 512 * KV_TOKEN * d["prefill"]["batch"]
    assert d["prefill"]["kv_transfer_s"] == pytest.approx(kv / 450e9)  # half the 900 GB/s both-ways figure
    assert d["colocated_tokens_per_s_per_device"] > 0
    tight = disaggregated(LLAMA, H100, SHAPE, ttft_limit=1e-4, tpot_limit=0.03)
    assert tight["goodput_requests_per_s_per_device"] == 0 and tight["prefill"]["batch"] == 0


# --- offloading ----------------------------------------------------------------------------------------

OPT175 = Model(id="opt-175b", architecture="opt", hidden_size=12288, intermediate_size=49152,
               num_hidden_layers=96, num_attention_heads=96, vocab_size=50272, max_position_embeddings=2048)


def test_offload_by_hand():
    s = Settings(batch=1, seq_len=512, gen_len=32)
    out = offload(OPT175, H100, s)
    step = StepModel(OPT175, H100, s)
    W = step.weights_bytes
    kv = 543 * step.kv_token_bytes
    f = (W + kv + step.activation_bytes(512) - 80 * 2**30) / W
    assert out["weights_fraction"] == pytest.approx(f) and out["kv_fraction"] == 0
    assert out["resident_bytes"] == pytest.approx(80 * 2**30)
    assert out["host_tpot_s"] == pytest.approx(f * W / 64e9)
    assert out["tpot_s"] == pytest.approx(max(out["device_tpot_s"], out["host_tpot_s"]))
    assert out["bound"] == "host link" and 4.0 < out["tpot_s"] < 4.3  # ~266e9 B at 64e9 B/s
    serial = offload(OPT175, H100, s, overlap=False)
    assert serial["tpot_s"] == pytest.approx(out["device_tpot_s"] + out["host_tpot_s"])
    assert offload(LLAMA, H100, SHAPE)["weights_fraction"] == 0  # it fits: nothing streams
    with pytest.raises(CalculatorError, match="no host link bandwidth"):
        offload(LLAMA, replace(H100, host_link_bandwidth=0), SHAPE)


# --- search --------------------------------------------------------------------------------------------

def test_search_agrees_with_the_curve_and_picks_the_cheapest():
    out = search(LLAMA, H100, SHAPE, ttft_limit=1.0, tpot_limit=0.02, tps=[1, 2], keep_points=True)
    points = out["points"]
    assert out["evaluated"] == len(points) > 100
    fp16 = {p["batch"]: p for p in points if p["tp"] == 1 and p["weights"] == "w16a16" and p["kv"] == "kv16"}
    for b in (1, 64, 193):
        ref = curve(LLAMA, H100, SHAPE, batches=[b])["points"][0]
        assert fp16[b]["tpot_s"] == pytest.approx(ref["tpot_s"], rel=1e-12)
        assert fp16[b]["ttft_s"] == pytest.approx(ref["ttft_s"], rel=1e-12)
        assert fp16[b]["tokens_per_s_per_device"] == pytest.approx(ref["tokens_per_s_per_device"], rel=1e-12)
    assert max(fp16) == 193  # every batch up to the capacity limit
    meets = [p for p in points if p["ttft_s"] <= 1.0 and p["tpot_s"] <= 0.02]
    best = max(p["tokens_per_s_per_device"] for p in meets)
    assert out["best"]["tokens_per_s_per_device"] == best and out["best"]["meets_limits"]
    front = out["front"]
    for p in points:  # nothing beats a front point on both axes
        for f in front:
            assert not (p["tokens_per_s_per_user"] > f["tokens_per_s_per_user"]
                        and p["tokens_per_s_per_device"] > f["tokens_per_s_per_device"])


def test_pareto_front_by_hand():
    rows = [(10, 1, "a"), (5, 5, "b"), (4, 4, "c"), (1, 10, "d"), (5, 3, "e")]
    assert [r[2] for r in pareto_front(rows)] == ["a", "b", "d"]


def test_search_skips_what_cannot_run():
    out = search(LLAMA, replace(H100, interconnect_bandwidth=0), SHAPE, tps=[1, 2], weight_formats=["w16a16"],
                 kv_formats=["kv16"])
    assert out["skipped"] and "interconnect" in out["skipped"][0]["reason"]
    with pytest.raises(CalculatorError, match="unknown weight format 'w3'"):
        search(LLAMA, H100, SHAPE, weight_formats=["w3"])


# --- published max-load throughput never beats the bound ---------------------------------------------

POINTS = Path("/work/shared/measured/points.csv")
KB = Path(__file__).resolve().parents[2] / "kb"
# The table says "LLaMA 7B" and "LLaMA 70B"; its methodology section names the engines Llama2-7b and Llama2-70b,
# built with --enable_fp8 --fp8_kv_cache on H100 (docs/source/performance.md at 138f96d).
MODEL_IDS = {"llama-7b": "llama-2-7b", "llama-70b": "llama-2-70b"}
DEVICE_IDS = {"nvidia-h100-sxm": "nvidia-h100-sxm", "nvidia-a100-80gb-sxm": "nvidia-a100-80gb",
              "nvidia-l40s": "nvidia-l40s"}


def _published():
    if not POINTS.exists():
        return []
    rows = []
    for row in csv.DictReader(POINTS.open()):
        if row["metric"] != "throughput_tokens_per_s" or "TensorRT-LLM" not in row["framework"]:
            continue
        device, tp = row["hardware"], 1
        if "-x" in device:
            device, tp = device.rsplit("-x", 1)
            tp = int(tp)
        if row["model"] in MODEL_IDS and device in DEVICE_IDS:
            rows.append((MODEL_IDS[row["model"]], DEVICE_IDS[device], tp, row))
    return rows


@pytest.mark.skipif(not _published(), reason="no published serving throughput rows")
def test_published_max_load_throughput_never_beats_the_bound():
    """TensorRT-LLM's peak-throughput table (output tokens/s per GPU, prefill included): each figure sits
    below the capacity-limited bound (the curve at our capacity limit), and its batch fits our capacity.
    FP8 rows are W8A8 with an FP8 cache, as the engines were built (--enable_fp8 --fp8_kv_cache)."""
    from kb.catalogue import load_hardware, load_model

    ratios = []
    for model_id, device_id, tp, row in _published():
        m, hw = load_model(model_id, str(KB)), load_hardware(device_id, str(KB))
        fmt = {"w_bits": 8, "a_bits": 8, "kv_bits": 8, "number_format": "fp"} if row["precision"] == "fp8" else {}
        s = Settings(seq_len=int(row["prompt_len"]), gen_len=int(row["gen_len"]), tp=tp, **fmt)
        step = StepModel(m, hw, s)
        cap = capacity(m, hw, s, step=step)
        batch = int(row["batch"])
        assert batch <= cap.max_batch, (row["source_location"], batch, cap.max_batch)
        bound = curve(m, hw, s, step=step, cap=cap, batches=[cap.max_batch])["points"][0]["tokens_per_s_per_device"]
        measured = float(row["value"])
        assert measured <= bound, (model_id, device_id, tp, batch, measured, bound)
        ratios.append(measured / bound)
    assert len(ratios) >= 10
    assert 0.1 < min(ratios) and max(ratios) < 0.9  # docs/roofline.md, "Serving", quotes this range


# --- the CLI -------------------------------------------------------------------------------------------

BASE = ["--catalogue", ROOT, "--model", "llama-2-7b", "--hardware", "nvidia-a6000"]


def cli(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_stage_serve_json(capsys):
    status, out, err = cli(capsys, *BASE, "--stage", "serve", "--seq-len", "512", "--gen-len", "128",
                           "--format", "json", "--ttft", "1", "--tpot", "0.05")
    assert status == 0, err
    data = json.loads(out)
    assert set(data) >= {"capacity", "capacity_other_allocator", "curve", "continuous", "disaggregated"}
    assert data["capacity"]["allocator"] == "paged" and data["capacity_other_allocator"]["allocator"] == "reserve"
    assert data["curve"]["points"][-1]["batch"] == data["capacity"]["max_batch"]
    from tests.calculator.conftest import hardware, model

    ref = serve(model("llama-2-7b"), hardware("nvidia-a6000"), Settings(seq_len=512, gen_len=128))
    assert data["capacity"]["max_batch"] == ref["capacity"]["max_batch"]
    assert data["curve"]["points"][0]["tpot_s"] == pytest.approx(ref["curve"]["points"][0]["tpot_s"])


def test_cli_stage_serve_table(capsys):
    status, out, err = cli(capsys, *BASE, "--stage", "serve", "--allocator", "reserve", "--max-seq-len", "4096")
    assert status == 0, err
    assert "capacity" in out and "reserve" in out and "continuous batching" in out and "TPOT" in out


def test_cli_search(capsys):
    status, out, err = cli(capsys, "search", *BASE, "--seq-len", "512", "--gen-len", "64", "--ttft", "2",
                           "--tpot", "0.05", "--tp", "1,2", "--format", "json")
    assert status == 0, err
    data = json.loads(out)
    assert data["best"]["meets_limits"] and data["evaluated"] > 50 and data["front"]
    status, out, err = cli(capsys, "search", *BASE, "--tp", "1", "--weights", "w16a16")
    assert status == 0 and "Pareto front" in out and "cheapest" in out


@pytest.mark.parametrize("args, words", [
    (["--rate", "2"], "--rate needs --stage serve"),
    (["--stage", "serve", "--rate", "nan"], "--rate must be"),
    (["--stage", "serve", "--rate", "-1"], "--rate must be"),
    (["--stage", "serve", "--token-budget", "0"], "--token-budget must be"),
    (["--stage", "serve", "--block-size", "0"], "--block-size must be"),
    (["--stage", "serve", "--memory-fraction", "2"], "--memory-fraction must be"),
    (["--stage", "serve", "--ttft", "1"], "--ttft and --tpot go together"),
    (["--stage", "serve", "--ttft", "inf", "--tpot", "1"], "--ttft must be"),
    (["--stage", "serve", "--format", "csv"], "--stage serve prints a table, json or svg"),
    (["--stage", "serve", "--offload"], "no host link bandwidth"),
    (["--stage", "serve", "--offload-weights", "1.5"], "--offload-weights must be from 0 to 1"),
    (["--stage", "serve", "--allocator", "buddy"], "invalid choice"),
])
def test_cli_serve_refuses_bad_input_in_one_line(capsys, args, words):
    status, out, err = cli(capsys, *BASE, *args)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("calculator: error: ") and words in err, err


@pytest.mark.parametrize("args, words", [
    (["--tp", "1,x"], "--tp takes integers"),
    (["--tp", ""], "--tp needs a comma-separated list"),
    (["--weights", "w3"], "unknown weight format 'w3'"),
    (["--ttft", "-1"], "--ttft must be"),
    (["--hardware", "nvidia-a6000,nope"], "nope"),
    (["--seq-len", "0"], "seq_len must be a positive integer"),
])
def test_cli_search_refuses_bad_input_in_one_line(capsys, args, words):
    status, out, err = cli(capsys, "search", *BASE, *args)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("calculator: error: ") and words in err, err


def test_cli_serve_svg(capsys):
    import xml.etree.ElementTree as ET

    status, out, err = cli(capsys, *BASE, "--stage", "serve", "--format", "svg")
    assert status == 0, err
    root = ET.fromstring(out)
    assert root.get("class") == "kb-serving"
    circles = [el for el in root.iter() if el.tag.endswith("circle")]
    assert circles and all(c.get("data-tip") for c in circles)


def test_serving_svg_escapes_and_compares_two_curves():
    import xml.etree.ElementTree as ET

    from calculator.serving_svg import to_svg

    a = curve(LLAMA, H100, SHAPE)
    b = curve(LLAMA, H100, replace(SHAPE, w_bits=4, group_size=128))
    svg = to_svg([("<fp16>", a), ("w4 & g128", b)])
    root = ET.fromstring(svg)
    assert "&lt;fp16&gt;" in svg and "w4 &amp; g128" in svg
    paths = [el for el in root.iter() if el.tag.endswith("path")]
    assert len(paths) == 2
    assert "batch 193" in svg  # the capacity limit of the fp16 curve is named
    with pytest.raises(ValueError):
        to_svg([])


def test_cli_serve_with_a_quantization_method_gives_the_baseline(toy, capsys):
    status, out, err = cli(capsys, "--catalogue", str(toy / "kb"), "--model", "toy-model", "--hardware", "toy-gpu",
                           "--stage", "serve", "--method", "toy-method", "--format", "json")
    assert status == 0, err
    data = json.loads(out)
    assert data["baseline"]["settings"]["w_bits"] == 16
    assert data["capacity"]["weights_bytes"] < data["baseline"]["capacity"]["weights_bytes"]


# --- serving methods against their baselines (the proposed `serving` effect) -----------------------------

def test_compare_allocator_is_the_curve_at_each_capacity():
    from calculator.serving import compare

    out = compare(LLAMA, H100, SHAPE, {"allocator": "paged", "block_size": 16})
    assert out["details"]["baseline"]["max_batch"] == 33 and out["details"]["method"]["max_batch"] == 193
    at = lambda b: curve(LLAMA, H100, SHAPE, batches=[b])["points"][0]["tokens_per_s_per_device"]  # noqa: E731
    assert out["baseline"] == pytest.approx(at(33)) and out["method"] == pytest.approx(at(193))
    assert out["gain"] == pytest.approx(at(193) / at(33)) and out["gain"] > 1


def test_compare_chunked_prefill_removes_the_prefill_stall():
    """Long prompts: a decode sharing an iteration with a whole 3072-token prompt waits for its prefill, so
    without chunks no rate meets a 30 ms TPOT; chunks of 512 keep every iteration short (SARATHI-Serve)."""
    from calculator.serving import compare

    s = Settings(seq_len=3072, gen_len=256)
    out = compare(LLAMA, H100, s, {"token_budget": 512, "ttft_limit": 2.0, "tpot_limit": 0.03})
    assert out["baseline"] == 0 and out["method"] > 0 and out["gain"] is None
    loose = compare(LLAMA, H100, s, {"token_budget": 512, "ttft_limit": 2.0, "tpot_limit": 0.05})
    assert loose["baseline"] > 0 and loose["gain"] > 1
    with pytest.raises(CalculatorError, match="needs ttft_limit and tpot_limit"):
        compare(LLAMA, H100, s, {"token_budget": 512})


def test_compare_disaggregated_is_goodput_against_colocated():
    from calculator.serving import compare

    out = compare(LLAMA, H100, SHAPE, {"disaggregated": True, "ttft_limit": 0.5, "tpot_limit": 0.03})
    d = out["details"]
    assert out["method"] == d["goodput_tokens_per_s_per_device"]
    assert out["baseline"] == d["colocated_tokens_per_s_per_device"]


# --- any number for any serving option: a finite result or one clean line ------------------------------

from hypothesis import HealthCheck, given  # noqa: E402
from hypothesis import settings as hyp_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SERVE_NUMERIC = ["--rate", "--token-budget", "--block-size", "--max-seq-len", "--memory-fraction", "--seq-len",
                 "--gen-len", "--batch"]
SPELLINGS = st.one_of(st.integers(-(10**30), 10**30).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                      st.sampled_from(["0", "1", "0.5", "1e9", "1e-300", "nan", "inf", "", "9" * 400]))


@hyp_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(SERVE_NUMERIC), value=SPELLINGS, fmt=st.sampled_from(["table", "json"]))
def test_any_number_for_a_serving_option_is_a_result_or_one_clean_line(capsys, option, value, fmt):
    status = main(BASE + ["--stage", "serve", "--format", fmt, f"{option}={value}"])
    out, err = capsys.readouterr()
    assert status in (0, 2), (option, value, status, err)
    if status == 2:
        assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    else:
        assert "nan" not in out.lower().replace("nano", "") and "inf" not in out.replace("infl", "")
