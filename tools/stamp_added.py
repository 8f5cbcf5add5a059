"""Give every method entry an `added:` date: when its file first entered the repository.

    .venv/bin/python tools/stamp_added.py [--check] [FILE ...]

For each kb/methods/**/*.yaml (or each FILE given) without a top-level `added:` line, the date is the
author date of the commit that first added the file (`git log --follow --diff-filter=A`, so a file moved
to another category keeps its first date), or today's date (UTC) for a file git does not know yet. The
line is inserted after the entry's `date:` line (or `year:` when it has no date); no other line of the
file is touched. `--check` changes nothing and exits 1 when an entry lacks the line.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADDED = re.compile(r"^added:", re.M)
ANCHORS = (re.compile(r"^date:.*$", re.M), re.compile(r"^year:.*$", re.M))


def first_added(path: Path) -> dt.date | None:
    """Author date of the commit that first added `path`, following renames; None if not committed."""
    res = subprocess.run(["git", "log", "--follow", "--diff-filter=A", "--format=%as", "--", str(path)],
                         cwd=ROOT, capture_output=True, text=True)
    dates = res.stdout.split()
    return dt.date.fromisoformat(dates[-1]) if res.returncode == 0 and dates else None


def with_added(text: str, day: dt.date) -> str:
    """`text` with an `added:` line after its `date:` (or `year:`) line; unchanged if it has one."""
    if ADDED.search(text):
        return text
    for anchor in ANCHORS:
        found = anchor.search(text)
        if found:
            end = found.end()
            return text[:end] + f"\nadded: {day.isoformat()}" + text[end:]
    return text.rstrip("\n") + f"\nadded: {day.isoformat()}\n"


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    files = [Path(a).resolve() for a in argv if not a.startswith("--")] \
        or sorted((ROOT / "kb" / "methods").rglob("*.yaml"))
    today = dt.datetime.now(dt.timezone.utc).date()
    missing = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        if ADDED.search(text):
            continue
        missing.append(path)
        if check:
            continue
        day = first_added(path) or today
        path.write_text(with_added(text, day), encoding="utf-8")
        print(f"{_shown(path)}: added: {day.isoformat()}")
    if check and missing:
        for path in missing:
            print(f"{_shown(path)}: no `added:` line (run tools/stamp_added.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
