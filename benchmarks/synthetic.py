"""Synthetic knowledge bases for the scaling benchmark: the real entries, cloned until there are N.

    .venv/bin/python benchmarks/synthetic.py N DIR     # writes a buildable project under DIR

A clone is a copy of a real entry's YAML text with a new id (and file name), a new arXiv id (9900.xxxxx
and up, a range no real paper uses) and a new BibTeX key; it keeps its original's category, so clones
spread over the taxonomy the way the real entries do. Names and titles repeat, which nothing forbids.
The project holds the repository's mkdocs.yml, docs/, hooks/ and CONTRIBUTING.md, and a kb/ folder with
only data (taxonomy, hardware, models, methods): the hooks import the installed `kb` package.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_ID = re.compile(r"^id: *(\S+) *$", re.M)
_ARXIV = re.compile(r'^arxiv: *"?[^"\n]*"? *$', re.M)
_BIBKEY = re.compile(r"(@[A-Za-z]+\s*\{\s*)([^,\s]+)")


def clone_entry(text: str, new_id: str, number: int) -> str:
    """One real entry's YAML text as clone `number`, with id `new_id`."""
    text, n = _ID.subn(f"id: {new_id}", text, count=1)
    if n != 1:
        raise ValueError("entry without a top-level id line")
    arxiv = f"{9900 + number // 100000:04d}.{number % 100000:05d}"
    text = _ARXIV.sub(f'arxiv: "{arxiv}"', text, count=1)
    return _BIBKEY.sub(lambda m: f"{m.group(1)}{m.group(2)}syn{number}", text, count=1)


def copy_site_sources(project: Path) -> None:
    """The repository's site configuration and hand-written pages (no knowledge base)."""
    for part in ("mkdocs.yml", "docs", "hooks", "overrides", "CONTRIBUTING.md"):
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, project / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, project / part)


def make_project(target: Path, entries: int) -> Path:
    """A project under `target` whose knowledge base has `entries` methods (the real ones first)."""
    project = target / f"kb-{entries}"
    project.mkdir(parents=True)
    copy_site_sources(project)
    kb = project / "kb"
    kb.mkdir()
    shutil.copy(ROOT / "kb" / "taxonomy.yaml", kb / "taxonomy.yaml")
    for part in ("hardware", "models", "methods"):
        shutil.copytree(ROOT / "kb" / part, kb / part, ignore=shutil.ignore_patterns("__pycache__"))
    originals = sorted((ROOT / "kb" / "methods").rglob("*.yaml"))
    texts = [(p, p.read_text(encoding="utf-8")) for p in originals]
    for number in range(1, max(0, entries - len(originals)) + 1):
        path, text = texts[(number - 1) % len(texts)]
        rel = path.relative_to(ROOT / "kb" / "methods")
        new_id = f"{path.stem}-syn{number}"
        (kb / "methods" / rel.parent / f"{new_id}.yaml").write_text(clone_entry(text, new_id, number),
                                                                      encoding="utf-8")
    return project


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[2].strip())
    print(make_project(Path(sys.argv[2]), int(sys.argv[1])))
