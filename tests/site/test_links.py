"""Links: every internal reference of the built site resolves, and every id an entry names exists.

External addresses are left alone (the site must work offline, so nothing is fetched); anchors-only links
and mailto: are skipped. Site-absolute links (the 404 page uses them) are read against site_url's path.
"""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

from kb.load import load
from tests.site.conftest import REPO

CONFIG = yaml.safe_load((REPO / "mkdocs.yml").read_text())
SITE_URL = CONFIG["site_url"].rstrip("/") + "/"
BASE_PATH = urlsplit(SITE_URL).path  # "/llm-inference-kb/"
REPO_URL = CONFIG["repo_url"].rstrip("/") + "/"

# href/src/... in double or single quotes; not data-href or the href part of xlink:href (matched whole).
REFERENCE = re.compile(r"""(?<![\w:-])(xlink:href|href|src|srcset|poster|action)\s*=\s*(["'])(.*?)\2""", re.S)
SKIPPED_SCHEMES = {"mailto", "tel", "data"}


def references(page_html: str) -> list[str]:
    refs = []
    for attr, _, value in REFERENCE.findall(page_html):
        value = html.unescape(value).strip()
        if attr == "srcset":
            refs += [part.strip().split()[0] for part in value.split(",") if part.strip()]
        else:
            refs.append(value)
    return refs


def resolve(site: Path, page: Path, ref: str) -> Path | str | None:
    """The file a reference points at, None when it is not ours to check, or a string saying why it is bad."""
    if not ref or ref.startswith("#"):
        return None
    parts = urlsplit(ref)
    scheme = parts.scheme.lower()
    if scheme in SKIPPED_SCHEMES:
        return None
    if scheme == "javascript":
        return "javascript: link"
    if scheme or parts.netloc:
        if not ref.startswith(SITE_URL):
            return None  # external
        path = BASE_PATH + ref[len(SITE_URL):].split("#")[0].split("?")[0]
    else:
        path = parts.path
    path = unquote(path)
    if path.startswith("/"):
        if not path.startswith(BASE_PATH) and path + "/" != BASE_PATH:
            return f"site-absolute outside {BASE_PATH}"
        target = site / path[len(BASE_PATH):]
    elif path == "":
        return None  # "?query" on the page itself
    else:
        target = page.parent / path
    target = Path(os.path.normpath(target))
    if target != site and site not in target.parents:
        return "points outside the site"
    if target.is_dir():
        target = target / "index.html"
    return target


def broken_references(site: Path) -> list[str]:
    broken: list[str] = []
    known: dict[Path, bool] = {}
    for page in sorted(site.rglob("*.html")):
        for ref in sorted(set(references(page.read_text(encoding="utf-8")))):
            target = resolve(site, page, ref)
            if target is None:
                continue
            if isinstance(target, str):
                broken.append(f"{page.relative_to(site)}: {ref} ({target})")
                continue
            if target not in known:
                known[target] = target.is_file()
            if not known[target]:
                broken.append(f"{page.relative_to(site)}: {ref} (no file {target.relative_to(site)})")
    return broken


def _report(broken: list[str], limit: int = 80) -> str:
    shown = "\n".join(broken[:limit])
    more = f"\n... and {len(broken) - limit} more" if len(broken) > limit else ""
    return f"{len(broken)} broken reference(s):\n{shown}{more}"


# --------------------------------------------------------------------------- the built site


def test_every_internal_link_and_asset_resolves(built_site):
    broken = broken_references(built_site)
    assert not broken, _report(broken)


def test_sitemap_and_exports_point_at_pages_that_exist(built_site):
    broken = []
    sitemap = (built_site / "sitemap.xml").read_text()
    locs = re.findall(r"<loc>([^<]+)</loc>", sitemap)
    assert locs
    for loc in locs:
        target = resolve(built_site, built_site / "index.html", html.unescape(loc))
        if not isinstance(target, Path) or not target.is_file():
            broken.append(f"sitemap.xml: {loc}")
    for record in json.loads((built_site / "data/methods.json").read_text())["methods"]:
        if not (built_site / record["url"] / "index.html").is_file():
            broken.append(f"data/methods.json: {record['id']}: {record['url']}")
    assert not broken, _report(broken)


