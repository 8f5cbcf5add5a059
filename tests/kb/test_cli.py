"""`python -m kb`: exit codes 0 (valid), 1 (invalid data), 2 (usage), and readable output."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

INVALID = Path(__file__).parent / "fixtures" / "invalid"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kb", *args], capture_output=True, text=True, cwd=cwd)


def test_check_passes_on_a_valid_kb(toy):
    res = run("check", "--root", str(toy))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("ok: 1 methods")


def test_check_fails_with_path_and_line_and_no_traceback(toy):
    shutil.copy(INVALID / "wrong-type.yaml", toy / "kb/methods/toy-branch/toy-leaf/wrong-type.yaml")
    res = run("check", "--root", str(toy))
    assert res.returncode == 1
    assert "kb/methods/toy-branch/toy-leaf/wrong-type.yaml:5: year:" in res.stdout
    assert "Traceback" not in res.stdout + res.stderr


def test_check_limited_to_named_files(toy):
    leaf = toy / "kb/methods/toy-branch/toy-leaf"
    shutil.copy(INVALID / "wrong-type.yaml", leaf / "wrong-type.yaml")
    res = run("check", "--root", str(toy), str(leaf / "toy-method.yaml"))
    assert res.returncode == 0, res.stdout
    res = run("check", "--root", str(toy), str(leaf / "wrong-type.yaml"))
    assert res.returncode == 1


def test_usage_errors_exit_2(toy, tmp_path):
    assert run("check", "--root", str(tmp_path)).returncode == 2
    assert run("check", "--root", str(toy), str(toy / "missing.yaml")).returncode == 2
    assert run("no-such-command").returncode == 2


def test_new_scaffolds_a_checkable_file_and_never_overwrites(toy):
    res = run("new", "fresh-method", "--category", "toy-branch/other-leaf", "--root", str(toy))
    assert res.returncode == 0, res.stderr
    path = toy / "kb/methods/toy-branch/other-leaf/fresh-method.yaml"
    text = path.read_text()
    assert text.startswith("# yaml-language-server: $schema=../../../../schema/method.schema.json")
    again = run("new", "fresh-method", "--category", "toy-branch/other-leaf", "--root", str(toy))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert path.read_text() == text
    bad = run("new", "x", "--category", "toy-branch/toy-leef", "--root", str(toy))
    assert bad.returncode == 2 and "did you mean toy-branch/toy-leaf" in bad.stderr
