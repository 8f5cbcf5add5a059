"""python -m calculator against hostile input (issue 20) and the researcher's conveniences (issue 19.9).

Every refusal is one line on stderr, no traceback, exit 2 for bad input, 1 for invalid catalogue data or an
output that cannot be written; every number printed is finite.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from calculator.cli import main
from tests.calculator.conftest import ROOT

BASE = ["--catalogue", ROOT, "--model", "llama-2-7b", "--hardware", "nvidia-a6000"]
TOY = ["--model", "toy-model", "--hardware", "toy-gpu"]


def cli(capsys, *args):
    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def one_line_error(status, out, err, code, *fragments):
    assert status == code, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("calculator: error: "), err
    assert "Traceback" not in err and len(err) < 400, err
    for fragment in fragments:
        assert fragment in err, err


# --- defect 1 and 2: numbers of any size get a refusal, never a traceback or an absurd figure ---------

@pytest.mark.parametrize("option, value, words", [
    ("--batch", "1" + "0" * 300, "batch must be at most 1e+06"),
    ("--seq-len", "1" + "0" * 300, "seq_len must be at most 1e+08"),
    ("--gen-len", "1" + "0" * 40, "gen_len must be at most"),
    ("--tp", "1" + "0" * 40, "tp must be at most"),
    # GB/s as typed, checked before scaling (1e300 used to overflow to inf and read "got inf")
    ("--memory-bandwidth", "1e300", "--memory-bandwidth must be at most 1e+06, got 1e+300"),
    ("--memory-bandwidth", "1e7", "--memory-bandwidth must be at most 1e+06"),
    ("--memory-bandwidth", "1e-300", "--memory-bandwidth must be at least 0.001"),
    ("--memory-bandwidth", "inf", "--memory-bandwidth must be at most 1e+06, got inf"),
    ("--memory-bandwidth", "nan", "--memory-bandwidth must be at least 0.001, got nan"),
])
def test_huge_or_tiny_numbers_are_refused_in_one_line(capsys, option, value, words):
    one_line_error(*cli(capsys, *BASE, option, value), 2, words)


def test_the_message_cuts_a_300_digit_number(capsys):
    status, out, err = cli(capsys, *BASE, "--batch", "9" * 300)
    one_line_error(status, out, err, 2, "(300 digits)")


def test_a_config_with_an_astronomical_width_is_refused(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "llama", "hidden_size": 10**300, "intermediate_size": 11008,
                                  "num_hidden_layers": 32, "num_attention_heads": 32, "vocab_size": 32000}))
    one_line_error(*cli(capsys, "--catalogue", ROOT, "--config", str(config), "--hardware", "nvidia-a6000"),
                   2, "hidden_size must be at most")


# --- defect 3: config.json is read with limits ----------------------------------------------------------

def test_a_deeply_nested_config_is_refused(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text("[" * 100_000 + "]" * 100_000)
    one_line_error(*cli(capsys, "--catalogue", ROOT, "--config", str(config), "--hardware", "nvidia-a6000"),
                   2, "nested too deeply")


def test_an_endless_config_is_cut_not_read_forever(capsys):
    one_line_error(*cli(capsys, "--catalogue", ROOT, "--config", "/dev/zero", "--hardware", "nvidia-a6000"),
                   2, "larger than")


def test_duplicate_keys_in_a_config_are_refused(tmp_path, capsys):
    config = tmp_path / "config.json"
    config.write_text('{"model_type": "llama", "hidden_size": 4096, "hidden_size": 8192}')
    one_line_error(*cli(capsys, "--catalogue", ROOT, "--config", str(config), "--hardware", "nvidia-a6000"),
                   2, "duplicate key 'hidden_size'")


# --- defect 4: --method validates the entry, with kb check's message -------------------------------------

def test_method_with_a_malformed_effect_gets_kb_checks_message(toy, capsys):
    entry = toy / "kb/methods/toy-branch/toy-leaf/toy-method.yaml"
    entry.write_text(entry.read_text().replace("kind: quantization", "kind: sparsity"))
    status, out, err = cli(capsys, "--catalogue", str(toy / "kb"), *TOY, "--method", "toy-method")
    one_line_error(status, out, err, 1, "kb/methods/toy-branch/toy-leaf/toy-method.yaml:")
    check = subprocess.run([sys.executable, "-m", "kb", "check", "--root", str(toy)], capture_output=True, text=True)
    first = check.stdout.splitlines()[0]
    assert first in err  # the same path:line: field: message as `kb check`


def test_method_applies_a_valid_entry(toy, capsys):
    status, out, err = cli(capsys, "--catalogue", str(toy / "kb"), *TOY, "--method", "toy-method", "--format", "json")
    assert status == 0, err
    assert json.loads(out)["settings"]["w_bits"] == 4


# --- defect 5: a failed write to standard output ------------------------------------------------------

def test_a_full_disk_on_stdout_is_one_line_and_exit_1():
    with open("/dev/full", "w") as full:
        res = subprocess.run([sys.executable, "-m", "calculator", *BASE], stdout=full, stderr=subprocess.PIPE,
                             text=True)
    assert res.returncode == 1
    assert res.stderr == "calculator: error: cannot write the output: No space left on device\n"


def test_kb_check_on_a_full_disk_is_one_line(toy):
    with open("/dev/full", "w") as full:
        res = subprocess.run([sys.executable, "-m", "kb", "check", "--root", str(toy)], stdout=full,
                             stderr=subprocess.PIPE, text=True)
    assert res.returncode == 1 and "Traceback" not in res.stderr and res.stderr.count("\n") == 1, res.stderr


# --- issue 19.9: the researcher's command line and Python -----------------------------------------------

def test_list_models_and_hardware_give_one_line_each(capsys):
    status, out, _ = cli(capsys, "--catalogue", ROOT, "--list-models")
    ids = sorted(p.stem for p in (Path(ROOT) / "models").glob("*.yaml"))
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == ids
    assert "parameters" in out
    status, out, _ = cli(capsys, "--catalogue", ROOT, "--list-hardware")
    ids = sorted(p.stem for p in (Path(ROOT) / "hardware").glob("*.yaml"))
    assert status == 0 and [line.split()[0] for line in out.splitlines()] == ids
    assert "B/s" in out and "OPS" in out


def test_unknown_hardware_gets_close_matches_as_models_do(capsys):
    status, out, err = cli(capsys, "--model", "llama-2-7b", "--hardware", "h100")
    one_line_error(status, out, err, 2, "unknown hardware id 'h100'; close matches: nvidia-h100")


@pytest.mark.parametrize("option", [["--w-bits", "8"], ["--a-bits", "8"], ["--kv-bits", "8"], ["--fp8"]])
def test_method_and_a_conflicting_bit_width_is_an_error(toy, capsys, option):
    one_line_error(*cli(capsys, "--catalogue", str(toy / "kb"), *TOY, "--method", "toy-method", *option),
                   2, "--method toy-method sets it to")


def test_method_and_an_agreeing_bit_width_is_fine(toy, capsys):
    status, _, err = cli(capsys, "--catalogue", str(toy / "kb"), *TOY, "--method", "toy-method", "--w-bits", "4")
    assert status == 0, err


def test_csv_carries_the_memory_and_generate_summary(capsys):
    status, out, _ = cli(capsys, *BASE, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    summary = {(r["stage"], r["layer"]): r["value"] for r in rows if r["stage"] in ("memory", "generate")}
    data = json.loads(cli(capsys, *BASE, "--format", "json")[1])
    assert status == 0
    assert float(summary["memory", "total_bytes"]) == data["memory"]["total_bytes"]
    assert float(summary["generate", "ttft_s"]) == data["generate"]["ttft_s"]
    assert float(summary["generate", "tokens_per_s"]) == data["generate"]["tokens_per_s"]


def test_result_stage_and_memory_have_readable_reprs():
    from calculator import Settings, analyze
    from kb.catalogue import load_hardware, load_model

    result = analyze(load_model("llama-2-7b", ROOT), load_hardware("nvidia-a6000", ROOT), Settings())
    text = repr(result)
    assert text.startswith("<Result llama-2-7b on nvidia-a6000, batch 1, seq_len 2048")
    assert "<Stage prefill:" in text and "<Stage decode:" in text and "<Memory: weights" in text
    assert " object at 0x" not in text + repr(result.memory) + repr(result.stages["decode"])
    assert "| q\\_proj |" in result._repr_markdown_()  # what a notebook shows: a table


def test_the_python_example_of_the_roofline_page_runs():
    """docs/roofline.md shows how to apply a method from Python; the example must run as printed."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "roofline.md").read_text(encoding="utf-8")
    start = page.index("<!-- python-method-example -->")
    code = page[start:].split("```python\n", 1)[1].split("```", 1)[0]
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert res.returncode == 0, res.stderr
    assert "speedup" in res.stdout
