"""Shared fixtures: catalogue test data under fixtures/ read through kb.catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from calculator import Settings, analyze
from kb.catalogue import load_hardware, load_model

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = str(FIXTURES)


def model(model_id: str):
    return load_model(model_id, ROOT)


def hardware(hardware_id: str):
    return load_hardware(hardware_id, ROOT)


def run(model_id="llama-2-7b", hardware_id="nvidia-a6000", **settings):
    return analyze(model(model_id), hardware(hardware_id), Settings(**settings))


REAL_CATALOGUE = Path(__file__).resolve().parents[2] / "kb"
_SOURCES = ["fixtures"]
if (REAL_CATALOGUE / "models" / "llama-2-7b.yaml").exists() and (
    REAL_CATALOGUE / "hardware" / "nvidia-a6000.yaml"
).exists():
    _SOURCES.append("catalogue")


@pytest.fixture(scope="session", params=_SOURCES)
def table1_result(request):
    """Llama-2-7b on an A6000, batch 1, seq-len 2048: the setting of the survey's Table 1, from the
    test fixtures and, once it exists, from the real catalogue (kb/models, kb/hardware)."""
    root = ROOT if request.param == "fixtures" else str(REAL_CATALOGUE)
    m, hw = load_model("llama-2-7b", root), load_hardware("nvidia-a6000", root)
    return analyze(m, hw, Settings(batch=1, seq_len=2048, flash_attention=False))  # the survey's unfused convention
