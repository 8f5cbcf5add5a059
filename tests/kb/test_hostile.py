"""Hostile input: every test here fails if the protection it names were taken away.

Payloads carry markers (XSS1, XSS2, ...) inside the parts that would become live markup, so a check can
tell "shown as text" (fine) from "became a tag, an attribute or a script" (broken).
Cases already covered elsewhere (a `<script>` title, a `javascript:` link field, anchors, empty, list and
invalid-UTF-8 files, the half-built site) live in tests/kb/test_load.py and tests/site/test_build.py.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
import yaml

from kb.load import load
from kb.render import render_site
from kb.yamlsafe import MAX_BYTES, YamlError, parse
from tests.conftest import REPO

LEAF = Path("kb/methods/toy-branch/toy-leaf")
ENTRY = LEAF / "toy-method.yaml"

# Each payload would be live markup if it reached a page unescaped.
PAYLOADS = [
    "<script>alert('XSS1')</script>",
    "<img src=x onerror=\"alert('XSS2')\">",
    "[click XSS3](javascript:alert('XSS3'))",
    "<a href=\"javascript:alert('XSS4')\">XSS4</a>",
    "<b>XSS5</b>",
    "{: onclick=\"alert('XSS6')\" }",
    "<javascript:alert('XSS7')>",
    "&lt;script&gt;alert('XSS8')&lt;/script&gt;",
    "<iframe src=\"https://evil.example/XSS9\"></iframe>",
    "![XSS10](https://evil.example/XSS10.png)",
    "<style>body{display:none} /* XSS11 */</style>",
    "`code` **bold** _em_ | cell | # XSS12",
]
HOSTILE = " ".join(PAYLOADS)
# At the start of a block: a snippet include (pymdownx.snippets) and an admonition.
BLOCK_START = '--8<-- "mkdocs.yml" !!! danger "XSS13" '
MARKERS = [f"XSS{i}" for i in range(1, 14)]
# Names and titles may hold quotes, brackets and ampersands (no < or >): they reach templates unescaped.
NAME = "Toy \"quoted\" 'single' & [XSSNAME](javascript:alert(1))"
TITLE = "0;url=https://evil.example/\" http-equiv=\"refresh"


def _write_hostile_kb(root: Path) -> None:
    """Put the payloads into every free-text field of the toy knowledge base."""
    entry = root / ENTRY
    data = yaml.safe_load(entry.read_text())
    data.update(
        name=NAME, title=TITLE, aliases=[HOSTILE, "<b>XSS5</b>"], authors=["Ada <script>XSS1</script>", "Bob"],
        survey_section=HOSTILE, summary=BLOCK_START + HOSTILE,
        published_as={"title": NAME, "venue": HOSTILE, "authors": [HOSTILE],
                      "source": "https://example.invalid/published?a=1&b=2"},
        unconfirmed={"date": BLOCK_START + HOSTILE},
        # The record's title must match `title` (kb check refuses another paper's title); the payloads ride in `note`.
        bibtex="@article{toy2099hostile,\n  title = {" + TITLE + "},\n  note = {"
        + HOSTILE.replace("{", "(").replace("}", ")") + "},\n  author = {Example, Ada},\n  year = {2099}\n}\n")
    del data["date"]
    data["effect"]["basis"] = HOSTILE
    claim = data["claims"][0]
    claim.update(baseline=HOSTILE, source=HOSTILE, note=HOSTILE)
    claim["setting"]["description"] = HOSTILE
    entry.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))

    taxonomy = root / "kb/taxonomy.yaml"
    tree = yaml.safe_load(taxonomy.read_text())
    tree[0]["title"] = "Toy \"branch\" & [XSSCAT](javascript:alert(1))"
    tree[0]["description"] = BLOCK_START + HOSTILE
    taxonomy.write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False))

    for path, field in ((root / "kb/hardware/toy-gpu.yaml", "notes"), (root / "kb/models/toy-model.yaml", "notes")):
        item = yaml.safe_load(path.read_text())
        item["name"] = item["name"] + " " + HOSTILE
        item[field] = HOSTILE
        path.write_text(yaml.safe_dump(item, allow_unicode=True, sort_keys=False))


class LiveMarkup(HTMLParser):
    """Collects every place where a marker became markup rather than text."""

    FORBIDDEN = {"script", "style", "iframe", "img", "b", "object", "embed"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if "javascript:" in value.lower() or "XSS" in value or "evil.example" in value:
                if not (tag == "meta" and name == "content"):
                    self.found.append(f"<{tag} {name}={value!r}>")
            if name.startswith("on") or name == "http-equiv":
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag not in ("br", "hr", "img", "input", "meta", "link", "wbr", "circle", "path", "line", "rect"):
            self.stack.append(tag)
        elif tag == "img" and any("XSS" in (v or "") for _, v in attrs):
            self.found.append(f"<img {attrs}>")

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        if any(m in data for m in MARKERS) and self.stack and self.stack[-1] in self.FORBIDDEN:
            self.found.append(f"<{self.stack[-1]}>{data[:60]}")


def live_markup(page: str) -> list[str]:
    parser = LiveMarkup()
    parser.feed(page)
    parser.close()
    return parser.found


def _site_markdown() -> markdown.Markdown:
    """Python-Markdown with the extensions (and snippet settings) of the repository's mkdocs.yml."""
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    names, settings = [], {}
    for item in config["markdown_extensions"]:
        if isinstance(item, dict):
            (name, options), = item.items()
            settings[name] = options or {}
        else:
            name = item
        names.append(name)
    settings.setdefault("pymdownx.snippets", {})["base_path"] = [str(REPO)]
    return markdown.Markdown(extensions=names, extension_configs=settings)


