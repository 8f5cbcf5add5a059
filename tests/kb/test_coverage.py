"""The knowledge base covers the survey's list, and its citations hold together."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import bibtexparser
import pytest

from kb.load import load

REPO = Path(__file__).resolve().parents[2]
SURVEY_LIST = REPO.parent / "shared" / "survey" / "methods.csv"
COVERED_KINDS = {"method", "hardware", "software/kernel", "tool"}
KB = load(REPO)


def survey_rows() -> list[dict]:
    if not SURVEY_LIST.exists():
        pytest.skip(f"{SURVEY_LIST} is not beside the repository")
    with SURVEY_LIST.open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["kind"] in COVERED_KINDS]


def test_repository_kb_is_valid():
    assert KB.problems == [], "\n".join(map(str, KB.problems[:20]))


def test_every_survey_row_has_an_entry_in_its_category():
    by_name = {m.survey_name: m for m in KB.methods.values() if m.survey_name}
    missing, misplaced = [], []
    for row in survey_rows():
        entry = by_name.get(row["name"])
        if entry is None:
            missing.append(row["name"])
        elif entry.category != row["category"]:
            misplaced.append(f"{row['name']}: {entry.category} != {row['category']}")
    assert missing == [], f"{len(missing)} survey rows without an entry: {missing}"
    assert not misplaced, misplaced


def test_survey_arxiv_ids_match_entries():
    by_name = {m.survey_name: m for m in KB.methods.values() if m.survey_name}
    wrong = [(r["name"], r["arxiv_id"], by_name[r["name"]].arxiv) for r in survey_rows()
             if r["arxiv_id"] and r["name"] in by_name and by_name[r["name"]].arxiv != r["arxiv_id"]]
    assert not wrong, wrong


def test_survey_names_are_unique_and_real():
    names = Counter(m.survey_name for m in KB.methods.values() if m.survey_name)
    assert [n for n, c in names.items() if c > 1] == []
    known = {row["name"] for row in survey_rows()}
    assert [n for n in names if n not in known] == []


def test_at_least_sixty_methods_after_the_survey():
    after = [m for m in KB.methods.values() if m.after_survey]
    assert len(after) >= 60
    assert all(m.survey_name is None and m.survey_section is None for m in after)
    assert all(m.month is None or m.month >= "2024-05" for m in after)


def test_every_bibtex_record_parses_with_required_fields_and_unique_keys():
    keys = Counter()
    for method in KB.methods.values():
        library = bibtexparser.parse_string(method.bibtex)
        assert not library.failed_blocks and len(library.entries) == 1, method.id
        entry = library.entries[0]
        assert {"title", "year"} <= set(entry.fields_dict), method.id
        # An author field exactly when the entry names its authors (else unconfirmed.authors says why).
        assert ("author" in entry.fields_dict) == bool(method.authors), method.id
        assert bool(method.authors) != ("authors" in method.unconfirmed), method.id
        keys[entry.key] += 1
    assert [k for k, c in keys.items() if c > 1] == []


def test_no_two_entries_share_an_arxiv_id():
    ids = Counter(m.arxiv for m in KB.methods.values() if m.arxiv)
    assert [i for i, c in ids.items() if c > 1] == []


def test_the_knowledge_base_reaches_2026():
    """Issue 18's goals: at least 600 methods, at least 150 of them first published in 2025-2026."""
    recent = [m for m in KB.methods.values() if m.year >= 2025]
    assert len(KB.methods) >= 600, len(KB.methods)
    assert len(recent) >= 150, len(recent)
    assert all(m.after_survey for m in recent)
