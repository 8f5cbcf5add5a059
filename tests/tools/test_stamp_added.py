"""tools/stamp_added.py and the `added` date every entry carries."""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
import sys
from pathlib import Path

from kb.load import load

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / "tools" / "stamp_added.py"
spec = importlib.util.spec_from_file_location("stamp_added", TOOL)
stamp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stamp)


def test_every_entry_has_an_added_date():
    kb = load(REPO)
    missing = sorted(kb.source_of(m.id) for m in kb.methods.values() if m.added is None)
    assert missing == [], f"{len(missing)} entries without `added:` (run tools/stamp_added.py): {missing[:10]}"
    assert all(m.added <= dt.date.today() + dt.timedelta(days=1) for m in kb.methods.values())


def test_the_line_goes_after_date_and_nothing_else_changes():
    text = "id: x\nyear: 2024\ndate: 2024-05-01\nvenue: Y\n"
    res = stamp.with_added(text, dt.date(2026, 1, 2))
    assert res == "id: x\nyear: 2024\ndate: 2024-05-01\nadded: 2026-01-02\nvenue: Y\n"
    assert stamp.with_added(res, dt.date(2027, 1, 1)) == res  # an existing date is kept


def test_without_a_date_the_line_follows_year():
    assert stamp.with_added("id: x\nyear: 2024\nname: X\n", dt.date(2026, 1, 2)) \
        == "id: x\nyear: 2024\nadded: 2026-01-02\nname: X\n"


def test_a_nested_date_is_not_an_anchor():
    text = "id: x\nyear: 2024\nsupport:\n  - read: 2025-01-01\n    date: 2025-01-01\n"
    assert stamp.with_added(text, dt.date(2026, 1, 2)).splitlines()[2] == "added: 2026-01-02"


def test_an_uncommitted_file_gets_today_and_check_mode_reports(tmp_path):
    entry = tmp_path / "new.yaml"
    entry.write_text("id: new\nyear: 2026\ndate: 2026-01-05\n", encoding="utf-8")
    res = subprocess.run([sys.executable, str(TOOL), "--check", str(entry)], capture_output=True, text=True)
    assert res.returncode == 1 and "no `added:` line" in res.stdout
    res = subprocess.run([sys.executable, str(TOOL), str(entry)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert entry.read_text(encoding="utf-8") == f"id: new\nyear: 2026\ndate: 2026-01-05\nadded: {today}\n"


def test_a_committed_file_gets_the_date_of_its_first_commit():
    path = REPO / "kb" / "methods" / "compression" / "quantization" / "ptq" / "weight-only" / "awq.yaml"
    first = subprocess.run(["git", "log", "--follow", "--diff-filter=A", "--format=%as", "--", str(path)],
                           cwd=REPO, capture_output=True, text=True).stdout.split()[-1]
    assert stamp.first_added(path) == dt.date.fromisoformat(first)
    assert load(REPO).methods["awq"].added == dt.date.fromisoformat(first)
