"""python -m calculator: outputs and errors (exit 2, one line on stderr, no traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from calculator.cli import main
from tests.calculator.conftest import FIXTURES, ROOT

BASE = ["--catalogue", ROOT, "--model", "llama-2-7b", "--hardware", "nvidia-a6000"]
LAYER_KEYS = {"name", "count", "ops", "bytes", "arithmetic_intensity", "attainable_ops_per_s", "bound",
              "time_s", "format"}


def cli(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def assert_usage_error(status, out, err, *fragments):
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("calculator: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


# --- output ------------------------------------------------------------------------------------

def test_json_shape(capsys):
    status, out, _ = cli(capsys, *BASE, "--format", "json")
    assert status == 0
    data = json.loads(out)
    assert data["calculator_version"] == "0.1.0"
    assert data["model"]["id"] == "llama-2-7b"
    assert data["hardware"]["id"] == "nvidia-a6000"
    assert data["hardware"]["memory_bandwidth"] == 768e9
    assert data["hardware"]["peak_ops"]["fp16"] == pytest.approx(154.8e12)
    assert data["settings"]["batch"] == 1 and data["settings"]["seq_len"] == 2048
    assert set(data["stages"]) == {"prefill", "decode"}
    for stage in data["stages"].values():
        assert set(stage) == {"layers", "total"}
        assert {"ops", "bytes", "time_s"} <= set(stage["total"])
        for layer in stage["layers"]:
            assert set(layer) == LAYER_KEYS
            assert layer["bound"] in {"compute", "memory"}
        names = [layer["name"] for layer in stage["layers"]]
        assert names == ["attn_norm", "q_proj", "k_proj", "v_proj", "attention", "o_proj", "attn_add",
                         "mlp_norm", "gate_proj", "up_proj", "mlp_act", "down_proj", "mlp_add", "lm_head"]
    assert {"weights_bytes", "kv_cache_bytes", "activations_bytes", "total_bytes", "fits"} <= set(data["memory"])
    assert {"ttft_s", "time_per_output_token_s", "e2e_latency_s", "tokens_per_s"} <= set(data["generate"])


def test_table_names_every_layer_and_bound(capsys):
    status, out, _ = cli(capsys, *BASE, "--stage", "prefill")
    assert status == 0
    assert "q_proj" in out and "compute" in out and "memory" in out and "total" in out


def test_csv_has_a_line_per_layer(capsys):
    status, out, _ = cli(capsys, *BASE, "--stage", "decode", "--format", "csv", "--no-flash-attention")
    lines = out.strip().splitlines()
    assert status == 0 and lines[0].startswith("stage,layer,count,ops,bytes")
    assert len(lines) == 1 + 16 + 1 + 6  # header, layers, total, then the memory footprint's six quantities


def test_unfused_attention_is_an_explicit_option(capsys):
    """--no-flash-attention gives the survey's three attention rows (Table 1); the default is fused."""
    status, out, _ = cli(capsys, *BASE, "--format", "json", "--no-flash-attention")
    data = json.loads(out)
    assert status == 0 and data["settings"]["flash_attention"] is False
    names = [layer["name"] for layer in data["stages"]["prefill"]["layers"]]
    assert names[4:7] == ["qk_matmul", "softmax", "sv_matmul"] and "attention" not in names
    _, out, _ = cli(capsys, *BASE, "--format", "json")
    assert json.loads(out)["settings"]["flash_attention"] is True


def test_long_context_70b_on_two_h100_fits_by_default():
    """Finding 1 of issue 13: Llama-3-70B, 4-bit g128 weights, tp 2 on H100 SXM at 32k tokens. With fused
    attention (the default) the prefill activations are one layer's working set, a few GB, and the run fits;
    the unfused score matrix (2 * H_d * s^2 * a = 69 GB per device) is only counted on request."""
    args = ["--model", "llama-3-70b", "--hardware", "nvidia-h100-sxm", "--tp", "2", "--w-bits", "4",
            "--group-size", "128", "--seq-len", "32768", "--format", "json"]
    fused = json.loads(subprocess.run([sys.executable, "-m", "calculator", *args], capture_output=True,
                                      text=True, check=True).stdout)["memory"]
    assert fused["fits"] is True and fused["activations_bytes"] < 5e9
    plain = json.loads(subprocess.run([sys.executable, "-m", "calculator", *args, "--no-flash-attention"],
                                      capture_output=True, text=True, check=True).stdout)["memory"]
    assert plain["fits"] is False and plain["activations_bytes"] > 60e9


