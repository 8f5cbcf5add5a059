"""Loading: the valid toy KB loads; each broken fixture yields one clear `path:line: field: message`."""

from __future__ import annotations

import shutil
import subprocess
import sys
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
    # issue 20: hostile input, each class refused at its cause
    "huge-claim-setting.yaml": (8, "claims.0.setting.seq_len", "must be at most 1e+08, found 1000000000...(301 digits)"),
    "huge-claim-value.yaml": (8, "claims.0.value", "must be at most 1e+06, found 1e+300"),
    "huge-group-size.yaml": (10, "effect.weights.group_size", "must be at most 1e+06"),
    "binary-tag.yaml": (7, "venue", "the tag tag:yaml.org,2002:binary is not allowed"),
    "index.yaml": (1, "id", "'index' is reserved: its page would replace the generated methods/index.md"),
    "bibtex-preamble.yaml": (11, "bibtex", "and nothing else (found: @preamble)"),
    "sexagesimal.yaml": (7, "survey_section", "'33:40' would be read as the number 2020 (YAML 1.1 reads it in "
                                              "base 60); quote it"),
    "octal.yaml": (5, "year", "'04063' would be read as the number 2099 (YAML 1.1 reads it in base 8); quote it"),
    "year-date.yaml": (5, "year", "2098 disagrees with date 2099-01"),
    "after-survey-date.yaml": (6, "after_survey", "is false, but date 2099-01 is after the survey"),
    "nm-sparsity.yaml": (10, "effect.sparsity", "sparsity 0.3 contradicts pattern 2:4"),
    "arxiv-link.yaml": (8, "links.paper", "links to arXiv 9902.00003, but arxiv is 9902.00002"),
    "calculator-rejects.yaml": (10, "effect", "the calculator cannot apply it: w_bits must be one of"),
    "bidi-name.yaml": (2, "name", "invisible character U+202E"),
    "zero-width-title.yaml": (3, "title", "invisible character U+200B"),
    # issue 19.7: no traps for a contributor
    "scaffold-untouched.yaml": (5, "title", "'TODO: exact paper title' is a placeholder of `kb new`"),
    "bibtex-title.yaml": (11, "bibtex", "record title 'Another Paper Altogether' differs from title 'A Test Case'"),
    "duplicate-tags.yaml": (7, "tags", "tag toy is listed twice"),
    "invalid-date.yaml": (7, "date", "'2099-02-30' is not a valid date"),
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
    assert on_disk == set(CASES) | {"duplicate-arxiv.yaml", "duplicate-bibtex-key.yaml", "duplicate-by-link.yaml"}


@pytest.mark.parametrize("name, field, words", [
    ("duplicate-arxiv.yaml", "arxiv", "arXiv id 9901.00001 is already used by"),
    ("duplicate-bibtex-key.yaml", "bibtex", "key 'example2099toyquant' is already used by"),
    ("duplicate-by-link.yaml", "arxiv", "(links.paper): one paper, one entry"),  # named by a link, not an id
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


# --- issue 20 and 19.7, cases that need more than one fixture file ---------------------------------------

def test_a_symlink_to_a_file_outside_the_repository_is_refused_unread(toy, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:SECRET-FIRST-BYTES\n")
    (toy / LEAF / "linked.yaml").symlink_to(secret)
    problems = [p for p in load(toy).problems if "linked" in p.path]
    assert [(p.path, p.field) for p in problems] == [((LEAF / "linked.yaml").as_posix(), "(file)")]
    assert "outside the repository" in problems[0].message
    assert all("SECRET" not in str(p) for p in load(toy).problems)


def test_a_symlink_to_a_device_is_refused_without_reading_forever(toy):
    (toy / LEAF / "zero.yaml").symlink_to("/dev/zero")
    problems = [p for p in load(toy).problems if p.path.endswith("zero.yaml")]
    assert problems and "outside the repository" in problems[0].message


def test_a_broken_bibtex_record_gets_one_clean_message(toy):
    shutil.copy(INVALID / "bad-bibtex.yaml", toy / LEAF / "bad-bibtex.yaml")
    res = subprocess.run([sys.executable, "-m", "kb", "check", "--root", str(toy)], capture_output=True, text=True)
    assert res.returncode == 1
    assert "Parsing of" not in res.stdout + res.stderr and "aborted" not in res.stdout + res.stderr
    assert res.stdout.splitlines() == [
        "kb/methods/toy-branch/toy-leaf/bad-bibtex.yaml:10: bibtex: must hold exactly one well-formed BibTeX record "
        "(@type{key, field = {...}, ...})"]


def test_bibtex_title_may_differ_in_braces_case_and_tex_math(toy):
    entry = toy / LEAF / "toy-method.yaml"
    entry.write_text(entry.read_text().replace("title = {ToyQuant: A Method That Exists Only in Tests}",
                                               "title = {{ToyQuant}: a method that exists only in tests}"))
    assert load(toy).problems == []


@pytest.mark.parametrize("name", ["GPTQ #2", "a: b", "yes", "016", "x'y\"z", "[list]", "{map}", "- dash", "@at"])
def test_kb_new_writes_any_name_as_given(toy, name):
    import datetime as dt

    from kb.scaffold import scaffold
    from kb.yamlsafe import parse, read_text

    path = toy / scaffold(toy, "fresh-entry", "toy-branch/toy-leaf", name, today=dt.date(2026, 12, 2))
    data, _ = parse(read_text(path))
    assert data["name"] == name
    assert (data["year"], str(data["date"]), data["after_survey"]) == (2026, "2026-12-02", True)


@pytest.mark.parametrize("name", ["two\nlines", "x\u202ey", "<b>bold</b>"])
def test_kb_new_refuses_a_name_that_kb_check_would_refuse(toy, name):
    from kb.scaffold import ScaffoldError, scaffold

    with pytest.raises(ScaffoldError):
        scaffold(toy, "fresh-entry", "toy-branch/toy-leaf", name)


def test_kb_new_refuses_a_reserved_id(toy):
    res = subprocess.run([sys.executable, "-m", "kb", "new", "index", "--category", "toy-branch/toy-leaf",
                          "--root", str(toy)], capture_output=True, text=True)
    assert res.returncode == 2 and "reserved" in res.stderr and not (toy / LEAF / "index.yaml").exists()


def test_an_untouched_scaffold_fails_with_every_placeholder_named(toy):
    from kb.scaffold import scaffold

    path = scaffold(toy, "fresh-entry", "toy-branch/toy-leaf", "Fresh")
    fields = {p.field for p in load(toy).problems if p.path == path.as_posix()}
    assert {"title", "authors.0", "links.paper", "summary", "effect.reason", "bibtex"} <= fields
