"""Help wanted lists the claims that more of the paper's setting would give a verdict (issue 17), and none of
those outside a per-step roofline by nature."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kb.gaps import gaps_page, waiting_claims
from kb.load import load
from kb.schema import Method

KB = load(Path(__file__).resolve().parents[2])


def _claim(value: float, reason: str | None = None, explanation: str | None = None, **setting) -> dict:
    claim = {"metric": "decode_speedup", "value": value, "baseline": "FP16", "setting": setting,
             "source": "Table 2"}
    if reason:
        claim["outside_roofline"] = {"reason": reason, **({"explanation": explanation} if explanation else {})}
    return claim


def _method(mid: str, claims: list[dict], effect: dict | None = None) -> Method:
    return Method(id=mid, name=mid.title(), title="A probe", authors=["A. Author"], year=2024,
                  category="compression/quantization/ptq/weight-only", summary="x" * 40,
                  effect=effect or {"kind": "quantization", "weights": {"bits": 4}},
                  claims=claims, bibtex="@misc{probe2024, title = {A probe}}")


def test_waiting_claims_are_listed_with_their_reason_and_escaped():
    probe = _method("probe-wait", [
        _claim(2.0, "kernel-only", "no shape <script>alert(1)</script> given"),
        _claim(3.0, "unmodelled-system", "cluster scheduling"),
        _claim(1.5, model="llama-2-7b", hardware="nvidia-a100-80gb"),
    ])
    none = _method("probe-none", [_claim(1.4), _claim(1.6, effect={"kind": "token_reduction", "output_kept": 0.5})],
                   {"kind": "none", "reason": "fewer reasoning tokens"})
    listed = waiting_claims([probe, none])
    assert [(m.id, i) for m, i, _ in listed] == [("probe-wait", 0), ("probe-none", 0)]
    page = gaps_page(replace(KB, methods={probe.id: probe, none.id: none}))
    section = page.split("## Claims waiting for their setting (2)")[1].split("\n## ")[0]
    assert "decode speedup 2x (Table 2)" in section and "fewer reasoning tokens" in section
    assert "cluster scheduling" not in section            # outside by nature: not a to-do
    assert "<script" not in section and "alert" in section


def test_the_real_help_wanted_page_lists_every_waiting_claim():
    page = gaps_page(KB)
    waiting = waiting_claims(list(KB.methods.values()))
    assert waiting and f"## Claims waiting for their setting ({len(waiting)})" in page
