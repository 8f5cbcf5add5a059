"""Shared fixtures: the repository root and a throw-away copy of the toy knowledge base."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "kb" / "fixtures"


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """A copy of tests/kb/fixtures/toy: one valid entry, one model, one device, a two-leaf taxonomy."""
    root = tmp_path / "toy"
    shutil.copytree(FIXTURES / "toy", root)
    return root
