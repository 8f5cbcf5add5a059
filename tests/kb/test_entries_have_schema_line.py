"""Every entry opens with the YAML language server's schema line, so editors complete and check it.

The line must be exactly `# yaml-language-server: $schema=<relative path>` and the relative path, read
from the file's folder, must be the right schema in `schema/` (one `../` too many or too few breaks it
silently in the editor, so the test compares the exact text).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO

PREFIX = "# yaml-language-server: $schema="
FOLDERS = {"methods": "method", "hardware": "hardware", "models": "model"}


def entries() -> list[tuple[Path, str]]:
    found = []
    for folder, schema in FOLDERS.items():
        for path in sorted((REPO / "kb" / folder).rglob("*.yaml")):
            found.append((path, schema))
    return found


def expected_line(path: Path, schema: str) -> str:
    target = REPO / "schema" / f"{schema}.schema.json"
    return PREFIX + Path(os.path.relpath(target, path.parent)).as_posix()


def test_the_schemas_exist():
    for schema in FOLDERS.values():
        assert (REPO / "schema" / f"{schema}.schema.json").is_file(), schema


def test_every_entry_starts_with_its_schema_line():
    wrong = []
    for path, schema in entries():
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline().rstrip("\r\n")
        want = expected_line(path, schema)
        if first != want:
            wrong.append(f"{path.relative_to(REPO)}:1: is {first[:90]!r}; expected {want!r}")
            continue
        relative = first.removeprefix(PREFIX)
        assert (path.parent / relative).resolve() == (REPO / "schema" / f"{schema}.schema.json").resolve()
    assert not wrong, f"{len(wrong)} file(s) lack a correct schema line:\n" + "\n".join(wrong)


@pytest.mark.parametrize("rel, schema, line", [
    ("kb/methods/a/b/x.yaml", "method", PREFIX + "../../../../schema/method.schema.json"),
    ("kb/hardware/x.yaml", "hardware", PREFIX + "../../schema/hardware.schema.json"),
    ("kb/models/x.yaml", "model", PREFIX + "../../schema/model.schema.json"),
])
def test_expected_line_depends_on_depth(rel, schema, line):
    assert expected_line(REPO / rel, schema) == line
