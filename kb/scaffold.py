"""`python -m kb new`: write an annotated entry skeleton for a contributor (never overwrites)."""

from __future__ import annotations

import re
from pathlib import Path

from kb.schema import ID_PATTERN
from kb.yamlsafe import parse, read_text

TEMPLATE = """\
# yaml-language-server: $schema={schema}
# A new entry. Fill every field you can confirm from the paper; delete optional ones you cannot.
id: {id}                      # equals the file name
name: {name}                  # short display name
title: "TODO: exact paper title"
authors: [TODO First Author, TODO Second Author]   # in paper order
year: 2025                    # year of the first public version
date: 2025-01                 # YYYY-MM or YYYY-MM-DD of the first public version
# venue: ICLR 2025            # only when confirmed
# arxiv: "2501.00001"         # quoted
links:
  paper: https://arxiv.org/abs/TODO
  # code: https://github.com/...
kind: method                  # method | hardware | software | tool
category: {category}
after_survey: true            # first published after the survey (May 2024 or later)
tags: []
summary: >
  TODO: in your own words, what the method does, why it saves time or memory, and what it costs.
effect:                       # what the roofline calculator applies; see CONTRIBUTING.md for every kind
  kind: none
  reason: TODO say why a roofline cannot show this method, or pick another effect kind
claims: []                    # e.g. - {{metric: decode_speedup, value: 2.0, baseline: FP16, source: Table 3}}
bibtex: |
  @article{{TODO,
    title = {{TODO}},
    author = {{TODO}},
    journal = {{arXiv preprint arXiv:TODO}},
    year = {{2025}}
  }}
"""


class ScaffoldError(Exception):
    """A usage problem: bad id, unknown category, or the file already exists."""


def _categories(root: Path) -> list[str]:
    data, _ = parse(read_text(root / "kb" / "taxonomy.yaml"))
    found: list[str] = []

    def walk(nodes: list[dict], parent: str) -> None:
        for node in nodes:
            path = f"{parent}/{node['id']}" if parent else node["id"]
            if not node.get("children") or node.get("accepts_entries"):
                found.append(path)
            walk(node.get("children") or [], path)

    walk(data, "")
    return found


def scaffold(root: Path, entry_id: str, category: str, name: str | None = None) -> Path:
    if not re.match(ID_PATTERN, entry_id):
        raise ScaffoldError(f"id '{entry_id}' must be kebab-case (e.g. my-method-v2)")
    leaves = _categories(root)
    if category not in leaves:
        import difflib

        close = difflib.get_close_matches(category, leaves, n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ScaffoldError(f"'{category}' is not a taxonomy leaf{hint}")
    existing = list((root / "kb" / "methods").rglob(f"{entry_id}.yaml"))
    if existing:
        raise ScaffoldError(f"{existing[0].relative_to(root)} already exists; not overwriting it")
    folder = root / "kb" / "methods" / category
    schema = "../" * (category.count("/") + 3) + "schema/method.schema.json"
    path = folder / f"{entry_id}.yaml"
    folder.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:  # "x": fail rather than overwrite
        handle.write(TEMPLATE.format(schema=schema, id=entry_id, name=name or entry_id, category=category))
    return path.relative_to(root)
