"""`python -m kb new`: write an annotated entry skeleton for a contributor (never overwrites)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import yaml

from kb.schema import ID_PATTERN, RESERVED_IDS, _one_line
from kb.load import SURVEY_MONTH
from kb.yamlsafe import INVISIBLE, parse, read_text

TEMPLATE = """\
# yaml-language-server: $schema={schema}
# A new entry. Fill every field you can confirm from the paper; delete optional ones you cannot.
id: {id}                      # equals the file name
name: {name}                  # short display name
title: "TODO: exact paper title"
authors: [TODO First Author, TODO Second Author]   # in paper order
year: {year}                    # year of the first public version (today's until you fill it in)
date: {date}              # YYYY-MM or YYYY-MM-DD of the first public version
# venue: ICLR 2025            # only when confirmed
# arxiv: "2501.00001"         # quoted
links:
  paper: https://arxiv.org/abs/TODO
  # code: https://github.com/...
kind: method                  # method | hardware | software | tool
category: {category}
after_survey: {after}            # first published after the survey (May 2024 or later): must agree with date
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
    year = {{{year}}}
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


def _yaml(value: object) -> str:
    """One value as YAML writes it (quoted where needed): GPTQ #2, a: b, yes and 016 come back as written."""
    text = yaml.safe_dump(value, allow_unicode=True, width=float("inf"), default_flow_style=True)
    return text.removesuffix("\n...\n").rstrip("\n")


def scaffold(root: Path, entry_id: str, category: str, name: str | None = None,
             today: dt.date | None = None) -> Path:
    if not re.fullmatch(ID_PATTERN, entry_id):
        raise ScaffoldError(f"id '{entry_id}' must be kebab-case (e.g. my-method-v2)")
    if entry_id in RESERVED_IDS:
        raise ScaffoldError(f"id '{entry_id}' is reserved: its page would replace the generated methods/{entry_id}.md")
    if name is not None:
        try:
            _one_line(name)
        except ValueError as exc:
            raise ScaffoldError(f"--name {exc}") from None
        if INVISIBLE.search(name) or not name.isprintable():
            raise ScaffoldError("--name holds a control, bidi or zero-width character")
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
        today = today or dt.date.today()
        handle.write(TEMPLATE.format(schema=schema, id=_yaml(entry_id), name=_yaml(name or entry_id),
                                     category=_yaml(category), year=today.year, date=today.isoformat(),
                                     after=str(today.isoformat()[:7] >= SURVEY_MONTH).lower()))
    return path.relative_to(root)
