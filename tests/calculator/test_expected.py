"""The expected-time model (calculator/expected.py) and its calibration (calculator/calibrate.py)."""

from __future__ import annotations

import json

import pytest

from calculator import calibrate as cal
from calculator import expected as ex
from calculator.core import analyze
from calculator.spec import Settings
from kb.catalogue import load_hardware, load_model


@pytest.fixture(scope="module")
def cases():
    return [c for c in cal.build_cases(cal.load_points()) if not c.skip]


def test_parameters_load_with_meaning_uncertainty_and_data():
    calibration = ex.load_parameters()
    assert set(calibration["classes"]) <= set(ex.CLASSES) and calibration["classes"]
    for block in list(calibration["classes"].values()) + [calibration["shared"]]:
        for name, entry in block.items():
            assert {"value", "uncertainty", "meaning", "rows", "sources"} <= set(entry)
            assert entry["uncertainty"] >= 0
            if name.endswith("_s") or name.endswith("_tokens"):
                assert entry["value"] >= 0
            else:
                assert 0 < entry["value"] <= 1
    for cls in calibration["classes"]:
        values = ex.parameters_for(cls)
        assert set(values) == set(ex.NEUTRAL)


def test_device_classes():
    assert ex.device_class(load_hardware("nvidia-rtx-4090")) == "consumer-gpu"
    assert ex.device_class(load_hardware("nvidia-a6000")) == "consumer-gpu"  # workstation card
    assert ex.device_class(load_hardware("nvidia-h100-sxm")) == "datacenter-gpu"
    assert ex.device_class(load_hardware("apple-m2-ultra")) == "apple"
    assert ex.device_class(load_hardware("intel-xeon-8480")) == ex.FALLBACK


def test_expected_is_never_below_the_bound_on_any_measured_row(cases):
    assert len(cases) > 100
    for c in cases:
        r = c.result
        for stage in r.stages.values():
            assert ex.expected_stage_s(stage, r.hardware, r.settings) >= stage.time_s
        if r.generate is not None:
            gen = ex.expected_generate(r, last_decode=c.extra.stages["decode"])
            assert gen["ttft_s"] >= r.generate.ttft_s
            assert gen["e2e_latency_s"] >= r.generate.e2e_latency_s * (1 - 1e-12)
            assert gen["time_per_output_token_s"] >= r.generate.time_per_output_token_s * (1 - 1e-12)


def test_without_calibration_expected_equals_the_bound():
    r = analyze(load_model("llama-2-7b"), load_hardware("nvidia-a6000"), Settings(stage="all"))
    for stage in r.stages.values():
        assert ex.expected_stage_s(stage, r.hardware, r.settings, calibration={}) == pytest.approx(stage.time_s)
    gen = ex.expected_generate(r, calibration={})
    assert gen["e2e_latency_s"] == pytest.approx(r.generate.e2e_latency_s, rel=1e-9)


def test_json_carries_expected_time_beside_time():
    r = analyze(load_model("llama-3-8b"), load_hardware("nvidia-rtx-4090"), Settings(stage="all", w_bits=4))
    out = json.loads(json.dumps(r.to_dict()))
    for stage in out["stages"].values():
        assert stage["total"]["expected_time_s"] >= stage["total"]["time_s"]
    assert out["generate"]["expected_time_s"] >= out["generate"]["e2e_latency_s"]
    assert out["generate"]["expected"]["ttft_s"] >= out["generate"]["ttft_s"]
    assert out["expected_model"]["device_class"] == "consumer-gpu"


def test_tensor_parallel_generate_is_expected_slower_than_bound():
    r = analyze(load_model("llama-2-70b"), load_hardware("nvidia-h100-sxm"),
                Settings(stage="generate", tp=4, batch=8, seq_len=512, gen_len=64))
    gen = ex.expected_generate(r)
    assert gen["e2e_latency_s"] > r.generate.e2e_latency_s


