"""Kernel claims (setting.kernel): one operator held against the roofline of its own rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from calculator import Settings
from kb.analysis import Catalogue, analyze_method
from kb.load import load
from kb.schema import Method

REPO = Path(__file__).resolve().parents[2]
KB = load(REPO)
CAT = Catalogue(KB)
W4 = {"kind": "quantization", "weights": {"bits": 4}}


def _method(claims: list[dict], effect: dict) -> Method:
    return Method(id="kernel-probe", name="Kernel probe", title="A probe", authors=["A. Author"], year=2024,
                  category="compression/quantization/ptq/weight-only", summary="x" * 40, effect=effect,
                  claims=claims, bibtex="@misc{probe2024, title = {A probe}}")


def _kernel(value: float, kernel: str, **setting) -> dict:
    return {"metric": "kernel_speedup", "value": value, "baseline": "cuBLAS FP16",
            "setting": {"kernel": kernel, **setting}, "source": "Table 1"}


def _rows(run, stage: str, names) -> float:
    return sum(r.count * r.time_s for r in getattr(run, stage).layers if r.name in names)


PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def test_a_linear_kernel_is_held_against_the_decoder_weight_matrices_only():
    setting = dict(model="llama-2-7b", hardware="nvidia-a10", batch=16, seq_len=1)
    check, = analyze_method(CAT, KB, _method([_kernel(3.0, "decode-linear", **setting)], W4)).claims
    at = Settings(batch=16, seq_len=1)
    base, w4 = CAT.baseline("llama-2-7b", "nvidia-a10", at), CAT.run(_method([], W4), "llama-2-7b", "nvidia-a10", at)
    by_hand = _rows(base, "decode", PROJECTIONS) / _rows(w4, "decode", PROJECTIONS)
    assert check["predicted"] == pytest.approx(by_hand, rel=1e-12)
    # 4x fewer weight bytes, the 16 activations per matrix unchanged: just under 4, far above the whole step's
    # ratio (which keeps lm_head at 16 bits).
    assert 3.5 < check["predicted"] < 4.0
    whole = base.decode.time_s / w4.decode.time_s
    assert check["predicted"] > whole
    assert check["verdict"] in ("plausible", "optimistic") and 1 < check["expected"] <= check["predicted"]
    assert check["setting"] == ("llama-2-7b on nvidia-a10, batch 16, kernel only: the decoder layers' weight "
                                "matrices (lm_head and router excluded) of one decode step")


def test_a_sparse_attention_kernel_is_held_against_the_attention_rows_of_one_decode_step():
    effect = {"kind": "sparse_attention", "decode_kv_budget": 2048}
    setting = dict(model="llama-2-7b", hardware="nvidia-a100-80gb", batch=1, seq_len=32768)
    low, high = analyze_method(CAT, KB, _method([_kernel(7.0, "decode-attention", **setting),
                                                 _kernel(40.0, "decode-attention", **setting)], effect)).claims
    assert low["predicted"] == pytest.approx(32768 / 2048, rel=0.02)  # KV bytes read, Q and O aside
    assert low["verdict"] == "plausible" and high["verdict"] == "beyond the bound"


def test_the_same_algorithm_in_another_kernel_has_a_bound_of_one():
    fused = {"kind": "operator_fusion", "flash_attention": True, "fused_elementwise": False}
    setting = dict(model="llama-2-7b", hardware="nvidia-a100-80gb", batch=1, seq_len=4096)
    against_unfused, against_flash = analyze_method(CAT, KB, _method([
        _kernel(3.0, "prefill-attention", **setting),
        _kernel(2.0, "prefill-attention", baseline_method="flashattention", **setting)], fused)).claims
    assert against_unfused["predicted"] > 2  # the unfused baseline writes and reads the score matrix
    assert against_flash["predicted"] == pytest.approx(1.0, rel=1e-12)
    assert against_flash["verdict"] == "beyond the bound"


def test_a_kernel_claim_without_an_operator_or_ids_says_which_is_missing():
    setting = dict(model="llama-2-7b", hardware="nvidia-a10")
    no_scope = {**_kernel(3.0, "decode-linear", **setting), "setting": setting}
    no_ids = _kernel(3.0, "decode-linear")
    a, b = analyze_method(CAT, KB, _method([no_scope, no_ids], W4)).claims
    assert a["reason"] == "kernel-only" and a["verdict"] == "not checkable"
    assert b["reason"] == "ids-missing"


def test_kb_check_refuses_a_kernel_scope_on_another_metric(toy):
    entry = toy / "kb/methods/toy-branch/toy-leaf/toy-method.yaml"
    old = "    setting: {model: toy-model, hardware: toy-gpu, batch: 1}"
    text = entry.read_text()
    assert old in text
    entry.write_text(text.replace(old, old[:-1] + ", kernel: decode-linear}"))
    problems = load(toy).problems
    assert any("setting.kernel is for metric kernel_speedup" in p.message and p.line for p in problems), problems


def test_a_claims_own_effect_replaces_the_entrys_for_that_claim_only():
    # Entry at a 2048-token budget; one claim timed at 1024: its bound is that of a 1024 budget, and its setting
    # says so; an entry of kind none can carry a whole effect for one claim.
    setting = dict(model="llama-2-7b", hardware="nvidia-a100-80gb", batch=1, seq_len=32768)
    effect = {"kind": "sparse_attention", "decode_kv_budget": 2048}
    at_entry, at_own = analyze_method(CAT, KB, _method([
        _kernel(7.0, "decode-attention", **setting),
        _kernel(7.0, "decode-attention", effect={"decode_kv_budget": 1024}, **setting)], effect)).claims
    assert at_own["predicted"] == pytest.approx(2 * at_entry["predicted"], rel=0.02)
    assert "with this claim's effect: decode_kv_budget 1024" in at_own["setting"]
    assert at_own["calculator_query"] is None and at_entry["calculator_query"]
    none = {"kind": "none", "reason": "no parameter for it in the entry"}
    whole, = analyze_method(CAT, KB, _method([_kernel(7.0, "decode-attention", effect=effect, **setting)],
                                             none)).claims
    assert whole["predicted"] == pytest.approx(at_entry["predicted"], rel=1e-12)


@pytest.mark.parametrize("changes, words", [
    ({"decode_kv_budget": 0}, "decode_kv_budget"),
    ({"decode_kv_read": 0.1}, "not both"),
    ({"kind": "serving", "allocator": "paged"}, "setting.serving"),
    ({"banana": 1}, "banana"),
])
def test_a_claims_own_effect_that_is_no_effect_is_refused_with_its_field(changes, words):
    effect = {"kind": "sparse_attention", "decode_kv_budget": 2048}
    with pytest.raises(ValueError) as err:
        _method([_kernel(7.0, "decode-attention", effect=changes)], effect)
    assert "claims.0.setting.effect" in str(err.value) and words in str(err.value)


def test_kb_check_names_the_line_of_a_bad_claim_effect(toy):
    entry = toy / "kb/methods/toy-branch/toy-leaf/toy-method.yaml"
    old = "    setting: {model: toy-model, hardware: toy-gpu, batch: 1}"
    text = entry.read_text()
    entry.write_text(text.replace(old, old[:-1] + ", effect: {kind: sparse_attention}}"))
    problems = load(toy).problems
    assert any("setting.effect" in p.message and p.line for p in problems), problems


def test_a_nested_claim_effect_reads_as_words_not_as_a_mapping():
    setting = dict(model="llama-2-7b", hardware="nvidia-a6000", batch=1, seq_len=16384)
    kv3 = {"kind": "quantization", "kv_cache": {"bits": 3}}
    at3, at4 = analyze_method(CAT, KB, _method([
        _kernel(3.0, "decode-attention", **setting),
        _kernel(3.0, "decode-attention", effect={"kv_cache": {"bits": 4}}, **setting)], kv3)).claims
    assert "with this claim's effect: kv_cache bits 4" in at4["setting"] and "{" not in at4["setting"]
    assert at4["predicted"] < at3["predicted"]  # 4-bit K/V read more bytes than 3-bit ones