# --------------------------------------------------------------------------- the check refuses


@pytest.mark.parametrize("field, value, words", [
    ("name", "<script>alert(1)</script>", "must not contain < or >"),
    ("name", "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;", "HTML character reference"),
    ("title", "A &#60;b&#62; title", "HTML character reference"),
    ("name", "Two\nlines", "single line"),
])
def test_markup_in_a_name_or_title_is_refused(toy, field, value, words):
    entry = toy / ENTRY
    data = yaml.safe_load(entry.read_text())
    data[field] = value
    entry.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    problems = [p for p in load(toy).problems if p.field == field]
    assert problems and words in problems[0].message and problems[0].path == ENTRY.as_posix(), problems
    assert problems[0].line == next(i for i, line in enumerate(entry.read_text().splitlines(), 1)
                                    if line.startswith(f"{field}:"))


@pytest.mark.parametrize("title", ["<img src=x onerror=alert(1)>", "Leaf &lt;b&gt;"])
def test_markup_in_a_category_title_is_refused(toy, title):
    # Category titles become navigation labels, which the theme inserts without escaping.
    taxonomy = toy / "kb/taxonomy.yaml"
    taxonomy.write_text(taxonomy.read_text().replace("title: Toy leaf", f"title: {json.dumps(title)}"))
    problems = [p for p in load(toy).problems if p.path == "kb/taxonomy.yaml"]
    assert problems and problems[0].field == "title" and problems[0].line == 6, problems


# --------------------------------------------------------------------------- hostile text renders as text


@pytest.fixture
def hostile_kb(toy):
    _write_hostile_kb(toy)
    kb = load(toy)
    assert kb.problems == [], kb.problems  # every payload is acceptable data: it must be shown, not refused
    return kb


def _body(source: str) -> str:
    """A generated page without its front matter, split off as MkDocs does it."""
    from mkdocs.utils.meta import get_data

    body, meta = get_data(source)
    assert meta, "the front matter did not parse"
    return body


def test_hostile_markdown_has_no_live_markup(hostile_kb):
    pages = {path: _body(source) for path, source in render_site(hostile_kb).items()}
    for path, page in pages.items():
        for tag in ("<script", "<img", "<b>", "<iframe", "<style", "<javascript"):
            assert tag not in page, (path, tag)
        # Markdown syntax; raw HTML blocks (the BibTeX <pre>, the timeline's SVG) are left alone by Markdown
        markdown_only = re.sub(r"^<(pre|div)[ >].*?</\1>", "", page, flags=re.S | re.M)
        for syntax in ("](javascript", "{: on", "![", "--8<--", "!!! danger"):
            assert syntax not in markdown_only, (path, syntax)


