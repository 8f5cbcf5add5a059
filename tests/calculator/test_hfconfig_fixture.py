"""tests/js/hfconfig-fixture.json (what calculator.hf makes of every kb/models config block and of the synthetic and
hostile configs of tools/make_hfconfig_fixture.py) is current, so the JS mirror docs/assets/js/hfconfig.js is
tested against today's Python (tests/js/hfconfig.test.mjs)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tool():
    spec = importlib.util.spec_from_file_location("make_hfconfig_fixture", ROOT / "tools" / "make_hfconfig_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_hfconfig_fixture_is_current():
    tool = _tool()
    assert tool.FIXTURE.read_text() == tool.render(), "run .venv/bin/python tools/make_hfconfig_fixture.py"


def test_every_catalogue_config_is_in_the_fixture():
    import json

    import yaml

    fixture = json.loads(_tool().FIXTURE.read_text())
    ids = {case["id"] for case in fixture["models"]}
    files = [p.stem for p in (ROOT / "kb" / "models").glob("*.yaml") if yaml.safe_load(p.read_text()).get("config")]
    assert set(files) <= ids
    assert all("\n" not in case["error"] for case in fixture["errors"])
