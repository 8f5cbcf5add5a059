"""Named number formats (calculator.formats): the bits per value each layout implies, and how they enter a run."""

from __future__ import annotations

import json

import pytest

from calculator import CalculatorError, Settings, analyze
from calculator.cli import main
from calculator.formats import PRESETS
from tests.calculator.conftest import FIXTURES, hardware, model


@pytest.mark.parametrize(("name", "bits"), [
    ("nvfp4", 4 + 8 / 16),  # E2M1 + one E4M3 scale per 16 values = 4.5
    ("mxfp4", 4 + 8 / 32),  # E2M1 + one E8M0 scale per 32 = 4.25
    ("mxfp8", 8 + 8 / 32),  # E4M3 + one E8M0 scale per 32 = 8.25
    ("q8_0", 34 * 8 / 32),  # llama.cpp block_q8_0: fp16 d + 32 int8 = 34 bytes -> 8.5
    ("q4_0", 18 * 8 / 32),  # block_q4_0: fp16 d + 16 bytes of nibbles = 18 bytes -> 4.5
    ("q6_k", 210 * 8 / 256),  # block_q6_K: 128 + 64 + 16 + 2 bytes per 256 -> 6.5625
    ("int4-g128", 4.25),  # fp16 scale + fp16 zero per 128
    ("fp8-block128", 8 + 32 / 16384),  # one fp32 scale per 128 x 128 block
])
def test_bits_per_value_follow_from_the_layout(name, bits):
    assert PRESETS[name].bits == bits


def test_k_quant_mixes_average_a_llama_3_8b_layer():
    """Q6_K on half the layers' attn_v (4096 x 1024) and ffn_down (14336 x 4096) tensors: 14.4% of a layer's
    218.1M linear weights; Q4_K elsewhere -> 4.5 + 0.144 x 2.0625 = 4.80; Q5_K -> 5.5 + 0.144 x 1.0625 = 5.65."""
    share = 0.5 * (4096 * 1024 + 14336 * 4096) / (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336)
    assert PRESETS["q4_k_m"].bits == pytest.approx(4.5 + share * (6.5625 - 4.5), abs=0.01)
    assert PRESETS["q5_k_m"].bits == pytest.approx(5.5 + share * (6.5625 - 5.5), abs=0.01)


def test_every_preset_names_its_source_and_compute_width():
    for f in PRESETS.values():
        assert f.source and f.layout and f.number_format in ("int", "fp") and f.element_bits in (4, 5, 6, 8, 16, 32)


def test_int4_g128_is_the_general_form():
    m, hw = model("llama-2-7b"), hardware("nvidia-a6000")
    named = analyze(m, hw, Settings(weight_format="int4-g128"))
    general = analyze(m, hw, Settings(w_bits=4, group_size=128))
    assert named.memory.weights_bytes == general.memory.weights_bytes
    assert named.decode.time_s == general.decode.time_s


def test_nvfp4_weights_are_4_5_bits_and_compute_in_fp4_with_fp4_activations():
    m, hw = model("llama-2-7b"), hardware("toy-fp8-gpu")
    r = analyze(m, hw, Settings(weight_format="nvfp4", stage="decode"))
    assert r.decode.layer("q_proj").bytes == 4096 * 4096 * 4.5 / 8 + 4096 * 2 + 4096 * 2
    assert r.formats["linear"] == "fp16"  # W4A16: the 16-bit activations set the operand width


@pytest.mark.parametrize(("settings", "message"), [
    (dict(weight_format="q3_k_xl"), "weight_format must be one of"),
    (dict(weight_format="nvfp4", group_size=64, w_bits=4), "includes its scales"),
    (dict(kv_format="fp8", kv_bits=4), "contradicts it"),
])
def test_bad_formats_are_refused_in_one_line(settings, message):
    with pytest.raises(CalculatorError, match=message):
        Settings(**settings)


def test_cli_weight_and_kv_format_and_json_parameters(capsys):
    config = FIXTURES / "hf" / "deepseek-v3"
    assert main(["--config", str(config), "--hardware", "nvidia-a6000", "--catalogue", str(FIXTURES),
                 "--weight-format", "fp8-block128", "--kv-format", "fp8", "--stage", "decode",
                 "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["settings"]["weight_format"] == "fp8-block128" and out["settings"]["kv_bits"] == 8
    assert round(out["model"]["params_total"] / 1e9) == 671 and round(out["model"]["params_active"] / 1e9) == 38
    assert out["model"]["attention_kind"] == "MLA"
