"""Parameter counts of every catalogue model against the publisher's figures (the file's `params` block).

Total and active within 3% (5% when the stated figure is only a size class, `size_class: true`); active per
token compared with `params_active` or, when the publisher leaves the input embedding out
(`active_without_embedding: true`), with `params_active_without_embedding`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kb.catalogue import load_model, model_ids

MODELS = Path(__file__).resolve().parents[2] / "kb" / "models"


def _params(model_id: str) -> dict | None:
    with open(MODELS / f"{model_id}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle).get("params")


WITH_PARAMS = [m for m in model_ids() if _params(m)]
# Files whose params block still needs a size_class / active_without_embedding flag (asked of the data
# helper on the status board); they pass as soon as the flag is there (xfail is not strict).
# deepseek-v2-lite: 2.66B active by our count (2.45B without the input embedding) against the card's 2.4B; the
# card does not say which convention it uses, so no flag is set and the mismatch stays visible.
AWAITING_FLAG = {"deepseek-v2-lite"}


def test_new_families_state_their_parameters():
    assert len(WITH_PARAMS) >= 10, WITH_PARAMS


@pytest.mark.parametrize("model_id", [pytest.param(m, marks=pytest.mark.xfail(reason="params flag pending"))
                                      if m in AWAITING_FLAG else m for m in WITH_PARAMS])
def test_parameter_counts_match_the_card(model_id):
    stated = _params(model_id)
    model = load_model(model_id)
    total = model.params_total / 1e9
    limit = 0.05 if stated.get("size_class") else 0.03
    assert abs(total / stated["total_b"] - 1) <= limit, f"total {total:.3f}B vs {stated['total_b']}B stated"
    active = (model.params_active_without_embedding if stated.get("active_without_embedding")
              else model.params_active) / 1e9
    assert abs(active / stated["active_b"] - 1) <= limit, f"active {active:.3f}B vs {stated['active_b']}B stated"
    if stated["total_b"] == stated["active_b"]:
        assert model.params_active == model.params_total  # a dense model uses every weight


def test_moe_active_counts_by_hand():
    """Mixtral 8x7B by hand: attention 32 x (2 x 4096^2 + 2 x 4096 x 1024) = 1.342B; experts 32 x 8 x 3 x 4096
    x 14336 = 45.10B of which 2/8 active; router 32 x 4096 x 8; norms 32 x 2 x 4096 + 4096; embeddings
    2 x 32000 x 4096 = 0.262B -> 46.70B total, 12.88B active."""
    m = load_model("mixtral-8x7b")
    attention = 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024)
    expert = 3 * 4096 * 14336
    rest = 32 * (4096 * 8 + 2 * 4096) + 4096 + 2 * 32000 * 4096
    assert m.params_total == attention + 32 * 8 * expert + rest
    assert m.params_active == attention + 32 * 2 * expert + rest
