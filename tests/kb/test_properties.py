"""Property tests: whatever a contributor writes, loading reports problems instead of raising, and
contributed text comes out of `kb.markup` as text.

Example counts stay modest so the suite stays quick on a small machine.
"""

from __future__ import annotations

import html
import shutil
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mkdocs.utils.meta import get_data

from kb.load import Problem, load
from kb.markup import attr, front_matter, link, text
from kb.render import render_site
from kb.schema import ClaimSetting, Claim, Links, Method
from tests.conftest import FIXTURES

PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ENTRY = Path("kb/methods/toy-branch/toy-leaf/prop.yaml")
BASE = yaml.safe_load((FIXTURES / "toy/kb/methods/toy-branch/toy-leaf/toy-method.yaml").read_text())

# Characters and strings that mean something to YAML, Markdown, HTML or our own checks.
SPECIAL = list("<>&\"'[]()!*_`#|:{}\\-+=.~^$%@ \n\r\t\x85\u2028\ufeff") + [
    "javascript:", "](", "<script>", "&lt;", "&#60;", "--8<--", "!!! note", "{: onclick=x}", "2023-02-30",
    "quantization", "toy-branch/toy-leaf", "toy-model", "toy-gpu", "https://example.org/x", "\x00", "é", "😀",
]
TEXT = st.lists(st.one_of(st.sampled_from(SPECIAL), st.characters(exclude_categories=("Cs",))),
                max_size=25).map("".join)
FIELD_NAMES = sorted(set(Method.model_fields) | set(Claim.model_fields) | set(ClaimSetting.model_fields)
                     | set(Links.model_fields) | {"kind", "weights", "bits", "group_size", "draft_model", "reason"})
KEYS = st.one_of(st.sampled_from(FIELD_NAMES), TEXT, st.integers(-5, 5), st.booleans())
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), TEXT, st.dates(),
    st.sampled_from(["quantization", "sparsity", "none", "decode_speedup", "method", "2023-06", "2023-06-01"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=12)


@st.composite
def entries(draw) -> object:
    """A method entry: the valid toy entry with random fields replaced, added or removed, or pure noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(VALUES)
    data = dict(BASE, id="prop")
    for name in draw(st.lists(st.sampled_from(sorted(data)), max_size=4, unique=True)):
        if draw(st.booleans()):
            del data[name]
        else:
            data[name] = draw(VALUES)
    for key, value in draw(st.dictionaries(KEYS, VALUES, max_size=3)).items():
        data[key] = value
    if "claims" in data and isinstance(data["claims"], list) and data["claims"] and draw(st.booleans()):
        claim = dict(BASE["claims"][0])
        claim[draw(st.sampled_from(sorted(Claim.model_fields)))] = draw(VALUES)
        data["claims"] = [claim]
    return data


# Fragments of YAML syntax, for files no YAML dumper would write.
YAML_BITS = [
    "id: prop\n", "name: ", "summary: ", "a:", ": ", "\n", "  ", "- ", "[", "]", "{", "}", ", ", "? ", "&a ", "*a ",
    "!!int ", "!!str ", "!!float ", "!!bool ", "!!timestamp ", "!!binary ", "!!set ", "!!omap ", "!!python/name:os.system ",
    "!local ", "'", '"', "|\n", ">-\n", "# c\n", "---\n", "...\n", "%YAML 1.1\n", "%TAG !e! tag:e.org,2000:\n",
    "2023-02-30", "2023-13-01", "2023-06", "1e999", "0o17", "0x1F", ".nan", ".inf", "~", "\t", "\\x00", "\\ud800",
    "\\x80", "<script>", "é", "😀", "\x85", "\u2028", "9" * 30,
]
RAW_TEXT = st.lists(st.one_of(st.sampled_from(YAML_BITS), TEXT), max_size=30).map("".join)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("prop") / "toy"
    shutil.copytree(FIXTURES / "toy", root)
    return root


def _load_with(root: Path, content: bytes) -> list[Problem]:
    (root / ENTRY).write_bytes(content)
    kb = load(root)  # must never raise
    for problem in kb.problems:
        assert isinstance(problem, Problem) and problem.line >= 1 and problem.path and problem.message
        assert str(problem).isprintable(), problem  # one report, one line
    if not kb.problems:
        render_site(kb)  # whatever loads cleanly also renders
    return kb.problems


@PROPERTY
@given(data=entries())
def test_random_entries_load_without_raising(root, data):
    try:
        content = yaml.safe_dump(data, allow_unicode=True, sort_keys=False).encode("utf-8")
    except yaml.YAMLError:
        assume(False)
    problems = _load_with(root, content)
    if not isinstance(data, dict):  # refused for its shape, or earlier, while parsing, for a character in it
        assert any(p.path == ENTRY.as_posix() and (p.field == "(file)" or "character U+" in p.message)
                   for p in problems)


@PROPERTY
@given(content=RAW_TEXT)
def test_random_yaml_text_loads_without_raising(root, content):
    _load_with(root, content.encode("utf-8", errors="surrogatepass"))


@settings(PROPERTY, max_examples=30)
@given(content=st.binary(max_size=200))
def test_random_bytes_load_without_raising(root, content):
    _load_with(root, content)


# --------------------------------------------------------------------------- kb.markup


@PROPERTY
@given(value=TEXT)
def test_text_never_yields_markup(value):
    out = text(value)
    assert "<" not in out and ">" not in out and "](" not in out
    assert "\n" not in out and "\r" not in out
    # Nothing is lost: the entities decode back to what was written (line breaks become spaces).
    assert html.unescape(out) == "".join(" " if c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029" else c for c in value)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


_MD = markdown.Markdown(extensions=["admonition", "attr_list", "md_in_html", "tables", "toc",
                                    "pymdownx.superfences", "pymdownx.highlight"])


@PROPERTY
@given(value=TEXT)
def test_text_through_markdown_makes_no_links_images_html_or_attributes(value):
    _MD.reset()
    parser = _Tags()
    parser.feed(_MD.convert(text(value)))
    # Block structure a line may start with (a list item, a rule, an indented code block) is harmless;
    # what matters is that no link, image, raw HTML element or attribute comes out.
    allowed = {"p", "ul", "ol", "li", "hr", "pre", "code", "div", "span"}
    for tag, attrs in parser.tags:
        assert tag in allowed, (value, tag)
        assert not attrs or (tag == "div" and attrs == [("class", "highlight")]), (value, tag, attrs)


@PROPERTY
@given(title=TEXT, description=TEXT)
def test_front_matter_always_parses_back(title, description):
    body, meta = get_data(front_matter(title=title, description=description) + "body\n")
    assert meta == {"title": title, "description": attr(description)}
    assert body.strip() == "body"
    assert html.unescape(meta["description"]) == description


@PROPERTY
@given(url=TEXT, label=TEXT)
def test_link_only_ever_points_at_https(url, label):
    parser = _Tags()
    parser.feed(link(url, label))
    hrefs = [dict(attrs).get("href", "") for tag, attrs in parser.tags if tag == "a"]
    assert all(h.startswith("https://") for h in hrefs)
    assert len(parser.tags) <= 1
