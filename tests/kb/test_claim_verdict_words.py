"""Issue 16.4: two-sided claim verdicts. A time claim is judged against its expected ratio (calibrated
expected times of both sides) and its roofline bound: plausible, optimistic, beyond the bound. A claim
without an expected value (memory reductions, serving comparisons) keeps the bound-only words."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from kb.analysis import (ABOVE, BEYOND, CONSISTENT, NOT_CHECKABLE, OPTIMISTIC, OVER_BOUND, PLAUSIBLE, TOLERANCE,
                         VERDICTS, Catalogue, analyze_method, verdict)
from kb.analysis_pages import VERDICT_WORDS, analysis_section, claims_page
from kb.load import load
from kb.schema import ClaimCheck, Method

REPO = Path(__file__).resolve().parents[2]
KB = load(REPO)
CAT = Catalogue(KB)
SETTING = dict(model="llama-2-7b", hardware="nvidia-a6000", batch=4, seq_len=1024, gen_len=256)


def _method(claims: list[dict], effect: dict | None = None) -> Method:
    return Method(id="w4-words", name="W4 words", title="A probe", authors=["A. Author"], year=2024,
                  category="compression/quantization/ptq/weight-only", summary="x" * 40,
                  effect=effect or {"kind": "quantization", "weights": {"bits": 4}},
                  claims=claims, bibtex="@misc{probe2024, title = {A probe}}")


def _claim(value: float, metric: str = "decode_speedup", **setting) -> dict:
    return {"metric": metric, "value": value, "baseline": "FP16", "setting": setting or SETTING,
            "source": "Table 1"}


def test_the_words_follow_the_expected_value_and_the_bound():
    assert verdict(2.0, None, 1.5) == NOT_CHECKABLE
    assert verdict(1.6, 3.0, 1.5) == PLAUSIBLE            # within 1.1x of the expected ratio
    assert verdict(1.5 * TOLERANCE, 3.0, 1.5) == PLAUSIBLE  # the tolerance is inclusive
    assert verdict(2.5, 3.0, 1.5) == OPTIMISTIC           # above the expected ratio, within the bound
    assert verdict(3.0 * TOLERANCE, 3.0, 1.5) == OPTIMISTIC
    assert verdict(3.5, 3.0, 1.5) == BEYOND
    assert verdict(0.5, 3.0, 1.5) == PLAUSIBLE            # a modest claim is plausible
    # no expected value: the bound-only words
    assert verdict(3.0, 3.0) == CONSISTENT and verdict(3.5, 3.0) == ABOVE
    # an expected ratio above the bound (both sides' efficiencies differ) cannot make a claim optimistic
    assert verdict(3.1, 3.0, 3.2) == PLAUSIBLE
    # ... nor put a claim within 1.1x of that expected ratio beyond the bound; above both it is beyond
    assert verdict(3.4, 3.0, 3.2) == PLAUSIBLE and verdict(3.6, 3.0, 3.2) == BEYOND
    assert set(OVER_BOUND) == {BEYOND, ABOVE} and len(set(VERDICTS)) == len(VERDICTS)


def test_a_decode_claim_gets_each_word_at_its_expected_value_and_bound():
    probe, = analyze_method(CAT, KB, _method([_claim(1.0)])).claims
    bound, expected = probe["predicted"], probe["expected"]
    assert expected is not None and 1 < expected < bound  # real runs gain less than the ideal bound here
    values = [expected * 0.9, expected * TOLERANCE * 1.01, bound * TOLERANCE * 0.99, bound * TOLERANCE * 1.01]
    checks = analyze_method(CAT, KB, _method([_claim(v) for v in values])).claims
    assert [c["verdict"] for c in checks] == [PLAUSIBLE, OPTIMISTIC, OPTIMISTIC, BEYOND]
    assert all(c["expected"] == pytest.approx(expected) and c["predicted"] == pytest.approx(bound) for c in checks)
    for c in checks:  # the export schema accepts every word
        ClaimCheck.model_validate({k: v for k, v in c.items() if k in ClaimCheck.model_fields})


def test_a_memory_claim_has_no_expected_value_and_keeps_the_bound_words():
    kv4 = {"kind": "quantization", "kv_cache": {"bits": 4}}
    low, high = analyze_method(CAT, KB, _method([_claim(1.1, "memory_reduction"), _claim(50.0, "memory_reduction")],
                                                kv4)).claims
    assert low["expected"] is None and high["expected"] is None
    assert low["verdict"] == CONSISTENT and high["verdict"] == ABOVE


def test_a_max_batch_throughput_claim_gets_an_expected_value_at_the_batches_of_its_bound():
    kv4 = {"kind": "quantization", "kv_cache": {"bits": 4}}
    setting = dict(SETTING, seq_len=2048, gen_len=2048, max_batch=True)
    check, = analyze_method(CAT, KB, _method([_claim(2.0, "throughput_gain", **setting)], kv4)).claims
    assert check["predicted"] > 1 and check["expected"] is not None
    # a 4-bit cache fits about 4x the sequences on a 48 GB card: the gain is larger than one batch's
    assert check["expected"] > 1.2
    assert check["verdict"] == verdict(2.0, check["predicted"], check["expected"])


def test_pages_show_claimed_expected_and_bound_side_by_side_and_define_the_words():
    values = [1.0, 50.0]
    probe = _method([_claim(v) for v in values] + [_claim(1.2, "memory_reduction")])
    analyses = {probe.id: analyze_method(CAT, KB, probe)}
    checks = analyses[probe.id].claims
    section = analysis_section(analyses)(probe, "methods/w4-words.md")
    head = next(line for line in section.splitlines() if line.startswith("| Claim"))
    assert head.index("Claimed") < head.index("Expected") < head.index("Roofline bound") < head.index("Verdict")
    for c in checks:
        row = next(line for line in section.splitlines() if f'| {c["claimed"]:g}x |' in line)
        assert f'**{c["verdict"]}**' in row and f'{c["predicted"]:.2f}x' in row
        assert (f'{c["expected"]:.2f}x' if c["expected"] else "—") in row
    assert VERDICT_WORDS in section and "*optimistic*" in VERDICT_WORDS
    page = claims_page(replace(KB, methods={probe.id: probe}), analyses)
    assert VERDICT_WORDS in page and "Expected / bound" in page
    assert f'{checks[0]["expected"]:.2f}x / {checks[0]["predicted"]:.2f}x' in page
    # the counts name every word used, two-sided words first
    counts = next(line for line in page.splitlines() if "claims have a verdict" in line)
    assert counts.index(checks[0]["verdict"]) < counts.index(BEYOND) < counts.index(CONSISTENT)


def test_a_hostile_explanation_is_escaped_in_the_verdict_cell():
    claim = {**_claim(50.0), "explanation": "baseline <script>alert(1)</script> & eager"}
    probe = _method([claim])
    analyses = {probe.id: analyze_method(CAT, KB, probe)}
    section = analysis_section(analyses)(probe, "methods/w4-words.md")
    page = claims_page(replace(KB, methods={probe.id: probe}), analyses)
    for out in (section, page):
        assert "<script" not in out and "alert" in out  # shown, as text (kb.markup entities)


def test_every_outside_reason_has_a_heading_on_the_claims_page():
    from typing import get_args

    from kb.analysis_pages import REASON_WORDS
    from kb.schema import OUTSIDE_ROOFLINE, OutsideReason
    reasons = set(get_args(OutsideReason))
    assert reasons == set(OUTSIDE_ROOFLINE)          # the Literal and the sentences list the same words
    assert reasons <= set(REASON_WORDS)              # a new reason would otherwise show as its raw id


def test_a_side_that_does_not_fit_the_paper_device_is_said_beside_the_verdict():
    # FP16 Llama-2-70B (about 140 GB of weights) cannot run on one A100 80GB; its W4 form can.
    big = dict(model="llama-2-70b", hardware="nvidia-a100-80gb", batch=1, seq_len=512, gen_len=128)
    small = dict(SETTING, hardware="nvidia-a100-80gb")
    over, fits = analyze_method(CAT, KB, _method([_claim(2.0, **big), _claim(2.0, **small)])).claims
    assert over["predicted"] is not None  # still judged: a split by layers keeps one device's time
    assert "the baseline needs 1" in over["setting"] and "the method needs" not in over["setting"]
    assert "more than the 86 GB of nvidia-a100-80gb" in over["setting"]
    assert "needs" not in fits["setting"]
    # a memory ratio does not run anything: no such words
    mem, = analyze_method(CAT, KB, _method([_claim(3.0, "memory_reduction", **big)])).claims
    assert "needs" not in mem["setting"]


def test_a_baseline_on_more_devices_runs_at_its_own_device_count():
    one = dict(model="llama-2-13b", hardware="nvidia-a100-40gb", batch=1, seq_len=512, gen_len=128)
    two = dict(one, baseline_tp=2)
    same, split, split_tput, per_gpu = analyze_method(CAT, KB, _method([
        _claim(1.5, **one), _claim(1.5, **two), _claim(1.5, "throughput_gain", **two),
        _claim(1.5, "throughput_gain", **two, per_device=True)])).claims
    # FP16 over two devices reads half the weights per device: the 4-bit model on one gains less against it
    assert 1 < split["predicted"] < same["predicted"]
    assert split["expected"] < same["expected"]
    assert "the baseline on 2× nvidia-a100-40gb" in split["setting"] and split["calculator_query"] is None
    # tokens per device-second: the baseline's rate over its two devices
    assert per_gpu["predicted"] == pytest.approx(2 * split_tput["predicted"])
    assert per_gpu["expected"] == pytest.approx(2 * split_tput["expected"])
    assert "tokens/s per device" in per_gpu["setting"]


@pytest.mark.parametrize("metric, setting, field", [
    ("memory_reduction", dict(SETTING, baseline_tp=2), "baseline_tp"),
    ("decode_speedup", dict(SETTING, per_device=True), "per_device"),
])
def test_a_baseline_device_count_is_refused_where_it_means_nothing(metric, setting, field):
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match=f"setting.{field}"):
        _method([_claim(2.0, metric, **setting)])


def test_the_claims_page_splits_the_unjudged_into_outside_by_nature_and_waiting():
    system = {**_claim(3.0), "outside_roofline": {"reason": "unmodelled-system"}}
    kernel = {**_claim(3.0), "outside_roofline": {"reason": "kernel-only"}}
    probe = _method([_claim(1.2), system, system, kernel])
    analyses = {probe.id: analyze_method(CAT, KB, probe)}
    page = claims_page(replace(KB, methods={probe.id: probe}), analyses)
    assert "1 of 4 claims have a verdict" in page
    assert "Of the 3 without one, 2 lie outside what a per-step roofline" in page
    assert "1 could get one once their entry holds more" in page


def test_a_baseline_with_its_own_effect_runs_that_effect():
    # W4 held against an unnamed 8-bit-weight baseline: the bound is the W8-over-W4 ratio, below W4-over-FP16
    plain, w8 = analyze_method(CAT, KB, _method([
        _claim(1.5), _claim(1.5, **SETTING, baseline_effect={"kind": "quantization", "weights": {"bits": 8}})])).claims
    assert 1 < w8["predicted"] < plain["predicted"] and w8["expected"] < plain["expected"]
    assert "against a baseline run with quantization (weights bits 8)" in w8["setting"]
    assert w8["calculator_query"] is None


@pytest.mark.parametrize("setting, words", [
    (dict(SETTING, baseline_effect={"weights": {"bits": 8}}), "give a whole effect, with its kind"),
    (dict(SETTING, baseline_effect={"kind": "quantization", "weights": {"bits": 8}}, baseline_method="gptq"),
     "not both"),
    (dict(SETTING, baseline_effect={"kind": "quantization", "weights": {"bits": 7}}), "baseline_effect"),
])
def test_a_baseline_effect_that_cannot_run_is_refused_with_its_field(setting, words):
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="claims.0.setting.baseline_effect") as err:
        _method([_claim(2.0, **setting)])
    assert words in str(err.value)


def test_both_sides_streaming_their_weights_from_host_memory():
    spec = {"kind": "speculative", "draft_length": 6, "tokens_per_step": 5.0, "draft_cost": 0.02}
    setting = dict(model="llama-2-13b", hardware="nvidia-rtx-4090", batch=1, seq_len=512, gen_len=128)
    on_device, offloaded = analyze_method(CAT, KB, _method([
        _claim(4.0, **setting), _claim(4.0, **setting, host_resident={"weights": 1.0})], spec)).claims
    # on the device the step is short and drafts weigh; over PCIe the target pass dominates: near 5 tokens/step
    assert on_device["predicted"] < offloaded["predicted"] < 5.0 and offloaded["predicted"] > 4.5
    assert offloaded["expected"] is None and offloaded["calculator_query"] is None
    assert "both sides with 100% of the weights in host memory" in offloaded["setting"]
    assert "needs" not in offloaded["setting"]  # 26 GB of FP16 weights do not have to fit the 24 GB card now


@pytest.mark.parametrize("metric, extra", [("memory_reduction", {}), ("throughput_gain", {"max_batch": True})])
def test_host_resident_shares_are_refused_where_they_mean_nothing(metric, extra):
    from pydantic import ValidationError
    with pytest.raises(ValidationError, match="setting.host_resident"):
        _method([_claim(2.0, metric, **SETTING, **extra, host_resident={"weights": 1.0})])


def test_a_claim_above_its_bound_says_how_far_below_its_roof_the_baseline_ran():
    probe = _method([_claim(50.0), _claim(1.0), _claim(50.0, "memory_reduction")])
    analyses = {probe.id: analyze_method(CAT, KB, probe)}
    beyond, within, memory = analyses[probe.id].claims
    assert beyond["verdict"] == BEYOND and beyond["baseline_share"] == pytest.approx(beyond["predicted"] / 50)
    assert within["baseline_share"] is None and memory["baseline_share"] is None  # not a speed
    words = f"Implies the baseline ran at no more than {beyond['baseline_share']:.0%} of its roofline speed"
    section = analysis_section(analyses)(probe, "methods/w4-words.md")
    page = claims_page(replace(KB, methods={probe.id: probe}), analyses)
    assert words in section and words in page
    ClaimCheck.model_validate({k: v for k, v in beyond.items() if k in ClaimCheck.model_fields})
