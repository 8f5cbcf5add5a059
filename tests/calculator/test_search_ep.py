"""Expert parallelism in the SLA search (issue 15.6): an ep point is the single-run calculator's ep run, a dense
model never gets ep > 1, and the Pareto front over tp, pp and ep points is non-dominated. Explicit inputs
(not the catalogue, which moves): a Mixtral-8x7B-shaped model on an H100 SXM-like device."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from calculator import Hardware, Model, Settings, analyze
from calculator.cli import main
from calculator.search import default_eps, pareto_front, search
from calculator.spec import CalculatorError

MOE = Model(id="moe-8x7b", architecture="mixtral", hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
            num_attention_heads=32, num_key_value_heads=8, vocab_size=32000, max_position_embeddings=32768,
            num_local_experts=8, num_experts_per_tok=2)
LLAMA = Model(id="llama-2-7b", hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
              num_attention_heads=32, vocab_size=32000, max_position_embeddings=4096)
H100 = Hardware(id="h100", memory_bandwidth=3.35e12, peak_ops={"fp16": 989.5e12, "fp8": 1979e12},
                memory_bytes=80 * 2**30, interconnect_bandwidth=900e9, host_link_bandwidth=128e9)
SHAPE = Settings(seq_len=512, gen_len=128)
FP16 = {"weight_formats": ["w16a16"], "kv_formats": ["kv16"]}


def _weights(ep: int) -> int:
    """Per-device fp16 weight bytes of MOE under ep: per layer q, o 2 h^2, k, v 2 h (8 x 128), two RMSNorms 2h,
    the router h x 8 and the device's 8 / ep experts of 3 h x 14336; embedding and lm_head 2 x 32000 h; final norm h."""
    h = 4096
    layer = 2 * h * h + 2 * h * 1024 + 2 * h + h * 8 + 3 * h * 14336 * (8 // ep)
    return 2 * (32 * layer + 2 * 32000 * h + h)


def _by(points):
    return {(p["tp"], p["pp"], p["ep"], p["batch"]): p for p in points}


def test_default_eps():
    assert default_eps(LLAMA) == [1]
    assert default_eps(MOE) == [1, 2, 4, 8]
    assert default_eps(replace(MOE, num_local_experts=6)) == [1, 2]
    assert default_eps(replace(MOE, num_local_experts=128)) == [1, 2, 4, 8]


@pytest.mark.parametrize("ep, batch", [(2, 2), (2, 64), (4, 4), (4, 200), (8, 8), (8, 512)])
def test_ep_point_equals_the_single_run(ep, batch):
    """TTFT, TPOT and tokens/s per device of an ep point are analyze's with Settings(batch, ep) (stage generate):
    TTFT = its prefill, TPOT = its decode time over gen_len - 1 steps, per device = batch x gen_len / (TTFT +
    decode) / ep."""
    out = search(MOE, H100, SHAPE, tps=[1], eps=[ep], dense_batches=1024, keep_points=True, **FP16)
    p = _by(out["points"])[(1, 1, ep, batch)]
    g = analyze(MOE, H100, replace(SHAPE, batch=batch, ep=ep, stage="generate")).generate
    assert p["devices"] == ep
    assert p["ttft_s"] == pytest.approx(g.ttft_s, rel=1e-9)
    assert p["tpot_s"] * 127 == pytest.approx(g.decode_time_s, rel=1e-9)
    assert p["tokens_per_s_per_device"] == pytest.approx(batch * 128 / (g.ttft_s + g.decode_time_s) / ep, rel=1e-9)


def test_ep_capacity_by_hand():
    """ep 2 on 80 GiB: each device holds 4 experts, 48,308,428,800 B of weights (93.4 GB without ep does not
    fit one device); each sequence holds 640 cache slots (511 + 128 tokens in blocks of 16) of 2 x 32 x 1024 x
    2 B = 131,072 B, plus its prompt's prefill activations; the instance batch is 2 x the per-device one."""
    assert _weights(2) == 48_308_428_800
    out = search(MOE, H100, SHAPE, tps=[1], eps=[1, 2, 4], keep_points=True, **FP16)
    assert out["skipped"][0]["ep"] == 1 and "does not fit" in out["skipped"][0]["reason"]
    act = analyze(MOE, H100, replace(SHAPE, batch=1, stage="prefill")).memory.activations_bytes
    for ep in (2, 4):
        r = analyze(MOE, H100, replace(SHAPE, batch=ep, ep=ep, stage="decode"))
        assert r.memory.weights_bytes == _weights(ep)
        per_device = (80 * 2**30 - _weights(ep)) // (640 * 131_072 + act)
        batches = [p["batch"] for p in out["points"] if p["ep"] == ep]
        assert max(batches) == ep * per_device and all(b % ep == 0 for b in batches) and min(batches) == ep


def test_dense_models_never_get_ep():
    out = search(LLAMA, H100, SHAPE, tps=[1, 2], keep_points=True, **FP16)
    assert {p["ep"] for p in out["points"]} == {1} and all(p["devices"] == p["tp"] for p in out["points"])
    out = search(LLAMA, H100, SHAPE, tps=[1], eps=[1, 2], keep_points=True, **FP16)
    assert {p["ep"] for p in out["points"]} == {1}
    assert [s["ep"] for s in out["skipped"]] == [2] and "needs a MoE model" in out["skipped"][0]["reason"]


def test_ep_pairs_with_tp_1_only_and_skips_what_cannot_run():
    out = search(MOE, H100, SHAPE, tps=[1, 2], eps=[1, 2], keep_points=True, **FP16)
    assert {(p["tp"], p["ep"]) for p in out["points"]} == {(2, 1), (1, 2)}  # tp 1 x ep 1 does not fit
    out = search(MOE, H100, SHAPE, tps=[2], eps=[2], **FP16)
    assert out["skipped"][0]["reason"].startswith("ep 2 runs with tp 1 only")
    out = search(MOE, H100, SHAPE, tps=[1], eps=[3], **FP16)
    assert out["evaluated"] == 0 and "does not divide num_local_experts" in out["skipped"][0]["reason"]
    out = search(MOE, replace(H100, interconnect_bandwidth=0), SHAPE, tps=[1], eps=[2], **FP16)
    assert out["evaluated"] == 0 and "interconnect" in out["skipped"][0]["reason"]
    with pytest.raises(CalculatorError, match="ep must be an integer"):
        search(MOE, H100, SHAPE, eps=[0])


def test_ep_with_pipeline_stages():
    """ep 2 x pp 2 at batch 64: two microbatches of 32, each 16 sequences per device; the pipeline fills and
    drains over 3 stage-times of the ep-2 prefill of 32, each decode round is the ep-2 step of 32 (the hop,
    16 x 512 x 4096 x 2 B at 450e9 B/s, is shorter than the stage's share)."""
    out = search(MOE, H100, SHAPE, tps=[1], pps=[1, 2], eps=[2], dense_batches=1024, keep_points=True, **FP16)
    pts = _by(out["points"])
    half = pts[(1, 1, 2, 32)]
    p = pts[(1, 2, 2, 64)]
    assert p["devices"] == 4
    assert p["ttft_s"] == pytest.approx(3 * half["ttft_s"] / 2, rel=1e-9)
    assert p["tpot_s"] == pytest.approx(half["tpot_s"], rel=1e-9)
    assert min(b for tp, pp, ep, b in pts if pp == 2) == 4  # one sequence per device per microbatch


def test_front_is_non_dominated_over_tp_pp_and_ep():
    out = search(MOE, H100, SHAPE, ttft_limit=1.0, tpot_limit=0.05, tps=[1, 2, 4], pps=[1, 2], keep_points=True,
                 weight_formats=["w16a16", "w8a8-fp8"])
    points, front = out["points"], out["front"]
    assert {p["ep"] for p in points} == {1, 2, 4, 8} and any(p["ep"] > 1 for p in front)
    key = [(p["tokens_per_s_per_user"], p["tokens_per_s_per_device"]) for p in points]
    for f in front:  # nothing beats a front point on both axes
        assert not any(u > f["tokens_per_s_per_user"] and d > f["tokens_per_s_per_device"] for u, d in key)
    for u, d in key[::50]:  # and every point is matched or beaten by one on the front
        assert any(f["tokens_per_s_per_user"] >= u and f["tokens_per_s_per_device"] >= d for f in front)
    assert len(front) == len(pareto_front([(u, d) for u, d in key]))
    meets = [p for p in points if p["ttft_s"] <= 1.0 and p["tpot_s"] <= 0.05]
    assert out["best"]["tokens_per_s_per_device"] == max(p["tokens_per_s_per_device"] for p in meets)


def test_cli_search_takes_ep(capsys):
    argv = ["search", "--model", "mixtral-8x7b", "--hardware", "nvidia-h100-sxm", "--seq-len", "512", "--gen-len",
            "128", "--tp", "1,2", "--ep", "1,2,4", "--weights", "w16a16", "--kv", "kv16", "--format", "json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert {p["ep"] for p in out["front"]} <= {1, 2, 4} and any(p["ep"] > 1 for p in out["front"])
    assert all(p["devices"] == p["tp"] * p["pp"] * p["ep"] for p in out["front"])
    assert main(argv[:-2]) == 0
    assert " ep4 " in capsys.readouterr().out
    assert main(argv[:-2] + ["--ep", "1,x"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--ep takes integers" in err


def test_docs_worked_example_on_the_catalogue():
    """docs/roofline.md ("SLA search") prints this search's outcome; it must stay what the catalogue gives."""
    from pathlib import Path

    kb = Path(__file__).resolve().parents[2] / "kb"
    if not (kb / "models" / "mixtral-8x7b.yaml").exists() or not (kb / "hardware" / "nvidia-h100-sxm.yaml").exists():
        pytest.skip("catalogue entries missing")
    from kb.catalogue import load_hardware, load_model

    out = search(load_model("mixtral-8x7b"), load_hardware("nvidia-h100-sxm"), SHAPE, ttft_limit=1.0,
                 tpot_limit=0.05, keep_points=True, **FP16)
    best = out["best"]
    assert (best["tp"], best["ep"], best["batch"]) == (1, 8, 512)
    assert round(best["tokens_per_s_per_device"]) == 4638 and round(best["ttft_s"] * 1e3) == 986
    assert round(best["tpot_s"] * 1e5) == 615
    table = {}
    for p in out["points"]:
        if p["meets_limits"] and p["tokens_per_s_per_device"] > table.get((p["tp"], p["ep"]), (0, 0))[1]:
            table[p["tp"], p["ep"]] = (p["batch"], p["tokens_per_s_per_device"])
    assert {k: (b, round(v)) for k, (b, v) in table.items()} == {
        (1, 2): (132, 2770), (1, 4): (260, 3780), (1, 8): (512, 4638),
        (2, 1): (125, 2658), (4, 1): (209, 3126), (8, 1): (311, 2917)}
    assert [s["ep"] for s in out["skipped"]] == [1]  # 93.4 GB do not fit one device
    assert out["front"][0]["tp"] == 8 and round(out["front"][0]["tokens_per_s_per_user"]) == 1043


def test_the_expected_generate_summary_of_an_ep_run_does_not_divide_by_a_missing_peak():
    """moe_dispatch / moe_combine rows cross the interconnect and have no compute peak; the expected-time
    model's context-growth sum used to divide by it (ZeroDivisionError in `--ep 8 --stage generate`)."""
    from calculator.expected import expected_generate
    from kb.catalogue import load_hardware, load_model

    r = analyze(load_model("mixtral-8x7b"), load_hardware("nvidia-h100-sxm"),
                Settings(ep=8, batch=512, seq_len=512, gen_len=128, stage="generate"))
    exp = expected_generate(r)
    assert exp is not None and exp["ttft_s"] >= r.generate.ttft_s and exp["e2e_latency_s"] >= r.generate.e2e_latency_s