def test_links_into_the_repository_name_files_that_exist(built_site):
    # "Edit this page" and source links open files of the repository: they must exist there.
    pattern = re.compile(re.escape(REPO_URL) + r"(?:edit|blob|tree)/main/([^\"'#?]+)")
    missing = set()
    for page in built_site.rglob("*.html"):
        for path in pattern.findall(page.read_text(encoding="utf-8")):
            if not (REPO / unquote(path)).exists():
                missing.add(f"{page.relative_to(built_site)}: {path}")
    assert not missing, _report(sorted(missing))


def test_calculator_links_name_known_models_devices_and_methods(built_site):
    kb = load(REPO)
    known = {"model": kb.models, "hardware": kb.hardware, "method": kb.methods}
    unknown = set()
    for page in built_site.rglob("*.html"):
        for ref in references(page.read_text(encoding="utf-8")):
            parts = urlsplit(ref)
            if parts.scheme or "calculator" not in parts.path or not parts.query:
                continue
            for key, values in parse_qs(parts.query).items():
                for value in values:
                    if key in known and value not in known[key]:
                        unknown.add(f"{page.relative_to(built_site)}: {key}={value}")
    assert not unknown, _report(sorted(unknown))


# --------------------------------------------------------------------------- the checker itself


def test_the_checker_finds_broken_links(tmp_path):
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "a" / "index.html").write_text("")
    (site / "style.css").write_text("")
    (site / "index.html").write_text(
        '<a href="a/">ok</a> <a href="./a/index.html#x">ok</a> <link href="style.css">'
        '<a href="https://example.org/">external</a> <a href="#top">anchor</a> <a href="mailto:x@y.z">mail</a>'
        f'<a href="{SITE_URL}a/">own site, absolute</a> <a href="{BASE_PATH}style.css">site-absolute</a>'
        '<a href="b/">missing page</a> <img src="missing.png"> <a href="../../etc/passwd">outside</a>'
        f'<a href="{SITE_URL}nowhere/">own site, missing</a> <a href=\'javascript:alert(1)\'>js</a>'
        '<svg><a xlink:href="gone.svg"></a></svg> <a data-href="ignored">data attribute</a>')
    broken = broken_references(site)
    assert [line.split(": ", 1)[1].split(" (")[0] for line in broken] == sorted(
        ["b/", "missing.png", "../../etc/passwd", f"{SITE_URL}nowhere/", "javascript:alert(1)", "gone.svg"])


# --------------------------------------------------------------------------- ids an entry names


LEAF = "kb/methods/toy-branch/toy-leaf"


@pytest.mark.parametrize("old, new, field, words", [
    ("hardware: toy-gpu", "hardware: toy-gpv", "claims.0.setting.hardware", "did you mean toy-gpu?"),
    ("  kind: quantization\n  weights: {bits: 4, group_size: 128}",
     "  kind: speculative\n  draft_length: 4\n  acceptance_rate: 0.7\n  draft_model: toy-modle",
     "effect.draft_model", "unknown model id 'toy-modle'"),
    ("  kind: quantization\n  weights: {bits: 4, group_size: 128}",
     "  kind: distillation\n  student: no-such-model", "effect.student", "unknown model id 'no-such-model'"),
])
def test_catalogue_ids_an_entry_names_must_exist(toy, old, new, field, words):
    # claims.N.setting.model and the category are covered in tests/kb/test_load.py
    entry = toy / LEAF / "toy-method.yaml"
    text = entry.read_text()
    assert old in text
    entry.write_text(text.replace(old, new))
    problems = [p for p in load(toy).problems if p.field == field]
    assert len(problems) == 1 and words in problems[0].message, problems
    line = next(i for i, ln in enumerate(entry.read_text().splitlines(), 1) if new.split("\n")[-1].strip() in ln)
    assert problems[0].line == line

