"""Issue 13: an analysis a reader can trust. Each test names the finding it holds (see the issue's list).

The analyses of every entry are computed once (kb.analysis.analyze_kb, as the site build does) and the
properties below hold on all of them, so a new entry that breaks one fails here with its id.
"""

from __future__ import annotations

import math
from html import unescape
import subprocess
import sys
import pytest

from calculator import Settings, compute_format
from calculator.effects import apply_effect, baseline, tokens_per_step
from kb.analysis import Catalogue, Request, analyze_kb, scenario_choice
from kb.analysis_pages import analysis_section, roofline_column
from kb.load import load
from tests.conftest import REPO

KB = load(REPO)
CAT = Catalogue(KB)
ANALYSES = analyze_kb(KB)
SCENARIOS = {sc.id: sc for sc in KB.scenarios.scenarios}


def _rows(method_id: str, scenario: str) -> dict:
    return {r["stage"]: r for r in ANALYSES[method_id].scenarios if r["scenario"] == scenario}


def _effect(method_id: str) -> dict:
    return KB.methods[method_id].effect.model_dump(exclude_none=True)


# --- finding 2: every baseline scenario fits its device; nothing that does not fit gets a latency ----------

@pytest.mark.parametrize("sc", KB.scenarios.scenarios, ids=lambda sc: sc.id)
def test_every_scenario_baseline_fits_its_device_at_the_last_token(sc):
    settings = Settings(batch=sc.batch, seq_len=sc.seq_len, gen_len=sc.gen_len, tp=sc.tp)
    run = lambda s: CAT.baseline(sc.model, sc.hardware, s)  # noqa: E731
    req = Request(run, settings, CAT.hardware[sc.hardware].memory_bytes)
    assert req.fits, f"{sc.id}: {req.memory_bytes / 2**30:.1f} GiB on {sc.hardware}"
    assert req.max_batch >= sc.batch
    limit = CAT.models[sc.model].max_position_embeddings
    assert not limit or sc.seq_len + sc.gen_len <= limit, f"{sc.id} exceeds {sc.model}'s context"


def test_no_row_shows_a_latency_for_a_setup_that_does_not_fit():
    seen_unfit = 0
    for method_id, a in ANALYSES.items():
        for r in a.scenarios:
            assert (r["baseline_time_s"] is None) == (not r["baseline_fits"]), method_id
            assert (r["method_time_s"] is None) == (not r["method_fits"]), method_id
            assert (r["speedup"] is None) == (not (r["baseline_fits"] and r["method_fits"])), method_id
            seen_unfit += not r["baseline_fits"] or not r["method_fits"]
    # FlashAttention's unfused baseline cannot hold a 32k score matrix: the page says so in words.
    assert seen_unfit
    page = analysis_section(ANALYSES)(KB.methods["flashattention"], "methods/flashattention.md")
    assert "baseline does not fit" in page and "the method fits" in page and "does not fit" in page


def test_the_memory_line_says_what_now_fits():
    page = analysis_section(ANALYSES)(KB.methods["kivi"], "methods/kivi.md")
    row = _rows("kivi", "long-generation")["decode"]  # the cache, not the prefill working set, sets the limit
    assert row["method_max_batch"] > 2 * row["baseline_max_batch"]
    assert f'that fit: {row["baseline_max_batch"]} → {row["method_max_batch"]}' in unescape(page)


# --- finding 3: each family is shown in its regime ----------------------------------------------------------

@pytest.mark.parametrize("method_id", ["h2o", "snapkv", "kivi", "streamingllm"])
def test_kv_cache_methods_are_shown_at_long_context_where_they_pay(method_id):
    a = ANALYSES[method_id]
    assert a.primary == "long-context" and "long contexts" in a.scenarios_why
    survey, long = _rows(method_id, "survey")["decode"], _rows(method_id, "long-context")["decode"]
    assert survey["speedup"] < 1.25 < long["speedup"]  # the survey's 2k tokens hide what the method is for


def test_speculative_methods_are_shown_at_batch_1_and_every_choice_says_why():
    for method_id in ("eagle-2", "medusa", "speculative-decoding-leviathan"):
        assert {SCENARIOS[r["scenario"]].batch for r in ANALYSES[method_id].scenarios} == {1}
    for choice in [KB.scenarios.default, KB.scenarios.architecture, *KB.scenarios.branches]:
        assert len(choice.why) > 40