def test_csv_parsing():
    head = ",".join(cal._REQUIRED) + ",confidence,notes\n"
    row = ("https://example.org/x,table 1,llama-2-7b,q4_0,nvidia-rtx-4090,llama.cpp (CUDA),1,0,128,"
           "decode_tokens_per_s_per_seq,120.5,high,\"tg128, a note\"\n")
    (p,) = cal.parse_points(head + row, "t.csv")
    assert (p.line, p.model, p.batch, p.gen_len, p.value, p.notes) == (2, "llama-2-7b", 1, 128, 120.5, "tg128, a note")
    assert p.runtime == "llama.cpp" and p.devices == ("nvidia-rtx-4090", 1)
    multi = cal.parse_points(head + row.replace("nvidia-rtx-4090,", "nvidia-rtx-4090-x4,"), "t.csv")[0]
    assert multi.devices == ("nvidia-rtx-4090", 4)
    with pytest.raises(ValueError, match="t.csv:2"):
        cal.parse_points(head + row.replace("120.5", "fast"), "t.csv")
    with pytest.raises(ValueError, match="t.csv:2"):
        cal.parse_points(head + row.replace("120.5", "-1"), "t.csv")
    with pytest.raises(ValueError, match="missing column"):
        cal.parse_points("model,value\nx,1\n", "t.csv")


def test_rows_map_to_the_stated_settings(cases):
    by = {(c.point.file, c.point.line): c for c in cases}
    tg = next(c for c in cases if c.point.metric == "decode_tokens_per_s_per_seq" and c.point.gen_len == 128
              and c.point.precision == "q4_0")
    assert tg.settings.stage == "decode" and tg.settings.seq_len == 64
    assert tg.settings.w_bits + 32 / tg.settings.group_size == pytest.approx(4.5)
    pp = next(c for c in cases if c.point.metric == "prefill_tokens_per_s" and c.point.precision == "q8_0")
    assert pp.settings.stage == "prefill" and pp.settings.w_bits + 32 / pp.settings.group_size == pytest.approx(8.5)
    assert not pp.settings.flash_attention  # llama.cpp builds of the data: unfused attention
    assert by  # every used case has a bound and a measured time
    assert all(c.bound_s > 0 and c.measured_s > 0 for c in cases)


def test_cross_validation_is_reproducible_and_matches_the_stored_report():
    first = cal.calibrate()
    second = cal.calibrate()
    assert json.dumps(first) == json.dumps(second)
    stored = ex.load_parameters()
    fresh = json.loads(json.dumps(first))
    if fresh["data"] != stored.get("data"):
        pytest.skip("the data or catalogue changed since the last `make calibrate`: rerun it")
    assert fresh["validation"] == stored["validation"]
    assert fresh["classes"] == stored["classes"]


def test_bound_violations_are_diagnosed():
    stored = ex.load_parameters()
    for v in stored["bound_violations"]:
        assert v["diagnosis"] and v["measured_over_bound_time"] < 1


def test_browser_parameters_and_vectors_follow_the_calibration():
    import os

    stored = ex.load_parameters()
    root = os.path.dirname(os.path.dirname(ex.CALIBRATION_PATH))
    with open(os.path.join(root, "docs", "assets", "accuracy", "parameters.json"), encoding="utf-8") as handle:
        assert json.load(handle) == cal.browser_parameters(stored)
    with open(os.path.join(root, "tests", "calculator", "fixtures", "expected_vectors.json"), encoding="utf-8") as h:
        vectors = json.load(h)
    assert vectors and all(v["expected_s"] >= v["stage"]["time_s"] * (1 - 1e-12) for v in vectors)


def test_new_row_names_have_kinds():
    assert ex.kind_of("q_a_proj") == "gemm" and ex.kind_of("q_absorb") == "gemm"
    assert ex.kind_of("window_attention") == "attention" and ex.kind_of("window_qk_matmul") == "attention"
    assert ex.kind_of("window_softmax") == "elementwise" and ex.kind_of("attn_allreduce") == "collective"
