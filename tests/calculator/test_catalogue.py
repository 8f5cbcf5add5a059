"""kb.catalogue: ids -> calculator inputs, fast and without pydantic."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kb.catalogue import (
    CatalogueError,
    UnknownIdError,
    hardware_ids,
    load_hardware,
    load_model,
    model_ids,
)
from tests.calculator.conftest import ROOT


def test_fixture_ids_are_listed():
    assert "nvidia-a6000" in hardware_ids(ROOT)
    assert "llama-2-7b" in model_ids(ROOT)


def test_hardware_units_are_converted():
    """GB/s -> B/s, TOPS -> ops/s, GiB -> bytes, bidirectional link kept as printed."""
    hw = load_hardware("nvidia-a6000", ROOT)
    assert hw.memory_bandwidth == 768e9
    assert hw.peaks["fp16"] == pytest.approx(154.8e12)
    assert hw.memory_bytes == 48 * 2**30
    assert hw.interconnect_bandwidth == 112.5e9


def test_model_fields_are_read():
    m = load_model("toy-gqa-8b", ROOT)
    assert (m.num_key_value_heads, m.head_dim, m.architecture) == (8, 128, "llama")


def test_unknown_id_lists_close_matches():
    with pytest.raises(UnknownIdError) as info:
        load_hardware("nvidia-a600", ROOT)
    assert info.value.matches[0] == "nvidia-a6000"
    assert "nvidia-a6000" in str(info.value)


@pytest.mark.parametrize("bad", ["../models/llama-2-7b", "/etc/passwd", "", "LLAMA"])
def test_ids_cannot_escape_the_catalogue(bad):
    with pytest.raises(UnknownIdError):
        load_model(bad, ROOT)


def test_broken_file_is_catalogue_error():
    with pytest.raises(CatalogueError, match="hidden_size"):
        load_model("toy-broken", ROOT)


def test_zero_bandwidth_file_is_catalogue_error():
    with pytest.raises(CatalogueError, match="memory_bandwidth"):
        load_hardware("toy-zero-bandwidth", ROOT)


def test_fast_path_imports_no_pydantic_and_calculator_imports_nothing_of_ours():
    code = (
        "import sys; import calculator, calculator.cli, calculator.render, calculator.svg, calculator.hf;"
        "assert not [m for m in sys.modules if m == 'kb' or m.startswith('kb.')], 'calculator imports kb';"
        "import kb.catalogue as c; c.load_model('llama-2-7b', sys.argv[1]);"
        "assert 'pydantic' not in sys.modules and 'kb.schema' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code, ROOT], check=True)