def test_scenario_choice_takes_the_longest_taxonomy_prefix():
    assert scenario_choice(KB, KB.methods["kivi"]).scenarios[1] == "long-context"  # ptq/kv-cache, not compression
    assert scenario_choice(KB, KB.methods["awq"]).scenarios == ["survey", "consumer", "datacenter", "serving"]


# --- finding 4: architecture entries are their own model -----------------------------------------------------

def test_mixtral_is_analysed_against_a_dense_model_not_applied_to_another():
    rows = ANALYSES["mixtral"].scenarios
    assert rows and {(r["model"], r["baseline_model"]) for r in rows} == {("mixtral-8x7b", "llama-2-70b")}
    page = analysis_section(ANALYSES)(KB.methods["mixtral"], "methods/mixtral.md")
    assert "mixtral-8x7b against llama-2-70b" in unescape(page)
    res = subprocess.run([sys.executable, "-m", "calculator", "--model", "llama-3-70b", "--hardware",
                          "nvidia-h200", "--tp", "2", "--method", "mixtral"], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "is an architecture (model mixtral-8x7b)" in res.stderr


def test_gqa_is_compared_with_the_mha_form_of_the_same_model():
    row = _rows("gqa", "datacenter")["decode"]
    assert row["model"] == row["baseline_model"] == "llama-2-70b"
    assert row["method_max_batch"] > 4 * row["baseline_max_batch"]  # 8 KV heads against 64
    assert _effect("gqa")["baseline_changes"] == {"num_key_value_heads": 64}


def test_every_architecture_entry_names_catalogue_models():
    entries = [m for m in KB.methods.values() if m.effect.kind == "architecture"]
    assert len(entries) >= 3
    for m in entries:
        assert m.effect.model in KB.models and m.effect.baseline in KB.models, m.id


# --- finding 5: one rule for every draft-based method --------------------------------------------------------

def test_draft_based_methods_are_all_speculative_with_a_charged_draft():
    for method_id in ("eagle", "eagle-2", "eagle-3", "hass", "medusa", "sequoia", "layerskip"):
        e = _effect(method_id)
        assert e["kind"] == "speculative", method_id
        assert any(k in e for k in ("draft_model", "draft_layers", "draft_cost")), method_id
    # EAGLE-2's 60-token tree is verified in one pass: compute, not one step's weights, sets its price.
    changed = " ".join(c for r in ANALYSES["eagle-2"].scenarios for c in r["changed_bounds"])
    assert "attention: memory -> compute" in changed


# --- finding 6: the calculator links compare the plain baseline (A) with the method (B) ----------------------

def test_method_page_links_open_the_baseline_in_a_and_the_method_in_b():
    page = analysis_section(ANALYSES)(KB.methods["h2o"], "methods/h2o.md")
    href = page[page.index('class="kb-calc-link" href="') + 27:]
    href = href[:href.index('"')].replace("&amp;", "&")
    assert "&b_method=h2o" in href and "&method=" not in href
    assert "model=llama-3.1-8b&hardware=nvidia-a100-80gb&batch=8&seq_len=32768" in href
    fa = analysis_section(ANALYSES)(KB.methods["flashattention"], "methods/flashattention.md")
    assert "&amp;flash=0&amp;" in fa  # its baseline is the unfused form


# --- finding 7: the category tables and pages say the numbers are ideal bounds and what they ignore --------

def test_category_column_is_an_ideal_bound_in_the_main_scenario():
    column = roofline_column(ANALYSES)
    assert "ideal bound" in column.title
    assert column.cells["h2o"].endswith("(long context (32k))")


@pytest.mark.parametrize("method_id, words", [
    ("gptq", "quantization scales: none are counted"),
    ("llm-int8", "the outlier decomposition"),
    ("awq", "the dequantization arithmetic of weight-only kernels"),
])
def test_pages_name_what_a_bound_ignores(method_id, words):
    page = analysis_section(ANALYSES)(KB.methods[method_id], f"methods/{method_id}.md")
    assert "ideal bound" in page and words in unescape(page)


# --- finding 8: every effect is physically bounded ------------------------------------------------------------

def _mechanism_limit(effect: dict) -> tuple[float, float] | None:
    """(largest decode speedup, largest prefill speedup) the mechanism allows, or None when not bounded here."""
    kind = effect["kind"]
    if kind in ("quantization", "data_format"):
        bits = [effect.get(k, {}).get("bits", 16) for k in ("weights", "activations", "kv_cache")] \
            if kind == "quantization" else [effect.get("weights_bits") or 16, effect.get("activations_bits") or 16]
        low = min(bits)
        return 16 / low, 16 / low  # bytes shrink at most 16/bits (the device's low-bit peak ratio: see below)
    if kind in ("speculative", "parallel_decoding"):
        return tokens_per_step(effect), 1.0
    if kind == "sparsity":
        kept = effect["n"] / effect["m"] if effect["pattern"] == "n:m" else 1 - effect["sparsity"]
        return 1 / kept, 1 / kept
    if kind == "kv_compression":
        return 1 / effect["kv_kept"], 1.0
    if kind == "early_exit":
        return 1 / effect["average_depth"], 1.0
    if kind == "contextual_sparsity":
        active = min(effect.get("mlp_active", 1), effect.get("heads_active", 1))
        return 1 / active, 1.0
    if kind in ("low_rank", "distillation") and "student" not in effect:
        return 1 / effect["params_kept"], 1 / effect["params_kept"]
    if kind == "offloading":
        return 1.0, 1.0
    return None


MODELLED = sorted(k for k, a in ANALYSES.items() if a.scenarios)


def test_most_entries_are_modelled():
    assert len(MODELLED) > 300


@pytest.mark.parametrize("method_id", MODELLED)
def test_no_bound_speedup_exceeds_what_the_mechanism_allows(method_id):
    limit = _mechanism_limit(_effect(method_id))
    for r in ANALYSES[method_id].scenarios:
        if r["speedup"] is None:
            continue
        assert r["speedup"] > 0 and math.isfinite(r["speedup"])
        if limit is not None:
            cap = limit[0] if r["stage"] == "decode" else limit[1]
            if _effect(method_id)["kind"] in ("quantization", "data_format"):
                hw = CAT.hardware[r["hardware"]]  # compute-bound rows gain at most the peak ratio
                cap = max(cap, max(hw.peaks.values()) / compute_format(16, "int", hw)[1])
            assert r["speedup"] <= cap * (1 + 1e-9), (r["scenario"], r["stage"], r["speedup"], cap)


@pytest.mark.parametrize("method_id", MODELLED[::7])  # a seventh of the entries: every row of each
def test_no_effect_makes_a_layer_faster_than_its_own_roof(method_id):
    sc = SCENARIOS[ANALYSES[method_id].primary]
    settings = Settings(batch=sc.batch, seq_len=sc.seq_len, gen_len=sc.gen_len, tp=sc.tp)
    effect = _effect(method_id)
    if effect["kind"] == "architecture":
        out = CAT.baseline(effect["model"], sc.hardware, settings, effect.get("model_changes"))
    else:
        out = CAT.run(KB.methods[method_id], sc.model, sc.hardware, settings)
    bw = CAT.hardware[sc.hardware].memory_bandwidth
    for stage in (out.prefill, out.decode):
        for row in stage.layers:
            if row.bound == "interconnect":
                continue
            roof = max(row.ops / row.peak_ops_per_s, row.bytes / bw)
            assert row.time_s >= roof * (1 - 1e-12), (stage.name, row.name)


def test_weight_only_4_bit_decode_at_batch_1_is_close_to_the_byte_ratio_and_prefill_unchanged():
    """AWQ (W4 g128) on the survey setting: decode speedup within 10% of the decode step's byte ratio."""
    model, hw = CAT.models["llama-2-7b"], CAT.hardware["nvidia-a6000"]
    s = Settings(batch=1, seq_len=2048, gen_len=128)
    base = baseline(model, hw, s)
    w4 = apply_effect(model, hw, s, _effect("awq"))
    ratio = base.decode.bytes / w4.decode.bytes
    survey = _rows("awq", "survey")
    assert survey["decode"]["speedup"] == pytest.approx(ratio, rel=0.10)
    assert survey["prefill"]["speedup"] == pytest.approx(1.0, abs=0.01)


def test_2_bit_kv_cache_at_long_context_and_large_batch_is_well_above_1x():
    # 8 x 33k tokens of 16-bit cache (35 GB) against 16 GB of weights: 2-bit keys and values more than halve
    # the step; the survey's 2k tokens show almost nothing.
    assert _rows("kivi", "long-context")["decode"]["speedup"] > 2.0
    assert _rows("kivi", "long-generation")["decode"]["speedup"] > 1.7
    assert _rows("kivi", "survey")["decode"]["speedup"] < 1.1
