"""Serving effects (kind serving, issue 15.8): PagedAttention, SARATHI(-Serve), DeepSpeed-FastGen and DistServe are
compared as two servers by calculator.serving.compare; the schema refuses an effect compare() would not analyse as
written, and the single-run calculator (CLI --method, apply_effect) refuses it with one line naming --stage serve."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from calculator import CalculatorError, Settings
from calculator.effects import apply_effect
from kb.analysis import Catalogue, analyze_kb, claim_check, serving_effect
from kb.analysis_pages import analysis_section
from kb.load import load
from kb.schema import Method, ServingEffect

REPO = Path(__file__).resolve().parents[2]
KB = load(REPO)
CAT = Catalogue(KB)
PAGED = {"kind": "serving", "allocator": "paged", "block_size": 16, "baseline_allocator": "reserve"}


def _method(effect: dict, claims: list | None = None) -> Method:
    return Method(id="serving-probe", name="Serving probe", title="A probe", authors=["A. Author"], year=2024,
                  category="system/memory-management", summary="x" * 40, effect=effect, claims=claims or [],
                  bibtex="@misc{probe2024, title = {A probe}}")


@pytest.mark.parametrize("effect", [
    PAGED,
    {"kind": "serving", "allocator": "reserve", "max_seq_len": 4096},
    {"kind": "serving", "token_budget": 512, "tpot_limit_s": 0.1},
    {"kind": "serving", "token_budget": 256},
    {"kind": "serving", "disaggregated": True, "ttft_limit_s": 0.25, "tpot_limit_s": 0.1, "prefill_tp": 2},
])
def test_a_serving_effect_with_one_mode_validates(effect):
    assert ServingEffect(**effect).kind == "serving"


@pytest.mark.parametrize("effect, words", [
    ({"kind": "serving"}, "exactly one of allocator, token_budget and disaggregated"),
    ({"kind": "serving", "allocator": "paged", "token_budget": 512}, "exactly one of"),
    ({"kind": "serving", "allocator": "paged", "tpot_limit_s": 0.1}, "tpot_limit_s has no meaning with allocator"),
    ({"kind": "serving", "allocator": "reserve", "block_size": 16}, "block_size describes the paged allocator"),
    ({"kind": "serving", "allocator": "paged", "max_seq_len": 16}, "max_seq_len is the reservation"),
    ({"kind": "serving", "allocator": "paged", "baseline_allocator": "paged", "baseline_max_seq_len": 9},
     "baseline_max_seq_len is the reservation of a reserving baseline"),
    ({"kind": "serving", "disaggregated": True}, "give ttft_limit_s, tpot_limit_s or both"),
    ({"kind": "serving", "token_budget": 512, "prefill_tp": 2}, "prefill_tp has no meaning with token_budget"),
    ({"kind": "serving", "token_budget": 0}, "greater than 0"),
    ({"kind": "serving", "allocator": "buddy"}, "paged"),
])
def test_a_serving_effect_compare_would_not_analyse_is_refused(effect, words):
    with pytest.raises(ValidationError, match=words):
        ServingEffect(**effect)


def test_a_claims_serving_changes_must_fit_the_entrys_effect():
    claim = {"metric": "throughput_gain", "value": 2, "baseline": "Orca", "source": "Table 1",
             "setting": {"model": "opt-13b", "hardware": "nvidia-a100-40gb", "serving": {"baseline_max_seq_len": 1}}}
    assert _method(PAGED, [claim]).claims[0].setting.serving.baseline_max_seq_len == 1
    with pytest.raises(ValidationError, match="changes a serving effect; this entry's effect is quantization"):
        _method({"kind": "quantization", "weights": {"bits": 4}}, [claim])
    bad = {**claim, "setting": {**claim["setting"], "serving": {"token_budget": 512}}}
    with pytest.raises(ValidationError, match=r"claims.0.setting.serving: a serving effect needs exactly one"):
        _method(PAGED, [bad])


def test_the_single_run_calculator_refuses_a_serving_effect_naming_stage_serve():
    with pytest.raises(CalculatorError) as err:
        apply_effect(CAT.models["opt-13b"], CAT.hardware["nvidia-a100-40gb"], Settings(), PAGED)
    message = str(err.value)
    assert "\n" not in message
    assert message == ("effect kind serving changes what a loaded server holds or schedules, not one forward pass: "
                       "analyse it with --stage serve --allocator paged --block-size 16")
    with pytest.raises(CalculatorError, match="--stage serve --token-budget 768 --ttft 5.078 --tpot 0.25"):
        apply_effect(CAT.models["opt-13b"], CAT.hardware["nvidia-a100-40gb"], Settings(),
                     {"kind": "serving", "token_budget": 768, "ttft_limit_s": 5.078, "tpot_limit_s": 0.25})


def test_the_cli_refuses_method_pagedattention_in_one_line(capsys):
    from calculator.cli import main

    for extra in ([], ["--stage", "serve"]):
        code = main(["--model", "opt-13b", "--hardware", "nvidia-a100-40gb", "--method", "pagedattention"] + extra)
        err = capsys.readouterr().err.strip()
        assert code != 0 and len(err.splitlines()) == 1, err
        assert "--allocator paged --block-size 16" in err


def test_pagedattention_capacity_in_the_papers_setting_by_hand():
    """OPT-13B on an A100 40GB, ShareGPT's mean request 161 + 338 tokens (PagedAttention Figure 11): a request ends
    with 161 + 338 - 1 = 498 cached tokens. Reserving OPT's 2048 positions wastes (2048 - 498) / 2048 = 75.7% of
    each reservation; blocks of 16 hold 512 slots, (512 - 498) / 512 = 2.7% unused. With the weights
    (25.7e9 B) and 819,200 B of cache per token (2 x 40 layers x 5120 x 2 B), the 40 GiB device holds 10 reserving
    requests (1.68e9 B each) and 39 paged ones (0.42e9 B each plus the prompt's activations)."""
    out = analyze_kb(KB, ["pagedattention"])["pagedattention"]
    paper = out.serving[0]
    assert paper["scenario"] == "paper" and (paper["model"], paper["hardware"]) == ("opt-13b", "nvidia-a100-40gb")
    rows = {r[0]: r[1:] for r in paper["rows"]}
    assert rows["Requests that fit (capacity)"] == [10, 39]
    assert rows["Reserved KV slots never used"] == ["75.7%", "2.7%"]
    assert paper["gain"] > 2.5  # fewer than 39/10 = 3.9x: the throughput curve flattens as the batch grows
    # the standard serving scenario too
    serving = next(c for c in out.serving if c["scenario"] == "serving")
    assert serving["gain"] > 1 and rows  # more sequences fit, so more tokens/s at capacity


def test_pagedattention_page_shows_the_capacity_gain_and_its_claims_verdicts():
    analyses = analyze_kb(KB, ["pagedattention"])
    text = analysis_section(analyses)(KB.methods["pagedattention"], "methods/pagedattention.md")
    assert "Requests that fit" in text and "| 10 | 39 |" in text
    assert "--stage serve --allocator paged --block-size 16" in text
    assert "Open in the live calculator" not in text  # no single-run comparison for a serving method
    judged = [c for c in analyses["pagedattention"].claims if c["predicted"] is not None]
    assert len(judged) == 4
    first = judged[0]
    assert first["verdict"] == "consistent" and first["claimed"] == 2 and first["predicted"] > 2
    assert "batch" not in first["setting"].split(";")[0]  # each side runs at its own capacity
    # every claim above the bound says why
    assert all(c["explanation"] for c in judged if c["verdict"] == "above the roofline bound")


def test_an_oracle_baseline_leaves_paging_only_the_block_rounding():
    method = KB.methods["pagedattention"]
    oracle = claim_check(CAT, method, method.claims[1], KB.methods, KB.scenarios)
    assert serving_effect(method, method.claims[1])["baseline_max_seq_len"] == 1
    assert 0.9 < oracle["predicted"] <= 1.0  # 40 exact reservations against 39 paged requests


@pytest.mark.parametrize("method_id", ["sarathi", "sarathi-serve", "deepspeed-fastgen", "distserve"])
def test_the_serving_entries_analyse_and_their_throughput_claims_get_a_verdict_or_a_serving_reason(method_id):
    a = analyze_kb(KB, [method_id])[method_id]
    assert a.serving and all("error" not in c for c in a.serving)
    for c in a.claims:
        if c["metric"] == "throughput_gain" and c["reason"] is None:
            assert c["predicted"] is not None
        assert c["reason"] not in ("effect-none", "calculator-error"), (method_id, c["why"])


def test_a_baseline_that_meets_no_limit_gives_an_unbounded_gain_not_an_error():
    method = KB.methods["deepspeed-fastgen"]
    c = claim_check(CAT, method, method.claims[0], KB.methods, KB.scenarios)
    assert c["reason"] == "serving-unbounded" and c["predicted"] is None


def test_the_glance_box_and_category_tables_quote_the_serving_gain():
    from kb.analysis_pages import roofline_column
    from kb.glance import glance_items

    analyses = analyze_kb(KB, ["pagedattention"])
    items = dict(glance_items(KB, analyses)["pagedattention"])
    assert any("39 vs 10 requests fit" in v and "2.90x" in v for v in items.values()), items
    assert "output tokens/s at capacity" in roofline_column(analyses).cells["pagedattention"]
    offload = analyze_kb(KB, ["flexgen"])
    assert "output tokens/s with offloading" in roofline_column(offload).cells["flexgen"]
    assert "goodput" not in roofline_column(offload).cells["flexgen"]


@pytest.mark.parametrize("method_id", ["flexgen", "orca"])
def test_the_redo_line_of_an_engine_comparison_runs_and_gives_the_page_gain(method_id):
    """Scheduling and offload comparisons have no --stage serve flags: the page gives a Python call instead, and
    that call, run as printed, returns the gain the page shows."""
    from kb.analysis_pages import serving_section

    method = KB.methods[method_id] if isinstance(KB.methods, dict) else next(m for m in KB.methods if m.id == method_id)
    a = analyze_kb(KB, only=[method_id])[method_id]
    line = next(ln for ln in serving_section(method, a).splitlines() if ln.startswith("Redo the comparison in Python"))
    code = line.split("`")[1]
    *imports, call = code.split("; ")
    scope: dict = {}
    exec("\n".join(imports), scope)
    out = eval(call, scope)
    first = next(c for c in a.serving if not c.get("error"))
    assert out["gain"] == pytest.approx(first["gain"], rel=1e-12)
    assert "basis" not in call and "ignores" not in call
