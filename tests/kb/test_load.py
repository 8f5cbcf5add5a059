"""Loading: the valid toy KB loads; each broken fixture yields one clear `path:line: field: message`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.load import load
from kb.yamlsafe import MAX_BYTES

INVALID = Path(__file__).parent / "fixtures" / "invalid"
LEAF = Path("kb/methods/toy-branch/toy-leaf")

# fixture file -> (line, field, words the message must contain)
CASES = {
    "syntax-error.yaml": (3, "(file)", "YAML syntax error"),
    "duplicate-key.yaml": (3, "(file)", "duplicate key 'name'"),
    "unknown-field.yaml": (3, "titel", "unknown field (did you mean title?)"),
    "wrong-type.yaml": (5, "year", "valid integer"),
    "missing-field.yaml": (1, "title", "required field is missing"),
    "not-a-leaf.yaml": (6, "category", "is not a taxonomy leaf"),
    "unknown-category.yaml": (6, "category", "did you mean toy-branch/toy-leaf"),
    "id-mismatch.yaml": (1, "id", "differs from the file name 'id-mismatch'"),
    "malformed-arxiv.yaml": (6, "arxiv", "expected an arXiv id like 2306.00978"),
    "http-link.yaml": (6, "links.code", "must be an https:// address"),
    "javascript-link.yaml": (6, "links.paper", "must be an https:// address"),
    "anchors.yaml": (1, "(file)", "anchors and aliases"),
    "not-a-mapping.yaml": (1, "(file)", "expected a mapping"),
    "empty.yaml": (1, "(file)", "file is empty"),
    "invalid-utf8.yaml": (2, "(file)", "invalid UTF-8"),
    "bad-bibtex.yaml": (10, "bibtex", "exactly one well-formed BibTeX record"),
    "unknown-catalogue-id.yaml": (10, "claims.0.setting.model", "did you mean toy-model?"),
    "script-in-title.yaml": (3, "title", "must not contain < or >"),
    "unknown-effect-kind.yaml": (9, "effect", "'magic' is not known"),
    "empty-authors.yaml": (4, "authors", "or say under unconfirmed.authors why"),
    "unconfirmed-with-value.yaml": (12, "unconfirmed.venue", "venue has a value"),
    "bibtex-names-unconfirmed-authors.yaml": (12, "bibtex", "names authors that the entry leaves unconfirmed"),
    "venue-and-published-as.yaml": (6, "venue", "leave venue empty"),
}


def test_toy_kb_loads_without_problems(toy):
    kb = load(toy)
    assert kb.problems == []
    assert list(kb.methods) == ["toy-method"]
    assert kb.methods["toy-method"].effect.weights.bits == 4
    assert set(kb.categories) == {"toy-branch", "toy-branch/toy-leaf", "toy-branch/other-leaf"}
    assert kb.source_of("toy-method") == "kb/methods/toy-branch/toy-leaf/toy-method.yaml"


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_entry_is_reported_with_file_line_and_field(toy, name):
    shutil.copy(INVALID / name, toy / LEAF / name)
    line, field, words = CASES[name]
    problems = [p for p in load(toy).problems if p.path == (LEAF / name).as_posix()]
    assert any(p.line == line and p.field == field and words in p.message for p in problems), problems
    assert "toy-method" in load(toy).methods  # the valid entry is still loaded: nothing is lost


def test_every_fixture_file_has_a_case():
    on_disk = {p.name for p in INVALID.glob("*.yaml")}
    assert on_disk == set(CASES) | {"duplicate-arxiv.yaml", "duplicate-bibtex-key.yaml"}


@pytest.mark.parametrize("name, field, words", [
    ("duplicate-arxiv.yaml", "arxiv", "arXiv id 9901.00001 is already used by"),
    ("duplicate-bibtex-key.yaml", "bibtex", "key 'example2099toyquant' is already used by"),
])
def test_duplicates_name_both_files(toy, name, field, words):
    shutil.copy(INVALID / name, toy / LEAF / name)
    problems = [p for p in load(toy).problems if p.field == field]
    assert len(problems) == 1
    text = str(problems[0])
    assert words in text and name in text and "toy-method.yaml" in text


def test_two_entries_with_one_id_are_refused(toy):
    target = toy / "kb/methods/toy-branch/other-leaf"
    target.mkdir(parents=True)
    shutil.copy(INVALID / "duplicate-id" / "toy-method.yaml", target / "toy-method.yaml")
    problems = [p for p in load(toy).problems if p.field == "id"]
    assert len(problems) == 1 and "already used by" in problems[0].message


def test_entry_in_the_wrong_folder_is_refused(toy):
    src = toy / LEAF / "toy-method.yaml"
    dest = toy / "kb/methods/toy-branch/other-leaf/toy-method.yaml"
    dest.parent.mkdir(parents=True)
    src.rename(dest)
    problems = load(toy).problems
    assert any(p.field == "category" and "kb/methods/toy-branch/toy-leaf/" in p.message for p in problems)


def test_oversized_file_is_refused(toy):
    big = toy / LEAF / "big.yaml"
    big.write_text("id: big\nsummary: >\n" + ("  padding\n" * (MAX_BYTES // 10 + 10)))
    problems = [p for p in load(toy).problems if p.path.endswith("big.yaml")]
    assert problems and "the limit is" in problems[0].message


def test_problems_come_sorted_by_file_and_line(toy):
    for name in ("wrong-type.yaml", "unknown-field.yaml", "anchors.yaml"):
        shutil.copy(INVALID / name, toy / LEAF / name)
    problems = load(toy).problems
    assert problems == sorted(problems) and len(problems) >= 3


def test_bad_catalogue_entries_are_reported(toy):
    hw = toy / "kb/hardware/toy-gpu.yaml"
    hw.write_text(hw.read_text().replace("memory_bandwidth_gb_s: 1000", "memory_bandwidth_gb_s: 0"))
    problems = load(toy).problems
    assert any(p.path == "kb/hardware/toy-gpu.yaml" and p.field == "memory_bandwidth_gb_s" for p in problems)