def test_markdown_is_a_pipe_table(capsys):
    status, out, _ = cli(capsys, *BASE, "--format", "markdown", "--flash-attention")
    assert status == 0 and "| attention |" in out and "|---|" in out


def test_svg_and_plot_file(capsys, tmp_path):
    plot = tmp_path / "roof.svg"
    status, out, _ = cli(capsys, *BASE, "--format", "svg", "--plot", str(plot))
    assert status == 0
    assert ET.fromstring(out).tag.endswith("svg")
    assert plot.read_text() == out


def test_config_path_gives_the_same_analysis(capsys):
    _, tgt, _ = cli(capsys, *BASE, "--format", "json")
    status, res, _ = cli(capsys, "--catalogue", ROOT, "--config", str(FIXTURES / "hf/toy-llama/config.json"),
                         "--hardware", "nvidia-a6000", "--format", "json")
    assert status == 0
    assert json.loads(res)["stages"] == json.loads(tgt)["stages"]
    assert json.loads(res)["model"]["id"] == "toy-llama"


def test_fp8_shorthand(capsys):
    status, out, _ = cli(capsys, "--catalogue", ROOT, "--model", "llama-2-7b", "--hardware", "toy-fp8-gpu",
                         "--fp8", "--format", "json")
    data = json.loads(out)
    assert status == 0
    assert (data["settings"]["w_bits"], data["settings"]["a_bits"]) == (8, 8)
    assert data["compute_formats"]["linear"] == "fp8"


# --- errors ------------------------------------------------------------------------------------

def test_unknown_model_lists_close_matches(capsys):
    res = cli(capsys, "--catalogue", ROOT, "--model", "llama-2-7", "--hardware", "nvidia-a6000")
    assert_usage_error(*res, "unknown model id 'llama-2-7'", "close matches: llama-2-7b")


def test_unknown_hardware_lists_close_matches(capsys):
    res = cli(capsys, "--catalogue", ROOT, "--model", "llama-2-7b", "--hardware", "nvidia-a600")
    assert_usage_error(*res, "nvidia-a6000")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--batch", "-1"], "batch must be a positive integer, got -1"),
        (["--batch", "abc"], "invalid int value"),
        (["--seq-len", "0"], "seq_len"),
        (["--memory-bandwidth", "0"], "--memory-bandwidth must be at least 0.001, got 0"),
        (["--w-bits", "7"], "w_bits must be one of 1, 2, 3, 4, 5, 6, 8, 16, 32"),
        (["--kv-bits", "12"], "kv_bits"),
        (["--group-size", "128"], "group_size needs w_bits below 16"),
        (["--tp", "3"], "does not divide"),
        (["--stage", "train"], "invalid choice"),
        (["--method", "no-such-method"], "unknown method id"),
        (["--config", str(FIXTURES / "hf/toy-llama/config.json")], "not both"),
    ],
)
def test_bad_input_exits_2_with_one_line(capsys, args, fragment):
    assert_usage_error(*cli(capsys, *BASE, *args), fragment)


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("malformed.json", "not a valid JSON file"),
        ("unsupported.json", "unsupported model_type 'gpt2'"),
        ("missing-field.json", "missing field 'hidden_size'"),
        ("does-not-exist.json", "cannot read"),
    ],
)
def test_bad_config_file_exits_2(capsys, name, fragment):
    res = cli(capsys, "--catalogue", ROOT, "--config", str(FIXTURES / "hf" / name), "--hardware", "nvidia-a6000")
    assert_usage_error(*res, fragment)


def test_missing_hardware_option(capsys):
    assert_usage_error(*cli(capsys, "--catalogue", ROOT, "--model", "llama-2-7b"), "--hardware")


def test_invalid_catalogue_file_exits_1(capsys):
    status, out, err = cli(capsys, "--catalogue", ROOT, "--model", "toy-broken", "--hardware", "nvidia-a6000")
    assert status == 1 and out == "" and err.count("\n") == 1 and "hidden_size" in err


def test_real_process_has_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "calculator", *BASE, "--batch", "-3"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == "calculator: error: batch must be a positive integer, got -3\n"
