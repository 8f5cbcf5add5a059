"""Claims held against the roofline: predictions, verdicts, the setting they were checked in."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

import calculator
from calculator import Settings
from kb.analysis import TOLERANCE, Catalogue, analyze_method, decode_time
from kb.analysis_pages import claims_page
from kb.load import load
from kb.schema import Method

REPO = Path(__file__).resolve().parents[2]
KB = load(REPO)
CAT = Catalogue(KB)


def _method(claims: list[dict], effect: dict | None = None) -> Method:
    return Method(id="w4-probe", name="W4 probe", title="A probe", authors=["A. Author"], year=2024,
                  category="compression/quantization/ptq/weight-only", summary="x" * 40,
                  effect=effect or {"kind": "quantization", "weights": {"bits": 4}},
                  claims=claims, bibtex="@misc{probe2024, title = {A probe}}")


def _claim(value: float, **setting) -> dict:
    return {"metric": "decode_speedup", "value": value, "baseline": "FP16", "setting": setting,
            "source": "Table 1"}


def _decode_steps(run, prompt: int, gen: int) -> float:
    """Brute force: decode step j = 1..gen-1 at a context of prompt + j - 1."""
    return sum(run(Settings(batch=4, seq_len=prompt + j - 1)).decode_token_s for j in range(1, gen))


def test_decode_time_follows_the_growing_context_like_the_calculators_generate_stage():
    settings = Settings(batch=4, seq_len=1024, gen_len=256)
    exact = calculator.analyze(CAT.models["llama-2-7b"], CAT.hardware["nvidia-a6000"], settings).generate
    summed = decode_time(lambda c: CAT.baseline("llama-2-7b", "nvidia-a6000", replace(settings, seq_len=c))
                         .decode_token_s, settings)
    assert summed == pytest.approx(exact.decode_time_s, rel=1e-9)
    assert summed == pytest.approx(_decode_steps(lambda s: CAT.baseline("llama-2-7b", "nvidia-a6000", s),
                                                 1024, 256), rel=1e-9)
    # An affine step time sums exactly, odd and even run lengths alike.
    for gen in (2, 3, 10, 257):
        s = Settings(seq_len=100, gen_len=gen)
        assert decode_time(lambda c: 3.0 + 0.5 * c, s) == pytest.approx(
            sum(3.0 + 0.5 * (100 + j - 1) for j in range(1, gen)), rel=1e-12)


def test_a_decode_claim_is_held_against_the_roofline_ratio_of_its_own_setting():
    w4_probe = _method([])
    bound = _decode_steps(lambda s: CAT.baseline("llama-2-7b", "nvidia-a6000", s), 1024, 256) / \
        _decode_steps(lambda s: CAT.run(w4_probe, "llama-2-7b", "nvidia-a6000", s), 1024, 256)
    assert 2.5 < bound < 4  # weight bytes shrink 4x, the KV cache and activations do not

    setting = dict(model="llama-2-7b", hardware="nvidia-a6000", batch=4, seq_len=1024, gen_len=256)
    ok, over = analyze_method(CAT, KB, _method([_claim(bound * TOLERANCE * 0.99, **setting),
                                             _claim(bound * TOLERANCE * 1.01, **setting)])).claims
    assert ok["predicted"] == pytest.approx(bound, rel=1e-9)
    assert over["verdict"] == "beyond the bound"  # two-sided words: the claim has an expected value
    assert ok["verdict"] == ("plausible" if ok["claimed"] <= ok["expected"] * TOLERANCE else "optimistic")
    assert ok["setting"] == "llama-2-7b on nvidia-a6000, batch 4, context 1024, 256 generated"
    # The calculator opens the baseline in A and the method in B, in the claim's setting.
    assert ok["calculator_query"] == ("model=llama-2-7b&hardware=nvidia-a6000&batch=4&seq_len=1024&gen_len=256"
                                      "&tp=1&flash=1&b_model=llama-2-7b&b_hardware=nvidia-a6000&b_batch=4"
                                      "&b_seq_len=1024&b_gen_len=256&b_tp=1&b_method=w4-probe")


def test_values_the_paper_does_not_state_are_assumed_and_said_so():
    check, = analyze_method(CAT, KB, _method([_claim(2.0, model="llama-2-7b", hardware="nvidia-a6000")])).claims
    assert check["setting"] == ("llama-2-7b on nvidia-a6000, batch 1 (assumed), context 2048 (assumed), "
                                "128 generated (assumed)")
    assert "batch=1&seq_len=2048&gen_len=128" in check["calculator_query"]


@pytest.mark.parametrize("claim, effect, reason", [
    (_claim(3.0, model="llama-3.1-405b"), None, "names the model but no device"),  # fits no single GPU
    (_claim(3.0), None, "no catalogue model and device filled in yet"),
    ({**_claim(3.0, model="llama-2-7b", hardware="nvidia-a6000"), "metric": "kernel_speedup"}, None,
     "kernel speedup"),
    (_claim(3.0, model="llama-2-7b", hardware="nvidia-a6000"), {"kind": "none", "reason": "training only"},
     "training only"),
])
def test_claims_the_roofline_cannot_check_say_why(claim, effect, reason):
    check, = analyze_method(CAT, KB, _method([claim], effect)).claims
    assert check["verdict"] == "not checkable" and check["predicted"] is None
    assert reason in check["why"]
    assert check["setting"] is None and check["calculator_query"] is None


def test_claims_page_links_checked_claims_to_the_calculator_and_lists_the_rest_with_reasons():
    checked = _claim(2.0, model="llama-2-7b", hardware="nvidia-a6000", batch=2)
    loose = _claim(5.0)
    probe = _method([checked, loose])
    kb = replace(KB, methods={probe.id: probe})
    page = claims_page(kb, {probe.id: analyze_method(CAT, KB, probe)})
    checked_part, unchecked_part = page.split("### Without a verdict")
    assert 'href="../calculator/?model=llama-2-7b&amp;hardware=nvidia-a6000&amp;batch=2' in checked_part
    assert "no catalogue model and device filled in yet" in unchecked_part and "5x" in unchecked_part
    assert "calculator/?" not in unchecked_part


def test_a_memory_claim_is_held_against_the_footprint_at_the_end_of_the_request():
    kv4 = {"kind": "quantization", "kv_cache": {"bits": 4}}
    claim = {**_claim(1.5, model="llama-2-7b", hardware="nvidia-a6000", batch=8, seq_len=512, gen_len=1537),
             "metric": "memory_reduction"}
    check, = analyze_method(CAT, KB, _method([claim], kv4)).claims
    exact = {name: calculator.analyze(CAT.models["llama-2-7b"], CAT.hardware["nvidia-a6000"],
                                      Settings(batch=8, seq_len=512, gen_len=1537, **bits)).generate
             for name, bits in (("base", {}), ("kv4", {"kv_bits": 4}))}
    assert check["predicted"] == pytest.approx(
        exact["base"].memory_end_bytes / exact["kv4"].memory_end_bytes, rel=1e-12)
    assert check["predicted"] > 1.3  # the 2048-token cache of 8 sequences is 8 GiB in 16-bit


def test_a_claim_outside_the_roofline_gets_its_reason_from_the_entry_and_no_verdict():
    claim = {**_claim(3.0, model="llama-2-7b", hardware="nvidia-a6000"),
             "outside_roofline": {"reason": "accelerator-design", "explanation": "an FPGA design"}}
    check, = analyze_method(CAT, KB, _method([claim])).claims
    assert check["verdict"] == "not checkable" and check["reason"] == "accelerator-design"
    assert "FPGA" in check["why"] and check["setting"] is None


def test_assumed_model_and_device_are_marked_and_an_explanation_travels_with_a_claim_above_the_bound():
    claim = {**_claim(50.0, model="llama-2-7b", hardware="nvidia-a6000", batch=1, tp=2,
                      assumed=["hardware", "batch"]), "explanation": "baseline is eager FP16 code"}
    check, = analyze_method(CAT, KB, _method([claim])).claims
    assert check["verdict"] == "beyond the bound" and check["explanation"] == "baseline is eager FP16 code"
    assert check["setting"].startswith("llama-2-7b on 2× nvidia-a6000 (assumed), batch 1 (assumed)")
    assert "&tp=2&" in check["calculator_query"]


def test_an_assumed_model_must_be_named():
    with pytest.raises(ValueError, match="assumed"):
        _method([_claim(2.0, hardware="nvidia-a6000", assumed=["model"])])


def test_a_max_batch_throughput_claim_runs_each_side_at_the_largest_batch_it_fits():
    kv2 = {"kind": "quantization", "kv_cache": {"bits": 2}}
    setting = dict(model="llama-2-7b", hardware="nvidia-a100-80gb", seq_len=4096, gen_len=1024)
    same, most = analyze_method(CAT, KB, _method([
        {**_claim(2.0, **setting), "metric": "throughput_gain"},
        {**_claim(2.0, **setting, max_batch=True), "metric": "throughput_gain"}], kv2)).claims
    assert same["predicted"] < 1.2 < most["predicted"]  # at batch 1 the weights dominate; at full memory the cache
    assert "largest batch that fits" in most["setting"]
    assert most["expected"] is not None and most["expected"] > 1.2  # expected times at the same batches (16.4)


def test_a_time_claim_carries_the_calibrated_expected_ratio():
    check, = analyze_method(CAT, KB, _method([_claim(2.0, model="llama-2-7b", hardware="nvidia-a6000")])).claims
    assert check["expected"] is not None and 1 < check["expected"] < 4


def test_a_claim_against_another_entry_is_held_against_that_entrys_effect():
    claim = _claim(1.45, model="llama-2-7b", hardware="nvidia-a100-80gb", baseline_method="gptq")
    check, = analyze_method(CAT, KB, _method([claim], {"kind": "quantization", "weights": {"bits": 4,
                                                                                          "group_size": 128}})).claims
    assert check["predicted"] == pytest.approx(1.0, abs=0.05)  # same 4-bit weights on both sides
    assert check["setting"].endswith("against gptq") and "&method=gptq&b_model=" in check["calculator_query"]


@pytest.mark.parametrize("other, words", [("no-such-entry", "is not an entry id"),
                                          ("toy-method", None)])
def test_kb_check_refuses_a_baseline_method_that_is_not_an_entry(toy, other, words):
    entry = toy / "kb/methods/toy-branch/toy-leaf/toy-method.yaml"
    old = "    setting: {model: toy-model, hardware: toy-gpu, batch: 1}"
    entry.write_text(entry.read_text().replace(old, old[:-1] + f", baseline_method: {other}}}"))
    problems = [p for p in load(toy).problems if p.field == "claims.0.setting.baseline_method"]
    assert (words in problems[0].message) if words else not problems


def test_a_claim_without_a_stated_setting_is_checked_in_the_scenario_it_names():
    sc = next(s for s in KB.scenarios.scenarios if s.id == "long-context")
    claim = {**_claim(2.0, scenario="long-context", seq_len=16384), "metric": "speedup"}
    check, = analyze_method(CAT, KB, _method([claim])).claims
    assert check["predicted"] is not None
    assert check["setting"].startswith(f"{sc.model} (assumed) on {sc.hardware} (assumed), batch {sc.batch} (assumed), "
                                       "context 16384, ")  # the paper's own value stays unmarked
    assert "scenario 'long-context'" in check["setting"]


def test_kb_check_refuses_an_unknown_scenario(toy):
    entry = toy / "kb/methods/toy-branch/toy-leaf/toy-method.yaml"
    old = "    setting: {model: toy-model, hardware: toy-gpu, batch: 1}"
    entry.write_text(entry.read_text().replace(old, "    setting: {scenario: no-such-scenario}"))
    problems = [p for p in load(toy).problems if p.field == "claims.0.setting.scenario"]
    assert problems and "unknown scenario 'no-such-scenario'" in problems[0].message


def test_a_memory_ratio_needs_no_device_and_a_scenario_verdict_says_it_is_assumed():
    memory = {**_claim(2.0, model="llama-2-7b"), "metric": "memory_reduction"}
    check, = analyze_method(CAT, KB, _method([memory])).claims
    assert check["predicted"] is not None and "on any device" in check["setting"] and check["scenario"] is None
    assumed = {**_claim(2.0, scenario="consumer"), "metric": "speedup"}
    check, = analyze_method(CAT, KB, _method([assumed])).claims
    assert check["scenario"] == next(s.label for s in KB.scenarios.scenarios if s.id == "consumer")


def test_a_time_claim_without_a_device_is_held_against_the_highest_bound_of_the_gpus_that_hold_it():
    claim = _claim(2.0, model="llama-2-13b", batch=1, seq_len=1024, gen_len=64)
    check, = analyze_method(CAT, KB, _method([claim])).claims
    probe, bounds = _method([]), {}
    for gpu, hw in CAT.hardware.items():
        if KB.hardware[gpu].kind != "gpu" or not {"fp16", "bf16"} & set(hw.peaks):
            continue  # a GPU without a 16-bit peak would run the FP16 baseline at its FP32 rate
        at = Settings(batch=1, seq_len=1024, gen_len=64)
        base = lambda s, g=gpu: CAT.baseline("llama-2-13b", g, s)  # noqa: E731
        w4 = lambda s, g=gpu: CAT.run(probe, "llama-2-13b", g, s)  # noqa: E731
        end = replace(at, seq_len=1024 + 63)
        if any(run(at).memory.total_bytes > hw.memory_bytes or
               run(end).memory.weights_bytes + run(end).memory.kv_cache_bytes > hw.memory_bytes
               for run in (base, w4)) and hw.memory_bytes:
            continue  # the 26 GB FP16 model does not fit: the paper cannot have run there
        bounds[gpu] = decode_time(lambda c: base(replace(at, seq_len=c)).decode_token_s, at) / \
            decode_time(lambda c: w4(replace(at, seq_len=c)).decode_token_s, at)
    assert "nvidia-rtx-4090" not in bounds and "nvidia-a100-80gb" in bounds
    assert "nvidia-tesla-p40" not in CAT.gpus and "nvidia-a100-80gb" in CAT.gpus
    assert check["predicted"] == pytest.approx(max(bounds.values()), rel=1e-12)
    assert check["expected"] is None and check["verdict"] == "consistent"  # bound-only words: no device, no expected
    shown = check["setting"].split("llama-2-13b on ")[1].split(" ")[0]
    assert bounds[shown] == pytest.approx(max(bounds.values()), rel=1e-12)
    assert f"on {shown} (the most favourable of the {len(bounds)} catalogue GPUs that hold it)" in check["setting"]
    assert check["scenario"] and "names no device" in check["scenario"]


def test_the_most_favourable_gpu_is_named_also_when_the_model_is_split_over_devices():
    claim = _claim(2.0, model="llama-2-70b", tp=2, batch=1, seq_len=1024, gen_len=64)
    check, = analyze_method(CAT, KB, _method([claim])).claims
    assert check["predicted"] is not None
    assert re.search(r"on 2× [a-z0-9-]+ \(the most favourable of the \d+ catalogue GPUs that hold it\)",
                     check["setting"]), check["setting"]