def test_hostile_text_shows_literally_in_the_rendered_html(hostile_kb):
    md = _site_markdown()
    for path, source in render_site(hostile_kb).items():
        md.reset()
        body = md.convert(_body(source))
        assert live_markup(body) == [], path
        assert "site_name:" not in body, f"{path}: a snippet directive included mkdocs.yml"
    md.reset()
    page = md.convert(_body(render_site(hostile_kb)["methods/toy-method.md"]))
    shown = html.unescape(page)
    for payload in PAYLOADS:
        assert payload in shown, payload  # shown as written, character for character
    assert BLOCK_START.strip() in shown


def test_front_matter_keeps_quotes_inside_the_description_attribute(hostile_kb):
    from mkdocs.utils.meta import get_data

    _, meta = get_data(render_site(hostile_kb)["methods/toy-method.md"])
    assert meta["title"] == NAME
    tag = f'<meta name="description" content="{meta["description"]}">'  # as Material writes it
    assert live_markup(tag) == [] and html.unescape(meta["description"]) == TITLE


def test_the_built_site_shows_hostile_text_as_text(tmp_path):
    from tests.site.conftest import make_project, mkdocs_build

    project = make_project(tmp_path)
    _write_hostile_kb(project)
    res = mkdocs_build(project, tmp_path / "site")
    assert res.returncode == 0, res.stderr[-3000:]
    bad = {}
    for page in sorted((tmp_path / "site").rglob("*.html")):
        found = live_markup(page.read_text(encoding="utf-8"))
        if found:
            bad[page.relative_to(tmp_path / "site").as_posix()] = found[:5]
    assert not bad, bad
    method = (tmp_path / "site/methods/toy-method/index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert" in method or "&#60;script&#62;alert" in method
    assert "site_name:" not in method


# --------------------------------------------------------------------------- hostile files


def billion_laughs(levels: int = 9) -> str:
    lines = ['lol0: "lol"']
    for i in range(1, levels + 1):
        refs = ", ".join([f"*lol{i - 1}"] * 10)
        lines.append(f"lol{i}: &lol{i} [{refs}]")
    lines[0] = 'lol0: &lol0 "lol"'
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_at_once(toy):
    (toy / LEAF / "lol.yaml").write_text(billion_laughs())
    start = time.perf_counter()
    # In a subprocess with a time limit: without the protection this would expand 10**9 values and hang.
    res = subprocess.run([sys.executable, "-m", "kb", "check", "--root", str(toy)],
                         capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - start < 30
    assert res.returncode == 1
    assert f"{LEAF.as_posix()}/lol.yaml:1: (file): anchors and aliases" in res.stdout, res.stdout
    with pytest.raises(YamlError) as exc:
        parse(billion_laughs())
    assert exc.value.line == 1


@pytest.mark.parametrize("line, words", [
    ("date: 2023-02-30", "'2023-02-30' is not a valid date"),
    ("date: 2023-13-01", "is not a valid date"),
    ("year: !!int twenty", "'twenty' is not a valid int"),
    ("value: !!float 3x", "'3x' is not a valid float"),
    ("after_survey: !!bool maybe", "not a valid true/false"),
    ("date: !!timestamp soon", "'soon' is not a valid date"),
    ("year: " + "9" * 5000, "is not a valid int"),
    ('summary: "NUL \\x00 byte"', "non-printable character U+0000"),
    ('summary: "half \\ud800 surrogate"', "non-printable character U+D800"),
    ('name: "C1 \\x80 control"', "non-printable character U+0080"),
    ("summary: !!python/object/apply:os.system [echo hi]", "is not allowed"),
    ("summary: !!python/name:os.system ''", "YAML syntax error"),
    ("links: !!set {a, b}", "the tag tag:yaml.org,2002:set is not allowed"),
])
def test_values_pyyaml_cannot_build_are_reported_not_raised(toy, line, words):
    path = toy / LEAF / "odd.yaml"
    path.write_text(f"id: odd\n{line}\n")
    problems = [p for p in load(toy).problems if p.path.endswith("odd.yaml")]
    assert problems and problems[0].line == 2 and words in problems[0].message, problems


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting_is_refused(toy, opening):
    closing = "]" if opening == "[" else "}"
    path = toy / LEAF / "deep.yaml"
    path.write_text("id: deep\nsummary: " + opening * 20_000 + "x" + closing * 20_000 + "\n")
    problems = [p for p in load(toy).problems if p.path.endswith("deep.yaml")]
    assert problems and "nested too deeply" in problems[0].message, problems


@pytest.mark.parametrize("content, words", [
    ("# only a comment\n\n", "file is empty"),
    ("---\n...\n", "expected a mapping of fields, found nothing"),
    ("just a sentence\n", "expected a mapping of fields, found 'just a sentence'"),
    ("a: 1\n---\nb: 2\n", "YAML syntax error"),
    ("a: [1, 2\n", "YAML syntax error"),
    ("a: 1\nb: 2\n\x01\n", "non-printable character U+0001"),
    ("? [a, b]\n: c\n", "mapping keys must be plain scalars"),
])
def test_odd_files_are_reported_with_path_and_line(toy, content, words):
    path = toy / LEAF / "odd.yaml"
    path.write_text(content)
    problems = [p for p in load(toy).problems if p.path == (LEAF / "odd.yaml").as_posix()]
    assert problems and words in problems[0].message and problems[0].line >= 1, problems


def test_a_directory_named_like_an_entry_is_reported(toy):
    (toy / LEAF / "folder.yaml").mkdir()
    problems = [p for p in load(toy).problems if p.path.endswith("folder.yaml")]
    assert problems and "cannot read" in problems[0].message


@pytest.mark.parametrize("catalogue", ["kb/hardware/toy-gpu.yaml", "kb/models/toy-model.yaml", "kb/taxonomy.yaml"])
@pytest.mark.parametrize("content", ["- a list\n", "", "x: &a 1\ny: *a\n", "\xff\xfe"])
def test_broken_catalogues_and_taxonomy_are_reported(toy, catalogue, content):
    (toy / catalogue).write_bytes(content.encode("latin-1"))
    problems = load(toy).problems
    assert any(p.path == catalogue and p.line >= 1 for p in problems), problems


def test_kb_check_prints_path_line_for_each_bad_file_and_no_traceback(toy):
    leaf = toy / LEAF
    (leaf / "bad-utf8.yaml").write_bytes(b"id: bad-utf8\nname: caf\xe9\n")
    (leaf / "empty.yaml").write_text("")
    (leaf / "a-list.yaml").write_text("- id: a-list\n")
    (leaf / "huge.yaml").write_text("id: huge\nsummary: >\n" + "  padding\n" * (MAX_BYTES // 10 + 10))
    (leaf / "bad-date.yaml").write_text("id: bad-date\ndate: 2023-02-30\n")
    res = subprocess.run([sys.executable, "-m", "kb", "check", "--root", str(toy)], capture_output=True, text=True)
    assert res.returncode == 1
    assert "Traceback" not in res.stdout + res.stderr
    out = res.stdout.splitlines()
    prefix = LEAF.as_posix()
    for expected in (f"{prefix}/bad-utf8.yaml:2: (file): invalid UTF-8",
                     f"{prefix}/empty.yaml:1: (file): file is empty",
                     f"{prefix}/a-list.yaml:1: (file): expected a mapping of fields, found a list",
                     f"{prefix}/huge.yaml:1: (file): file is ",
                     f"{prefix}/bad-date.yaml:2: date: '2023-02-30' is not a valid date"):
        assert any(line.startswith(expected) for line in out), (expected, out)
    assert out == sorted(out)

